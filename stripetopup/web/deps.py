"""The web door's dependencies, as ``Annotated`` aliases: the service, and who is calling.

A route names what it needs (``service: Service``, ``account_id: User``, ``name: Caller``)
and FastAPI provides it. The credential schemes are documented in ``/openapi.json`` as
bearer schemes and hand the ``Authorization`` header as sent to the core, which alone
decides what it is worth (so its messages for a malformed header are the core's); each check
runs under the failed-authentication limit (web.ratelimit). May import fastapi,
stripetopup.core and web.ratelimit.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase

from stripetopup.core import TopUpService
from stripetopup.web import ratelimit


def get_service(request: Request) -> TopUpService:
    service: TopUpService = request.app.state.service
    return service


Service = Annotated[TopUpService, Depends(get_service)]


class BearerHeader(SecurityBase):
    """A bearer scheme in the OpenAPI document whose value is the raw Authorization header."""

    def __init__(self, *, scheme_name: str, description: str) -> None:
        self.model = HTTPBearerModel(description=description)
        self.scheme_name = scheme_name

    async def __call__(self, request: Request) -> str | None:
        return request.headers.get("authorization")


user_credential = BearerHeader(
    scheme_name="UserToken",
    description="A user token from `stripetopup tokens create ACCOUNT`, or a JWT signed "
    "with STRIPETOPUP_JWT_SECRET. Service keys are refused (403).",
)
service_credential = BearerHeader(
    scheme_name="ServiceKey",
    description="A service key (`stk_...`) from `stripetopup keys create NAME`. "
    "User tokens are refused (403).",
)


def user(
    request: Request,
    service: Service,
    authorization: Annotated[str | None, Depends(user_credential)],
) -> str:
    """The user's account id; 401 without a valid user credential, 403 for a service key."""
    return ratelimit.authenticated(request, service.authenticate_user, authorization)


def service_caller(
    request: Request,
    service: Service,
    authorization: Annotated[str | None, Depends(service_credential)],
) -> str:
    """The service key's name; 401 without a valid key, 403 for a user token."""
    return ratelimit.authenticated(request, service.authenticate_service, authorization)


def service_actor(service_name: str) -> str:
    """The ``actor`` a service key's writes are recorded under (and its idempotency scope)."""
    return f"service:{service_name}"


User = Annotated[str, Depends(user)]
Caller = Annotated[str, Depends(service_caller)]
