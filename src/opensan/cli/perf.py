"""`opensan perf`: the array's IOPS, MB/s and latency, live in the terminal (or once, as JSON).

The figures come from the performance extensions (docs/api.md, "Performance"); each refresh is
five GETs on the saved session. Nothing here is an interface: scripts use `--json`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.table import Table

from opensan.cli import render
from opensan.cli.commands import JsonOutput, connect, reports_errors
from opensan.client import RawReads, SanosClient

if TYPE_CHECKING:
    from opensan.client.models import IoRates, PerformanceFigures

_COLUMNS = ("IOPS r/w", "MB/s r/w", "Latency ms r/w")


def _pair(read: float | None, write: float | None, digits: int) -> str:
    def one(value: float | None) -> str:
        return "-" if value is None else f"{value:,.{digits}f}"
    return f"{one(read)} / {one(write)}"


def _cells(rates: IoRates | None) -> list[str]:
    if rates is None:
        return ["-"] * len(_COLUMNS)
    return [_pair(rates.read_iops, rates.write_iops, 0),
            _pair(rates.read_mb_per_second, rates.write_mb_per_second, 1),
            _pair(rates.read_latency_ms, rates.write_latency_ms, 2)]


def _table(title: str, heading: tuple[str, ...],
           rows: list[tuple[list[str], PerformanceFigures]], window: str) -> Table:
    grid = render.table(title, *heading, *(f"{c} now" for c in _COLUMNS),
                        *(f"{c} {window}" for c in _COLUMNS))
    for column in grid.columns[len(heading):]:
        column.justify = "right"
    for names, figures in rows:
        grid.add_row(*names, *_cells(figures.now), *_cells(figures.window))
    return grid


def _fetch(array: SanosClient | RawReads, window: int) -> dict[str, Any]:
    """The five reads, parsed (SanosClient) or the array's JSON (its `raw`, for --json)."""
    return {"array": array.array_performance(window), "pools": array.pool_performance(window),
            "volumes": array.volume_performance(window), "disks": array.disk_performance(window),
            "ports": array.port_performance(window)}


def _tables(found: dict[str, Any]) -> list[Table]:
    overall = found["array"]
    window = f"{overall.window_seconds}s"
    since = render.when(overall.counting_started_at) if overall.counting_started_at else "-"
    taken = render.when(overall.taken_at) if overall.taken_at else "-"
    tables = [_table(f"Array (counting since {since} UTC, read at {taken} UTC)", (),
                     [([], overall)], window)]
    if found["pools"]:
        tables.append(_table("Pools", ("Pool",), [([p.name], p) for p in found["pools"]], window))
    if found["volumes"]:
        tables.append(_table("Volumes", ("Volume",),
                             [([v.name], v) for v in found["volumes"]], window))
    if found["disks"]:
        tables.append(_table("Disks", ("Slot",), [([f"{d.enclosure_id}:{d.slot}"], d)
                                                  for d in found["disks"]], window))
    if found["ports"]:
        tables.append(_table("Ports", ("Port", "Controller"),
                             [([p.port, str(p.controller or "-")], p) for p in found["ports"]],
                             window))
    return tables


@reports_errors
def perf(
    window: Annotated[int, typer.Option(min=1, max=300, help="Seconds the window columns "
                                        "cover")] = 60,
    interval: Annotated[float, typer.Option(min=0.5, help="Seconds between refreshes")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Show the figures once and exit")] = False,
    as_json: JsonOutput = False,
) -> None:
    """Show IOPS, MB/s and latency of the array, its pools, volumes, disks and ports, now and
    over a window; live until Ctrl-C in a terminal (--json prints them once)."""
    with connect() as array:
        if as_json:
            render.print_json(_fetch(array.raw, window))
            return
        found = _fetch(array, window)
        if once or not render.out.is_terminal:
            for grid in _tables(found):
                render.show(grid)
            return
        try:
            with Live(Group(*_tables(found)), console=render.out, auto_refresh=False) as live:
                while True:
                    time.sleep(interval)
                    live.update(Group(*_tables(_fetch(array, window))), refresh=True)
        except KeyboardInterrupt:
            return


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Read the array")(perf)
