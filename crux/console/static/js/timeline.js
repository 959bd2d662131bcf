// An instance's history as a timeline: every step handed out, when, how it ended, and the
// sub-workflows started for it (nested under their parent step).

import {badge, h, time} from "./dom.js";
import {timeKey} from "./flow.js";

const OUTCOME = {done: "ok", failed: "bad", timedout: "bad", aborted: "", null: "warn"};

function duration(a, b) {
  if (!a || !b) return "";
  const ms = new Date(b) - new Date(a);
  if (!(ms >= 0)) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}

// fields of newer services (SPEC §8: attempts, workers, errors) are shown when rows carry them
const EXTRA = [["attempt", "attempt"], ["worker", "worker"], ["error", "error"]];

function item(row, children) {
  const state = row.closedat ? row.outcome || "closed" : "open";
  return h("li", {class: state, data: {wfid: String(row.wfid), step: row.step}},
    h("div", {class: "tl-head"}, h("strong", null, row.step), badge(row.closedat ? row.outcome : "open", OUTCOME[row.closedat ? row.outcome : null]),
      h("span", {class: "tl-meta"}, `row ${row.wfid}`), row.workflow ? h("span", {class: "tl-meta"}, `workflow ${row.workflow}`) : null),
    h("div", {class: "tl-meta"}, "handed out ", time(row.loggedat),
      row.closedat ? [" · closed ", time(row.closedat), ` · ${duration(row.loggedat, row.closedat)}`] : " · still open",
      EXTRA.filter(([k]) => row[k] !== undefined && row[k] !== null).map(([k, label]) => [" · ", `${label} `, h("code", null, String(row[k]))])),
    children && children.length ? h("ol", {class: "timeline"}, children) : null);
}

/** rows: history rows (any order); the rows of sub-workflows (parent = a row's wfid) are nested. */
export function timeline(rows) {
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
  const build = (r) => item(r, lastOf.get(r.wfid) === r ? (children.get(r.wfid) || []).map(build) : []);
  return h("ol", {class: "timeline"}, top.map(build));
}
