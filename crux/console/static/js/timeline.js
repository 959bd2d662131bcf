// An instance's history as a timeline: every attempt of every step handed out (SPEC §8.2: one
// history row per attempt), when, how it ended (done, failed, timed out, aborted), the worker
// that held or reported it and its error, and the sub-workflows started for it (nested under
// their parent step).

import {badge, h, time} from "./dom.js";
import {timeKey} from "./flow.js";

const OUTCOME = {done: "ok", failed: "bad", timedout: "bad", aborted: "", null: "warn"};
const OUTCOME_TEXT = {timedout: "timed out"};

function duration(a, b) {
  if (!a || !b) return "";
  const ms = new Date(b) - new Date(a);
  if (!(ms >= 0)) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}

function item(row, children, incidents) {
  const state = row.closedat ? row.outcome || "closed" : "open";
  const outcome = row.closedat ? row.outcome : "open";
  return h("li", {class: state, data: {wfid: String(row.wfid), step: row.step, attempt: String(row.attempt || 1)}},
    h("div", {class: "tl-head"}, h("strong", null, row.step),
      row.attempt ? h("span", {class: "attempt"}, `attempt ${row.attempt}`) : null,
      badge(OUTCOME_TEXT[outcome] || outcome, OUTCOME[row.closedat ? row.outcome : null]),
      h("span", {class: "tl-meta"}, `row ${row.wfid}`), row.workflow ? h("span", {class: "tl-meta"}, `workflow ${row.workflow}`) : null),
    h("div", {class: "tl-meta"}, row.attempt > 1 ? "opened " : "handed out ", time(row.loggedat),
      row.closedat ? [" · closed ", time(row.closedat), ` · ${duration(row.loggedat, row.closedat)}`] : " · still open",
      row.worker ? [" · worker ", h("code", {class: "worker"}, row.worker)] : null),
    row.error ? h("div", {class: "bad-text tl-error"}, "error: ", row.error) : null,
    !row.closedat && incidents.has(row.wfid) ? h("div", {class: "tl-incident"}, badge("incident", "bad"), " ",
      h("span", {class: "bad-text incident"}, incidents.get(row.wfid)), h("span", {class: "tl-meta"}, " (waiting for someone to retry it)")) : null,
    children && children.length ? h("ol", {class: "timeline"}, children) : null);
}

/** rows: history rows (any order); the rows of sub-workflows (parent = a row's wfid) are nested.
 *  incidents: Map(row id -> the incident of that open row), shown at its open attempt. */
export function timeline(rows, incidents = new Map()) {
  const sorted = rows.slice().sort((a, b) => timeKey(a.loggedat).localeCompare(timeKey(b.loggedat)) || a.wfid - b.wfid);
  const ids = new Set(sorted.map((r) => r.wfid));
  const children = new Map();
  const top = [];
  for (const r of sorted) {
    if (r.parent && ids.has(r.parent) && sorted.some((p) => p.wfid === r.parent && p.workflow !== r.workflow)) {
      if (!children.has(r.parent)) children.set(r.parent, []);
      children.get(r.parent).push(r);
    } else {
      top.push(r);
    }
  }
  // a sub-workflow hangs under the last history row of its parent step's row
  const lastOf = new Map();
  for (const r of top) lastOf.set(r.wfid, r);
  const build = (r) => item(r, lastOf.get(r.wfid) === r ? (children.get(r.wfid) || []).map(build) : [], incidents);
  return h("ol", {class: "timeline"}, top.map(build));
}
