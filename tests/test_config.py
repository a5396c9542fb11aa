"""Settings: the scrape token of /metrics, from the environment or the settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from opensan.config import Settings, SettingsError


def test_the_scrape_token_comes_from_the_environment_or_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text('metrics_token = "from-the-file-0123456789"\n')
    assert Settings.load({}, settings_file).metrics_token == "from-the-file-0123456789"
    monkeypatch.setenv("OPENSAN_METRICS_TOKEN", "from-the-environment-0123")
    assert Settings.load({}, settings_file).metrics_token == "from-the-environment-0123"


@pytest.mark.parametrize("token", ["short", "with space 0123456789", "x" * 257])
def test_a_weak_or_malformed_scrape_token_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                     token: str) -> None:
    monkeypatch.setenv("OPENSAN_METRICS_TOKEN", token)
    with pytest.raises(SettingsError, match="OPENSAN_METRICS_TOKEN"):
        Settings.load({})
