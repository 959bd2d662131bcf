// Moving between pages without reloading: pages call go(url); main.js draws the page.

let renderer = () => {};
let unsaved = null;

/** A page with unsaved changes says so (`check()` -> true while there are some): leaving it by a
 *  link asks first, and closing or reloading the tab lets the browser ask. Cleared by each page. */
export function guardLeaving(check) {
  unsaved = check;
}

export function hasUnsaved() {
  return Boolean(unsaved && unsaved());
}

window.addEventListener("beforeunload", (ev) => {
  if (hasUnsaved()) ev.preventDefault();
});

let leaving = [];

/** Run `fn` when the console draws another page (or this one again): a page's waiting calls end there. */
export function onLeave(fn) {
  leaving.push(fn);
}

/** The page is being left (main.js, before it draws the next one). */
export function left() {
  const handlers = leaving;
  leaving = [];
  for (const fn of handlers) fn();
}

export function setRenderer(fn) {
  renderer = fn;
}

export function go(url, {replace = false} = {}) {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  renderer(true);
}

/** Redraw the current page (after a change the page shows). */
export function reload() {
  renderer(false);
}

/** The current query with some keys changed ("" or null removes a key). */
export function withQuery(changes, path = location.pathname) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") q.delete(k);
    else q.set(k, v);
  }
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}
