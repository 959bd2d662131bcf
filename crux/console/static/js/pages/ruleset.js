// A ruleset or a workflow: the rule table editor, activation, the call graph (rulesets) or the
// diagram (workflows), and the rules as JSON. Also the page that creates one.

import {call, must} from "../api.js";
import {add, badge, button, confirm, field, h, link, mount, note, section, title, toast} from "../dom.js";
import {draw, layout} from "../graph.js";
import {go, guardLeaving, reload, withQuery} from "../router.js";
import {KINDS, editable, newRule, schemaIndex} from "../rules.js";
import {RuleTable} from "../ruletable.js";
import {canOn} from "../session.js";
import {act, appPicker, apps as appList, crumbs, paths, refusal, slicePicker, slices} from "../ui.js";
import {StepSettings} from "../stepsettings.js";
import {schemaSteps} from "../flow.js";
import {drawDiagram, loadWorkflow} from "../wfdiagram.js";

function pagePath(kind, slice, app, cls, name) {
  return kind === "W" ? paths.workflow(slice, app, name) : paths.ruleset(slice, app, cls, name);
}

/** Everything the page needs about an existing ruleset or workflow. */
async function loadExisting(kind, params) {
  const K = KINDS[kind];
  const slice = Number(params.slice), app = params.app, name = params.name;
  let cls = params.class;
  if (kind === "W") {
    const {workflows} = await must("workflowlist", {slice, app, name});
    if (!workflows.length) throw new Error(`There is no workflow ${name} of app ${app} in slice ${slice}.`);
    cls = workflows[0].class;
  }
  const [doc, schema, siblings] = await Promise.all([
    must(`${K.prefix}get`, {slice, app, class: cls, name}),
    must(`${K.schemaPrefix}get`, {slice, app, class: cls}),
    must(`${K.prefix}list`, {slice, app, class: cls})]);
  return {slice, app, cls, name, doc, schema, siblings: siblings[K.listKey]};
}

// ---- the call graph of a class's rulesets ------------------------------------------------------

async function callGraph(box, {kind, slice, app, cls, name, siblings, current}) {
  const K = KINDS[kind];
  const docs = await Promise.all(siblings.map((r) => r.name === name ? current
    : must(`${K.prefix}get`, {slice, app, class: cls, name: r.name})));
  const nodes = siblings.map((r) => ({id: r.name, label: `${r.name}${r.is_internal ? " (internal)" : ""}`, kind: "step",
                                      cls: `${r.name === name ? "current" : ""} ${r.is_active ? "" : "orphan"}`}));
  const edges = [];
  const known = new Set(siblings.map((r) => r.name));
  docs.forEach((doc) => {
    (doc[K.rulesKey] || []).forEach((rule, i) => {
      const a = rule.ruleactions || {};
      for (const [which, word] of [["thencall", "then"], ["elsecall", "else"]]) {
        if (!a[which]) continue;
        if (!known.has(a[which])) {
          known.add(a[which]);
          nodes.push({id: a[which], label: `${a[which]} (missing)`, kind: "step", cls: "orphan"});
        }
        edges.push({id: `${doc.name}:${i}:${which}`, from: doc.name, to: a[which], label: `${word} · rule ${i}`, cls: word === "then" ? "call" : "else"});
      }
    });
  });
  const g = layout(nodes, edges);
  mount(box,
    h("div", {class: "graph-box"}, draw(g, {label: `Calls between the rulesets of class ${cls}`,
      nodeLink: (n) => (n.id !== name && siblings.some((r) => r.name === n.id) ? pagePath(kind, slice, app, cls, n.id) : null),
      nodeTitle: (n) => n.id === name ? `${n.id} (this ${K.word})` : `${n.id}: open it`})),
    h("p", {class: "legend"}, "Every ruleset of class ", h("code", null, cls), " in slice ", String(slice),
      "; an arrow is a call (then: when the rule matches, else: when it does not). Dashed boxes are inactive rulesets. Activating a ruleset activates every ruleset it reaches."));
}

// ---- the page ------------------------------------------------------------------------------------

export default async function render(view, {params, query, kind}) {
  const K = KINDS[kind];
  const isNew = !params.name;
  const ctx = isNew ? await newContext(kind, query) : await loadExisting(kind, params);
  if (!ctx) {
    add(view, title(`New ${K.word}`), await newChooser(kind, query));
    return;
  }
  const {slice, app, cls, schema} = ctx;
  const mayEdit = await canOn("ruleset", app);
  const active = !isNew && ctx.doc.is_active;
  const editableNow = mayEdit && !active;
  const index = schemaIndex(schema);
  const callables = (ctx.siblings || []).map((r) => r.name);
  let dirty = false;
  guardLeaving(() => dirty);
  const status = h("span", {class: "status", "aria-live": "polite"});
  const setDirty = () => {
    if (!dirty) {
      dirty = true;
      mount(status, badge("unsaved changes", "warn"));
      for (const b of view.querySelectorAll("[data-needs-saved]")) { b.disabled = true; b.title = "Save the changes first"; }
    }
  };
  const rules = isNew ? [] : ctx.doc[K.rulesKey];
  const tableEd = new RuleTable({rules, index, kind, key: K.rulesKey, callables, editable: editableNow,
    linkFor: (n) => callables.includes(n) ? pagePath(kind, slice, app, cls, n) : null, onChange: setDirty});
  // a workflow's step settings (SPEC §8.1), saved with its rules
  const stepEd = kind === "W" ? new StepSettings({steps: schemaSteps(schema), given: isNew ? {} : ctx.doc.steps,
                                                  editable: editableNow, onChange: setDirty}) : null;
  if (isNew) {
    tableEd.rules.push(newRule(index, kind));
    tableEd.opened.add(tableEd.rules[0]);
    tableEd.render();
  }

  // new: the name and whether it is internal
  const nameInput = h("input", {id: "rs-name", autocomplete: "off", data: {path: "name"}, value: query.get("name") || ""});
  const internal = h("input", {type: "checkbox", id: "rs-internal", data: {path: "is_internal"}});

  const save = async (ev) => {
    const payload = {slice, app, class: cls, name: isNew ? nameInput.value.trim() : ctx.name, [K.rulesKey]: tableEd.value};
    if (isNew) payload.is_internal = internal.checked;
    if (stepEd) payload.steps = stepEd.value;     // workflowupdate replaces them: always sent
    const btn = ev.currentTarget;
    btn.disabled = true;
    const r = await call(`${K.prefix}${isNew ? "new" : "update"}`, payload);
    btn.disabled = false;
    if (!r.ok) {
      const marks = tableEd.showProblems(r.messages, view);
      // show the tab of the first problem placed (the rules, or the step settings)
      const first = marks.find((m) => m.el && m.el.closest("[role=tabpanel]"));
      if (first) reveal(first.el);
      view.querySelector(".problem-summary")?.scrollIntoView({block: "nearest"});
      return;
    }
    dirty = false;
    toast(isNew ? `${K.word} ${payload.name} created (inactive)` : `${K.word} ${payload.name} saved`);
    if (isNew) go(pagePath(kind, slice, app, cls, payload.name));
    else reload();
  };
  const switchActive = async (ev, on) => {
    const r = await act(ev.currentTarget, `${K.prefix}${on ? "activate" : "deactivate"}`, {slice, app, class: cls, name: ctx.name},
      {done: (d) => on ? `Activated ${d.nactivated} of the ${d.ntraversed} ${K.plural} it reaches` : `${ctx.name} deactivated`,
       place: problemsPlace});
    if (r.ok) reload();
  };
  const remove = async (ev) => {
    if (!await confirm(`Delete ${K.word} ${ctx.name}?`, h("p", null, `The ${K.word} and its rules are deleted from slice ${slice}. The service refuses while it is active or another ruleset calls it.`), "Delete")) return;
    const r = await act(null, `${K.prefix}delete`, {slice, app, class: cls, name: ctx.name}, {done: `${ctx.name} deleted`, place: problemsPlace});
    if (r.ok) go(withQuery({slice, app}, K.listPath));
  };
  const problemsPlace = h("div");

  const tools = h("div", {class: "toolbar"});
  if (editableNow) tools.appendChild(button(isNew ? `Create ${K.word}` : "Save", save, {kind: "primary", label: isNew ? `Create ${K.word}` : "Save the rules"}));
  if (!isNew && mayEdit) {
    tools.appendChild(active
      ? button("Deactivate", (ev) => switchActive(ev, false))
      : button("Activate", (ev) => switchActive(ev, true), {data: {needsSaved: "1"}}));
    if (!active) tools.appendChild(button("Delete…", remove, {kind: "danger"}));
  }
  if (!isNew) {
    if (kind === "W" || !ctx.doc.is_internal) {
      tools.appendChild(link("Try it in the simulator", paths.simulate({kind, slice, app, class: cls, name: ctx.name}), {class: "btn"}));
    }
    if (kind === "W") tools.appendChild(link("Diagram", paths.diagram(slice, app, ctx.name), {class: "btn"}));
  }
  tools.appendChild(h("span", {class: "spacer"}));
  tools.appendChild(status);

  // tabs: the rules, the call graph or diagram, the JSON
  const panes = {};
  const tabs = h("div", {class: "tabs", role: "tablist"});
  const pick = (id) => {
    for (const [key, pane] of Object.entries(panes)) {
      pane.el.hidden = key !== id;
      pane.tab.setAttribute("aria-selected", String(key === id));
      pane.tab.tabIndex = key === id ? 0 : -1;
      if (key === id && pane.open) pane.open();
    }
  };
  const addTab = (id, text, el, open) => {
    const tab = h("button", {type: "button", role: "tab", id: `tab-${id}`, "aria-controls": `pane-${id}`, onclick: () => pick(id)}, text);
    el.id = `pane-${id}`;
    el.setAttribute("role", "tabpanel");
    el.setAttribute("aria-labelledby", tab.id);
    tabs.appendChild(tab);
    panes[id] = {tab, el, open};
  };
  tabs.addEventListener("keydown", (ev) => {
    if (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft") return;
    const ids = Object.keys(panes);
    const at = ids.findIndex((id) => panes[id].tab === document.activeElement);
    const next = ids[(at + (ev.key === "ArrowRight" ? 1 : ids.length - 1)) % ids.length];
    pick(next);
    panes[next].tab.focus();
  });
  const reveal = (el) => {
    const pane = el.closest("[role=tabpanel]");
    if (pane && pane.hidden) pick(pane.id.replace(/^pane-/, ""));
  };
  tableEd.reveal = reveal;
  addTab("rules", `Rules (${tableEd.rules.length})`, h("div", null, tableEd.el));
  if (stepEd) addTab("steps", `Step settings (${stepEd.count})`, h("div", null, stepEd.el));
  if (!isNew) {
    const graphBox = h("div", null, h("p", {class: "muted"}, "Loading…"));
    let drawn = false;
    if (kind === "W") {
      addTab("graph", "Diagram", graphBox, () => {
        if (drawn) return;
        drawn = true;
        loadWorkflow(slice, app, ctx.name).then((loaded) => drawDiagram(graphBox, loaded), (err) => mount(graphBox, refusal(err.messages || [{msg: String(err.message)}])));
      });
    } else {
      addTab("graph", "Call graph", graphBox, () => {
        if (drawn) return;
        drawn = true;
        callGraph(graphBox, {kind, slice, app, cls, name: ctx.name, siblings: ctx.siblings, current: ctx.doc})
          .catch((err) => mount(graphBox, refusal(err.messages || [{msg: String(err.message)}])));
      });
    }
  }
  const json = h("textarea", {rows: 24, spellcheck: false, "aria-label": "The rules as JSON", readOnly: !editableNow});
  const jsonPlace = h("div");
  addTab("json", "JSON", h("div", null, jsonPlace, json, editableNow ? h("div", {class: "actions"},
    button("Use this JSON in the table", () => {
      try {
        const parsed = JSON.parse(json.value);
        if (!Array.isArray(parsed)) throw new Error("the rules must be a JSON list");
        tableEd.rules = parsed.map(editable);
        tableEd.opened.clear();
        tableEd.render();
        setDirty();
        mount(jsonPlace, note(`The table now holds these ${parsed.length} rules; save to store them.`, "ok"));
      } catch (err) {
        mount(jsonPlace, note(`Not usable: ${err.message}`, "error"));
      }
    })) : null), () => { json.value = JSON.stringify(tableEd.value, null, 1); });

  // the page
  const heading = isNew ? `New ${K.word}` : `${kind === "W" ? "Workflow" : "Ruleset"} ${ctx.name}`;
  const flags = isNew ? [] : [ctx.doc.is_active ? badge("active", "ok") : badge("inactive"), ctx.doc.is_internal ? badge("internal", "info") : null];
  add(view,
    crumbs([K.title, K.listPath], [`slice ${slice}`, `${K.listPath}?slice=${slice}`],
           [app, `${K.listPath}?slice=${slice}&app=${encodeURIComponent(app)}`], `class ${cls}`),
    title(heading, ...flags),
    isNew ? h("div", {class: "fields"},
      field("Slice", slicePicker(await slices(), String(slice), {name: "slice"})),
      field("App", h("input", {value: app, disabled: true})), field("Class", h("input", {value: cls, disabled: true})),
      field("Name", nameInput, "a letter, then letters, digits or _"),
      h("label", {class: "check"}, internal, "internal (only called by other rulesets)")) : null,
    !mayEdit ? note(`Read-only: changing ${K.plural} of app ${app} needs the ruleset capability on it.`, "info")
      : active ? note(`This ${K.word} is active, and the service refuses changes to an active ${K.word}. Deactivate it to edit (not while an active ruleset calls it), or change it in a copy of the slice.`, "warn") : null,
    problemsPlace, tools, tableEd.summary, tabs, ...Object.values(panes).map((p) => p.el),
    h("p", {class: "muted"}, `Schema: `, link(`${K.word === "workflow" ? "workflow" : "rules"} schema of ${cls}`, paths.schema(kind, slice, app, cls)),
      ` · ${index.attrs.size} attributes, ${index.tasks.length} tasks, ${index.properties.length} properties.`,
      isNew ? null : [" Created ", ctx.doc.createdby, ", last edited ", ctx.doc.editedby || ctx.doc.createdby, "."]));
  if (isNew) {
    const slicePick = view.querySelector("select[name=slice], input[name=slice]");
    slicePick?.addEventListener("change", () => go(withQuery({slice: slicePick.value})));
  }
  pick("rules");
  // bench/console_bench.py reads these: the rules are in the page, and shown after the next frame
  performance.mark("crux:rules-drawn");
  requestAnimationFrame(() => setTimeout(() => performance.mark("crux:rules-shown")));
}

// ---- new: which slice, app and class -----------------------------------------------------------

async function newContext(kind, query) {
  const K = KINDS[kind];
  const slice = Number(query.get("slice")), app = query.get("app"), cls = query.get("class");
  if (!slice || !app || !cls) return null;
  const r = await call(`${K.schemaPrefix}get`, {slice, app, class: cls});
  if (!r.ok) return null;
  const siblings = await must(`${K.prefix}list`, {slice, app, class: cls});
  return {slice, app, cls, schema: r.data, siblings: siblings[K.listKey]};
}

async function newChooser(kind, query) {
  const K = KINDS[kind];
  const [sl, ap, schemas] = await Promise.all([slices(), appList(), must(`${K.schemaPrefix}list`, {})]);
  const slicePick = slicePicker(sl, query.get("slice") || "");
  const appPick = appPicker(ap, query.get("app") || "");
  const classPick = h("select", {name: "class"});
  const fill = () => {
    const options = schemas.filter((x) => String(x.slice) === slicePick.value && x.app === appPick.value).map((x) => x.class);
    mount(classPick, options.map((c) => h("option", {value: c}, c)));
    if (query.get("class")) classPick.value = query.get("class");
    hint.hidden = options.length > 0;
  };
  const hint = note(`No ${K.word === "workflow" ? "workflow" : "rules"} schema for this slice and app yet: `, "warn");
  hint.appendChild(link("create the schema first", `/console/schemas/new?kind=${kind}`));
  slicePick.addEventListener("change", fill);
  appPick.addEventListener("change", fill);
  const form = h("form", {class: "inline", onsubmit: (ev) => {
    ev.preventDefault();
    if (!classPick.value) return;
    go(withQuery({slice: slicePick.value, app: appPick.value, class: classPick.value}));
  }}, field("Slice", slicePick), field("App", appPick), field("Class (its schema)", classPick), button("Go on", null, {type: "submit", kind: "primary"}));
  setTimeout(fill);
  return section(`The ${K.word}'s slice, app and class`, form, hint);
}
