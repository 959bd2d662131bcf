// Fields of instance rows that newer services add (SPEC §8: attempts, deadlines, leases,
// incidents): shown as columns when the rows carry them, so the pages need no change when they
// arrive.

import {badge, h, time} from "./dom.js";

const OPTIONAL = [
  {key: "attempt", label: "Attempt", cell: (x) => x.attempt ? h("span", null, `#${x.attempt}`) : null},
  {key: "dueat", label: "Due", cell: (x) => x.dueat ? [time(x.dueat), new Date(x.dueat) < new Date() ? badge("overdue", "bad") : null] : null},
  {key: "leasedby", label: "Worker", cell: (x) => x.leasedby ? [h("code", null, x.leasedby), x.leaseuntil ? h("span", {class: "tl-meta"}, " until ", time(x.leaseuntil)) : null] : null},
  {key: "incident", label: "Incident", cell: (x) => x.incident ? badge(x.incident, "bad") : null},
];

/** The optional columns some of `rows` carry. */
export function optionalColumns(rows) {
  return OPTIONAL.filter((c) => rows.some((x) => x[c.key] !== undefined));
}
