// A trace (SPEC §3, level 2) drawn rule by rule: which terms held (entity value, operator, rule
// value), which rules matched, called, returned or exited, and the action set after each.

import {badge, chip, h, mount} from "./dom.js";
import {OP_TEXT, literalText} from "./rules.js";

const RESULT = {
  "+": ["matched", "ok"],
  "-": ["did not match", ""],
  "+c": ["matched and called", "ok"],
  "-c": ["did not match: else-called", "warn"],
  "<": ["matched and returned", "ok"],
  "<<": ["matched and exited", "bad"],
};
const AFTER = {"<": "then returned", "<<": "then exited"};

function value(v) {
  return h("code", null, v === undefined ? "—" : literalText(v));
}

function actionSet(set) {
  if (!set) return null;
  const tasks = set.tasks || [];
  const props = Object.entries(set.properties || {});
  return h("div", {class: "tl-meta"}, "action set after it: ",
    tasks.length || props.length ? [tasks.map((t) => chip(t, "task")), props.map(([k, v]) => chip(`${k} = ${v}`, "prop"))] : h("span", null, "empty"));
}

function ruleEntry(rule, source, linkFor) {
  const [text, kind] = RESULT[rule.res] || [rule.res, ""];
  const matched = rule.res && rule.res.startsWith("+") || rule.res === "<" || rule.res === "<<";
  const terms = rule.terms || [];
  const all = source && source.rulepattern ? source.rulepattern : null;
  const skipped = all ? all.slice(terms.length) : [];
  const callee = rule.nextset ? (linkFor(rule.nextset) ? h("a", {href: linkFor(rule.nextset)}, rule.nextset) : h("code", null, rule.nextset)) : null;
  return h("div", {class: ["trace-rule", matched ? "hit" : null], data: {rule: String(rule.r), res: rule.res}},
    h("div", {class: "head"}, h("strong", null, `rule ${rule.r}`), badge(text, kind), callee,
      rule.after ? badge(AFTER[rule.after] || rule.after, rule.after === "<<" ? "bad" : "ok") : null,
      !terms.length && !skipped.length ? h("span", {class: "muted"}, "no conditions: always holds") : null),
    terms.length || skipped.length ? h("table", {class: "terms"},
      h("thead", null, h("tr", null, ["attribute", "entity value", "", "rule value", "held"].map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", null,
        terms.map((t) => h("tr", {class: t.ok ? "held" : "failed"},
          h("td", null, h("code", null, t.attr)), h("td", null, value(t.val)), h("td", null, OP_TEXT[t.op] || t.op),
          h("td", null, value(t.ruleval)), h("td", null, t.ok ? badge("yes", "ok") : badge("no", "bad")))),
        skipped.map((t) => h("tr", null,
          h("td", null, h("code", null, t.attr)), h("td", {class: "skipped"}, "—"), h("td", null, OP_TEXT[t.op] || t.op),
          h("td", null, value(t.val)), h("td", {class: "skipped"}, "not evaluated"))))) : null,
    matched || rule.res === "-c" ? actionSet(rule.actionset) : null);
}

/**
 * tracedata: the service's trace; rulesOf(name): the rules of a ruleset (to show the terms a rule
 * did not get to), or null; linkFor(name): its page. Returns an element.
 */
export function renderTrace(tracedata, {rulesOf = () => null, linkFor = () => null} = {}) {
  const visits = tracedata.visits || [];
  const total = visits.reduce((n, v) => n + v.rules.length, 0);
  const missed = visits.reduce((n, v) => n + v.rules.filter((r) => r.res === "-").length, 0);
  const box = h("div", {class: "trace"});
  const onlyHits = h("input", {type: "checkbox", checked: total > 60});
  const draw = () => {
    mount(list, visits.map((visit, i) => {
      const rules = rulesOf(visit.ruleset);
      const shown = onlyHits.checked ? visit.rules.filter((r) => r.res !== "-") : visit.rules;
      return h("section", {class: "trace-visit", data: {ruleset: visit.ruleset}},
        h("header", null, h("strong", null, linkFor(visit.ruleset) ? h("a", {href: linkFor(visit.ruleset)}, visit.ruleset) : visit.ruleset),
          i === 0 ? badge("entry", "info") : h("span", {class: "muted"}, "visit " + (i + 1)),
          h("span", {class: "muted"}, `${visit.rules.length} rule${visit.rules.length === 1 ? "" : "s"} evaluated`)),
        shown.length ? shown.map((r) => ruleEntry(r, rules ? rules[r.r] : null, linkFor))
          : h("p", {class: "trace-rule muted"}, "No rule matched in this visit."));
    }));
  };
  const list = h("div");
  onlyHits.addEventListener("change", draw);
  box.append(
    h("p", {class: "muted"}, `${total} rule evaluations in ${visits.length} visit${visits.length === 1 ? "" : "s"}, ${total - missed} matched or called. `,
      h("label", {class: "check"}, onlyHits, `hide the ${missed} rules that did not match`)),
    list);
  draw();
  return box;
}
