// Slices: the realm's versions of its rule base. List with the effective state and schedules;
// new (empty, or a copy of another slice, optionally of some apps only); activate or deactivate
// now or at a set time; purge; the apps each slice holds rules for.

import {call, must} from "../api.js";
import {add, badge, button, confirm, field, h, link, localToIso, messageText, mount, note, section, table, time, title, toast} from "../dom.js";
import {reload} from "../router.js";
import {can} from "../session.js";
import {act, apps as appList, callDialog, guard, readOnly} from "../ui.js";

function state(sl) {
  return h("div", null,
    sl.active ? badge("active", "ok") : badge("inactive"),
    sl.activateat ? h("div", {class: "tl-meta"}, "activates ", time(sl.activateat)) : null,
    sl.deactivateat ? h("div", {class: "tl-meta"}, "deactivates ", time(sl.deactivateat)) : null);
}

async function schedule(sl) {
  const when = h("input", {type: "datetime-local", required: true});
  const what = h("select", null, h("option", {value: "realmsliceactivate"}, "Activate"),
                 h("option", {value: "realmslicedeactivate"}, "Deactivate"));
  what.value = sl.active ? "realmslicedeactivate" : "realmsliceactivate";
  const r = await callDialog({heading: `Schedule a change of slice ${sl.id}`, submit: "Schedule",
    body: [field("Change", what), field("At (your local time)", when, "Must be in the future.")],
    send: () => call(what.value, {id: sl.id, from: localToIso(when.value)})});
  if (!r) return;
  toast(`Slice ${sl.id}: ${what.value === "realmsliceactivate" ? "activation" : "deactivation"} scheduled`);
  reload();
}

async function copy(sl, apps) {
  const descr = h("input", {value: `copy of slice ${sl.id}`, size: 40});
  const boxes = (apps || []).map((a) => h("label", {class: "check"}, h("input", {type: "checkbox", value: a.name, checked: true}), a.shortname || a.name));
  const payload = () => {
    const out = {copyof: sl.id, descr: descr.value};
    const picked = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    if (boxes.length && picked.length !== boxes.length) out.app = picked;
    return out;
  };
  const r = await callDialog({heading: `Copy slice ${sl.id}`, submit: "Copy",
    body: [field("Description", descr),
           boxes.length ? h("fieldset", null, h("legend", null, "Rules of these apps"), boxes) : null,
           h("p", {class: "muted"}, "The copy takes all config, and the stepworkflows, schemas and rulesets of the apps ticked. It starts inactive.")],
    send: () => call("realmslicenew", payload())});
  if (!r) return;
  toast(`Slice ${r.data} created as a copy of slice ${sl.id}`);
  reload();
}

async function purge(sl) {
  const ok = await confirm(`Purge slice ${sl.id}?`,
    [h("p", null, "This deletes slice ", h("strong", null, String(sl.id)), sl.descr ? [" (", sl.descr, ")"] : null,
       " and everything in it: config, schemas, rulesets, workflows, and its workflow instances and their history."),
     h("p", null, "It cannot be undone.")], "Purge slice");
  if (!ok) return;
  const r = await act(null, "realmslicepurge", {id: sl.id}, {done: `Slice ${sl.id} purged`});
  if (r.ok) reload();
}

function appsOf(sl, cell, btn) {
  btn.setAttribute("aria-expanded", "true");
  mount(cell, h("span", {class: "muted"}, "…"));
  call("realmsliceapps", {id: sl.id}).then((r) => {
    if (!r.ok) return mount(cell, h("span", {class: "bad-text"}, r.messages.map(messageText).join("; ")));
    mount(cell, r.data.length ? r.data.map((a) => [h("a", {href: `/console/rulesets?slice=${sl.id}&app=${encodeURIComponent(a.shortname.toLowerCase())}`, title: a.longname}, a.shortname), " "])
      : h("span", {class: "muted"}, "no rules"));
  });
}

export default async function render(view) {
  const root = can("root");
  const [list, apps] = await Promise.all([must("realmslicelist", {}), appList()]);
  const why = "needs the root capability";
  const descr = h("input", {id: "newslice-descr", placeholder: "what the slice is for", size: 40});
  const newForm = h("form", {class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    const r = await act(ev.submitter, "realmslicenew", {descr: descr.value}, {done: (n) => `Slice ${n} created (empty, active)`});
    if (r.ok) reload();
  }}, field("Description", descr), guard(button("New empty slice", null, {type: "submit"}), root, why));

  const columns = [
    {label: "Slice", class: "num", cell: (sl) => h("strong", null, String(sl.id))},
    {label: "Description", cell: (sl) => sl.descr || h("span", {class: "muted"}, "—")},
    {label: "State now", cell: state},
    {label: "Created", cell: (sl) => [time(sl.createdat), h("div", {class: "tl-meta"}, sl.createdby)]},
    {label: "Edited", cell: (sl) => sl.editedat ? [time(sl.editedat), h("div", {class: "tl-meta"}, sl.editedby)] : time(null)},
    {label: "Rules of", cell: (sl) => {
      const cell = h("span");
      const btn = button("Show apps", () => appsOf(sl, cell, btn), {kind: "quiet small", label: `Show the apps of slice ${sl.id}`});
      return mount(cell, btn);
    }},
    {label: "Open", cell: (sl) => h("span", {class: "actions"},
      link("rulesets", `/console/rulesets?slice=${sl.id}`), link("workflows", `/console/workflows?slice=${sl.id}`),
      link("schemas", `/console/schemas?slice=${sl.id}`), link("config", `/console/config?slice=${sl.id}`))},
    {label: "Change", class: "ops", cell: (sl) => h("span", {class: "actions"},
      sl.active
        ? guard(button("Deactivate", async (ev) => { if ((await act(ev.currentTarget, "realmslicedeactivate", {id: sl.id}, {done: `Slice ${sl.id} deactivated`})).ok) reload(); }, {kind: "small", label: `Deactivate slice ${sl.id}`}), root, why)
        : guard(button("Activate", async (ev) => { if ((await act(ev.currentTarget, "realmsliceactivate", {id: sl.id}, {done: `Slice ${sl.id} activated`})).ok) reload(); }, {kind: "small primary", label: `Activate slice ${sl.id}`}), root, why),
      guard(button("Schedule…", () => schedule(sl), {kind: "small", label: `Schedule a change of slice ${sl.id}`}), root, why),
      guard(button("Copy…", () => copy(sl, apps), {kind: "small", label: `Copy slice ${sl.id}`}), root, why),
      guard(button("Purge…", () => purge(sl), {kind: "small danger", label: `Purge slice ${sl.id}`, disabled: sl.active || !!sl.activateat}), root, why))},
  ];
  add(view, 
    title("Slices"),
    root ? null : readOnly("changing slices needs the root capability."),
    note("A slice is a numbered version of the realm's whole rule base. Callers name the slice they evaluate, so a new slice can be prepared, tried and activated without touching the one in use."),
    section("Slices of the realm", table(columns, list.slices, {class: "slices", rowProps: (sl) => ({data: {slice: String(sl.id)}})})),
    root ? section("New slice", newForm, h("p", {class: "muted"}, "To start from existing rules, use Copy… on a slice above.")) : null);
}
