"""Accounts, sessions and login throttling (service/accounts.py)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from unittest import mock

import pytest

from opensan.domain.errors import (
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
