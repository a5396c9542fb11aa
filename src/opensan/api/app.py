"""create_app() builds the HTTP server around an ArrayService; nothing lives in module globals.

The array itself is assembled by the composition root (opensan/array.py); this module only sees
the service: it never imports a store or a backend.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from opensan.api.cache import ReadCache
from opensan.api.endpoint import Access, Call, Endpoint, Kind, read_call_params
from opensan.api.errors import install_error_handlers
from opensan.api.routes import dashboard, help, log, login, simulation, storage
from opensan.api.routes.help import HELP_KEY
from opensan.api.routes.login import SESSION_COOKIE
from opensan.domain.errors import Forbidden
from opensan.domain.models import Role
from opensan.service.array import ArrayService

access_log = logging.getLogger("opensan.access")
JSON = "application/json"


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, rest = header.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest else header.strip()
    return request.cookies.get(SESSION_COOKIE)


def _respond(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, bytes):
        return Response(result, media_type=JSON)
    assert isinstance(result, BaseModel)
    return Response(result.model_dump_json(by_alias=True), media_type=JSON)


def _route_handler(
    endpoint: Endpoint, prefix: str, service: ArrayService, cache: ReadCache
) -> Callable[[Request], Awaitable[Response]]:
    shared = service.uow.store.shared

    async def handle(request: Request) -> Response:
        if shared:  # the other controller may have changed the array a moment ago
            await run_in_threadpool(service.uow.refresh, False)
        token = _token(request)
        session = None
        if endpoint.access is not Access.PUBLIC:
            session = service.accounts.authenticate(token)
            if endpoint.access is Access.ADMIN and session.role is not Role.ADMIN:
                raise Forbidden(f"Account {session.account} is read-only; this needs an "
                                "administrator.")
        params = await read_call_params(endpoint, prefix, request)
        client = request.client.host if request.client else "unknown"
        call = Call(service, params, session, client, token, cache, request)
        return _respond(await endpoint.handler(call))

    handle.__name__ = f"{endpoint.method.lower()}_{endpoint.handler.__name__}"
    handle.__doc__ = endpoint.description
    return handle


_OPENAPI_TYPES = {Kind.ID: "integer", Kind.NUMBER: "integer"}


def _register(app: FastAPI, endpoint: Endpoint, service: ArrayService, cache: ReadCache) -> None:
    for prefix in (endpoint.prefix, *endpoint.aliases):
        handler = _route_handler(endpoint, prefix, service, cache)
        canonical = endpoint.route_path(prefix)
        help_item = {
            "method": endpoint.method, "path": endpoint.manual_path(prefix),
            "description": endpoint.description, "access": endpoint.access.value,
            "extension": endpoint.extension,
        }
        parameters = [
            {"name": p.shown, "in": "path", "required": True, "description": p.description,
             "schema": {"type": _OPENAPI_TYPES.get(p.kind, "string")}}
            for p in endpoint.params if p.required
        ]
        app.add_api_route(
            canonical, handler, methods=[endpoint.method], summary=endpoint.description,
            openapi_extra={HELP_KEY: help_item, "parameters": parameters},
            tags=["extensions" if endpoint.extension else "SANOS"],
        )
        if endpoint.params:
            # The same endpoint with pairs in any order, optional pairs, or no path pairs at all.
            for path in {prefix.rstrip("/"), f"{prefix.rstrip('/')}/{{tail:path}}"} - {canonical}:
                app.add_api_route(path, handler, methods=[endpoint.method],
                                  include_in_schema=False)


def _redacted(path: str, query: str) -> str:
    """The request line with every password value replaced, for the access log."""
    segments = path.split("/")
    for i in range(1, len(segments)):
        if segments[i - 1].lower() in ("password", "newpassword"):
            segments[i] = "***"
    line = "/".join(segments)
    if query:
        pairs = [(k, "***" if "password" in k.lower() else v)
                 for k, v in parse_qsl(query, keep_blank_values=True)]
        line += "?" + urlencode(pairs)
    return line


class AccessLog:
    """Pure ASGI middleware (cheaper than BaseHTTPMiddleware) writing one redacted line a request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not access_log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def record(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            client = scope.get("client") or ("-", 0)
            # An unhandled error reaches the client as a 500 from the outermost middleware.
            access_log.info("%s %s %s %d %.1fms", client[0], scope["method"],
                            _redacted(scope["path"], scope.get("query_string", b"").decode(
                                "latin-1")), status[0] or 500,
                            (time.perf_counter() - started) * 1000)


def create_app(service: ArrayService, *, tick_seconds: float = 1.0) -> FastAPI:
    """The server; while it runs, the array's periodic tick runs in its own thread."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.supervision.start(tick_seconds)
        try:
            yield
        finally:
            await run_in_threadpool(service.supervision.stop)

    app = FastAPI(
        title="OpenSAN: QSAN XCubeSAN SANOS RESTful API",
        description="The SANOS RESTful API of a QSAN XCubeSAN array, served by OpenSAN. "
        "Parameters travel as key/value pairs in the path; GET /rest/ lists every endpoint.",
        version="0.1.0", docs_url="/docs", redoc_url=None, lifespan=lifespan,
    )
    install_error_handlers(app)
    cache = ReadCache(service)
    endpoints = [
        *login.ENDPOINTS, *help.ENDPOINTS, *dashboard.ENDPOINTS, *log.ENDPOINTS,
        *storage.ENDPOINTS, *simulation.endpoints(service.traits.capabilities),
    ]
    for endpoint in endpoints:
        _register(app, endpoint, service, cache)
    app.add_middleware(AccessLog)
    return app
