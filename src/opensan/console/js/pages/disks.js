// Disks, and one disk with its S.M.A.R.T. attributes; administrators make disks spares and
// free them again.

import { get, post } from "../api.js";
import { badge, bytes, button, details, el, formDialog, section, table } from "../ui.js";
import { slot } from "./pools.js";

function setSpare(ctx, disk, pools) {
  return ctx.formChange(formDialog({
    title: `Spare: disk ${slot(disk)}`,
    submitLabel: "Set",
    fields: [
      { name: "type", label: "Use the disk as", type: "select",
        value: disk.usage === "Free" ? "global" : "free",
        options: [["global", "Global spare"], ["dedicated", "Dedicated spare of a pool"],
                  ["free", "Free disk (no spare)"]] },
      { name: "poolid", label: "Pool (dedicated spares only)", type: "select",
        options: [["", "—"], ...pools.map((p) => [p.id, p.name])] },
    ],
    submit: (v) => post("rest/storage/setspare", {
      diskids: String(disk.id), type: v.type, ...(v.type === "dedicated" && v.poolid && { poolid: v.poolid }),
    }),
  }), (changed) => `Disk ${slot(disk)} is now ${changed[0]?.usage ?? "changed"}.`);
}

const temperature = (celsius) => (celsius === null || celsius === undefined ? "" : `${celsius} °C`);

async function renderList(ctx) {
  const [disks, pools] = await Promise.all([get("rest/storage/diskinfo"), get("rest/storage/poolinfo")]);
  const poolName = new Map(pools.map((p) => [p.id, p.name]));
  const columns = [
    { label: "Slot", value: (d) => el("a", { href: `#/disk/${d.id}` }, slot(d)) },
    { label: "Type", value: (d) => d.type },
    { label: "Capacity", value: (d) => bytes(d.capacityBytes), class: "num" },
    { label: "Vendor and model", value: (d) => `${d.vendor} ${d.model}` },
    { label: "Serial number", value: (d) => d.serialNumber, class: "mono" },
    { label: "Health", value: (d) => badge(d.health) },
    { label: "Status", value: (d) => badge(d.status) },
    { label: "Usage", value: (d) => d.usage },
    { label: "Pool", value: (d) => (d.poolId ? poolName.get(d.poolId) ?? d.poolId : "") },
    { label: "Temperature", value: (d) => temperature(d.temperatureC), class: "num" },
  ];
  if (ctx.admin) {
    columns.push({ label: "", class: "actions", value: (d) => button("Spare…", () => setSpare(ctx, d, pools)) });
  }
  return el("div", {}, el("h1", {}, "Disks"),
    table(columns, disks, { empty: "No disks.", rowAttributes: (d) => ({ "data-disk": slot(d) }) }));
}

async function renderDisk(ctx) {
  const [disks, smart, pools] = await Promise.all([
    get("rest/storage/diskinfo"), get("rest/storage/disksmart"), get("rest/storage/poolinfo"),
  ]);
  const disk = disks.find((d) => String(d.id) === ctx.id);
  if (!disk) {
    return el("p", { class: "error" }, `No disk has ID ${ctx.id}. `, el("a", { href: "#/disks" }, "All disks"));
  }
  const report = smart.find((s) => s.diskId === disk.id);
  const pool = pools.find((p) => p.id === disk.poolId);
  return el("div", {},
    el("p", { class: "crumbs" }, el("a", { href: "#/disks" }, "Disks"), " › ", slot(disk)),
    el("div", { class: "title" }, el("h1", {}, `Disk ${slot(disk)}`),
      ctx.admin ? button("Spare…", () => setSpare(ctx, disk, pools)) : null),
    section("Properties", details([
      ["Health", badge(disk.health)], ["Status", badge(disk.status)], ["Usage", disk.usage],
      ["Pool", pool ? pool.name : "none"], ["Type", disk.type], ["Capacity", bytes(disk.capacityBytes)],
      ["Vendor", disk.vendor], ["Model", disk.model], ["Serial number", disk.serialNumber],
      ["Firmware", disk.firmwareVersion], ["Interface", disk.interfaceSpeed],
      ["Temperature", temperature(disk.temperatureC)], ["ID", String(disk.id)],
    ])),
    section("S.M.A.R.T.", !report ? el("p", { class: "muted" }, "The array reports no S.M.A.R.T. data for this disk.")
      : [
        details([
          ["Health", badge(report.health)],
          ["Power-on hours", String(report.powerOnHours ?? "")],
          ["Temperature", temperature(report.temperatureC)],
          ["Supported", report.supported ? "yes" : "no"],
          ...(report.note ? [["Note", report.note]] : []),
        ]),
        table([
          { label: "ID", value: (a) => a.id, class: "num" },
          { label: "Attribute", value: (a) => a.name },
          { label: "Value", value: (a) => a.value, class: "num" },
          { label: "Worst", value: (a) => a.worst, class: "num" },
          { label: "Threshold", value: (a) => a.threshold, class: "num" },
          { label: "Raw", value: (a) => a.raw, class: "num" },
          { label: "Status", value: (a) => badge(a.status) },
        ], report.attributes, { empty: "No attributes.", rowAttributes: (a) => ({ "data-attribute": a.name }) }),
      ]));
}

export function render(ctx) {
  return ctx.name === "disk" ? renderDisk(ctx) : renderList(ctx);
}
