"""A raw ASGI layer that answers GETs of the cached reads without FastAPI's routing.

FastAPI finds a request's route by trying every route's pattern in turn (hundreds: each SANOS
endpoint has a route per path form), then builds its dependency machinery around the handler:
for a read whose answer is cached bytes (Endpoint.cached), that is most of what the server
spends. This layer sits inside the other middleware (Requests, SecurityHeaders, BodyLimit: the
same request ID, access log, metrics, headers and body limit) and in front of FastAPI's router.
It finds the read by a dictionary lookup of its path, lets that endpoint's own routes match the
request (so the scope holds the route and path parameters FastAPI would have set), and calls the
very handler FastAPI calls (app.py's _route_handler: authentication, role, parameters), answering
an array error the way FastAPI's error handler does. Anything else falls through unchanged.

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
class Read:
    """One prefix of a cached read: the handler its routes call, and those routes in order."""

    prefix: str
    handler: RouteHandler
    routes: tuple[BaseRoute, ...]
    # How many segments SANOS's parameters add to the path (/rest/log/list/<page>: 1); paths
    # under prefix/ with up to that many are this read's too.
    path_segments: int


def _probe(path: str) -> Message:
    return {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [],
            "query_string": b""}


def _first_match(routes: Iterable[BaseRoute], scope: Message) -> tuple[BaseRoute, Message] | None:
    """The route Starlette's router serves the request with (its first full match)."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child
    return None


def _may_match_under(route: BaseRoute, prefix: str) -> bool:
    """Whether the route could match a path that starts with prefix/ (judged by the literal
    text before its first parameter: generous, never missing one)."""
    path: str = getattr(route, "path", "")
    methods = getattr(route, "methods", None)
    if methods is not None and "GET" not in methods:
        return False
    under = prefix + "/"
    if "{" in path or isinstance(route, Mount):
        literal = path.split("{", 1)[0] if "{" in path else path + "/"
        return under.startswith(literal) or literal.startswith(under)
    return path.startswith(under)


class FastReads:
    """The ASGI layer; reads is every (prefix, handler, path segments) of a cached read,
    routes the app's routes, all registered."""

    def __init__(self, app: Any, reads: Sequence[tuple[str, RouteHandler, int]],
                 routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.exact: dict[str, Read] = {}
        self.under: dict[str, Read] = {}
        for prefix, handler, path_segments in reads:
            own = tuple(r for r in routes if getattr(r, "endpoint", None) is handler)
            read = Read(prefix, handler, own, path_segments)
            picked = _first_match(routes, _probe(prefix))
            if picked is not None and picked[0] in own:
                self.exact[prefix] = read
            if path_segments:
                earlier = routes[:routes.index(own[-1])]
                if not any(_may_match_under(r, prefix) for r in earlier if r not in own):
                    self.under[prefix] = read
        # A path with more segments after its prefix than the read's parameters fill is
        # FastAPI's to answer (the handler's 400).
        self.depth = max((read.path_segments for read in self.under.values()), default=0)

    def find(self, path: str) -> Read | None:
        read = self.exact.get(path)
        if read is not None or not self.under:
            return read
        head = path
        for _ in range(self.depth):
            head, slash, _ = head.rpartition("/")
            if not slash or not head:
                return None
            read = self.under.get(head)
            if read is not None:
                return read
        return None

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        read = self.find(scope["path"]) if scope["type"] == "http" and \
            scope["method"] == "GET" else None
        picked = _first_match(read.routes, scope) if read is not None else None
        if read is None or picked is None:
            await self.app(scope, receive, send)
            return
        scope.update(picked[1])  # the route and path parameters, as FastAPI's router sets them
        request = Request(scope, receive, send)
        try:
            response = await read.handler(request)
        except SanError as error:  # what FastAPI's handler for SanError answers (api/errors.py)
            response = san_error_response(error)
        await response(scope, receive, send)
