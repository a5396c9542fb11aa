"""Every failure leaves as {"error": {"code", "message"}} (api-contract.md, "Errors")."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from opensan.domain.errors import ErrorCode, SanError

log = logging.getLogger("opensan.api")


def error_body(code: int, message: str) -> bytes:
    """The contract's error body, as bytes (also for answers written below the ASGI app)."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def error_response(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def san_error_response(error: SanError) -> JSONResponse:
    response = error_response(error.http_status, int(error.code), error.message)
    if error.retry_after_seconds is not None:
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


async def _san_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SanError)
    return san_error_response(error)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return error_response(404, ErrorCode.NO_SUCH_PATH,
                              "No such API; GET /rest/ lists every endpoint.")
    if error.status_code == 405:
        response = error_response(405, ErrorCode.METHOD_NOT_ALLOWED,
                                  f"{request.method} is not allowed here; GET /rest/ lists the "
                                  "method of every endpoint.")
        response.headers["Allow"] = _allowed_methods(request)
        return response
    return error_response(error.status_code, ErrorCode.INVALID_ARGUMENT, str(error.detail))


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    return error_response(400, ErrorCode.INVALID_ARGUMENT, "The request is malformed.")


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("Unexpected error on %s %s", request.method, request.scope.get("route_path", ""),
              exc_info=error)
    return error_response(500, ErrorCode.INTERNAL_ERROR,
                          "Internal error; the server log has the details.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SanError, _san_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
