"""How the CLI shows an array to a person: rich tables, health in colour, capacity bars.

Scripts use `--json` instead, which prints the array's own JSON; nothing here is an interface.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from opensan.client.models import SanosObject

# What the array says is shown as it is: no rich markup ("[/name/<name>]" is a path) nor emoji codes.
out = Console(highlight=False, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, markup=False, emoji=False)

# QSAN's state words (api-contract.md, "Conventions"), by how worried an operator should be.
_GOOD = {"good", "optimal", "online", "normal", "ok", "active", "read-write"}
_BUSY = {"degraded", "warning", "rebuilding", "rebuild", "partially optimal", "initiating",
         "transition", "scrubbing", "migrate", "rollback", "parity checking", "read errors"}
_BAD = {"failed", "offline", "missing", "error", "error alert"}
_LEVELS = {"INFO": "cyan", "WARNING": "yellow", "ERROR": "bold red"}


def print_json(data: SanosObject | Sequence[SanosObject] | dict[str, Any] | list[Any]) -> None:
    """The array's answer as JSON on stdout, with the fields this client does not know: parsed
    objects as they came (`to_wire()`), or JSON as it came (`SanosClient.raw`)."""
    typer.echo(json.dumps(_wire(data), indent=2, ensure_ascii=False))


def _wire(data: Any) -> Any:
    if isinstance(data, list | tuple):
        return [_wire(item) for item in data]
    # Plain JSON needs no models: checking for SanosObject would import them (and pydantic).
    return data if isinstance(data, dict) else data.to_wire()


def say(message: str) -> None:
    """A sentence for a person, on stdout."""
    out.print(message, soft_wrap=True)


def warn(message: str) -> None:
    err.print(f"opensan: warning: {message}", style="yellow", soft_wrap=True)


def state(word: str) -> Text:
    """A health or status word in green, yellow or red."""
    key = word.lower()
    style = "green" if key in _GOOD else "yellow" if key in _BUSY else "bold red" if key in _BAD else ""
    return Text(word, style=style)


def condition(health: str, status: str) -> Text:
    """Health, and the status only when it says more than `Online`: one column, not two."""
    shown = state(health)
    if status.lower() != "online":
        shown.append(" ")
        shown.append_text(state(status))
    return shown


def level(word: str) -> Text:
    return Text(word, style=_LEVELS.get(word.upper(), ""))


def size(count: int) -> str:
    """Bytes in binary units, as the array's GiB sizes are: 21474836480 -> '20 GiB'."""
    value, unit = float(count), "B"
    for larger in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024:
            break
        value, unit = value / 1024, larger
    text = f"{value:.0f}" if unit == "B" else f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}"


def capacity_bar(used: int, total: int, width: int = 10) -> Text:
    """`███░░░░░░░  31%`: green below 70 %, yellow below 90 %, red from there."""
    if total <= 0:
        return Text("-", style="dim")
    fraction = min(max(used / total, 0.0), 1.0)
    filled = round(fraction * width)
    style = "green" if fraction < 0.7 else "yellow" if fraction < 0.9 else "bold red"
    bar = Text("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    bar.append(f" {fraction:4.0%}")
    return bar


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days}d {hours}h {rest // 60}m" if days else f"{hours}h {rest // 60}m"


def number_ranges(numbers: Iterable[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7': 254 free LUNs in one short line."""
    ranges: list[list[int]] = []
    for number in sorted(numbers):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges) or "none"


_NUMERIC = {"ID", "Disk ID", "Volume ID", "Slot", "LUN", "LUNs", "Target", "Controller", "Size",
            "Capacity", "Used", "Free", "Disks", "Volumes", "Snapshots", "Temp °C",
            "Power-on hours", "Memory", "Value", "Worst", "Threshold", "Raw"}
# Free text may wrap at word boundaries; every other column (IDs and names a person copies into
# the next command, sizes, states) stays whole, so a narrow terminal squeezes only these.
_WRAPPING = {"Message", "What it does", "Hosts", "Portals", "Model", "CPU", "Host cards",
             "Attributes", "Snapshot space", "Path"}


def table(title: str | None, *columns: str) -> Table:
    """A table with numbers right-aligned and only free text wrapping."""
    grid = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                 pad_edge=False)
    for column in columns:
        grid.add_column(column, justify="right" if column in _NUMERIC else "left",
                        no_wrap=column not in _WRAPPING)
    return grid


def facts(title: str, rows: Sequence[tuple[str, str | Text]]) -> Table:
    """A two-column table of names and values, for one object."""
    grid = Table(title=title, title_justify="left", show_header=False)
    grid.add_column(style="bold")
    grid.add_column()
    for name, value in rows:
        grid.add_row(name, value)
    return grid


_UNBOUNDED = 10_000  # measure what a table needs, not what the terminal has


def show(grid: Table) -> None:
    """Columns that stay whole never shrink, none is dropped; piped, lines are as long as they are."""
    unbounded = out.options.update_width(_UNBOUNDED)
    for column in grid.columns:
        if column.no_wrap:
            column.min_width = max(Measurement.get(out, unbounded, cell).maximum
                                   for cell in (column.header, *column.cells))
    # Too narrow a terminal would make rich drop whole columns: rather let the lines run over.
    needed = Measurement.get(out, unbounded, grid)
    width = needed.minimum if out.is_terminal else needed.maximum
    if width > out.width:
        grid.width = width
    out.print(grid, crop=False)
