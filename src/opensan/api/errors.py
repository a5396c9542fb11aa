"""Every failure leaves as {"error": {"code", "message"}} (api-contract.md, "Errors")."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from opensan.domain.errors import ErrorCode, SanError, TooManyAttempts

log = logging.getLogger("opensan.api")


def error_response(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _san_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, SanError)
    response = error_response(error.http_status, int(error.code), error.message)
    if isinstance(error, TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return error_response(404, ErrorCode.NO_SUCH_PATH,
                              "No such API; GET /rest/ lists every endpoint.")
    if error.status_code == 405:
        response = error_response(405, ErrorCode.METHOD_NOT_ALLOWED,
                                  f"{request.method} is not allowed here; GET /rest/ lists the "
                                  "method of every endpoint.")
        if error.headers and "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
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
