"""QSAN's code and status for each condition, in both of QSAN's code families."""

from __future__ import annotations

import pytest

from opensan.api.xevo.errors import FORBIDDEN_CODE, Generation, xevo_code
from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InvalidArgument,
    NotAuthenticated,
    pool_not_found,
    snapshot_not_found,
    volume_not_found,
)

CASES = [
    # error, method, V1 (code, status), V2 (code, status)
    (volume_not_found(1), "DELETE", (10300, 400), (5000404, 404)),
    (volume_not_found(1), "GET", (10300, 404), (5000404, 404)),
    (snapshot_not_found(1), "DELETE", (13502, 400), (5005502, 400)),
    (snapshot_not_found(1), "GET", (13502, 404), (5005502, 404)),
    (Conflict("taken", ErrorCode.SNAPSHOT_NAME_TAKEN), "POST", (13514, 429), (5005154, 409)),
    (Conflict("busy", ErrorCode.VOLUME_NOT_READY), "PATCH", (12002, 409), (5005998, 503)),
    (Conflict("taken", ErrorCode.VOLUME_NAME_TAKEN), "POST", (12501, 400), (5005151, 409)),
    (InvalidArgument("bad"), "POST", (12003, 400), (5005999, 400)),
    # No QSAN code: OpenSAN's own, but never 10104 (QSAN's pool out of space) for forbidden.
    (pool_not_found(1), "POST", (10400, 404), (10400, 404)),
    (NotAuthenticated("who?"), "GET", (10101, 401), (10101, 401)),
    (Forbidden("read-only"), "PATCH", (FORBIDDEN_CODE, 403), (FORBIDDEN_CODE, 403)),
]


@pytest.mark.parametrize(("error", "method", "v1", "v2"), CASES)
def test_each_condition_answers_qsans_code_in_each_generation(error, method, v1, v2) -> None:
    assert xevo_code(error, method, Generation.V1) == v1
    assert xevo_code(error, method, Generation.V2) == v2


def test_forbidden_is_not_qsans_pool_out_of_space() -> None:
    assert FORBIDDEN_CODE != ErrorCode.FORBIDDEN
    assert xevo_code(Conflict("full", ErrorCode.INSUFFICIENT_CAPACITY), "POST",
                     Generation.V1)[0] == ErrorCode.FORBIDDEN.value  # 10104 is this one
