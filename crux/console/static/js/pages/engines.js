// Engines and workers (wfenginelist, SPEC §8.5, for `report`): the engine processes that retry
// and fail expired attempts and deliver webhooks (active ones, and those stopped or dead within a
// day) with their last beat, and the workers seen claiming steps within a day with the leases
// they hold now.

import {must} from "../api.js";
import {add, badge, button, h, link, section, table, time, title} from "../dom.js";
import {reload} from "../router.js";
import {can} from "../session.js";
import {refusal} from "../ui.js";

const STATUS = {active: "ok", stopped: "", dead: "bad"};

/** "12 s ago", "3 min ago" (from the browser's clock; the exact time is beside it). */
function ago(iso) {
  const s = Math.round((Date.now() - new Date(iso)) / 1000);
  if (!(s >= 0)) return "";
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

const when = (iso) => (iso ? [time(iso), h("div", {class: "tl-meta"}, ago(iso))] : time(iso));

export default async function render(view) {
  if (!can("report")) {
    add(view, title("Engines and workers"), refusal([{msg: "Engines and workers need the report capability."}]));
    return;
  }
  const {engines, workers} = await must("wfenginelist", {});
  const active = engines.filter((e) => e.status === "active").length;
  add(view,
    title("Engines and workers", button("Refresh", () => reload(), {kind: "small"})),
    h("p", {class: "muted"}, "Engines run beside the web servers (", h("code", null, "crux serve"), ", ", h("code", null, "crux demo"), ") or on their own (",
      h("code", null, "crux engine"), "): they retry or fail each attempt whose deadline passed or whose lease lapsed, and deliver webhooks. ",
      "Each beats every few seconds; one that stops beating for three beats is marked dead, and the others take over its work."),
    active ? null : h("p", {class: "note warn"}, "No engine is running: deadlines and lapsed leases are not acted on, and webhooks are not delivered, until one starts."),
    section(`Engines (${active} active)`, table([
      {label: "Name", cell: (e) => h("strong", null, e.name)},
      {label: "Status", cell: (e) => badge(e.status, STATUS[e.status])},
      {label: "Host", cell: (e) => e.host},
      {label: "PID", class: "num", cell: (e) => String(e.pid)},
      {label: "Version", cell: (e) => e.version},
      {label: "Started", cell: (e) => time(e.startedat)},
      {label: "Last beat", cell: (e) => when(e.lastbeat)},
    ], engines, {class: "engines", empty: "No engine has run within a day.", rowProps: (e) => ({data: {engine: e.name, status: e.status}})})),
    section("Workers", h("p", {class: "muted"}, "Workers seen claiming steps or renewing leases within a day (",
      h("code", null, "wfstepclaim"), ", ", h("code", null, "wfstepheartbeat"), "), with the leases they hold now. ",
      "The steps a worker holds show on the ", link("Instances", "/console/instances"), " page."),
      table([
        {label: "Worker", cell: (w) => h("code", null, w.name)},
        {label: "Last seen", cell: (w) => when(w.lastseen)},
        {label: "Live leases", class: "num", cell: (w) => String(w.leases)},
      ], workers, {class: "workers", empty: "No worker has claimed a step within a day.", rowProps: (w) => ({data: {worker: w.name}})})));
}
