"""Build an OpenSAN state directory for the benchmarks.

Volumes, snapshot space and snapshots are created through the real ArrayService (so every rule is
checked and the state is exactly what clients could have built), on an array made from
bench/bench_profile.toml (one big RAID 5 pool, no volumes). The event log is then topped up to the
wanted size by bulk-inserting rows straight into the `events` table: that is only log volume.

    python bench/seed_state.py --state-dir /tmp/opensan-bench/s1 --volumes 1000 --snapshots 10000

A state directory that was seeded before with the same figures is reused (see `seed`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from opensan.array import open_array
from opensan.config import Settings
from opensan.domain.models import Provision
from opensan.domain.rules import MAX_SNAPSHOTS_PER_VOLUME

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_PROFILE = BENCH_DIR / "bench_profile.toml"
MARKER = "bench-seed.json"
ARRAY_SEED = 20240601
VOLUME_GB = 1
SNAPSHOT_SPACE_GB = 1

# Messages of the bulk events, cycled; the shapes of what the array itself writes.
_EVENT_TEMPLATES = (
    ("INFO", "Volume", "Hosts wrote 1 GiB to volume vol-{n:05d}."),
    ("INFO", "Account", "Account admin logged in from 10.0.{a}.{b}."),
    ("INFO", "Snapshot", "Snapshot nightly-{n:05d} of volume vol-{n:05d} taken."),
    ("WARNING", "Hardware", "Controller 1 temperature sensor 2 is Warning."),
    ("INFO", "Hardware", "Controller 1 temperature sensor 2 is Good."),
    ("INFO", "LUN", "Volume vol-{n:05d} mapped to target 0 as LUN {lun}, Read-write, hosts *."),
    ("ERROR", "Disk", "Disk in slot {lun} reported a read error."),
)


@dataclass(frozen=True)
class SeedSpec:
    volumes: int
    snapshots: int
    events: int


@dataclass(frozen=True)
class SeedResult:
    spec: SeedSpec
    state_dir: Path
    reused: bool
    objects_seconds: float
    events_seconds: float
    total_events: int

    @property
    def seconds(self) -> float:
        return self.objects_seconds + self.events_seconds


def snapshots_per_volume(volumes: int, snapshots: int) -> list[int]:
    """Spread the snapshots evenly: every volume gets S // N, the first S % N one more."""
    if volumes == 0:
        if snapshots:
            raise ValueError("Snapshots need at least one volume.")
        return []
    base, extra = divmod(snapshots, volumes)
    if base + (1 if extra else 0) > MAX_SNAPSHOTS_PER_VOLUME:
        raise ValueError(f"{snapshots} snapshots over {volumes} volumes is more than "
                         f"{MAX_SNAPSHOTS_PER_VOLUME} per volume, the array's limit.")
    return [base + (1 if i < extra else 0) for i in range(volumes)]


def _read_marker(state_dir: Path) -> SeedSpec | None:
    try:
        data = json.loads((state_dir / MARKER).read_text())
        return SeedSpec(**data)
    except (OSError, ValueError, TypeError):
        return None


def _create_objects(state_dir: Path, spec: SeedSpec, profile: Path, durable: bool) -> None:
    settings = Settings(state_dir=state_dir, profile=profile, seed=ARRAY_SEED)
    array = open_array(settings)
    try:
        if not durable:
            # Seeding only: each ArrayService change is one SQLite transaction, and with
            # synchronous=FULL every commit waits for an fsync. The data written is the same; a
            # crash during seeding would just mean seeding again. The server that is benchmarked
            # opens the file itself, with its own (FULL) setting.
            array.service.uow.store._writer.execute("PRAGMA synchronous=OFF")
        service = array.service
        (pool,) = service.pools.all()
        counts = snapshots_per_volume(spec.volumes, spec.snapshots)
        for i, count in enumerate(counts):
            view = service.volumes.create(pool.pool.id, f"vol-{i:05d}", VOLUME_GB, Provision.THICK)
            volume_id = view.volume.id
            if count:
                service.snapshots.set_space(volume_id, SNAPSHOT_SPACE_GB)
            for j in range(count):
                service.snapshots.take(volume_id, f"snap-{j:02d}")
            if (i + 1) % 500 == 0:
                print(f"  {i + 1}/{spec.volumes} volumes", flush=True)
    finally:
        array.close()


def _event_rows(first: int, count: int, start_time: float) -> Iterator[tuple[float, str, str, str]]:
    for k in range(count):
        n = first + k
        level, source, template = _EVENT_TEMPLATES[n % len(_EVENT_TEMPLATES)]
        message = template.format(n=n % 100_000, a=(n >> 8) % 256, b=n % 256, lun=n % 255)
        # One microsecond apart: IDs and times both increase.
        yield start_time + k * 1e-6, level, source, message


def _top_up_events(database: Path, wanted: int) -> int:
    """Bulk-insert events until the log holds `wanted` of them; returns the total."""
    db = sqlite3.connect(database, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        (have,) = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        missing = wanted - int(have)
        if missing > 0:
            db.execute("BEGIN IMMEDIATE")
            db.executemany(
                "INSERT INTO events (time, level, source, message) VALUES (?, ?, ?, ?)",
                _event_rows(int(have) + 1, missing, time.time()),
            )
            db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (total,) = db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
        return int(total)
    finally:
        db.close()


def seed(
    state_dir: Path,
    spec: SeedSpec,
    *,
    profile: Path = DEFAULT_PROFILE,
    reuse: bool = True,
    durable: bool = False,
) -> SeedResult:
    """Seed state_dir to spec; with reuse, a directory already seeded to the same spec is kept."""
    if reuse and _read_marker(state_dir) == spec:
        total = _top_up_events(state_dir / "opensan.db", 0)
        return SeedResult(spec, state_dir, True, 0.0, 0.0, total)
    if state_dir.exists():
        shutil.rmtree(state_dir)
    started = time.perf_counter()
    _create_objects(state_dir, spec, profile, durable)
    objects_done = time.perf_counter()
    total = _top_up_events(state_dir / "opensan.db", spec.events)
    events_done = time.perf_counter()
    (state_dir / MARKER).write_text(json.dumps(asdict(spec)))
    return SeedResult(spec, state_dir, False, objects_done - started, events_done - objects_done,
                      total)


def describe(result: SeedResult) -> str:
    spec = result.spec
    what = (f"{spec.volumes} volumes, {spec.snapshots} snapshots, {result.total_events} events "
            f"in {result.state_dir}")
    if result.reused:
        return f"Reusing {what}"
    return (f"Seeded {what} in {result.seconds:.1f} s (objects through ArrayService "
            f"{result.objects_seconds:.1f} s, bulk events {result.events_seconds:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--volumes", type=int, default=1000)
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000,
                        help="Total events in the log (the service's own are counted)")
    parser.add_argument("--profile", type=Path, default=DEFAULT_PROFILE)
    parser.add_argument("--force", action="store_true", help="Seed again even if up to date")
    parser.add_argument("--durable", action="store_true",
                        help="Keep synchronous=FULL while seeding (slower)")
    args = parser.parse_args()
    spec = SeedSpec(args.volumes, args.snapshots, args.events)
    result = seed(args.state_dir, spec, profile=args.profile, reuse=not args.force,
                  durable=args.durable)
    print(describe(result))


if __name__ == "__main__":
    main()
