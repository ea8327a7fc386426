"""The console's live connection: the portal's realtime client, taught the
agents' events, bridged into Qt.

:class:`~client.core.realtime.RealtimeClient` already does everything a
connection needs (hello with the access token, heartbeats, reconnecting with
backoff and jitter, refreshing after 4401, resume points, filling gaps from
the REST history). :class:`AgentRealtime` adds what only agents do:

* every service event is also handed to the console as it is (internal notes
  included; the customer client drops them), so the inbox, the transcripts
  and the team board stay live;
* agent commands (``presence``, ``accept``, ``transfer``, ``close``,
  ``to_ticket``, and ``send`` with ``internal``) go out as control events:
  at once when connected, or right after the next ``welcome``.

Internal notes take ``seq`` numbers too; the base client's gap book-keeping
gets them as ordinary messages, so a note never looks like a hole that must
be filled.

:class:`LiveBridge` lives in the GUI thread: the client's callback (on the
loop thread) only emits a queued signal.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

if TYPE_CHECKING:
    from client.core.agent_api import AgentApi
    from client.core.realtime import RealtimeClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AgentMessages:
    """Messages as the service sent them (internal notes included)."""

    messages: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Raw:
    """Any other service event (ack, conversation, presence, error, typing, read)."""

    event: Any


def realtime_available() -> bool:
    """Whether the realtime client module is installed in this build."""
    try:
        import client.core.realtime  # noqa: F401
    except ImportError:
        return False
    return True


class AgentChatService:
    """What the realtime client needs from the REST side, over :class:`AgentApi`."""

    def __init__(self, api: AgentApi) -> None:
        self.api = api

    def access_token(self) -> str | None:
        return self.api.current_access_token()

    def refresh_access_token(self) -> str:
        return self.api.renewed_access_token()

    def messages(self, conversation_id: int, before_seq: int | None, limit: int) -> Any:
        from protocol.realtime import MessagePage

        params: dict[str, Any] = {"limit": limit}
        if before_seq is not None:
            params["before_seq"] = before_seq
        return self.api.get_model(
            f"/conversations/{int(conversation_id)}/messages", MessagePage, params
        )


def make_agent_realtime(
    api: AgentApi, server_url: str, store_path: Path, on_event: Any
) -> RealtimeClient:
    """Build the connection (blocking: imports, opens the local history file).
    Call on a worker; start it from anywhere."""
    from client.core.chatstore import ChatStore
    from client.core.realtime import RealtimeClient
    from protocol.realtime import (
        Accept,
        ChatMessage,
        Close,
        PresenceStatus,
        Send,
        ServerEvent,
        SetPresence,
        ToTicket,
        Transfer,
    )

    class AgentRealtime(RealtimeClient):
        """RealtimeClient plus the agents' events (see the module docstring)."""

        def on_server_event(self, event: ServerEvent) -> None:
            if event.type != "message":
                self.emit(Raw(event))

        def transform_messages(self, messages: list[ChatMessage]) -> list[ChatMessage]:
            if messages:
                self.emit(AgentMessages(tuple(messages)))
            # Notes as plain messages for the base class: its log then sees
            # no hole where a note's seq is.
            return [m.model_copy(update={"internal": False}) if m.internal else m for m in messages]

        def command(self, event: Any) -> None:
            self.send_control(event)

        def agent_send(
            self,
            conversation_id: int,
            text: str,
            *,
            internal: bool = False,
            attachment_ids: Iterable[int] = (),
        ) -> str:
            client_id = uuid.uuid4().hex
            self.command(
                Send(
                    client_id=client_id,
                    conversation_id=conversation_id,
                    text=text,
                    attachment_ids=list(attachment_ids),
                    internal=internal,
                )
            )
            return client_id

        def presence(self, status: str, capacity: int) -> None:
            self.command(SetPresence(status=PresenceStatus(status), capacity=capacity))

        def accept(self, conversation_id: int) -> None:
            self.command(Accept(conversation_id=conversation_id))

        def transfer(self, conversation_id: int, agent_id: int) -> None:
            self.command(Transfer(conversation_id=conversation_id, agent_id=agent_id))

        def close_conversation(self, conversation_id: int) -> None:
            self.command(Close(conversation_id=conversation_id))

        def to_ticket(self, conversation_id: int) -> None:
            self.command(ToTicket(conversation_id=conversation_id))

    store = ChatStore(store_path)
    return AgentRealtime(server_url, AgentChatService(api), store, on_event)


class LiveBridge(QObject):
    """Carries the realtime client's events to the GUI thread.

    Signals:
        received(object): one event (the client's dataclasses, :class:`AgentMessages`
            or :class:`Raw`), delivered in the GUI thread in order.
    """

    received = Signal(object)
    _incoming = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.client: Any = None
        self._incoming.connect(self._relay, Qt.ConnectionType.QueuedConnection)

    def post(self, event: object) -> None:
        """The realtime client's ``on_event`` (called on its loop thread)."""
        # RuntimeError: the bridge is gone (the console is closing).
        with contextlib.suppress(RuntimeError):
            self._incoming.emit(event)

    @Slot(object)
    def _relay(self, event: object) -> None:
        self.received.emit(event)

    @property
    def connected(self) -> bool:
        return self.client is not None

    # Commands: no-ops until the client exists, so widgets need not check.

    def send(
        self, conversation_id: int, text: str, internal: bool, attachment_ids: list[int]
    ) -> str | None:
        if self.client is None:
            return None
        client_id: str = self.client.agent_send(
            conversation_id, text, internal=internal, attachment_ids=attachment_ids
        )
        return client_id

    def presence(self, status: str, capacity: int) -> None:
        if self.client is not None:
            self.client.presence(status, capacity)

    def accept(self, conversation_id: int) -> None:
        if self.client is not None:
            self.client.accept(conversation_id)

    def transfer(self, conversation_id: int, agent_id: int) -> None:
        if self.client is not None:
            self.client.transfer(conversation_id, agent_id)

    def close_conversation(self, conversation_id: int) -> None:
        if self.client is not None:
            self.client.close_conversation(conversation_id)

    def to_ticket(self, conversation_id: int) -> None:
        if self.client is not None:
            self.client.to_ticket(conversation_id)

    def mark_read(self, conversation_id: int, seq: int) -> None:
        if self.client is not None:
            self.client.mark_read(conversation_id, seq)

    def set_typing(self, conversation_id: int, typing: bool) -> None:
        if self.client is not None:
            self.client.set_typing(conversation_id, typing)

    def kick(self) -> None:
        if self.client is not None:
            self.client.kick()

    def stop(self, timeout: float = 3.0) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.stop(timeout)
