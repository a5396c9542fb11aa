"""XEVO's error answers: QSAN's envelope with QSAN's code and status for each condition.

QSAN's clients branch on the code and the HTTP status together (wire-format page, section 7),
and the two code families differ in both: V1 (the 5-digit codes of the Q710/SAN firmware that
goqsan's tests target) and V2 (500xxxx, newer firmware). Each row below gives both; which one
an array answers is its profile's (Generation, kept in the records: service.system.firmware()).
A condition QSAN's table has no code for answers OpenSAN's own code and status
(docs/errors.md), none of which is one of QSAN's codes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import Response

from opensan.api.errors import error_response
from opensan.domain.errors import ErrorCode, Generation, SanError

if TYPE_CHECKING:
    from opensan.service.array import ArrayService

__all__ = ["QSAN_CODES", "Generation", "QsanCode", "answering_xevo_errors", "xevo_code",
           "xevo_error_response"]


@dataclass(frozen=True)
class QsanCode:
    name: str  # QSAN's constant, less its _V1/_V2
    v1: tuple[int, int]  # (code, HTTP status)
    v2: tuple[int, int]

    def of(self, generation: Generation) -> tuple[int, int]:
        return self.v1 if generation is Generation.V1 else self.v2


_INVALID_ARG = QsanCode("QERR_LVMERR_INVALID_ARG", (12003, 400), (5005999, 400))
_INVALID_SNAP = QsanCode("QERR_LVMERR_INVALID_SNAP", (13502, 400), (5005502, 400))

# OpenSAN's condition -> QSAN's code for it.
QSAN_CODES: dict[ErrorCode, QsanCode] = {
    ErrorCode.INVALID_ARGUMENT: _INVALID_ARG,
    ErrorCode.UNKNOWN_PARAMETER: _INVALID_ARG,
    ErrorCode.CONFLICTING_PARAMETER: _INVALID_ARG,
    ErrorCode.MISSING_PARAMETER: _INVALID_ARG,
    ErrorCode.INSUFFICIENT_CAPACITY: QsanCode("QERR_LVMERR_RG_NO_SPACE", (10104, 400),
                                              (5005104, 400)),
    ErrorCode.VOLUME_NOT_FOUND: QsanCode("QERR_LVMERR_INVALID_VD_ID", (10300, 400),
                                         (5000404, 404)),
    ErrorCode.VOLUME_IN_USE: QsanCode("QERR_LVMERR_VD_ALREADY_ATTACHED", (10405, 400),
                                      (5005405, 409)),
    ErrorCode.VOLUME_ALREADY_MAPPED: QsanCode("QERR_LVMERR_VD_IS_ALREADY_MAPPED", (11301, 400),
                                              (5005131, 409)),
    ErrorCode.LUN_LIMIT: QsanCode("QERR_UIERR_LUN_MAX_LIMIT", (11901, 403), (5005191, 403)),
    ErrorCode.VOLUME_NOT_READY: QsanCode("QERR_LVMERR_TRY_LATER", (12002, 409), (5005998, 503)),
    ErrorCode.VOLUME_NAME_TAKEN: QsanCode("QERR_LVMERR_U_NAME_EXISTS", (12501, 400),
                                          (5005151, 409)),
    ErrorCode.SNAPSHOT_LIMIT: QsanCode("QERR_LVMERR_TOO_MANY_SNAPS", (13501, 403),
                                       (5005501, 403)),
    ErrorCode.SNAPSHOT_NOT_FOUND: _INVALID_SNAP,
    ErrorCode.INVALID_SNAPSHOT_NAME: _INVALID_SNAP,
    ErrorCode.NO_SNAPSHOT_SPACE: QsanCode("QERR_LVMERR_SNAP_NOT_INITED", (13508, 400),
                                          (5005508, 400)),
    ErrorCode.SNAPSHOT_NAME_TAKEN: QsanCode("QERR_UIIERR_SNAP_ALREADY_EXIST", (13514, 429),
                                            (5005154, 409)),
}
# Reads of an object that does not exist answer 404 in both families (goqsan's tests accept
# only 404 for GET of a missing volume), whatever a change naming it answers.
_NOT_FOUND_ON_READ = 404


def xevo_code(error: SanError, method: str, generation: Generation) -> tuple[int, int]:
    """The (code, HTTP status) an error answers through XEVO."""
    qsan = QSAN_CODES.get(error.code)
    if qsan is not None:
        code, status = qsan.of(generation)
    else:
        code, status = int(error.code), error.http_status
    if method == "GET" and error.http_status == 404:
        status = _NOT_FOUND_ON_READ
    return code, status


def xevo_error_response(error: SanError, method: str, generation: Generation) -> Response:
    code, status = xevo_code(error, method, generation)
    response = error_response(status, code, error.message)
    if error.retry_after_seconds is not None:
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


Handler = Callable[[Request], Awaitable[Response]]


def answering_xevo_errors(handle: Handler) -> Handler:
    """The route handler, with every array error answered in XEVO's codes of the firmware
    generation of the array it serves (the app's)."""

    async def handle_xevo(request: Request) -> Response:
        try:
            return await handle(request)
        except SanError as error:
            service: ArrayService = request.app.state.service
            return xevo_error_response(error, request.method, service.system.firmware())

    handle_xevo.__name__ = handle.__name__
    handle_xevo.__doc__ = handle.__doc__
    return handle_xevo
