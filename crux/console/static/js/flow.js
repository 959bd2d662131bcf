// A workflow as a graph, read from its rules (SPEC §5), and an instance's path on it, read from
// its history. Pure functions: no page, no calls.
//
// Nodes: START, one per step of the schema, "done", and a fork bar for each rule that hands out
// several tasks at once plus a join bar for each step such a set joins at. Edges: one per rule
// and step it applies to — from the step the rule tests (step = X; step ≠ X applies to every
// other step) to the task it hands out (through its fork for several), or to "done". A task
// handed out with a `nextstep` other than itself belongs to a concurrent set: it leads to the
// join of that step. An edge is remedial when its rule tests stepfailed = true; its label is the
// rule's other conditions.

import {OP_TEXT, literalText} from "./rules.js";

export const START = "START";
export const DONE = "done";

function stepsTested(rule, steps) {
  let from = null;
  for (const t of rule.rulepattern || []) {
    if (t.attr !== "step") continue;
    const these = t.op === "eq" ? steps.filter((s) => s === t.val) : t.op === "ne" ? steps.filter((s) => s !== t.val) : steps;
    from = from ? from.filter((s) => these.includes(s)) : these;
  }
  return from || steps;
}

function failedTested(rule) {
  let failed = null;
  for (const t of rule.rulepattern || []) {
    if (t.attr !== "stepfailed") continue;
    const v = t.val === true || t.val === "true";
    failed = t.op === "ne" ? !v : v;
  }
  return failed;
}

function conditionText(rule) {
  return (rule.rulepattern || []).filter((t) => t.attr !== "step" && t.attr !== "stepfailed")
    .map((t) => `${t.attr} ${OP_TEXT[t.op] || t.op} ${literalText(t.val)}`).join(" and ");
}

/** A step's settings (SPEC §8.1) in words, as `crux workflow graph` writes them on its nodes:
 *  "timeout 30s, 3 attempts, retry after 5s"; "" when it has none. */
export function settingsText(given) {
  const parts = [];
  if (!given) return "";
  if (given.timeout !== undefined && given.timeout !== null) parts.push(`timeout ${given.timeout}s`);
  if (given.attempts !== undefined && given.attempts !== null && given.attempts !== 1) parts.push(`${given.attempts} attempts`);
  if (given.retrydelay) parts.push(`retry after ${given.retrydelay}s`);
  return parts.join(", ");
}

/** The steps of a workflow schema (START first). */
export function schemaSteps(schema) {
  const stepAttr = ((schema && schema.patternschema) || []).find((a) => a.attr === "step");
  const steps = stepAttr && Array.isArray(stepAttr.vals) ? stepAttr.vals.slice() : [START];
  if (!steps.includes(START)) steps.unshift(START);
  return steps;
}

/** schema: the workflow schema; rules: its flowrules; subflows: {step: workflow} of stepworkflows;
 *  settings: the workflow's `steps` ({step: {timeout, attempts, retrydelay}}), written on the step nodes. */
export function flowGraph(schema, rules, subflows = {}, settings = {}) {
  const steps = schemaSteps(schema);
  const nodes = new Map();
  const add = (id, label, kind, extra = {}) => nodes.has(id) || nodes.set(id, {id, label, kind, ...extra});
  add(START, START, "start");
  for (const st of steps) {
    if (st === START) continue;
    const extra = subflows[st] ? {subflow: subflows[st]} : {};
    const note = settingsText(settings && settings[st]);
    if (note) Object.assign(extra, {note, title: `${st}: ${note}`});
    add(st, st, subflows[st] ? "sub" : "step", extra);
  }
  const edges = [];
  const seen = new Map();
  const edge = (from, to, props) => {
    const id = `${from}->${to}${props.failed ? "!f" : ""}${props.label ? `:${props.label}` : ""}`;
    if (seen.has(id)) {
      seen.get(id).rules.push(...props.rules);
      return;
    }
    const e = {id, from, to, ...props};
    seen.set(id, e);
    edges.push(e);
  };
  rules.forEach((rule, r) => {
    const actions = rule.ruleactions || {};
    const props = actions.properties || {};
    const tasks = actions.tasks || [];
    const failed = failedTested(rule);
    const label = conditionText(rule);
    const cls = failed ? "failed" : "";
    const title = `rule ${r}${failed === true ? " (step failed)" : failed === false ? " (step done)" : ""}${label ? `: ${label}` : ""}`;
    for (const from of stepsTested(rule, steps)) {
      if (props.done === "true" || props.done === true) {
        add(DONE, DONE, "done");
        edge(from, DONE, {label, failed, cls: `${cls} done`, title, rules: [r]});
      } else if (tasks.length > 1) {
        const fork = `fork:${from}:${r}`;
        add(fork, "", "bar", {span: tasks.length, title: `rule ${r}: ${tasks.length} tasks at once`});
        edge(from, fork, {label, failed, cls, title, rules: [r]});
        for (const t of tasks) {
          add(t, t, subflows[t] ? "sub" : "step");
          edge(fork, t, {cls, title: `rule ${r}: concurrent task ${t}`, rules: [r]});
          if (props.nextstep) joinEdge(add, edge, t, props.nextstep, r);
        }
      } else if (tasks.length === 1) {
        const t = tasks[0];
        add(t, t, subflows[t] ? "sub" : "step");
        edge(from, t, {label, failed, cls, title, rules: [r]});
        if (props.nextstep && props.nextstep !== t) joinEdge(add, edge, t, props.nextstep, r);
      }
    }
  });
  return {nodes: [...nodes.values()], edges, steps};
}

function joinEdge(add, edge, task, next, r) {
  const join = `join:${next}`;
  add(join, "", "bar", {title: `join: when every task of the set is done, the workflow goes on at ${next}`});
  edge(task, join, {cls: "join", title: `rule ${r}: ${task} joins at ${next}`, rules: [r]});
  edge(join, next, {cls: "join", title: `join at ${next}`, rules: [r]});
}

// ---- an instance's path -------------------------------------------------------------------------

/** A timestamp as a key that sorts in time order ("...:41Z" and "...:41.5Z" alike). */
export function timeKey(ts) {
  if (!ts) return "";
  const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$/.exec(ts);
  return `${m[1]}.${(m[2] || "").padEnd(6, "0")}`;
}

/** History rows of one workflow (of one entity) split into runs: a run ends when none of its
 *  steps is open any more. Each run: {rows (oldest first), open, ended: "done" | "aborted" | null}. */
export function runsOf(rows) {
  const sorted = rows.map((r) => ({...r, _in: timeKey(r.loggedat), _out: timeKey(r.closedat)}))
    .sort((a, b) => (a._in < b._in ? -1 : a._in > b._in ? 1 : a.wfid - b.wfid));
  const runs = [];
  let current = null;
  for (const row of sorted) {
    const goesOn = current && current.rows.some((x) => !x._out || x._out >= row._in);
    if (!goesOn) {
      current = {rows: []};
      runs.push(current);
    }
    current.rows.push(row);
  }
  for (const run of runs) {
    run.open = run.rows.filter((x) => !x.closedat);
    run.ended = run.open.length ? null : run.rows.some((x) => x.outcome === "aborted") ? "aborted" : "done";
  }
  return runs;
}

/** The shortest route in the graph between two nodes -> [edge ids], or null. After a failed
 *  step the remedial edges are preferred, after a done one the others. */
function route(graph, from, to, failed) {
  const fits = (e) => e.failed === null || e.failed === undefined || e.failed === failed;
  if (from === to) {
    const loops = graph.edges.filter((e) => e.from === from && e.to === to);
    const loop = loops.find(fits) || loops[0];
    return loop ? [loop.id] : null;
  }
  const out = new Map();
  for (const e of graph.edges) {
    if (!out.has(e.from)) out.set(e.from, []);
    out.get(e.from).push(e);
  }
  for (const strict of [true, false]) {
    const via = new Map([[from, null]]);
    const queue = [from];
    while (queue.length && !via.has(to)) {
      const at = queue.shift();
      for (const e of out.get(at) || []) {
        if (strict && at === from && !fits(e)) continue;
        if (!via.has(e.to)) {
          via.set(e.to, e);
          queue.push(e.to);
        }
      }
    }
    if (via.has(to)) {
      const ids = [];
      for (let at = to; at !== from;) {
        const e = via.get(at);
        ids.unshift(e.id);
        at = e.from;
      }
      return ids;
    }
  }
  return null;
}

/** The path of one run over the graph: {visits: Map(step -> [numbers]), edges: Set(edge ids),
 *  open: Set(steps), done}. Steps are numbered in the order they were handed out; a later attempt
 *  of a step (SPEC §8.2: a new history row of the same hand-out) is no new visit and takes no
 *  edge, but the attempt that ended the step leads on from it. */
export function pathOf(graph, run) {
  const visits = new Map();
  const edges = new Set();
  const rows = run.rows;
  const handouts = rows.filter((row) => !(row.attempt > 1));
  handouts.forEach((row, i) => {
    if (!visits.has(row.step)) visits.set(row.step, []);
    visits.get(row.step).push(i + 1);
  });
  const known = new Set(graph.nodes.map((n) => n.id));
  const mark = (ids) => ids && ids.forEach((id) => edges.add(id));
  const failed = (row) => row.outcome === "failed" || row.outcome === "timedout";
  const first = rows.length ? rows[0]._in : null;
  for (const row of handouts) {
    if (!known.has(row.step)) continue;
    const before = rows.filter((x) => x !== row && x._out === row._in && x._out);
    if (row._in === first && !before.length) mark(route(graph, START, row.step, false));
    for (const prev of before) if (known.has(prev.step)) mark(route(graph, prev.step, row.step, failed(prev)));
  }
  // a step done while its siblings were still open went on to the join of its set
  for (const row of rows) {
    if (row.outcome !== "done" || rows.some((x) => x !== row && x._in === row._out)) continue;
    const toJoin = graph.edges.filter((e) => e.from === row.step && e.to.startsWith("join:"));
    if (toJoin.length === 1) edges.add(toJoin[0].id);
  }
  if (run.ended === "done") {
    const last = rows.reduce((m, x) => (x._out > m ? x._out : m), "");
    for (const row of rows) {
      if (row._out === last && row.outcome !== "aborted" && known.has(row.step)) mark(route(graph, row.step, DONE, failed(row)));
    }
  }
  return {visits, edges, open: new Set(run.open.map((x) => x.step)), done: run.ended === "done"};
}
