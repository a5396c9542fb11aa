"""Settings: the scrape token of /metrics, from the environment or the settings file."""

from __future__ import annotations

from pathlib import Path

import pytest

from opensan.config import Settings, SettingsError, trap_receiver, udp_address


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


USER = {"name": "zabbix", "auth_key": "auth-pass-phrase", "priv_key": "priv-pass-phrase"}


def test_snmp_settings_come_from_variables_and_the_file(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text('snmp = "127.0.0.1:1161"\nsnmp_trap = ["127.0.0.1:162"]\n'
                             '[[snmp_users]]\nname = "zabbix"\nauth_key = "auth-pass-phrase"\n'
                             'priv_protocol = "AES-256"\npriv_key = "priv-pass-phrase"\n')
    monkeypatch.setenv("OPENSAN_SNMP_COMMUNITY", "lab-readers")
    settings = Settings.load({}, settings_file)
    assert settings.snmp == "127.0.0.1:1161" and settings.snmp_trap == ("127.0.0.1:162",)
    assert settings.snmp_community is not None
    assert settings.snmp_community.get_secret_value() == "lab-readers"
    (user,) = settings.snmp_users
    assert (user.name, user.auth_protocol, user.priv_protocol) == ("zabbix", "SHA-256", "AES-256")
    assert user.priv_key.get_secret_value() == "priv-pass-phrase"


def test_snmp_secrets_never_show() -> None:
    settings = Settings(snmp="127.0.0.1:1161", snmp_community="lab-readers", snmp_users=[USER])
    shown = f"{settings!r} {settings.model_dump(mode='json')}"
    for secret in ("lab-readers", "auth-pass-phrase", "priv-pass-phrase"):
        assert secret not in shown


@pytest.mark.parametrize(("values", "said"), [
    ({"snmp": "127.0.0.1"}, "is not HOST:PORT"),
    ({"snmp": "127.0.0.1:70000", "snmp_community": "c"}, "is not HOST:PORT"),
    ({"snmp": "127.0.0.1:161"}, "needs snmp_community or snmp_users"),
    ({"snmp_trap": ("127.0.0.1:162",)}, "snmp_trap needs snmp"),
    ({"snmp": "127.0.0.1:161", "snmp_community": "c", "snmp_trap": ("127.0.0.1:0",)},
     "is not HOST:PORT"),
    ({"snmp": "127.0.0.1:161", "snmp_users": [{**USER, "auth_key": "short"}]}, "at least 8"),
    ({"snmp": "127.0.0.1:161", "snmp_users": [{**USER, "priv_protocol": "DES"}]}, "AES"),
    ({"snmp": "127.0.0.1:161", "snmp_users": [USER, USER]}, "two users of one name"),
    ({"snmp": "127.0.0.1:161", "snmp_users": [USER], "snmp_trap": ("nobody@127.0.0.1:162",)},
     "no user 'nobody' in snmp_users"),
    ({"snmp": "127.0.0.1:161", "snmp_community": "c", "snmp_trap": ("@127.0.0.1:162",)},
     "no user before @"),
])
def test_wrong_snmp_settings_are_refused(values: dict[str, object], said: str) -> None:
    with pytest.raises(SettingsError, match=said):
        Settings.load(values)


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:161", ("127.0.0.1", 161)), ("[::1]:1161", ("::1", 1161)),
    ("0.0.0.0:0", ("0.0.0.0", 0)), ("localhost:162", ("localhost", 162)),
])
def test_udp_addresses(text: str, address: tuple[str, int]) -> None:
    assert udp_address(text) == address


@pytest.mark.parametrize(("text", "receiver"), [
    ("127.0.0.1:162", (None, "127.0.0.1", 162)), ("zabbix@[::1]:1162", ("zabbix", "::1", 1162)),
])
def test_trap_receivers(text: str, receiver: tuple[str | None, str, int]) -> None:
    assert trap_receiver(text) == receiver
