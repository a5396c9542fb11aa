"""3.1 Login, plus logout and password changes (extensions)."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from opensan.api.auth import CSRF_COOKIE, SESSION_COOKIE, csrf_token
from opensan.api.endpoint import Access, Call, Endpoint, Kind, Param
from opensan.api.limits import LoginGate
from opensan.api.schemas import EmptyOut, LoginOut
from opensan.domain.errors import ErrorCode
from opensan.service.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

# The password rule of service/accounts.py, as JSON Schema says it (a JSON string cannot hold
# the lone surrogates that rule also refuses).
PASSWORD_SCHEMA = {"minLength": MIN_PASSWORD_LENGTH, "maxLength": MAX_PASSWORD_LENGTH,
                   "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"}


async def login(call: Call) -> Response:
    gate: LoginGate = call.request.app.state.login_gate
    async with gate.slot():
        # scrypt takes tens of milliseconds: keep it off the event loop.
        token, session = await run_in_threadpool(
            call.service.accounts.login, call.params["account"], call.params["password"],
            call.client)
    body = LoginOut(access_token=token, expire_time=call.service.accounts.expire_time(session),
                    account=session.account, role=session.role)
    response = Response(body.model_dump_json(by_alias=True), media_type="application/json")
    secure = call.request.url.scheme == "https"
    max_age = int(call.service.accounts.policy.session_idle_seconds)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure,
                        max_age=max_age)
    # Readable by the array's own pages, which send it back as X-CSRF-Token (api/auth.py).
    response.set_cookie(CSRF_COOKIE, csrf_token(token), samesite="strict", secure=secure,
                        max_age=max_age)
    return response


async def logout(call: Call) -> Response:
    assert call.session is not None
    await run_in_threadpool(call.service.accounts.logout, call.session)
    response = Response(EmptyOut().model_dump_json(), media_type="application/json")
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


async def set_password(call: Call) -> EmptyOut:
    assert call.session is not None
    await run_in_threadpool(call.service.accounts.set_password, call.params["account"],
                            call.params["password"], call.session)
    return EmptyOut()


ENDPOINTS = [
    Endpoint(
        "POST", "/rest/login", "Log in; answers a session token (also set as a cookie).",
        login,
        params=(Param("account", Kind.TEXT, "Login account", placeholder="username"),
                Param("password", Kind.TEXT, "Login password", secret=True)),
        access=Access.PUBLIC, response=LoginOut,
        errors=(ErrorCode.WRONG_CREDENTIALS, ErrorCode.TOO_MANY_LOGINS, ErrorCode.ACCOUNT_DISABLED),
    ),
    Endpoint("POST", "/rest/logout", "End this session; its token stops working.", logout,
             extension=True, response=EmptyOut),
    Endpoint(
        "POST", "/rest/account/setpassword",
        "Set an account's password; other sessions of that account end.", set_password,
        params=(Param("account", Kind.TEXT, "Account name", placeholder="username",
                      errors=(ErrorCode.ACCOUNT_NOT_FOUND,)),
                Param("password", Kind.TEXT,
                      "New password (4-64 characters, no control characters)",
                      schema=PASSWORD_SCHEMA,
                      placeholder="new_password", secret=True)),
        access=Access.ADMIN, extension=True, response=EmptyOut,
    ),
]
