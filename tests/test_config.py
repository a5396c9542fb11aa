"""Settings: every one from its OPENSAN_* variable or the settings file; the scrape token of
/metrics and the SNMP settings, checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from pydantic import SecretStr

from opensan.cli.server import serve
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


TOKEN = "scrape-token-0123456789"
# A value other than the default for every setting: as an OPENSAN_* variable, as TOML, and as
# Settings holds it then. Secrets are compared by their value.
SAMPLES: dict[str, tuple[str, str, object]] = {
    "host": ("0.0.0.0", '"0.0.0.0"', "0.0.0.0"),
    "port": ("18080", "18080", 18080),
    "state_dir": ("/srv/opensan", '"/srv/opensan"', Path("/srv/opensan")),
    "backend": ("linux", '"linux"', "linux"),
    "backend_config": ("/etc/opensan/linux.toml", '"/etc/opensan/linux.toml"',
                       Path("/etc/opensan/linux.toml")),
    "model": ("XS3224", '"XS3224"', "XS3224"),
    "profile": ("/etc/opensan/profile.toml", '"/etc/opensan/profile.toml"',
                Path("/etc/opensan/profile.toml")),
    "seed": ("7", "7", 7),
    "system_name": ("rack-4", '"rack-4"', "rack-4"),
    "event_page_size": ("20", "20", 20),
    "session_idle_seconds": ("60", "60", 60.0),
    "login_max_failures": ("3", "3", 3),
    "login_window_seconds": ("61", "61", 61.0),
    "login_lockout_seconds": ("62", "62", 62.0),
    "tick_seconds": ("2", "2", 2.0),
    "max_body_bytes": ("4096", "4096", 4096),
    "header_timeout_seconds": ("3", "3", 3.0),
    "idle_timeout_seconds": ("30", "30", 30.0),
    "max_connections": ("64", "64", 64),
    "login_concurrency": ("4", "4", 4),
    "login_queue": ("8", "8", 8),
    "login_wait_seconds": ("2", "2", 2.0),
    "trusted_proxies": ('["10.0.0.1"]', '["10.0.0.1"]', ("10.0.0.1",)),
    "log_level": ("debug", '"debug"', "debug"),
    "log_format": ("json", '"json"', "json"),
    "fast_path": ("false", "false", False),
    "metrics_token": (TOKEN, f'"{TOKEN}"', TOKEN),
    "tls": ("true", "true", True),
    "tls_cert": ("/etc/opensan/cert.pem", '"/etc/opensan/cert.pem"', Path("/etc/opensan/cert.pem")),
    "tls_key": ("/etc/opensan/key.pem", '"/etc/opensan/key.pem"', Path("/etc/opensan/key.pem")),
    "snmp": ("127.0.0.1:1161", '"127.0.0.1:1161"', "127.0.0.1:1161"),
    "snmp_community": ("lab-readers", '"lab-readers"', "lab-readers"),
    "snmp_users": ('[{"name": "zabbix", "auth_key": "auth-pass-phrase", '
                   '"priv_key": "priv-pass-phrase"}]',
                   '[{name = "zabbix", auth_key = "auth-pass-phrase", '
                   'priv_key = "priv-pass-phrase"}]', ("zabbix",)),
    "snmp_trap": ('["127.0.0.1:162"]', '["127.0.0.1:162"]', ("127.0.0.1:162",)),
    "snmp_trap_community": ("lab-traps", '"lab-traps"', "lab-traps"),
    "snmp_contact": ("ops@example.com", '"ops@example.com"', "ops@example.com"),
    "snmp_location": ("rack 4", '"rack 4"', "rack 4"),
}


def held(settings: Settings, name: str) -> object:
    value = getattr(settings, name)
    if name == "snmp_users":
        return tuple(user.name for user in value)
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def assert_holds_every_sample(settings: Settings) -> None:
    assert {name: held(settings, name) for name in SAMPLES} == \
        {name: expected for name, (_, _, expected) in SAMPLES.items()}


def test_every_setting_has_a_sample_and_every_serve_option_is_a_setting() -> None:
    assert set(SAMPLES) == set(Settings.model_fields)
    options = {param.name for param in typer.main.get_command_from_info(
        typer.models.CommandInfo(callback=serve), pretty_exceptions_short=True,
        rich_markup_mode=None).params} - {"settings_file"}
    # --config is backend_config (OPENSAN_BACKEND_CONFIG, as serve's help says).
    named = {"backend_config" if option == "config" else option for option in options}
    assert named <= set(Settings.model_fields), named - set(Settings.model_fields)


def test_every_setting_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (variable, _, _) in SAMPLES.items():
        monkeypatch.setenv(f"OPENSAN_{name.upper()}", variable)
    assert_holds_every_sample(Settings.load({}))


def test_every_setting_comes_from_the_settings_file(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.toml"
    settings_file.write_text("".join(f"{name} = {toml}\n" for name, (_, toml, _) in SAMPLES.items()))
    assert_holds_every_sample(Settings.load({}, settings_file))
