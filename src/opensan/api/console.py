"""The web console: its page at / and its files under /console/.

The page and its files are open to anyone, like a login page: they hold no data. The data
comes from the API itself, with the session cookie the console's login sets, so the console
can do exactly what its account may do through the API and nothing more.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.staticfiles import StaticFiles

# The console's own policy, stricter than the server's default for pages: scripts, styles
# and images from the array's own files only (no inline code), requests to the array only.
POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def add_console(app: FastAPI) -> None:
    """Serve the console's page at / and its scripts, styles and images under /console/."""
    page = (files("opensan") / "console" / "index.html").read_bytes()

    async def index() -> Response:
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": POLICY})

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount("/console", StaticFiles(packages=[("opensan", "console")]), name="console")
