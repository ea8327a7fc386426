"""API tokens for the ISV's systems, and the CRM attributes they write.

A token is ``hbt_`` and 43 random characters, shown once when it is made;
only its SHA-256 is stored. Tokens carry scopes (:data:`SCOPES`), may
expire, and are revoked by an administrator. :func:`authenticate` answers a
rejected token with a stable 401 code (``api_token_invalid``,
``api_token_revoked``, ``api_token_expired``) and writes the refusal to the
audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from protocol.models import ErrorCode
from server import models
from server.errors import ApiProblem

PREFIX = "hbt_"
SCOPES: dict[str, str] = {
    "customers.read": "read customers' CRM attributes",
    "customers.write": "set customers' CRM attributes",
}
MAX_EXTRA_KEYS = 50


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Created:
    row: models.ApiToken
    token: str
    """The token itself: shown once, stored nowhere."""


def create_token(
    db: DbSession,
    *,
    name: str,
    scopes: list[str],
    created_by: str,
    expires_at: datetime | None = None,
) -> Created:
    name = name.strip()
    if not name:
        raise ApiProblem(422, ErrorCode.invalid_request, "a token needs a name")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ApiProblem(
            422, ErrorCode.invalid_request, f"scopes must be some of {', '.join(SCOPES)}"
        )
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise ApiProblem(422, ErrorCode.invalid_request, "expires_at is in the past")
    token = PREFIX + secrets.token_urlsafe(32)
    row = models.ApiToken(
        name=name,
        prefix=token[:12],
        token_hash=hash_token(token),
        scopes=sorted(set(scopes)),
        created_by=created_by,
        expires_at=expires_at,
    )
    db.add(row)
    db.flush()
    return Created(row, token)


def get_token(db: DbSession, token_id: int) -> models.ApiToken:
    row = db.get(models.ApiToken, token_id)
    if row is None:
        raise ApiProblem(404, ErrorCode.not_found, f"no API token {token_id}")
    return row


def revoke_token(db: DbSession, row: models.ApiToken) -> bool:
    """Revoke; False when it was revoked already."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = datetime.now(UTC)
    return True


def token_state(row: models.ApiToken, at: datetime | None = None) -> str:
    at = at or datetime.now(UTC)
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= at:
        return "expired"
    return "active"


class TokenRejected(Exception):
    def __init__(self, code: ErrorCode, message: str, token: models.ApiToken | None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.token = token


def authenticate(db: DbSession, token: str) -> models.ApiToken:
    """The token's row, if it is good now; :class:`TokenRejected` otherwise."""
    if not token.startswith(PREFIX) or len(token) > 200:
        raise TokenRejected(ErrorCode.api_token_invalid, "not a HelpBridge API token", None)
    row = db.scalar(select(models.ApiToken).where(models.ApiToken.token_hash == hash_token(token)))
    if row is None:
        raise TokenRejected(ErrorCode.api_token_invalid, "unknown API token", None)
    state = token_state(row)
    if state == "revoked":
        raise TokenRejected(ErrorCode.api_token_revoked, "this API token was revoked", row)
    if state == "expired":
        raise TokenRejected(ErrorCode.api_token_expired, "this API token has expired", row)
    row.last_used_at = datetime.now(UTC)
    return row


# --- CRM attributes -------------------------------------------------------------------


def customer_attributes(db: DbSession, customer_id: int) -> dict[str, Any]:
    """What the CRM says about a customer, for the agents' customer panel:
    ``contract``, ``service_level``, ``products_owned``, ``extra`` (free-form
    key/values) and ``updated_at`` (ISO 8601). Empty when the CRM never
    wrote any."""
    row = db.get(models.CustomerAttributes, customer_id)
    if row is None:
        return {}
    return {
        "contract": row.contract,
        "service_level": row.service_level,
        "products_owned": list(row.products_owned or []),
        "extra": dict(row.extra or {}),
        "updated_at": row.updated_at.isoformat(),
    }


def set_customer_attributes(
    db: DbSession,
    external_id: str,
    *,
    contract: str | None,
    service_level: str | None,
    products_owned: list[str],
    extra: dict[str, Any],
    by: str,
) -> tuple[models.Customer, bool]:
    """Replace a customer's CRM attributes. A customer the service has not
    met yet is created (the CRM may know them first). Returns the customer
    and whether it was created."""
    if len(extra) > MAX_EXTRA_KEYS:
        raise ApiProblem(
            422, ErrorCode.invalid_request, f"extra may hold at most {MAX_EXTRA_KEYS} keys"
        )
    customer = db.scalar(select(models.Customer).where(models.Customer.external_id == external_id))
    created = customer is None
    if customer is None:
        customer = models.Customer(external_id=external_id)
        db.add(customer)
        db.flush()
    row = db.get(models.CustomerAttributes, customer.id)
    if row is None:
        row = models.CustomerAttributes(customer_id=customer.id)
        db.add(row)
    row.contract = contract
    row.service_level = service_level
    row.products_owned = list(products_owned)
    row.extra = dict(extra)
    row.updated_at = datetime.now(UTC)
    row.updated_by = by[:100]
    db.flush()
    return customer, created
