"""The API's documentation: Swagger UI at /docs, ReDoc at /redoc and the OpenAPI description
at /openapi.json, for logged-in accounts only, like the API (the session cookie or the token).

The pages load nothing but the files under static/, served at /docs/static/: Swagger UI and
ReDoc as scripts/fetch_docs_assets.py pins them, with their licences, and the two scripts that
start them. So they work on an array's network without internet access, and their content
security policy lets them load from the array alone.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from opensan.api.auth import request_token
from opensan.api.logs import note_account
from opensan.service.array import ArrayService

STATIC = Path(__file__).parent / "static"
ASSETS = "/docs/static"
# The pages' own policy (SecurityHeaders leaves it): everything from the array only; React's
# style attributes and ReDoc's styled-components need inline styles, ReDoc's search a worker.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; worker-src 'self' blob:; base-uri 'none'; "
               "form-action 'none'; frame-ancestors 'none'")

# Relative URLs, so that the pages work under a proxy's path prefix too.
_SWAGGER = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="docs/static/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="docs/static/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/static/swagger-ui/swagger-ui-bundle.js"></script>
<script src="docs/static/swagger-init.js"></script>
</body>
</html>
"""
_REDOC = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="docs/static/swagger-ui/favicon-32x32.png">
</head>
<body>
<div id="redoc"></div>
<script src="docs/static/redoc/redoc.standalone.js"></script>
<script src="docs/static/redoc-init.js"></script>
</body>
</html>
"""


def add_docs(app: FastAPI, service: ArrayService) -> None:
    def page(template: str) -> Callable[[Request], Awaitable[HTMLResponse]]:
        text = template.format(title=html.escape(app.title))

        async def show(request: Request) -> HTMLResponse:
            note_account(service.accounts.authenticate(request_token(request)[0]).account)
            return HTMLResponse(text, headers={"Content-Security-Policy": PAGE_POLICY})

        return show

    async def openapi(request: Request) -> Response:
        note_account(service.accounts.authenticate(request_token(request)[0]).account)
        return JSONResponse(app.openapi())

    app.add_api_route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)
    for path, template in (("/docs", _SWAGGER), ("/redoc", _REDOC)):
        app.add_api_route(path, page(template), methods=["GET"], include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")
