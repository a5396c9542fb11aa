"""create_app() builds the whole server from its parts; nothing lives in module globals."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from opensan.api.auth import Authenticator, LoginPolicy, ensure_default_accounts
from opensan.api.cache import ReadCache
from opensan.api.endpoint import Access, Call, Endpoint, Kind, read_call_params
from opensan.api.errors import install_error_handlers
from opensan.api.routes import dashboard, help, log, login, simulation, storage
from opensan.api.routes.help import HELP_KEY
from opensan.api.routes.login import SESSION_COOKIE
from opensan.backends.base import create_backend, open_backend_store
from opensan.config import Settings
from opensan.domain.errors import Forbidden, InvalidArgument
from opensan.domain.models import Role
from opensan.profile import Profile
from opensan.service import ArrayService
from opensan.store.base import Store
from opensan.store.sqlite import SqliteStore

access_log = logging.getLogger("opensan.access")
JSON = "application/json"


@dataclass
class Array:
    """A running array: the service and the accounts that guard it."""

    service: ArrayService
    auth: Authenticator

    def close(self) -> None:
        self.service.backend.close()
        self.service.store.close()


def open_store(settings: Settings) -> Store:
    """The array's records: in the backend's own storage where it keeps them (Ceph), else in
    the state dir."""
    config = str(settings.backend_config) if settings.backend_config else None
    shared = open_backend_store(settings.backend, config)
    if shared is not None:
        return shared
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return SqliteStore(settings.database)


def open_array(settings: Settings) -> Array:
    """Open (or create) the array in settings.state_dir (or, on Ceph, in the cluster)."""
    store = open_store(settings)
    try:
        return _open(settings, store)
    except BaseException:
        store.close()
        raise


def _open(settings: Settings, store: Store) -> Array:
    stored = store.get_meta("backend_options")
    if stored is None:
        # A Linux array starts empty unless a profile is given explicitly: the default profile
        # describes a virtual array's contents.
        if settings.backend == "simulated" or settings.profile is not None:
            profile = Profile.load(settings.profile)
        else:
            profile = Profile()
        options: dict[str, Any] = {
            "backend": settings.backend,
            "model": settings.model or "XS5226D",
            "seed": settings.seed if settings.seed is not None else secrets.randbelow(2**31),
            "ssd_bays": profile.ssd_bays,
        }
    else:
        options, profile = stored, Profile()
        if settings.backend != options.get("backend", "simulated"):
            raise InvalidArgument(
                f"{settings.state_dir} holds a {options.get('backend', 'simulated')} array; "
                f"it cannot be served by the {settings.backend} backend.")
        if settings.model and settings.model.upper() != str(options["model"]).upper():
            raise InvalidArgument(
                f"{settings.state_dir} holds a {options['model']} array; start it without "
                "--model or use another --state-dir.")
    config = {"config": str(settings.backend_config)} if settings.backend_config else {}
    backend = create_backend(settings.backend, {**options, **config})
    ensure_default_accounts(store)
    defaults = [a.name for a in store.accounts().values() if a.default_password]
    if defaults and not backend.allows_default_passwords:
        raise InvalidArgument(
            f"Accounts {', '.join(sorted(defaults))} still have QSAN's default password; a real "
            f"array does not start so. Set them first: opensan passwd --state-dir "
            f"{settings.state_dir} <account>.")
    if stored is None:
        with store.transaction() as tx:
            tx.set_meta("backend_options", options)
    service = ArrayService(store, backend, event_page_size=settings.event_page_size)
    try:
        service.open(profile, int(options["seed"]), settings.system_name)
        auth = Authenticator(service, LoginPolicy(
            max_failures=settings.login_max_failures,
            window_seconds=settings.login_window_seconds,
            lockout_seconds=settings.login_lockout_seconds,
            session_idle_seconds=settings.session_idle_seconds))
        auth.open()
    except BaseException:
        backend.close()
        raise
    return Array(service, auth)


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
    endpoint: Endpoint, prefix: str, array: Array, cache: ReadCache
) -> Callable[[Request], Awaitable[Response]]:
    shared = array.service.store.shared

    async def handle(request: Request) -> Response:
        if shared:  # the other controller may have changed the array a moment ago
            await run_in_threadpool(array.service.refresh)
        token = _token(request)
        session = None
        if endpoint.access is not Access.PUBLIC:
            session = array.auth.authenticate(token)
            if endpoint.access is Access.ADMIN and session.role is not Role.ADMIN:
                raise Forbidden(f"Account {session.account} is read-only; this needs an "
                                "administrator.")
        params = await read_call_params(endpoint, prefix, request)
        client = request.client.host if request.client else "unknown"
        call = Call(array.service, array.auth, params, session, client, token, cache, request)
        return _respond(await endpoint.handler(call))

    handle.__name__ = f"{endpoint.method.lower()}_{endpoint.handler.__name__}"
    handle.__doc__ = endpoint.description
    return handle


_OPENAPI_TYPES = {Kind.ID: "integer", Kind.NUMBER: "integer"}


def _register(app: FastAPI, endpoint: Endpoint, array: Array, cache: ReadCache) -> None:
    for prefix in (endpoint.prefix, *endpoint.aliases):
        handler = _route_handler(endpoint, prefix, array, cache)
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


def create_app(array: Array, *, tick_seconds: float = 1.0) -> FastAPI:
    service = array.service

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def advance() -> None:
            while True:
                await asyncio.sleep(tick_seconds)
                try:
                    await run_in_threadpool(service.tick)
                except Exception:  # a failed tick must not stop the next ones
                    logging.getLogger("opensan").exception("Periodic check failed")

        async def follow() -> None:
            """Take in the other controller's changes as soon as it announces them."""
            while True:
                try:
                    if await run_in_threadpool(service.store.wait_for_change, tick_seconds):
                        await run_in_threadpool(service.refresh)
                except Exception:
                    logging.getLogger("opensan").exception("Taking in a change failed")

        tasks = [asyncio.create_task(advance())]
        if service.store.shared:
            tasks.append(asyncio.create_task(follow()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()

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
        *storage.ENDPOINTS, *simulation.endpoints(service.backend.capabilities()),
    ]
    for endpoint in endpoints:
        _register(app, endpoint, array, cache)
    app.add_middleware(AccessLog)
    return app
