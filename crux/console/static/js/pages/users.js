// Users and capabilities (the auth capability): every grant, grant and revoke, a user's
// capabilities, deactivating and re-activating users.

import {call, must} from "../api.js";
import {add, badge, button, confirm, field, h, localToIso, mount, section, table, time, title} from "../dom.js";
import {reload} from "../router.js";
import {can} from "../session.js";
import {act, apps as appList, filterBar, refusal} from "../ui.js";

const REALM_CAPS = ["root", "auth", "config", "report"];
const APP_CAPS = ["schema", "ruleset"];

function checks(names, name) {
  return names.map((n) => h("label", {class: "check"}, h("input", {type: "checkbox", name, value: n}), n));
}

function ticked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

function grantForm(apps) {
  const user = h("input", {name: "user", autocomplete: "off", data: {path: "user"}});
  const level = h("select", {name: "level"}, h("option", {value: "realm"}, "realm-level"), h("option", {value: "app"}, "on apps"));
  const realmCaps = h("fieldset", {data: {path: "cap"}}, h("legend", null, "Capabilities"), checks(REALM_CAPS, "cap"));
  const appCaps = h("fieldset", {hidden: true, data: {path: "cap"}}, h("legend", null, "Capabilities"), checks(APP_CAPS, "appcap"));
  const appBox = h("fieldset", {hidden: true, data: {path: "app"}}, h("legend", null, "Apps"), checks((apps || []).map((a) => a.name), "app"));
  const from = h("input", {type: "datetime-local", name: "from", data: {path: "from"}});
  const to = h("input", {type: "datetime-local", name: "to", data: {path: "to"}});
  const place = h("div");
  level.addEventListener("change", () => {
    const onApps = level.value === "app";
    realmCaps.hidden = onApps; appCaps.hidden = !onApps; appBox.hidden = !onApps;
  });
  const form = h("form", {class: "grant"});
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const onApps = level.value === "app";
    const payload = {user: user.value.trim(), cap: ticked(form, onApps ? "appcap" : "cap")};
    if (onApps) payload.app = ticked(form, "app");
    if (from.value) payload.from = localToIso(from.value);
    if (to.value) payload.to = localToIso(to.value);
    const r = await act(ev.submitter, "capgrant", payload, {done: `Granted to ${payload.user}`, place, form});
    if (r.ok) reload();
  });
  add(form, h("div", {class: "fields"}, field("User", user), field("Level", level),
      field("From (optional)", from), field("To (optional)", to)),
      realmCaps, appCaps, appBox, place, button("Grant", null, {type: "submit", kind: "primary"}));
  return form;
}

function userForm() {
  const user = h("input", {name: "user", autocomplete: "off"});
  const out = h("div");
  const lookup = async () => {
    const name = user.value.trim();
    const r = await call("capget", {user: name});
    const actions = h("div", {class: "actions"},
      button("Deactivate user…", async (ev) => {
        if (!await confirm(`Deactivate ${name}?`, h("p", null, "The service refuses every call of a deactivated user until re-activated."), "Deactivate")) return;
        await act(ev.target, "userdeactivate", {user: name}, {done: `${name} deactivated`, place: out});
      }, {kind: "danger"}),
      button("Re-activate user", (ev) => act(ev.target, "useractivate", {user: name}, {done: `${name} activated`, place: out})));
    mount(out, r.ok ? table(grantColumns(false), r.data.capabilities, {empty: `${name} holds no capabilities.`}) : refusal(r.messages), actions);
  };
  const form = h("form", {class: "inline", onsubmit: (ev) => { ev.preventDefault(); lookup(); }},
                 field("User", user), button("Look up", null, {type: "submit"}));
  return [form, out];
}

function grantColumns(withRevoke) {
  const cols = [
    {label: "User", cell: (g) => h("strong", null, g.user)},
    {label: "App", cell: (g) => g.app || h("span", {class: "muted"}, "realm")},
    {label: "Capability", cell: (g) => badge(g.cap, g.cap === "root" ? "warn" : "info")},
    {label: "From", cell: (g) => time(g.from)},
    {label: "To", cell: (g) => time(g.to)},
    {label: "Set", cell: (g) => [time(g.setat), h("div", {class: "tl-meta"}, g.setby)]},
  ];
  if (withRevoke) {
    cols.push({label: "", class: "ops", cell: (g) => button("Revoke…", async (ev) => {
      if (!await confirm(`Revoke ${g.cap} from ${g.user}?`, h("p", null, g.app ? `On app ${g.app}.` : "Realm-level."), "Revoke")) return;
      const payload = {user: g.user, cap: [g.cap]};
      if (g.app) payload.app = [g.app];
      if ((await act(ev.target, "caprevoke", payload, {done: `Revoked ${g.cap} from ${g.user}`})).ok) reload();
    }, {kind: "small danger", label: `Revoke ${g.cap} from ${g.user}${g.app ? ` on ${g.app}` : ""}`})});
  }
  return cols;
}

export default async function render(view, {query}) {
  if (!can("auth")) {
    add(view, title("Users and capabilities"), refusal([{msg: "This page needs the auth capability."}]));
    return;
  }
  const filter = {};
  if (query.get("app")) filter.app = query.get("app");
  if (query.get("cap")) filter.cap = query.get("cap");
  const [grants, apps] = await Promise.all([must("caplist", filter), appList()]);
  const capSelect = h("select", {name: "cap"}, h("option", {value: ""}, "any"), [...REALM_CAPS, ...APP_CAPS].map((c) => h("option", {value: c}, c)));
  capSelect.value = query.get("cap") || "";
  const appSelect = h("select", {name: "app"}, h("option", {value: ""}, "any"), (apps || []).map((a) => h("option", {value: a.name}, a.name)));
  appSelect.value = query.get("app") || "";
  add(view, title("Users and capabilities"),
      filterBar([["App", appSelect], ["Capability", capSelect]]),
      section("Grants", table(grantColumns(true), grants.capabilities, {empty: "No grants match."})),
      h("div", {class: "columns"}, section("Grant capabilities", grantForm(apps)), section("A user", ...userForm())));
}
