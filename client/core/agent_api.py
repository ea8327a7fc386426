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
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from client.core.api import ApiClient, ApiError, Progress, _DownloadSink
from protocol.assist import (
    AssistMode,
    AssistNote,
    AssistRedeem,
    AssistRequest,
    AssistSession,
    AssistSessionList,
)
from protocol.models import AgentLogin, Customer, Session
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

__all__ = ["AgentApi", "AssigneeFilter", "CustomerTickets"]

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
        dest = Path(dest)
        self._request(
            "GET",
            f"/conversations/{int(conversation_id)}/attachments/{int(attachment_id)}",
            auth=True,
            sink=_DownloadSink(dest, progress),
        )
        return dest

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

    def get_model(self, path: str, model: type[_M], params: dict[str, Any] | None = None) -> _M:
        """``GET path`` answered by ``model`` (used for the chat endpoints,
        whose models the realtime protocol module defines)."""
        return self._call("GET", path, model, auth=True, params=params)

    def post_model(self, path: str, model: type[_M], payload: Any = None) -> _M:
        return self._call("POST", path, model, auth=True, payload=payload)
