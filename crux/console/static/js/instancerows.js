// An open step of a workflow instance (a wfinstancelist row) as the instance pages show it: its
// attempt, deadline, lease and incident (SPEC §8.2), and Retry (wfinstanceretry) with a
// confirmation.

import {act} from "./ui.js";
import {badge, confirm, h, time} from "./dom.js";

const past = (iso) => Boolean(iso) && new Date(iso) < new Date();

/** The deadline of the row's current attempt has passed (an engine retries or fails it soon). */
export const isOverdue = (x) => !x.doneat && past(x.dueat);

/** A member of a concurrent set reported done, waiting for its siblings: nothing to retry. */
export const isWaiting = (x) => Boolean(x.doneat);

export function attemptCell(x) {
  return x.attempt ? h("span", {class: "attempt"}, `#${x.attempt}`) : null;
}

/** Due: the deadline (overdue once passed); a retried attempt not open yet says when it opens. */
export function dueCell(x) {
  if (x.doneat) return null;
  return [
    x.notbefore && !past(x.notbefore) ? h("div", {class: "tl-meta"}, "opens ", time(x.notbefore)) : null,
    x.dueat ? [time(x.dueat), isOverdue(x) ? [" ", badge("overdue", "bad")] : null]
      : x.incident ? null : h("span", {class: "muted"}, "no deadline"),
  ];
}

/** The worker holding the row's lease, and until when (a lapsed lease says so). */
export function workerCell(x) {
  if (!x.leasedby) return null;
  return [h("code", null, x.leasedby),
    x.leaseuntil ? h("div", {class: "tl-meta"}, past(x.leaseuntil) ? "lease lapsed " : "until ", time(x.leaseuntil)) : null];
}

/** Open, done and waiting for its join, or in an incident (with the service's reason). */
export function stateCell(x) {
  if (x.doneat) return [badge("done", "ok"), h("div", {class: "tl-meta"}, "waiting for the join at ", x.nextstep)];
  if (x.incident) return [badge("incident", "bad"), h("div", {class: "bad-text incident"}, x.incident)];
  return [badge("open", "warn"), x.nextstep && x.nextstep !== x.step ? h("div", {class: "tl-meta"}, "joins at ", x.nextstep) : null];
}

/** One open step on a line (the instances list): step and row, attempt, deadline, worker, incident. */
export function stepLine(x) {
  return h("div", {class: ["step-line", x.incident ? "incident" : null], data: {row: String(x.id)}},
    h("span", {class: ["chip", x.doneat ? "ok" : x.incident ? "bad" : "task"]}, `${x.step} #${x.id}`),
    x.doneat ? h("span", {class: "tl-meta"}, " done, waiting for the join") : [
      x.attempt > 1 ? h("span", {class: "tl-meta"}, ` attempt ${x.attempt}`) : null,
      x.dueat ? h("span", {class: "tl-meta"}, " due ", time(x.dueat)) : null,
      isOverdue(x) ? [" ", badge("overdue", "bad")] : null,
      x.leasedby ? h("span", {class: "tl-meta"}, " worker ", h("code", null, x.leasedby)) : null,
      x.incident ? [" ", badge("incident", "bad"), " ", h("span", {class: "bad-text incident"}, x.incident)] : null,
    ]);
}

/** Retry an open step after a confirmation: an incident's waiting attempt opens again with a
 *  fresh deadline; any other step's current attempt ends (failed, "retried") and the next one
 *  starts after the step's retry delay. -> the call's answer, or null when cancelled. */
export async function retryStep(x, btn) {
  const body = x.incident
    ? [h("p", null, `Row ${x.id} (entity ${x.entityid}, workflow ${x.workflow}) is in an incident:`),
       h("p", {class: "bad-text"}, x.incident),
       h("p", null, `Retrying clears the incident: attempt ${x.attempt} opens again (with a fresh deadline when the step has a timeout), for a worker to claim `,
         "or the application to report. If nothing has changed, it may end the same way.")]
    : [h("p", null, `Attempt ${x.attempt} of step ${x.step} (row ${x.id}, entity ${x.entityid}) ends as failed, with the error "retried", `,
         `and attempt ${x.attempt + 1} starts after the step's retry delay, whatever its number of attempts.`),
       x.leasedby ? h("p", null, "Worker ", h("code", null, x.leasedby), ` loses its lease: its report of attempt ${x.attempt} will be refused.`) : null];
  if (!await confirm(`Retry step ${x.step}?`, body, "Retry step", "primary")) return null;
  return act(btn, "wfinstanceretry", {id: x.id},
    {done: (d) => `Step ${d.step} (row ${d.id}) is at attempt ${d.attempt}` +
      (d.notbefore && new Date(d.notbefore) > new Date() ? ", open after the retry delay" : ", open again")});
}
