// The dashboard: the system and its health, the sensors, the pools' capacity, recent events.

import { get } from "../api.js";
import { badge, bytes, details, duration, el, section, table, usage, when } from "../ui.js";
import { eventTable } from "./events.js";

const RECENT_EVENTS = 10;

function sensorValue(sensor) {
  return sensor.unit ? `${sensor.value} ${sensor.unit}` : String(sensor.value);
}

export async function render() {
  const [system, hardware, pools, volumes, log] = await Promise.all([
    get("rest/dashboard/systeminfo"), get("rest/dashboard/hwmonitor"),
    get("rest/storage/poolinfo"), get("rest/storage/volumeinfo"), get("rest/log/list/1"),
  ]);
  const capacity = pools.reduce((sum, pool) => sum + pool.capacityBytes, 0);
  const used = pools.reduce((sum, pool) => sum + pool.usedBytes, 0);
  const sensors = hardware.enclosures.flatMap((enclosure) =>
    enclosure.sensors.map((sensor) => ({ ...sensor, enclosure: enclosure.name })));
  const troubled = sensors.filter((sensor) => sensor.status !== "Good");
  return el("div", { class: "dashboard" },
    el("h1", {}, "Dashboard"),
    el("div", { class: "grid" },
      section("System",
        details([
          ["Health", badge(system.systemHealth)],
          ["Name", system.systemName],
          ["Model", `${system.modelName} (${system.formFactor})`],
          ["Serial number", system.serialNumber],
          ["Firmware", system.firmwareVersion],
          ["Controllers", system.controllerMode],
          ["Array time", when(system.time)],
          ["Up for", duration(system.uptimeSeconds)],
        ])),
      section("Capacity",
        details([
          ["Pools", `${pools.length}`],
          ["Volumes", `${volumes.length}`],
          ["Used", usage(used, capacity)],
          ["Free", bytes(capacity - used)],
        ]),
        table([
          { label: "Pool", value: (pool) => el("a", { href: "#/pools" }, pool.name) },
          { label: "Health", value: (pool) => badge(pool.health) },
          { label: "Used", value: (pool) => usage(pool.usedBytes, pool.capacityBytes) },
        ], pools, { empty: "No pools." }))),
    section("Controllers", table([
      { label: "Slot", value: (c) => c.slot },
      { label: "Status", value: (c) => badge(c.status) },
      { label: "Serial number", value: (c) => c.serialNumber },
      { label: "CPU", value: (c) => c.cpu },
      { label: "Memory", value: (c) => `${c.memoryGB} GB` },
      { label: "Firmware", value: (c) => c.firmwareVersion },
    ], system.controllers)),
    section(`Sensors (${hardware.systemHealth}${troubled.length ? `, ${troubled.length} not good` : ""})`,
      table([
        { label: "Sensor", value: (s) => s.name },
        { label: "Where", value: (s) => `${s.enclosure}, ${s.location}` },
        { label: "Type", value: (s) => s.type },
        { label: "Reading", value: sensorValue, class: "num" },
        { label: "Status", value: (s) => badge(s.status) },
      ], sensors, { empty: "No sensors.", rowAttributes: (s) => ({ "data-sensor": s.id }) })),
    section("Recent events",
      eventTable(log.events.slice(0, RECENT_EVENTS)),
      el("p", {}, el("a", { href: "#/events" }, `All ${log.total} events`))));
}
