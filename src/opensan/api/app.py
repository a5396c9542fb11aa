"""create_app() builds the HTTP server around an ArrayService; no array lives in module globals.

The array itself is assembled by the composition root (opensan/array.py); this module only sees
the service: it never imports a store or a backend. The API's routes hold no array either: a
handler finds the service and its read cache in the state of the app that called it, so a
process builds the routes (most of what an app costs to make) once per set of capabilities and
every app of that process shares them.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.convertors import Convertor, register_url_convertor
from starlette.routing import BaseRoute

from opensan.api import openapi, xevo
from opensan.api.apidocs import add_docs
from opensan.api.auth import check_csrf, request_token
from opensan.api.cache import ReadCache
from opensan.api.console import add_console
from opensan.api.endpoint import Access, Api, Call, Endpoint, read_call_params
from opensan.api.errors import install_error_handlers
from opensan.api.fastpath import FastRoutes, RouteHandler
from opensan.api.limits import LoginGate, ServerLimits
from opensan.api.logs import note_account
from opensan.api.metrics import install as install_metrics
from opensan.api.middleware import BodyLimit, Requests, SecurityHeaders
from opensan.api.routes import (
    accounts,
    dashboard,
    help,
    log,
    login,
    performance,
    simulation,
    storage,
    system,
)
from opensan.api.routes.help import HELP_KEY
from opensan.api.support import recent_log
from opensan.api.xevo.errors import answering_xevo_errors
from opensan.api.xevo.request import read_xevo_params
from opensan.domain.errors import Forbidden
from opensan.domain.models import Actor, Role
from opensan.domain.traits import Capability
from opensan.service.array import ArrayService
from opensan.service.unit_of_work import acting_as

JSON = "application/json"


def _respond(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, bytes):
        return Response(result, media_type=JSON)
    assert isinstance(result, BaseModel)
    return Response(result.model_dump_json(by_alias=True), media_type=JSON)


def _route_handler(endpoint: Endpoint, prefix: str) -> RouteHandler:
    a_read = endpoint.method == "GET"

    async def handle(request: Request) -> Response:
        service: ArrayService = request.app.state.service
        if a_read and (delay := service.simulation.read_delay()):  # POST /rest/sim/readlatency
            await asyncio.sleep(delay)
        if service.uow.store.shared:  # the other controller may have changed the array just now
            await run_in_threadpool(service.uow.refresh, False)
        token, cookie_only = request_token(request)
        session = None
        if endpoint.access is not Access.PUBLIC:
            session = service.accounts.authenticate(token)
            note_account(session.account)
            if cookie_only and request.method != "GET":
                assert token is not None
                check_csrf(request, token)
            if endpoint.access is Access.ADMIN and session.role is not Role.ADMIN:
                raise Forbidden(f"Account {session.account} is read-only; this needs an "
                                "administrator.")
        read = read_xevo_params if endpoint.api is Api.XEVO else read_call_params
        params = await read(endpoint, prefix, request)
        # The socket's peer, or what a trusted proxy says (api/protocol.py).
        client = request.client.host if request.client else "unknown"
        call = Call(service, params, session, client, token, request.app.state.read_cache,
                    request)
        # Every change the call makes has events that name its account and client.
        with acting_as(Actor(session.account if session else None, client)):
            return _respond(await endpoint.handler(call))

    handle.__name__ = f"{endpoint.method.lower()}_{endpoint.handler.__name__}"
    handle.__doc__ = endpoint.description
    return answering_xevo_errors(handle) if endpoint.api is Api.XEVO else handle


ANY_PATH = "anypath"


class _AnyPath(Convertor[str]):
    """Starlette's path convertor, newlines included: a value with %0A is the endpoint's to
    refuse (400, or an object's 404), not "no such API"."""

    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor(ANY_PATH, _AnyPath())

def _register(router: APIRouter, endpoint: Endpoint) -> list[tuple[str, RouteHandler]]:
    """Add the endpoint's routes; answers each prefix's handler."""
    xevo_api = endpoint.api is Api.XEVO
    handlers = []
    for prefix in (endpoint.prefix, *endpoint.aliases):
        handler = _route_handler(endpoint, prefix)
        handlers.append((prefix, handler))
        help_item = {
            "method": endpoint.method, "path": prefix if xevo_api else endpoint.manual_path(prefix),
            "description": endpoint.description, "access": endpoint.access.value,
            "extension": endpoint.extension, "api": endpoint.api.value,
        }
        if xevo_api:  # XEVO's paths name their parameters themselves: .../{volumeId}
            options = xevo.operation(endpoint)
            options["openapi_extra"][HELP_KEY] = help_item
            router.add_api_route(prefix, handler, methods=[endpoint.method], **options)
            continue
        described: set[str] = set()
        for optional in endpoint.path_forms():  # the help listing reads the first
            path = endpoint.route_path(prefix, optional)
            options = openapi.operation(endpoint, optional)
            if not described:
                options["openapi_extra"][HELP_KEY] = help_item
            router.add_api_route(path, handler, methods=[endpoint.method], name=prefix,
                                 **options)
            described.add(path)
        if endpoint.params:
            # The same endpoint with pairs in any order, or no path pairs at all.
            for path in {prefix.rstrip("/"), f"{prefix.rstrip('/')}/{{tail:{ANY_PATH}}}"} - described:
                router.add_api_route(path, handler, methods=[endpoint.method],
                                     include_in_schema=False, name=prefix)
    return handlers


@dataclass(frozen=True)
class ApiRoutes:
    """Every declared endpoint's routes, and the fast path's table of their handlers."""

    routes: tuple[BaseRoute, ...]
    fast: tuple[tuple[str, str, RouteHandler, int], ...]  # (method, prefix, handler, segments)


@functools.cache
def api_routes(capabilities: frozenset[Capability]) -> ApiRoutes:
    """Built once per process and set of capabilities (the simulation's endpoints are only
    there with fault injection): FastAPI reads each handler's signature and each response
    model when a route is made, which costs more than the rest of an app. A process that forks
    servers (the tests' fork server) calls it first, so that no fork builds them again."""
    router = APIRouter()
    endpoints = [
        *login.ENDPOINTS, *accounts.ENDPOINTS, *help.ENDPOINTS, *dashboard.ENDPOINTS, *log.ENDPOINTS,
        *storage.ENDPOINTS, *system.ENDPOINTS, *performance.ENDPOINTS,
        *simulation.endpoints(capabilities), *xevo.ENDPOINTS,
    ]
    fast: list[tuple[str, str, RouteHandler, int]] = []
    for endpoint in endpoints:
        handlers = _register(router, endpoint)
        segments = 0 if endpoint.api is Api.XEVO else sum(
            1 if param.positional else 2 for param in endpoint.params)
        fast += [(endpoint.method, prefix, handler, segments) for prefix, handler in handlers]
    return ApiRoutes(tuple(router.routes), tuple(fast))


def create_app(service: ArrayService, *, tick_seconds: float = 1.0,
               limits: ServerLimits | None = None, tls_fingerprint: str | None = None,
               scrape_token: str | None = None, fast_path: bool = True) -> FastAPI:
    """The server; while it runs, the array's periodic tick runs in its own thread. Served over
    HTTPS, tls_fingerprint is its certificate's, which the system information shows.
    scrape_token: a bearer token that may read /metrics without a session (api/metrics.py).
    fast_path: answer the declared endpoints without FastAPI's routing (api/fastpath.py)."""
    limits = limits or ServerLimits()

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
        version="0.1.0", openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan,
        # The API reports each request itself (api/metrics.py, the access log); FastAPI's
        # OpenTelemetry hooks, with no provider set up, would only look for one per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.service = service  # what the API's handlers serve (_route_handler)
    app.state.read_cache = ReadCache(service)
    app.state.tls_fingerprint = tls_fingerprint
    app.state.login_gate = LoginGate(limits.login_concurrency, limits.login_queue,
                                     limits.login_wait_seconds)
    install_error_handlers(app)
    recent_log()  # the service package's server log starts with the server
    add_docs(app, service)
    openapi.install(app)
    instruments = install_metrics(app, service, scrape_token)
    api = api_routes(service.traits.capabilities)
    app.router.routes.extend(api.routes)
    add_console(app)
    if fast_path:  # the innermost middleware: the others see its answers as FastAPI's
        app.add_middleware(FastRoutes, endpoints=api.fast, routes=list(app.router.routes))
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    # The last added is the outermost: it sees every answer.
    app.add_middleware(Requests, on_answer=instruments.observe)
    return app
