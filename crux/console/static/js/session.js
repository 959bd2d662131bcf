// The signed-in user: the bearer token (kept in sessionStorage only, so it ends with the browser
// tab), what it says about the user, and what the user may do.
//
// What a user may do is asked of the public API itself, never guessed: each capability is probed
// with a call that needs it and whose payload is incomplete, so the service answers 403 when the
// capability is missing and 400 (a validation error, nothing done) when it is there.

import {call} from "./api.js";

const KEY = "crux.token";

export function token() {
  return sessionStorage.getItem(KEY);
}

/** A sign-in link carries the token in the URL fragment (#token=...), which browsers never send
 *  to a server; it is moved to sessionStorage and removed from the address bar at once. */
export function takeFragmentToken() {
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (!m) return false;
  sessionStorage.setItem(KEY, decodeURIComponent(m[1]).trim());
  resetCaps();
  history.replaceState(history.state, "", location.pathname + location.search);
  return true;
}

export function setToken(tok) {
  sessionStorage.setItem(KEY, tok.trim().replace(/^Bearer\s+/i, ""));
  resetCaps();
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  resetCaps();
}

/** The token's claims, decoded for display only (the service verifies the signature). */
export function claims(tok = token()) {
  try {
    const part = tok.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(Array.from(atob(part), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
    return JSON.parse(json);
  } catch (err) {
    return {};
  }
}

export function user() {
  const c = claims();
  return String(c.preferred_username || c.sub || "").toLowerCase();
}

export function realm() {
  const c = claims();
  if (c.realm) return String(c.realm).toLowerCase();
  const m = /\/realms\/([^/]+)/.exec(String(c.iss || ""));
  return m ? m[1].toLowerCase() : "";
}

// ---- capabilities ------------------------------------------------------------------------------

const REALM_PROBES = {
  root: ["appnew", {}],
  auth: ["capget", {}],
  config: ["configset", {}],
  report: ["realmslicelist", {}],
};
const APP_PROBES = {schema: "breschemanew", ruleset: "brerulesetnew"};

let realmCaps = null;
let asking = null;
const appCaps = new Map();

function resetCaps() {
  realmCaps = null;
  asking = null;
  appCaps.clear();
}

function allowed(r) {
  return r.status !== 403;
}

/** Probe the realm-level capabilities (once per sign-in). A 401 throws SessionEnded. */
export function loadCaps() {
  if (!asking) {
    const names = Object.keys(REALM_PROBES);
    asking = Promise.all(names.map((n) => call(...REALM_PROBES[n]))).then((answers) => {
      const caps = {};
      names.forEach((n, i) => { caps[n] = allowed(answers[i]); });
      if (caps.root) for (const n of names) caps[n] = true;
      realmCaps = caps;
      return caps;
    });
    asking.catch(() => { asking = null; });
  }
  return asking;
}

/** A realm-level capability (after loadCaps). */
export function can(cap) {
  return Boolean(realmCaps && (realmCaps.root || realmCaps[cap]));
}

/** An app-level capability (schema or ruleset) on `app`, probed once per app. */
export async function canOn(cap, app) {
  if (can("root")) return true;
  if (!app) return false;
  const key = `${cap}:${app.toLowerCase()}`;
  if (!appCaps.has(key)) appCaps.set(key, call(APP_PROBES[cap], {app}).then(allowed));
  return appCaps.get(key);
}
