"""How an XEVO request is read: the IDs in its path, its query, its body (a model).

XEVO puts IDs in the path (/rest/v2/storage/block/volumes/{volumeId}), filters in the query
(?q=poolId='X') and everything else in a JSON body, or a form for the two /auth calls. The
route's path parameters arrive as text; the body is validated against the endpoint's model,
and any failure is the array's InvalidArgument, answered in QSAN's codes like every error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

from opensan.api.endpoint import MAX_ID
from opensan.domain.errors import ErrorCode, InvalidArgument, SanError

if TYPE_CHECKING:
    from fastapi import Request

    from opensan.api.endpoint import Endpoint

BODY = "body"  # the key of the validated body among the call's parameters
_DIGITS = re.compile(r"[0-9]{1,10}")
_FORM = "application/x-www-form-urlencoded"
# q=<field>='<value>' or q=<field>=<value>: QSAN's filter grammar (both spellings are sent).
_FILTER = re.compile(r"(?P<field>[A-Za-z]+)=(?:'(?P<quoted>[^']*)'|(?P<bare>[^']*))")


def object_id(text: str, missing: Callable[[str], SanError]) -> int:
    """The SANOS ID an XEVO ID names; text that is no ID names nothing (missing's error)."""
    if not _DIGITS.fullmatch(text) or int(text) > MAX_ID:
        raise missing(text)
    return int(text)


def query_filters(query: list[tuple[str, str]], allowed: tuple[str, ...]) -> dict[str, str]:
    """The filters of a list: ?q=<field>='<value>', ?q=<field>=<value> or ?<field>=<value>."""
    filters: dict[str, str] = {}
    for key, value in query:
        if key == "q":
            match = _FILTER.fullmatch(value)
            if match is None:
                raise InvalidArgument(f"A filter is q=<field>='<value>', got {value[:60]!r}.")
            key, value = match["field"], match["quoted"] if match["quoted"] is not None \
                else match["bare"]
        if key not in allowed:
            raise InvalidArgument(f"Unknown filter {key[:40]!r}; this list filters by "
                                  f"{', '.join(allowed)}.", ErrorCode.UNKNOWN_PARAMETER)
        if filters.get(key, value) != value:
            raise InvalidArgument(f"Filter {key} is given twice with different values.",
                                  ErrorCode.CONFLICTING_PARAMETER)
        filters[key] = value
    return filters


def _validation_message(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"Invalid request body at {where}: {first['msg']}."


def parse_body(model: type[BaseModel], body: bytes, content_type: str) -> BaseModel:
    """The body as the endpoint's model; an empty body is the model's defaults."""
    try:
        if content_type.startswith(_FORM):
            pairs = parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
            form = dict(pairs)
            if len(form) != len(pairs):
                raise InvalidArgument("A form field is given twice.",
                                      ErrorCode.CONFLICTING_PARAMETER)
            return model.model_validate(form)
        if not body.strip():
            return model.model_validate({})
        json.loads(body)  # the errors of the JSON itself (depth, surrogates) are the parser's
        return model.model_validate_json(body)
    except ValidationError as error:
        raise InvalidArgument(_validation_message(error)) from None
    except RecursionError:
        raise InvalidArgument("The request body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("The request body is not valid JSON.") from None


async def read_xevo_params(endpoint: Endpoint, prefix: str, request: Request) -> dict[str, Any]:
    """The path's IDs (as text), the query's pairs (as "query") and the body (as BODY)."""
    params: dict[str, Any] = dict(request.path_params)
    try:
        params["query"] = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"),
                                    keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgument("The query string is not valid percent-encoded UTF-8.") from None
    body = await request.body()
    if endpoint.body is not None:
        params[BODY] = parse_body(endpoint.body, body,
                                  request.headers.get("content-type", "").lower())
    elif body.strip():
        raise InvalidArgument("This request takes no body.")
    if params["query"] and not endpoint.filters:
        raise InvalidArgument("This request takes no query.", ErrorCode.UNKNOWN_PARAMETER)
    return params


def _inlined(schema: Any, definitions: dict[str, Any]) -> Any:
    """A JSON Schema with its local $refs replaced by what they name (the OpenAPI description
    has no place for a body model's own $defs)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _inlined(definitions[schema["$ref"].rsplit("/", 1)[-1]], definitions)
        return {k: _inlined(v, definitions) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(item, definitions) for item in schema]
    return schema


def request_body(endpoint: Endpoint) -> dict[str, Any]:
    """The OpenAPI requestBody of an XEVO endpoint with a body: JSON, or a form for /auth."""
    if endpoint.body is None:
        return {}
    schema = endpoint.body.model_json_schema(by_alias=True)
    media = _FORM if endpoint.body.model_config.get("strict") is False else "application/json"
    return {"requestBody": {"required": media == _FORM, "content": {
        media: {"schema": _inlined(schema, schema.get("$defs", {}))}}}}
