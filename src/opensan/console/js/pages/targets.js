// iSCSI targets and the LUN mappings; administrators create and delete targets and map and
// unmap LUNs.

import { get, post } from "../api.js";
import { button, el, formDialog, section, table } from "../ui.js";

// Map a volume (or one of its snapshots, read-only) to a LUN. Without a volume given, the
// dialog asks which of volumes. The LUN starts at the target's lowest free one.
export async function mapDialog(ctx, targets, { volume, snapshot, volumes = [] }) {
  const free = new Map((await Promise.all(targets.map((t) => get(`rest/storage/availlun/targetid/${t.id}`))))
    .map((answer) => [String(answer.targetId), answer.freeLuns]));
  const firstFree = (target) => free.get(String(target))?.[0] ?? 0;
  const fields = [];
  if (!volume) {
    fields.push({ name: "vdid", label: "Volume", type: "select", options: volumes.map((v) => [v.id, v.name]) });
  }
  fields.push(
    { name: "targetid", label: "Target", type: "select", options: targets.map((t) => [t.id, `${t.name} (${t.iqn})`]) },
    { name: "lun", label: "LUN", type: "number", min: 0, required: true, value: firstFree(targets[0]?.id) },
    { name: "host", label: "Hosts", value: "*", required: true,
      help: "Initiator IQNs, comma-separated, or * for every host." },
  );
  if (!snapshot) {
    fields.push({ name: "permission", label: "Permission", type: "select", value: "rw",
                  options: [["rw", "Read-write"], ["ro", "Read-only"]] });
  }
  let target = null;
  const what = snapshot ? `snapshot ${snapshot.name}` : volume ? `volume ${volume.name}` : "a volume";
  return ctx.formChange(formDialog({
    title: `Map ${what}`,
    submitLabel: "Map",
    fields,
    changed(form) {
      if (form.elements.targetid.value !== target) {
        target = form.elements.targetid.value;
        form.elements.lun.value = firstFree(target);
      }
    },
    submit: (v) => (snapshot
      ? post("rest/storage/mapsnapshot", { targetid: v.targetid, lun: v.lun, snapid: snapshot.id, host: v.host })
      : post("rest/storage/maplun", { targetid: v.targetid, lun: v.lun, vdid: volume?.id ?? v.vdid,
                                        permission: v.permission, host: v.host })),
  }), (m) => `${m.snapshotName ? `Snapshot ${m.snapshotName}` : `Volume ${m.volumeName}`} mapped to LUN ${m.lun} of target ${m.targetId}.`);
}

export function unmap(ctx, mapping) {
  const what = mapping.snapshotName ? `snapshot ${mapping.snapshotName}` : `volume ${mapping.volumeName}`;
  return ctx.confirmed({
    title: `Unmap LUN ${mapping.lun} of target ${mapping.targetId}?`,
    message: `Hosts lose their path to ${what} through this LUN.`,
    confirmLabel: "Unmap",
  }, () => post("rest/storage/unmaplun", { targetid: mapping.targetId, lun: mapping.lun }),
  `LUN ${mapping.lun} of target ${mapping.targetId} unmapped.`);
}

function createTarget(ctx, controllers) {
  return ctx.formChange(formDialog({
    title: "Create an iSCSI target",
    submitLabel: "Create",
    fields: [
      { name: "controller", label: "Controller", type: "select",
        options: controllers.map((c) => [c.slot, `Controller ${c.slot}`]) },
      { name: "node", label: "Node", type: "number", min: 0, help: "Leave empty for the lowest free." },
      { name: "name", label: "Alias", help: "Leave empty for the default." },
    ],
    submit: (v) => post("rest/storage/createtarget", {
      controller: v.controller, ...(v.node !== "" && { node: v.node }), ...(v.name && { name: v.name }),
    }),
  }), (t) => `Target ${t.id} (${t.iqn}) created.`);
}

function deleteTarget(ctx, target) {
  return ctx.confirmed({
    title: `Delete target ${target.name}?`,
    message: `Target ${target.id} (${target.iqn}) is deleted; initiators can no longer log in to it.`,
    confirmLabel: "Delete target",
  }, () => post("rest/storage/deletetarget", { targetid: target.id }), `Target ${target.id} deleted.`);
}

export async function render(ctx) {
  const [targets, mappings, volumes, system] = await Promise.all([
    get("rest/storage/availtarget"), get("rest/storage/lunmappinginfo"),
    get("rest/storage/volumeinfo"), get("rest/dashboard/systeminfo"),
  ]);
  const targetColumns = [
    { label: "ID", value: (t) => t.id, class: "num" },
    { label: "Name", value: (t) => t.name },
    { label: "IQN", value: (t) => t.iqn, class: "mono" },
    { label: "Controller", value: (t) => t.controller, class: "num" },
    { label: "Node", value: (t) => t.node, class: "num" },
    { label: "Portals", value: (t) => t.portals.join(", "), class: "wrap" },
    { label: "LUNs", value: (t) => t.lunCount, class: "num" },
  ];
  const mappingColumns = [
    { label: "Target", value: (m) => targets.find((t) => t.id === m.targetId)?.name ?? m.targetId },
    { label: "LUN", value: (m) => m.lun, class: "num" },
    { label: "Volume", value: (m) => el("a", { href: `#/volume/${m.volumeId}` }, m.volumeName) },
    { label: "Snapshot", value: (m) => m.snapshotName ?? "" },
    { label: "Permission", value: (m) => m.permission },
    { label: "Hosts", value: (m) => m.hosts.join(", "), class: "wrap" },
    { label: "Protocol", value: (m) => m.protocol },
  ];
  if (ctx.admin) {
    targetColumns.push({ label: "", class: "actions",
                         value: (t) => button("Delete", () => deleteTarget(ctx, t), { kind: "danger" }) });
    mappingColumns.push({ label: "", class: "actions",
                          value: (m) => button("Unmap", () => unmap(ctx, m), { kind: "danger" }) });
  }
  return el("div", {},
    el("div", { class: "title" }, el("h1", {}, "Targets and LUN mappings"),
      ctx.admin ? el("span", { class: "actions" },
        button("Map a LUN", () => mapDialog(ctx, targets, { volumes }), { kind: "primary" }),
        button("Create target", () => createTarget(ctx, system.controllers))) : null),
    section("Targets", table(targetColumns, targets, {
      empty: "No targets.", rowAttributes: (t) => ({ "data-target": t.id }) })),
    section("LUN mappings", table(mappingColumns, mappings, {
      empty: "No LUNs are mapped.", rowAttributes: (m) => ({ "data-mapping": `${m.targetId}:${m.lun}` }) })));
}
