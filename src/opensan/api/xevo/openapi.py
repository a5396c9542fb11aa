"""The OpenAPI description of an XEVO endpoint: its path parameters, its request body, the
security its access needs, and QSAN's error body for every status XEVO can answer (the codes
of each are docs/xevo.md's table, which depend on the code family, not on the operation)."""

from __future__ import annotations

from typing import Any

from opensan.api.endpoint import Access, Endpoint
from opensan.api.openapi import SESSION
from opensan.api.xevo.errors import QSAN_CODES, Generation
from opensan.api.xevo.request import request_body
from opensan.domain.errors import ErrorCode

_ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}
# Every status an XEVO answer can have: QSAN's (both families) and OpenSAN's own for the rest.
STATUSES = sorted({q.of(generation)[1] for q in QSAN_CODES.values() for generation in Generation}
                  | {code.http_status for code in ErrorCode if code not in QSAN_CODES}
                  | {404})


def operation(endpoint: Endpoint) -> dict[str, Any]:
    """FastAPI's add_api_route arguments for an XEVO endpoint."""
    parameters = [{"name": p.key, "in": "path", "required": True, "description": p.description,
                   "schema": p.json_schema()} for p in endpoint.params if p.required]
    extra: dict[str, Any] = {"parameters": parameters,
                             "security": [] if endpoint.access is Access.PUBLIC else SESSION,
                             **request_body(endpoint)}
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": f"QSAN's error body (docs/xevo.md; a read-only refusal is "
                                f"code {ErrorCode.FORBIDDEN.value})" if status == 403 else
                                "QSAN's error body (docs/xevo.md has the codes)",
                 "content": {"application/json": {"schema": _ERROR_BODY}}}
        for status in STATUSES}
    return {"summary": endpoint.description, "openapi_extra": extra, "tags": ["XEVO"],
            "responses": responses, "response_model": endpoint.response}
