"""Accounts, sessions and login throttling (service/accounts.py)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from dataclasses import replace
from unittest import mock

import pytest

from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidArgument,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
)
from opensan.domain.models import Role
from opensan.service import accounts as accounts_module

from .helpers import INFO, WARNING, assert_unchanged, before, messages, refused

CLIENT = "10.0.0.1"
PASSWORD = "1234"


def login(service, account="admin", password=PASSWORD, client=CLIENT):
    return service.accounts.login(account, password, client)


def fail_logins(service, count, account="admin", client=CLIENT):
    for _ in range(count):
        with pytest.raises(NotAuthenticated):
            login(service, account, "wrong-password", client)


def ended(service, token):
    """Whether the token's session is over (and saying so changes nothing)."""
    then = before(service)
    try:
        service.accounts.authenticate(token)
    except NotAuthenticated as error:
        assert error.code is ErrorCode.SESSION_EXPIRED
        assert_unchanged(service, then)
        return True
    return False


# Accounts and login

def test_a_new_array_has_admin_and_user_with_qsans_default_password(service):
    accounts = service.state.accounts
    assert {name: (a.role, a.default_password) for name, a in accounts.items()} == \
        {"admin": (Role.ADMIN, True), "user": (Role.USER, True)}
    assert service.accounts.with_default_password() == ["admin", "user"]
    assert login(service, "admin")[1].role is Role.ADMIN
    assert login(service, "user")[1].role is Role.USER


def test_login_starts_a_session_stored_by_its_tokens_hash_and_writes_one_event(service, events):
    version = service.version
    token, session = login(service)
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (session.account, session.role, session.created_at) == \
        ("admin", Role.ADMIN, session.last_used_at)
    assert service.state.sessions == {session.token_hash: session}
    assert service.uow.store.load_state().sessions == {session.token_hash: session}
    assert service.version == version  # a session is no configuration
    assert events.new() == [(INFO, "Account", f"Account admin logged in from {CLIENT}.")]


def test_login_with_a_wrong_password_is_refused_with_one_event(service, events):
    version = service.version
    with pytest.raises(NotAuthenticated) as caught:
        login(service, password="12345")
    assert caught.value.code is ErrorCode.WRONG_CREDENTIALS
    assert service.state.sessions == {}
    assert service.version == version
    assert events.new() == [(INFO, "Account", f"Login failed for account admin from {CLIENT}.")]


def test_login_to_an_unknown_account_answers_as_a_wrong_password_does(service, events):
    with pytest.raises(NotAuthenticated) as caught:
        login(service, "operator")
    assert caught.value.code is ErrorCode.WRONG_CREDENTIALS
    assert events.new() == [(INFO, "Account", f"Login failed for account (unknown) from {CLIENT}.")]


# Throttling

def test_five_failed_logins_lock_the_account_for_that_client(service, events):
    fail_logins(service, 4)
    events.mark()
    fail_logins(service, 1)
    assert events.new() == [
        (INFO, "Account", f"Login failed for account admin from {CLIENT}."),
        (WARNING, "Account", f"Login for account admin from {CLIENT} locked for 300 seconds "
                             "after 5 failed logins."),
    ]
    with pytest.raises(TooManyAttempts) as caught:
        login(service)  # the right password, too late
    retry = caught.value.retry_after_seconds
    assert caught.value.code is ErrorCode.TOO_MANY_LOGINS
    assert 0 < retry <= 301
    assert events.new() == [(INFO, "Account", f"Login for account admin from {CLIENT} refused: "
                                              f"locked for {retry} more seconds.")]
    with pytest.raises(TooManyAttempts):
        login(service, password="wrong-password")
    assert events.new() == []  # one event per lockout for the logins it refuses
    assert service.state.sessions == {}


def test_concurrent_guesses_are_counted_before_their_check(service, events):
    """The audit's 60 concurrent wrong guesses had 27 checked and 5 WARNING events: every
    attempt counts from its start, so only five are checked and one lockout is written."""
    checked = []
    matches = accounts_module.password_matches
    barrier = threading.Barrier(60, timeout=30)

    def slow_check(password, stored):
        checked.append(password)
        time.sleep(0.2)  # every guess is in flight at once
        return matches(password, stored)

    def guess():
        barrier.wait()
        with contextlib.suppress(NotAuthenticated, TooManyAttempts):
            login(service, password="wrong-password")

    with mock.patch.object(accounts_module, "password_matches", slow_check):
        threads = [threading.Thread(target=guess) for _ in range(60)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(checked) == 5
    written = events.new()
    assert [e for e in written if e[0] is WARNING] == [
        (WARNING, "Account", f"Login for account admin from {CLIENT} locked for 300 seconds "
                             "after 5 failed logins.")]
    assert sum("Login failed" in e[2] for e in written) == 5
    assert sum("refused" in e[2] for e in written) == 1
    with pytest.raises(TooManyAttempts):
        login(service)


def test_a_lock_holds_only_that_account_from_that_client(service):
    fail_logins(service, 5)
    assert login(service, "admin", client="10.0.0.2")[1].account == "admin"
    assert login(service, "user")[1].account == "user"


def test_a_lock_ends_after_the_lockout(service):
    fail_logins(service, 5)
    service.simulation.advance_clock(301)
    assert login(service)[1].account == "admin"


def test_failures_older_than_the_window_do_not_count(service):
    fail_logins(service, 4)
    service.simulation.advance_clock(301)
    fail_logins(service, 1)
    assert login(service)[1].account == "admin"
    assert not any("locked" in message for message in messages(service))


def test_a_login_forgets_the_failures_before_it(service):
    fail_logins(service, 4)
    login(service)
    fail_logins(service, 4)
    assert login(service)[1].account == "admin"


def test_a_password_that_just_matched_skips_scrypt_and_a_wrong_one_never_does(service,
                                                                             monkeypatch):
    checked = []
    matches = accounts_module.password_matches

    def counted(password, stored):
        checked.append(password)
        return matches(password, stored)

    monkeypatch.setattr(accounts_module, "password_matches", counted)
    _token, admin = login(service)
    login(service)
    login(service)
    assert checked == [PASSWORD]
    with pytest.raises(NotAuthenticated):
        login(service, password="wrong-password")
    assert checked == [PASSWORD, "wrong-password"]
    # A changed password misses: the old one is refused, the new one checked once.
    service.accounts.set_password("admin", "n3w-secret", admin)
    with pytest.raises(NotAuthenticated):
        login(service)
    login(service, password="n3w-secret")
    login(service, password="n3w-secret")
    assert checked == [PASSWORD, "wrong-password", PASSWORD, "n3w-secret"]
    # And a match is forgotten VERIFIED_SECONDS later.
    later = time.monotonic() + accounts_module.VERIFIED_SECONDS + 1
    monkeypatch.setattr(service.accounts._verified, "_now", lambda: later)
    login(service, password="n3w-secret")
    assert checked[-1] == "n3w-secret" and len(checked) == 5


def test_an_unknown_account_name_never_reaches_the_events(service, events):
    typed = "Tr0ub4dor-and-3"  # perhaps a password typed into the name field
    fail_logins(service, 5, account=typed)
    with pytest.raises(TooManyAttempts):
        login(service, typed)
    new = events.new()
    assert len(new) == 7  # five failures, the lock, the refusal
    assert all(typed not in message for _level, _source, message in new)
    assert new[-2] == (WARNING, "Account", f"Login for account (unknown) from {CLIENT} locked for "
                                           "300 seconds after 5 failed logins.")
    assert new[-1][2].startswith(f"Login for account (unknown) from {CLIENT} refused")


# Sessions

def test_authenticate_gives_the_tokens_session(service):
    token, session = login(service)
    with refused(service, NotAuthenticated, ErrorCode.SESSION_EXPIRED):
        service.accounts.authenticate("not-a-token")
    found = service.accounts.authenticate(token)
    assert (found.token_hash, found.account, found.role) == \
        (session.token_hash, "admin", Role.ADMIN)
    assert found.last_used_at >= session.last_used_at


def test_authenticate_without_a_token_asks_for_a_login(service):
    for token in (None, ""):
        with refused(service, NotAuthenticated, ErrorCode.NOT_LOGGED_IN, case=token):
            service.accounts.authenticate(token)


def test_logout_ends_the_session_and_writes_one_event(service, events):
    token, _session = login(service)
    events.mark()
    version = service.version
    service.accounts.logout(service.accounts.authenticate(token))
    assert service.state.sessions == {}
    assert service.uow.store.load_state().sessions == {}
    assert ended(service, token)
    assert service.version == version
    assert events.new() == [(INFO, "Account", "Account admin logged out.")]


def test_a_session_idle_for_30_minutes_expires_and_the_tick_deletes_it(service):
    token, _session = login(service)
    service.simulation.advance_clock(1500)
    service.simulation.advance_clock(301)
    assert service.state.sessions == {}
    assert ended(service, token)


def test_an_idle_session_expires_before_the_tick_deletes_it(service):
    token, session = login(service)
    service.uow.clock.offset_seconds += 1801  # the clock moves; no tick runs yet
    assert session.token_hash in service.state.sessions
    assert ended(service, token)


def test_each_use_pushes_the_expiry_on(service):
    token, _session = login(service)
    service.simulation.advance_clock(1500)
    service.accounts.authenticate(token)
    service.simulation.advance_clock(1500)
    assert service.accounts.authenticate(token).account == "admin"


def test_write_back_stores_a_use_only_once_it_is_a_minute_newer(service, events):
    token, session = login(service)
    service.accounts.authenticate(token)
    service.accounts.write_back()
    assert service.state.sessions[session.token_hash].last_used_at == session.last_used_at
    service.simulation.advance_clock(120)
    used = service.accounts.authenticate(token)
    version = service.version
    events.mark()
    service.accounts.write_back()
    assert service.state.sessions[session.token_hash] == used
    assert service.uow.store.load_state().sessions[session.token_hash] == used
    assert service.version == version
    assert events.new() == []


def test_write_back_deletes_the_sessions_that_idled_out(service, events):
    login(service)
    service.uow.clock.offset_seconds += 1801
    version = service.version
    events.mark()
    service.accounts.write_back()
    assert service.state.sessions == {}
    assert service.uow.store.load_state().sessions == {}
    assert service.version == version
    assert events.new() == []


# Passwords

def test_only_an_administrator_sets_passwords(service):
    _token, user = login(service, "user")
    with refused(service, Forbidden, ErrorCode.FORBIDDEN):
        service.accounts.set_password("user", "n3w-secret", user)


def test_passwords_are_4_to_64_printable_characters(service):
    _token, admin = login(service)
    for password in ["", "abc", "x" * 65, "abcd\n", "ab\x00cd", "tab\tpass"]:
        with refused(service, InvalidArgument, case=password):
            service.accounts.set_password("user", password, admin)
    for password in ["abcd", "x" * 64, "pässwörd with spaces!"]:
        service.accounts.set_password("user", password, admin)
    assert login(service, "user", "pässwörd with spaces!")[1].account == "user"


def test_set_password_of_an_unknown_account_is_refused(service):
    _token, admin = login(service)
    with refused(service, NotFound, ErrorCode.ACCOUNT_NOT_FOUND):
        service.accounts.set_password("operator", "n3w-secret", admin)


def test_set_password_replaces_the_default_and_ends_that_accounts_sessions(service, events):
    admin_token, admin = login(service)
    user_token, _user = login(service, "user")
    version = service.version
    events.mark()
    service.accounts.set_password("user", "n3w-secret", admin)
    assert events.new() == [(INFO, "Account", "Password of account user changed by admin.")]
    assert ended(service, user_token)
    assert service.accounts.authenticate(admin_token).account == "admin"
    assert service.accounts.with_default_password() == ["admin"]
    assert service.version == version  # accounts are no configuration
    with pytest.raises(NotAuthenticated):
        login(service, "user", PASSWORD)
    assert login(service, "user", "n3w-secret")[1].account == "user"


def test_an_administrator_changing_their_own_password_ends_their_other_sessions(service, events):
    """The endpoint says the account's other sessions end; the audit saw admin's stay valid."""
    asking_token, asking = login(service)
    other_token, _other = login(service, client="10.0.0.9")
    user_token, _user = login(service, "user")
    events.mark()
    service.accounts.set_password("admin", "n3w-secret", asking)
    assert events.new() == [(INFO, "Account", "Password of account admin changed by admin.")]
    assert ended(service, other_token)
    assert service.accounts.authenticate(asking_token).account == "admin"
    assert service.accounts.authenticate(user_token).account == "user"


# Accounts beyond two: create, disable, enable, delete

NEW_PASSWORD = "s3cret-pass"


def new_account(service, name="ops", role=Role.ADMIN, password=NEW_PASSWORD):
    _token, admin = login(service)
    return service.accounts.create(name, role, password, admin)


def test_an_administrator_creates_accounts_of_either_role(service, events):
    _token, admin = login(service)
    events.mark()
    ops = service.accounts.create("ops", Role.ADMIN, NEW_PASSWORD, admin)
    monitor = service.accounts.create("monitor", Role.USER, "m0nitor-pass", admin)
    assert (ops.name, ops.role, ops.enabled, ops.default_password) == \
        ("ops", Role.ADMIN, True, False)
    assert [a.name for a in service.accounts.all()] == ["admin", "monitor", "ops", "user"]
    assert service.uow.store.load_state().accounts["monitor"] == monitor
    assert events.new() == [(INFO, "Account", "Account ops (administrator) created by admin."),
                            (INFO, "Account", "Account monitor (read-only) created by admin.")]
    assert login(service, "ops", NEW_PASSWORD)[1].role is Role.ADMIN
    assert login(service, "monitor", "m0nitor-pass")[1].role is Role.USER
    assert NEW_PASSWORD not in " ".join(messages(service))


def test_only_an_administrator_creates_disables_enables_and_deletes(service):
    _token, user = login(service, "user")
    for change in (lambda: service.accounts.create("ops", Role.ADMIN, NEW_PASSWORD, user),
                   lambda: service.accounts.disable("admin", user),
                   lambda: service.accounts.enable("admin", user),
                   lambda: service.accounts.delete("admin", user)):
        with refused(service, Forbidden, ErrorCode.FORBIDDEN):
            change()


@pytest.mark.parametrize("name", ["", "-ops", "a" * 33, "with space", "ops/1", "system",
                                  "SYSTEM", "bad\nname"])
def test_an_account_name_follows_the_name_rules_and_system_is_reserved(service, name):
    _token, admin = login(service)
    with refused(service, InvalidArgument, ErrorCode.INVALID_ARGUMENT):
        service.accounts.create(name, Role.USER, NEW_PASSWORD, admin)


def test_a_new_accounts_password_follows_the_password_rules(service):
    _token, admin = login(service)
    for password in ["", "abc", "x" * 65, "ab\x00cd"]:
        with refused(service, InvalidArgument, case=password):
            service.accounts.create("ops", Role.USER, password, admin)


def test_account_names_are_unique(service):
    new_account(service)
    _token, admin = login(service)
    for name in ("ops", "admin", "user"):
        with refused(service, Conflict, ErrorCode.ACCOUNT_NAME_TAKEN, case=name):
            service.accounts.create(name, Role.USER, NEW_PASSWORD, admin)


def test_a_role_is_admin_or_user(service):
    assert accounts_module.parse_role("admin") is Role.ADMIN
    assert accounts_module.parse_role("USER") is Role.USER
    with pytest.raises(InvalidArgument):
        accounts_module.parse_role("root")


def test_disabling_ends_the_accounts_sessions_and_refuses_its_login(service, events):
    _token, admin = login(service)
    user_token, _user = login(service, "user")
    other_token, _other = login(service, "user", client="10.0.0.9")
    admin_token, _ = login(service, client="10.0.0.2")
    events.mark()
    disabled = service.accounts.disable("user", admin)
    assert not disabled.enabled and not service.uow.store.load_state().accounts["user"].enabled
    assert events.new() == [(INFO, "Account", "Account user disabled by admin; its sessions "
                                              "ended.")]
    assert ended(service, user_token) and ended(service, other_token)
    assert service.accounts.authenticate(admin_token).account == "admin"
    # The right password is told the account is disabled (403), once per attempt in the log;
    # a wrong one learns nothing it did not know.
    with pytest.raises(Forbidden) as caught:
        login(service, "user")
    assert caught.value.code is ErrorCode.ACCOUNT_DISABLED
    assert events.new() == [(INFO, "Account", f"Login for account user from {CLIENT} refused: "
                                              "the account is disabled.")]
    with pytest.raises(NotAuthenticated):
        login(service, "user", "wrong-password")
    assert not any(s.account == "user" for s in service.state.sessions.values())


def test_a_disabled_account_logs_in_again_once_enabled(service, events):
    _token, admin = login(service)
    service.accounts.disable("user", admin)
    events.mark()
    assert service.accounts.enable("user", admin).enabled
    assert events.new() == [(INFO, "Account", "Account user enabled by admin.")]
    assert login(service, "user")[1].account == "user"


def test_disabling_or_enabling_twice_changes_nothing_the_second_time(service):
    _token, admin = login(service)
    service.accounts.disable("user", admin)
    then = before(service)
    assert not service.accounts.disable("user", admin).enabled
    assert_unchanged(service, then)
    service.accounts.enable("user", admin)
    then = before(service)
    assert service.accounts.enable("user", admin).enabled
    assert_unchanged(service, then)


def test_deleting_ends_the_accounts_sessions_and_its_name_can_be_used_again(service, events):
    new_account(service)
    ops_token, _ops = login(service, "ops", NEW_PASSWORD)
    _token, admin = login(service)
    events.mark()
    deleted = service.accounts.delete("ops", admin)
    assert deleted.name == "ops" and "ops" not in service.uow.store.load_state().accounts
    assert events.new() == [(INFO, "Account", "Account ops deleted by admin; its sessions "
                                              "ended.")]
    assert ended(service, ops_token)
    with pytest.raises(NotAuthenticated):
        login(service, "ops", NEW_PASSWORD)
    # A new account of that name is a new account: the old token stays dead.
    service.accounts.create("ops", Role.USER, "another-pass", admin)
    assert ended(service, ops_token)


def test_unknown_accounts_are_refused(service):
    _token, admin = login(service)
    for change in (service.accounts.disable, service.accounts.enable, service.accounts.delete):
        with refused(service, NotFound, ErrorCode.ACCOUNT_NOT_FOUND):
            change("operator", admin)


@pytest.mark.parametrize("verb", ["disable", "delete"])
def test_nobody_disables_or_deletes_the_account_they_are_logged_in_with(service, verb):
    new_account(service)  # another administrator exists: only the own-account rule refuses
    _token, admin = login(service)
    with refused(service, Conflict, ErrorCode.OWN_ACCOUNT):
        getattr(service.accounts, verb)("admin", admin)


@pytest.mark.parametrize("verb", ["disable", "delete"])
def test_the_last_enabled_administrator_stays(service, verb):
    """Two administrators disabling each other at once (the two controllers of a Ceph array):
    the second change finds the other one's done, and the array keeps one administrator."""
    new_account(service)
    _token, ops = login(service, "ops", NEW_PASSWORD)
    _token, admin = login(service)
    service.accounts.disable("ops", admin)  # the first of the two changes
    with refused(service, Conflict, ErrorCode.LAST_ADMINISTRATOR):
        getattr(service.accounts, verb)("admin", ops)  # ops's request was already admitted


def test_a_disabled_administrator_does_not_count_as_the_one_that_stays(service):
    new_account(service)
    new_account(service, "ops2")
    _token, admin = login(service)
    service.accounts.disable("ops", admin)
    _token, ops2 = login(service, "ops2", NEW_PASSWORD)
    service.accounts.delete("admin", ops2)  # ops2 is still enabled: allowed
    with refused(service, Conflict, ErrorCode.LAST_ADMINISTRATOR):
        service.accounts.disable("ops2", admin)  # a session admitted before admin went
    service.accounts.delete("ops", ops2)  # a disabled administrator may go
    assert [(a.name, a.role) for a in service.accounts.all()] == \
        [("ops2", Role.ADMIN), ("user", Role.USER)]


def test_the_built_in_accounts_go_like_others_and_do_not_come_back(service, restart):
    new_account(service)
    _token, ops = login(service, "ops", NEW_PASSWORD)
    service.accounts.delete("user", ops)
    service.accounts.delete("admin", ops)
    reopened = restart()
    assert [a.name for a in reopened.accounts.all()] == ["ops"]
    assert reopened.accounts.with_default_password() == []


def test_a_disabled_account_is_not_one_with_a_default_password_that_can_log_in(service):
    """A real array refuses to start while an account has the default password; disabling
    the account is the other way to close that door."""
    _token, admin = login(service)
    service.accounts.disable("user", admin)
    assert service.accounts.with_default_password() == ["admin"]
    assert [a.default_password for a in service.accounts.all()] == [True, True]


def test_a_session_of_an_account_disabled_elsewhere_answers_403(service):
    """Disabling ends the sessions in the same change; should a session outlive that (a record
    written by another release), its account's state still decides."""
    token, _session = login(service, "user")
    with service.uow.change() as change:
        change.put(replace(change.state.accounts["user"], enabled=False))
    with pytest.raises(Forbidden) as caught:
        service.accounts.authenticate(token)
    assert caught.value.code is ErrorCode.ACCOUNT_DISABLED


@pytest.mark.parametrize(("verb", "error"), [("disable", Forbidden),
                                             ("delete", NotAuthenticated)])
def test_an_account_disabled_or_deleted_during_its_login_gets_no_session(service, monkeypatch,
                                                                         verb, error):
    _token, admin = login(service)
    real = accounts_module.password_matches

    def matches_then_changed(password, stored):
        valid = real(password, stored)
        if stored == service.state.accounts["user"].password_hash:
            getattr(service.accounts, verb)("user", admin)
        return valid

    monkeypatch.setattr(accounts_module, "password_matches", matches_then_changed)
    with pytest.raises(error):
        login(service, "user")
    assert not any(s.account == "user" for s in service.state.sessions.values())


# Refresh tokens (XEVO's offline access)

def test_a_refresh_token_renews_sessions_until_it_expires(service, events):
    token, _session, refresh = service.accounts.login_renewable("admin", PASSWORD, CLIENT)
    assert service.accounts.authenticate(token).account == "admin"
    renewed, again = service.accounts.renew(refresh, CLIENT)
    assert renewed != token and again.account == "admin" and again.role is Role.ADMIN
    assert service.accounts.authenticate(renewed).account == "admin"
    assert events.new()[-1][1:] == ("Account", f"Account admin renewed its session from {CLIENT}.")
    stored = next(iter(service.state.refresh_tokens.values()))
    assert refresh not in stored.token_hash and stored.account == "admin"  # only its hash
    service.simulation.advance_clock(int(service.accounts.policy.refresh_seconds) + 1)
    with pytest.raises(NotAuthenticated):
        service.accounts.renew(refresh, CLIENT)
    service.accounts.write_back()
    assert service.state.refresh_tokens == {}


def test_a_password_change_ends_the_refresh_tokens(service):
    _token, _session, refresh = service.accounts.login_renewable("user", PASSWORD, CLIENT)
    service.accounts.change_password("user", "n3w-Passw0rd", changed_by="test", end_sessions=True)
    with pytest.raises(NotAuthenticated):
        service.accounts.renew(refresh, CLIENT)
