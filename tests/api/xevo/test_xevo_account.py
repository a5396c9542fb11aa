"""XEVO's local users and groups: the array's two accounts and a group per role."""

from __future__ import annotations

import pytest
from conftest import Api
from xevo_support import qsan_error

USERS = "/rest/v2/account/domains/local/users"
GROUPS = "/rest/v2/account/domains/local/groups"


def test_the_users_are_the_accounts(reader: Api) -> None:
    listed = reader.ok("GET", USERS)
    assert listed["total"] == len(listed["users"]) == 2
    users = {u["id"]: u for u in listed["users"]}
    assert set(users) == {"admin", "user"}
    for user in users.values():
        assert {k: type(v) for k, v in user.items()} == {
            "name": str, "id": str, "domainId": str, "description": str, "email": str,
            "isAdmin": bool, "isDisable": bool, "isDefault": bool, "enableUserhome": bool,
            "enable2FA": bool}
        assert reader.ok("GET", f"{USERS}/{user['id']}") == user
    assert users["admin"]["isAdmin"] and not users["user"]["isAdmin"]


def test_the_groups_are_the_roles(reader: Api) -> None:
    listed = reader.ok("GET", GROUPS)
    assert {g["name"] for g in listed["groups"]} == {"Administrator_Group", "User_Group"}
    assert listed["total"] == 2
    for group in listed["groups"]:
        assert reader.ok("GET", f"{GROUPS}/{group['id']}") == group


@pytest.mark.parametrize("path", [f"{USERS}/nobody", f"{GROUPS}/Nobody_Group"])
def test_an_unknown_user_or_group_is_404(reader: Api, path: str) -> None:
    qsan_error(reader.get(path), 404, 16000)
