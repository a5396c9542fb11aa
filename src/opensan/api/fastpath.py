"""A raw ASGI layer that answers the declared endpoints without FastAPI's routing.

FastAPI finds a request's route by trying every route's pattern in turn (hundreds: each SANOS
endpoint has a route per path form), then builds its dependency machinery around the handler:
for a read whose answer is cached bytes that is most of what the server spends, and for a
change a good part of it (bench/README.md, durable changes). This layer sits inside the
other middleware (Requests, SecurityHeaders, BodyLimit: the same request ID, access log,
metrics, headers and body limit) and in front of FastAPI's router. It finds the endpoint by a
dictionary lookup of the method and path, lets that endpoint's own routes match the request (so
the scope holds the route and path parameters FastAPI would have set), and calls the very
handler FastAPI calls (app.py's _route_handler: authentication, role, parameters), answering an
array error the way FastAPI's error handler does. Anything else falls through unchanged: XEVO's
paths with an ID inside them, the docs, the console, /metrics.

The table comes from the endpoint declarations and the registered routes, checked once at
start-up: a path is served here only where FastAPI would pick one of the same endpoint's routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.routing import BaseRoute, Match, Mount

from opensan.api.errors import san_error_response
from opensan.api.middleware import Message
from opensan.domain.errors import SanError

RouteHandler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class FastRoute:
    """One method and prefix of an endpoint: the handler its routes call, and those routes in
    order."""

    method: str
    prefix: str
    handler: RouteHandler
    routes: tuple[BaseRoute, ...]
    # How many segments SANOS's parameters add to the path (/rest/log/list/<page>: 1); paths
    # under prefix/ with up to that many are this endpoint's too.
    path_segments: int


def _probe(method: str, path: str) -> Message:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [],
            "query_string": b""}


def _first_match(routes: Iterable[BaseRoute], scope: Message) -> tuple[BaseRoute, Message] | None:
    """The route Starlette's router serves the request with (its first full match)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child
    return None


def _may_match_under(route: BaseRoute, method: str, prefix: str) -> bool:
    """Whether the route could match a request of method for a path that starts with prefix/
    (judged by the literal text before its first parameter: generous, never missing one)."""
    path: str = getattr(route, "path", "")
    methods = getattr(route, "methods", None)
    if methods is not None and method not in methods:
        return False
    under = prefix + "/"
    if "{" in path or isinstance(route, Mount):
        literal = path.split("{", 1)[0] if "{" in path else path + "/"
        return under.startswith(literal) or literal.startswith(under)
    return path.startswith(under)


class FastRoutes:
    """The ASGI layer; endpoints is every (method, prefix, handler, path segments) of a declared
    endpoint, routes the app's routes, all registered."""

    def __init__(self, app: Any, endpoints: Sequence[tuple[str, str, RouteHandler, int]],
                 routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.exact: dict[tuple[str, str], FastRoute] = {}
        self.under: dict[tuple[str, str], FastRoute] = {}
        for method, prefix, handler, path_segments in endpoints:
            if "{" in prefix:  # an ID inside the path (XEVO's): only a pattern finds it
                continue
            own = tuple(r for r in routes if getattr(r, "endpoint", None) is handler)
            route = FastRoute(method, prefix, handler, own, path_segments)
            picked = _first_match(routes, _probe(method, prefix))
            if picked is not None and picked[0] in own:
                self.exact[method, prefix] = route
            if path_segments:
                earlier = routes[:routes.index(own[-1])]
                if not any(_may_match_under(r, method, prefix) for r in earlier if r not in own):
                    self.under[method, prefix] = route
        # The lookup climbs at most as many segments as the most parameters fill; a longer
        # path is FastAPI's to answer (with the same handler's 400).
        self.depth = max((route.path_segments for route in self.under.values()), default=0)

    def find(self, method: str, path: str) -> FastRoute | None:
        route = self.exact.get((method, path))
        if route is not None or not self.under:
            return route
        head = path
        for _ in range(self.depth):
            head, slash, _ = head.rpartition("/")
            if not slash or not head:
                return None
            route = self.under.get((method, head))
            if route is not None:
                return route
        return None

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        route = self.find(scope["method"], scope["path"]) if scope["type"] == "http" else None
        picked = _first_match(route.routes, scope) if route is not None else None
        if route is None or picked is None:
            await self.app(scope, receive, send)
            return
        scope.update(picked[1])  # the route and path parameters, as FastAPI's router sets them
        request = Request(scope, receive, send)
        try:
            response = await route.handler(request)
        except SanError as error:  # what FastAPI's handler for SanError answers (api/errors.py)
            response = san_error_response(error)
        await response(scope, receive, send)
