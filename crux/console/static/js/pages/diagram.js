// The workflow diagram page: the workflow drawn from its rules, and, for an entity, the path of
// its instance over it with the history beside.

import {must} from "../api.js";
import {add, button, field, h, link, mount, note, section, select, title} from "../dom.js";
import {pathOf, runsOf} from "../flow.js";
import {go, withQuery} from "../router.js";
import {timeline} from "../timeline.js";
import {crumbs, paths} from "../ui.js";
import {drawDiagram, loadWorkflow} from "../wfdiagram.js";

export default async function render(view, {params, query}) {
  const slice = Number(params.slice), app = params.app, name = params.name;
  const entityid = query.get("entityid") || "";
  const loaded = await loadWorkflow(slice, app, name);
  const box = h("div");
  const entity = h("input", {name: "entityid", value: entityid, autocomplete: "off", placeholder: "e.g. cust-42"});
  const pathPlace = h("div");
  add(view,
    crumbs(["Workflows", "/console/workflows"], [`slice ${slice}`, `/console/workflows?slice=${slice}`],
           [app, `/console/workflows?slice=${slice}&app=${encodeURIComponent(app)}`]),
    title(`Diagram of ${name}`,
      link("Rules", paths.workflow(slice, app, name), {class: "btn"}),
      link("Try it", paths.simulate({kind: "W", slice, app, name}), {class: "btn"}),
      link("Instances", `/console/instances?slice=${slice}&app=${encodeURIComponent(app)}&workflow=${encodeURIComponent(name)}`, {class: "btn"})),
    section("Workflow", box),
    section("An instance's path",
      h("form", {class: "inline", onsubmit: (ev) => { ev.preventDefault(); go(withQuery({entityid: entity.value.trim(), run: ""})); }},
        field("Entity id", entity), button("Show its path", null, {type: "submit"})),
      pathPlace));
  const diagram = drawDiagram(box, loaded, {entityid});
  if (!entityid) return;
  const {history} = await must("wfinstancehistory", {entityid, workflow: name});
  const own = history.filter((r) => r.workflow === name && r.slice === slice && r.app === app);
  const runs = runsOf(own);
  if (!runs.length) {
    mount(pathPlace, note(`Entity ${entityid} has no history in this workflow.`, "warn"));
    return;
  }
  const chosen = Math.min(Number(query.get("run") || runs.length), runs.length);
  const run = runs[chosen - 1];
  diagram.overlay(pathOf(diagram.graph, run));
  const runPick = runs.length > 1 ? field("Run", select(runs.map((r, i) => [String(i + 1), `run ${i + 1} of ${runs.length}${r.ended ? ` (${r.ended})` : " (live)"}`]), String(chosen),
    {onchange: (ev) => go(withQuery({run: ev.target.value}))})) : null;
  const subRows = history.filter((r) => r.workflow !== name && run.rows.some((p) => p.wfid === r.parent));
  mount(pathPlace, runPick,
    h("p", null, run.ended ? `This run ended: ${run.ended}.` : `This instance is live: ${run.open.length} open step${run.open.length === 1 ? "" : "s"}.`, " ",
      link("Instance details", paths.instance({slice, app, workflow: name, entityid}))),
    timeline([...run.rows, ...subRows]));
}
