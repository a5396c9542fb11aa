"""Accounts beyond QSAN's two (extensions): list, create, disable, enable, delete.

Administrators only, the list too: it tells which accounts still have the default password.
Parameters travel as the manual's key/value pairs (/account/<username>/role/<role>/...), or
as the same keys in a JSON body, which is what a web page sends.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Access, Call, Endpoint, Kind, Param
from opensan.api.routes.login import PASSWORD_SCHEMA
from opensan.api.schemas import ACCOUNT_LIST, AccountOut
from opensan.domain import rules
from opensan.domain.errors import ErrorCode
from opensan.domain.models import SYSTEM_ACCOUNT, Role
from opensan.service.accounts import parse_role

ACCOUNT = Param("account", Kind.TEXT, "Account name", placeholder="username",
                errors=(ErrorCode.ACCOUNT_NOT_FOUND,))
# Nobody disables or deletes their own account or the last enabled administrator.
SPARED = (ErrorCode.LAST_ADMINISTRATOR, ErrorCode.OWN_ACCOUNT)
# The name rule, less the name events give the array itself (in any case, as it is refused).
_SYSTEM_IN_ANY_CASE = "".join(f"[{c.lower()}{c.upper()}]" for c in SYSTEM_ACCOUNT)
NEW_ACCOUNT_PATTERN = f"^(?!{_SYSTEM_IN_ANY_CASE}$){rules.NAME_PATTERN.lstrip('^')}"


async def account_info(call: Call) -> bytes:
    return ACCOUNT_LIST.dump_json([AccountOut.from_domain(a) for a in call.service.accounts.all()],
                                  by_alias=True)


async def create_account(call: Call) -> AccountOut:
    assert call.session is not None
    role = parse_role(call.params["role"])
    # scrypt takes tens of milliseconds: keep it off the event loop.
    return AccountOut.from_domain(await run_in_threadpool(
        call.service.accounts.create, call.params["account"], role, call.params["password"],
        call.session))


async def disable_account(call: Call) -> AccountOut:
    assert call.session is not None
    return AccountOut.from_domain(await run_in_threadpool(
        call.service.accounts.disable, call.params["account"], call.session))


async def enable_account(call: Call) -> AccountOut:
    assert call.session is not None
    return AccountOut.from_domain(await run_in_threadpool(
        call.service.accounts.enable, call.params["account"], call.session))


async def delete_account(call: Call) -> AccountOut:
    assert call.session is not None
    return AccountOut.from_domain(await run_in_threadpool(
        call.service.accounts.delete, call.params["account"], call.session))


ENDPOINTS = [
    Endpoint("GET", "/rest/account/accountinfo",
             "List the accounts: name, role, enabled, whether the password is the default.",
             account_info, access=Access.ADMIN, extension=True, response=list[AccountOut]),
    Endpoint(
        "POST", "/rest/account/create",
        "Create an account: an administrator (admin) or read-only (user).", create_account,
        params=(Param("account", Kind.TEXT, "Account name: 1-32 letters, digits, '-', '_', "
                      "'.'; not system", placeholder="username",
                      schema={"pattern": NEW_ACCOUNT_PATTERN}),
                Param("role", Kind.TEXT, "admin (administrator) or user (read-only)",
                      placeholder="admin|user", choices=tuple(r.value for r in Role)),
                Param("password", Kind.TEXT,
                      "Its password (4-64 characters, no control characters)",
                      schema=PASSWORD_SCHEMA, secret=True)),
        access=Access.ADMIN, extension=True, response=AccountOut,
        errors=(ErrorCode.ACCOUNT_NAME_TAKEN,),
    ),
    Endpoint("POST", "/rest/account/disable",
             "Disable an account: it cannot log in, and its sessions end.", disable_account,
             params=(ACCOUNT,), access=Access.ADMIN, extension=True, response=AccountOut,
             errors=SPARED),
    Endpoint("POST", "/rest/account/enable", "Enable a disabled account again.",
             enable_account, params=(ACCOUNT,), access=Access.ADMIN, extension=True,
             response=AccountOut),
    Endpoint("POST", "/rest/account/delete", "Delete an account; its sessions end.",
             delete_account, params=(ACCOUNT,), access=Access.ADMIN, extension=True,
             response=AccountOut, errors=SPARED),
]
