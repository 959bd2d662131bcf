// The simulator: an entity form built from the schema, run through breapplyrules (a ruleset) or
// wfinstancetry (a workflow step, a dry run) with a level 2 trace; the result, the trace rule by
// rule, and the call as curl. The last inputs of each ruleset are kept in this browser.

import {call, curl} from "../api.js";
import {add, badge, button, chip, field, h, link, mount, note, section, select, showProblems, table, title, toast} from "../dom.js";
import {EntityForm, JsonEntityForm} from "../entityform.js";
import {go, withQuery} from "../router.js";
import {KINDS} from "../rules.js";
import {can, realm} from "../session.js";
import {act, appPicker, apps as appList, paths, refusal, slicePicker, slices} from "../ui.js";
import {renderTrace} from "../trace.js";

const KEEP = 8;

function memoryKey(kind, app, cls, name) {
  return `crux.sim:${realm()}:${kind}:${app}:${cls}:${name}`;
}

function remembered(key) {
  try {
    const list = JSON.parse(localStorage.getItem(key) || "[]");
    return Array.isArray(list) ? list : [];
  } catch (err) {
    return [];
  }
}

function remember(key, inputs) {
  const text = JSON.stringify(inputs);
  const list = [inputs, ...remembered(key).filter((x) => JSON.stringify(x) !== text)].slice(0, KEEP);
  try {
    localStorage.setItem(key, JSON.stringify(list));
  } catch (err) {
    // storage full or refused: the simulator works without it
  }
}

function summary(kind, data) {
  if (kind === "W" && data.done) return h("div", {class: "result"}, h("div", null, h("h3", null, "Result"), badge("done: the workflow would end", "ok")));
  const tasks = data.tasks || [];
  const props = Object.entries(data.properties || {});
  return h("div", {class: "result"},
    h("div", {data: {result: "tasks"}}, h("h3", null, kind === "W" ? "Steps handed out" : "Tasks"),
      tasks.length ? h("ol", null, tasks.map((t) => h("li", null, chip(t, "task"),
        data.subflows && data.subflows[t] ? [" carried out by workflow ", h("code", null, data.subflows[t])] : null)))
        : h("p", {class: "muted"}, "none")),
    kind === "W" ? h("div", null, h("h3", null, "Next step"),
      data.nextstep ? [h("code", null, data.nextstep), h("div", {class: "tl-meta"}, "the set joins there")] : h("p", {class: "muted"}, tasks.length === 1 ? tasks[0] : "—"))
      : h("div", {data: {result: "properties"}}, h("h3", null, "Properties"),
        props.length ? table([{label: "Property", cell: ([k]) => h("code", null, k)}, {label: "Value", cell: ([, v]) => h("code", null, v)}], props)
          : h("p", {class: "muted"}, "none")));
}

function hintFor(messages, {kind, slice, app, cls, name}) {
  const m = messages.find((x) => x.errcode === "not_allowed" && (x.field === "slice" || x.field === "ruleset"));
  if (!m || kind !== "B") return null;
  if (m.field === "slice") {
    const activate = can("root") ? button(`Activate slice ${slice} now`, async (ev) => {
      if ((await act(ev.currentTarget, "realmsliceactivate", {id: slice}, {done: `Slice ${slice} activated`})).ok) document.getElementById("sim-run")?.click();
    }) : null;
    return h("div", {class: "note warn"},
      h("p", null, "breapplyrules evaluates only active slices. Callers name the slice they evaluate, so activating slice ", String(slice),
        " changes nothing for callers of other slices. Workflows can be tried on any slice (wfinstancetry)."), activate);
  }
  return h("div", {class: "note warn"}, h("p", null, "breapplyrules evaluates only active rulesets. ",
    link(`Open ${name}`, paths.ruleset(slice, app, cls, name)), " to activate it (with every ruleset it calls)."));
}

export default async function render(view, {query}) {
  const kind = query.get("kind") === "W" ? "W" : "B";
  const K = KINDS[kind];
  const [sl, apps] = await Promise.all([slices(), appList()]);
  const slice = Number(query.get("slice")) || (sl && sl.find((x) => x.active)?.id) || (sl && sl[0]?.id) || 1;
  const app = query.get("app") || (apps && apps[0]?.name) || "";
  const listed = app ? await call(`${K.prefix}list`, kind === "B" ? {slice, app, is_internal: false} : {slice, app}) : {ok: true, data: {[K.listKey]: []}};
  const entries = listed.ok ? listed.data[K.listKey].filter((r) => kind === "W" || !r.is_internal) : [];
  // a user who may evaluate but not list rulesets names the ruleset (and class) himself
  const manual = apps === null || (!listed.ok && listed.status === 403);
  let chosen = entries.find((r) => r.name === query.get("name") && (!query.get("class") || r.class === query.get("class")));
  if (!chosen && !query.get("name") && entries.length) chosen = entries[0];
  if (manual && query.get("name")) chosen = {name: query.get("name"), class: query.get("class") || "", is_active: true};

  const kindPick = select([["B", "a ruleset (breapplyrules)"], ["W", "a workflow step (wfinstancetry)"]], kind, {name: "kind"});
  const slicePick = slicePicker(sl, String(slice));
  const appPick = appPicker(apps, app);
  const namePick = select(entries.map((r) => [`${r.class}/${r.name}`, `${r.name} (class ${r.class})${r.is_active ? "" : " · inactive"}`]),
                          chosen ? `${chosen.class}/${chosen.name}` : "", {name: "name", "aria-label": K.word});
  kindPick.addEventListener("change", () => go(withQuery({kind: kindPick.value, name: "", class: "", step: ""}), {replace: true}));
  slicePick.addEventListener("change", () => go(withQuery({slice: slicePick.value}), {replace: true}));
  if (!manual) appPick.addEventListener("change", () => go(withQuery({app: appPick.value, name: "", class: "", step: ""}), {replace: true}));
  namePick.addEventListener("change", () => {
    const [c, n] = namePick.value.split("/");
    go(withQuery({class: c, name: n, step: ""}), {replace: true});
  });
  const typedName = h("input", {name: "name", value: query.get("name") || "", autocomplete: "off"});
  const typedClass = h("input", {name: "class", value: query.get("class") || "", autocomplete: "off", size: 12});
  const pickers = manual
    ? [field(kind === "W" ? "Workflow" : "Ruleset", typedName), field(kind === "W" ? "Class (optional)" : "Class", typedClass),
       button("Use", () => go(withQuery({app: appPick.value.trim(), name: typedName.value.trim(), class: typedClass.value.trim(), step: ""}),
                              {replace: true}))]
    : field(kind === "W" ? "Workflow" : "Ruleset", entries.length ? namePick : h("input", {disabled: true, value: `no ${K.plural}`}));
  add(view, title("Simulator"),
    h("form", {class: "inline filters", onsubmit: (ev) => ev.preventDefault()},
      field("Try", kindPick), field("Slice", slicePick), field("App", appPick), pickers),
    manual ? note(`You may run ${K.plural} but not list or read them: name the ${K.word} and give the entity as JSON.`, "info")
      : listed.ok ? null : refusal(listed.messages));
  if (!chosen) return;

  const cls = chosen.class, name = chosen.name;
  const read = await call(`${K.schemaPrefix}get`, {slice, app, class: cls});
  const schema = read.ok ? read.data : null;
  const key = memoryKey(kind, app, cls, name);
  const past = remembered(key);
  const last = past[0] || {};
  const form = schema ? new EntityForm(schema, {skip: kind === "W" ? ["step", "stepfailed"] : [], values: last.entity || {}})
    : new JsonEntityForm(cls, {values: last.entity || {}});
  const stepAttr = schema && schema.patternschema.find((a) => a.attr === "step");
  const stepPick = kind !== "W" ? null : stepAttr
    ? select(stepAttr.vals || ["START"], query.get("step") || last.step || "START", {id: "sim-step", data: {path: "step"}})
    : h("input", {id: "sim-step", value: query.get("step") || last.step || "START", data: {path: "step"}, size: 14});
  const failed = kind === "W" ? h("input", {type: "checkbox", id: "sim-failed", checked: Boolean(last.stepfailed), data: {path: "stepfailed"}}) : null;
  const results = h("div", {class: "results", "aria-live": "polite"});
  const formBox = h("div", {class: "panel"});
  const earlier = past.length > 1 ? select(past.map((p, i) => [String(i), i === 0 ? "the last inputs" : `inputs ${i + 1} runs ago: ${Object.values(p.entity || {}).slice(0, 3).join(", ")}`]), "0",
    {"aria-label": "Earlier inputs", onchange: (ev) => {
      const p = past[Number(ev.target.value)];
      form.values = p.entity || {};
      if (stepPick) stepPick.value = p.step || "START";
      if (failed) failed.checked = Boolean(p.stepfailed);
    }}) : null;

  const payload = () => kind === "W"
    ? {slice, app, workflow: name, step: stepPick.value, stepfailed: failed.checked, entity: form.entity, trace: 2}
    : {slice, app, ...(cls ? {class: cls} : {}), ruleset: name, entity: form.entity, trace: 2};
  const callName = kind === "W" ? "wfinstancetry" : "breapplyrules";
  const curlBox = h("pre", {class: "curl", tabindex: "0", "aria-label": "The call as curl"});
  const showCurl = () => { curlBox.textContent = curl(callName, payload()); };
  form.el.addEventListener("input", showCurl);
  form.el.addEventListener("change", showCurl);
  stepPick?.addEventListener("change", showCurl);
  failed?.addEventListener("change", showCurl);

  const run = async (ev) => {
    ev.preventDefault();
    const inputs = {entity: form.values};
    if (kind === "W") Object.assign(inputs, {step: stepPick.value, stepfailed: failed.checked});
    remember(key, inputs);
    const r = await call(callName, payload());
    if (!r.ok) {
      const other = h("div");
      const marks = showProblems(formBox, r.messages, other);
      const atFields = marks.filter((m) => m.el).length;
      mount(results, section("The service refused",
        atFields ? h("p", null, `${atFields} problem${atFields === 1 ? " is" : "s are"} shown at the ${atFields === 1 ? "field" : "fields"} of the entity.`) : null,
        hintFor(r.messages, {kind, slice, app, cls, name}), other));
      return;
    }
    showProblems(formBox, []);
    const names = new Set((r.data.tracedata?.visits || []).map((v) => v.ruleset));
    const docs = new Map();
    await Promise.all([...names].map(async (n) => {
      const got = await call(`${K.prefix}get`, {slice, app, class: cls, name: n});
      if (got.ok) docs.set(n, got.data[K.rulesKey]);
    }));
    const linkFor = (n) => (kind === "W" ? paths.workflow(slice, app, n) : paths.ruleset(slice, app, cls, n));
    mount(results,
      section("Result", summary(kind, r.data)),
      r.data.tracedata ? section("Trace, rule by rule", renderTrace(r.data.tracedata, {rulesOf: (n) => docs.get(n) || null, linkFor})) : null);
  };

  mount(formBox,
    h("h2", null, cls ? `Entity of class ${cls}` : "Entity"),
    earlier ? field("Earlier inputs", earlier) : null,
    kind === "W" ? h("div", {class: "fields"}, field("Step", stepPick), h("label", {class: "check"}, failed, "the step failed (stepfailed)")) : null,
    h("form", {id: "sim-form", onsubmit: run}, form.el,
      h("div", {class: "actions"}, button(kind === "W" ? "Try the step" : "Run the rules", null, {type: "submit", kind: "primary", data: {}}),
        h("span", {class: "muted"}, chosen.is_active || kind === "W" ? "" : `${name} is inactive: the service will refuse it`))));
  formBox.querySelector("button[type=submit]").id = "sim-run";
  showCurl();
  add(view,
    h("p", {class: "muted"}, kind === "W"
      ? ["A dry run of workflow ", link(name, paths.workflow(slice, app, name)), ": what the engine would hand out after this step. Nothing is written; any slice works."]
      : ["Runs ruleset ", link(name, paths.ruleset(slice, app, cls, name)), " of slice ", String(slice), " on the entity, as callers do."]),
    h("div", {class: "sim"}, h("div", null, formBox,
      section("As curl", curlBox, h("div", {class: "actions"},
        button("Copy as curl", async () => {
          try {
            await navigator.clipboard.writeText(curlBox.textContent);
            toast("Copied; set TOKEN to your token first");
          } catch (err) {
            const range = document.createRange();
            range.selectNodeContents(curlBox);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            toast("Selected: press Ctrl+C to copy", "ok");
          }
        }), h("span", {class: "muted"}, "the token is read from $TOKEN")))), results));
}
