"""REST bodies of the team and integration routes (version 1).

``/api/v1/team/...``: the signed-in agent's permissions, groups, managing
agents (grants, chat caps, disable, sign-out, password reset).
``/api/v1/admin/api-tokens``, ``/api/v1/admin/webhooks``: administrators'
integration settings. ``/api/v1/integration/...``: called by the ISV's
systems with an API token (``Authorization: Bearer hbt_...``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from protocol.models import Agent, Role

GroupKind = Literal["product", "region", "skill"]
WebhookEvent = Literal["ticket.created", "ticket.updated", "conversation.closed", "csat.received"]
TokenScope = Literal["customers.read", "customers.write"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- permissions and the signed-in agent --------------------------------------------


class PermissionInfo(_Model):
    name: str
    description: str
    roles: list[Role]
    """Roles that hold it by default (administrators hold everything)."""
    supervisor_grantable: bool


class PermissionCatalogue(_Model):
    permissions: list[PermissionInfo]


class GroupRef(_Model):
    id: int
    name: str


class MyAccess(_Model):
    agent: Agent
    permissions: list[str]
    groups: list[GroupRef]
    max_chats: int


class PasswordChange(_Model):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


# --- agents ---------------------------------------------------------------------------


class Grant(_Model):
    permission: str
    allowed: bool


class TeamAgent(_Model):
    id: int
    email: str
    name: str
    role: Role
    active: bool
    groups: list[GroupRef]
    permissions: list[str]
    """Effective: role defaults with grants applied."""
    grants: list[Grant]
    """This agent's own differences from the role defaults."""
    max_chats: int | None
    """The cap a supervisor set (None: the default)."""
    chat_capacity: int
    """What the chat router uses now (0 when disabled or not taking chats)."""


class TeamAgentList(_Model):
    agents: list[TeamAgent]


class AgentCreate(_Model):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    role: Role = Role.agent
    group_ids: list[int] = Field(default_factory=list, max_length=50)


class AgentCreated(_Model):
    agent: TeamAgent
    password: str
    """A one-time password, shown this once."""


class AgentUpdate(_Model):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    max_chats: int | None = Field(default=None, ge=0, le=50)
    """Set explicitly to null to return to the default cap."""


class PermissionChange(_Model):
    permission: str = Field(min_length=1, max_length=60)
    allowed: bool | None
    """True grants, False takes away, None returns to the role's default."""


class PermissionChanges(_Model):
    changes: list[PermissionChange] = Field(min_length=1, max_length=50)


class SignedOut(_Model):
    sessions: int


class Disabled(_Model):
    agent: TeamAgent
    sessions: int
    """Sessions ended."""
    tickets_released: int
    """Open tickets returned to the queue."""


class PasswordReset(_Model):
    password: str
    """A one-time password, shown this once; the agent's sessions ended."""


# --- groups ---------------------------------------------------------------------------


class GroupIn(_Model):
    name: str = Field(min_length=1, max_length=100)
    kind: GroupKind = "product"
    description: str = Field(default="", max_length=500)
    products: list[str] = Field(default_factory=list, max_length=100)


class GroupUpdate(_Model):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: GroupKind | None = None
    description: str | None = Field(default=None, max_length=500)
    products: list[str] | None = Field(default=None, max_length=100)


class Group(_Model):
    id: int
    name: str
    kind: str
    description: str
    products: list[str]
    member_ids: list[int]


class GroupList(_Model):
    groups: list[Group]


# --- customers' CRM attributes ------------------------------------------------------------

ExtraValue = str | int | float | bool | None


class CustomerAttributesIn(_Model):
    """What the ISV's CRM knows; a PUT replaces all of it."""

    contract: str | None = Field(default=None, max_length=200)
    service_level: str | None = Field(default=None, max_length=100)
    products_owned: list[str] = Field(default_factory=list, max_length=100)
    extra: dict[str, ExtraValue] = Field(default_factory=dict, max_length=50)
    """Free-form key/values (at most 50 keys of at most 64 characters; text
    values of at most 1,000 characters)."""


class CustomerAttributes(_Model):
    customer_id: int
    external_id: str
    contract: str | None = None
    service_level: str | None = None
    products_owned: list[str] = Field(default_factory=list)
    extra: dict[str, ExtraValue] = Field(default_factory=dict)
    updated_at: datetime | None = None


# --- API tokens ------------------------------------------------------------------------


class ApiTokenIn(_Model):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[TokenScope] = Field(min_length=1, max_length=10)
    expires_at: datetime | None = None


class ApiTokenInfo(_Model):
    id: int
    name: str
    prefix: str
    """The token's first characters, to tell tokens apart."""
    scopes: list[str]
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiTokenCreated(_Model):
    info: ApiTokenInfo
    token: str
    """Shown this once; only its hash is stored."""


class ApiTokenList(_Model):
    tokens: list[ApiTokenInfo]


# --- webhooks ------------------------------------------------------------------------------


class WebhookIn(_Model):
    url: str = Field(min_length=1, max_length=2000)
    events: list[WebhookEvent] = Field(min_length=1, max_length=10)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    """Generated (and shown once) when not given."""
    description: str = Field(default="", max_length=200)
    active: bool = True


class WebhookUpdate(_Model):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[WebhookEvent] | None = Field(default=None, min_length=1, max_length=10)
    description: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class Webhook(_Model):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: datetime
    created_by: str
    pending: int
    failed: int


class WebhookCreated(_Model):
    webhook: Webhook
    secret: str
    """The signing secret, shown this once."""


class WebhookList(_Model):
    webhooks: list[Webhook]


class WebhookAttempt(_Model):
    number: int
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class WebhookDelivery(_Model):
    id: int
    event: str
    event_id: str
    status: Literal["pending", "delivered", "failed"]
    attempts: list[WebhookAttempt]
    next_attempt_at: datetime | None
    created_at: datetime
    finished_at: datetime | None


class WebhookDeliveryList(_Model):
    deliveries: list[WebhookDelivery]
    total: int
