"""XEVO's local users and groups: the array's accounts, and a group per role.

OpenSAN's accounts are QSAN's two defaults, admin (administrator) and user (read-only), keyed
by name: a user's ID is its name. Each role is a group, named as QSAN's CSI driver looks for
the administrators' (Administrator_Group).
"""

from __future__ import annotations

from opensan.api.endpoint import Api, Call, Endpoint, Kind, Param
from opensan.api.xevo.wire import GroupOut, GroupsOut, UserOut, UsersOut
from opensan.domain.errors import ErrorCode, NotFound
from opensan.domain.models import Account, Role
from opensan.service.accounts import DEFAULT_ACCOUNTS

DOMAIN = "local"
GROUPS = {Role.ADMIN: "Administrator_Group", Role.USER: "User_Group"}
USER_ID = Param("userId", Kind.TEXT, "User ID (the account name)")
GROUP_ID = Param("groupId", Kind.TEXT, "Group ID (its name)")


def user_out(account: Account) -> UserOut:
    return UserOut(name=account.name, id=account.name, domain_id=DOMAIN, description="",
                   email="", is_admin=account.role is Role.ADMIN, is_disable=False,
                   is_default=account.name in DEFAULT_ACCOUNTS, enable_userhome=False,
                   enable2_fa=False)


def group_out(role: Role) -> GroupOut:
    return GroupOut(name=GROUPS[role], id=GROUPS[role], domain_id=DOMAIN, description="",
                    is_default=True)


async def list_users(call: Call) -> UsersOut:
    users = [user_out(a) for a in call.service.state.accounts.values()]
    return UsersOut(users=users, total=len(users))


async def get_user(call: Call) -> UserOut:
    account = call.service.state.accounts.get(call.params["userId"])
    if account is None:
        raise NotFound("No such user.", ErrorCode.ACCOUNT_NOT_FOUND)
    return user_out(account)


async def list_groups(call: Call) -> GroupsOut:
    groups = [group_out(role) for role in GROUPS]
    return GroupsOut(groups=groups, total=len(groups))


async def get_group(call: Call) -> GroupOut:
    role = next((r for r, name in GROUPS.items() if name == call.params["groupId"]), None)
    if role is None:
        raise NotFound("No such group.", ErrorCode.ACCOUNT_NOT_FOUND)
    return group_out(role)


USERS = "/rest/v2/account/domains/local/users"
GROUPS_PATH = "/rest/v2/account/domains/local/groups"
ENDPOINTS = [
    Endpoint("GET", USERS, "List the local users (the array's accounts).", list_users,
             api=Api.XEVO),
    Endpoint("GET", USERS + "/{userId}", "Show a local user.", get_user, params=(USER_ID,),
             api=Api.XEVO),
    Endpoint("GET", GROUPS_PATH, "List the local groups (one per role).", list_groups,
             api=Api.XEVO),
    Endpoint("GET", GROUPS_PATH + "/{groupId}", "Show a local group.", get_group,
             params=(GROUP_ID,), api=Api.XEVO),
]
