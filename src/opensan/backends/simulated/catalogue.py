"""The XCubeSAN models a simulated array can be, as the SANOS manual lists them.

The model fixes what a client sees of the hardware: how many controllers and bays, the chassis,
the controller CPU and memory, and how the write cache survives a power loss.
"""

from __future__ import annotations

from dataclasses import dataclass

from opensan.domain.errors import InvalidArgument


@dataclass(frozen=True)
class ModelSpec:
    name: str
    series: str  # "XS5200" | "XS3200" | "XS1200"
    controllers: int
    form_factor: str  # "LFF" | "SFF"
    bays: int
    rack_units: int
    cpu: str
    memory_gb: int  # per controller
    cache_protection: str  # "Super Capacitor" | "Battery Backup"
    fans: int
    psus: int

    @property
    def chassis(self) -> str:
        """The manual's words for the chassis, e.g. "SFF 26-disk 2U Chassis"."""
        return f"{self.form_factor} {self.bays}-disk {self.rack_units}U Chassis"


@dataclass(frozen=True)
class _Series:
    cpu: str
    memory_gb: int
    cache_protection: str


_SERIES = {
    "XS5200": _Series("Intel(R) Xeon(R) Processor D-1500 4 Cores", 8, "Super Capacitor"),
    "XS3200": _Series("Intel(R) Xeon(R) Processor D-1500 2 Cores", 4, "Super Capacitor"),
    "XS1200": _Series("Intel(R) Pentium(R) Processor D1508 2 Cores", 4, "Battery Backup"),
}

# Cooling modules per chassis height; every chassis has two redundant power supplies.
_FANS_BY_RACK_UNITS = {2: 2, 3: 3, 4: 4}
_PSUS = 2

# The manual's table of the 22 models: name, form factor, bays, rack units.
_MANUAL_TABLE = (
    ("XS5224D", "LFF", 24, 4),
    ("XS3224D", "LFF", 24, 4),
    ("XS3224S", "LFF", 24, 4),
    ("XS1224D", "LFF", 24, 4),
    ("XS1224S", "LFF", 24, 4),
    ("XS5216D", "LFF", 16, 3),
    ("XS3216D", "LFF", 16, 3),
    ("XS3216S", "LFF", 16, 3),
    ("XS1216D", "LFF", 16, 3),
    ("XS1216S", "LFF", 16, 3),
    ("XS5212D", "LFF", 12, 2),
    ("XS5212S", "LFF", 12, 2),
    ("XS3212D", "LFF", 12, 2),
    ("XS3212S", "LFF", 12, 2),
    ("XS1212D", "LFF", 12, 2),
    ("XS1212S", "LFF", 12, 2),
    ("XS5226D", "SFF", 26, 2),
    ("XS5226S", "SFF", 26, 2),
    ("XS3226D", "SFF", 26, 2),
    ("XS3226S", "SFF", 26, 2),
    ("XS1226D", "SFF", 26, 2),
    ("XS1226S", "SFF", 26, 2),
)


def _model(name: str, form_factor: str, bays: int, rack_units: int) -> ModelSpec:
    """Derive the rest from the name: "XS52.." is the XS5200 series, a trailing D is dual."""
    series = f"{name[:4]}00"
    hardware = _SERIES[series]
    return ModelSpec(
        name=name,
        series=series,
        controllers=2 if name.endswith("D") else 1,
        form_factor=form_factor,
        bays=bays,
        rack_units=rack_units,
        cpu=hardware.cpu,
        memory_gb=hardware.memory_gb,
        cache_protection=hardware.cache_protection,
        fans=_FANS_BY_RACK_UNITS[rack_units],
        psus=_PSUS,
    )


MODELS: dict[str, ModelSpec] = {row[0]: _model(*row) for row in _MANUAL_TABLE}
DEFAULT_MODEL = "XS5226D"


def get_model(name: str) -> ModelSpec:
    """Look a model up by name, ignoring case, so "xs5226d" in a profile or flag works too."""
    spec = MODELS.get(name.strip().upper())
    if spec is None:
        raise InvalidArgument(
            f"Unknown model {name[:40]!r}; choose one of: {', '.join(sorted(MODELS))}."
        )
    return spec
