// The rulesets (or workflows) of the realm, filtered by slice, app, class and state; for
// workflows also the stepworkflows (steps carried out by a sub-workflow).

import {call, must} from "../api.js";
import {add, badge, button, field, h, link, section, select, table, time, title} from "../dom.js";
import {reload} from "../router.js";
import {KINDS} from "../rules.js";
import {canOn} from "../session.js";
import {act, appPicker, apps as appList, filterBar, paths, refusal, slicePicker, slices} from "../ui.js";

function filters(query) {
  const f = {};
  if (query.get("slice")) f.slice = Number(query.get("slice"));
  if (query.get("app")) f.app = query.get("app");
  if (query.get("class")) f.class = query.get("class");
  if (query.get("active")) f.is_active = query.get("active") === "yes";
  return f;
}

async function stepWorkflows(query, apps, sl) {
  const f = {};
  if (query.get("slice")) f.slice = Number(query.get("slice"));
  if (query.get("app")) f.app = query.get("app");
  const r = await call("stepworkflowlist", f);
  if (!r.ok) return refusal(r.messages);
  const rows = r.data.stepworkflows;
  const mayByApp = new Map(await Promise.all([...new Set(rows.map((x) => x.app))].map(async (a) => [a, await canOn("ruleset", a)])));
  const columns = [
    {label: "Slice", class: "num", cell: (x) => String(x.slice)},
    {label: "App", cell: (x) => x.app},
    {label: "Step", cell: (x) => h("code", null, x.step)},
    {label: "Carried out by", cell: (x) => link(x.workflow, paths.diagram(x.slice, x.app, x.workflow))},
    {label: "", class: "ops", cell: (x) => mayByApp.get(x.app) ? button("Remove", async (ev) => {
      if ((await act(ev.currentTarget, "stepworkflowdelete", {slice: x.slice, app: x.app, step: x.step}, {done: `Step ${x.step} is no longer a sub-workflow`})).ok) reload();
    }, {kind: "small danger", label: `Remove the sub-workflow of step ${x.step}`}) : null},
  ];
  const place = h("div");
  const fSlice = slicePicker(sl, query.get("slice") || "");
  const fApp = appPicker(apps, query.get("app") || "");
  fSlice.dataset.path = "slice";
  fApp.dataset.path = "app";
  const fStep = h("input", {name: "step", autocomplete: "off", data: {path: "step"}});
  const fWf = h("input", {name: "workflow", autocomplete: "off", data: {path: "workflow"}});
  const form = h("form", {class: "inline", onsubmit: async (ev) => {
    ev.preventDefault();
    const payload = {slice: Number(fSlice.value), app: fApp.value, step: fStep.value.trim(), workflow: fWf.value.trim()};
    if ((await act(ev.submitter, "stepworkflownew", payload, {done: `Step ${payload.step} is carried out by ${payload.workflow}`, place, form: ev.target})).ok) reload();
  }}, field("Slice", fSlice), field("App", fApp), field("Step (a task)", fStep), field("Workflow", fWf), button("Add", null, {type: "submit"}));
  const mayAdd = (await Promise.all((apps || []).map((a) => canOn("ruleset", a.name)))).some(Boolean);
  return h("div", null, table(columns, rows, {empty: "No step is carried out by a sub-workflow."}),
           mayAdd ? [h("h3", null, "Have a step carried out by a sub-workflow"), form, place] : null);
}

export default async function render(view, {query, kind}) {
  const K = KINDS[kind];
  const [sl, apps] = await Promise.all([slices(), appList()]);
  const activeSel = select([["", "any"], ["yes", "active"], ["no", "inactive"]], query.get("active") || "", {name: "active"});
  const data = await must(`${K.prefix}list`, filters(query));
  const rows = data[K.listKey];
  const open = (r) => kind === "W" ? paths.workflow(r.slice, r.app, r.name) : paths.ruleset(r.slice, r.app, r.class, r.name);
  const columns = [
    {label: "Name", cell: (r) => h("a", {href: open(r)}, h("strong", null, r.name))},
    {label: "Class", cell: (r) => r.class},
    {label: "App", cell: (r) => r.app},
    {label: "Slice", class: "num", cell: (r) => String(r.slice)},
    {label: "State", cell: (r) => [r.is_active ? badge("active", "ok") : badge("inactive"), " ", r.is_internal ? badge("internal", "info") : null]},
    {label: "Edited", cell: (r) => [time(r.editedat || r.createdat), h("div", {class: "tl-meta"}, r.editedby || r.createdby)]},
    {label: "", class: "ops", cell: (r) => h("span", {class: "actions"},
      r.is_internal ? null : link("try", paths.simulate({kind, slice: r.slice, app: r.app, class: r.class, name: r.name})),
      kind === "W" ? link("diagram", paths.diagram(r.slice, r.app, r.name)) : null,
      kind === "W" ? link("instances", `/console/instances?slice=${r.slice}&app=${encodeURIComponent(r.app)}&workflow=${encodeURIComponent(r.name)}`) : null)},
  ];
  const newHref = `${K.listPath}/new?${new URLSearchParams([...query].filter(([k]) => ["slice", "app", "class"].includes(k)))}`;
  add(view,
    title(K.title, link(`New ${K.word}`, newHref, {class: "btn primary"})),
    filterBar([["Slice", slicePicker(sl, query.get("slice") || "", {any: true})], ["App", appPicker(apps, query.get("app") || "", {any: true})],
               ["Class", h("input", {name: "class", value: query.get("class") || "", size: 12})], ["State", activeSel]]),
    section(`${K.title} (${rows.length})`, table(columns, rows, {empty: `No ${K.plural} match.`})),
    kind === "W" ? section("Sub-workflows (stepworkflows)", await stepWorkflows(query, apps, sl)) : null);
}
