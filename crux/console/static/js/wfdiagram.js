// The workflow diagram: loaded through the public API, laid out and drawn in the page, with an
// instance's path drawn over it. Used by the diagram page, the workflow editor and the instance page.

import {must} from "./api.js";
import {h, mount, table} from "./dom.js";
import {DONE, START, flowGraph, settingsText} from "./flow.js";
import {draw, layout, orderBadge} from "./graph.js";
import {paths} from "./ui.js";

/** A workflow with what its diagram needs: {wf, schema, subflows, slice, app, name, class}. */
export async function loadWorkflow(slice, app, name) {
  const {workflows} = await must("workflowlist", {slice, app, name});
  if (!workflows.length) {
    const err = new Error(`There is no workflow ${name} of app ${app} in slice ${slice}.`);
    err.notFound = true;
    throw err;
  }
  const cls = workflows[0].class;
  const [wf, schema, steps] = await Promise.all([
    must("workflowget", {slice, app, class: cls, name}),
    must("wfschemaget", {slice, app, class: cls}),
    must("stepworkflowlist", {slice, app})]);
  const subflows = {};
  for (const sw of steps.stepworkflows) subflows[sw.step] = sw.workflow;
  return {wf, schema, subflows, slice, app, name, class: cls};
}

function kindOf(e) {
  if (e.to === DONE) return "ends the workflow";
  if (e.from.startsWith("fork:")) return "concurrent task";
  if (e.to.startsWith("fork:")) return "hands out several tasks";
  if (e.to.startsWith("join:")) return "joins";
  if (e.from.startsWith("join:")) return "after the join";
  return "next step";
}

const nodeName = (id) => (id.startsWith("fork:") ? "(fork)" : id.startsWith("join:") ? `(join at ${id.slice(5)})` : id);

/** Draw the diagram of a loaded workflow into `box`; returns {graph, svg, overlay(path)}. */
export function drawDiagram(box, loaded, {entityid = null} = {}) {
  const settings = loaded.wf.steps || {};
  const graph = flowGraph(loaded.schema, loaded.wf.flowrules, loaded.subflows, settings);
  const placed = layout(graph.nodes, graph.edges);
  const query = entityid ? `?entityid=${encodeURIComponent(entityid)}` : "";
  const svg = draw(placed, {
    label: `Diagram of workflow ${loaded.name}`,
    nodeLink: (n) => (n.subflow ? paths.diagram(loaded.slice, loaded.app, n.subflow, query) : null),
    nodeTitle: (n) => n.subflow ? `${n.id}: carried out by workflow ${n.subflow} (open its diagram)${n.note ? `; ${n.note}` : ""}` : n.title || null,
  });
  const unreachable = graph.nodes.filter((n) => n.id !== START && !graph.edges.some((e) => e.to === n.id));
  for (const n of unreachable) svg.querySelector(`[data-node="${CSS.escape(n.id)}"]`)?.classList.add("orphan");
  const rows = graph.edges.map((e) => ({...e}));
  const details = h("details", {class: "transitions"}, h("summary", null, "The diagram as a table"),
    table([
      {label: "Rules", cell: (e) => e.rules.join(", ")},
      {label: "From", cell: (e) => nodeName(e.from)},
      {label: "When", cell: (e) => [e.failed === true ? "the step failed" : e.failed === false ? "the step is done" : "", e.failed !== null && e.label ? " and " : "", e.label || ""]},
      {label: "To", cell: (e) => nodeName(e.to)},
      {label: "", cell: (e) => kindOf(e)},
    ], rows, {class: "transitions-table"}),
    Object.keys(settings).length ? table([
      {label: "Step", cell: (st) => st},
      {label: "Settings", cell: (st) => settingsText(settings[st]) || "none"},
    ], Object.keys(settings), {class: "settings-table", caption: "Step settings"}) : null);
  const legend = h("div", {class: "legend"},
    h("span", null, "next step"), h("span", {class: "failed"}, "after a failed step (remedial)"),
    h("span", {class: "join"}, "concurrent set joining"), h("span", {class: "sub"}, "carried out by a sub-workflow (a link)"),
    h("span", {class: "path"}, "the instance's path"),
    Object.keys(settings).length ? h("span", {class: "settings"}, "a step's timeout, attempts and retry delay under its name") : null);
  mount(box, h("div", {class: "graph-box"}, svg), legend, details);
  return {graph, svg, overlay: (path) => overlay(svg, path)};
}

/** Draw an instance's path (flow.pathOf) over a drawn diagram. */
export function overlay(svg, path) {
  for (const el of svg.querySelectorAll(".onpath, .visited, .open")) el.classList.remove("onpath", "visited", "open");
  for (const el of svg.querySelectorAll(".order")) el.remove();
  for (const id of path.edges) {
    const grp = svg.querySelector(`[data-edge="${CSS.escape(id)}"]`);
    if (!grp) continue;
    grp.classList.add("onpath");
    grp.querySelector("path").setAttribute("marker-end", "url(#arrow-path)");
  }
  for (const [step, numbers] of path.visits) {
    const node = svg.querySelector(`[data-node="${CSS.escape(step)}"]`);
    if (!node) continue;
    node.classList.add("visited");
    if (path.open.has(step)) node.classList.add("open");
    orderBadge(svg, step, numbers.join("·"));
  }
  if (path.visits.size) svg.querySelector(`[data-node="${START}"]`)?.classList.add("visited");
  if (path.done) svg.querySelector(`[data-node="${DONE}"]`)?.classList.add("visited");
  return svg;
}
