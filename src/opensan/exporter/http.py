"""The exporter's own HTTP side: GET /metrics (and a line of text at /), served by uvicorn.

prometheus-client writes the answer from the Scraper's families (Scraper.render), in the
Prometheus text format or in OpenMetrics when the scraper's Accept asks for it. The scrape
runs in a worker thread, so the event loop stays free. /metrics is open on the listen
address unless a bearer token is set.
"""

from __future__ import annotations

import hmac

from prometheus_client.exposition import choose_encoder
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from opensan.exporter.scraper import Scraper

METRICS_PATH = "/metrics"
OPENMETRICS = "application/openmetrics-text"


def _authorized(request: Request, token: str | None) -> bool:
    if token is None:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                              token.encode())


def create_app(scraper: Scraper, token: str | None = None) -> Starlette:
    """The exporter's ASGI application; with `token`, /metrics wants `Authorization: Bearer`."""
    async def metrics(request: Request) -> Response:
        if not _authorized(request, token):
            return PlainTextResponse("A bearer token is needed.\n", status_code=401,
                                     headers={"WWW-Authenticate": "Bearer"})
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await run_in_threadpool(scraper.render, encoder,
                                       content_type.startswith(OPENMETRICS))
        return Response(body, media_type=content_type)

    async def index(request: Request) -> Response:
        return PlainTextResponse(f"opensan exporter: the array's metrics are at {METRICS_PATH}\n")

    return Starlette(routes=[Route(METRICS_PATH, metrics, methods=["GET"]),
                             Route("/", index, methods=["GET"])])
