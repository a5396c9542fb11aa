"""The OpenAPI description, generated from the endpoints' declarations (api/endpoint.py).

An endpoint is one operation per path form: its required pairs, then each set of its optional
pairs (a path has no optional segments). Each operation has its parameters (with their
choices as enums), the model its 200 answers with, one error response per status it can
answer (the contract's error body, its code narrowed to the codes error_codes() derives), and
the security its access needs: the session token in the Authorization header, or the session
cookie. The help listing (GET /rest/) reads the x-sanos extension of each first form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from pydantic.json_schema import models_json_schema

from opensan.api.auth import CSRF_COOKIE, SESSION_COOKIE
from opensan.api.endpoint import Access, Endpoint, Param, error_codes
from opensan.api.schemas import ErrorBody
from opensan.domain.errors import ErrorCode

JSON = "application/json"

SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "token": {"type": "apiKey", "in": "header", "name": "Authorization",
              "description": "The accessToken that POST /rest/login answers (also as "
                             "`Bearer <token>`)."},
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE,
                "description": "The session cookie the login sets (a browser sends it by "
                               "itself). A POST with the cookie alone also needs the "
                               f"X-CSRF-Token header (the value of the {CSRF_COOKIE} cookie) "
                               "or this array's Origin."},
}
# Either one: the token or the cookie.
SESSION: list[dict[str, list[str]]] = [{"token": []}, {"session": []}]

_STATUS_TEXT = {
    400: "A parameter has the wrong form or range", 401: "Not logged in, or a wrong password",
    403: "The account may not do this", 404: "No such object", 405: "No such method here",
    408: "The request came too slowly", 409: "The array's state forbids it",
    413: "The body is too large", 429: "Too many failed logins",
    500: "A defect, or the backend failed; nothing changed", 501: "The backend cannot do this",
    503: "The server is busy", 507: "Not enough capacity in the pool",
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                                "schema": {"type": "integer"}}}
_ERROR_BODY = "#/components/schemas/ErrorBody"


def error_responses(endpoint: Endpoint) -> dict[int | str, dict[str, Any]]:
    """One response per status the endpoint can answer, each naming its codes."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in error_codes(endpoint):
        by_status.setdefault(code.http_status, []).append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, codes in sorted(by_status.items()):
        narrowed = {"properties": {"error": {"properties": {
            "code": {"enum": [int(code) for code in codes]}}}}}
        responses[status] = {
            "description": f"{_STATUS_TEXT[status]}: "
                           + ", ".join(f"{int(code)} {code.name}" for code in codes),
            "content": {JSON: {"schema": {"allOf": [{"$ref": _ERROR_BODY}, narrowed]}}},
            **({"headers": _RETRY_AFTER} if status in (429, 503) else {}),
        }
    return responses


def operation(endpoint: Endpoint, optional: tuple[Param, ...]) -> dict[str, Any]:
    """FastAPI's add_api_route arguments for the path form holding these optional pairs."""
    parameters = [
        {"name": p.key, "in": "path", "required": True, "description": p.description,
         "schema": p.json_schema()}
        for p in endpoint.params if p.required or p in optional
    ]
    extra = {"parameters": parameters,
             "security": [] if endpoint.access is Access.PUBLIC else SESSION}
    responses = error_responses(endpoint)
    answer: dict[str, Any] = {"response_model": endpoint.response}
    if endpoint.media_type != JSON:  # a file to save
        responses[200] = {"description": "A file to save", "content": {
            endpoint.media_type: {"schema": {"type": "string", "format": "binary"}}}}
        answer = {"response_class": Response}
    with_keys = f" (with {', '.join(p.key for p in optional)})" if optional else ""
    return {"summary": endpoint.description + with_keys, "openapi_extra": extra,
            "tags": ["extensions" if endpoint.extension else "SANOS"], "responses": responses,
            **answer}


def install(app: FastAPI) -> None:
    """app.openapi() also describes the security schemes and the error body."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # which FastAPI keeps as app.openapi_schema
            components = schema.setdefault("components", {})
            components["securitySchemes"] = SECURITY_SCHEMES
            _, error_schemas = models_json_schema(
                [(ErrorBody, "serialization")], ref_template="#/components/schemas/{model}")
            components.setdefault("schemas", {}).update(error_schemas["$defs"])
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
