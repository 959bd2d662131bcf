// The rule table editor: one row per rule (conditions, tasks, properties, calls, flow), each
// opened in place for editing. Rows are plain text until opened, so a ruleset of a thousand rules
// draws at once; an open row is a small form whose every control names the JSON path the
// service uses for it (ruleset[3].rulepattern[0].val), so each problem the service reports on
// saving lands at its control.

import {button, chip, h, messageText, mount, select, showProblems} from "./dom.js";
import {OP_TEXT, defaultLiteral, editable, literalFrom, literalText, newRule, opsFor, outgoing, termText} from "./rules.js";

const FLOW = [["", "go on"], ["return", "return"], ["exit", "exit"]];

function el(tag, cls, text) {
  const node = document.createElement(tag);
  node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function cell(row, cls = "") {
  const c = el("div", cls);
  c.setAttribute("role", "cell");
  row.appendChild(c);
  return c;
}

export class RuleTable {
  /**
   * rules: the rules as the service gave them; index: schemaIndex(schema); kind: "B" | "W";
   * key: "ruleset" | "flowrules" (the payload key, the first part of every path);
   * callables: names of the rulesets a rule may call; editable: may the user change them;
   * linkFor(name): the page of a called ruleset; onChange(): something was edited.
   * `summary` (the list of the service's problems) is placed by the page, above its tabs;
   * `reveal(el)` shows a control the summary links to when it is on a hidden tab.
   */
  constructor({rules, index, kind, key, callables = [], editable: canEdit = false, linkFor = () => null, onChange = () => {}}) {
    this.rules = rules.map(editable);
    this.index = index;
    this.kind = kind;
    this.key = key;
    this.callables = callables;
    this.canEdit = canEdit;
    this.linkFor = linkFor;
    this.onChange = onChange;
    this.reveal = () => {};
    this.opened = new Set();
    this.summary = h("div", {class: "problems-box"});
    // rows are grid boxes rather than table rows: each row is laid out on its own
    // (content-visibility), so a thousand rules cost what the rows on screen cost
    this.body = h("div", {role: "rowgroup", class: "rt-body"});
    const head = h("div", {role: "rowgroup", class: "rt-head"}, h("div", {role: "row", class: "rt-row"},
      ["#", "Conditions (all must hold)", "Tasks", "Properties", "Calls", "Flow", ""].map((t) => h("div", {role: "columnheader"}, t))));
    this.table = h("div", {role: "table", class: "rules", "aria-label": "Rules", data: {path: key}}, head, this.body);
    this.body.addEventListener("click", (ev) => {
      const edit = ev.target.closest("button[data-edit]");
      if (edit) this.open(this.rules[Number(edit.dataset.edit)]);
    });
    this.el = h("div", {class: "ruletable"}, this.table,
      canEdit ? h("div", {class: "actions add-rule"}, button("Add a rule at the end", () => this.insert(this.rules.length), {kind: "small"})) : null);
    this.render();
  }

  get value() {
    return this.rules.map(outgoing);
  }

  base(i) {
    return `${this.key}[${i}]`;
  }

  changed() {
    this.onChange();
  }

  render() {
    const frag = document.createDocumentFragment();
    this.rules.forEach((rule, i) => frag.appendChild(this.opened.has(rule) ? this.editorRow(rule, i) : this.displayRow(rule, i)));
    if (!this.rules.length) frag.appendChild(h("div", {role: "row", class: "rt-row"}, h("div", {role: "cell", class: "empty"}, "No rules yet.")));
    this.body.replaceChildren(frag);
  }

  rowOf(i) {
    return this.body.children[i];
  }

  // ---- display ----------------------------------------------------------------------------------

  displayRow(rule, i) {
    // the hot path of drawing a large ruleset: plain createElement, one listener for all rows
    const a = rule.ruleactions;
    const row = el("div", "rt-row rule");
    row.setAttribute("role", "row");
    row.dataset.rule = String(i);
    row.dataset.path = this.base(i);
    const num = el("div", "rn", String(i));
    num.setAttribute("role", "rowheader");
    row.appendChild(num);
    const terms = cell(row);
    terms.dataset.path = `${this.base(i)}.rulepattern`;
    if (!rule.rulepattern.length) terms.appendChild(el("span", "muted", "always"));
    rule.rulepattern.forEach((t, j) => {
      if (j) terms.appendChild(el("span", "and", "and"));
      terms.appendChild(el("span", this.index.typeOf(t.attr) === "task" ? "chip task" : "chip", termText(t)));
    });
    const tasks = cell(row);
    for (const t of a.tasks) tasks.appendChild(el("span", "chip task", t));
    const props = cell(row);
    for (const k in a.properties) props.appendChild(el("span", "chip prop", `${k} = ${a.properties[k]}`));
    const calls = cell(row);
    if (a.thencall) calls.appendChild(this.callChip("then", a.thencall));
    if (a.elsecall) calls.appendChild(this.callChip("else", a.elsecall));
    const flow = cell(row);
    if (a.willreturn) flow.appendChild(el("span", "chip flow", "return"));
    if (a.willexit) flow.appendChild(el("span", "chip flow", "exit"));
    const ops = cell(row, "ops");
    if (this.canEdit) {
      const edit = el("button", "btn small", "Edit");
      edit.type = "button";
      edit.dataset.edit = String(i);
      edit.setAttribute("aria-label", `Edit rule ${i}`);
      ops.appendChild(edit);
    }
    return row;
  }

  callChip(word, name) {
    const href = this.linkFor(name);
    const text = `${word} → ${name}`;
    return href ? h("a", {href, class: "chip call"}, text) : chip(text, "call");
  }

  // ---- editing ----------------------------------------------------------------------------------

  open(rule, focus = true) {
    this.opened.add(rule);
    const i = this.rules.indexOf(rule);
    const row = this.editorRow(rule, i);
    this.rowOf(i).replaceWith(row);
    if (focus) row.querySelector("select, input, button").focus();
  }

  close(rule) {
    this.opened.delete(rule);
    const i = this.rules.indexOf(rule);
    const row = this.displayRow(rule, i);
    this.rowOf(i).replaceWith(row);
    const edit = row.querySelector("button");
    if (edit) edit.focus();
  }

  editorRow(rule, i) {
    const base = this.base(i);
    const a = rule.ruleactions;
    const terms = h("div", {class: "terms", data: {path: `${base}.rulepattern`}});
    const drawTerms = () => mount(terms, rule.rulepattern.map((t, j) => this.termEditor(rule, t, `${base}.rulepattern[${j}]`, j, drawTerms)));
    drawTerms();
    const tasks = h("div", {data: {path: `${base}.ruleactions.tasks`}});
    const drawTasks = () => mount(tasks, a.tasks.map((t, k) => this.taskEditor(rule, k, `${base}.ruleactions.tasks[${k}]`, drawTasks)));
    drawTasks();
    const props = h("div", {data: {path: `${base}.ruleactions.properties`}});
    const drawProps = () => mount(props, Object.keys(a.properties).map((name) => this.propertyEditor(rule, name, `${base}.ruleactions.properties`, drawProps)));
    drawProps();
    const calls = this.callables.filter((n) => n);
    const callSelect = (which) => {
      const options = [["", "none"], ...calls.map((n) => [n, n])];
      if (a[which] && !calls.includes(a[which])) options.push([a[which], `${a[which]} (not found)`]);
      return select(options, a[which], {"aria-label": `${which} of rule ${i}`, data: {path: `${base}.ruleactions.${which}`},
                                         onchange: (ev) => { a[which] = ev.target.value; this.changed(); }});
    };
    const flow = select(FLOW, a.willexit ? "exit" : a.willreturn ? "return" : "",
      {"aria-label": `Flow after rule ${i}`, data: {path: `${base}.ruleactions.willreturn ${base}.ruleactions.willexit`},
       onchange: (ev) => { a.willreturn = ev.target.value === "return"; a.willexit = ev.target.value === "exit"; this.changed(); }});
    const editor = h("div", {class: "rule-editor"},
      h("div", null, h("h3", null, "Conditions"), terms,
        button("+ condition", () => {
          const attr = this.index.attrs.keys().next().value || "";
          const type = this.index.typeOf(attr);
          rule.rulepattern.push({attr, op: "eq", val: defaultLiteral(type, this.index.vals(attr))});
          drawTerms(); this.changed();
          terms.lastChild.querySelector("select").focus();
        }, {kind: "small quiet", label: `Add a condition to rule ${i}`})),
      h("div", null, h("h3", null, "Tasks"), tasks,
        button("+ task", () => {
          a.tasks.push(this.index.tasks.find((t) => !a.tasks.includes(t)) || this.index.tasks[0] || "");
          drawTasks(); this.changed();
          tasks.lastChild.querySelector("select").focus();
        }, {kind: "small quiet", label: `Add a task to rule ${i}`}),
        h("h3", null, "Properties"), props,
        button("+ property", () => {
          const name = this.index.properties.find((p) => !(p in a.properties));
          if (name === undefined) return;
          a.properties[name] = "";
          drawProps(); this.changed();
          props.lastChild.querySelector("input").focus();
        }, {kind: "small quiet", label: `Add a property to rule ${i}`})),
      h("div", null, h("h3", null, "Calls and flow"),
        h("div", {class: "callrow"},
          h("label", {class: "field"}, "Then call (when it matches)", callSelect("thencall")),
          h("label", {class: "field"}, "Else call (when it does not)", callSelect("elsecall")),
          h("label", {class: "field"}, "After this rule", flow))),
      h("div", {class: "rule-ops"},
        button("Done", () => this.close(rule), {kind: "primary small", label: `Done editing rule ${i}`}),
        button("Move up", () => this.move(rule, -1), {kind: "small", disabled: i === 0}),
        button("Move down", () => this.move(rule, 1), {kind: "small", disabled: i === this.rules.length - 1}),
        button("Duplicate", () => this.duplicate(rule), {kind: "small"}),
        button("Insert a rule below", () => this.insert(i + 1), {kind: "small"}),
        button("Delete rule", () => this.remove(rule), {kind: "small danger"})));
    return h("div", {role: "row", class: "rt-row rule editing", data: {rule: String(i), path: base}},
             h("div", {role: "rowheader", class: "rn"}, String(i)), h("div", {role: "cell", class: "rt-wide"}, editor));
  }

  termEditor(rule, term, path, j, redraw) {
    const type = this.index.typeOf(term.attr);
    const attr = h("select", {"aria-label": `Condition ${j}: attribute`, data: {path: `${path}.attr`}, onchange: (ev) => {
        term.attr = ev.target.value;
        const t = this.index.typeOf(term.attr);
        if (!opsFor(t).includes(term.op)) term.op = "eq";
        term.val = defaultLiteral(t, this.index.vals(term.attr));
        redraw(); this.changed();
      }},
      type ? null : h("option", {value: term.attr}, `${term.attr} (unknown)`),
      h("optgroup", {label: "Attributes"}, [...this.index.attrs.keys()].map((n) => h("option", {value: n}, n))),
      this.index.tasks.length ? h("optgroup", {label: "Tasks already in the action set"}, this.index.tasks.map((t) => h("option", {value: t}, t))) : null);
    attr.value = term.attr;
    const ops = opsFor(type);
    const op = select((ops.includes(term.op) ? ops : [term.op, ...ops]).map((o) => [o, `${OP_TEXT[o] || o} (${o})`]), term.op,
      {"aria-label": `Condition ${j}: operator`, data: {path: `${path}.op`}, onchange: (ev) => { term.op = ev.target.value; this.changed(); }});
    let value;
    const valueProps = {"aria-label": `Condition ${j}: value`, data: {path: `${path}.val`}};
    if (type === "enum") {
      const vals = this.index.vals(term.attr);
      const options = vals.includes(term.val) ? vals : [literalText(term.val), ...vals];
      value = select(options, literalText(term.val), {...valueProps, onchange: (ev) => { term.val = ev.target.value; this.changed(); }});
    } else if (type === "bool" || type === "task") {
      value = select(["true", "false"], literalText(term.val), {...valueProps, onchange: (ev) => { term.val = ev.target.value === "true"; this.changed(); }});
    } else {
      value = h("input", {...valueProps, value: literalText(term.val), size: type === "ts" ? 24 : 12,
                          placeholder: type === "ts" ? "2026-01-31T10:00:00Z" : type || "",
                          inputMode: type === "int" || type === "float" ? "decimal" : "text",
                          oninput: (ev) => { term.val = type === "str" ? ev.target.value : literalFrom(ev.target.value, type); this.changed(); }});
    }
    return h("div", {class: "term"}, attr, op, value,
      button("✕", () => { rule.rulepattern.splice(j, 1); redraw(); this.changed(); }, {kind: "small quiet", label: `Remove condition ${j}`}));
  }

  taskEditor(rule, k, path, redraw) {
    const tasks = rule.ruleactions.tasks;
    const options = this.index.tasks.includes(tasks[k]) ? this.index.tasks : [tasks[k], ...this.index.tasks];
    return h("div", {class: "item"},
      select(options, tasks[k], {"aria-label": `Task ${k}`, data: {path}, onchange: (ev) => { tasks[k] = ev.target.value; this.changed(); }}),
      button("✕", () => { tasks.splice(k, 1); redraw(); this.changed(); }, {kind: "small quiet", label: `Remove task ${k}`}));
  }

  propertyEditor(rule, name, path, redraw) {
    const a = rule.ruleactions;
    const options = this.index.properties.includes(name) ? this.index.properties : [name, ...this.index.properties];
    const rename = (ev) => {
      const to = ev.target.value;
      if (to === name || to in a.properties) { ev.target.value = name; return; }
      a.properties = Object.fromEntries(Object.entries(a.properties).map(([k, v]) => [k === name ? to : k, v]));
      redraw(); this.changed();
    };
    return h("div", {class: "item"},
      select(options, name, {"aria-label": `Property ${name}: name`, data: {path: `${path}.${name}`}, onchange: rename}),
      h("span", null, "="),
      h("input", {value: a.properties[name], size: 12, "aria-label": `Property ${name}: value`,
                  oninput: (ev) => { a.properties[name] = ev.target.value; this.changed(); }}),
      button("✕", () => { delete a.properties[name]; redraw(); this.changed(); }, {kind: "small quiet", label: `Remove property ${name}`}));
  }

  // ---- rows -------------------------------------------------------------------------------------

  focusEditor(rule) {
    const row = this.rowOf(this.rules.indexOf(rule));
    const first = row && row.querySelector("select, input, button");
    if (first) first.focus();
  }

  move(rule, by) {
    const i = this.rules.indexOf(rule);
    const j = i + by;
    if (j < 0 || j >= this.rules.length) return;
    [this.rules[i], this.rules[j]] = [this.rules[j], this.rules[i]];
    this.render(); this.changed();
    this.rowOf(j).querySelector(by < 0 ? "button:nth-of-type(2)" : "button:nth-of-type(3)")?.focus();
  }

  duplicate(rule) {
    const copy = editable(JSON.parse(JSON.stringify(outgoing(rule))));
    this.rules.splice(this.rules.indexOf(rule) + 1, 0, copy);
    this.opened.add(copy);
    this.render(); this.changed();
    this.focusEditor(copy);
  }

  insert(at) {
    const rule = newRule(this.index, this.kind);
    this.rules.splice(at, 0, rule);
    this.opened.add(rule);
    this.render(); this.changed();
    this.focusEditor(rule);
  }

  remove(rule) {
    const i = this.rules.indexOf(rule);
    this.rules.splice(i, 1);
    this.opened.delete(rule);
    this.render(); this.changed();
    const next = this.rowOf(Math.min(i, this.rules.length - 1));
    next?.querySelector("button")?.focus();
  }

  /** Show the service's messages: every rule they name is opened, each message is marked at its
   *  control, and a summary lists them with a way to reach each one. */
  showProblems(messages, root = this.el) {
    const prefix = new RegExp(`^${this.key}\\[(\\d+)\\]`);
    for (const m of messages) {
      const hit = prefix.exec(m.field || "");
      if (hit && this.rules[Number(hit[1])]) this.opened.add(this.rules[Number(hit[1])]);
    }
    this.render();
    for (const row of this.body.querySelectorAll(".has-problem")) row.classList.remove("has-problem");
    const unplaced = h("div");
    const marks = showProblems(root, messages, unplaced);
    for (const {el} of marks) el && el.closest(".rt-row")?.classList.add("has-problem");
    mount(this.summary, messages.length ? h("div", {class: "problem-summary", role: "alert"},
      h("strong", null, `The service found ${messages.length} problem${messages.length === 1 ? "" : "s"}:`),
      h("ol", null, marks.map(({message, el}) => h("li", null,
        el ? h("button", {type: "button", onclick: () => { this.reveal(el); el.scrollIntoView({block: "center"}); el.focus(); }},
               `${message.field}: ${messageText(message)}`)
           : `${message.field || ""} ${messageText(message)}`))),
      unplaced) : null);
    return marks;
  }
}
