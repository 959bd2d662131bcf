// Widgets the pages share: lists of slices and apps, filter bars, guarded controls, actions.

import {ApiError, SessionEnded, call} from "./api.js";
import {button, dialog, field, h, messageList, messageText, mount, note, select, showProblems, toast} from "./dom.js";
import {go, withQuery} from "./router.js";

/** The realm's slices, or null when the user may not list them. */
export async function slices() {
  const r = await call("realmslicelist", {});
  return r.ok ? r.data.slices : null;
}

/** The realm's apps, or null when the user may not list them. */
export async function apps() {
  const r = await call("applist", {});
  return r.ok ? r.data.apps : null;
}

/** A slice picker: a select of the realm's slices, or a number field when they cannot be listed. */
export function slicePicker(list, value, {any = false, name = "slice"} = {}) {
  if (!list) return h("input", {name, type: "number", min: 1, step: 1, value: value || "", inputMode: "numeric", class: "narrow"});
  const options = list.map((sl) => [String(sl.id), `${sl.id}${sl.descr ? ` · ${sl.descr}` : ""}${sl.active ? "" : " (inactive)"}`]);
  return select(any ? [["", "any"], ...options] : options, value ?? "", {name});
}

export function appPicker(list, value, {any = false, name = "app"} = {}) {
  if (!list) return h("input", {name, value: value || "", autocomplete: "off"});
  const options = list.map((a) => [a.name, a.shortname || a.name]);
  return select(any ? [["", "any"], ...options] : options, value ?? "", {name});
}

/** A filter bar whose fields become the page's query (so filters survive reloads and links). */
export function filterBar(fields, {submit = "Show", path = location.pathname} = {}) {
  const form = h("form", {class: "inline filters", role: "search", onsubmit: (ev) => {
    ev.preventDefault();
    const changes = {};
    for (const [, control] of fields) changes[control.name] = control.value.trim ? control.value.trim() : control.value;
    go(withQuery(changes, path));
  }});
  for (const [label, control] of fields) form.appendChild(field(label, control));
  form.appendChild(button(submit, null, {type: "submit"}));
  return form;
}

/** Disable a control the user's capabilities do not allow, saying why. */
export function guard(el, allowed, reason) {
  if (!allowed) {
    el.disabled = true;
    el.title = reason;
    el.setAttribute("aria-disabled", "true");
  }
  return el;
}

export function readOnly(reason) {
  return note(`Read-only: ${reason}`, "info");
}

export function refusal(messages) {
  return h("div", {class: "note error", role: "alert"}, messageList(messages));
}

/** Run a call from a button: the button waits, success says `done`, a refusal shows the
 *  service's messages: at the fields of `form` they name (controls with data-path), the rest in
 *  `place`, else as a notice. Returns the answer. */
export async function act(btn, name, data, {done, place, form} = {}) {
  if (btn) btn.disabled = true;
  try {
    const r = await call(name, data);
    if (place) mount(place);
    if (form) showProblems(form, r.ok ? [] : r.messages, place || form);
    if (r.ok) {
      if (done) toast(typeof done === "function" ? done(r.data) : done);
    } else if (form) {
      // shown at the fields
    } else if (place) {
      mount(place, refusal(r.messages));
    } else {
      toast(r.messages.map(messageText).join("; "), "error");
    }
    return r;
  } finally {
    if (btn && btn.isConnected) btn.disabled = false;
  }
}

/** A dialog whose form makes a call: it stays open, showing the service's messages, until the
 *  call succeeds or the dialog is cancelled. `send()` makes the call. -> its answer, or null. */
export async function callDialog({heading, body, submit, send}) {
  const place = h("div");
  for (;;) {
    const ok = await dialog({heading, body: [body, place], actions: [["Cancel", false], [submit, true, "primary"]]});
    if (!ok) return null;
    const r = await send();
    if (r.ok) return r;
    mount(place, refusal(r.messages));
  }
}

/** A page section that waits on a promise and then draws what it gives (or the refusal). */
export function later(promise, draw) {
  const box = h("div", {class: "later"}, h("p", {class: "muted"}, "Loading…"));
  promise.then((value) => mount(box, draw(value)), (err) => {
    if (err instanceof ApiError) mount(box, refusal(err.messages));
    else if (err instanceof SessionEnded) mount(box);
    else mount(box, note(String(err && err.message || err), "error"));
  });
  return box;
}

/** Breadcrumbs: [[text, href], ..., text]. */
export function crumbs(...parts) {
  parts = parts.filter(Boolean);
  return h("div", {class: "crumbs"}, parts.map((p, i) => [
    i ? " / " : null, Array.isArray(p) ? h("a", {href: p[1]}, p[0]) : p]));
}

/** Where a page of rule data lives. */
export const paths = {
  schema: (kind, sl, app, cls) => `/console/schemas/${kind}/${sl}/${encodeURIComponent(app)}/${encodeURIComponent(cls)}`,
  ruleset: (sl, app, cls, name) => `/console/rulesets/${sl}/${encodeURIComponent(app)}/${encodeURIComponent(cls)}/${encodeURIComponent(name)}`,
  workflow: (sl, app, name) => `/console/workflows/${sl}/${encodeURIComponent(app)}/${encodeURIComponent(name)}`,
  diagram: (sl, app, name, query = "") => `/console/diagram/${sl}/${encodeURIComponent(app)}/${encodeURIComponent(name)}${query}`,
  simulate: (q) => `/console/simulate?${new URLSearchParams(q)}`,
  instance: (q) => `/console/instance?${new URLSearchParams(q)}`,
};
