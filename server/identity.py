"""Customer identity from the ISV's backend, and HelpBridge sessions.

The host software hands the portal a JWT signed (HS256) by the ISV's own
backend with one of the secrets configured here, named by the header's
``kid``. :func:`verify_identity` checks it strictly and raises
:class:`IdentityRejected` with a reason code the portal can show; it never
lets a PyJWT exception escape.

Sessions are random opaque tokens; only their SHA-256 hashes are stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from protocol.models import ErrorCode, Tier
from server import models

ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 8192
CLAIM_LIMITS = {
    "sub": 200,
    "name": 200,
    "email": 320,
    "phone": 50,
    "company": 200,
    "product": 100,
    "product_version": 50,
}


class IdentityRejected(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IdentityClaims:
    sub: str
    kid: str
    exp: datetime
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    tier: Tier = Tier.normal
    product: str | None = None
    product_version: str | None = None


def verify_identity(
    token: str,
    secret_for_kid: Callable[[str], str | None],
    *,
    now: datetime | None = None,
    max_ttl: timedelta = timedelta(hours=24),
    skew: timedelta = timedelta(seconds=60),
) -> IdentityClaims:
    now = now or datetime.now(UTC)
    token = token.strip()
    if not token:
        raise IdentityRejected(ErrorCode.token_missing, "no identity token given")
    if len(token) > MAX_TOKEN_CHARS:
        raise IdentityRejected(ErrorCode.token_malformed, "identity token is too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise IdentityRejected(ErrorCode.token_malformed, "identity token is not a JWT") from exc
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise IdentityRejected(
            ErrorCode.token_alg_not_allowed,
            f"identity token algorithm {alg!r} is not allowed; sign with {ALGORITHM}",
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise IdentityRejected(ErrorCode.token_unknown_kid, "identity token has no key id (kid)")
    secret = secret_for_kid(kid)
    if secret is None:
        raise IdentityRejected(ErrorCode.token_unknown_kid, f"unknown or revoked key id {kid!r}")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            leeway=skew,
            options={"require": ["exp", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise IdentityRejected(ErrorCode.token_expired, "identity token has expired") from exc
    except jwt.InvalidSignatureError as exc:
        raise IdentityRejected(
            ErrorCode.token_bad_signature, "identity token signature does not verify"
        ) from exc
    except jwt.ImmatureSignatureError as exc:
        raise IdentityRejected(
            ErrorCode.token_not_yet_valid, "identity token is not valid yet (check the clock)"
        ) from exc
    except jwt.MissingRequiredClaimError as exc:
        raise IdentityRejected(
            ErrorCode.token_missing_claim, f"identity token lacks the {exc.claim!r} claim"
        ) from exc
    except jwt.PyJWTError as exc:
        raise IdentityRejected(
            ErrorCode.token_malformed, f"identity token rejected: {exc}"
        ) from exc

    exp = datetime.fromtimestamp(_number(claims, "exp"), UTC)
    if exp - now > max_ttl + skew:
        raise IdentityRejected(
            ErrorCode.token_ttl_too_long,
            f"identity token lives too long; exp must be at most "
            f"{max_ttl.total_seconds() / 3600:g} h ahead",
        )
    if "iat" in claims:
        iat = datetime.fromtimestamp(_number(claims, "iat"), UTC)
        if iat - now > skew:
            raise IdentityRejected(
                ErrorCode.token_not_yet_valid,
                "identity token issued in the future (check the clock)",
            )
    values: dict[str, Any] = {}
    for name, limit in CLAIM_LIMITS.items():
        value = claims.get(name)
        if value is None:
            continue
        if (
            not isinstance(value, str)
            or len(value) > limit
            or (name == "sub" and not value.strip())
        ):
            raise IdentityRejected(
                ErrorCode.token_invalid_claim,
                f"claim {name!r} must be a string of at most {limit} characters",
            )
        values[name] = value
    if "sub" not in values:
        raise IdentityRejected(
            ErrorCode.token_missing_claim, "identity token lacks the 'sub' claim"
        )
    tier = claims.get("tier", "normal")
    try:
        values["tier"] = Tier(tier)
    except ValueError as exc:
        raise IdentityRejected(
            ErrorCode.token_invalid_claim, "claim 'tier' must be normal, vip or svip"
        ) from exc
    return IdentityClaims(kid=kid, exp=exp, **values)


def _number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise IdentityRejected(ErrorCode.token_invalid_claim, f"claim {name!r} must be a number")
    return float(value)


def sign_identity(
    secret: str,
    kid: str,
    *,
    sub: str,
    ttl: timedelta = timedelta(hours=2),
    now: datetime | None = None,
    **claims: Any,
) -> str:
    """Sign an identity token the way an ISV's backend does (docs/embedding.md)."""
    now = now or datetime.now(UTC)
    payload = {k: v for k, v in claims.items() if v is not None}
    payload.update(sub=sub, iat=int(now.timestamp()), exp=int((now + ttl).timestamp()))
    return jwt.encode(payload, secret, algorithm=ALGORITHM, headers={"kid": kid})


def active_secret(db: DbSession, kid: str) -> str | None:
    key = db.scalar(select(models.IdentityKey).where(models.IdentityKey.kid == kid))
    if key is None or not key.active:
        return None
    return key.secret


def upsert_customer(db: DbSession, claims: IdentityClaims) -> models.Customer:
    customer = db.scalar(select(models.Customer).where(models.Customer.external_id == claims.sub))
    if customer is None:
        customer = models.Customer(external_id=claims.sub)
        db.add(customer)
    # The host's token is the source of truth for the attributes it carries.
    for name in ("name", "email", "phone", "company", "product", "product_version"):
        value = getattr(claims, name)
        if value is not None:
            setattr(customer, name, value)
    customer.tier = claims.tier.value
    customer.last_seen_at = datetime.now(UTC)
    db.flush()
    return customer


# --- sessions ---------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    session: models.AuthSession


def issue_session(
    db: DbSession,
    subject_type: str,
    subject_id: int,
    *,
    access_ttl: timedelta,
    refresh_ttl: timedelta,
    kid: str | None = None,
) -> IssuedTokens:
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = models.AuthSession(
        subject_type=subject_type,
        subject_id=subject_id,
        access_hash=token_hash(access),
        refresh_hash=token_hash(refresh),
        expires_at=now + access_ttl,
        refresh_expires_at=now + refresh_ttl,
        identity_kid=kid,
    )
    db.add(row)
    db.flush()
    return IssuedTokens(access, refresh, row)


def rotate_session(db: DbSession, refresh_token: str, *, access_ttl: timedelta) -> IssuedTokens:
    """Exchange a refresh token for a new pair; the old pair stops working."""
    row = db.scalar(
        select(models.AuthSession).where(
            models.AuthSession.refresh_hash == token_hash(refresh_token)
        )
    )
    now = datetime.now(UTC)
    if row is None:
        raise IdentityRejected(ErrorCode.session_invalid, "unknown refresh token")
    if row.revoked_at is not None:
        raise IdentityRejected(ErrorCode.session_revoked, "session was signed out")
    if row.refresh_expires_at <= now:
        raise IdentityRejected(ErrorCode.session_expired, "session has expired; sign in again")
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row.access_hash = token_hash(access)
    row.refresh_hash = token_hash(refresh)
    row.expires_at = now + access_ttl
    db.flush()
    return IssuedTokens(access, refresh, row)


def lookup_session(db: DbSession, access_token: str) -> models.AuthSession:
    row = db.scalar(
        select(models.AuthSession).where(models.AuthSession.access_hash == token_hash(access_token))
    )
    if row is None:
        raise IdentityRejected(ErrorCode.session_invalid, "unknown access token")
    if row.revoked_at is not None:
        raise IdentityRejected(ErrorCode.session_revoked, "session was signed out")
    if row.expires_at <= datetime.now(UTC):
        raise IdentityRejected(ErrorCode.session_expired, "access token has expired; refresh it")
    return row
