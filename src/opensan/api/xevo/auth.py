"""XEVO's login: POST /auth/get (a password, and a refresh token for offline access) and
POST /auth/refresh (a new access token from the refresh token), through the same accounts,
login throttling and login gate as SANOS's /rest/login."""

from __future__ import annotations

import base64
import binascii
import hmac

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Access, Api, Call, Endpoint
from opensan.api.limits import LoginGate
from opensan.api.xevo.request import BODY
from opensan.api.xevo.wire import AuthIn, AuthOut, RefreshIn
from opensan.domain.errors import InvalidArgument

# goqsan's scope: "<scope>|" + base64(AES-256-ECB(key, PKCS#7(password))) with this key,
# zero-padded to 32 bytes (goqsan's GetCSIScopes). The array can check it against the password.
SCOPE_KEY = b"qsanscope1234".ljust(32, b"\0")


def scope_secret(cipher_text: str) -> bytes:
    """The password a scope carries. Raises InvalidArgument when it carries none."""
    try:
        data = base64.b64decode(cipher_text, validate=True)
        decryptor = Cipher(algorithms.AES(SCOPE_KEY), modes.ECB()).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return unpadder.update(padded) + unpadder.finalize()
    except (binascii.Error, ValueError):
        raise InvalidArgument("The scope's secret is not QSAN's encrypted password.") from None


def check_scopes(scopes: str | None, password: str) -> None:
    """A scope is a name, or name|secret where the secret is the password encrypted as goqsan
    does; one made from another password is refused (400) before the password is checked."""
    if not scopes:
        return
    name, _, secret = scopes.partition("|")
    if not name or not name.replace(".", "").replace("_", "").isalnum():
        raise InvalidArgument(f"Invalid scope {name[:40]!r}.")
    if secret and not hmac.compare_digest(scope_secret(secret), password.encode()):
        raise InvalidArgument("The scope's secret does not match the password.")


async def get_token(call: Call) -> AuthOut:
    body = call.params[BODY]
    assert isinstance(body, AuthIn)
    check_scopes(body.scopes, body.password)
    gate: LoginGate = call.request.app.state.login_gate
    async with gate.slot():
        if body.offline_access == "true":
            token, session, refresh = await run_in_threadpool(
                call.service.accounts.login_renewable, body.user, body.password, call.client)
        else:
            token, session = await run_in_threadpool(
                call.service.accounts.login, body.user, body.password, call.client)
            refresh = ""
    return AuthOut(access_token=token, expire_time=call.service.accounts.expire_time(session),
                   refresh_token=refresh)


async def refresh_token(call: Call) -> AuthOut:
    body = call.params[BODY]
    assert isinstance(body, RefreshIn)
    token, session = await run_in_threadpool(call.service.accounts.renew, body.refresh_token,
                                             call.client)
    return AuthOut(access_token=token, expire_time=call.service.accounts.expire_time(session),
                   refresh_token=body.refresh_token)


ENDPOINTS = [
    Endpoint("POST", "/auth/get",
             "Log in (form: user, password, offlineAccess=true for a refresh token, scopes).",
             get_token, access=Access.PUBLIC, api=Api.XEVO, body=AuthIn),
    Endpoint("POST", "/auth/refresh", "A new access token from a refresh token (form).",
             refresh_token, access=Access.PUBLIC, api=Api.XEVO, body=RefreshIn),
]
