"""scripts/fetch_docs_assets.py --check: the shipped Swagger UI and ReDoc files are the pinned
ones (fetching them needs npm and the registry, so only the offline check is tested)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from opensan.api.apidocs import STATIC

SCRIPT = Path(__file__).parents[2] / "scripts" / "fetch_docs_assets.py"


def check(static: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), "--check", "--static", str(static)],
                          capture_output=True, text=True, timeout=60)


def test_the_shipped_files_are_the_pinned_ones() -> None:
    result = check(STATIC)
    assert result.returncode == 0, result.stdout
    assert "every file matches its pin" in result.stdout


def test_a_changed_or_missing_file_fails_the_check(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(STATIC, copy)
    bundle = copy / "swagger-ui" / "swagger-ui-bundle.js"
    bundle.write_bytes(bundle.read_bytes() + b"\n")
    (copy / "redoc" / "LICENSE").unlink()
    result = check(copy)
    assert result.returncode == 1
    assert "swagger-ui/swagger-ui-bundle.js is not swagger-ui-dist@5.35.0's" in result.stdout
    assert "redoc/LICENSE (redoc@2.5.4) is missing" in result.stdout
