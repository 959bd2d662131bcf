// A schema: the attribute table editor (name, type, enum values, bounds, descriptions) and the
// tasks and properties its rules may use. Also the page that creates one.

import {call, must} from "../api.js";
import {add, badge, button, confirm, field, h, link, mount, note, section, select, showProblems, title, toast} from "../dom.js";
import {go, guardLeaving, reload, withQuery} from "../router.js";
import {KINDS, VALTYPES} from "../rules.js";
import {canOn} from "../session.js";
import {act, appPicker, apps as appList, crumbs, paths, slicePicker, slices} from "../ui.js";

const NUMERIC = new Set(["int", "float"]);
const list = (text) => text.split(/[\s,]+/).map((t) => t.trim()).filter(Boolean);
const numberOr = (text) => (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim()) ? Number(text.trim()) : text);

class AttributeTable {
  constructor(attrs, {kind, canEdit, onChange}) {
    this.rows = attrs.map((a) => ({...a, valtype: a.valtype === "timestamp" ? "ts" : a.valtype}));
    this.kind = kind;
    this.canEdit = canEdit;
    this.onChange = onChange;
    this.stepVals = null;
    this.body = h("tbody");
    this.el = h("div", null, h("table", {class: "grid attrs", "aria-label": "Attributes", data: {path: "patternschema"}},
      h("thead", null, h("tr", null, ["Attribute", "Type", "Values (enum)", "Min", "Max", "Short description", "Long description", ""].map((t) => h("th", {scope: "col"}, t)))),
      this.body),
      canEdit ? h("div", {class: "actions"}, button("+ attribute", () => {
        this.rows.push({attr: "", valtype: "str"});
        this.render(); this.onChange();
        this.body.lastChild.querySelector("input").focus();
      }, {kind: "small"})) : null);
    this.render();
  }

  render() {
    this.body.replaceChildren(...this.rows.map((a, i) => this.row(a, i)));
  }

  row(a, i) {
    const p = `patternschema[${i}]`;
    const dis = !this.canEdit;
    const locked = this.kind === "W" && (a.attr === "step" || a.attr === "stepfailed");
    const upd = (fn) => (ev) => { fn(ev.target.value); this.onChange(); };
    const bounds = (which) => {
      const key = NUMERIC.has(a.valtype) ? `val${which}` : a.valtype === "str" ? `len${which}` : null;
      if (!key) return h("span", {class: "muted", data: {path: `${p}.val${which} ${p}.len${which}`}}, "—");
      const input = h("input", {size: 6, value: a[key] ?? "", disabled: dis, "aria-label": `${a.attr || "attribute " + i}: ${key}`,
                                data: {path: `${p}.${key} ${p}.val${which} ${p}.len${which}`},
                                oninput: upd((v) => { if (v === "") delete a[key]; else a[key] = numberOr(v); })});
      input.title = key.startsWith("len") ? "length in characters" : "value";
      return input;
    };
    const isStep = this.kind === "W" && a.attr === "step";
    const vals = a.valtype === "enum"
      ? h("input", {size: 22, value: (isStep && this.stepVals ? this.stepVals : a.vals || []).join(", "), disabled: dis || isStep,
                    title: isStep ? "START and the tasks (follows the task list)" : "comma-separated", "aria-label": `${a.attr}: values`,
                    data: {path: `${p}.vals`}, oninput: upd((v) => { a.vals = list(v); })})
      : h("span", {class: "muted", data: {path: `${p}.vals`}}, "—");
    return h("tr", {data: {path: p}},
      h("td", null, h("input", {size: 14, value: a.attr, disabled: dis || locked, "aria-label": `Attribute ${i}: name`, data: {path: `${p}.attr`},
                                oninput: upd((v) => { a.attr = v.trim(); })})),
      h("td", null, select(VALTYPES, a.valtype, {disabled: dis || locked, "aria-label": `${a.attr || "attribute " + i}: type`, data: {path: `${p}.valtype`},
                                                  onchange: (ev) => { a.valtype = ev.target.value; for (const k of ["valmin", "valmax", "lenmin", "lenmax"]) delete a[k]; if (a.valtype !== "enum") delete a.vals; this.render(); this.onChange(); }})),
      h("td", null, vals),
      h("td", null, bounds("min")),
      h("td", null, bounds("max")),
      h("td", null, h("input", {size: 14, value: a.shortdesc ?? "", disabled: dis, "aria-label": `${a.attr}: short description`, data: {path: `${p}.shortdesc`},
                                oninput: upd((v) => { a.shortdesc = v; })})),
      h("td", null, h("input", {size: 18, value: a.longdesc ?? "", disabled: dis, "aria-label": `${a.attr}: long description`, data: {path: `${p}.longdesc`},
                                oninput: upd((v) => { a.longdesc = v; })})),
      h("td", {class: "ops"}, this.canEdit && !locked ? h("span", {class: "actions"},
        button("↑", () => this.move(i, -1), {kind: "small quiet", label: `Move ${a.attr} up`, disabled: i === 0}),
        button("↓", () => this.move(i, 1), {kind: "small quiet", label: `Move ${a.attr} down`, disabled: i === this.rows.length - 1}),
        button("✕", () => { this.rows.splice(i, 1); this.render(); this.onChange(); }, {kind: "small quiet", label: `Remove ${a.attr}`})) : null));
  }

  move(i, by) {
    const j = i + by;
    [this.rows[i], this.rows[j]] = [this.rows[j], this.rows[i]];
    this.render(); this.onChange();
  }

  get value() {
    return this.rows.map((a) => {
      const out = {attr: a.attr, valtype: a.valtype};
      if (a.valtype === "enum") out.vals = this.kind === "W" && a.attr === "step" && this.stepVals ? this.stepVals : a.vals || [];
      for (const k of ["valmin", "valmax", "lenmin", "lenmax", "shortdesc", "longdesc"]) if (a[k] !== undefined && a[k] !== "") out[k] = a[k];
      return out;
    });
  }
}

export default async function render(view, {params, query}) {
  const isNew = !params.class;
  const kind = isNew ? (query.get("kind") === "W" ? "W" : "B") : params.kind;
  const K = KINDS[kind];
  let slice = Number(isNew ? query.get("slice") : params.slice);
  let app = isNew ? query.get("app") || "" : params.app;
  let doc = null;
  if (!isNew) doc = await must(`${K.schemaPrefix}get`, {slice, app, class: params.class});
  const [sl, apps] = isNew ? await Promise.all([slices(), appList()]) : [null, null];
  if (isNew && !app && apps && apps.length) app = apps[0].name;
  if (isNew && !slice && sl && sl.length) slice = sl[sl.length - 1].id;
  const canEdit = await canOn("schema", app);
  const users = isNew ? [] : (await must(`${K.prefix}list`, {slice, app, class: params.class}))[K.listKey];
  let dirty = false;
  guardLeaving(() => dirty);
  const status = h("span", {"aria-live": "polite"});
  const onChange = () => { if (!dirty) { dirty = true; mount(status, badge("unsaved changes", "warn")); } };

  const start = doc ? doc.patternschema : kind === "W"
    ? [{attr: "step", valtype: "enum", vals: ["START"]}, {attr: "stepfailed", valtype: "bool"}] : [{attr: "", valtype: "str"}];
  const attrs = new AttributeTable(start, {kind, canEdit, onChange});
  const tasks = h("input", {size: 80, value: ((doc && doc.actionschema.tasks) || []).join(", "), disabled: !canEdit, data: {path: "actionschema.tasks"}});
  const props = h("input", {size: 80, value: ((doc && doc.actionschema.properties) || (kind === "W" ? ["nextstep", "done"] : [])).join(", "),
                            disabled: !canEdit || kind === "W", data: {path: "actionschema.properties"}});
  const syncSteps = () => {
    if (kind !== "W") return;
    attrs.stepVals = ["START", ...list(tasks.value)];
    const stepRow = attrs.rows.findIndex((a) => a.attr === "step");
    if (stepRow >= 0) attrs.body.children[stepRow].replaceWith(attrs.row(attrs.rows[stepRow], stepRow));
  };
  tasks.addEventListener("input", () => { syncSteps(); onChange(); });
  props.addEventListener("input", onChange);
  if (kind === "W") syncSteps();

  const classInput = h("input", {value: isNew ? query.get("class") || "" : params.class, disabled: !isNew, data: {path: "class"}});
  const slicePick = isNew ? slicePicker(sl, String(slice)) : null;
  const appPick = isNew ? appPicker(apps, app) : null;
  if (isNew) {
    slicePick.dataset.path = "slice";
    appPick.dataset.path = "app";
    appPick.addEventListener("change", () => go(withQuery({app: appPick.value}), {replace: true}));
    slicePick.addEventListener("change", () => go(withQuery({slice: slicePick.value}), {replace: true}));
  }
  const problems = h("div");
  const save = async (ev) => {
    const payload = {slice: isNew ? Number(slicePick.value) : slice, app: isNew ? appPick.value : app, class: classInput.value.trim(),
                     patternschema: attrs.value, actionschema: {tasks: list(tasks.value), properties: list(props.value)}};
    ev.currentTarget.disabled = true;
    const r = await call(`${K.schemaPrefix}${isNew ? "new" : "update"}`, payload);
    ev.target.disabled = false;
    if (!r.ok) {
      const marks = showProblems(view, r.messages, problems);
      mount(status, badge(`${marks.length} problem${marks.length === 1 ? "" : "s"}`, "bad"));
      return;
    }
    dirty = false;
    toast(`Schema of ${payload.class} ${isNew ? "created" : "saved"}`);
    if (isNew) go(paths.schema(kind, payload.slice, payload.app, payload.class));
    else reload();
  };
  const remove = async () => {
    if (!await confirm(`Delete the schema of ${params.class}?`, h("p", null, "The service refuses while any ruleset refers to it."), "Delete")) return;
    const r = await act(null, `${K.schemaPrefix}delete`, {slice, app, class: params.class}, {done: "Schema deleted", place: problems});
    if (r.ok) go(`/console/schemas?slice=${slice}&app=${encodeURIComponent(app)}`);
  };

  add(view,
    crumbs(["Schemas", "/console/schemas"], isNew ? null : [`slice ${slice}`, `/console/schemas?slice=${slice}`]),
    title(isNew ? `New ${kind === "W" ? "workflow" : "rules"} schema` : `Schema of ${params.class}`, badge(kind === "W" ? "workflow" : "rules", kind === "W" ? "info" : ""), status),
    !canEdit ? note(`Read-only: changing schemas of app ${app} needs the schema capability on it.`, "info") : null,
    users.length ? note(`${users.length} ${users.length === 1 ? K.word : K.plural} of this class refer${users.length === 1 ? "s" : ""} to this schema, so the service refuses changes to it; make the change in a new slice instead.`, "warn") : null,
    section("Class",
      h("div", {class: "fields"},
        isNew ? field("Slice", slicePick) : field("Slice", h("input", {value: String(slice), disabled: true, size: 4})),
        isNew ? field("App", appPick) : field("App", h("input", {value: app, disabled: true})),
        field("Class", classInput, isNew ? "a letter, then letters, digits or _" : null)),
      kind === "W" ? h("p", {class: "muted"}, "A workflow schema has the attribute step (an enum of START and the tasks: it follows the task list), stepfailed (bool), and exactly the properties nextstep and done.") : null),
    section("Attributes", attrs.el),
    section("Actions",
      field("Tasks", tasks, "comma-separated names, in order"),
      field("Properties", props, kind === "W" ? "a workflow schema has exactly nextstep and done" : "comma-separated names")),
    problems,
    canEdit ? h("div", {class: "toolbar"},
      button(isNew ? "Create schema" : "Save schema", save, {kind: "primary"}),
      isNew ? null : button("Delete…", remove, {kind: "danger"}),
      isNew ? null : link(`New ${K.word} of ${params.class}`, `${K.listPath}/new?slice=${slice}&app=${encodeURIComponent(app)}&class=${encodeURIComponent(params.class)}`, {class: "btn"})) : null,
    users.length ? section(`${K.title} of this class`, h("ul", null, users.map((r) => h("li", null,
      link(r.name, kind === "W" ? paths.workflow(slice, app, r.name) : paths.ruleset(slice, app, r.class, r.name)))))) : null);
}
