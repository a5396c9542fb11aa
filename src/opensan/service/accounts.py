"""Accounts, sessions and login throttling (api-contract.md, "Authentication").

An administrator creates, disables, enables and deletes accounts, each an administrator or a
read-only user. The array always keeps an enabled administrator: the last one cannot be
disabled or deleted, nor can the account an administrator is logged in with (another
administrator does that). A disabled or deleted account's sessions end in the same change; a
disabled account's login, with the right password only, answers 403.

Tokens are random and only their SHA-256 is stored. Accounts and sessions are records like any
other, changed through the unit of work; a request checks its session in memory and only notes
the time of its use, which the periodic tick writes back once it is a minute newer than the
stored one (and it deletes sessions that idled out), so an authenticated read costs no write
and never waits. Times come from the array clock, so moving the simulated clock forward also
ages sessions and lockouts.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from opensan.domain import rules
from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidArgument,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
)
from opensan.domain.identity import Clock
from opensan.domain.models import (
    SYSTEM_ACCOUNT,
    Account,
    Actor,
    ArrayState,
    EventLevel,
    RefreshToken,
    Role,
    Session,
)
from opensan.service.unit_of_work import Change, UnitOfWork, acting_as
from opensan.store.base import Store

DEFAULT_PASSWORD = "1234"
DEFAULT_ACCOUNTS = {"admin": Role.ADMIN, "user": Role.USER}
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
# A session's time of last use is written back once it is this much newer than the stored one.
PERSIST_EVERY_SECONDS = 60.0
# Throttle records beyond this many are pruned of the ones that no longer matter.
_THROTTLE_RECORDS = 4096
MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH = 4, 64
# A password that matched is checked by an HMAC in memory instead of scrypt for this long after,
# so that a client that logs in often (QSAN's SDK logs in for each of a CSI driver's calls) does
# not pay scrypt's tens of milliseconds every time.
VERIFIED_SECONDS = 600.0
# 4 to 64 characters, none of them a control character (nor half a UTF-16 pair).
_PASSWORD = re.compile(r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]"
                       f"{{{MIN_PASSWORD_LENGTH},{MAX_PASSWORD_LENGTH}}}")


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    _scheme, salt_hex, digest_hex = stored.split("$")
    expected = hash_password(password, bytes.fromhex(salt_hex)).split("$")[2]
    return hmac.compare_digest(expected, digest_hex)


class RecentlyVerified:
    """The passwords that matched in the last VERIFIED_SECONDS, one per account, kept only as an
    HMAC under a key of this process (never stored or logged), with the stored hash they matched:
    a changed password, or an account made anew, misses. A wrong password never matches, so it
    always pays scrypt and guessing is as slow as ever."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._matched: dict[str, tuple[bytes, float]] = {}

    def _mac(self, password: str, stored: str) -> bytes:
        return hmac.new(self._key, f"{stored}\0{password}".encode(), hashlib.sha256).digest()

    def matches(self, account: str, password: str, stored: str) -> bool:
        with self._lock:
            seen = self._matched.get(account)
        return (seen is not None and self._now() < seen[1]
                and hmac.compare_digest(seen[0], self._mac(password, stored)))

    def remember(self, account: str, password: str, stored: str) -> None:
        entry = (self._mac(password, stored), self._now() + VERIFIED_SECONDS)
        with self._lock:
            self._matched[account] = entry


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: str) -> str:
    """Raises InvalidArgument for a password of the wrong length or with control characters."""
    if not _PASSWORD.fullmatch(password):
        raise InvalidArgument(
            f"A password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, "
            "none of them a control character.")
    return password


def check_account_name(name: str) -> str:
    """The names of objects (domain/rules.py), but the one events give the array itself."""
    rules.check_name(name, "account")
    if name.lower() == SYSTEM_ACCOUNT:
        raise InvalidArgument(f"The account name {SYSTEM_ACCOUNT} is reserved: events name the "
                              "array itself so.")
    return name


def parse_role(text: str) -> Role:
    try:
        return Role(text.lower())
    except ValueError:
        raise InvalidArgument(f"A role is {Role.ADMIN.value} (administrator) or "
                              f"{Role.USER.value} (read-only), got {text[:40]!r}.") from None


def _account_of(state: ArrayState, name: str) -> Account:
    account = state.accounts.get(name)
    if account is None:
        raise NotFound(f"No account is named {name[:40]!r}.", ErrorCode.ACCOUNT_NOT_FOUND)
    return account


def _require_admin(by: Session, what: str) -> None:
    if by.role is not Role.ADMIN:
        raise Forbidden(f"Only an administrator can {what}.")


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    window_seconds: float = 300.0
    lockout_seconds: float = 300.0
    session_idle_seconds: float = 1800.0
    # How long a refresh token (XEVO's offline access) gives new sessions without the password.
    refresh_seconds: float = 7 * 86400.0


@dataclass
class _Throttle:
    # Attempts within the window that count: failures, and checks still in progress.
    attempts: deque[float]
    locked_until: float = 0.0
    refusal_noted: bool = False  # one event per lockout for the logins it refuses


@dataclass(frozen=True)
class _Attempt:
    key: tuple[str, str]
    locks: bool  # if this one fails, the account is locked for the client


class Accounts:
    def __init__(self, uow: UnitOfWork, policy: LoginPolicy) -> None:
        self._uow = uow
        self.policy = policy
        self._lock = threading.Lock()
        # Token hash -> when the session was last used, where that is newer than its record.
        self._used_at: dict[str, float] = {}
        self._throttles: dict[tuple[str, str], _Throttle] = {}
        self._verified = RecentlyVerified()

    @functools.cached_property
    def _decoy_hash(self) -> str:
        """Compared against when an account does not exist, so both answers take as long;
        made at the first such login, not at start-up (scrypt takes tens of milliseconds)."""
        return hash_password(secrets.token_hex(8))

    @property
    def _clock(self) -> Clock:
        return self._uow.clock

    def ensure_defaults(self) -> None:
        """A new array (no accounts at all) has QSAN's two accounts with QSAN's default
        password; an array whose administrator deleted one does not get it back."""
        if self._uow.state.accounts:
            return
        with self._uow.change() as change:
            if change.state.accounts:  # the other controller made them meanwhile
                return
            for name, role in DEFAULT_ACCOUNTS.items():
                change.put(Account(name, role, hash_password(DEFAULT_PASSWORD),
                                   default_password=True))

    def with_default_password(self) -> list[str]:
        """The accounts that can log in with QSAN's default password (a disabled one cannot)."""
        return sorted(a.name for a in self._uow.state.accounts.values()
                      if a.default_password and a.enabled)

    def all(self) -> list[Account]:
        return sorted(self._uow.state.accounts.values(), key=lambda a: a.name)

    def expire_time(self, session: Session) -> int:
        return int(session.last_used_at + self.policy.session_idle_seconds)

    def _last_use(self, session: Session) -> float:
        return max(session.last_used_at, self._used_at.get(session.token_hash, 0.0))

    # Login and logout

    def login(self, account_name: str, password: str, client: str) -> tuple[str, Session]:
        """A new session and its token. Raises TooManyAttempts while the account is locked for
        this client, NotAuthenticated for a wrong account or password, Forbidden for a disabled
        account (told only to who knows its password)."""
        token, session, _refresh = self._login(account_name, password, client, renewable=False)
        return token, session

    def login_renewable(self, account_name: str, password: str,
                        client: str) -> tuple[str, Session, str]:
        """login(), and a refresh token that gives new sessions (renew) without the password
        for refresh_seconds. Raises what login raises."""
        token, session, refresh = self._login(account_name, password, client, renewable=True)
        assert refresh is not None
        return token, session, refresh

    def renew(self, refresh_token: str, client: str) -> tuple[str, Session]:
        """A new session from a refresh token, which stays valid, with its account's role now.
        Raises NotAuthenticated for an unknown or expired one, or one whose account's password
        changed since or which was disabled or deleted."""
        stored = self._uow.state.refresh_tokens.get(token_hash(refresh_token))
        now = self._clock.now()
        account = self._uow.state.accounts.get(stored.account) if stored else None
        if stored is None or stored.expires_at <= now or account is None or not account.enabled:
            raise NotAuthenticated("The refresh token is unknown or expired; log in again.",
                                   ErrorCode.SESSION_EXPIRED)
        token = secrets.token_urlsafe(32)
        session = Session(token_hash(token), account.name, account.role, now, now)
        with acting_as(Actor(account.name, client)), self._uow.change() as change:
            change.put(session)
            change.event(EventLevel.INFO, "Account",
                         f"Account {stored.account} renewed its session from {client}.")
        return token, session

    def _login(self, account_name: str, password: str, client: str,
               renewable: bool) -> tuple[str, Session, str | None]:
        attempt = self._begin_attempt(account_name, client)
        account = self._uow.state.accounts.get(account_name)
        if account is None:
            valid = password_matches(password, self._decoy_hash)
        else:
            valid = (self._verified.matches(account.name, password, account.password_hash)
                     or password_matches(password, account.password_hash))
        if account is None or not valid:
            self._record_failure(account_name, account is not None, client, attempt)
            raise NotAuthenticated("Wrong account or password.", ErrorCode.WRONG_CREDENTIALS)
        self._verified.remember(account.name, password, account.password_hash)
        with self._lock:
            self._throttles.pop(attempt.key, None)
        if not account.enabled:
            with acting_as(Actor(account.name, client)):  # who knows its password
                self._uow.record_event(EventLevel.INFO, "Account",
                                       f"Login for account {account.name} from {client} "
                                       "refused: the account is disabled.")
            raise _disabled(account.name)
        token = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32) if renewable else None
        now = self._clock.now()
        session = Session(token_hash(token), account.name, account.role, now, now)
        with acting_as(Actor(account.name, client)), self._uow.change() as change:
            # Disabled or deleted while the password was being checked: no session for it.
            stored = change.state.accounts.get(account.name)
            if stored is None:
                raise NotAuthenticated("Wrong account or password.", ErrorCode.WRONG_CREDENTIALS)
            if not stored.enabled:
                raise _disabled(account.name)
            change.put(session)
            if refresh is not None:
                change.put(RefreshToken(token_hash(refresh), account.name, account.role, now,
                                        now + self.policy.refresh_seconds))
            change.event(EventLevel.INFO, "Account",
                         f"Account {account.name} logged in from {client}.")
        return token, session, refresh

    def _begin_attempt(self, account_name: str, client: str) -> _Attempt:
        """Count the attempt before its password is checked, so that concurrent guesses are
        counted too: the one that reaches the limit locks at once, and those after it are
        refused without a check. Raises TooManyAttempts while locked."""
        now = self._clock.now()
        key = (account_name, client)
        locks = False
        with self._lock:
            self._prune_throttles(now)
            throttle = self._throttles.setdefault(key, _Throttle(deque()))
            locked_for = int(throttle.locked_until - now) + 1 if throttle.locked_until > now else 0
            note_refusal = bool(locked_for) and not throttle.refusal_noted
            if locked_for:
                throttle.refusal_noted = True
            else:
                while throttle.attempts and throttle.attempts[0] <= now - self.policy.window_seconds:
                    throttle.attempts.popleft()
                throttle.attempts.append(now)
                locks = len(throttle.attempts) >= self.policy.max_failures
                if locks:
                    throttle.locked_until = now + self.policy.lockout_seconds
                    throttle.attempts.clear()
                    throttle.refusal_noted = False
        if locked_for:
            if note_refusal:
                self._uow.record_event(
                    EventLevel.INFO, "Account",
                    f"Login for account {self._shown(account_name)} from {client} refused: "
                    f"locked for {locked_for} more seconds.")
            raise TooManyAttempts(f"Too many failed logins; try again in {locked_for} seconds.",
                                  locked_for)
        return _Attempt(key, locks)

    def _shown(self, account_name: str) -> str:
        """Only known account names reach events: a mistyped name may be a password."""
        return account_name if account_name in self._uow.state.accounts else "(unknown)"

    def _prune_throttles(self, now: float) -> None:
        """Forget clients whose failures have aged out, so guessing names cannot fill memory."""
        if len(self._throttles) <= _THROTTLE_RECORDS:
            return
        horizon = now - self.policy.window_seconds
        for key, throttle in list(self._throttles.items()):
            if throttle.locked_until <= now and all(t <= horizon for t in throttle.attempts):
                del self._throttles[key]

    def _record_failure(self, account_name: str, known: bool, client: str,
                        attempt: _Attempt) -> None:
        shown = account_name if known else "(unknown)"
        with self._uow.change() as change:
            change.event(EventLevel.INFO, "Account",
                         f"Login failed for account {shown} from {client}.")
            if attempt.locks:
                change.event(
                    EventLevel.WARNING, "Account",
                    f"Login for account {shown} from {client} locked for "
                    f"{int(self.policy.lockout_seconds)} seconds after "
                    f"{self.policy.max_failures} failed logins.")

    def logout(self, session: Session) -> None:
        with self._uow.change() as change:
            stored = change.state.sessions.get(session.token_hash)
            if stored is not None:
                change.delete(stored)
            change.event(EventLevel.INFO, "Account", f"Account {session.account} logged out.")
        with self._lock:
            self._used_at.pop(session.token_hash, None)

    def authenticate(self, token: str | None) -> Session:
        """The session a token belongs to; each use pushes its idle expiry on. Reads memory
        only. Raises NotAuthenticated without a token, for an unknown, ended or expired one."""
        if not token:
            raise NotAuthenticated("Log in first: POST /rest/login/account/<username>/password/"
                                   "<password>, then send the token.")
        hashed = token_hash(token)
        now = self._clock.now()
        # A shared store's sessions are both controllers' (refreshed before each request): a
        # login, logout or password change through one counts through the other.
        state = self._uow.state
        session = state.sessions.get(hashed)
        account = state.accounts.get(session.account) if session is not None else None
        if session is None or account is None:
            raise NotAuthenticated("The session is unknown or has ended; log in again.",
                                   ErrorCode.SESSION_EXPIRED)
        if not account.enabled:  # its sessions end with the change; this is belt and braces
            raise _disabled(account.name)
        with self._lock:
            if now - self._last_use(session) > self.policy.session_idle_seconds:
                raise NotAuthenticated("The session expired; log in again.",
                                       ErrorCode.SESSION_EXPIRED)
            self._used_at[hashed] = now
        return replace(session, last_used_at=now)

    def write_back(self) -> None:
        """Called by the periodic tick: store the times of use that are a minute newer than
        the stored ones, and delete the sessions that idled out."""
        now = self._clock.now()
        sessions = self._uow.state.sessions
        with self._lock:
            self._used_at = {h: t for h, t in self._used_at.items() if h in sessions}
            used = dict(self._used_at)
        expired = [h for h, s in sessions.items()
                   if now - max(s.last_used_at, used.get(h, 0.0)) > self.policy.session_idle_seconds]
        due = [h for h, t in used.items() if h not in expired
               and t - sessions[h].last_used_at > PERSIST_EVERY_SECONDS]
        lapsed = [r for r in self._uow.state.refresh_tokens.values() if r.expires_at <= now]
        if not expired and not due and not lapsed:
            return
        with self._uow.change() as change:
            for hashed in expired:
                if hashed in change.state.sessions:
                    change.delete(change.state.sessions[hashed])
            for refresh in lapsed:
                if refresh.token_hash in change.state.refresh_tokens:
                    change.delete(refresh)
            for hashed in due:
                stored = change.state.sessions.get(hashed)
                if stored is not None and used[hashed] > stored.last_used_at:
                    change.put(replace(stored, last_used_at=used[hashed]))

    # Accounts

    def set_password(self, account_name: str, new_password: str, by: Session) -> None:
        """Raises Forbidden (not an administrator), InvalidArgument (the password's form),
        NotFound (no such account)."""
        _require_admin(by, "change passwords")
        # Its other sessions end, also when administrators change their own: the one asking
        # stays logged in.
        self.change_password(account_name, new_password, changed_by=by.account,
                             end_sessions=True, keep=by.token_hash)

    def change_password(self, account_name: str, new_password: str, *, changed_by: str,
                        end_sessions: bool, keep: str | None = None) -> None:
        """Set a password (and record who did it); end_sessions logs the account out everywhere
        but in the session whose token hash is keep.
        Raises InvalidArgument (the password's form), NotFound (no such account)."""
        check_password(new_password)
        _account_of(self._uow.state, account_name)
        password_hash = hash_password(new_password)  # scrypt: before the change lock
        with self._uow.change() as change:
            account = _account_of(change.state, account_name)
            change.put(replace(account, password_hash=password_hash, default_password=False))
            if end_sessions:
                _end_sessions(change, account_name, keep)
            change.event(EventLevel.INFO, "Account",
                         f"Password of account {account_name} changed by {changed_by}.")

    def create(self, name: str, role: Role, password: str, by: Session) -> Account:
        """A new account with its password. Raises Forbidden (not an administrator),
        InvalidArgument (the name's or password's form), Conflict (the name is taken)."""
        _require_admin(by, "create accounts")
        check_account_name(name)
        check_password(password)
        password_hash = hash_password(password)
        with self._uow.change() as change:
            if name in change.state.accounts:
                raise Conflict(f"An account named {name} already exists.",
                               ErrorCode.ACCOUNT_NAME_TAKEN)
            account = Account(name, role, password_hash)
            change.put(account)
            label = "administrator" if role is Role.ADMIN else "read-only"
            change.event(EventLevel.INFO, "Account",
                         f"Account {name} ({label}) created by {by.account}.")
        return account

    def disable(self, name: str, by: Session) -> Account:
        """The account can no longer log in and its sessions end. Raises Forbidden (not an
        administrator), NotFound, Conflict (the caller's own account, the last enabled
        administrator). Disabling a disabled account changes nothing."""
        _require_admin(by, "disable accounts")
        with self._uow.change() as change:
            account = _account_of(change.state, name)
            if not account.enabled:
                return account
            _check_removable(change.state, account, by, "disable")
            disabled = replace(account, enabled=False)
            change.put(disabled)
            _end_sessions(change, name)
            change.event(EventLevel.INFO, "Account",
                         f"Account {name} disabled by {by.account}; its sessions ended.")
        return disabled

    def enable(self, name: str, by: Session) -> Account:
        """Raises Forbidden (not an administrator), NotFound. Enabling an enabled account
        changes nothing."""
        _require_admin(by, "enable accounts")
        with self._uow.change() as change:
            account = _account_of(change.state, name)
            if account.enabled:
                return account
            enabled = replace(account, enabled=True)
            change.put(enabled)
            change.event(EventLevel.INFO, "Account", f"Account {name} enabled by {by.account}.")
        return enabled

    def delete(self, name: str, by: Session) -> Account:
        """The account and its sessions go. Raises Forbidden (not an administrator), NotFound,
        Conflict (the caller's own account, the last enabled administrator)."""
        _require_admin(by, "delete accounts")
        with self._uow.change() as change:
            account = _account_of(change.state, name)
            _check_removable(change.state, account, by, "delete")
            _end_sessions(change, name)
            change.delete(account)
            change.event(EventLevel.INFO, "Account",
                         f"Account {name} deleted by {by.account}; its sessions ended.")
        return account


def _disabled(name: str) -> Forbidden:
    return Forbidden(f"Account {name} is disabled; an administrator can enable it.",
                     ErrorCode.ACCOUNT_DISABLED)


def _check_removable(state: ArrayState, account: Account, by: Session, verb: str) -> None:
    """Raises Conflict where disabling or deleting the account would leave the array without
    an administrator who can log in, or cut the caller off."""
    if account.name == by.account:
        raise Conflict(f"Account {account.name} is the one this session is logged in with; "
                       f"log in as another administrator to {verb} it.", ErrorCode.OWN_ACCOUNT)
    admins = [a for a in state.accounts.values() if a.role is Role.ADMIN and a.enabled]
    if admins == [account]:
        raise Conflict(f"Account {account.name} is the last enabled administrator; the array "
                       "must keep one.", ErrorCode.LAST_ADMINISTRATOR)


def _end_sessions(change: Change, account_name: str, keep: str | None = None) -> None:
    """Log the account out everywhere but in the session whose token hash is keep; its refresh
    tokens end too."""
    for session in list(change.state.sessions.values()):
        if session.account == account_name and session.token_hash != keep:
            change.delete(session)
    for refresh in list(change.state.refresh_tokens.values()):
        if refresh.account == account_name:
            change.delete(refresh)


def set_password_offline(store: Store, account_name: str, new_password: str,
                         changed_by: str) -> None:
    """Set a password while no server runs (`opensan passwd`): a real array does not start
    with QSAN's default passwords, so this comes before its first start. Closes the store."""
    try:
        uow = UnitOfWork(store)
        uow.load()
        accounts = Accounts(uow, LoginPolicy())
        accounts.ensure_defaults()
        accounts.change_password(account_name, new_password, changed_by=changed_by,
                                 end_sessions=True)
    finally:
        store.close()
