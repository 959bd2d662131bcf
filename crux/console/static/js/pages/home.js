// Overview: who is signed in, what they may do, and the realm at a glance.

import {call} from "../api.js";
import {add, badge, h, section, title} from "../dom.js";
import {can, claims, realm, user} from "../session.js";
import {later} from "../ui.js";

function card(label, href, value) {
  return h("a", {class: "card", href}, h("strong", null, value), label);
}

async function counts() {
  const [sl, ap, rs, wf, inst, incidents, overdue, engines] = await Promise.all([
    call("realmslicelist", {}), call("applist", {}), call("brerulesetlist", {}), call("workflowlist", {}),
    call("wfinstancelist", {limit: 1000}), call("wfinstancelist", {incident: true, limit: 1000}),
    call("wfinstancelist", {overdue: true, limit: 1000}), can("report") ? call("wfenginelist", {}) : {ok: false}]);
  const n = (r, f) => (r.ok ? String(f(r.data)) : "—");
  const rowsOf = (r) => n(r, (d) => `${d.wfinstances.length}${d.next ? "+" : ""}`);
  const open = inst.ok ? new Set(inst.data.wfinstances.map((w) => `${w.slice}/${w.app}/${w.workflow}/${w.entityid}`)).size : null;
  return h("div", {class: "cards"},
    card("slices", "/console/slices", n(sl, (d) => d.slices.length)),
    card("apps", "/console/apps", n(ap, (d) => d.apps.length)),
    card("rulesets", "/console/rulesets", n(rs, (d) => d.rulesets.length)),
    card("workflows", "/console/workflows", n(wf, (d) => d.workflows.length)),
    card("live workflow instances", "/console/instances", open === null ? "—" : String(open) + (inst.data.next ? "+" : "")),
    card("steps in an incident", "/console/instances?incident=true", rowsOf(incidents)),
    card("overdue steps", "/console/instances?overdue=true", rowsOf(overdue)),
    engines.ok ? card("engines active", "/console/engines", n(engines, (d) => d.engines.filter((e) => e.status === "active").length)) : null);
}

export default async function render(view) {
  const c = claims();
  const caps = ["root", "auth", "config", "report"].filter((cap) => can(cap));
  const expires = c.exp ? new Date(c.exp * 1000) : null;
  add(view, 
    title("Overview"),
    later(counts(), (x) => x),
    section("You",
      h("p", null, "Signed in as ", h("strong", null, user()), " in realm ", h("strong", null, realm()),
        expires ? [" until ", h("time", {datetime: expires.toISOString()}, expires.toLocaleString())] : null, "."),
      h("p", null, "Realm-level capabilities: ",
        caps.length ? caps.map((cap) => [badge(cap, "info"), " "]) : h("span", {class: "muted"}, "none"),
        " App-level rights (schema, ruleset) are checked on each app's pages."),
      can("root") ? null : h("p", {class: "muted"},
        "Pages show what you may change; the rest is read-only. Evaluations, dry runs and instance calls are open to every user of the realm.")),
    section("A rule manager's day",
      h("ol", null,
        h("li", null, h("a", {href: "/console/slices"}, "Slices"), ": copy the slice in use; the copy starts inactive, and no caller uses it until told its number."),
        h("li", null, h("a", {href: "/console/rulesets"}, "Rulesets"), ": open a ruleset of the copy, deactivate it, edit its rules, save (every problem shows at its field), activate it."),
        h("li", null, h("a", {href: "/console/slices"}, "Slices"), ": activate the copy, now or at a set time (callers name the slice they evaluate, so this changes nothing for callers of other slices)."),
        h("li", null, h("a", {href: "/console/simulate"}, "Simulator"), ": try entities against it and read the trace, rule by rule. Workflow steps can be tried on any slice, even before it is active."),
        h("li", null, h("a", {href: "/console/instances"}, "Instances"), ": find a workflow instance, see its path on the diagram and its history; ",
          "find the steps in an incident or overdue, see why, and retry them."))));
}
