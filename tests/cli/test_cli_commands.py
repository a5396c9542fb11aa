"""The `opensan` commands against a live virtual array: login, tables, --json, exit codes."""

from __future__ import annotations

import json
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from opensan.cli import commands
from opensan.cli.main import app
from opensan.cli.session import session_path
from opensan.testing import VirtualArray

Run = Callable[..., Result]


@pytest.fixture
def opensan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run `opensan ARGS...` in-process with its own config dir, as a new user would."""
    monkeypatch.setenv("OPENSAN_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.delenv("OPENSAN_PASSWORD", raising=False)
    monkeypatch.delenv("OPENSAN_NEW_PASSWORD", raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return run


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A person at a terminal answers the questions (CliRunner's stdin is not one)."""
    monkeypatch.setattr(commands, "interactive", lambda: True)


@pytest.fixture
def logged_in(opensan: Run, opensan_array: VirtualArray) -> Run:
    result = opensan("login", opensan_array.base_url, "--password", "1234")
    assert result.exit_code == 0, result.output
    return opensan


def api(array: VirtualArray, path: str) -> Any:
    answer = httpx.get(f"{array.base_url}{path}", headers={"Authorization": str(array.client.token)})
    assert answer.status_code == 200, answer.text
    return answer.json()


def one_line_error(result: Result, code: int) -> str:
    """The command failed with this exit code and said why in exactly one line on stderr."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("opensan: "), result.stderr
    return lines[0]


def test_login_keeps_the_token_in_a_private_file_and_never_the_password(
        opensan: Run, opensan_array: VirtualArray) -> None:
    opensan_array.client.set_password("admin", "Sekr1t-pass")
    result = opensan("login", opensan_array.base_url, "--password", "Sekr1t-pass")
    assert result.exit_code == 0, result.output
    assert "Logged in" in result.stdout and "admin" in result.stdout
    saved = session_path()
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    text = saved.read_text()
    assert "Sekr1t-pass" not in text
    token = json.loads(text)["token"]
    still = httpx.get(f"{opensan_array.base_url}/rest/storage/poolinfo",
                      headers={"Authorization": token})
    assert still.status_code == 200
    assert [p.name for p in saved.parent.iterdir()] == ["session.json"]


def test_login_asks_for_the_password_when_not_given(opensan: Run, opensan_array: VirtualArray,
                                                    terminal: None) -> None:
    result = opensan("login", opensan_array.base_url, "--account", "user", input="1234\n")
    assert result.exit_code == 0, result.output
    assert "1234" not in session_path().read_text()
    assert "default password" in result.stderr  # QSAN's default is worth a warning


def test_login_without_a_terminal_to_ask_on_exits_2(opensan: Run,
                                                    opensan_array: VirtualArray) -> None:
    line = one_line_error(opensan("login", opensan_array.base_url, input="1234\n"), 2)
    assert "not a terminal" in line and "--password" in line and "OPENSAN_PASSWORD" in line
    assert not session_path().exists()


def test_a_login_locked_out_for_too_many_failures_exits_3(opensan: Run,
                                                         opensan_array: VirtualArray) -> None:
    for _ in range(5):
        one_line_error(opensan("login", opensan_array.base_url, "--password", "nope"), 3)
    line = one_line_error(opensan("login", opensan_array.base_url, "--password", "1234"), 3)
    assert "HTTP 429" in line and "10105" in line


def test_volumes_json_is_the_api_answer(logged_in: Run, opensan_array: VirtualArray) -> None:
    result = logged_in("volumes", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == api(opensan_array, "/rest/storage/volumeinfo")


@pytest.mark.parametrize(("command", "path"), [
    (["pools"], "/rest/storage/poolinfo"),
    (["targets"], "/rest/storage/availtarget"),
    (["mappings"], "/rest/storage/lunmappinginfo"),
    (["luns", "0"], "/storage/availlun/targetid/0"),
    (["endpoints"], "/rest/"),
])
def test_every_listing_json_is_the_api_answer(logged_in: Run, opensan_array: VirtualArray,
                                              command: list[str], path: str) -> None:
    result = logged_in(*command, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == api(opensan_array, path)


@pytest.mark.parametrize("command", [
    ["system"], ["hardware"], ["disks"], ["smart"], ["pools"], ["volumes"], ["targets"],
    ["luns", "0"], ["mappings"], ["events"], ["events", "--page", "2"], ["endpoints"],
])
def test_every_read_shows_a_table_and_has_json(logged_in: Run, command: list[str]) -> None:
    table = logged_in(*command)
    assert table.exit_code == 0, table.output
    assert table.stdout.strip() and not table.stderr
    as_json = logged_in(*command, "--json")
    assert as_json.exit_code == 0, as_json.output
    json.loads(as_json.stdout)


def test_the_tour(logged_in: Run, opensan_array: VirtualArray) -> None:
    """README's "A short tour": snapshot space, a snapshot, a mapping, the events."""
    volume = next(v for v in opensan_array.client.volumes() if not v.snapshot_space_bytes)
    result = logged_in("snapshot", "space", volume.name, "20")
    assert result.exit_code == 0, result.output
    assert "20 GiB" in result.stdout
    result = logged_in("snapshot", "take", volume.name, "--name", "before-upgrade", "--json")
    assert result.exit_code == 0, result.output
    snapshot = json.loads(result.stdout)
    assert (snapshot["name"], snapshot["volumeId"]) == ("before-upgrade", volume.id)
    listing = logged_in("snapshots", str(volume.id))
    assert "before-upgrade" in listing.stdout and "20 GiB" in listing.stdout
    free_lun = opensan_array.client.target_luns(0).free_luns[0]
    host = "iqn.1991-05.com.microsoft:db01"
    result = logged_in("map", "0", str(free_lun), volume.name, "--host", host)
    assert result.exit_code == 0, result.output
    mapping = next(m for m in opensan_array.client.lun_mappings() if m.volume_id == volume.id)
    assert (mapping.target_id, mapping.lun, mapping.hosts) == (0, free_lun, [host])
    assert host in logged_in("mappings").stdout
    events = logged_in("events").stdout
    assert "before-upgrade" in events and volume.name in events
    result = logged_in("unmap", "0", str(free_lun), "--json")
    assert json.loads(result.stdout)["volumeId"] == volume.id


def test_management_extensions(logged_in: Run, opensan_array: VirtualArray) -> None:
    free = [str(d.id) for d in opensan_array.client.disks() if d.usage == "Free"]

    def ok(*args: str) -> Any:
        result = logged_in(*args, "--json")
        assert result.exit_code == 0, (args, result.output)
        return json.loads(result.stdout)

    assert ok("pool", "create", "pool-cli", "5", ",".join(free[:3]), "--provision", "thin")[
        "raidLevel"] == "RAID 5"
    assert len(ok("pool", "add-disks", "pool-cli", free[3])["diskIds"]) == 4
    assert ok("volume", "create", "pool-cli", "vol-cli", "8", "--provision", "thin")[
        "provision"] == "Thin"
    assert ok("volume", "extend", "vol-cli", "9")["capacityBytes"] == 9 * 2**30
    assert ok("sim", "host-write", "vol-cli", "1")["usedBytes"] > 0
    target = ok("target", "create", "1", "--name", "cli-target")
    assert ok("spare", free[4], "--type", "dedicated", "--pool", "pool-cli")[0]["usage"] == \
        "Dedicated Spare"
    assert ok("spare", free[4], "--type", "free")[0]["usage"] == "Free"
    ok("snapshot", "space", "vol-cli", "2")
    first = ok("snapshot", "take", "vol-cli", "--name", "one")
    ok("snapshot", "take", "vol-cli", "--name", "two")
    mapped = ok("snapshot", "map", str(target["id"]), "0", str(first["id"]), "--host",
                "iqn.1994-05.com.redhat:backup")
    assert (mapped["snapshotName"], mapped["permission"]) == ("one", "Read-only")
    assert "vol-cli @ one" in logged_in("mappings").stdout
    ok("unmap", str(target["id"]), "0")
    assert ok("snapshot", "rollback", str(first["id"]), "--yes")["name"] == "one"
    ok("snapshot", "delete", str(first["id"]), "--yes")
    ok("snapshot", "space", "vol-cli", "0")
    ok("target", "delete", str(target["id"]), "--yes")
    ok("volume", "delete", "vol-cli", "--yes")
    ok("pool", "delete", "pool-cli", "--yes")
    assert "pool-cli" not in {p.name for p in opensan_array.client.pools()}


def test_disks_are_named_by_slot_as_every_table_shows(logged_in: Run,
                                                      opensan_array: VirtualArray) -> None:
    disks = opensan_array.client.disks()
    raid = next(d for d in disks if d.usage == "RAID")
    free = [d for d in disks if d.usage == "Free"]
    slot = f"{raid.enclosure_id}:{raid.slot}"
    assert json.loads(logged_in("smart", slot, "--json").stdout)[0]["diskId"] == raid.id
    padded = f"{raid.enclosure_id:02}:{raid.slot:02}"  # the same slot, as some would write it
    assert json.loads(logged_in("smart", padded, "--json").stdout)[0]["diskId"] == raid.id
    result = logged_in("sim", "fail-disk", slot)
    assert result.exit_code == 0, result.output
    assert f"Disk {raid.id} in slot {slot}" in result.stdout
    slots = ",".join(f"{d.enclosure_id}:{d.slot}" for d in free[:2])
    created = json.loads(logged_in("pool", "create", "by-slot", "1", slots, "--json").stdout)
    assert sorted(created["diskIds"]) == sorted(d.id for d in free[:2])
    spare = logged_in("spare", f"{free[2].enclosure_id}:{free[2].slot}", str(free[3].id), "--json")
    assert [d["id"] for d in json.loads(spare.stdout)] == [free[2].id, free[3].id]


@pytest.mark.parametrize(("disk", "code", "said"), [
    ("0:99", 1, "No disk is in slot 0:99"), ("9:1", 1, "No disk is in slot 9:1"),
])
def test_a_slot_without_a_disk_is_a_clear_refusal(logged_in: Run, disk: str, code: int,
                                                  said: str) -> None:
    assert said in one_line_error(logged_in("sim", "fail-disk", disk), code)
    assert said in one_line_error(logged_in("smart", disk), code)


def test_a_disk_that_is_neither_slot_nor_id_is_a_usage_error(logged_in: Run) -> None:
    result = logged_in("sim", "fail-disk", "first")
    assert result.exit_code == 2 and "slot or ID" in result.stderr


def test_messages_name_a_volume_as_the_user_did(logged_in: Run,
                                               opensan_array: VirtualArray) -> None:
    volume = next(v for v in opensan_array.client.volumes() if not v.snapshot_space_bytes)
    assert f"Volume {volume.name} has no snapshot space" in logged_in(
        "snapshots", volume.name).stdout
    assert f"volume {volume.name} is 20 GiB" in logged_in(
        "snapshot", "space", volume.name, "20").stdout
    assert f"of volume {volume.name}." in logged_in("snapshot", "take", volume.name).stdout
    assert f"Snapshot space of volume {volume.id}:" in logged_in(
        "snapshots", str(volume.id)).stdout


def test_the_virtual_array_knobs(logged_in: Run, opensan_array: VirtualArray) -> None:
    disk = next(d for d in opensan_array.client.disks() if d.usage == "RAID")
    assert "Failed" in logged_in("sim", "fail-disk", str(disk.id)).stdout
    assert logged_in("sim", "replace-disk", str(disk.id)).exit_code == 0
    sensor = opensan_array.client.hardware_monitor().enclosures[0].sensors[0].id
    assert logged_in("sim", "sensor", str(sensor), "warning").exit_code == 0
    assert "Warning" in logged_in("hardware").stdout
    assert logged_in("sim", "latency", "0").exit_code == 0
    assert "Every read now answers 0 ms late." in logged_in("sim", "latency", "0", "--reads").stdout
    assert "UTC" in logged_in("sim", "clock", "60").stdout


def test_destructive_commands_ask_first(logged_in: Run, opensan_array: VirtualArray,
                                        terminal: None) -> None:
    volume = next(v for v in opensan_array.client.volumes() if not v.mapped)
    result = logged_in("volume", "delete", volume.name, input="n\n")
    assert result.exit_code == 1
    assert result.stderr.endswith("[y/N]:opensan: Nothing was changed.\n"), result.stderr
    assert volume.id in {v.id for v in opensan_array.client.volumes()}


@pytest.mark.parametrize("command", [["volume", "delete", "vol-backup"],
                                     ["snapshot", "rollback", "1"], ["target", "delete", "0"]])
def test_a_question_without_a_terminal_exits_2(logged_in: Run, opensan_array: VirtualArray,
                                               command: list[str]) -> None:
    line = one_line_error(logged_in(*command, input="y\n"), 2)
    assert "--yes" in line and "not a terminal" in line
    assert "vol-backup" in {v.name for v in opensan_array.client.volumes()}


def test_set_password_without_a_terminal_exits_2(logged_in: Run) -> None:
    line = one_line_error(logged_in("password", "user"), 2)
    assert "--new-password" in line and "OPENSAN_NEW_PASSWORD" in line


def test_set_password_prompts_twice(logged_in: Run, opensan_array: VirtualArray,
                                    terminal: None) -> None:
    result = logged_in("password", "user", input="Other-pass1\nOther-pass1\n")
    assert result.exit_code == 0, result.output
    with opensan_array.connect("user", "Other-pass1") as reader:
        assert reader.volumes()


# Accounts

def test_accounts_lists_the_accounts_and_json_is_the_api_answer(
        logged_in: Run, opensan_array: VirtualArray) -> None:
    result = logged_in("accounts")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.split()[:4] == ["admin", "administrator", "enabled", "default"]
               for line in lines), result.stdout
    assert any(line.split()[:4] == ["user", "read-only", "enabled", "default"]
               for line in lines), result.stdout
    as_json = logged_in("accounts", "--json")
    assert json.loads(as_json.stdout) == api(opensan_array, "/rest/account/accountinfo")


def test_account_create_disable_enable_delete(logged_in: Run, opensan: Run,
                                              opensan_array: VirtualArray) -> None:
    result = logged_in("account", "create", "ops", "--role", "user", "--password", "0ps-pass")
    assert result.exit_code == 0, result.output
    assert "Created account ops (read-only)" in result.stdout
    with opensan_array.connect("ops", "0ps-pass") as ops:
        ops_session = ops.volumes()
        assert ops_session
        disabled = logged_in("account", "disable", "ops")
        assert disabled.exit_code == 0 and "sessions have ended" in disabled.stdout
        assert "disabled" in logged_in("accounts").stdout
        # Its login is refused: exit 3, as any login that cannot be made.
        line = one_line_error(opensan("login", opensan_array.base_url, "-a", "ops",
                                      "--password", "0ps-pass"), 3)
        assert "disabled" in line and "HTTP 403" in line and "16004" in line
        assert logged_in("login", opensan_array.base_url, "--password", "1234").exit_code == 0
        assert json.loads(logged_in("account", "enable", "ops", "--json").stdout)["enabled"]
        assert ops.volumes()
    deleted = logged_in("account", "delete", "ops", "--yes", "--json")
    assert json.loads(deleted.stdout)["name"] == "ops"
    assert "ops" not in {a.name for a in opensan_array.client.accounts()}


def test_account_create_reads_the_password_from_a_prompt_or_the_environment(
        logged_in: Run, opensan_array: VirtualArray, terminal: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    result = logged_in("account", "create", "asked", "--role", "admin",
                       input="Asked-pass1\nAsked-pass1\n")
    assert result.exit_code == 0, result.output
    assert "Asked-pass1" not in result.stdout
    monkeypatch.setenv("OPENSAN_NEW_PASSWORD", "Env-pass1")
    assert logged_in("account", "create", "scripted", "--role", "user").exit_code == 0
    with opensan_array.connect("asked", "Asked-pass1") as asked, \
            opensan_array.connect("scripted", "Env-pass1") as scripted:
        assert asked.login().role == "admin" and scripted.login().role == "user"


def test_account_create_without_a_terminal_or_a_password_exits_2(logged_in: Run) -> None:
    line = one_line_error(logged_in("account", "create", "ops", "--role", "user"), 2)
    assert "--password" in line and "OPENSAN_NEW_PASSWORD" in line


def test_account_delete_asks_first(logged_in: Run, opensan_array: VirtualArray) -> None:
    assert "--yes" in one_line_error(logged_in("account", "delete", "user", input="y\n"), 2)
    assert "user" in {a.name for a in opensan_array.client.accounts()}


@pytest.mark.parametrize(("command", "code"), [
    (["account", "create", "admin", "--role", "user", "--password", "0ps-pass"], "16001"),
    (["account", "disable", "admin"], "16003"),
    (["account", "delete", "nobody", "--yes"], "16000"),
])
def test_an_account_refusal_exits_1(logged_in: Run, command: list[str], code: str) -> None:
    assert code in one_line_error(logged_in(*command), 1)


def test_events_show_who_made_each_change(logged_in: Run, opensan_array: VirtualArray) -> None:
    logged_in("account", "create", "ops", "--role", "user", "--password", "0ps-pass")
    result = logged_in("events")
    created = next(line for line in result.stdout.splitlines() if "Account ops" in line)
    assert "admin@127.0.0.1" in created
    assert any("system" in line and "initialized" in line for line in
               logged_in("events", "--page", str(opensan_array.client.events().total_pages))
               .stdout.splitlines())
    event = json.loads(logged_in("events", "--json").stdout)["events"][0]
    assert (event["account"], event["client"]) == ("admin", "127.0.0.1")


def test_logout_ends_the_session_and_forgets_it(logged_in: Run,
                                               opensan_array: VirtualArray) -> None:
    token = json.loads(session_path().read_text())["token"]
    assert logged_in("logout").exit_code == 0
    assert not session_path().exists()
    gone = httpx.get(f"{opensan_array.base_url}/rest/storage/poolinfo",
                     headers={"Authorization": token})
    assert gone.status_code == 401
    one_line_error(logged_in("pools"), 3)


def test_not_logged_in_exits_3(opensan: Run) -> None:
    assert "opensan login" in one_line_error(opensan("volumes"), 3)


def test_wrong_password_exits_3(opensan: Run, opensan_array: VirtualArray) -> None:
    line = one_line_error(opensan("login", opensan_array.base_url, "--password", "nope"), 3)
    assert "10103" in line
    assert not session_path().exists()


def test_a_bad_url_exits_2(opensan: Run) -> None:
    one_line_error(opensan("login", "127.0.0.1:8080", "--password", "1234"), 2)


def test_a_refused_connection_exits_4(opensan: Run) -> None:
    line = one_line_error(opensan("login", "http://127.0.0.1:9", "--password", "1234"), 4)
    assert "Cannot connect" in line


def test_tls_to_a_plain_http_port_exits_4(opensan: Run, opensan_array: VirtualArray) -> None:
    https = opensan_array.base_url.replace("http:", "https:")
    assert "TLS" in one_line_error(opensan("login", https, "--password", "1234"), 4)


@pytest.mark.parametrize(("command", "code"), [
    (["snapshots", "9999999999"], "10300"),
    (["luns", "99"], "10600"),
    (["snapshot", "take", "vol-db", "--name", "bad/name"], "13502"),
    (["unmap", "0", "200"], "10701"),
    (["snapshots", "no-such-volume"], ""),
])
def test_each_refusal_exits_1_with_the_array_s_message(logged_in: Run, command: list[str],
                                                      code: str) -> None:
    assert code in one_line_error(logged_in(*command), 1)


def test_the_read_only_account_is_refused_changes(opensan: Run,
                                                  opensan_array: VirtualArray) -> None:
    assert opensan("login", opensan_array.base_url, "-a", "user", "--password", "1234").exit_code == 0
    assert opensan("volumes").exit_code == 0
    line = one_line_error(opensan("snapshot", "take", "vol-db"), 1)
    assert "HTTP 403" in line and "10107" in line


def test_service_package_writes_the_zip_and_says_its_size_and_path(
        logged_in: Run, tmp_path: Path) -> None:
    output = tmp_path / "support.zip"
    result = logged_in("service-package", "-o", str(output))
    assert result.exit_code == 0, result.output
    written = output.stat().st_size
    assert str(output) in result.stdout and f"{written} bytes" in result.stdout
    assert "events.jsonl" in zipfile.ZipFile(output).namelist()


def test_service_package_refused_leaves_no_file(opensan: Run, opensan_array: VirtualArray,
                                                tmp_path: Path) -> None:
    assert opensan("login", opensan_array.base_url, "-a", "user", "--password", "1234").exit_code == 0
    output = tmp_path / "support.zip"
    line = one_line_error(opensan("service-package", "-o", str(output)), 1)
    assert "HTTP 403" in line and not output.exists()


def test_service_package_into_a_missing_dir_is_a_usage_error(logged_in: Run,
                                                             tmp_path: Path) -> None:
    result = logged_in("service-package", "-o", str(tmp_path / "no-such-dir" / "support.zip"))
    assert result.exit_code == 2 and "cannot write" in result.stderr


def test_an_expired_session_says_to_log_in_again(logged_in: Run,
                                                 opensan_array: VirtualArray) -> None:
    opensan_array.client.advance_clock(1900)
    assert "opensan login" in one_line_error(logged_in("volumes"), 3)
    assert logged_in("login", opensan_array.base_url, "--password", "1234").exit_code == 0
    assert logged_in("volumes").exit_code == 0


def test_a_server_that_went_away_exits_4(logged_in: Run, tmp_path: Path) -> None:
    saved = json.loads(session_path().read_text())
    saved["url"] = "http://127.0.0.1:9"
    session_path().write_text(json.dumps(saved))
    assert "Cannot connect" in one_line_error(logged_in("disks"), 4)


def test_help_documents_the_exit_codes(opensan: Run) -> None:
    result = opensan("--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())  # as wrapped for the terminal
    assert "Exit codes" in text and "4 connection or TLS failure" in text
    assert "7 serve cannot use the state dir" in text


def test_the_config_dir_follows_xdg_config_home(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENSAN_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert session_path() == tmp_path / "opensan" / "session.json"


@pytest.mark.parametrize("content", ["not JSON", "[]", '{"url": "http://127.0.0.1:9"}',
                                     '{"url": "http://127.0.0.1:9", "account": "admin", "token": 7}'])
def test_a_session_file_that_holds_no_session_is_not_logged_in(opensan: Run, content: str) -> None:
    session_path().parent.mkdir(parents=True)
    session_path().write_text(content)
    assert "opensan login" in one_line_error(opensan("volumes"), 3)


def test_a_session_file_of_a_newer_version_is_read(logged_in: Run) -> None:
    saved = json.loads(session_path().read_text())
    session_path().write_text(json.dumps({**saved, "fieldOfANewerVersion": 1}))
    assert logged_in("volumes").exit_code == 0


def test_end_of_input_at_a_prompt_is_a_message_not_aborted(opensan: Run, logged_in: Run,
                                                          opensan_array: VirtualArray,
                                                          terminal: None) -> None:
    # typer's prompts raise typer.Abort (typer has its own click): not "Aborted!" with 1.
    result = opensan("login", opensan_array.base_url, input="")
    assert result.exit_code == 2
    assert result.stderr.endswith("opensan: No password was given.\n"), result.stderr
    result = logged_in("volume", "delete", "vol-backup", input="")
    assert result.exit_code == 1
    assert result.stderr.endswith("opensan: Nothing was changed.\n"), result.stderr
    assert "vol-backup" in {v.name for v in opensan_array.client.volumes()}
