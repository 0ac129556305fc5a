"""The one place where errors become HTTP responses.

Shape, on every error path: ``{"error": {"code": "...", "message": "...", "param": ...,
"request_id": "req_..."}}``; the request id is also the answer's ``Request-Id`` header.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from stripetopup import errors
from stripetopup.redact import redact
from stripetopup.web.request_ids import HEADER, request_id_of

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: tuple[tuple[type[errors.StripeTopupError], int], ...] = (
    (errors.OriginNotAllowed, 403),
    (errors.UsageError, 400),
    (errors.LinkExpired, 410),
    (errors.LinkRefused, 403),
    (errors.Forbidden, 403),
    (errors.AuthError, 401),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.InsufficientFunds, 402),
    (errors.RateLimited, 429),
    (errors.WebhookError, 400),
    (errors.ProcessingError, 500),
    (errors.StripeUnavailable, 502),
    (errors.DatabaseError, 503),
    (errors.ConfigError, 500),
)


def error_body(
    code: str, message: str, param: str | None = None, request_id: str | None = None
) -> dict[str, object]:
    error = {"code": code, "message": redact(message), "param": param, "request_id": request_id}
    return {"error": error}


def error_response(
    request: Request,
    body: dict[str, object],
    status_code: int,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """``body`` stamped with the request's id, in the body and the ``Request-Id`` header.

    The header is set here too: the 500 handler answers from outside the middleware.
    """
    request_id = request_id_of(request)
    body["error"]["request_id"] = request_id  # type: ignore[index]
    all_headers = dict(headers or {})
    if request_id is not None:
        all_headers[HEADER] = request_id
    return JSONResponse(body, status_code=status_code, headers=all_headers)


def _fields(request: Request, status: int, code: str) -> dict[str, object]:
    """The fields of a log line about an answer (stripetopup.logs)."""
    return {
        "method": request.method,
        "path": request.url.path,
        "status": status,
        "code": code,
        "request_id": request_id_of(request),
    }


def status_for(exc: errors.StripeTopupError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 500


async def response_for(request: Request, exc: Exception) -> JSONResponse:
    """The answer :func:`install`'s handlers give ``exc``, for a door that serves in front
    of them (web.webhook_door): the same status, body, headers and log line."""
    if isinstance(exc, errors.StripeTopupError):
        return await _domain(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return await _http(request, exc)
    if isinstance(exc, ClientDisconnect):
        return await _disconnected(request, exc)
    return await _unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.StripeTopupError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(ClientDisconnect, _disconnected)
    app.add_exception_handler(Exception, _unexpected)


async def _domain(request: Request, exc: errors.StripeTopupError) -> JSONResponse:
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    message = exc.message
    if isinstance(exc, errors.ConfigError):
        log.error(
            "configuration error serving %s: %s",
            request.url.path,
            redact(exc.message),
            extra=_fields(request, status, exc.code),
        )
        message = "the server is misconfigured; see its log"
    elif status >= 500:  # our side or Stripe's failed: the operator should see it
        log.warning(
            "%d %s %s: %s",
            status,
            request.method,
            request.url.path,
            redact(message),
            extra=_fields(request, status, exc.code),
        )
    body = error_body(exc.code, message, getattr(exc, "param", None))
    if isinstance(exc, errors.InsufficientFunds):
        body["error"]["available_cents"] = exc.available_cents  # type: ignore[index]
        body["error"]["requested_cents"] = exc.requested_cents  # type: ignore[index]
    return error_response(request, body, status, headers)


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    message = str(first.get("msg", "invalid request"))
    return error_response(
        request, error_body("invalid_request", message, ".".join(loc) or None), 400
    )


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    return error_response(request, error_body(code, str(exc.detail)), exc.status_code, exc.headers)


async def _disconnected(request: Request, exc: Exception) -> JSONResponse:
    # The client went away mid-body: its business, not an error of ours. Nobody reads this.
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return JSONResponse(error_body("client_disconnected", "the client disconnected"), 400)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unexpected %s serving %s: %s",
        type(exc).__name__,
        request.url.path,
        redact(str(exc)),
        extra=_fields(request, 500, "internal_error"),
    )
    return error_response(request, error_body("internal_error", "internal server error"), 500)
