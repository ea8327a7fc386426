"""Integration with the ISV's systems: API tokens, CRM attributes, webhooks.

``/integration/...`` takes an API token (``Authorization: Bearer hbt_...``)
with the right scope; ``/admin/api-tokens`` and ``/admin/webhooks`` are the
administrators' (``integrations.manage``).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select
from sqlalchemy.orm import Session as DbSession

from protocol import admin as wire
from protocol.models import ErrorBody, ErrorCode
from server import api_tokens, audit, models, webhooks
from server.api.team import attributes_out
from server.auth import Db
from server.db import Database
from server.errors import ApiProblem
from server.identity import IdentityRejected, lookup_session
from server.permissions import Permission, Staff

router = APIRouter(tags=["integration"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
}

Integrator = Annotated[Staff, Permission("integrations.manage")]
ExternalId = Annotated[str, Path(min_length=1, max_length=200)]


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


# --- API-token callers ---------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _token_caller(request: Request, scope: str) -> models.ApiToken:
    """The API token of the request, if it is good and has ``scope``."""
    token = _bearer(request)
    database = _database(request)
    if token is None:
        raise ApiProblem(
            401,
            ErrorCode.api_token_invalid,
            "send an API token (Authorization: Bearer hbt_...)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    rejected: api_tokens.TokenRejected | None = None
    with database.session() as s:
        if not token.startswith(api_tokens.PREFIX):
            # A customer's or agent's session: a person, not the ISV's system.
            try:
                lookup_session(s, token)
            except IdentityRejected:
                pass
            else:
                raise ApiProblem(
                    403, ErrorCode.forbidden, "this endpoint takes an API token, not a session"
                )
        try:
            row = api_tokens.authenticate(s, token)
        except api_tokens.TokenRejected as exc:
            rejected = exc
        else:
            if scope in (row.scopes or []):
                return row
    # Refusals are recorded in a transaction of their own (the request's
    # own is rolled back).
    target = f"{request.method} {request.url.path}"
    if rejected is None:
        audit.record_now(
            database,
            "api_token.use",
            actor_type="api",
            actor_id=row.id,
            actor_name=row.name,
            target=target,
            outcome="denied",
            source=audit.source_of(request),
            needs=scope,
        )
        raise ApiProblem(403, ErrorCode.forbidden, f"this token lacks the scope {scope}")
    audit.record_now(
        database,
        "api_token.use",
        actor_type="api",
        actor_id=rejected.token.id if rejected.token else None,
        actor_name=rejected.token.name if rejected.token else "",
        target=target,
        outcome="failed",
        source=audit.source_of(request),
        reason=rejected.code.value,
    )
    raise ApiProblem(401, rejected.code, rejected.message, headers={"WWW-Authenticate": "Bearer"})


class TokenScope:
    """A dependency: the request's API token, holding ``scope``. Being a
    dependency, it refuses before the body is even read."""

    def __init__(self, scope: str) -> None:
        self.scope = scope

    def __call__(self, request: Request) -> models.ApiToken:
        return _token_caller(request, self.scope)


CrmWriter = Annotated[models.ApiToken, Depends(TokenScope("customers.write"))]
CrmReader = Annotated[models.ApiToken, Depends(TokenScope("customers.read"))]


def _check_extra(extra: dict[str, wire.ExtraValue]) -> None:
    for key, value in extra.items():
        if not key.strip() or len(key) > 64:
            raise ApiProblem(422, ErrorCode.invalid_request, "extra: keys have 1 to 64 characters")
        if isinstance(value, str) and len(value) > 1000:
            raise ApiProblem(
                422, ErrorCode.invalid_request, f"extra.{key}: at most 1,000 characters"
            )


@router.put(
    "/integration/customers/{external_id}/attributes",
    response_model=wire.CustomerAttributes,
    responses=_ERRORS,
)
def put_attributes(
    external_id: ExternalId, body: wire.CustomerAttributesIn, token: CrmWriter, db: Db
) -> wire.CustomerAttributes:
    """Set (replace) what the CRM knows about a customer, by the ISV's own
    customer id (the identity token's ``sub``). Needs ``customers.write``."""
    _check_extra(body.extra)
    if any(len(p) > 100 for p in body.products_owned):
        raise ApiProblem(422, ErrorCode.invalid_request, "products_owned: at most 100 characters")
    customer, _ = api_tokens.set_customer_attributes(
        db,
        external_id,
        contract=body.contract,
        service_level=body.service_level,
        products_owned=body.products_owned,
        extra=dict(body.extra),
        by=f"api:{token.name}",
    )
    return attributes_out(db, customer)


@router.get(
    "/integration/customers/{external_id}/attributes",
    response_model=wire.CustomerAttributes,
    responses=_ERRORS,
)
def get_attributes(external_id: ExternalId, token: CrmReader, db: Db) -> wire.CustomerAttributes:
    c = db.scalar(select(models.Customer).where(models.Customer.external_id == external_id))
    if c is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no customer {external_id!r}")
    return attributes_out(db, c)


# --- API tokens ------------------------------------------------------------------------


def token_out(row: models.ApiToken) -> wire.ApiTokenInfo:
    state = api_tokens.token_state(row)
    return wire.ApiTokenInfo(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scopes=list(row.scopes or []),
        state=state,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


@router.post(
    "/admin/api-tokens", response_model=wire.ApiTokenCreated, status_code=201, responses=_ERRORS
)
def create_token(
    body: wire.ApiTokenIn, request: Request, staff: Integrator, db: Db
) -> wire.ApiTokenCreated:
    """A new token, in this answer only (store it in the CRM's settings)."""
    made = api_tokens.create_token(
        db,
        name=body.name,
        scopes=list(body.scopes),
        created_by=staff.agent.email,
        expires_at=body.expires_at,
    )
    audit.record(
        db,
        "settings.api_token.create",
        actor_type="agent",
        actor_id=staff.agent.id,
        actor_name=staff.agent.email,
        target=f"{made.row.name} ({made.row.prefix}…)",
        source=audit.source_of(request),
        scopes=",".join(made.row.scopes),
        expires_at=made.row.expires_at.isoformat() if made.row.expires_at else "never",
    )
    return wire.ApiTokenCreated(info=token_out(made.row), token=made.token)


@router.get("/admin/api-tokens", response_model=wire.ApiTokenList)
def list_tokens(staff: Integrator, db: Db) -> wire.ApiTokenList:
    rows = db.scalars(select(models.ApiToken).order_by(models.ApiToken.id)).all()
    return wire.ApiTokenList(tokens=[token_out(r) for r in rows])


@router.delete("/admin/api-tokens/{token_id}", response_model=wire.ApiTokenInfo, responses=_ERRORS)
def revoke_token(token_id: int, request: Request, staff: Integrator, db: Db) -> wire.ApiTokenInfo:
    """Revoke at once: the next call with it gets 401 ``api_token_revoked``."""
    row = api_tokens.get_token(db, token_id)
    if api_tokens.revoke_token(db, row):
        audit.record(
            db,
            "settings.api_token.revoke",
            actor_type="agent",
            actor_id=staff.agent.id,
            actor_name=staff.agent.email,
            target=f"{row.name} ({row.prefix}…)",
            source=audit.source_of(request),
        )
    return token_out(row)


# --- webhooks ------------------------------------------------------------------------------


def _options(request: Request) -> webhooks.WebhookOptions:
    options: webhooks.WebhookOptions = request.app.state.webhooks.options
    return options


async def _checked_url(request: Request, url: str) -> str:
    try:
        # Resolving a name may take a while: not on the event loop.
        return await run_in_threadpool(webhooks.check_url, url, _options(request))
    except webhooks.TargetRefused as exc:
        raise ApiProblem(422, ErrorCode.invalid_request, f"url: {exc}") from exc


def webhook_out(db: DbSession, sub: models.WebhookSubscription) -> wire.Webhook:
    D = models.WebhookDelivery
    rows = db.execute(
        select(D.status, func.count()).where(D.subscription_id == sub.id).group_by(D.status)
    ).all()
    counts: dict[str, int] = {status: n for status, n in rows}
    return wire.Webhook(
        id=sub.id,
        url=sub.url,
        events=list(sub.events or []),
        description=sub.description,
        active=sub.active,
        created_at=sub.created_at,
        created_by=sub.created_by,
        pending=counts.get("pending", 0),
        failed=counts.get("failed", 0),
    )


def _subscription(db: DbSession, webhook_id: int) -> models.WebhookSubscription:
    sub = db.get(models.WebhookSubscription, webhook_id)
    if sub is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no webhook {webhook_id}")
    return sub


def _audit(db: DbSession, request: Request, staff: Staff, action: str, **detail: Any) -> None:
    audit.record(
        db,
        action,
        actor_type="agent",
        actor_id=staff.agent.id,
        actor_name=staff.agent.email,
        source=audit.source_of(request),
        **detail,
    )


@router.post(
    "/admin/webhooks", response_model=wire.WebhookCreated, status_code=201, responses=_ERRORS
)
async def create_webhook(
    body: wire.WebhookIn, request: Request, staff: Integrator
) -> wire.WebhookCreated:
    """Subscribe a URL to events. The signing secret is in this answer only."""
    url = await _checked_url(request, body.url)
    secret = body.secret or "whsec_" + secrets.token_urlsafe(32)

    def work() -> wire.Webhook:
        with _database(request).session() as db:
            sub = models.WebhookSubscription(
                url=url,
                events=sorted(set(body.events)),
                secret=secret,
                description=body.description,
                active=body.active,
                created_by=staff.agent.email,
            )
            db.add(sub)
            db.flush()
            _audit(db, request, staff, "settings.webhook.create", target=url, events=sub.events)
            return webhook_out(db, sub)

    return wire.WebhookCreated(webhook=await run_in_threadpool(work), secret=secret)


@router.get("/admin/webhooks", response_model=wire.WebhookList)
def list_webhooks(staff: Integrator, db: Db) -> wire.WebhookList:
    rows = db.scalars(
        select(models.WebhookSubscription).order_by(models.WebhookSubscription.id)
    ).all()
    return wire.WebhookList(webhooks=[webhook_out(db, s) for s in rows])


@router.get("/admin/webhooks/{webhook_id}", response_model=wire.Webhook, responses=_ERRORS)
def get_webhook(webhook_id: int, staff: Integrator, db: Db) -> wire.Webhook:
    return webhook_out(db, _subscription(db, webhook_id))


@router.patch("/admin/webhooks/{webhook_id}", response_model=wire.Webhook, responses=_ERRORS)
async def update_webhook(
    webhook_id: int, body: wire.WebhookUpdate, request: Request, staff: Integrator
) -> wire.Webhook:
    url = await _checked_url(request, body.url) if body.url is not None else None

    def work() -> wire.Webhook:
        with _database(request).session() as db:
            sub = _subscription(db, webhook_id)
            changed: dict[str, Any] = {}
            if url is not None and url != sub.url:
                changed["url"] = sub.url = url
            if body.events is not None and sorted(set(body.events)) != sub.events:
                changed["events"] = sub.events = sorted(set(body.events))
            if body.description is not None:
                sub.description = body.description
            if body.active is not None and body.active != sub.active:
                changed["active"] = sub.active = body.active
            if changed:
                _audit(db, request, staff, "settings.webhook.update", target=sub.url, **changed)
            return webhook_out(db, sub)

    out = await run_in_threadpool(work)
    # Re-activated: its held-back events are due now.
    request.app.state.webhooks.poke()
    return out


@router.delete("/admin/webhooks/{webhook_id}", status_code=204, responses=_ERRORS)
def delete_webhook(webhook_id: int, request: Request, staff: Integrator, db: Db) -> Response:
    sub = _subscription(db, webhook_id)
    _audit(db, request, staff, "settings.webhook.delete", target=sub.url)
    db.delete(sub)
    return Response(status_code=204)


@router.get(
    "/admin/webhooks/{webhook_id}/deliveries",
    response_model=wire.WebhookDeliveryList,
    responses=_ERRORS,
)
def deliveries(
    webhook_id: int,
    staff: Integrator,
    db: Db,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|failed)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> wire.WebhookDeliveryList:
    """The delivery log, newest first: every try's status code or error and
    duration."""
    _subscription(db, webhook_id)
    D, A = models.WebhookDelivery, models.WebhookAttempt
    stmt = select(D).where(D.subscription_id == webhook_id)
    if status:
        stmt = stmt.where(D.status == status)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(D.id.desc()).limit(limit)).all()
    tries: dict[int, list[wire.WebhookAttempt]] = {}
    if rows:
        for a in db.scalars(
            select(A).where(A.delivery_id.in_([d.id for d in rows])).order_by(A.number)
        ):
            tries.setdefault(a.delivery_id, []).append(
                wire.WebhookAttempt(
                    number=a.number,
                    at=a.at,
                    status_code=a.status_code,
                    error=a.error,
                    duration_ms=a.duration_ms,
                )
            )
    return wire.WebhookDeliveryList(
        deliveries=[
            wire.WebhookDelivery(
                id=d.id,
                event=d.event,
                event_id=d.event_id,
                status=d.status,
                attempts=tries.get(d.id, []),
                next_attempt_at=d.next_attempt_at,
                created_at=d.created_at,
                finished_at=d.finished_at,
            )
            for d in rows
        ],
        total=total,
    )
