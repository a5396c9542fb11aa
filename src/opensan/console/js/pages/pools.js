// Pools: their RAID level, health and capacity, and (administrators) creating, growing and
// deleting them.

import { get, post } from "../api.js";
import { badge, bytes, button, el, formDialog, table, usage } from "../ui.js";

const RAID_LEVELS = ["RAID 0", "RAID 1", "RAID 5", "RAID 6", "RAID 10", "RAID 50", "RAID 60"];

export const slot = (disk) => `${disk.enclosureId}:${disk.slot}`;

// Every disk as a choice: the array says which may go into a pool (on Ceph, pools share
// the OSDs, so a disk in a pool may still be chosen).
function diskChoices(disks) {
  return disks.map((d) => [d.id, `${slot(d)} ${d.type}, ${bytes(d.capacityBytes)}, ${d.usage}`]);
}

function createPool(ctx, disks) {
  return ctx.formChange(formDialog({
    title: "Create a pool",
    submitLabel: "Create",
    fields: [
      { name: "name", label: "Name", required: true },
      { name: "raidlevel", label: "RAID level", type: "select", value: "RAID 5",
        options: RAID_LEVELS.map((level) => [level, level]) },
      { name: "type", label: "Provisioning", type: "select", value: "thick",
        options: [["thick", "Thick"], ["thin", "Thin"]] },
      { name: "diskids", label: "Disks", type: "checkboxes", options: diskChoices(disks) },
      { name: "force", label: "Also use disks that hold a file system", type: "checkbox" },
    ],
    submit: (v) => post("rest/storage/createpool", {
      name: v.name, raidlevel: v.raidlevel, type: v.type, diskids: v.diskids.join(","),
      force: v.force ? "yes" : "no",
    }),
  }), (pool) => `Pool ${pool.name} created.`);
}

function addDisks(ctx, pool, disks) {
  return ctx.formChange(formDialog({
    title: `Add disks to pool ${pool.name}`,
    submitLabel: "Add",
    fields: [{ name: "diskids", label: "Disks", type: "checkboxes",
               options: diskChoices(disks.filter((d) => !pool.diskIds.includes(d.id))) }],
    submit: (v) => post("rest/storage/addpooldisk",
      { poolid: pool.id, diskids: v.diskids.join(",") }),
  }), `Disks added to pool ${pool.name}.`);
}

function deletePool(ctx, pool) {
  return ctx.confirmed({
    title: `Delete pool ${pool.name}?`,
    message: `Pool ${pool.name} and its RAID configuration are removed; its disks become free.`,
    confirmLabel: "Delete pool",
  }, () => post("rest/storage/deletepool", { poolid: pool.id }), `Pool ${pool.name} deleted.`);
}

export async function render(ctx) {
  const [pools, disks] = await Promise.all([get("rest/storage/poolinfo"),
                                            get("rest/storage/diskinfo")]);
  const byId = new Map(disks.map((d) => [d.id, d]));
  const columns = [
    { label: "Name", value: (p) => p.name },
    { label: "RAID", value: (p) => p.raidLevel },
    { label: "Type", value: (p) => p.type },
    { label: "Health", value: (p) => badge(p.health) },
    { label: "Status", value: (p) => badge(p.status) },
    { label: "Used", value: (p) => usage(p.usedBytes, p.capacityBytes) },
    { label: "Free", value: (p) => bytes(p.freeBytes), class: "num" },
    { label: "Disks", value: (p) => p.diskIds.map((id) => (byId.has(id) ? slot(byId.get(id)) : id))
      .join(", ") },
    { label: "Volumes", value: (p) => p.volumeCount, class: "num" },
  ];
  if (ctx.admin) {
    columns.push({ label: "", class: "actions", value: (p) => [
      button("Add disks", () => addDisks(ctx, p, disks)),
      button("Delete", () => deletePool(ctx, p), { kind: "danger" }),
    ] });
  }
  return el("div", {},
    el("div", { class: "title" }, el("h1", {}, "Pools"),
      ctx.admin ? button("Create pool", () => createPool(ctx, disks), { kind: "primary" }) : null),
    table(columns, pools, { empty: "No pools.", rowAttributes: (p) => ({ "data-pool": p.name }) }));
}
