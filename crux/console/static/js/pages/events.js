// The event stream (wfeventlist, SPEC §9.2): the realm's events in commit order, page by page
// from the oldest kept (or from a cursor in the address), filtered by kind, app, workflow and
// entity, and followed live once the end is reached (long polling).

import {call} from "../api.js";
import {add, badge, button, chip, field, h, link, mount, note, section, time, title} from "../dom.js";
import {go, onLeave, withQuery} from "../router.js";
import {can} from "../session.js";
import {paths, refusal} from "../ui.js";

export const KINDS = ["started", "stepopened", "stepdone", "stepfailed", "steptimedout", "incident", "done", "aborted", "changed"];
const KIND_LOOK = {started: "info", stepopened: "", stepdone: "ok", stepfailed: "bad", steptimedout: "bad", incident: "bad",
                   done: "ok", aborted: "warn", changed: "info"};
const PAGE = 100;
const WAIT = 20;

function what(e) {
  if (e.kind === "changed") return [h("code", null, e.table), " ", e.op, " ", h("code", null, e.key)];
  const inst = e.workflow && e.entityid && e.slice && e.app
    ? link(e.entityid, paths.instance({slice: e.slice, app: e.app, workflow: e.workflow, entityid: e.entityid})) : e.entityid;
  return [e.workflow ? [h("code", null, e.workflow), " · "] : null, inst,
    e.step ? [" · ", h("strong", null, e.step), e.wfid ? h("span", {class: "tl-meta"}, ` row ${e.wfid}`) : null] : null,
    e.tasks ? [" → ", e.tasks.map((t) => Object.keys(t).map((k) => chip(`${k} #${t[k]}`, "task")))] : null];
}

function row(e) {
  return h("tr", {data: {event: String(e.id), kind: e.kind}},
    h("td", {class: "num"}, String(e.id)), h("td", null, time(e.at)), h("td", null, badge(e.kind, KIND_LOOK[e.kind])),
    h("td", null, what(e)),
    h("td", null, e.attempt ? `#${e.attempt}` : "", e.worker ? [" ", h("code", null, e.worker)] : null),
    h("td", null, e.error ? h("span", {class: "bad-text"}, e.error) : ""),
    h("td", null, e.app || "", e.slice ? h("span", {class: "tl-meta"}, ` slice ${e.slice}`) : null));
}

export default async function render(view, {query}) {
  if (!can("report")) {
    add(view, title("Events"), refusal([{msg: "The event stream needs the report capability."}]));
    return;
  }
  const kinds = (query.get("kinds") || "").split(",").filter((k) => KINDS.includes(k));
  const filters = {};
  if (kinds.length) filters.kinds = kinds;
  for (const k of ["app", "workflow", "entityid"]) if (query.get(k)) filters[k] = query.get(k);

  const boxes = KINDS.map((k) => h("label", {class: "check"}, h("input", {type: "checkbox", value: k, checked: kinds.includes(k)}), k));
  const inputs = Object.fromEntries(["app", "workflow", "entityid"].map((k) => [k, h("input", {name: k, value: query.get(k) || "", size: 14})]));
  const form = h("form", {class: "filters", role: "search", onsubmit: (ev) => {
    ev.preventDefault();
    const picked = boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value);
    go(withQuery({kinds: picked.join(","), app: inputs.app.value.trim(), workflow: inputs.workflow.value.trim(),
                  entityid: inputs.entityid.value.trim(), after: ""}));
  }},
  h("fieldset", null, h("legend", null, "Kinds (none ticked: all)"), boxes),
  h("div", {class: "fields"}, field("App", inputs.app), field("Workflow", inputs.workflow), field("Entity id", inputs.entityid),
    button("Show", null, {type: "submit"})));

  const body = h("tbody");
  const status = h("div", {class: "stream-status", "aria-live": "polite"});
  const more = h("div", {class: "actions"});
  let cursor = query.get("after") || null;
  let following = null;     // while following: the AbortController that stops the waiting call

  const read = async (wait) => {
    const payload = {...filters, limit: PAGE, wait};
    if (cursor) payload.after = cursor;
    const r = await call("wfeventlist", payload, undefined, {signal: following?.signal});
    if (r.aborted) return null;
    if (!r.ok) {
      mount(status, refusal(r.messages));
      return null;
    }
    if (r.data.lost) status.prepend(note("Some events after this point were pruned before they were read; reading goes on from the oldest kept.", "warn"));
    if (r.data.events.length) body.querySelector("td.empty")?.parentElement.remove();
    for (const e of r.data.events) body.appendChild(row(e));
    cursor = r.data.next;
    return r.data.events.length;
  };
  const follow = async () => {
    const stop = new AbortController();
    following = stop;
    drawControls(true);
    while (!stop.signal.aborted && view.isConnected) {
      const got = await read(WAIT);
      if (got === null) break;
      if (got) body.lastChild.scrollIntoView({block: "nearest"});
    }
    following = null;
    if (view.isConnected) drawControls(true);
  };
  // leaving the page (or drawing it again) ends the waiting call
  onLeave(() => following && following.abort());
  const drawControls = (atEnd) => {
    mount(more,
      atEnd ? null : button("Next page", async (ev) => {
        ev.currentTarget.disabled = true;
        const got = await read(0);
        drawControls(got !== null && got < PAGE);
      }),
      atEnd && !following ? button("Follow live", follow, {kind: "primary"}) : null,
      following ? button("Stop following", () => following.abort(), {kind: "danger"}) : null,
      following ? h("span", {class: "muted"}, "waiting for events as they commit…") : null,
      cursor ? link("address of this point", withQuery({after: cursor}), {title: "reading from here again later"}) : null);
  };
  add(view, title("Events"),
    h("p", {class: "muted"}, "Every instance transition and every change of admin or rule data, in commit order, each once. ",
      "Reading starts at the oldest event kept; the newest are at the bottom."),
    form, status,
    section("Stream", h("table", {class: "grid events"},
      h("thead", null, h("tr", null, ["#", "At", "Kind", "What", "Attempt, worker", "Error", "App"].map((t) => h("th", {scope: "col"}, t)))), body),
      more));
  const got = await read(0);
  if (got !== null) drawControls(got < PAGE);
  if (got === 0 && !body.children.length) body.appendChild(h("tr", null, h("td", {colSpan: 7, class: "empty"}, "No events yet.")));
}
