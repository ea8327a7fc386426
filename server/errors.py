"""One error shape for every refusal: ``protocol.models.ErrorBody``.

Handlers here turn validation errors, unknown routes and unexpected
exceptions into that shape, so no client ever sees a traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from protocol.models import ErrorBody, ErrorCode, ErrorDetail

log = logging.getLogger(__name__)


class ApiProblem(Exception):
    """Raise from a route to refuse a request with a stable reason code."""

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message))
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _status_code(status: int) -> ErrorCode:
    return {
        401: ErrorCode.session_missing,
        403: ErrorCode.forbidden,
        404: ErrorCode.not_found,
        409: ErrorCode.conflict,
        413: ErrorCode.too_large,
        429: ErrorCode.rate_limited,
    }.get(status, ErrorCode.invalid_request if status < 500 else ErrorCode.internal)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _problem(_request: Request, exc: ApiProblem) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:3]:
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{loc}: {err.get('msg', 'invalid')}" if loc else str(err.get("msg")))
        return error_response(422, ErrorCode.invalid_request, "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return error_response(exc.status_code, _status_code(exc.status_code), message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, ErrorCode.internal, "internal error; the service logged it")
