"""QSAN's code and status for each condition, in both of QSAN's code families; a code never
means two things."""

from __future__ import annotations

import pytest

from opensan.api.xevo.errors import QSAN_CODES, Generation, xevo_code
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
    (Conflict("full", ErrorCode.LUN_LIMIT), "POST", (11901, 403), (5005191, 403)),
    (Conflict("full", ErrorCode.INSUFFICIENT_CAPACITY), "POST", (10104, 400), (5005104, 400)),
    (InvalidArgument("bad"), "POST", (12003, 400), (5005999, 400)),
    # No QSAN code: OpenSAN's own code and status in both families.
    (pool_not_found(1), "POST", (10400, 404), (10400, 404)),
    (NotAuthenticated("who?"), "GET", (10101, 401), (10101, 401)),
    (Forbidden("read-only"), "PATCH", (10107, 403), (10107, 403)),
    (Conflict("snapshots", ErrorCode.VOLUME_HAS_SNAPSHOTS), "DELETE", (10302, 409),
     (10302, 409)),
]
# QSAN's codes for conditions OpenSAN has no counterpart of (wire-format page, section 7):
# volume already deleted, the NAS share codes, the "Syntax error" an array was seen to answer.
QSAN_OTHER_CODES = {10303, 5005303, 3030001, 3030007, 5005005, 4002002, 103}
# OpenSAN's conditions finer than QSAN's: they keep codes of their own (docs/errors.md).
FINER = {ErrorCode.UNKNOWN_PARAMETER, ErrorCode.CONFLICTING_PARAMETER,
         ErrorCode.MISSING_PARAMETER, ErrorCode.SNAPSHOT_NOT_FOUND}


@pytest.mark.parametrize(("error", "method", "v1", "v2"), CASES)
def test_each_condition_answers_qsans_code_in_each_generation(error, method, v1, v2) -> None:
    assert xevo_code(error, method, Generation.V1) == v1
    assert xevo_code(error, method, Generation.V2) == v2


def test_sanos_answers_qsans_code_wherever_qsan_has_one() -> None:
    for condition, qsan in QSAN_CODES.items():
        if condition not in FINER:
            assert condition.value == qsan.v1[0], (condition, qsan)


def test_no_code_of_opensan_is_one_of_qsans_for_another_condition() -> None:
    qsan_codes = QSAN_OTHER_CODES | {code for q in QSAN_CODES.values()
                                     for code in (q.v1[0], q.v2[0])}
    for condition in ErrorCode:
        if condition.value in qsan_codes:
            assert condition in QSAN_CODES and QSAN_CODES[condition].v1[0] == condition.value, \
                condition
