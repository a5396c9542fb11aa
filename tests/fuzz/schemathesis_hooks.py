"""Schemathesis hooks of the OpenAPI fuzz; run_fuzz.py loads them (SCHEMATHESIS_HOOKS).

They give every request the admin's token (as Schemathesis's auth), check the API's error body
(a check of our own), link the operations for the stateful phase, and undo what would lock the
fuzz out of the array.
Schemathesis runs them in one worker, so module-level state is safe.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import schemathesis

ACCOUNT = "admin"
PASSWORD = "1234"  # QSAN's default, which a new virtual array keeps
ERRORS_DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def _documented_statuses() -> dict[int, int]:
    """Error code -> HTTP status, from the table of docs/errors.md (kept in step with
    ErrorCode by tests/test_docs.py), so the check needs no import of the server."""
    rows = re.findall(r"^\| (\d+) \| (\d+) \|", ERRORS_DOC.read_text(), re.MULTILINE)
    return {int(code): int(status) for code, status in rows}


ERROR_STATUSES = _documented_statuses()
XEVO_DOC = ERRORS_DOC.with_name("xevo.md")
XEVO_PATHS = ("/auth/", "/rest/v1/", "/rest/v2/")


def _xevo_statuses() -> dict[int, int]:
    """XEVO answers QSAN's V1 codes with QSAN's statuses (docs/xevo.md's table, kept in step
    with the code by tests/test_docs.py; the fuzzed array has the default V1 profile) and
    OpenSAN's codes for the rest."""
    rows = re.findall(r"^\| \w+ \| \w+ \| (\d+) \| (\d{3}) \|", XEVO_DOC.read_text(),
                      re.MULTILINE)
    return {**ERROR_STATUSES, **{int(code): int(status) for code, status in rows}}


XEVO_STATUSES = _xevo_statuses()


# The session

_token: str | None = None
_issued: set[str] = set()  # every token _login gave, to tell ours from generated ones


def _url(path: str) -> str:
    return os.environ["OPENSAN_FUZZ_URL"] + path  # the server run_fuzz.py started


def _login() -> str:
    answer = requests.post(_url(f"/rest/login/account/{ACCOUNT}/password/{PASSWORD}"), timeout=30)
    answer.raise_for_status()  # a 429 here means the fuzz locked admin out: fail loudly
    return str(answer.json()["accessToken"])


def _current() -> str:
    global _token
    if _token is None:
        _token = _login()
        _issued.add(_token)
    return _token


@schemathesis.auth(refresh_interval=None)
class AdminToken:
    """The admin's token in the Authorization header (the description's `token` scheme), given
    as Schemathesis's auth: its ignored_auth check then sends each operation once without it,
    and once with a wrong one, and expects the 401."""

    def get(self, case: Any, ctx: Any) -> str:
        return _current()

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": data}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """A case gets the token as it is generated; one sent after a logout (again, or shrunk)
    carries the token of now instead."""
    if case.headers and case.headers.get("Authorization") in _issued:
        case.headers["Authorization"] = _current()


def _post(path: str) -> None:
    requests.post(_url(path), headers={"Authorization": _current()}, timeout=30).raise_for_status()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Every operation is fuzzed; these would end or lock the fuzz's session, or slow the
    array for the rest of the run, so each is followed at once by a repair:

    - POST /rest/logout ends the session: log in again.
    - POST /rest/sim/clock moves the array clock, and a move of 30 minutes or more idles the
      session out: log in again.
    - POST /rest/account/setpassword changes a password; for admin that locks the next login
      out, for user it changes the array: set it back to 1234. The caller's own session lives
      on (only the account's other sessions end), so its token does the restore.
    - POST /rest/sim/latency makes every later change take up to 10 minutes (the run's budget
      and request time-out): set it back to 0 (setting it waits for no latency). The same for
      POST /rest/sim/readlatency and every later read.
    - POST /rest/login is fuzzed as it is. Its example (EXAMPLES) names user; the fuzz also
      takes names from the account list, admin included, so run_fuzz.py starts the server with
      a lock-out no fuzz reaches (1000 failures in a second); a 429 would make _login fail
      loudly.
    """
    global _token
    if response.status_code != 200:
        return
    path = case.operation.path
    if path in ("/rest/logout", "/rest/sim/clock/seconds/{seconds}"):
        _token = None
    elif path.startswith("/rest/account/setpassword/"):
        account = quote(str(case.path_parameters["account"]), safe="")
        _post(f"/rest/account/setpassword/account/{account}/password/{PASSWORD}")
    elif path.startswith("/rest/sim/latency/"):
        _post("/rest/sim/latency/ms/0")
    elif path.startswith("/rest/sim/readlatency/"):
        _post("/rest/sim/readlatency/ms/0")


# The API's error body

@schemathesis.check
def sanos_error_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every failure must answer {"error": {"code": <int>, "message": <str>}} (docs/errors.md)
    as JSON, with a documented code of the HTTP status answered: clients branch on both."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/json"):
        raise AssertionError(f"Error answered as {content_type or 'no content type'!r}, not "
                             f"application/json: {response.content[:200]!r}")
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"Error body is not JSON: {response.content[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(body, dict) and body.keys() == {"error"} and isinstance(error, dict)
            and error.keys() == {"code", "message"} and type(error["code"]) is int
            and isinstance(error["message"], str)):
        raise AssertionError('Error body is not {"error": {"code": <int>, "message": <str>}}: '
                             f"{response.content[:200]!r}")
    xevo = case is not None and case.operation.path.startswith(XEVO_PATHS)
    documented = (XEVO_STATUSES if xevo else ERROR_STATUSES).get(error["code"])
    # XEVO answers 404 for a read of anything that does not exist, whatever its code.
    if xevo and case.method.upper() == "GET" and response.status_code == 404:
        documented = 404
    if documented != response.status_code:
        raise AssertionError(f"Error code {error['code']} is documented for HTTP {documented}, "
                             f"answered with {response.status_code}")
    return True


# Links for the stateful phase. The server's schema has none, and the answers' fields (id,
# volumeId) are not named like the parameters that take them (vdid, poolid), so Schemathesis
# cannot infer which answer holds the ID another operation takes: without these, nearly every
# call would name an object that does not exist. Each source is an
# operation and a JSON pointer into its 200 answer per path parameter; every operation taking
# one of those parameters gets a link from it.

LOGIN = "/rest/login/account/{account}/password/{password}"
SOURCES: list[tuple[str, str, dict[str, str]]] = [
    ("get", "/rest/storage/volumeinfo", {"vdid": "/0/id"}),
    ("get", "/rest/storage/volumeinfo", {"vdid": "/1/id"}),
    ("get", "/rest/storage/poolinfo", {"poolid": "/0/id"}),
    ("get", "/rest/storage/diskinfo", {"diskid": "/0/id", "diskids": "/0/id"}),
    ("get", "/rest/storage/diskinfo", {"diskid": "/25/id", "diskids": "/25/id"}),  # a free one
    ("get", "/rest/storage/availtarget", {"targetid": "/0/id"}),
    ("get", "/rest/storage/availtarget", {"targetid": "/1/id"}),
    ("get", "/rest/storage/availlun/targetid/{targetid}",
     {"targetid": "/targetId", "lun": "/freeLuns/0"}),
    ("get", "/rest/storage/lunmappinginfo", {"targetid": "/0/targetId", "lun": "/0/lun"}),
    ("get", "/rest/storage/snapshot/vdid/{vdid}",
     {"vdid": "/volumeId", "snapid": "/snapshots/0/id"}),
    ("get", "/rest/dashboard/hwmonitor", {"sensor": "/enclosures/0/sensors/0/id"}),
    ("post", "/rest/storage/createpool/name/{name}/raidlevel/{raidlevel}/diskids/{diskids}",
     {"poolid": "/id"}),
    ("post", "/rest/storage/createvolume/poolid/{poolid}/name/{name}/sizegb/{sizegb}",
     {"vdid": "/id"}),
    ("post", "/rest/storage/snapshot/vdid/{vdid}", {"snapid": "/id"}),
    ("post", "/rest/storage/createtarget/controller/{controller}", {"targetid": "/id"}),
    ("post", "/rest/sim/faildisk/diskid/{diskid}", {"diskid": "/id", "diskids": "/id"}),
    ("post", LOGIN, {"account": "/account"}),
]

# Random names never hit an account: without these examples no login and no password change
# would ever succeed (nor the restore of after_call ever run). The read-only user, so that the
# failed logins of the variations lock out that account only, never the fuzz's admin.
EXAMPLES = {
    LOGIN: {"account": "user", "password": PASSWORD},
    "/rest/account/setpassword/account/{account}/password/{password}":
        {"account": "user", "password": "fuzz-password"},
}


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    """Add the links of SOURCES to the schema's 200 answers, and the EXAMPLES."""
    for path, examples in EXAMPLES.items():
        for param in raw_schema["paths"][path]["post"]["parameters"]:
            param["example"] = examples[param["name"]]
    operations = [op for methods in raw_schema["paths"].values() for op in methods.values()]
    for number, (method, path, pointers) in enumerate(SOURCES):
        answer = raw_schema["paths"][path][method]["responses"]["200"]
        links = answer.setdefault("links", {})
        for target in operations:
            taken = {p["name"] for p in target.get("parameters", [])} & pointers.keys()
            if taken:
                links[f"{target['operationId']}-{number}"] = {
                    "operationId": target["operationId"],
                    "parameters": {name: f"$response.body#{pointers[name]}" for name in taken},
                }
