// Apps of the realm: list with their users and rulesets, new, description, delete.

import {call, must} from "../api.js";
import {add, button, confirm, field, h, link, section, table, time, title, toast} from "../dom.js";
import {reload} from "../router.js";
import {can} from "../session.js";
import {act, callDialog, guard, readOnly} from "../ui.js";

const WHY = "needs the root capability";

async function edit(app) {
  const descr = h("input", {value: app.descr, size: 50});
  const r = await callDialog({heading: `Describe app ${app.shortname || app.name}`, submit: "Save", body: field("Description", descr),
                              send: () => call("appupdate", {name: app.name, descr: descr.value})});
  if (!r) return;
  toast(`App ${app.name} saved`);
  reload();
}

async function remove(app) {
  if (!await confirm(`Delete app ${app.name}?`, h("p", null, "The app and every capability granted on it are deleted. "
      + "The service refuses while schemas, rulesets or stepworkflows of any slice use it."), "Delete app")) return;
  if ((await act(null, "appdelete", {name: app.name}, {done: `App ${app.name} deleted`})).ok) reload();
}

export default async function render(view) {
  const root = can("root");
  const {apps} = await must("applist", {});
  const name = h("input", {name: "name", autocomplete: "off", data: {path: "name"}});
  const descr = h("input", {name: "descr", size: 40, data: {path: "descr"}});
  const place = h("div");
  const form = h("form", {class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await act(ev.submitter, "appnew", {name: name.value.trim(), descr: descr.value}, {done: `App ${name.value} created`, place, form: ev.target});
    if (r.ok) reload();
  }}, field("Name", name, "a letter, then letters, digits or _"), field("Description", descr),
  guard(button("Create app", null, {type: "submit", kind: "primary"}), root, WHY));
  const columns = [
    {label: "App", cell: (a) => h("strong", null, a.shortname || a.name)},
    {label: "Description", cell: (a) => a.descr},
    {label: "Users", class: "num", cell: (a) => String(a.nusers)},
    {label: "Rulesets", class: "num", cell: (a) => link(String(a.nrulesetsbre), `/console/rulesets?app=${encodeURIComponent(a.name)}`)},
    {label: "Workflows", class: "num", cell: (a) => link(String(a.nrulesetswfe), `/console/workflows?app=${encodeURIComponent(a.name)}`)},
    {label: "Created", cell: (a) => [time(a.createdat), h("div", {class: "tl-meta"}, a.createdby)]},
    {label: "Change", class: "ops", cell: (a) => h("span", {class: "actions"},
      guard(button("Describe…", () => edit(a), {kind: "small", label: `Describe app ${a.name}`}), root, WHY),
      guard(button("Delete…", () => remove(a), {kind: "small danger", label: `Delete app ${a.name}`}), root, WHY))},
  ];
  add(view, title("Apps"), root ? null : readOnly("changing apps needs the root capability."),
      section("Apps of the realm", table(columns, apps, {empty: "No apps yet."})),
      root ? section("New app", form, place) : null);
}
