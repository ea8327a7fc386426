"""REST bodies of the vendor service, version 1.

Conventions:

* Times are timezone-aware UTC ``datetime`` values (ISO 8601 on the wire).
* Errors are always ``ErrorBody``: ``{"error": {"code": ..., "message": ...}}``
  with a stable machine-readable ``code`` (see ``ErrorCode``) that the
  portal maps to a translated message, and an English ``message`` for logs.
* Highlights are ``(start, end)`` character offsets into the plain text they
  accompany, never HTML, so no client ever has to trust markup from the
  service.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Locale = Literal["zh_CN", "en"]
LOCALES: tuple[Locale, ...] = ("zh_CN", "en")

MAX_QUERY_CHARS = 200
"""Queries longer than this are cut to this length by the service (not refused)."""


class Tier(StrEnum):
    normal = "normal"
    vip = "vip"
    svip = "svip"


class Role(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


class ErrorCode(StrEnum):
    """Stable reasons the service gives for refusing a request."""

    # Identity tokens from the host (HTTP 401).
    token_missing = "token_missing"
    token_malformed = "token_malformed"
    token_alg_not_allowed = "token_alg_not_allowed"
    token_unknown_kid = "token_unknown_kid"
    token_bad_signature = "token_bad_signature"
    token_expired = "token_expired"
    token_not_yet_valid = "token_not_yet_valid"
    token_ttl_too_long = "token_ttl_too_long"
    token_missing_claim = "token_missing_claim"
    token_invalid_claim = "token_invalid_claim"
    # Sessions (HTTP 401).
    session_missing = "session_missing"
    session_invalid = "session_invalid"
    session_expired = "session_expired"
    session_revoked = "session_revoked"
    # Agents.
    bad_credentials = "bad_credentials"
    account_disabled = "account_disabled"
    forbidden = "forbidden"
    # API tokens of the ISV's systems (HTTP 401).
    api_token_invalid = "api_token_invalid"
    api_token_revoked = "api_token_revoked"
    api_token_expired = "api_token_expired"
    # General.
    not_found = "not_found"
    invalid_request = "invalid_request"
    conflict = "conflict"
    too_large = "too_large"
    unsupported = "unsupported"
    rate_limited = "rate_limited"
    internal = "internal"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ErrorDetail(_Model):
    code: ErrorCode
    message: str


class ErrorBody(_Model):
    error: ErrorDetail


class Health(_Model):
    status: Literal["ok"] = "ok"
    version: str
    protocol: int


# --- identity and sessions -------------------------------------------------


class IdentityExchange(_Model):
    """The host's signed JWT, exchanged for a HelpBridge session."""

    token: str
    """May be empty or oversized: the service answers 401 with a reason code."""


class RefreshRequest(_Model):
    refresh_token: str = Field(min_length=1, max_length=512)


class Customer(_Model):
    id: int
    external_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    tier: Tier = Tier.normal
    product: str | None = None
    product_version: str | None = None


class Agent(_Model):
    id: int
    email: str
    name: str
    role: Role
    active: bool = True


class Session(_Model):
    """A revocable, expiring session: the access token authorises requests
    (``Authorization: Bearer ...``); the refresh token gets a new pair."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    refresh_expires_at: datetime
    customer: Customer | None = None
    agent: Agent | None = None


class AgentLogin(_Model):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


# --- knowledge base --------------------------------------------------------


class ArticleIn(_Model):
    locale: Locale
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(max_length=200_000)
    category: str = Field(default="", max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=50)
    product: str = Field(default="", max_length=100)
    published: bool = True
    slug: str | None = Field(default=None, max_length=200)


class ArticleUpdate(_Model):
    locale: Locale | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    body: str | None = Field(default=None, max_length=200_000)
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = Field(default=None, max_length=50)
    product: str | None = Field(default=None, max_length=100)
    published: bool | None = None


class Article(_Model):
    id: int
    slug: str | None = None
    locale: Locale
    title: str
    body: str
    category: str
    tags: list[str]
    product: str
    published: bool
    updated_at: datetime


Span = tuple[int, int]


class SearchHit(_Model):
    id: int
    locale: Locale
    title: str
    title_highlights: list[Span] = Field(default_factory=list)
    snippet: str
    snippet_highlights: list[Span] = Field(default_factory=list)
    category: str
    product: str
    tags: list[str] = Field(default_factory=list)
    updated_at: datetime
    score: float


class SearchResults(_Model):
    query: str
    total: int
    page: int
    per_page: int
    results: list[SearchHit]
    corrected_query: str | None = None
    """Set when no term matched as typed and a one-edit correction was used."""


class Category(_Model):
    name: str
    locale: Locale
    count: int


class CategoryList(_Model):
    categories: list[Category]
