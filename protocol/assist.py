"""Remote assist: the session resource, its REST bodies and the stream, version 1.

A remote-assist *session* joins one agent and one customer. It is created by
the agent, either for a customer they are already talking to (a conversation
or a ticket: :class:`AssistRequest`) or from the 8-digit one-time code the
customer reads out (:class:`AssistRedeem`, after the customer made one with
``POST /assist/codes``). Nothing is captured until the customer allows it.

Life cycle (:class:`AssistStatus`)::

    requested --allow--> active <--pause/resume--> paused
        |                  |
        +--deny/30 s-->  denied / expired
                           +--end (either side, network gone 60 s, idle,
                              agent disabled)--> ended

* The customer's portal answers a request with :class:`Consent` within
  :data:`CONSENT_TIMEOUT_S` (its dialog denies by itself then); the service
  expires an unanswered request a little later (:data:`EXPIRE_AFTER_S`).
* Allow grants **view only**. Control is a second consent: the agent asks
  (:class:`ControlRequest`, or ``mode=control`` in the first request), the
  session shows ``control_requested``, and the customer answers with
  :class:`ControlConsent`. The customer may take control back at any time
  (``ControlConsent(allow=False)``: "Stop control").
* Text clipboard both ways only while ``clipboard`` is true (the customer's
  choice, :class:`ClipboardConsent`).
* Every change is pushed to both parties over the realtime websocket as an
  ``assist`` event (``protocol.realtime.AssistEvent``) holding the whole
  :class:`AssistSession`, and can be read with ``GET /assist/{id}``.

The stream
----------
``GET {ASSIST_PREFIX}/{id}/stream`` is a websocket (subprotocol
:data:`STREAM_SUBPROTOCOL`, as noVNC and websockify use) authenticated with
the usual ``Authorization: Bearer`` header. The customer's portal connects as
the RFB *server*, the agent's console (or its VNC bridge) as the RFB
*client*. The service pairs the two sockets of an ``active`` or ``paused``
session and copies binary messages between them without parsing them: the
bytes are RFB 3.8 (``docs/remote-assist-protocol.md``), cut anywhere. Until
both are there, the first one waits. If one side drops, the service closes
the other with :attr:`StreamClose.peer_gone`; both reconnect and start a new
RFB handshake. A side that is not back within :data:`RECONNECT_GRACE_S` ends
the session (``end_reason=network``). The service enforces a per-session
bandwidth cap (it stops reading while over it) and ends a session with no
bytes either way for its idle timeout.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ASSIST_PREFIX = "/api/v1/assist"
STREAM_SUBPROTOCOL = "binary"

CONSENT_TIMEOUT_S = 30.0
"""The customer's consent dialog answers Deny by itself after this."""
EXPIRE_AFTER_S = 40.0
"""The service marks a request nobody answered ``expired`` after this."""
RECONNECT_GRACE_S = 60.0
"""A stream side gone this long ends the session (``network``)."""
CODE_DIGITS = 8
CODE_TTL_S = 600.0
"""A one-time code is valid this long, and for one use."""
REDEEM_ATTEMPTS = 5
REDEEM_WINDOW_S = 600.0
"""An agent may try this many wrong codes per window; then 429."""
MAX_NOTE_CHARS = 10_000
MAX_STREAM_MESSAGE = 64 * 1024
"""The largest binary message a side sends on the stream; the service refuses
bigger ones (close 1009). RFB bytes may be cut anywhere, so a big update goes
out as several messages."""

CodeText = Annotated[str, Field(pattern=r"^[0-9]{8}$")]


class StreamClose(IntEnum):
    """Close codes of the stream websocket."""

    normal = 1000
    unauthorized = 4401
    """No or bad access token."""
    forbidden = 4403
    """Not a party to this session."""
    not_found = 4404
    not_active = 4409
    """The session is not (or no longer) active: stop, do not reconnect."""
    replaced = 4410
    """A newer connection of the same side took over."""
    idle = 4408
    peer_gone = 4499
    """The other side dropped: reconnect and start RFB again."""


class AssistMode(StrEnum):
    view = "view"
    control = "control"


class AssistStatus(StrEnum):
    requested = "requested"
    active = "active"
    paused = "paused"
    denied = "denied"
    expired = "expired"
    ended = "ended"

    @property
    def live(self) -> bool:
        """Streaming is allowed (the relay pairs sockets)."""
        return self in (AssistStatus.active, AssistStatus.paused)

    @property
    def final(self) -> bool:
        return self in (AssistStatus.denied, AssistStatus.expired, AssistStatus.ended)


class EndReason(StrEnum):
    customer = "customer"
    agent = "agent"
    network = "network"
    idle = "idle"
    agent_disabled = "agent_disabled"
    service = "service"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AssistParty(_Out):
    id: int
    name: str
    company: str = ""
    """For the agent: the vendor's name as the service knows it (verified,
    not typed by the agent)."""


class AssistSession(_Out):
    id: int
    status: AssistStatus
    mode: AssistMode = AssistMode.view
    """What the customer has granted now."""
    requested_mode: AssistMode = AssistMode.view
    """What the agent asked for in the request."""
    control_requested: bool = False
    """The agent is waiting for the customer's answer to a control request."""
    clipboard: bool = False
    agent: AssistParty
    customer: AssistParty
    conversation_id: int | None = None
    ticket_id: int | None = None
    created_at: datetime
    consent_deadline: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    bytes_to_agent: int = 0
    bytes_to_customer: int = 0
    agent_connected: bool = False
    customer_connected: bool = False


class AssistRequest(_In):
    """Agent: ask the customer of a conversation or a ticket (exactly one)."""

    conversation_id: int | None = Field(default=None, ge=1)
    ticket_id: int | None = Field(default=None, ge=1)
    mode: AssistMode = AssistMode.view


class AssistCode(_Out):
    code: str
    expires_at: datetime


class AssistRedeem(_In):
    """Agent: the code the customer read out."""

    code: CodeText
    mode: AssistMode = AssistMode.view


class Consent(_In):
    """Customer: the answer to a request. ``timed_out``: the dialog ran out."""

    allow: bool
    timed_out: bool = False


class ControlRequest(_In):
    """Agent: ask for control of an active session."""


class ControlConsent(_In):
    """Customer: grant control, refuse it, or take it back."""

    allow: bool


class ClipboardConsent(_In):
    allow: bool


class Pause(_In):
    """Customer: pause (nothing is captured or sent) or resume."""

    paused: bool


class AssistNote(_In):
    """Agent: a note saved to the session's conversation or ticket as an
    internal note."""

    text: Annotated[str, Field(min_length=1, max_length=MAX_NOTE_CHARS)]


class AssistSessionList(_Out):
    sessions: list[AssistSession]
