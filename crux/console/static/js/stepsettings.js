// A workflow's step settings (SPEC §8.1) in the workflow editor: for each step of its schema, how
// long one attempt may stay open (timeout), how many attempts it gets, and how long a retried
// attempt waits (retrydelay). Every input names the JSON path the service uses for it
// (steps.<step>.<setting>), so each problem the service reports on saving lands at its field.
// The console does not check the values: it sends what was typed (whole numbers as numbers) and
// the service names what it refuses.

import {h} from "./dom.js";
import {START, settingsText} from "./flow.js";

export const SETTINGS = [
  {key: "timeout", label: "Timeout (s)", empty: "no limit", hint: "1 to 31,536,000 seconds one attempt may stay open"},
  {key: "attempts", label: "Attempts", empty: "1", hint: "1 to 100 attempts before the step fails"},
  {key: "retrydelay", label: "Retry delay (s)", empty: "0", hint: "0 to 86,400 seconds before a retried attempt opens"},
];

/** Text typed for a setting -> the value sent: a whole number as a number, anything else as typed. */
function valueOf(text) {
  const t = text.trim();
  return /^[+-]?\d+$/.test(t) ? Number(t) : t;
}

function shown(value) {
  return value === undefined || value === null ? "" : typeof value === "string" ? value : JSON.stringify(value);
}

export class StepSettings {
  /** steps: the schema's step values; given: the workflow's `steps`; editable: may the user change
   *  them; onChange(): something was edited. */
  constructor({steps, given = {}, editable = false, onChange = () => {}}) {
    const own = steps.filter((st) => st !== START);
    // settings of steps the schema no longer has stay visible (the service refuses them on saving)
    const stale = Object.keys(given || {}).filter((st) => !own.includes(st));
    this.given = given || {};
    this.inputs = new Map();
    const rows = [...own, ...stale].map((st) => this.row(st, stale.includes(st), editable, onChange));
    this.el = h("div", {class: "step-settings"},
      h("p", {class: "muted"}, "A step with a timeout is retried by the engines when an attempt stays open longer (or its worker's lease lapses), ",
        "up to its number of attempts, each after the retry delay; then it fails through the workflow's rules, or becomes an incident when they have no way on. ",
        "Empty: no limit, one attempt, no delay."),
      h("table", {class: "grid settings", data: {path: "steps"}},
        h("thead", null, h("tr", null, h("th", {scope: "col"}, "Step"),
          SETTINGS.map((s) => h("th", {scope: "col", title: s.hint}, s.label)), h("th", {scope: "col"}, "In words"))),
        h("tbody", null, rows.length ? rows : h("tr", null, h("td", {colSpan: 5, class: "empty"}, "The schema has no steps.")))));
  }

  row(step, stale, editable, onChange) {
    const given = this.given[step] || {};
    const words = h("span", {class: "muted"});
    const controls = {};
    const say = () => {
      const typed = this.settingsOf(step);
      const whole = Object.values(typed).every((v) => typeof v === "number");
      words.textContent = !whole ? "…" : settingsText(typed) || "no deadline, one attempt";
    };
    const cells = SETTINGS.map((s) => {
      const input = h("input", {value: shown(given[s.key]), size: 8, inputMode: "numeric", autocomplete: "off",
        placeholder: s.empty, disabled: !editable, "aria-label": `${s.label.replace(/ \(s\)$/, "")} of step ${step}`,
        title: s.hint, data: {path: `steps.${step}.${s.key}`}, oninput: () => { say(); onChange(); }});
      controls[s.key] = input;
      return h("td", null, input);
    });
    this.inputs.set(step, controls);
    say();
    return h("tr", {data: {step, path: `steps.${step}`}},
      h("th", {scope: "row"}, h("code", null, step), stale ? h("div", {class: "bad-text"}, "not a step of the schema: clear it") : null),
      cells, h("td", null, words));
  }

  /** The settings typed for one step ({} when none). */
  settingsOf(step) {
    const out = {};
    for (const [key, input] of Object.entries(this.inputs.get(step) || {})) {
      if (input.value.trim() !== "") out[key] = valueOf(input.value);
    }
    return out;
  }

  /** The `steps` payload: every step with at least one setting. */
  get value() {
    const out = {};
    for (const step of this.inputs.keys()) {
      const one = this.settingsOf(step);
      if (Object.keys(one).length) out[step] = one;
    }
    return out;
  }

  /** How many steps have settings. */
  get count() {
    return Object.keys(this.value).length;
  }
}
