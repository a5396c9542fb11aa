"""Each error code has one HTTP status, and an error answers its code's (domain/errors.py)."""

from __future__ import annotations

from opensan.domain.errors import (
    _BY_STATUS,
    HTTP_STATUS,
    Conflict,
    ErrorCode,
    InvalidArgument,
    NotFound,
    volume_not_found,
)


def test_every_code_has_one_status() -> None:
    listed = [code for codes in _BY_STATUS.values() for code in codes]
    assert sorted(listed) == sorted(ErrorCode)  # each once
    assert HTTP_STATUS[ErrorCode.LUN_NOT_MAPPED] == ErrorCode.LUN_NOT_MAPPED.http_status == 404


def test_an_error_answers_the_status_of_its_code() -> None:
    assert volume_not_found(7).http_status == 404
    assert Conflict("taken", ErrorCode.SNAPSHOT_NAME_TAKEN).http_status == 409
    assert InvalidArgument("bad name", ErrorCode.INVALID_SNAPSHOT_NAME).http_status == 400
    assert NotFound("gone").code is ErrorCode.OBJECT_NOT_FOUND
