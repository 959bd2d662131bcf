// Live workflow instances: the open steps matching the filters (app, workflow, entity, incident,
// overdue), grouped by instance, each step with its attempt, deadline, worker and incident; a way
// to each instance's path and history, retry of an incident, and abort.

import {call} from "../api.js";
import {add, badge, button, confirm, h, link, mount, section, select, table, time, title} from "../dom.js";
import {reload} from "../router.js";
import {retryStep, stepLine} from "../instancerows.js";
import {act, appPicker, apps as appList, filterBar, paths, refusal, slicePicker, slices} from "../ui.js";

const PAGE = 500;

/** Open rows grouped into instances (slice, app, workflow, entity), in the order first seen. */
export function instancesOf(rows) {
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.slice}\u0000${r.app}\u0000${r.workflow}\u0000${r.entityid}`;
    if (!groups.has(key)) groups.set(key, {slice: r.slice, app: r.app, workflow: r.workflow, entityid: r.entityid, class: r.class, rows: []});
    groups.get(key).rows.push(r);
  }
  return [...groups.values()];
}

export async function abortInstance(inst, btn) {
  const ok = await confirm(`Abort this instance of ${inst.workflow}?`,
    [h("p", null, "Entity ", h("strong", null, inst.entityid), `, workflow ${inst.workflow} (app ${inst.app}, slice ${inst.slice}).`),
     h("p", null, `Its ${inst.rows.length} open step${inst.rows.length === 1 ? "" : "s"} and every sub-workflow started from them are deleted; the history keeps them as aborted.`)],
    "Abort instance");
  if (!ok) return null;
  return act(btn, "wfinstanceabort", {id: inst.rows[0].id}, {done: (d) => `Aborted: ${d.aborted ? d.aborted.length : ""} open step(s) removed`});
}

export default async function render(view, {query}) {
  const [sl, apps] = await Promise.all([slices(), appList()]);
  const f = {limit: PAGE};
  for (const k of ["app", "workflow", "entityid"]) if (query.get(k)) f[k] = query.get(k).trim();
  if (query.get("slice")) f.slice = Number(query.get("slice"));
  for (const k of ["incident", "overdue"]) if (["true", "false"].includes(query.get(k))) f[k] = query.get(k) === "true";
  const rows = [];
  let next = null;
  const r = await call("wfinstancelist", f);
  const place = h("div");
  const draw = () => {
    const insts = instancesOf(rows);
    const columns = [
      {label: "Entity", cell: (i) => h("a", {href: paths.instance({slice: i.slice, app: i.app, workflow: i.workflow, entityid: i.entityid})}, h("strong", null, i.entityid))},
      {label: "Workflow", cell: (i) => [link(i.workflow, paths.diagram(i.slice, i.app, i.workflow, `?entityid=${encodeURIComponent(i.entityid)}`)),
        i.rows.every((x) => x.parent) ? h("div", {class: "tl-meta"}, `sub-workflow of row ${i.rows[0].parent}`) : null]},
      {label: "App", cell: (i) => i.app},
      {label: "Slice", class: "num", cell: (i) => String(i.slice)},
      {label: "Open steps", cell: (i) => i.rows.map((x) => h("div", {class: "step-with-ops"}, stepLine(x),
        x.incident ? button("Retry…", async (ev) => { const res = await retryStep(x, ev.currentTarget); if (res && res.ok) reload(); },
                            {kind: "small", label: `Retry step ${x.step} of ${x.entityid}`}) : null))},
      {label: "Since", cell: (i) => time(i.rows.reduce((m, x) => (x.loggedat < m ? x.loggedat : m), i.rows[0].loggedat))},
      {label: "", class: "ops", cell: (i) => h("span", {class: "actions"},
        link("path and history", paths.instance({slice: i.slice, app: i.app, workflow: i.workflow, entityid: i.entityid})),
        button("Abort…", async (ev) => { const res = await abortInstance(i, ev.currentTarget); if (res && res.ok) reload(); },
               {kind: "small danger", label: `Abort the instance of ${i.workflow} for ${i.entityid}`}))},
    ];
    mount(place, h("p", {class: "muted"}, `${insts.length} instance${insts.length === 1 ? "" : "s"}, ${rows.length} open step${rows.length === 1 ? "" : "s"}${next ? " so far" : ""}.`),
      table(columns, insts, {class: "instances", empty: "No live instance matches.", rowProps: (i) => ({data: {entity: i.entityid, workflow: i.workflow}})}),
      next ? button("Load more", async (ev) => {
        const more = await act(ev.currentTarget, "wfinstancelist", {...f, after: next});
        if (more.ok) { rows.push(...more.data.wfinstances); next = more.data.next || null; draw(); }
      }) : null);
  };
  if (r.ok) {
    rows.push(...r.data.wfinstances);
    next = r.data.next || null;
    draw();
  } else {
    mount(place, refusal(r.messages));
  }
  add(view, title("Instances"),
    filterBar([["Slice", slicePicker(sl, query.get("slice") || "", {any: true})], ["App", appPicker(apps, query.get("app") || "", {any: true})],
               ["Workflow", h("input", {name: "workflow", value: query.get("workflow") || "", size: 14})],
               ["Entity id", h("input", {name: "entityid", value: query.get("entityid") || "", size: 16})],
               ["Incident", select([["", "any"], ["true", "in an incident"], ["false", "not in an incident"]], query.get("incident") || "", {name: "incident"})],
               ["Overdue", select([["", "any"], ["true", "overdue"], ["false", "not overdue"]], query.get("overdue") || "", {name: "overdue"})]]),
    h("p", {class: "muted"}, "Every open step of the matching live instances (and of their sub-workflows), with its attempt, deadline, ",
      "the worker holding it and any incident (a step whose rules had no way on after it failed: it waits for someone to retry it). ",
      "Finished instances keep their history: look them up by entity id on ", badge("Path and history", "info"), " or on a workflow's diagram."),
    section("Live instances", place));
}
