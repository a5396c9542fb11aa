"""Performance (extensions): IOPS, MB/s and latency of the array, its pools, volumes, disks and
ports, now and over a window, from the I/O counters the backend keeps (service/performance.py).
SANOS shows these in its web UI's performance monitor; its RESTful API has none."""

from __future__ import annotations

from opensan.api.endpoint import Call, Endpoint, Kind, Param
from opensan.api.schemas import (
    DISK_PERFORMANCE_LIST,
    POOL_PERFORMANCE_LIST,
    PORT_PERFORMANCE_LIST,
    VOLUME_PERFORMANCE_LIST,
    ArrayPerformanceOut,
    DiskPerformanceOut,
    FiguresOut,
    IoRatesOut,
    PoolPerformanceOut,
    PortPerformanceOut,
    VolumePerformanceOut,
)
from opensan.service.io_history import MAX_WINDOW_SECONDS
from opensan.service.performance import DEFAULT_WINDOW_SECONDS, Figures, Report

WINDOW = Param("window", Kind.NUMBER,
               f"Seconds the window figures cover, 1-{MAX_WINDOW_SECONDS} (default "
               f"{DEFAULT_WINDOW_SECONDS})", required=False,
               schema={"minimum": 1, "maximum": MAX_WINDOW_SECONDS})


def _report(call: Call) -> Report:
    return call.service.performance.report(call.params.get("window", DEFAULT_WINDOW_SECONDS))


def _figures(figures: Figures) -> dict[str, IoRatesOut | None]:
    out = FiguresOut.from_domain(figures)
    return {"now": out.now, "window": out.window}


async def array_performance(call: Call) -> ArrayPerformanceOut:
    return ArrayPerformanceOut.from_report(_report(call))


async def pool_performance(call: Call) -> bytes:
    return POOL_PERFORMANCE_LIST.dump_json([
        PoolPerformanceOut(pool_id=pool.id, name=pool.name,
                           **_figures(figures))
        for pool, figures in _report(call).pools], by_alias=True)


async def volume_performance(call: Call) -> bytes:
    return VOLUME_PERFORMANCE_LIST.dump_json([
        VolumePerformanceOut(volume_id=volume.id, name=volume.name, pool_id=volume.pool_id,
                             **_figures(figures))
        for volume, figures in _report(call).volumes], by_alias=True)


async def disk_performance(call: Call) -> bytes:
    return DISK_PERFORMANCE_LIST.dump_json([
        DiskPerformanceOut(disk_id=disk.id, enclosure_id=disk.enclosure_id, slot=disk.slot,
                           **_figures(figures))
        for disk, figures in _report(call).disks], by_alias=True)


async def port_performance(call: Call) -> bytes:
    return PORT_PERFORMANCE_LIST.dump_json([
        PortPerformanceOut(port=port.address, controller=port.controller,
                           **_figures(figures))
        for port, figures in _report(call).ports], by_alias=True)


ENDPOINTS = [
    Endpoint("GET", "/rest/performance/array", "Show the array's IOPS, MB/s and latency, now "
             "and over a window.", array_performance, params=(WINDOW,), extension=True,
             response=ArrayPerformanceOut),
    Endpoint("GET", "/rest/performance/pool", "Show each pool's IOPS, MB/s and latency.",
             pool_performance, params=(WINDOW,), extension=True,
             response=list[PoolPerformanceOut]),
    Endpoint("GET", "/rest/performance/volume", "Show each volume's IOPS, MB/s and latency.",
             volume_performance, params=(WINDOW,), extension=True,
             response=list[VolumePerformanceOut]),
    Endpoint("GET", "/rest/performance/disk", "Show each disk's IOPS, MB/s and latency.",
             disk_performance, params=(WINDOW,), extension=True,
             response=list[DiskPerformanceOut]),
    Endpoint("GET", "/rest/performance/port", "Show each port's IOPS, MB/s and latency.",
             port_performance, params=(WINDOW,), extension=True,
             response=list[PortPerformanceOut]),
]
