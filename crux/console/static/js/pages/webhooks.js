// Webhooks (SPEC §9.3): list with what is pending and the last error; new, change, delete
// (config); the list alone with report.

import {call, must} from "../api.js";
import {add, badge, button, confirm, field, h, section, table, time, title, toast} from "../dom.js";
import {reload} from "../router.js";
import {can} from "../session.js";
import {act, callDialog, readOnly, refusal} from "../ui.js";
import {KINDS} from "./events.js";

function kindBoxes(picked, name) {
  return h("fieldset", {data: {path: "kinds"}}, h("legend", null, "Kinds (none ticked: all)"),
    KINDS.map((k) => h("label", {class: "check"}, h("input", {type: "checkbox", name, value: k, checked: (picked || []).includes(k)}), k)));
}

const ticked = (box) => [...box.querySelectorAll("input:checked")].map((i) => i.value);

function fields(hook = {}) {
  const f = {
    url: h("input", {name: "url", size: 48, value: hook.url || "", placeholder: "https://hooks.example.com/crux", data: {path: "url"}}),
    kinds: kindBoxes(hook.kinds, "kinds"),
    app: h("input", {name: "app", size: 14, value: hook.app || "", data: {path: "app"}}),
    workflow: h("input", {name: "workflow", size: 14, value: hook.workflow || "", data: {path: "workflow"}}),
    secret: h("input", {name: "secret", type: "password", size: 24, autocomplete: "new-password", data: {path: "secret"}}),
  };
  return f;
}

async function edit(hook) {
  const f = fields(hook);
  const clear = h("input", {type: "checkbox"});
  const r = await callDialog({heading: `Change webhook ${hook.name}`, submit: "Save",
    body: [field("URL", f.url), f.kinds, h("div", {class: "fields"}, field("Only app", f.app), field("Only workflow", f.workflow)),
           field("New secret", f.secret, "empty: keep the secret as it is"), h("label", {class: "check"}, clear, "sign no more (clear the secret)")],
    send: () => {
      const payload = {name: hook.name, url: f.url.value.trim(), kinds: ticked(f.kinds).length ? ticked(f.kinds) : null,
                       app: f.app.value.trim() || null, workflow: f.workflow.value.trim() || null};
      if (clear.checked) payload.secret = null;
      else if (f.secret.value) payload.secret = f.secret.value;
      return call("webhookupdate", payload);
    }});
  if (!r) return;
  toast(`Webhook ${hook.name} changed`);
  reload();
}

async function remove(hook) {
  if (!await confirm(`Delete webhook ${hook.name}?`, h("p", null, `Deliveries to ${hook.url} stop; ${hook.pending} pending event(s) are not sent.`), "Delete")) return;
  if ((await act(null, "webhookdelete", {name: hook.name}, {done: `Webhook ${hook.name} deleted`})).ok) reload();
}

export default async function render(view) {
  if (!can("config") && !can("report")) {
    add(view, title("Webhooks"), refusal([{msg: "Webhooks need the config or report capability."}]));
    return;
  }
  const mayChange = can("config");
  const {webhooks} = await must("webhooklist", {});
  const columns = [
    {label: "Name", cell: (w) => h("strong", null, w.name)},
    {label: "URL", cell: (w) => h("code", null, w.url)},
    {label: "Sends", cell: (w) => [w.kinds ? w.kinds.join(", ") : "every kind", w.app ? h("div", {class: "tl-meta"}, `app ${w.app}`) : null,
                                   w.workflow ? h("div", {class: "tl-meta"}, `workflow ${w.workflow}`) : null]},
    {label: "Pending", class: "num", cell: (w) => String(w.pending)},
    {label: "Last attempt", cell: (w) => time(w.lastattempt)},
    {label: "Failures", cell: (w) => w.failures ? [badge(String(w.failures), "bad"), w.lasterror ? h("div", {class: "bad-text"}, w.lasterror) : null] : badge("0", "ok")},
    {label: "Created", cell: (w) => [time(w.createdat), h("div", {class: "tl-meta"}, w.createdby)]},
  ];
  if (mayChange) {
    columns.push({label: "", class: "ops", cell: (w) => h("span", {class: "actions"},
      button("Change…", () => edit(w), {kind: "small", label: `Change webhook ${w.name}`}),
      button("Delete…", () => remove(w), {kind: "small danger", label: `Delete webhook ${w.name}`}))});
  }
  const f = fields();
  const name = h("input", {name: "name", size: 16, autocomplete: "off", data: {path: "name"}});
  const place = h("div");
  const form = h("form", {class: "webhook-new", onsubmit: async (ev) => {
    ev.preventDefault();
    const payload = {name: name.value.trim(), url: f.url.value.trim()};
    if (ticked(f.kinds).length) payload.kinds = ticked(f.kinds);
    if (f.app.value.trim()) payload.app = f.app.value.trim();
    if (f.workflow.value.trim()) payload.workflow = f.workflow.value.trim();
    if (f.secret.value) payload.secret = f.secret.value;
    if ((await act(ev.submitter, "webhooknew", payload, {done: `Webhook ${payload.name} created`, place, form})).ok) reload();
  }},
  h("div", {class: "fields"}, field("Name", name), field("URL", f.url)), f.kinds,
  h("div", {class: "fields"}, field("Only app", f.app), field("Only workflow", f.workflow),
    field("Secret (signs each body)", f.secret)), place, button("Create webhook", null, {type: "submit", kind: "primary"}));
  add(view, title("Webhooks"),
    mayChange ? null : readOnly("changing webhooks needs the config capability."),
    h("p", {class: "muted"}, "A webhook receives the events committed after it was made, in order, in batches of up to 100, from the engines; ",
      "a failed delivery is tried again, 1 s to 5 min apart. The secret is never shown again."),
    section("Webhooks", table(columns, webhooks, {empty: "No webhooks.", rowProps: (w) => ({data: {webhook: w.name}})})),
    mayChange ? section("New webhook", form) : null);
}
