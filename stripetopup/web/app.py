"""The FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from stripetopup import __version__
from stripetopup.core import TopUpService
from stripetopup.db import check_connection
from stripetopup.errors import DatabaseError
from stripetopup.web import billing, errors, metrics, ratelimit, request_ids, spend
from stripetopup.web.limits import BodyLimitMiddleware


def create_app(service: TopUpService, *, demo: bool = False) -> FastAPI:
    """An app serving ``service``; the caller owns the service's lifetime.

    ``demo`` adds stand-in success/cancel pages for the offline demo.
    """
    # /docs and /redoc from assets installed with fastapi-offline: no CDN, so they work
    # offline and behind a strict egress policy.
    app = FastAPIOffline(
        title="stripetopup",
        version=__version__,
        description="Prepaid credit through Stripe Checkout, with an exactly-once ledger.",
        redirect_slashes=False,
    )
    app.state.service = service
    errors.install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=service.settings.allowed_frontend_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
        expose_headers=[request_ids.HEADER],
    )
    # Added last, so it runs first: sizes are refused before anything else looks at them.
    app.add_middleware(
        BodyLimitMiddleware,
        api_limit=service.settings.api_max_body_bytes,
        webhook_limit=service.settings.webhook_max_body_bytes,
    )
    metrics.install(app, service)
    app.add_middleware(request_ids.RequestIdMiddleware)  # outermost: stamps every answer
    app.include_router(billing.router)
    app.include_router(spend.router)
    if demo:
        from stripetopup.web import demo_pages

        app.include_router(demo_pages.router)
    _add_probes(app)
    ratelimit.install(app, service.settings)
    return app


def create_app_from_env(*, demo: bool = False) -> FastAPI:
    """The factory uvicorn workers call (``serve --workers N``): settings from the env."""
    from stripetopup.logs import configure_logging

    service = TopUpService.from_settings()
    configure_logging(service.settings.log_format, service.settings.log_level)
    return create_app(service, demo=demo)


def _add_probes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["ops"], summary="Liveness, with a database check")
    async def healthz(request: Request) -> Any:
        service: TopUpService = request.app.state.service
        try:
            await run_in_threadpool(check_connection, service.engine)
        except DatabaseError as exc:
            return JSONResponse({"status": "error", "database": exc.message}, status_code=503)
        return {"status": "ok", "database": "ok"}

    @app.get("/version", tags=["ops"], summary="Package version")
    async def version() -> dict[str, str]:
        return {"version": __version__}
