// The console's entry: sign-in, the page frame, and the router (real paths under /console/,
// drawn in the page; every link is an ordinary link, so keyboard, history and new tabs work).

import {ApiError, SessionEnded, onExpired} from "./api.js";
import {button, confirm, h, messageList, messageText, mount, note, title} from "./dom.js";
import {go, guardLeaving, hasUnsaved, left, setRenderer} from "./router.js";
import {can, loadCaps, realm, setToken, signOut, takeFragmentToken, token, user} from "./session.js";

const ROUTES = [
  ["/console/", "home"],
  ["/console/slices", "slices"],
  ["/console/apps", "apps"],
  ["/console/users", "users"],
  ["/console/config", "config"],
  ["/console/schemas", "schemas"],
  ["/console/schemas/new", "schema"],
  ["/console/schemas/:kind/:slice/:app/:class", "schema"],
  ["/console/rulesets", "rulesets", {kind: "B"}],
  ["/console/rulesets/new", "ruleset", {kind: "B"}],
  ["/console/rulesets/:slice/:app/:class/:name", "ruleset", {kind: "B"}],
  ["/console/workflows", "rulesets", {kind: "W"}],
  ["/console/workflows/new", "ruleset", {kind: "W"}],
  ["/console/workflows/:slice/:app/:name", "ruleset", {kind: "W"}],
  ["/console/diagram/:slice/:app/:name", "diagram"],
  ["/console/simulate", "simulate"],
  ["/console/instances", "instances"],
  ["/console/instance", "instance"],
  ["/console/engines", "engines"],
  ["/console/events", "events"],
  ["/console/webhooks", "webhooks"],
];

// The pages in the menu; `show` hides what the user could not use at all.
const NAV = [
  ["Overview", "/console/"],
  ["Slices", "/console/slices"],
  ["Apps", "/console/apps"],
  ["Users and capabilities", "/console/users", () => can("auth")],
  ["Config", "/console/config"],
  ["Schemas", "/console/schemas"],
  ["Rulesets", "/console/rulesets"],
  ["Workflows", "/console/workflows"],
  ["Simulator", "/console/simulate"],
  ["Instances", "/console/instances"],
  ["Engines and workers", "/console/engines", () => can("report")],
  ["Events", "/console/events", () => can("report")],
  ["Webhooks", "/console/webhooks", () => can("config") || can("report")],
];

function match(path) {
  const parts = path.replace(/\/+$/, "").split("/");
  for (const [pattern, page, extra] of ROUTES) {
    const want = pattern.replace(/\/+$/, "").split("/");
    if (want.length !== parts.length) continue;
    const params = {};
    let ok = true;
    want.forEach((w, i) => {
      if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(parts[i]);
      else if (w !== parts[i]) ok = false;
    });
    if (ok) return {page, params, ...extra};
  }
  return null;
}

const main = () => document.getElementById("main");


function drawFrame() {
  const who = document.getElementById("who");
  mount(who, h("span", null, "Realm ", h("strong", null, realm() || "?"), " · user ", h("strong", null, user() || "?")),
        button("Sign out", () => { signOut(); drawSignIn(note("You are signed out.", "ok")); }, {kind: "quiet"}));
  const here = location.pathname.replace(/\/+$/, "") || "/console";
  const items = NAV.filter(([, , show]) => !show || show()).map(([text, href]) => {
    const current = href.replace(/\/+$/, "") === here || (href !== "/console/" && here.startsWith(href));
    return h("li", null, h("a", {href, "aria-current": current ? "page" : false}, text));
  });
  mount(document.getElementById("nav"), h("ul", null, items));
}

function clearFrame() {
  mount(document.getElementById("who"));
  mount(document.getElementById("nav"));
}

/** The sign-in page, drawn at the current address so the console returns there afterwards. */
function drawSignIn(message) {
  clearFrame();
  const input = h("textarea", {id: "token", rows: 4, spellcheck: false, autocomplete: "off",
                               placeholder: "eyJhbGciOi..."});
  const problems = h("div", {class: "signin-problems"});
  const form = h("form", {class: "signin", onsubmit: async (ev) => {
    ev.preventDefault();
    if (!input.value.trim()) {
      mount(problems, note("Paste a bearer token first.", "error"));
      return;
    }
    setToken(input.value);
    await start();
  }},
  h("label", {for: "token"}, "Bearer token"), input,
  h("div", {class: "actions"}, button("Sign in", null, {type: "submit", kind: "primary"})));
  mount(main(),
        title("Sign in"),
        message || null, problems,
        h("p", null, "Paste a bearer token the service accepts. For development, ",
          h("code", null, "crux demo"), " prints a sign-in link, and ",
          h("code", null, "crux token --realm R --user U"), " mints a token."),
        form,
        h("p", {class: "muted"}, "The token is kept in this browser tab only (session storage) and sent only to this service."));
  input.focus();
}

onExpired((messages) => {
  signOut();
  drawSignIn(h("div", {class: "note error", role: "alert"},
               h("strong", null, "Your session has ended."), " The service refused the token: ",
               messages.map(messageText).join("; "),
               ". Sign in again to go on where you were."));
});

let renderCount = 0;

async function render(moved = false) {
  const here = ++renderCount;
  guardLeaving(null);
  left();
  delete document.body.dataset.ready;
  if (!token()) {
    drawSignIn();
    return;
  }
  drawFrame();
  const route = match(location.pathname);
  const view = h("div", {class: "view"});
  mount(main(), view);
  if (!route) {
    mount(view, title("Not found"), note(`The console has no page at ${location.pathname}.`, "error"),
          h("p", null, h("a", {href: "/console/"}, "Go to the overview")));
    return;
  }
  try {
    const [mod] = await Promise.all([import(`./pages/${route.page}.js`), loadCaps()]);
    if (here !== renderCount) return;
    await mod.default(view, {params: route.params, query: new URLSearchParams(location.search), kind: route.kind});
    if (here === renderCount) document.body.dataset.ready = route.page;  // the page is drawn (tests wait for it)
    if (moved && here === renderCount) {
      const h1 = view.querySelector("h1");
      if (h1) h1.focus({preventScroll: true});
    }
  } catch (err) {
    if (err instanceof SessionEnded) return;
    if (here !== renderCount) return;
    console.error(err);
    view.appendChild(h("div", {class: "note error", role: "alert"},
      err instanceof ApiError ? [h("strong", null, `The service refused ${err.call}.`), messageList(err.messages)]
        : [h("strong", null, "This page failed: "), String(err && err.message || err)]));
  }
}

async function start() {
  // the capabilities are asked while the page's module loads; the menu follows them
  loadCaps().then(() => { if (token()) drawFrame(); }, () => {});
  render();
}

document.addEventListener("click", (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/console/") || url.pathname.startsWith("/console/static/")) return;
  ev.preventDefault();
  if (url.pathname === location.pathname && url.search === location.search && url.hash) {
    location.hash = url.hash;
    return;
  }
  if (hasUnsaved()) {
    confirm("Leave without saving?", h("p", null, "The changes on this page are not saved; leaving drops them."), "Leave")
      .then((leave) => leave && go(url.pathname + url.search));
    return;
  }
  go(url.pathname + url.search);
});

window.addEventListener("popstate", () => render(true));
// a sign-in link opened on a page of the console already loaded changes only the fragment
window.addEventListener("hashchange", () => { if (takeFragmentToken()) start(); });
setRenderer(render);

takeFragmentToken();
if (token()) start();
else drawSignIn();
