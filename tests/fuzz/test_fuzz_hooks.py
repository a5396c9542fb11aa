"""The fuzz's own parts, without a fuzz: the error-body check must fail what it is there to
fail (a fuzz that finds nothing proves nothing), and the stateful links must still match the
server's routes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
import schemathesis_hooks as hooks
from schemathesis.config import SchemathesisConfig

from opensan.api.app import create_app
from opensan.array import open_array
from opensan.config import Settings


def answer(status: int, body: Any, content_type: str = "application/json") -> SimpleNamespace:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return SimpleNamespace(status_code=status, headers={"content-type": [content_type]},
                           content=content)


def check(response: SimpleNamespace) -> bool | None:
    return hooks.sanos_error_body(None, response, None)


def test_error_codes_come_from_the_docs() -> None:
    assert hooks.ERROR_STATUSES[12003] == 400
    assert hooks.ERROR_STATUSES[10104] == 507
    assert len(hooks.ERROR_STATUSES) > 30


def test_the_error_body_passes() -> None:
    assert check(answer(200, {"anything": 1})) is None
    assert check(answer(404, {"error": {"code": 10300, "message": "No volume 1."}}))
    assert check(answer(500, {"error": {"code": 19999, "message": "Internal error."}}))


@pytest.mark.parametrize("response", [
    answer(400, b"Invalid HTTP request received.", "text/plain; charset=utf-8"),
    answer(400, b"{not json"),
    answer(404, {"detail": "Not Found"}),
    answer(404, {"error": {"code": 10005}}),
    answer(404, {"error": {"code": True, "message": "a bool is no code"}}),
    answer(404, {"error": {"code": "10005", "message": "a string is no code"}}),
    answer(404, {"error": {"code": 10005, "message": "x"}, "detail": "more"}),
    answer(409, {"error": {"code": 12003, "message": "a 400 code on a 409"}}),
    answer(400, {"error": {"code": 99999, "message": "an undocumented code"}}),
], ids=["plain text", "not JSON", "no error key", "no message", "bool code", "string code",
        "extra key", "code of another status", "unknown code"])
def test_a_wrong_error_answer_fails(response: SimpleNamespace) -> None:
    with pytest.raises(AssertionError):
        check(response)


def test_every_link_source_is_a_route_and_feeds_an_operation(tmp_path: Path) -> None:
    array = open_array(Settings(state_dir=tmp_path / "state"))  # the fuzz's kind: the virtual one
    try:
        schema = create_app(array.service).openapi()  # what /openapi.json answers
    finally:
        array.close()
    hooks.before_load_schema(None, schema)
    for method, path, _ in hooks.SOURCES:
        assert schema["paths"][path][method]["responses"]["200"]["links"], (method, path)


def test_the_use_after_free_check_is_off_for_the_snapshot_list_only(tmp_path: Path) -> None:
    """Deleting every snapshot of a volume leaves its (empty) list; schemathesis.toml turns
    the check that a deleted resource answers 404 off for that list's GET and nowhere else."""
    array = open_array(Settings(state_dir=tmp_path / "state"))
    try:
        schema = create_app(array.service).openapi()
    finally:
        array.close()
    config = SchemathesisConfig.from_path(str(Path(hooks.__file__).with_name("schemathesis.toml")))
    loaded = schemathesis.openapi.from_dict(schema, config=config)
    off = {f"{operation.method.upper()} {operation.path}"
           for operation in (result.ok() for result in loaded.get_all_operations())
           if loaded.config.operations.get_for_operation(operation).checks.use_after_free.enabled
           is False}
    assert off == {"GET /rest/v2/backup/snapshot/targets/{volumeId}/snapshots"}
