"""The pytest plugin, as an integrator meets it: installed by entry point, README example included."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"

OVERRIDE = '''
import pytest
from opensan.config import Settings

@pytest.fixture
def opensan_settings(tmp_path):
    return Settings(state_dir=tmp_path / "array", model="XS3216S", seed=7)

def test_another_model(opensan_array):
    assert opensan_array.client.system_info().model_name == "XS3216S"
    with opensan_array.connect("user", "1234") as reader:
        assert reader.volumes()
'''


def readme_example() -> str:
    section = README.read_text().split("## Testing your automation with pytest", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found, "README has no pytest example"
    return found.group(1)


def test_the_readme_example_passes_with_the_installed_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_readme_example.py").write_text(readme_example())
    (tmp_path / "test_override.py").write_text(OVERRIDE)
    # A separate pytest run in another directory: only the entry point can bring the fixture.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_the_readme_example_is_about_ten_lines() -> None:
    lines = [line for line in readme_example().splitlines() if line.strip()]
    assert len(lines) <= 12
