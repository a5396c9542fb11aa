"""How an endpoint's declaration becomes its path forms, its error codes and its values
(api/endpoint.py)."""

from __future__ import annotations

import pytest

from opensan.api.endpoint import Access, Endpoint, Kind, Param, convert, error_codes
from opensan.domain.errors import ErrorCode, InvalidArgument


async def nothing(call: object) -> None:
    return None


ID = Param("vdid", Kind.ID, "Volume ID", errors=(ErrorCode.VOLUME_NOT_FOUND,))
NAME = Param("name", Kind.TEXT, "Name", required=False)
MODE = Param("mode", Kind.TEXT, "Mode", required=False, choices=("rw", "ro"), default="rw")


def test_a_public_read_answers_only_what_any_request_can() -> None:
    read = Endpoint("GET", "/rest/x", "Read.", nothing, access=Access.PUBLIC)
    assert error_codes(read) == [
        ErrorCode.INVALID_ARGUMENT, ErrorCode.UNKNOWN_PARAMETER, ErrorCode.BODY_TOO_LARGE,
        ErrorCode.REQUEST_TIMEOUT, ErrorCode.SERVER_BUSY, ErrorCode.BACKEND_ERROR,
        ErrorCode.INTERNAL_ERROR]


def test_parameters_access_and_work_add_their_codes() -> None:
    change = Endpoint("POST", "/rest/x", "Change.", nothing, params=(ID, NAME),
                      access=Access.ADMIN, errors=(ErrorCode.SNAPSHOT_LIMIT,))
    codes = set(error_codes(change))
    assert {ErrorCode.CONFLICTING_PARAMETER, ErrorCode.MISSING_PARAMETER,
            ErrorCode.VOLUME_NOT_FOUND, ErrorCode.NOT_LOGGED_IN, ErrorCode.SESSION_EXPIRED,
            ErrorCode.CSRF_REFUSED, ErrorCode.FORBIDDEN, ErrorCode.STATE_CONFLICT,
            ErrorCode.SNAPSHOT_LIMIT} <= codes
    read = Endpoint("GET", "/rest/x", "Read.", nothing, params=(NAME,))
    assert not {ErrorCode.MISSING_PARAMETER, ErrorCode.CSRF_REFUSED, ErrorCode.FORBIDDEN,
                ErrorCode.STATE_CONFLICT} & set(error_codes(read))


def test_each_set_of_optional_pairs_is_a_path_form() -> None:
    endpoint = Endpoint("POST", "/rest/x", "Change.", nothing, params=(ID, NAME, MODE))
    forms = list(endpoint.path_forms())
    assert forms == [(), (NAME,), (MODE,), (NAME, MODE)]
    assert [endpoint.route_path("/rest/x", form) for form in forms] == [
        "/rest/x/vdid/{vdid}", "/rest/x/vdid/{vdid}/name/{name}", "/rest/x/vdid/{vdid}/mode/{mode}",
        "/rest/x/vdid/{vdid}/name/{name}/mode/{mode}"]
    assert endpoint.manual_path() == "/rest/x/vdid/<vdid>[/name/<name>][/mode/<mode>]"


def test_a_choice_is_a_word_in_any_case_with_its_default() -> None:
    endpoint = Endpoint("POST", "/rest/x", "Change.", nothing, params=(ID, MODE))
    assert MODE.json_schema() == {"type": "string", "minLength": 1, "enum": ["rw", "ro"],
                                  "default": "rw"}
    assert convert(endpoint, {"vdid": "1", "mode": "RO"}) == {"vdid": 1, "mode": "ro"}
    assert convert(endpoint, {"vdid": "1"}) == {"vdid": 1, "mode": "rw"}
    with pytest.raises(InvalidArgument, match="mode must be one of rw, ro"):
        convert(endpoint, {"vdid": "1", "mode": "rx"})
