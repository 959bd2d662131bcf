// Building the page. Every value reaches the page as a text node or an attribute set through the
// DOM, never as markup (there is no innerHTML in the console), so a description holding
// "<script>" shows as those characters. Styles come from console.css only: the page's
// Content-Security-Policy refuses inline styles and scripts.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === "") continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

function setProps(el, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "data") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && key !== "list" && key !== "form") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

/** An HTML element: h("button", {class: "x", onclick: f}, "text", child, ...). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  if (props) setProps(el, props);
  append(el, children);
  return el;
}

/** An SVG element; attributes are set as given (SVG presentation attributes are not styles). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

/** Append children (skipping null, false and ""; arrays flattened). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function title(text, ...extra) {
  document.title = `${text} · Crux console`;
  return h("div", {class: "titlebar"}, h("h1", {tabindex: "-1"}, text), ...extra);
}

// ---- small widgets ------------------------------------------------------------------------------

export function button(text, onclick, opts = {}) {
  return h("button", {type: opts.type || "button", class: ["btn", opts.kind], onclick,
                      disabled: opts.disabled, title: opts.title, "aria-label": opts.label,
                      data: opts.data}, text);
}

export function link(text, href, opts = {}) {
  return h("a", {href, class: opts.class, title: opts.title}, text);
}

/** options: ["a", "b"] or [["a", "label a"], ...]; `value` selected. */
export function select(options, value, props = {}) {
  const el = h("select", props);
  for (const option of options) {
    const [v, label] = Array.isArray(option) ? option : [option, option];
    el.appendChild(h("option", {value: v, selected: String(v) === String(value)}, label));
  }
  if (value !== undefined && value !== null && [...el.options].some((o) => o.value === String(value))) el.value = String(value);
  return el;
}

let fieldCount = 0;

/** A labelled form control; `hint` is shown under it and tied to it for screen readers. */
export function field(label, control, hint) {
  if (!control.id) control.id = `f${++fieldCount}`;
  const parts = [h("label", {for: control.id}, label), control];
  if (hint) {
    const hintEl = h("small", {class: "hint", id: `${control.id}-hint`}, hint);
    control.setAttribute("aria-describedby", hintEl.id);
    parts.push(hintEl);
  }
  return h("div", {class: "field"}, parts);
}

export function badge(text, kind) {
  return h("span", {class: ["badge", kind]}, text);
}

export function chip(text, kind) {
  return h("span", {class: ["chip", kind]}, text);
}

/** A table: columns [{label, cell(row) -> node|text, class}], one <tr> per row. */
export function table(columns, rows, opts = {}) {
  const head = h("thead", null, h("tr", null, columns.map((c) => h("th", {scope: "col", class: c.class}, c.label))));
  const body = h("tbody");
  for (const row of rows) {
    const tr = h("tr", opts.rowProps ? opts.rowProps(row) : null);
    for (const c of columns) tr.appendChild(h("td", {class: c.class}, c.cell(row)));
    body.appendChild(tr);
  }
  const el = h("table", {class: ["grid", opts.class]}, opts.caption ? h("caption", null, opts.caption) : null, head, body);
  if (!rows.length) {
    body.appendChild(h("tr", null, h("td", {colSpan: columns.length, class: "empty"}, opts.empty || "Nothing here yet.")));
  }
  return el;
}

export function section(heading, ...children) {
  return h("section", {class: "panel"}, h("h2", null, heading), ...children);
}

export function note(text, kind = "info") {
  return h("p", {class: ["note", kind]}, text);
}

// ---- times --------------------------------------------------------------------------------------

const pad = (n) => String(n).padStart(2, "0");

/** "2026-01-31 11:00:00" in the browser's time zone; the UTC value is the title. */
export function time(iso) {
  if (!iso) return h("span", {class: "muted"}, "—");
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h("span", null, iso);
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return h("time", {datetime: iso, title: iso}, text);
}

/** A datetime-local input's value -> an RFC 3339 UTC string ("" when empty). */
export function localToIso(value) {
  if (!value) return "";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

// ---- dialogs and notices ------------------------------------------------------------------------

/** A modal dialog (the native <dialog>: focus stays inside, Escape cancels). Resolves with the
 *  value of the button pressed, or null when cancelled. */
export function dialog({heading, body, actions}) {
  return new Promise((resolve) => {
    const dlg = h("dialog", {class: "dialog", "aria-labelledby": "dlg-h"});
    const buttons = actions.map(([text, value, kind]) =>
      button(text, () => { dlg.close(); resolve(value); }, {kind}));
    dlg.append(h("h2", {id: "dlg-h"}, heading), h("div", {class: "dialog-body"}, body),
               h("div", {class: "actions"}, buttons));
    dlg.addEventListener("cancel", () => resolve(null));
    dlg.addEventListener("close", () => dlg.remove());
    document.body.appendChild(dlg);
    dlg.showModal();
    const first = dlg.querySelector("input, select, textarea") || buttons[buttons.length - 1];
    first.focus();
  });
}

export async function confirm(heading, body, confirmText, kind = "danger") {
  return (await dialog({heading, body, actions: [["Cancel", false], [confirmText, true, kind]]})) === true;
}

export function toast(text, kind = "ok") {
  const box = document.getElementById("toasts");
  const el = h("div", {class: ["toast", kind]}, text);
  box.appendChild(el);
  setTimeout(() => el.remove(), kind === "error" ? 9000 : 4000);
}

// ---- the service's messages at the fields they name --------------------------------------------

/** The message text of one envelope message. */
export function messageText(m) {
  return m.msg || m.errcode || "error";
}

function parentPath(path) {
  const bracket = path.lastIndexOf("[");
  const dot = path.lastIndexOf(".");
  const cut = Math.max(bracket, dot);
  return cut > 0 ? path.slice(0, cut) : "";
}

/** Every element of `root` that names a path (data-path holds one or more, space-separated). */
function pathIndex(root) {
  const index = new Map();
  for (const el of root.querySelectorAll("[data-path]")) {
    for (const p of el.dataset.path.split(" ")) if (!index.has(p)) index.set(p, el);
  }
  return index;
}

let problemCount = 0;

function clearProblems(root) {
  for (const el of root.querySelectorAll(".problem")) el.remove();
  for (const el of root.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Show each message at the element whose data-path is its field, or at the nearest enclosing
 *  path that has one; messages without any such place go to `fallback`. Returns the marks. */
export function showProblems(root, messages, fallback) {
  clearProblems(root);
  const index = pathIndex(root);
  const marks = [];
  for (const m of messages) {
    let path = m.field || "";
    let el = index.get(path);
    while (!el && path) {
      path = parentPath(path);
      el = index.get(path);
    }
    const mark = h("span", {class: "problem", role: "alert", data: {field: m.field || ""}},
                   m.field ? h("code", null, m.field) : null, messageText(m),
                   m.vals && m.vals.length ? h("span", {class: "vals"}, ` (${m.vals.map(String).join(", ")})`) : null);
    if (el) {
      el.setAttribute("aria-invalid", "true");
      mark.id = `problem-${++problemCount}`;
      const described = el.getAttribute("aria-describedby");
      el.setAttribute("aria-describedby", described ? `${described} ${mark.id}` : mark.id);
      let anchor = el.closest(".term, .item, .field, td, [role=cell]") || el;
      if (anchor.tagName === "TR") anchor = anchor.cells[anchor.cells.length - 1];
      else if (anchor.getAttribute("role") === "row") anchor = anchor.lastElementChild;
      if (anchor.tagName === "TABLE" || anchor.getAttribute("role") === "table" || anchor.tagName === "SELECT" || anchor.tagName === "INPUT") anchor.after(mark);
      else anchor.appendChild(mark);
    } else {
      (fallback || root).appendChild(mark);
    }
    marks.push({message: m, mark, el});
    el && el.addEventListener("input", () => { mark.remove(); el.removeAttribute("aria-invalid"); }, {once: true});
  }
  return marks;
}

/** A list of messages (for a panel or a dialog). */
export function messageList(messages) {
  return h("ul", {class: "messages"}, messages.map((m) =>
    h("li", null, m.field ? [h("code", null, m.field), " "] : null, messageText(m))));
}
