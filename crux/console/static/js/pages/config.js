// Config: named settings per slice (configget, configset).

import {call} from "../api.js";
import {add, button, field, h, section, table, time, title} from "../dom.js";
import {reload} from "../router.js";
import {can} from "../session.js";
import {act, filterBar, readOnly, refusal, slicePicker, slices} from "../ui.js";

export default async function render(view, {query}) {
  const allowed = can("config");
  const list = await slices();
  const slice = query.get("slice") || "";
  const r = await call("configget", slice ? {slice: Number(slice)} : {});
  const form = h("form", {class: "inline", id: "configform"});
  const fSlice = slicePicker(list, slice || (list && list.length ? String(list[list.length - 1].id) : ""));
  fSlice.dataset.path = "slice";
  const fName = h("input", {name: "name", autocomplete: "off", data: {path: "name"}});
  const fVal = h("input", {name: "val", size: 30, data: {path: "val"}});
  const fDescr = h("input", {name: "descr", size: 30, data: {path: "descr"}});
  const place = h("div");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const payload = {slice: Number(fSlice.value), name: fName.value.trim(), val: fVal.value};
    if (fDescr.value) payload.descr = fDescr.value;
    const res = await act(ev.submitter, "configset", payload, {done: `${payload.name.toUpperCase()} set`, place, form});
    if (res.ok) reload();
  });
  add(form, field("Slice", fSlice), field("Name", fName, "stored upper-cased"), field("Value", fVal, "may be empty"),
      field("Description", fDescr), button("Set", null, {type: "submit", kind: "primary"}));
  const editBtn = (c) => button("Edit", () => {
    fSlice.value = String(c.slice); fName.value = c.name; fVal.value = c.val ?? ""; fDescr.value = c.descr ?? "";
    fVal.focus();
  }, {kind: "small", label: `Edit ${c.name} of slice ${c.slice}`});
  const columns = [
    {label: "Slice", class: "num", cell: (c) => String(c.slice)},
    {label: "Name", cell: (c) => h("code", null, c.name)},
    {label: "Value", cell: (c) => c.val === null ? h("span", {class: "muted"}, "null") : h("code", null, c.val)},
    {label: "Description", cell: (c) => c.descr || ""},
    {label: "Version", class: "num", cell: (c) => String(c.ver)},
    {label: "Set", cell: (c) => [time(c.setat), h("div", {class: "tl-meta"}, c.setby)]},
  ];
  if (allowed) columns.push({label: "", class: "ops", cell: editBtn});
  add(view, title("Config"),
      filterBar([["Slice", slicePicker(list, slice, {any: true})]]),
      allowed ? null : readOnly("setting values needs the config capability."),
      section("Settings", r.ok ? table(columns, r.data, {empty: "No settings in this slice."}) : refusal(r.messages)),
      allowed ? section("Set a value", form, place) : null);
}
