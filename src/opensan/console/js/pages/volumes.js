// Volumes, and one volume with its snapshots and LUN mappings; administrators create,
// extend and delete volumes, set snapshot space, take, roll back and delete snapshots and map
// them.

import { get, post } from "../api.js";
import { badge, bytes, button, details, el, formDialog, gib, section, table, usage, when } from "../ui.js";
import { mapDialog, unmap } from "./targets.js";

function createVolume(ctx, pools) {
  return ctx.formChange(formDialog({
    title: "Create a volume",
    submitLabel: "Create",
    fields: [
      { name: "poolid", label: "Pool", type: "select", options: pools.map((p) => [p.id, p.name]) },
      { name: "name", label: "Name", required: true },
      { name: "sizegb", label: "Size (GiB)", type: "number", min: 1, required: true },
      { name: "provision", label: "Provisioning", type: "select", value: "",
        options: [["", "As the pool"], ["thick", "Thick"], ["thin", "Thin"]] },
    ],
    submit: (v) => post("rest/storage/createvolume", {
      poolid: v.poolid, name: v.name, sizegb: v.sizegb, ...(v.provision && { provision: v.provision }),
    }),
  }), (volume) => `Volume ${volume.name} created.`);
}

function extendVolume(ctx, volume) {
  return ctx.formChange(formDialog({
    title: `Extend volume ${volume.name}`,
    submitLabel: "Extend",
    fields: [{ name: "sizegb", label: "New size (GiB)", type: "number", min: 1, required: true,
               value: gib(volume.capacityBytes), help: `Now ${bytes(volume.capacityBytes)}.` }],
    submit: (v) => post("rest/storage/extendvolume", { vdid: volume.id, sizegb: v.sizegb }),
  }), (answer) => `Volume ${answer.name} is now ${bytes(answer.capacityBytes)}.`);
}

function snapshotSpace(ctx, volume) {
  return ctx.formChange(formDialog({
    title: `Snapshot space of volume ${volume.name}`,
    submitLabel: "Set",
    fields: [{ name: "sizegb", label: "Snapshot space (GiB); 0 removes it", type: "number",
               min: 0, required: true, value: gib(volume.snapshotSpaceBytes),
               help: `Now ${bytes(volume.snapshotSpaceBytes)}, ${bytes(volume.snapshotUsedBytes)} used.` }],
    submit: (v) => post("rest/storage/snapspace", { vdid: volume.id, sizegb: v.sizegb }),
  }), `Snapshot space of volume ${volume.name} set.`);
}

function takeSnapshot(ctx, volume) {
  return ctx.formChange(formDialog({
    title: `Take a snapshot of volume ${volume.name}`,
    submitLabel: "Take snapshot",
    fields: [{ name: "name", label: "Name", help: "Leave empty for a name from the time." }],
    submit: (v) => post("rest/storage/snapshot", { vdid: volume.id, ...(v.name && { name: v.name }) }),
  }), (snapshot) => `Snapshot ${snapshot.name} of volume ${volume.name} taken.`);
}

function deleteVolume(ctx, volume) {
  return ctx.confirmed({
    title: `Delete volume ${volume.name}?`,
    message: `Volume ${volume.name} and all its data (${bytes(volume.capacityBytes)}) are deleted. This cannot be undone.`,
    confirmLabel: "Delete volume",
  }, () => post("rest/storage/deletevolume", { vdid: volume.id }), `Volume ${volume.name} deleted.`,
  ctx.name === "volume" ? "#/volumes" : null);
}

function volumeActions(ctx, volume, targets) {
  return [
    button("Extend", () => extendVolume(ctx, volume)),
    button("Snapshot space", () => snapshotSpace(ctx, volume)),
    button("Take snapshot", () => takeSnapshot(ctx, volume)),
    button("Map", () => mapDialog(ctx, targets, { volume })),
    button("Delete", () => deleteVolume(ctx, volume), { kind: "danger" }),
  ];
}

function rollback(ctx, volume, snapshot) {
  return ctx.confirmed({
    title: `Roll volume ${volume.name} back to ${snapshot.name}?`,
    message: `The data of volume ${volume.name} becomes what it was at ${when(snapshot.createdAt)}; `
      + "snapshots taken after it are deleted. Hosts should stop using the volume first.",
    confirmLabel: "Roll back",
  }, () => post("rest/storage/rollback", { snapid: snapshot.id }),
  `Volume ${volume.name} rolled back to snapshot ${snapshot.name}.`);
}

function deleteSnapshot(ctx, volume, snapshot) {
  return ctx.confirmed({
    title: `Delete snapshot ${snapshot.name}?`,
    message: `Snapshot ${snapshot.name} of volume ${volume.name} is deleted. This cannot be undone.`,
    confirmLabel: "Delete snapshot",
  }, () => post("rest/storage/deletesnapshot", { snapid: snapshot.id }),
  `Snapshot ${snapshot.name} deleted.`);
}

async function renderList(ctx) {
  const [volumes, pools, targets] = await Promise.all([
    get("rest/storage/volumeinfo"), get("rest/storage/poolinfo"),
    ctx.admin ? get("rest/storage/availtarget") : [],
  ]);
  const poolName = new Map(pools.map((p) => [p.id, p.name]));
  const columns = [
    { label: "Name", value: (v) => el("a", { href: `#/volume/${v.id}` }, v.name) },
    { label: "Pool", value: (v) => poolName.get(v.poolId) ?? v.poolId },
    { label: "Capacity", value: (v) => bytes(v.capacityBytes), class: "num" },
    { label: "Provision", value: (v) => v.provision },
    { label: "Health", value: (v) => badge(v.health) },
    { label: "Status", value: (v) => badge(v.status) },
    { label: "Snapshot space", value: (v) => usage(v.snapshotUsedBytes, v.snapshotSpaceBytes) },
    { label: "Snapshots", value: (v) => v.snapshotCount, class: "num" },
    { label: "Mapped", value: (v) => (v.mapped ? "yes" : "no") },
  ];
  if (ctx.admin) columns.push({ label: "", class: "actions", value: (v) => volumeActions(ctx, v, targets) });
  return el("div", {},
    el("div", { class: "title" }, el("h1", {}, "Volumes"),
      ctx.admin ? button("Create volume", () => createVolume(ctx, pools), { kind: "primary" }) : null),
    table(columns, volumes, { empty: "No volumes.", rowAttributes: (v) => ({ "data-volume": v.name }) }));
}

async function renderVolume(ctx) {
  const [volumes, pools, mappings, targets] = await Promise.all([
    get("rest/storage/volumeinfo"), get("rest/storage/poolinfo"),
    get("rest/storage/lunmappinginfo"), get("rest/storage/availtarget"),
  ]);
  const volume = volumes.find((v) => String(v.id) === ctx.id);
  if (!volume) {
    return el("p", { class: "error" }, `No volume has ID ${ctx.id}. `, el("a", { href: "#/volumes" }, "All volumes"));
  }
  const snapshots = await get(`rest/storage/snapshot/vdid/${volume.id}`);
  const pool = pools.find((p) => p.id === volume.poolId);
  const snapshotColumns = [
    { label: "Name", value: (s) => s.name },
    { label: "Taken", value: (s) => when(s.createdAt), class: "nowrap" },
    { label: "Holds", value: (s) => bytes(s.usedBytes), class: "num" },
    { label: "Status", value: (s) => badge(s.status) },
  ];
  if (ctx.admin) {
    snapshotColumns.push({ label: "", class: "actions", value: (s) => [
      button("Map read-only", () => mapDialog(ctx, targets, { volume, snapshot: s })),
      button("Roll back", () => rollback(ctx, volume, s), { kind: "danger" }),
      button("Delete", () => deleteSnapshot(ctx, volume, s), { kind: "danger" }),
    ] });
  }
  const mine = mappings.filter((m) => m.volumeId === volume.id);
  const mappingColumns = [
    { label: "Target", value: (m) => targets.find((t) => t.id === m.targetId)?.name ?? m.targetId },
    { label: "LUN", value: (m) => m.lun, class: "num" },
    { label: "What", value: (m) => (m.snapshotName ? `snapshot ${m.snapshotName}` : "the volume") },
    { label: "Permission", value: (m) => m.permission },
    { label: "Hosts", value: (m) => m.hosts.join(", "), class: "wrap" },
  ];
  if (ctx.admin) {
    mappingColumns.push({ label: "", class: "actions",
                          value: (m) => button("Unmap", () => unmap(ctx, m), { kind: "danger" }) });
  }
  return el("div", {},
    el("p", { class: "crumbs" }, el("a", { href: "#/volumes" }, "Volumes"), " › ", volume.name),
    el("div", { class: "title" }, el("h1", {}, `Volume ${volume.name}`),
      ctx.admin ? el("span", { class: "actions" }, volumeActions(ctx, volume, targets)) : null),
    section("Properties", details([
      ["Health", badge(volume.health)], ["Status", badge(volume.status)],
      ["Pool", pool ? `${pool.name} (${volume.raidLevel})` : String(volume.poolId)],
      ["Capacity", bytes(volume.capacityBytes)],
      ["Written", volume.provision === "Thin" ? usage(volume.usedBytes, volume.capacityBytes)
        : `${bytes(volume.usedBytes)} (thick: allocated in full)`],
      ["Provision", volume.provision], ["Cache", volume.cacheMode], ["WWN", volume.wwn],
      ["ID", String(volume.id)],
    ])),
    section("Snapshots",
      el("p", {}, "Snapshot space: ", usage(snapshots.snapshotUsedBytes, snapshots.snapshotSpaceBytes)),
      table(snapshotColumns, snapshots.snapshots, {
        empty: volume.snapshotSpaceBytes ? "No snapshots." : "No snapshots; the volume has no snapshot space.",
        rowAttributes: (s) => ({ "data-snapshot": s.name }),
      })),
    section("LUN mappings", table(mappingColumns, mine, {
      empty: "Not mapped.", rowAttributes: (m) => ({ "data-mapping": `${m.targetId}:${m.lun}` }),
    })));
}

export function render(ctx) {
  return ctx.name === "volume" ? renderVolume(ctx) : renderList(ctx);
}
