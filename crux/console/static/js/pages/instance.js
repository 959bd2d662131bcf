// One workflow instance: its open steps (attempt, deadline, worker, incident, retry), its path
// over the workflow diagram, its history as a timeline (attempts, workers, errors, outcomes;
// sub-workflows nested under their parent step), and abort.

import {call} from "../api.js";
import {add, badge, button, h, link, mount, note, section, select, table, time, title} from "../dom.js";
import {pathOf, runsOf} from "../flow.js";
import {go, reload, withQuery} from "../router.js";
import {can} from "../session.js";
import {timeline} from "../timeline.js";
import {attemptCell, dueCell, isOverdue, isWaiting, retryStep, stateCell, workerCell} from "../instancerows.js";
import {crumbs, paths, refusal} from "../ui.js";
import {drawDiagram, loadWorkflow} from "../wfdiagram.js";
import {abortInstance, instancesOf} from "./instances.js";

export default async function render(view, {query}) {
  const slice = Number(query.get("slice")), app = query.get("app") || "", workflow = query.get("workflow") || "", entityid = query.get("entityid") || "";
  if (!slice || !app || !workflow || !entityid) {
    add(view, title("Instance"), note("Pick an instance on the Instances page.", "info"), link("Instances", "/console/instances"));
    return;
  }
  const [open, hist] = await Promise.all([
    call("wfinstancelist", {slice, app, workflow, entityid}),
    call("wfinstancehistory", {entityid})]);
  const rows = open.ok ? open.data.wfinstances : [];
  const mine = rows.filter((r) => r.workflow === workflow);
  const inst = instancesOf(mine)[0] || null;
  const history = hist.ok ? hist.data.history : [];
  const own = history.filter((r) => r.workflow === workflow && r.slice === slice && r.app === app);
  const runs = runsOf(own);
  const chosen = Math.min(Number(query.get("run") || runs.length), runs.length);
  const run = runs[chosen - 1] || null;
  const state = [inst ? badge("live", "warn") : run ? badge(run.ended || "ended", run.ended === "done" ? "ok" : "") : badge("no history"),
    rows.some((x) => x.incident) ? badge("incident", "bad") : null, rows.some(isOverdue) ? badge("overdue", "bad") : null];

  const diagramBox = h("div", null, h("p", {class: "muted"}, "Loading the workflow…"));
  const stepColumns = [
    {label: "Row", class: "num", cell: (x) => String(x.id)},
    {label: "Step", cell: (x) => [h("strong", null, x.step), x.workflow !== workflow ? h("div", {class: "tl-meta"}, `sub-workflow ${x.workflow}`) : null,
                                  x.parent ? h("div", {class: "tl-meta"}, `parent row ${x.parent}`) : null]},
    {label: "Handed out", cell: (x) => time(x.loggedat)},
    {label: "Attempt", class: "num", cell: attemptCell},
    {label: "Due", cell: dueCell},
    {label: "Worker", cell: workerCell},
    {label: "State", cell: stateCell},
    {label: "", class: "ops", cell: (x) => isWaiting(x) ? null : button("Retry…", async (ev) => {
      const res = await retryStep(x, ev.currentTarget);
      if (res && res.ok) reload();
    }, {kind: x.incident ? "small primary" : "small", label: `Retry step ${x.step} (row ${x.id})`})},
  ];
  const subRows = run ? history.filter((r) => r.workflow !== workflow && run.rows.some((p) => p.wfid === r.parent)) : [];
  add(view,
    crumbs(["Instances", "/console/instances"], [workflow, `/console/instances?workflow=${encodeURIComponent(workflow)}`]),
    title(`${entityid} in ${workflow}`, ...state,
      inst ? button("Abort…", async (ev) => { const res = await abortInstance(inst, ev.currentTarget); if (res && res.ok) reload(); }, {kind: "danger"}) : null),
    h("p", {class: "muted"}, `App ${app}, slice ${slice}. `, link("Try a step in the simulator", paths.simulate({kind: "W", slice, app, name: workflow})),
      can("report") ? [" · ", link("its events", `/console/events?${new URLSearchParams({workflow, entityid})}`)] : null),
    open.ok ? null : refusal(open.messages),
    section("Open steps", table(stepColumns, rows, {empty: "No open step: the instance is not live.", class: "open-steps",
      rowProps: (x) => ({data: {row: String(x.id), step: x.step}, class: x.incident ? "incident" : null})})),
    section("Path", runs.length > 1 ? h("div", {class: "fields"}, h("label", {class: "field"}, "Run",
      select(runs.map((r, i) => [String(i + 1), `run ${i + 1} of ${runs.length}${r.ended ? ` (${r.ended})` : " (live)"}`]), String(chosen),
             {onchange: (ev) => go(withQuery({run: ev.target.value}))}))) : null, diagramBox),
    section("History", hist.ok ? (run ? timeline([...run.rows, ...subRows], new Map(rows.filter((x) => x.incident).map((x) => [x.id, x.incident])))
      : note("No history for this workflow.", "info")) : refusal(hist.messages)));
  loadWorkflow(slice, app, workflow).then((loaded) => {
    const d = drawDiagram(diagramBox, loaded, {entityid});
    if (run) d.overlay(pathOf(d.graph, run));
  }, (err) => mount(diagramBox, refusal(err.messages || [{msg: String(err.message)}])));
}
