// The rule language as the console shows and edits it (SPEC §2): schemas, terms, literals.
// The console never decides whether rules are valid: the service's checks do, and their
// messages are shown at the fields they name.

export const OPS = ["eq", "ne", "lt", "le", "gt", "ge"];
export const OP_TEXT = {eq: "=", ne: "≠", lt: "<", le: "≤", gt: ">", ge: "≥"};
export const ORDERED = new Set(["int", "float", "str", "ts", "timestamp"]);
export const VALTYPES = ["int", "float", "str", "enum", "bool", "ts"];

/** The two kinds of rule data: business rules (B) and workflows (W), with their calls. */
export const KINDS = {
  B: {word: "ruleset", plural: "rulesets", title: "Rulesets", rulesKey: "ruleset", prefix: "breruleset",
      schemaPrefix: "breschema", listKey: "rulesets", listPath: "/console/rulesets"},
  W: {word: "workflow", plural: "workflows", title: "Workflows", rulesKey: "flowrules", prefix: "workflow",
      schemaPrefix: "wfschema", listKey: "workflows", listPath: "/console/workflows"},
};

/** What a schema says about names: an attribute's type, tasks, properties. */
export function schemaIndex(schema) {
  const attrs = new Map();
  for (const a of (schema && schema.patternschema) || []) attrs.set(a.attr, a);
  const tasks = ((schema && schema.actionschema && schema.actionschema.tasks) || []).slice();
  const properties = ((schema && schema.actionschema && schema.actionschema.properties) || []).slice();
  const taskSet = new Set(tasks);
  return {
    attrs, tasks, properties,
    /** the type of a term's subject: a valtype, "task" for a task tag, undefined when unknown */
    typeOf(name) {
      const a = attrs.get(name);
      if (a) return a.valtype === "timestamp" ? "ts" : a.valtype;
      return taskSet.has(name) ? "task" : undefined;
    },
    vals(name) {
      const a = attrs.get(name);
      return a && Array.isArray(a.vals) ? a.vals : [];
    },
  };
}

export function opsFor(type) {
  return type && !ORDERED.has(type) ? ["eq", "ne"] : OPS;
}

/** A literal as typed in a text box -> the JSON value the rule carries for that type. Text that
 *  does not fit the type is sent as typed, and the service names the problem. */
export function literalFrom(text, type) {
  if (type === "int" && /^[+-]?\d+$/.test(text.trim())) return Number(text.trim());
  if (type === "float" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text.trim())) return Number(text.trim());
  if (type === "bool" || type === "task") {
    if (text === "true") return true;
    if (text === "false") return false;
  }
  return text;
}

export function literalText(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function defaultLiteral(type, vals) {
  if (type === "bool" || type === "task") return true;
  if (type === "int" || type === "float") return 0;
  if (type === "enum") return vals[0] || "";
  return "";
}

export function termText(t) {
  return `${t.attr} ${OP_TEXT[t.op] || t.op} ${literalText(t.val)}`;
}

function lowerKeys(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) out[k.toLowerCase()] = v;
  return out;
}

/** A rule as the editor holds it: every key present, canonical names (SPEC §2.2 accepts the
 *  spellings doreturn/return and doexit/exit). */
export function editable(rule) {
  const r = lowerKeys(rule);
  const a = lowerKeys(r.ruleactions);
  return {
    rulepattern: (r.rulepattern || []).map((t) => ({...lowerKeys(t)})),
    ruleactions: {
      tasks: (a.tasks || []).slice(),
      properties: {...(a.properties || {})},
      thencall: a.thencall || "",
      elsecall: a.elsecall || "",
      willreturn: Boolean(a.willreturn ?? a.doreturn ?? a.return),
      willexit: Boolean(a.willexit ?? a.doexit ?? a.exit),
    },
  };
}

/** A rule as it is sent: no empty calls. */
export function outgoing(rule) {
  const a = rule.ruleactions;
  const actions = {tasks: a.tasks, properties: a.properties, willreturn: a.willreturn, willexit: a.willexit};
  if (a.thencall) actions.thencall = a.thencall;
  if (a.elsecall) actions.elsecall = a.elsecall;
  return {rulepattern: rule.rulepattern, ruleactions: actions};
}

export function newRule(index, kind) {
  const rule = editable({rulepattern: [], ruleactions: {}});
  if (kind === "W" && index.attrs.has("step")) rule.rulepattern.push({attr: "step", op: "eq", val: "START"});
  return rule;
}
