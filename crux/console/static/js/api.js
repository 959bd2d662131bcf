// The one way the console talks to Crux: POST /api/v1/<call> with {"data": ...} and the signed-in
// user's bearer token. There is no other endpoint: what a page shows, the public API answered.

import {token} from "./session.js";

export const API = "/api/v1";

/** Thrown when the service answers 401: the page stops and the console shows the sign-in page. */
export class SessionEnded extends Error {
  constructor(messages) {
    super("session ended");
    this.messages = messages || [];
  }
}

/** A call that failed; `messages` are the envelope's (each with errcode, field, msg). */
export class ApiError extends Error {
  constructor(call, status, messages) {
    super(`${call}: ${(messages || []).map((m) => m.msg || m.errcode).join("; ")}`);
    this.call = call;
    this.status = status;
    this.messages = messages || [];
  }
}

let expired = () => {};

/** Who to tell when the service answers 401 (main.js shows the sign-in page). */
export function onExpired(handler) {
  expired = handler;
}

// calls that only read: asked again when the network drops an answer (a write is never repeated)
const READS = /(list|get|apps|history|try|applyrules)$/;
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Make a call -> {ok, status, data, messages}. A 401 ends the session (SessionEnded). With a
 *  `signal` (an AbortController's), a call given up answers {ok: false, aborted: true}. */
export async function call(name, data = {}, tok = token(), {signal} = {}) {
  let resp;
  for (let attempt = 1; !resp; attempt++) {
    try {
      resp = await fetch(`${API}/${name}`, {
        method: "POST",
        headers: {"Content-Type": "application/json", ...(tok ? {Authorization: `Bearer ${tok}`} : {})},
        body: JSON.stringify({data}),
        credentials: "omit",
        cache: "no-store",
        signal,
      });
    } catch (err) {
      if (signal && signal.aborted) return {ok: false, aborted: true, status: 0, data: null, messages: []};
      if (attempt < 3 && READS.test(name)) {
        await pause(150 * attempt);
        continue;
      }
      return {ok: false, status: 0, data: null,
              messages: [{errcode: "network", field: null, msg: "The service did not answer; is it running?"}]};
    }
  }
  let body = null;
  try {
    body = await resp.json();
  } catch (err) {
    if (signal && signal.aborted) return {ok: false, aborted: true, status: 0, data: null, messages: []};
    body = null;
  }
  const messages = body && Array.isArray(body.messages) ? body.messages
    : [{errcode: "http", field: null, msg: `HTTP ${resp.status}`}];
  if (resp.status === 401) {
    expired(messages);
    throw new SessionEnded(messages);
  }
  const ok = resp.ok && body && body.status === "success";
  return {ok, status: resp.status, data: ok ? body.data : null, messages: ok ? [] : messages};
}

/** Make a call that must succeed: its data, or an ApiError with the service's messages. */
export async function must(name, data = {}) {
  const r = await call(name, data);
  if (!r.ok) throw new ApiError(name, r.status, r.messages);
  return r.data;
}

/** The same call as a shell command (the token stays in $TOKEN). */
export function curl(name, data) {
  const body = JSON.stringify({data}).replace(/'/g, "'\\''");
  return `curl -s -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\\n     -d '${body}' \\\n     ${location.origin}${API}/${name}`;
}
