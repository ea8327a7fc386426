"""Identity exchange, refresh, sign-out, agent sign-in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from protocol import models as wire
from protocol.models import ErrorCode
from server import agents, audit, models
from server.auth import AnyPrincipal, CurrentCustomer, Db
from server.config import Settings
from server.errors import ApiProblem
from server.identity import (
    IdentityRejected,
    IssuedTokens,
    active_secret,
    issue_session,
    rotate_session,
    upsert_customer,
    verify_identity,
)

router = APIRouter(tags=["auth"])

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {401: {"model": wire.ErrorBody}}


def customer_out(c: models.Customer) -> wire.Customer:
    return wire.Customer(
        id=c.id,
        external_id=c.external_id,
        name=c.name,
        email=c.email,
        phone=c.phone,
        company=c.company,
        tier=wire.Tier(c.tier),
        product=c.product,
        product_version=c.product_version,
    )


def agent_out(a: models.Agent) -> wire.Agent:
    return wire.Agent(id=a.id, email=a.email, name=a.name, role=wire.Role(a.role), active=a.active)


def _session_out(db: Db, issued: IssuedTokens) -> wire.Session:
    row = issued.session
    customer = agent = None
    if row.subject_type == "customer":
        c = db.get(models.Customer, row.subject_id)
        customer = customer_out(c) if c else None
    else:
        a = db.get(models.Agent, row.subject_id)
        agent = agent_out(a) if a else None
    return wire.Session(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_at=row.expires_at,
        refresh_expires_at=row.refresh_expires_at,
        customer=customer,
        agent=agent,
    )


def _reject(exc: IdentityRejected) -> ApiProblem:
    return ApiProblem(401, exc.code, exc.message, headers={"WWW-Authenticate": "Bearer"})


@router.post("/auth/identity", response_model=wire.Session, responses=_UNAUTHORIZED)
def exchange_identity(body: wire.IdentityExchange, request: Request, db: Db) -> wire.Session:
    """Exchange the host's signed identity JWT for a HelpBridge session."""
    settings: Settings = request.app.state.settings
    try:
        claims = verify_identity(
            body.token,
            lambda kid: active_secret(db, kid),
            max_ttl=settings.max_identity_ttl,
            skew=settings.clock_skew,
        )
    except IdentityRejected as exc:
        audit.record_now(
            request.app.state.db,
            "customer.sign_in",
            actor_type="customer",
            outcome="failed",
            source=audit.source_of(request),
            reason=exc.code.value,
        )
        raise _reject(exc) from exc
    customer = upsert_customer(db, claims)
    audit.record(
        db,
        "customer.sign_in",
        actor_type="customer",
        actor_id=customer.id,
        actor_name=customer.external_id,
        source=audit.source_of(request),
        kid=claims.kid,
    )
    issued = issue_session(
        db,
        "customer",
        customer.id,
        access_ttl=settings.access_ttl,
        refresh_ttl=settings.refresh_ttl,
        kid=claims.kid,
    )
    return _session_out(db, issued)


@router.post("/auth/refresh", response_model=wire.Session, responses=_UNAUTHORIZED)
def refresh(body: wire.RefreshRequest, request: Request, db: Db) -> wire.Session:
    settings: Settings = request.app.state.settings
    try:
        issued = rotate_session(db, body.refresh_token, access_ttl=settings.access_ttl)
    except IdentityRejected as exc:
        raise _reject(exc) from exc
    if issued.session.subject_type == "customer":
        kid = issued.session.identity_kid
        # A rotated-out signing key ends the sessions it vouched for.
        if kid is not None and active_secret(db, kid) is None:
            issued.session.revoked_at = datetime.now(UTC)
            raise ApiProblem(401, ErrorCode.session_revoked, "the identity key was revoked")
    else:
        agent = db.get(models.Agent, issued.session.subject_id)
        if agent is None or not agent.active:
            raise ApiProblem(401, ErrorCode.account_disabled, "agent account is disabled")
    return _session_out(db, issued)


@router.post("/auth/logout", status_code=204, responses=_UNAUTHORIZED)
def logout(principal: AnyPrincipal, request: Request, db: Db) -> Response:
    row = db.merge(principal.session)
    row.revoked_at = datetime.now(UTC)
    who = principal.customer or principal.agent
    audit.record(
        db,
        "sign_out",
        actor_type=row.subject_type,
        actor_id=row.subject_id,
        actor_name=str(getattr(who, "email", None) or getattr(who, "external_id", "")),
        source=audit.source_of(request),
    )
    return Response(status_code=204)


@router.get("/me", response_model=wire.Customer, responses=_UNAUTHORIZED)
def me(customer: CurrentCustomer) -> wire.Customer:
    return customer_out(customer)


@router.post("/agent/login", response_model=wire.Session, responses=_UNAUTHORIZED)
def agent_login(body: wire.AgentLogin, request: Request, db: Db) -> wire.Session:
    settings: Settings = request.app.state.settings
    try:
        agent = agents.authenticate(db, body.email, body.password)
    except IdentityRejected as exc:
        audit.record_now(
            request.app.state.db,
            "agent.sign_in",
            actor_type="agent",
            actor_name=body.email.strip().lower(),
            outcome="failed",
            source=audit.source_of(request),
            reason=exc.code.value,
        )
        raise ApiProblem(401, exc.code, exc.message) from exc
    audit.record(
        db,
        "agent.sign_in",
        actor_type="agent",
        actor_id=agent.id,
        actor_name=agent.email,
        source=audit.source_of(request),
    )
    issued = issue_session(
        db,
        "agent",
        agent.id,
        access_ttl=settings.access_ttl,
        refresh_ttl=settings.agent_refresh_ttl,
    )
    return _session_out(db, issued)
