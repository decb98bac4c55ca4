"""Errors of the tenant API, all answered as ``{"error": {"code", "message", "request_id", ...}}``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from barista_core.errors import BaristaError


class ApiError(BaristaError):
    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
        self.extra = extra


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what}_not_found", f"no such {what.replace('_', ' ')}")


def _body(request: Request, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "request_id": request.scope.get("barista.request_id", ""), **extra}
    }


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _json(_body(request, exc.code, exc.message, **exc.extra), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p not in ("query", "path", "body")) or "body",
                "problem": err["msg"],
            }
            for err in exc.errors()
        ]
        return _json(_body(request, "invalid_request", "the request is invalid", details=details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _json(_body(request, code, str(exc.detail)), exc.status_code, headers=exc.headers)
