"""Accounts, sessions and login throttling (api-contract.md, "Authentication").

Tokens are random and only their SHA-256 is stored. Sessions live in memory for speed and in
the store for restarts; their idle time is written back at most once a minute, so a request
does not cost a disk write. Times come from the array clock, so moving the simulated clock
forward also ages sessions and lockouts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

from opensan.domain.errors import (
    ErrorCode,
    Forbidden,
    InvalidArgument,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
)
from opensan.domain.models import Account, EventLevel, Role, Session
from opensan.service import ArrayService
from opensan.store.base import Store

DEFAULT_PASSWORD = "1234"
DEFAULT_ACCOUNTS = {"admin": Role.ADMIN, "user": Role.USER}
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_PERSIST_EVERY_SECONDS = 60.0
# Throttle records beyond this many are pruned of the ones that no longer matter.
_THROTTLE_RECORDS = 4096
MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH = 4, 64


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    _scheme, salt_hex, digest_hex = stored.split("$")
    expected = hash_password(password, bytes.fromhex(salt_hex)).split("$")[2]
    return hmac.compare_digest(expected, digest_hex)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_default_accounts(store: Store) -> None:
    """A new array has QSAN's two accounts with QSAN's default password."""
    accounts = store.accounts()
    missing = [name for name in DEFAULT_ACCOUNTS if name not in accounts]
    if missing:
        with store.transaction() as tx:
            for name in missing:
                tx.put_account(Account(name, DEFAULT_ACCOUNTS[name],
                                       hash_password(DEFAULT_PASSWORD), default_password=True))


def change_password(
    store: Store, account_name: str, new_password: str, now: float, *, changed_by: str,
    end_sessions: bool,
) -> None:
    """Set a password (and record who did it); end_sessions logs the account out everywhere."""
    if not MIN_PASSWORD_LENGTH <= len(new_password) <= MAX_PASSWORD_LENGTH or not (
        new_password.isprintable()
    ):
        raise InvalidArgument(
            f"A password is {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} printable characters.")
    account = store.accounts().get(account_name)
    if account is None:
        raise NotFound("No such account.", ErrorCode.ACCOUNT_NOT_FOUND)
    updated = replace(account, password_hash=hash_password(new_password), default_password=False)
    with store.transaction() as tx:
        tx.put_account(updated)
        if end_sessions:
            tx.delete_sessions_of(account_name)
        tx.add_event(now, EventLevel.INFO, "Account",
                     f"Password of account {account_name} changed by {changed_by}.")


def set_password_offline(
    store: Store, account_name: str, new_password: str, changed_by: str
) -> None:
    """Set a password while no server runs (`opensan passwd`): a real array does not start
    with QSAN's default passwords, so this comes before its first start."""
    try:
        ensure_default_accounts(store)
        change_password(store, account_name, new_password, time.time(), changed_by=changed_by,
                        end_sessions=True)
    finally:
        store.close()


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int = 5
    window_seconds: float = 300.0
    lockout_seconds: float = 300.0
    session_idle_seconds: float = 1800.0


@dataclass
class _Throttle:
    failures: deque[float]
    locked_until: float = 0.0


class Authenticator:
    def __init__(self, service: ArrayService, policy: LoginPolicy) -> None:
        self.service = service
        self.store = service.store
        self.policy = policy
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._persisted_use: dict[str, float] = {}
        self._throttles: dict[tuple[str, str], _Throttle] = {}
        # Compared against when an account does not exist, so both answers take as long.
        self._decoy_hash = hash_password(secrets.token_hex(8))

    def open(self) -> None:
        """Create the default accounts on a new array and reload live sessions."""
        ensure_default_accounts(self.store)
        now = self.service.clock.now()
        live: list[Session] = []
        expired: list[Session] = []
        for session in self.store.sessions():
            (expired if self._is_expired(session, now) else live).append(session)
        self.store.delete_sessions(s.token_hash for s in expired)
        self._sessions = {s.token_hash: s for s in live}
        self._persisted_use = {s.token_hash: s.last_used_at for s in live}

    def accounts_with_default_password(self) -> list[str]:
        return sorted(a.name for a in self.store.accounts().values() if a.default_password)

    def _is_expired(self, session: Session, now: float) -> bool:
        return now - session.last_used_at > self.policy.session_idle_seconds

    def expire_time(self, session: Session) -> int:
        return int(session.last_used_at + self.policy.session_idle_seconds)

    # Login and logout

    def login(self, account_name: str, password: str, client: str) -> tuple[str, Session]:
        now = self.service.clock.now()
        key = (account_name, client)
        with self._lock:
            throttle = self._throttles.get(key)
            if throttle is not None and throttle.locked_until > now:
                retry = int(throttle.locked_until - now) + 1
                self.service.record_event(
                    EventLevel.INFO, "Account",
                    f"Login for account {self._shown(account_name)} from {client} refused: "
                    f"locked for {retry} more seconds.")
                raise TooManyAttempts(
                    f"Too many failed logins; try again in {retry} seconds.", retry)
        account = self.store.accounts().get(account_name)
        valid = password_matches(password, account.password_hash if account else self._decoy_hash)
        if account is None or not valid:
            self._record_failure(account_name, account is not None, client, now)
            raise NotAuthenticated("Wrong account or password.", ErrorCode.WRONG_CREDENTIALS)
        with self._lock:
            self._throttles.pop(key, None)
        token = secrets.token_urlsafe(32)
        session = Session(token_hash(token), account.name, account.role, now, now)
        self.store.put_session(session)
        with self._lock:
            self._sessions[session.token_hash] = session
            self._persisted_use[session.token_hash] = now
        self.service.record_event(EventLevel.INFO, "Account",
                                  f"Account {account.name} logged in from {client}.")
        return token, session

    @staticmethod
    def _shown(account_name: str) -> str:
        """Only known account names reach events: a mistyped name may be a password."""
        return account_name if account_name in DEFAULT_ACCOUNTS else "(unknown)"

    def _prune_throttles(self, now: float) -> None:
        """Forget clients whose failures have aged out, so guessing names cannot fill memory."""
        if len(self._throttles) <= _THROTTLE_RECORDS:
            return
        horizon = now - self.policy.window_seconds
        for key, throttle in list(self._throttles.items()):
            if throttle.locked_until <= now and all(t <= horizon for t in throttle.failures):
                del self._throttles[key]

    def _record_failure(self, account_name: str, known: bool, client: str, now: float) -> None:
        shown = account_name if known else "(unknown)"
        with self._lock:
            self._prune_throttles(now)
            throttle = self._throttles.setdefault((account_name, client), _Throttle(deque()))
            throttle.failures.append(now)
            while throttle.failures and throttle.failures[0] <= now - self.policy.window_seconds:
                throttle.failures.popleft()
            locked = len(throttle.failures) >= self.policy.max_failures
            if locked:
                throttle.locked_until = now + self.policy.lockout_seconds
                throttle.failures.clear()
        self.service.record_event(EventLevel.INFO, "Account",
                                  f"Login failed for account {shown} from {client}.")
        if locked:
            self.service.record_event(
                EventLevel.WARNING, "Account",
                f"Login for account {shown} from {client} locked for "
                f"{int(self.policy.lockout_seconds)} seconds after "
                f"{self.policy.max_failures} failed logins.")

    def logout(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.token_hash, None)
            self._persisted_use.pop(session.token_hash, None)
        self.store.delete_sessions([session.token_hash])
        self.service.record_event(EventLevel.INFO, "Account",
                                  f"Account {session.account} logged out.")

    def authenticate(self, token: str | None) -> Session:
        """The session a token belongs to; each use pushes its idle expiry on."""
        if not token:
            raise NotAuthenticated("Log in first: POST /rest/login/account/<username>/password/"
                                   "<password>, then send the token.")
        hashed = token_hash(token)
        now = self.service.clock.now()
        # A shared store's sessions are the truth for both controllers (refreshed before each
        # request): a login, logout or password change through one counts through the other.
        stored = self.store.session(hashed) if self.store.shared else None
        with self._lock:
            if self.store.shared:
                if stored is None:
                    self._sessions.pop(hashed, None)
                elif hashed not in self._sessions:
                    self._sessions[hashed] = stored
                    self._persisted_use[hashed] = stored.last_used_at
            session = self._sessions.get(hashed)
            if session is None:
                raise NotAuthenticated("The session is unknown or has ended; log in again.",
                                       ErrorCode.SESSION_EXPIRED)
            if self._is_expired(session, now):
                del self._sessions[hashed]
                self._persisted_use.pop(hashed, None)
                expired = True
            else:
                session = replace(session, last_used_at=now)
                self._sessions[hashed] = session
                expired = False
                persist = now - self._persisted_use.get(hashed, 0.0) > _PERSIST_EVERY_SECONDS
                if persist:
                    self._persisted_use[hashed] = now
        if expired:
            self.store.delete_sessions([hashed])
            raise NotAuthenticated("The session expired; log in again.",
                                   ErrorCode.SESSION_EXPIRED)
        if persist:
            self.store.put_session(session)
        return session

    # Accounts

    def set_password(self, account_name: str, new_password: str, by: Session) -> None:
        if by.role is not Role.ADMIN:
            raise Forbidden("Only an administrator can change passwords.")
        change_password(self.store, account_name, new_password, self.service.clock.now(),
                        changed_by=by.account, end_sessions=account_name != by.account)
        if account_name != by.account:
            with self._lock:
                for hashed in [h for h, s in self._sessions.items() if s.account == account_name]:
                    del self._sessions[hashed]
                    self._persisted_use.pop(hashed, None)
