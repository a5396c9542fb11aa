"""Fetch the Swagger UI and ReDoc files that /docs and /redoc serve, at their pinned versions.

    python3 scripts/fetch_docs_assets.py            # npm pack each package, check, write
    python3 scripts/fetch_docs_assets.py --check    # check the shipped files (offline)
    python3 scripts/fetch_docs_assets.py --rehash   # after changing a version: print the pins

The files ship inside the package (src/opensan/api/static/), so the pages work on networks
without internet, and each is pinned by its npm package's version and its own sha256: a fetch
that brings anything else writes nothing. `npm pack` (the registry's own client) fetches the
tarballs and checks their integrity; only npm is needed, and only to upgrade. To upgrade,
change a version below, run --rehash, read what changed, paste the printed pins here, and run
the script to write the files (the licence files come along).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "src" / "opensan" / "api" / "static"

# package -> (version, {file in the tarball's package/: (path under STATIC, sha256)})
PINS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "swagger-ui-dist": ("5.35.0", {
        "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js",
            "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2"),
        "swagger-ui-bundle.js.LICENSE.txt": ("swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
            "37eb6e7e59aed57b2c1acf076574b818ea07b74265717e0bd67b59e0baf9abbb"),
        "swagger-ui.css": ("swagger-ui/swagger-ui.css",
            "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d"),
        "favicon-32x32.png": ("swagger-ui/favicon-32x32.png",
            "3ed612f41e050ca5e7000cad6f1cbe7e7da39f65fca99c02e99e6591056e5837"),
        "LICENSE": ("swagger-ui/LICENSE",
            "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"),
        "NOTICE": ("swagger-ui/NOTICE",
            "0d20d1adef18aee3f40dd258172155521ce702ac445cb5f7b7d60ed32dad2fb2"),
    }),
    "redoc": ("2.5.4", {
        "bundles/redoc.standalone.js": ("redoc/redoc.standalone.js",
            "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"),
        "bundles/redoc.standalone.js.LICENSE.txt": ("redoc/redoc.standalone.js.LICENSE.txt",
            "eed602ec32e00b2b9df1984fbcc26a687b1b3193ec01961389c4b8439e6edf73"),
        "LICENSE": ("redoc/LICENSE",
            "d3026d549cf68ab7355bcfa85877bf8f845b3334a7efbfdc63936432fb34ff0e"),
    }),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def packed(name: str, version: str, workdir: Path) -> tarfile.TarFile:
    """The package's tarball, as `npm pack` fetches (and integrity-checks) it."""
    out = subprocess.run(["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination",
                          str(workdir)], check=True, capture_output=True, text=True).stdout
    return tarfile.open(workdir / out.strip().splitlines()[-1])


def fetch(static: Path, rehash: bool) -> int:
    """Write every pinned file (or, with rehash, print the pins of the versions named)."""
    files: dict[Path, bytes] = {}
    bad: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, members) in PINS.items():
            with packed(name, version, Path(tmp)) as tarball:
                for member, (target, digest) in members.items():
                    extracted = tarball.extractfile(f"package/{member}")
                    assert extracted is not None, f"{name}@{version} has no {member}"
                    data = extracted.read()
                    if rehash:
                        print(f"{name}@{version} {member}: ({target!r}, {sha256(data)!r})")
                    elif sha256(data) != digest:
                        bad.append(f"{name}@{version} {member}: sha256 {sha256(data)}, pinned "
                                   f"{digest}")
                    files[static / target] = data
    if rehash:
        return 0
    if bad:
        print("Nothing written; these differ from their pins:", *bad, sep="\n", file=sys.stderr)
        return 1
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(static)} ({len(data)} bytes)")
    return 0


def check(static: Path) -> list[str]:
    """What is missing or differs from its pin among the shipped files."""
    problems = []
    for name, (version, members) in PINS.items():
        for target, digest in members.values():
            path = static / target
            if not path.is_file():
                problems.append(f"{target} ({name}@{version}) is missing")
            elif sha256(path.read_bytes()) != digest:
                problems.append(f"{target} is not {name}@{version}'s (sha256 differs)")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="check the shipped files, offline")
    parser.add_argument("--rehash", action="store_true", help="print the pins of the versions")
    parser.add_argument("--static", type=Path, default=STATIC, help="the directory of the files")
    args = parser.parse_args()
    if args.check:
        problems = check(args.static)
        print(*problems or ["every file matches its pin"], sep="\n")
        return 1 if problems else 0
    return fetch(args.static, args.rehash)


if __name__ == "__main__":
    sys.exit(main())
