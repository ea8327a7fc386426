"""HTTP client of the agents' side of the service's REST API (v1).

:class:`AgentApi` is an :class:`~client.core.api.ApiClient` with the agent
endpoints added: sign-in with e-mail and password, the ticket queue and
ticket actions, the SLA table, and (once the service has them) the chat
history, customer panel and presence endpoints. It shares the customer
client's whole request machinery: token refresh on ``session_expired``,
error codes, size limits, streamed uploads and atomic downloads.

Blocking and thread-safe like ``ApiClient``: call it from worker threads only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from client.core.api import ApiClient, ApiError, Progress
from protocol.admin import (
    AgentCreate,
    AgentCreated,
    AgentUpdate,
    Disabled,
    Group,
    GroupIn,
    GroupList,
    GroupUpdate,
    MyAccess,
    PasswordReset,
    PermissionCatalogue,
    PermissionChange,
    PermissionChanges,
    SignedOut,
    TeamAgent,
    TeamAgentList,
)
from protocol.assist import (
    AssistMode,
    AssistNote,
    AssistRedeem,
    AssistRequest,
    AssistSession,
    AssistSessionList,
)
from protocol.models import AgentLogin, Customer, Session
from protocol.reports import (
    Bucket,
    Dashboard,
    QualityScore,
    QualityScoreList,
    ReportTable,
    Rubric,
    RubricIn,
    RubricList,
    ScoreIn,
)
from protocol.tickets import (
    AssignRequest,
    CommentCreate,
    Priority,
    SlaTable,
    StatusChange,
    Ticket,
    TicketList,
    TicketStatus,
)

__all__ = [
    "AgentApi",
    "AssigneeFilter",
    "AuditEntry",
    "AuditPage",
    "AuditQuery",
    "CustomerTickets",
    "ReportQuery",
]

_M = TypeVar("_M", bound=BaseModel)

AssigneeFilter = Literal["me", "none"] | int | None
"""Whose tickets: ``"me"``, ``"none"`` (unassigned), an agent id, or None (everyone)."""


class CustomerTickets(BaseModel):
    """What the console shows about a ticket's requester: identity and tickets."""

    model_config = ConfigDict(frozen=True)

    customer: Customer
    tickets: TicketList
    extra: dict[str, Any] = Field(default_factory=dict)


class AgentApi(ApiClient):
    """Client of one HelpBridge service for a signed-in support agent."""

    # --- session ------------------------------------------------------------

    def login(self, email: str, password: str) -> Session:
        """``POST /agent/login``; the session is adopted like any refreshed one.

        Refused sign-ins raise :class:`~client.core.api.ApiError` with code
        ``bad_credentials`` or ``account_disabled``; the password is only
        sent, never kept.
        """
        try:
            body = AgentLogin(email=email.strip(), password=password)
        except ValueError:
            # Empty or oversized fields: the same answer the service would give.
            raise ApiError("bad_credentials", "e-mail and password are required") from None
        session = self._call(
            "POST", "/agent/login", Session, payload=body.model_dump(mode="json"), auth=False
        )
        self._adopt(session)
        return session

    def current_access_token(self) -> str | None:
        """The access token in use now (the realtime connection's hello sends it)."""
        with self._token_lock:
            return self._tokens.access

    def renewed_access_token(self) -> str:
        """Refresh now and return the new access token (after the realtime
        connection was closed as unauthorised)."""
        return self.refresh().access_token

    # --- tickets ------------------------------------------------------------

    def queue(
        self,
        *,
        status: TicketStatus | Sequence[TicketStatus] | None = None,
        priority: Priority | Sequence[Priority] | None = None,
        assignee: AssigneeFilter = None,
        breached: bool | None = None,
        requester_id: int | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> TicketList:
        """``GET /agent/tickets``: every ticket matching all given filters,
        most recently updated first."""
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            params["status"] = [TicketStatus(s).value for s in statuses]
        if priority is not None:
            priorities = [priority] if isinstance(priority, str) else list(priority)
            params["priority"] = [Priority(p).value for p in priorities]
        if assignee is not None:
            params["assignee"] = assignee if isinstance(assignee, str) else str(int(assignee))
        if breached is not None:
            params["breached"] = "true" if breached else "false"
        if requester_id is not None:
            params["requester_id"] = int(requester_id)
        return self._call("GET", "/agent/tickets", TicketList, auth=True, params=params)

    def agent_ticket(self, ticket_id: int) -> Ticket:
        """One ticket with its whole timeline, internal notes included."""
        return self._call("GET", f"/agent/tickets/{int(ticket_id)}", Ticket, auth=True)

    def agent_reply(self, ticket_id: int, comment: CommentCreate) -> Ticket:
        """A reply to the customer, or an internal note (``comment.internal``).
        The same ``client_key`` again stores nothing new."""
        return self._call(
            "POST",
            f"/agent/tickets/{int(ticket_id)}/comments",
            Ticket,
            auth=True,
            payload=comment.model_dump(mode="json"),
        )

    def set_status(self, ticket_id: int, status: TicketStatus, note: str = "") -> Ticket:
        body = StatusChange(status=TicketStatus(status), note=note)
        return self._call(
            "POST",
            f"/agent/tickets/{int(ticket_id)}/status",
            Ticket,
            auth=True,
            payload=body.model_dump(mode="json"),
        )

    def assign(self, ticket_id: int, agent_id: int | None = None, *, auto: bool = False) -> Ticket:
        """Assign to ``agent_id``, to the least-loaded agent (``auto``), or to
        nobody (neither)."""
        body = AssignRequest(agent_id=agent_id, auto=auto)
        return self._call(
            "POST",
            f"/agent/tickets/{int(ticket_id)}/assign",
            Ticket,
            auth=True,
            payload=body.model_dump(mode="json"),
        )

    def download_conversation_attachment(
        self,
        conversation_id: int,
        attachment_id: int,
        dest: Path,
        *,
        progress: Progress | None = None,
    ) -> Path:
        """Save a file sent in a chat to ``dest`` (whole or not at all)."""
        return self.download(
            f"/conversations/{int(conversation_id)}/attachments/{int(attachment_id)}",
            dest,
            progress=progress,
        )

    def sla(self) -> SlaTable:
        return self._call("GET", "/agent/sla", SlaTable, auth=True)

    def customer_tickets(self, customer: Customer, *, per_page: int = 20) -> CustomerTickets:
        """A requester's tickets for the customer panel (identity already known)."""
        found = self.queue(requester_id=customer.id, per_page=per_page)
        return CustomerTickets(customer=customer, tickets=found)

    # --- remote assist (protocol.assist) -------------------------------------

    def assist_request(
        self,
        *,
        conversation_id: int | None = None,
        ticket_id: int | None = None,
        mode: AssistMode | str = AssistMode.view,
    ) -> AssistSession:
        """Ask the customer of a conversation or a ticket (exactly one) for
        remote assist; the session starts as ``requested``."""
        if (conversation_id is None) == (ticket_id is None):
            raise ApiError("invalid_request", "a conversation or a ticket, exactly one")
        body = AssistRequest(
            conversation_id=conversation_id, ticket_id=ticket_id, mode=AssistMode(mode)
        )
        return self._call(
            "POST",
            "/assist/requests",
            AssistSession,
            auth=True,
            payload=body.model_dump(mode="json"),
        )

    def assist_redeem(self, code: str, mode: AssistMode | str = AssistMode.view) -> AssistSession:
        """The 8-digit code a customer read out. A wrong, used or expired
        code is ``not_found``; too many wrong ones ``rate_limited``."""
        digits = "".join(ch for ch in code if not ch.isspace() and ch != "-")
        try:
            body = AssistRedeem(code=digits, mode=AssistMode(mode))
        except ValueError:
            raise ApiError("invalid_request", "the code is 8 digits") from None
        return self._call(
            "POST", "/assist/redeem", AssistSession, auth=True, payload=body.model_dump(mode="json")
        )

    def assist_session(self, session_id: int) -> AssistSession:
        return self._call("GET", f"/assist/{int(session_id)}", AssistSession, auth=True)

    def assist_sessions(self) -> AssistSessionList:
        """This agent's sessions that are not over yet."""
        return self._call("GET", "/assist/sessions", AssistSessionList, auth=True)

    def assist_request_control(self, session_id: int) -> AssistSession:
        """Ask the customer for control (a second consent)."""
        return self._call(
            "POST", f"/assist/{int(session_id)}/control", AssistSession, auth=True, payload={}
        )

    def assist_end(self, session_id: int) -> AssistSession:
        return self._call("POST", f"/assist/{int(session_id)}/end", AssistSession, auth=True)

    def assist_note(self, session_id: int, text: str) -> None:
        """An internal note on the session's conversation or ticket."""
        try:
            body = AssistNote(text=text)
        except ValueError:
            raise ApiError("invalid_request", "the note is empty or too long") from None
        self._request(
            "POST",
            f"/assist/{int(session_id)}/note",
            auth=True,
            payload=body.model_dump(mode="json"),
        )

    # --- raw access for endpoints whose models live elsewhere ------------------
    # (GET: ApiClient.get_model and ApiClient.download)

    def post_model(self, path: str, model: type[_M], payload: Any = None) -> _M:
        return self._call("POST", path, model, auth=True, payload=payload)

    # --- supervisors: reports, the team, the audit log (protocol.reports, protocol.admin) ---

    def my_access(self) -> MyAccess:
        """``GET /team/me``: what the signed-in agent may do (the console shows
        its tools by these)."""
        return self._call("GET", "/team/me", MyAccess, auth=True)

    def permission_catalogue(self) -> PermissionCatalogue:
        return self._call("GET", "/team/permissions", PermissionCatalogue, auth=True)

    def dashboard(self, query: ReportQuery) -> Dashboard:
        """``GET /reports/dashboard`` for a period and filters (products,
        modules, versions, categories, groups, agents)."""
        return self._call("GET", "/reports/dashboard", Dashboard, auth=True, params=query.params())

    def download_report(self, table: ReportTable | str, query: ReportQuery, dest: Path) -> Path:
        """One dashboard table as CSV (``reports.read`` and ``export``), saved
        to ``dest`` whole or not at all."""
        name = ReportTable(table).value
        return self.download(f"/reports/{name}.csv", dest, params=query.params())

    def team_agents(self) -> TeamAgentList:
        return self._call("GET", "/team/agents", TeamAgentList, auth=True)

    def create_agent(self, body: AgentCreate) -> AgentCreated:
        return self._call(
            "POST", "/team/agents", AgentCreated, auth=True, payload=body.model_dump(mode="json")
        )

    def update_agent(self, agent_id: int, body: AgentUpdate) -> TeamAgent:
        """``PATCH``: only the fields set on ``body`` (``max_chats=None`` set
        explicitly returns to the default cap)."""
        return self._call(
            "PATCH",
            f"/team/agents/{int(agent_id)}",
            TeamAgent,
            auth=True,
            payload=body.model_dump(mode="json", exclude_unset=True),
        )

    def change_permissions(self, agent_id: int, changes: dict[str, bool | None]) -> TeamAgent:
        body = PermissionChanges(
            changes=[PermissionChange(permission=k, allowed=v) for k, v in changes.items()]
        )
        return self._call(
            "PUT",
            f"/team/agents/{int(agent_id)}/permissions",
            TeamAgent,
            auth=True,
            payload=body.model_dump(mode="json"),
        )

    def disable_agent(self, agent_id: int) -> Disabled:
        return self._call("POST", f"/team/agents/{int(agent_id)}/disable", Disabled, auth=True)

    def enable_agent(self, agent_id: int) -> TeamAgent:
        return self._call("POST", f"/team/agents/{int(agent_id)}/enable", TeamAgent, auth=True)

    def sign_out_agent(self, agent_id: int) -> SignedOut:
        return self._call("POST", f"/team/agents/{int(agent_id)}/sign-out", SignedOut, auth=True)

    def reset_password(self, agent_id: int) -> PasswordReset:
        """A one-time password (shown once); the agent's sessions end."""
        return self._call(
            "POST", f"/team/agents/{int(agent_id)}/password-reset", PasswordReset, auth=True
        )

    def groups(self) -> GroupList:
        return self._call("GET", "/team/groups", GroupList, auth=True)

    def create_group(self, body: GroupIn) -> Group:
        return self._call(
            "POST", "/team/groups", Group, auth=True, payload=body.model_dump(mode="json")
        )

    def update_group(self, group_id: int, body: GroupUpdate) -> Group:
        return self._call(
            "PATCH",
            f"/team/groups/{int(group_id)}",
            Group,
            auth=True,
            payload=body.model_dump(mode="json", exclude_unset=True),
        )

    def set_group_member(self, group_id: int, agent_id: int, member: bool) -> Group:
        return self._call(
            "PUT" if member else "DELETE",
            f"/team/groups/{int(group_id)}/members/{int(agent_id)}",
            Group,
            auth=True,
        )

    def audit_log(self, query: AuditQuery, *, page: int = 1, per_page: int = 100) -> AuditPage:
        """``GET /admin/audit`` (``audit.read``), newest first."""
        params = {**query.params(), "page": page, "per_page": per_page}
        return self._call("GET", "/admin/audit", AuditPage, auth=True, params=params)

    def download_audit_log(self, query: AuditQuery, dest: Path) -> Path:
        """The filtered log as CSV (``audit.read`` and ``export``)."""
        return self.download("/admin/audit.csv", dest, params=query.params())

    def rubrics(self, *, include_inactive: bool = False) -> RubricList:
        params = {"include_inactive": "true"} if include_inactive else None
        return self._call("GET", "/reports/quality/rubrics", RubricList, auth=True, params=params)

    def save_rubric(self, body: RubricIn, rubric_id: int | None = None) -> Rubric:
        """Create (``rubric_id`` None) or replace a rubric (``conversations.score``)."""
        path = "/reports/quality/rubrics"
        if rubric_id is not None:
            path += f"/{int(rubric_id)}"
        return self._call(
            "POST" if rubric_id is None else "PUT",
            path,
            Rubric,
            auth=True,
            payload=body.model_dump(mode="json"),
        )

    def score_conversation(self, conversation_id: int, body: ScoreIn) -> QualityScore:
        """Score a closed conversation (again: the reviewer's score is revised)."""
        return self._call(
            "PUT",
            f"/reports/quality/conversations/{int(conversation_id)}/score",
            QualityScore,
            auth=True,
            payload=body.model_dump(mode="json"),
        )

    def quality_scores(
        self,
        *,
        conversation_id: int | None = None,
        agent_id: int | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> QualityScoreList:
        params: dict[str, Any] = {"page": page, "per_page": per_page}
        if conversation_id is not None:
            params["conversation_id"] = int(conversation_id)
        if agent_id is not None:
            params["agent_id"] = int(agent_id)
        return self._call(
            "GET", "/reports/quality/scores", QualityScoreList, auth=True, params=params
        )


class ReportQuery(BaseModel):
    """A dashboard's period and filters, as the report routes take them."""

    model_config = ConfigDict(frozen=True)

    start: datetime | date
    end: datetime | date
    """Exclusive; bare dates are midnights in ``tz``."""
    tz: str = "UTC"
    bucket: Bucket = Bucket.day
    product: tuple[str, ...] = ()
    module: tuple[str, ...] = ()
    version: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    group: tuple[int, ...] = ()
    """Group ids: the whole report narrowed to those groups' tickets and
    their members' conversations."""
    agent: tuple[int, ...] = ()
    """Agent ids: the tickets and conversations assigned to them."""
    top: int = 10

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "tz": self.tz,
            "bucket": self.bucket.value,
            "top": self.top,
        }
        for name in ("product", "module", "version", "category", "group", "agent"):
            values = getattr(self, name)
            if values:
                out[name] = list(values)
        return out


class AuditQuery(BaseModel):
    """Filters of the audit log: ``action`` is a prefix (``agent.`` finds
    every agent change), ``actor`` a part of the actor's name."""

    model_config = ConfigDict(frozen=True)

    action: str = ""
    actor: str = ""
    outcome: Literal["", "ok", "denied", "failed"] = ""
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.action.strip():
            out["action"] = self.action.strip()
        if self.actor.strip():
            out["actor"] = self.actor.strip()
        if self.outcome:
            out["outcome"] = self.outcome
        if self.since is not None:
            out["since"] = self.since.isoformat()
        if self.until is not None:
            out["until"] = self.until.isoformat()
        return out


class AuditEntry(BaseModel):
    """One audit log entry (``GET /admin/audit``)."""

    id: int
    at: datetime
    actor_type: str
    actor_id: int | None
    actor_name: str
    action: str
    target: str
    outcome: str
    source: str
    detail: dict[str, str]


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    total: int
    page: int
    per_page: int
