// The schemas of the realm (rules and workflow schemas), filtered by slice, app and class.

import {call} from "../api.js";
import {add, badge, h, link, section, table, time, title} from "../dom.js";
import {appPicker, apps as appList, filterBar, paths, refusal, slicePicker, slices} from "../ui.js";

export default async function render(view, {query}) {
  const f = {};
  if (query.get("slice")) f.slice = Number(query.get("slice"));
  if (query.get("app")) f.app = query.get("app");
  if (query.get("class")) f.class = query.get("class");
  const [sl, apps, bre, wf] = await Promise.all([slices(), appList(), call("breschemalist", f), call("wfschemalist", f)]);
  const rows = [...(bre.ok ? bre.data.map((x) => ({...x, kind: "B"})) : []), ...(wf.ok ? wf.data.map((x) => ({...x, kind: "W"})) : [])]
    .sort((a, b) => a.slice - b.slice || a.app.localeCompare(b.app) || a.class.localeCompare(b.class));
  const columns = [
    {label: "Class", cell: (x) => h("a", {href: paths.schema(x.kind, x.slice, x.app, x.class)}, h("strong", null, x.class))},
    {label: "Kind", cell: (x) => x.kind === "W" ? badge("workflow", "info") : badge("rules")},
    {label: "App", cell: (x) => [x.app, x.longname ? h("div", {class: "tl-meta"}, x.longname) : null]},
    {label: "Slice", cell: (x) => [String(x.slice), x.slicedesc ? h("div", {class: "tl-meta"}, x.slicedesc) : null]},
    {label: "Edited", cell: (x) => [time(x.editedat || x.createdat), h("div", {class: "tl-meta"}, x.editedby || x.createdby)]},
    {label: "", class: "ops", cell: (x) => h("span", {class: "actions"},
      link(x.kind === "W" ? "workflows" : "rulesets", `${x.kind === "W" ? "/console/workflows" : "/console/rulesets"}?slice=${x.slice}&app=${encodeURIComponent(x.app)}&class=${encodeURIComponent(x.class)}`))},
  ];
  const newQuery = new URLSearchParams([...query].filter(([k]) => ["slice", "app"].includes(k))).toString();
  add(view,
    title("Schemas", link("New rules schema", `/console/schemas/new?kind=B${newQuery ? `&${newQuery}` : ""}`, {class: "btn primary"}),
          link("New workflow schema", `/console/schemas/new?kind=W${newQuery ? `&${newQuery}` : ""}`, {class: "btn"})),
    filterBar([["Slice", slicePicker(sl, query.get("slice") || "", {any: true})], ["App", appPicker(apps, query.get("app") || "", {any: true})],
               ["Class", h("input", {name: "class", value: query.get("class") || "", size: 12})]]),
    bre.ok ? null : refusal(bre.messages),
    section(`Schemas (${rows.length})`, table(columns, rows, {empty: "No schemas match."})));
}
