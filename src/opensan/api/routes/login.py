"""3.1 Login, plus logout and password changes (extensions)."""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from opensan.api.endpoint import Access, Call, Endpoint, Kind, Param
from opensan.api.schemas import EmptyOut, LoginOut

SESSION_COOKIE = "opensan_session"


async def login(call: Call) -> Response:
    # scrypt takes tens of milliseconds: keep it off the event loop.
    token, session = await run_in_threadpool(call.service.accounts.login, call.params["account"],
                                             call.params["password"], call.client)
    body = LoginOut(access_token=token, expire_time=call.service.accounts.expire_time(session),
                    account=session.account, role=session.role.value)
    response = Response(body.model_dump_json(by_alias=True), media_type="application/json")
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        max_age=int(call.service.accounts.policy.session_idle_seconds))
    return response


async def logout(call: Call) -> Response:
    assert call.session is not None
    await run_in_threadpool(call.service.accounts.logout, call.session)
    response = Response(EmptyOut().model_dump_json(), media_type="application/json")
    response.delete_cookie(SESSION_COOKIE)
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
        access=Access.PUBLIC,
    ),
    Endpoint("POST", "/rest/logout", "End this session; its token stops working.", logout,
             extension=True),
    Endpoint(
        "POST", "/rest/account/setpassword",
        "Set an account's password; other sessions of that account end.", set_password,
        params=(Param("account", Kind.TEXT, "Account name", placeholder="username"),
                Param("password", Kind.TEXT, "New password (4-64 printable characters)",
                      placeholder="new_password", secret=True)),
        access=Access.ADMIN, extension=True,
    ),
]
