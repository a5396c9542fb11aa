"""XEVO's login (POST /auth/get, /auth/refresh): the same accounts, sessions, throttling and
events as SANOS's /rest/login, with refresh tokens and goqsan's CSI scope."""

from __future__ import annotations

import base64

import pytest
from conftest import PASSWORD, Api, Harness, assert_error
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from xevo_support import VOLUMES, events, qsan_error, whole_state, xevo_api, xevo_login

from opensan.api.xevo.auth import SCOPE_KEY, check_scopes

# goqsan's GetCSIScopes("1234"), as the wire-format page shows it.
CSI_SCOPE_1234 = "csi.readwrite|sV2YoKMUhA8ysrY4FL2f2Q=="


def test_auth_get_answers_goqsans_token_shape(harness: Harness) -> None:
    response = xevo_login(harness.http, "admin")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "expireTime", "refreshToken"}
    assert isinstance(body["accessToken"], str) and len(body["accessToken"]) >= 16
    assert isinstance(body["refreshToken"], str) and len(body["refreshToken"]) >= 16
    assert isinstance(body["expireTime"], int)
    assert "set-cookie" not in response.headers  # XEVO's clients send the header
    # The token is a session like SANOS's: it reads both APIs.
    api = Api(harness.http, body["accessToken"])
    api.ok("GET", VOLUMES)
    api.ok("GET", "/rest/storage/volumeinfo")
    assert "Account admin logged in from" in events(api)[0]


def test_a_sanos_token_reads_xevo(admin: Api) -> None:
    admin.ok("GET", "/rest/v2/storage/pools")


def test_without_offline_access_there_is_no_refresh_token(harness: Harness) -> None:
    harness.http.cookies.clear()
    response = harness.http.post("/auth/get", data={"user": "user", "password": PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["refreshToken"] == ""


def test_refresh_gives_a_new_session_and_keeps_the_refresh_token(harness: Harness) -> None:
    first = xevo_login(harness.http, "admin").json()
    renewed = harness.http.post("/auth/refresh", data={"refreshToken": first["refreshToken"]})
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert body["refreshToken"] == first["refreshToken"]
    assert body["accessToken"] != first["accessToken"]
    api = Api(harness.http, body["accessToken"])
    api.ok("GET", VOLUMES)
    assert "Account admin renewed its session from" in events(api)[0]
    again = harness.http.post("/auth/refresh", data={"refreshToken": first["refreshToken"]})
    assert again.status_code == 200, "a refresh token serves more than once"


@pytest.mark.parametrize("token", ["", "not-a-token"])
def test_an_unknown_refresh_token_is_401(harness: Harness, token: str) -> None:
    response = harness.http.post("/auth/refresh", data={"refreshToken": token})
    qsan_error(response, 401, 10102)


def test_a_password_change_ends_the_refresh_tokens(harness: Harness, admin: Api) -> None:
    refresh = xevo_login(harness.http, "user").json()["refreshToken"]
    admin.ok("POST", "/rest/account/setpassword/account/user/password/n3w-Passw0rd")
    qsan_error(harness.http.post("/auth/refresh", data={"refreshToken": refresh}), 401, 10102)


@pytest.mark.simulated("the access token idles out by the simulated clock")
def test_an_idled_out_token_is_401_and_the_refresh_token_renews_it(harness: Harness) -> None:
    login = xevo_login(harness.http, "admin").json()
    api = Api(harness.http, login["accessToken"])
    api.ok("POST", "/rest/sim/clock/seconds/1801")
    qsan_error(api.get(VOLUMES), 401, 10102)
    renewed = harness.http.post("/auth/refresh", data={"refreshToken": login["refreshToken"]})
    Api(harness.http, renewed.json()["accessToken"]).ok("GET", VOLUMES)


def csi_scope(password: str) -> str:
    """goqsan's GetCSIScopes: AES-256-ECB of the PKCS#7-padded password, key qsanscope1234."""
    padder = padding.PKCS7(128).padder()
    padded = padder.update(password.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(SCOPE_KEY), modes.ECB()).encryptor()
    secret = encryptor.update(padded) + encryptor.finalize()
    return "csi.readwrite|" + base64.b64encode(secret).decode()


def test_goqsans_csi_scope_is_accepted(harness: Harness) -> None:
    assert csi_scope("1234") == CSI_SCOPE_1234
    response = xevo_login(harness.http, "admin", scopes=csi_scope(PASSWORD))
    assert response.status_code == 200, response.text


def test_a_scope_of_another_password_is_refused_before_the_password(harness: Harness,
                                                                    admin: Api) -> None:
    before = whole_state(admin)
    response = xevo_login(harness.http, "admin", scopes=csi_scope(PASSWORD + "x"))
    qsan_error(response, 400, 12003)
    response = xevo_login(harness.http, "admin", scopes="csi.readwrite|not base64!")
    qsan_error(response, 400, 12003)
    assert whole_state(admin) == before  # not even a failed-login event


def test_the_scope_check_is_goqsans_encryption() -> None:
    check_scopes(CSI_SCOPE_1234, "1234")
    check_scopes("csi.readwrite", "anything")
    with pytest.raises(Exception, match="does not match"):
        check_scopes(CSI_SCOPE_1234, "12345")


def test_wrong_passwords_answer_401_and_lock_out_like_sanos(harness: Harness) -> None:
    for _ in range(5):
        qsan_error(xevo_login(harness.http, "user", password="wrong-pw"), 401, 10103)
    locked = xevo_login(harness.http, "user")
    qsan_error(locked, 429, 10105)
    assert locked.headers["Retry-After"].isdigit()
    # The lock is the account's, whichever API asks.
    assert_error(harness.http.post(f"/rest/login/account/user/password/{PASSWORD}"), 429)
    admin = xevo_api(harness.http, "admin")
    failures = [m for m in events(admin) if "Login failed for account user" in m]
    assert len(failures) == 5
    assert not [m for m in events(admin) if "wrong-pw" in m]


@pytest.mark.parametrize("form", [{}, {"user": "admin"}, {"password": PASSWORD},
                                  {"user": "admin", "password": PASSWORD, "other": "x"}])
def test_a_bad_login_form_is_400(harness: Harness, form: dict[str, str]) -> None:
    qsan_error(harness.http.post("/auth/get", data=form), 400, 12003)


def test_about_is_open_and_names_the_array(harness: Harness, admin: Api) -> None:
    harness.http.cookies.clear()
    about = harness.http.get("/rest/v1/about")
    assert about.status_code == 200, about.text
    body = about.json()
    system = admin.ok("GET", "/rest/dashboard/systeminfo")
    assert body["modelType"] == "SAN"
    assert (body["modelName"], body["serialNumber"], body["systemName"], body["firmwareVer"]) == (
        system["modelName"], system["serialNumber"], system["systemName"],
        system["firmwareVersion"])
    assert isinstance(body["wwn"], str) and len(body["wwn"]) == 32
    assert body["addresses"] and all(isinstance(a["address"], str) and a["online"] is True
                                     for a in body["addresses"])
    # goqsan's newer generation sends its (maybe stale) token along: still answered.
    assert harness.http.get("/rest/v1/about", headers={"Authorization": "stale"}).status_code == 200
