// A form for an entity, generated from its schema: a control per attribute fitting its type
// (enum choices, true/false, numbers, timestamps), with the schema's bounds checked while typing.
// The values are sent as typed (strings, as Crux clients send them); the service converts them
// and names any value it refuses at `entity.<attribute>`.

import {button, h} from "./dom.js";

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const TS = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

function bounds(a) {
  const t = a.valtype;
  if ((t === "int" || t === "float") && (a.valmin !== undefined || a.valmax !== undefined)) {
    return `${a.valmin ?? "…"} to ${a.valmax ?? "…"}`;
  }
  if (t === "str" && (a.lenmin !== undefined || a.lenmax !== undefined)) {
    return a.lenmin === a.lenmax ? `${a.lenmin} characters` : `${a.lenmin ?? 0} to ${a.lenmax ?? "any"} characters`;
  }
  return "";
}

/** The problem with a typed value, or "" (the schema's rules of SPEC §2.3). */
export function checkValue(a, text) {
  if (text === "") return "required";
  const t = a.valtype === "timestamp" ? "ts" : a.valtype;
  if (t === "int" || t === "float") {
    if (!(t === "int" ? INT : FLOAT).test(text)) return t === "int" ? "a whole number, like 42 or -3" : "a number, like 12.5";
    const n = Number(text);
    if (a.valmin !== undefined && n < a.valmin) return `at least ${a.valmin}`;
    if (a.valmax !== undefined && n > a.valmax) return `at most ${a.valmax}`;
  } else if (t === "str") {
    const len = [...text].length;
    if (a.lenmin !== undefined && len < a.lenmin) return `at least ${a.lenmin} characters`;
    if (a.lenmax !== undefined && len > a.lenmax) return `at most ${a.lenmax} characters`;
  } else if (t === "ts") {
    if (!TS.test(text) || Number.isNaN(Date.parse(text.replace(" ", "T")))) return "an RFC 3339 time, like 2026-01-31T10:00:00Z";
  } else if (t === "enum") {
    if (!(a.vals || []).includes(text)) return `one of ${(a.vals || []).join(", ")}`;
  } else if (t === "bool") {
    if (!/^(true|false)$/i.test(text)) return "true or false";
  }
  return "";
}

export class EntityForm {
  /** schema: {class, patternschema}; skip: attributes the caller sets (step, stepfailed);
   *  values: {attr: text} to start with (the last inputs remembered). */
  constructor(schema, {skip = [], values = {}, onInput = () => {}} = {}) {
    this.cls = schema.class;
    this.attrs = schema.patternschema.filter((a) => !skip.includes(a.attr));
    this.controls = new Map();
    this.el = h("div", {class: "entity-form"});
    for (const a of this.attrs) this.el.appendChild(this.field(a, values[a.attr] ?? "", onInput));
  }

  field(a, value, onInput) {
    const t = a.valtype === "timestamp" ? "ts" : a.valtype;
    const id = `entity-${a.attr}`;
    const props = {id, name: a.attr, data: {path: `entity.${a.attr}`}};
    let control;
    if (t === "enum" || t === "bool") {
      const vals = t === "bool" ? ["true", "false"] : a.vals || [];
      control = h("select", props, h("option", {value: ""}, "—"), vals.map((v) => h("option", {value: v}, v)));
      control.value = vals.includes(value) ? value : "";
    } else {
      control = h("input", {...props, value, autocomplete: "off", spellcheck: false,
                            inputMode: t === "int" || t === "float" ? "decimal" : "text",
                            placeholder: t === "ts" ? "2026-01-31T10:00:00Z" : ""});
    }
    const message = h("small", {class: "check", id: `${id}-check`, "aria-live": "polite"});
    const hint = [t, bounds(a), a.shortdesc].filter(Boolean).join(" · ");
    control.setAttribute("aria-describedby", `${id}-check`);
    const check = () => {
      const problem = control.value === "" ? "" : checkValue(a, control.value);
      message.textContent = problem ? `must be ${problem}` : "";
      if (problem) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    };
    control.addEventListener("input", () => { check(); onInput(); });
    control.addEventListener("change", () => { check(); onInput(); });
    this.controls.set(a.attr, control);
    check();
    return h("div", {class: "field"},
      h("label", {for: id}, a.attr, h("span", {class: "muted"}, ` ${hint}`)),
      t === "ts" ? h("div", {class: "with-button"}, control, button("now", () => {
        control.value = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
        check(); onInput();
      }, {kind: "small quiet", label: `Set ${a.attr} to now`})) : control,
      message, a.longdesc ? h("small", {class: "hint"}, a.longdesc) : null);
  }

  /** {attr: text} as typed. */
  get values() {
    const out = {};
    for (const [attr, c] of this.controls) out[attr] = c.value;
    return out;
  }

  set values(values) {
    for (const [attr, c] of this.controls) {
      c.value = values[attr] ?? "";
      c.dispatchEvent(new Event("input"));
    }
  }

  /** The entity to send: the class and every attribute given (empty ones are left out, so the
   *  service names them as missing). */
  get entity() {
    const out = {class: this.cls};
    for (const [attr, c] of this.controls) if (c.value !== "") out[attr] = c.value;
    return out;
  }
}

/** The entity as JSON text, for a user who may evaluate but not read the schema (evaluations are
 *  open to every user of the realm; reading rule data needs report, schema or ruleset). */
export class JsonEntityForm {
  constructor(cls, {values = {}} = {}) {
    this.text = h("textarea", {id: "entity-json", rows: 8, spellcheck: false, data: {path: "entity"}});
    this.text.value = values.json ?? JSON.stringify(cls ? {class: cls} : {}, null, 1);
    const message = h("small", {class: "check", id: "entity-json-check", "aria-live": "polite"});
    this.text.setAttribute("aria-describedby", message.id);
    this.text.addEventListener("input", () => {
      message.textContent = typeof this.entity === "object" ? "" : "must be a JSON object";
    });
    this.el = h("div", {class: "entity-form"},
      h("div", {class: "field"}, h("label", {for: "entity-json"}, "Entity (JSON)"), this.text, message,
        h("small", {class: "hint"}, "Its attributes and their values, as the service takes them (you may not read the schema).")));
  }

  get values() {
    return {json: this.text.value};
  }

  set values(values) {
    this.text.value = values.json ?? "";
    this.text.dispatchEvent(new Event("input"));
  }

  get entity() {
    try {
      const parsed = JSON.parse(this.text.value);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : this.text.value;
    } catch (err) {
      return this.text.value;
    }
  }
}
