"""3.2 Help: every endpoint, read from the application's own routes so it cannot drift."""

from __future__ import annotations

from fastapi.routing import APIRoute

from opensan.api.endpoint import Access, Call, Endpoint
from opensan.api.schemas import HELP_LIST, HelpItem

HELP_KEY = "x-sanos"


async def show_help(call: Call) -> bytes:
    items = [
        HelpItem.model_validate(route.openapi_extra[HELP_KEY])
        for route in call.request.app.routes
        if isinstance(route, APIRoute) and route.openapi_extra and HELP_KEY in route.openapi_extra
    ]
    return HELP_LIST.dump_json(items, by_alias=True)


ENDPOINTS = [Endpoint("GET", "/rest/", "Show all APIs.", show_help, access=Access.PUBLIC,
                      response=list[HelpItem])]
