"""Tokens: exchange an API key for a short-lived JWT, end a session, publish the public keys."""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Response

from barista_gateway.api.deps import GatewayDep, PrincipalDep
from barista_gateway.api.errors import ApiError
from barista_gateway.models import ErrorResponse, TokenPublic

router = APIRouter(tags=["auth"])
_ERRORS = {401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}}


@router.post("/v1/auth/token", response_model=TokenPublic, responses=_ERRORS)
async def issue_token(principal: PrincipalDep, gateway: GatewayDep, response: Response) -> TokenPublic:
    """Exchange the API key (``X-API-Key`` or ``Authorization: Bearer bk_…``) for a short-lived JWT."""
    if principal.kind != "api_key":
        raise ApiError(403, "api_key_required", "tokens are issued for API keys only, not for other tokens")
    issued = await gateway.issuer.issue(tenant=principal.tenant.name, key_id=principal.key_id)
    response.headers["Cache-Control"] = "no-store"
    return TokenPublic(
        access_token=issued.token,
        expires_in=issued.expires_in,
        expires_at=datetime.datetime.fromtimestamp(issued.expires_at, datetime.UTC),
        session_id=issued.session_id,
    )


@router.post("/v1/auth/logout", status_code=204, responses=_ERRORS)
async def logout(principal: PrincipalDep, gateway: GatewayDep) -> Response:
    """End the session of the presented token, at once, on every replica."""
    if principal.session_id is None:
        raise ApiError(400, "not_a_session", "log out with the token to end (API keys are revoked by the operator)")
    await gateway.verifier.revoke_session(principal.session_id)
    return Response(status_code=204)


@router.get("/.well-known/jwks.json", tags=["auth"])
async def jwks(gateway: GatewayDep, response: Response) -> dict[str, object]:
    """Public keys that verify Barista tokens (JWK Set). Rotated keys stay listed until their tokens expire."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return await gateway.issuer.jwks()
