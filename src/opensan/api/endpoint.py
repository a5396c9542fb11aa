"""How a SANOS endpoint is declared and how its parameters are read.

SANOS passes parameters as key/value pairs in the path (/vdid/<vdid>/sizegb/<sizegb>). OpenSAN
reads them tolerantly (api-contract.md): pairs in any order, the same keys from the query string
or a JSON body, and a 400 when two sources disagree. Each endpoint is declared once, as data:
its parameters (with their choices and the errors their values can answer), the model it
answers with and the errors its work can answer. The routes, the help listing and the OpenAPI
description are all generated from it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from itertools import combinations
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from opensan.domain.errors import ErrorCode, InvalidArgument
from opensan.domain.models import Session

if TYPE_CHECKING:
    from fastapi import Request
    from pydantic import BaseModel

    from opensan.api.cache import ReadCache
    from opensan.service.array import ArrayService

MAX_ID = 9_999_999_999
# A number longer than this is a typo or an attack, never a size or a page.
_MAX_DIGITS = 19
_DIGITS = re.compile(r"[0-9]+")


class Kind(Enum):
    """What a parameter holds; decides how its text is checked and converted."""

    ID = "integer (10-digit object ID)"
    NUMBER = "integer"
    TEXT = "string"
    ID_LIST = "comma-separated integer IDs"
    TEXT_LIST = "comma-separated strings"


_ID_PATTERN = "[0-9]{1,10}"
_KIND_SCHEMAS: dict[Kind, dict[str, Any]] = {
    Kind.ID: {"type": "integer", "minimum": 0, "maximum": MAX_ID},
    Kind.NUMBER: {"type": "integer", "minimum": 0, "maximum": 10**_MAX_DIGITS - 1},
    Kind.TEXT: {"type": "string", "minLength": 1},
    Kind.ID_LIST: {"type": "string", "pattern": f"^{_ID_PATTERN}(,{_ID_PATTERN})*$"},
    Kind.TEXT_LIST: {"type": "string", "minLength": 1},
}


class Api(Enum):
    """Which of the array's APIs an endpoint belongs to: SANOS's key/value paths, or QSAN's
    current REST API (XEVO: IDs in the path, a JSON body; api/xevo)."""

    SANOS = "SANOS"
    XEVO = "XEVO"


class Access(StrEnum):
    PUBLIC = "public"
    ANY_ACCOUNT = "any account"
    ADMIN = "admin"


@dataclass(frozen=True)
class Param:
    key: str
    kind: Kind
    description: str
    required: bool = True
    # The manual's name for the value, e.g. target_id for the key targetid.
    placeholder: str = ""
    # A value that follows the prefix directly, without a key (log/list/<page_num>).
    positional: bool = False
    secret: bool = False
    # JSON Schema bounds for the OpenAPI description (minimum, maximum, pattern...): exactly
    # the values the array takes, so that a generated request inside them is never a 400.
    schema: Mapping[str, Any] = field(default_factory=dict)
    # The words a TEXT value may be, taken in any case; the handler gets the word in lower case.
    choices: tuple[str, ...] = ()
    # What the handler gets when an optional parameter is left out.
    default: str | None = None
    # What a wrong value answers beyond INVALID_ARGUMENT: the 404 of the object an ID names,
    # a snapshot name's own code.
    errors: tuple[ErrorCode, ...] = ()

    @property
    def shown(self) -> str:
        return self.placeholder or self.key

    def json_schema(self) -> dict[str, Any]:
        schema = {**_KIND_SCHEMAS[self.kind], **self.schema}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass
class Call:
    """One request, parsed: who asks, with which parameters, against which array."""

    service: ArrayService
    params: dict[str, Any]
    session: Session | None
    client: str
    token: str | None
    cache: ReadCache
    request: Request


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    prefix: str
    description: str
    handler: Handler
    params: tuple[Param, ...] = ()
    access: Access = Access.ANY_ACCOUNT
    extension: bool = False
    aliases: tuple[str, ...] = ()
    # What a 200 carries; anything but JSON (the service package's zip) is a file to save.
    media_type: str = "application/json"
    # The JSON of a 200: the model (or list of models) the handler answers with.
    response: Any = None
    # The errors the handler's work can answer, besides those error_codes() derives.
    errors: tuple[ErrorCode, ...] = ()
    api: Api = Api.SANOS
    # XEVO only: the model of the body, and the fields a list filters by (?q=<field>='<v>').
    body: type[BaseModel] | None = None
    filters: tuple[str, ...] = ()

    def manual_path(self, prefix: str | None = None) -> str:
        """The path as the manual writes it, e.g. /rest/log/list/<page_num>."""
        parts = [prefix or self.prefix]
        for param in self.params:
            piece = f"/<{param.shown}>" if param.positional else f"/{param.key}/<{param.shown}>"
            parts.append(piece if param.required else f"[{piece}]")
        return "".join(parts)

    def route_path(self, prefix: str, optional: tuple[Param, ...] = ()) -> str:
        """A path in FastAPI's form, for the OpenAPI description: the required pairs and the
        optional ones given, in the order of the declaration."""
        parts = [prefix]
        for param in self.params:
            if param.required or param in optional:
                key = "" if param.positional else f"/{param.key}"
                parts.append(f"{key}/{{{param.key}}}")
        return "".join(parts)

    def path_forms(self) -> Iterator[tuple[Param, ...]]:
        """Each set of optional parameters a path can hold, the empty set first: each is an
        operation of its own in the OpenAPI description (a path has no optional segments)."""
        optional = [param for param in self.params if not param.required]
        for count in range(len(optional) + 1):
            yield from combinations(optional, count)


# What any request can answer: a malformed query string or body, an unknown key, a request too
# slow or too large, a server at its connection limit, a defect, storage that cannot be read.
_ANY_REQUEST = (ErrorCode.INVALID_ARGUMENT, ErrorCode.UNKNOWN_PARAMETER,
                ErrorCode.REQUEST_TIMEOUT, ErrorCode.BODY_TOO_LARGE, ErrorCode.SERVER_BUSY,
                ErrorCode.INTERNAL_ERROR, ErrorCode.BACKEND_ERROR)


def error_codes(endpoint: Endpoint) -> list[ErrorCode]:
    """Every error code the endpoint can answer, in the order of the table: those of any
    request, of its parameters, of its access and of its work (Endpoint.errors)."""
    codes = set(_ANY_REQUEST) | set(endpoint.errors)
    for param in endpoint.params:
        codes |= {ErrorCode.CONFLICTING_PARAMETER, *param.errors}
        if param.required:
            codes.add(ErrorCode.MISSING_PARAMETER)
    if endpoint.access is not Access.PUBLIC:
        codes |= {ErrorCode.NOT_LOGGED_IN, ErrorCode.SESSION_EXPIRED}
        if endpoint.method == "POST":  # the session cookie alone needs the CSRF token
            codes.add(ErrorCode.CSRF_REFUSED)
    if endpoint.access is Access.ADMIN:
        codes.add(ErrorCode.FORBIDDEN)
    if endpoint.method == "POST":  # every POST writes records, which a shared store can refuse
        codes.add(ErrorCode.STATE_CONFLICT)
    return [code for code in ErrorCode if code in codes]


def _decode_segment(segment: str) -> str:
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgument("A path value is not valid percent-encoded UTF-8.") from None


def collect(endpoint: Endpoint, raw_path: str, prefix: str, query: str, body: bytes) -> dict[str, str]:
    """Gather the raw parameter texts from the path, the query string and a JSON body."""
    known = {param.key: param for param in endpoint.params}
    found: dict[str, str] = {}

    def add(key: str, value: str, source: str) -> None:
        key = key.lower()
        if key not in known:
            raise InvalidArgument(f"Unknown parameter {key[:40]!r} in the {source}.",
                                  ErrorCode.UNKNOWN_PARAMETER)
        if key in found and found[key] != value:
            raise InvalidArgument(f"Parameter {key} is given twice with different values.",
                                  ErrorCode.CONFLICTING_PARAMETER)
        found[key] = value

    segments = [s for s in raw_path[len(prefix):].split("/") if s]
    positional = [param for param in endpoint.params if param.positional]
    if positional and segments:
        add(positional[0].key, _decode_segment(segments[0]), "path")
        segments = segments[1:]
    if len(segments) % 2:
        raise InvalidArgument("Path parameters come in key/value pairs: /<key>/<value>.")
    for key, value in zip(segments[::2], segments[1::2], strict=True):
        add(_decode_segment(key), _decode_segment(value), "path")
    try:
        for key, value in parse_qsl(query, keep_blank_values=True, errors="strict"):
            add(key, value, "query string")
    except UnicodeDecodeError:
        raise InvalidArgument("The query string is not valid percent-encoded UTF-8.") from None
    if body.strip():
        for key, value in _json_object(body).items():
            add(key, value, "body")
    for param in endpoint.params:
        if param.required and param.key not in found:
            raise InvalidArgument(f"Missing parameter {param.key} (<{param.shown}>).",
                                  ErrorCode.MISSING_PARAMETER)
    return found


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One key with two values is a conflict, as it is between the path and the body."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data and data[key] != value:
            raise _DuplicateKey(key)
        data[key] = value
    return data


def _json_object(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body, object_pairs_hook=_object_without_duplicates)
    except _DuplicateKey as duplicate:
        raise InvalidArgument(f"Parameter {duplicate.key[:40]!r} is given twice in the body with "
                              "different values.", ErrorCode.CONFLICTING_PARAMETER) from None
    except RecursionError:  # nested deeper than the parser's stack; no parameter is like that
        raise InvalidArgument("The request body is nested too deeply.") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise InvalidArgument("The request body must be a JSON object of parameters.")
    try:  # JSON's \ud800 escapes make text that is not Unicode: no parameter holds that
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidArgument("The request body holds text that is not valid Unicode.") from None
    texts: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            texts[key] = ",".join(str(v) for v in value)
        elif isinstance(value, bool) or not isinstance(value, str | int):
            raise InvalidArgument(f"Parameter {str(key)[:40]!r} must be a string or an integer.")
        else:
            texts[key] = str(value)
    return texts


def _number(key: str, text: str) -> int:
    if not _DIGITS.fullmatch(text) or len(text) > _MAX_DIGITS:
        raise InvalidArgument(
            f"Parameter {key} must be a non-negative decimal integer, got {text[:40]!r}.")
    return int(text)


def _object_id(key: str, text: str) -> int:
    value = _number(key, text)
    if value > MAX_ID:
        raise InvalidArgument(f"Parameter {key} is at most 10 digits, got {text[:40]!r}.")
    return value


def convert(endpoint: Endpoint, texts: dict[str, str]) -> dict[str, Any]:
    """Check each parameter's form; the service checks ranges and existence."""
    values: dict[str, Any] = {}
    for param in endpoint.params:
        text = texts.get(param.key, param.default)
        if text is None:
            continue
        if param.choices:
            if text.lower() not in param.choices:
                raise InvalidArgument(f"Parameter {param.key} must be one of "
                                      f"{', '.join(param.choices)}, got {text[:40]!r}.")
            values[param.key] = text.lower()
        elif param.kind is Kind.ID:
            values[param.key] = _object_id(param.key, text)
        elif param.kind is Kind.NUMBER:
            values[param.key] = _number(param.key, text)
        elif param.kind is Kind.ID_LIST:
            values[param.key] = [_object_id(param.key, part) for part in text.split(",")]
        elif param.kind is Kind.TEXT_LIST:
            values[param.key] = text.split(",")
        else:
            values[param.key] = text
    return values


async def read_call_params(endpoint: Endpoint, prefix: str, request: Request) -> dict[str, Any]:
    query = request.scope.get("query_string", b"")
    if not endpoint.params and not query and request.method == "GET":
        return {}  # the common monitoring read: nothing to parse, nothing to refuse
    raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
    raw_path = raw_path.split("?", 1)[0]
    body = await request.body() if request.method == "POST" else b""
    texts = collect(endpoint, raw_path, prefix, query.decode("latin-1"), body)
    return convert(endpoint, texts)
