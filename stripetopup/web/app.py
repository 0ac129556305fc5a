"""The FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp

from stripetopup import __version__
from stripetopup.core import TopUpService
from stripetopup.db import check_connection
from stripetopup.errors import DatabaseError
from stripetopup.web import errors, ratelimit, request_ids
from stripetopup.web import jobs as background
from stripetopup.web.deps import Service
from stripetopup.web.limits import BodyLimitMiddleware
from stripetopup.web.routes import billing, grants, hooks, metrics, outbound, recharge, spend, topup
from stripetopup.web.schemas import Health, Version, error
from stripetopup.web.webhook_door import WebhookDoor
from stripetopup.web.webhook_writer import WebhookWriter


def create_app(service: TopUpService, *, demo: bool = False, jobs: bool = True) -> FastAPI:
    """An app serving ``service``; the caller owns the service's lifetime.

    ``demo`` adds stand-in success/cancel pages for the offline demo; ``jobs`` runs the
    background jobs while the app is up under a server that runs the lifespan (``serve``):
    grant and hold expiry, and the outbound webhook worker (:mod:`stripetopup.web.jobs`).
    """
    writer = WebhookWriter(service)  # started by the first delivery, stopped by the lifespan
    # /docs and /redoc from assets installed with fastapi-offline: no CDN, so they work
    # offline and behind a strict egress policy.
    app = FastAPIOffline(
        title="stripetopup",
        version=__version__,
        description="Prepaid credit through Stripe Checkout, with an exactly-once ledger.",
        redirect_slashes=False,
        # Any route may fail unexpectedly; a route that can fail so by design says how.
        responses={500: error("An unexpected failure (internal_error); see the server log.")},
        lifespan=background.lifespan(service, writer) if jobs else None,
    )
    app.state.service = service
    app.state.webhook_writer = writer
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
    app.include_router(topup.status_router)
    if service.settings.topup_page:
        service.settings.require_topup_page()  # refused at start, not on the first buyer
        app.include_router(topup.router)
    app.include_router(outbound.router)
    app.include_router(hooks.router)
    app.include_router(grants.router)
    app.include_router(recharge.router)
    if demo:
        from stripetopup.web.routes import demo_pages

        app.include_router(demo_pages.router)
    _add_probes(app)
    ratelimit.install(app, service.settings)
    _serve_the_webhook_first(app, writer)
    _document_only_what_is_answered(app)
    return app


def create_app_from_env(*, demo: bool = False) -> FastAPI:
    """The factory uvicorn workers call (``serve --workers N``): settings from the env."""
    from stripetopup.logs import configure_logging

    service = TopUpService.from_settings()
    configure_logging(service.settings.log_format, service.settings.log_level)
    return create_app(service, demo=demo)


def _add_probes(app: FastAPI) -> None:
    @app.get(
        "/healthz",
        tags=["ops"],
        summary="Liveness, with a database check",
        response_model=Health,
        responses={503: {"model": Health, "description": "The database cannot be reached."}},
    )
    def healthz(service: Service) -> Any:
        try:
            check_connection(service.engine)
        except DatabaseError as exc:
            return JSONResponse({"status": "error", "database": exc.message}, status_code=503)
        return Health(status="ok", database="ok")

    @app.get("/version", tags=["ops"], summary="Package version")
    def version() -> Version:
        return Version(version=__version__)


def _serve_the_webhook_first(app: FastAPI, writer: WebhookWriter) -> None:
    """Put the webhook's door (web.webhook_door) in front of the app's whole stack, the
    wrappers FastAPI puts outside every middleware included (its server-error catch, its
    telemetry check, its body-size guard: 10 to 20 µs a delivery, in-process)."""
    build = app.build_middleware_stack

    def build_behind_the_door() -> ASGIApp:
        return WebhookDoor(build(), writer=writer)

    app.build_middleware_stack = build_behind_the_door  # type: ignore[method-assign]


def _document_only_what_is_answered(app: FastAPI) -> None:
    """Drop FastAPI's generated 422 answers from ``/openapi.json``: invalid input is answered
    400 in the one error shape (web.errors), and every route documents that itself."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]
