"""The console's live chat against a real service: the inbox shows waiting and
assigned conversations, accepting, a reply reaches the customer's websocket
and an internal note does not, closing and turning a chat into a ticket, the
supervisors' board."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from websockets.sync.client import ClientConnection, connect

from client.core.realtime import realtime_url
from protocol.models import Role
from protocol.realtime import (
    Handoff,
    Hello,
    PresenceStatus,
    Send,
    SetPresence,
    Typing,
    encode,
)
from tests.integration.test_agent_console import (
    ConsoleHarness,
    CustomerClient,
    harness,  # noqa: F401 - fixture
    memory_keyring,  # noqa: F401 - fixture
    new_agent,
    open_console,
)
from tests.servers import LiveServer

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


class Socket:
    """A realtime websocket with every frame it received kept in order."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self._stack = contextlib.ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(realtime_url(server.url), open_timeout=10)
        )
        self.ws.send(encode(Hello(token=token)))
        self.frames: list[dict[str, Any]] = []
        self.welcome = self.recv_until(lambda f: f["type"] == "welcome")

    def recv_until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        for frame in self.frames:
            if predicate(frame):
                return frame
        while time.monotonic() < deadline:
            try:
                raw = self.ws.recv(timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            frame = json.loads(raw)
            self.frames.append(frame)
            if predicate(frame):
                return frame
        raise TimeoutError(f"no such frame; got {[f['type'] for f in self.frames]}")

    def close(self) -> None:
        self._stack.close()


class ChatCustomer(Socket):
    """A customer on the realtime websocket, as the portal would be."""

    def __init__(self, server: LiveServer, **claims: Any) -> None:
        self.rest = CustomerClient(server, **claims)
        super().__init__(server, self.rest.session["access_token"])
        assert self.welcome["you"]["kind"] == "customer"
        self.conversation_id: int | None = None

    def say(self, text: str) -> int:
        client_id = uuid.uuid4().hex
        self.ws.send(
            encode(Send(client_id=client_id, conversation_id=self.conversation_id, text=text))
        )
        ack = self.recv_until(lambda f: f["type"] == "ack" and f["client_id"] == client_id)
        self.conversation_id = int(ack["conversation_id"])
        return self.conversation_id

    def ask_for_person(self, text: str) -> int:
        cid = self.say(text)
        self.ws.send(encode(Handoff(conversation_id=cid)))
        return cid

    def texts(self) -> list[str]:
        return [f["text"] for f in self.frames if f["type"] == "message"]


@pytest.fixture
def customers() -> Iterator[list[ChatCustomer]]:
    made: list[ChatCustomer] = []
    yield made
    for c in made:
        c.close()


def live_console(
    made: list[ConsoleHarness],
    qtbot: QtBot,
    server: LiveServer,
    tmp_path: Path,
    role: Role = Role.agent,
    capacity: int = 1,
) -> ConsoleHarness:
    email = new_agent(server, role)
    h = open_console(made, qtbot, server, tmp_path)
    h.settings.capacity = capacity
    h.window.capacity_spin.setValue(capacity)
    h.sign_in(email)
    qtbot.waitUntil(lambda: h.window.connection_label.text() == "Live", timeout=15000)
    h.window.tabs.setCurrentWidget(h.window.chat_page)
    return h


def test_inbox_accept_reply_and_internal_note(
    qtbot: QtBot,
    fresh_server: LiveServer,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    customers: list[ChatCustomer],
) -> None:
    h = live_console(harness, qtbot, fresh_server, tmp_path, capacity=1)
    page = h.window.chat_page
    inbox = page.inbox

    first = ChatCustomer(fresh_server, name="Li Wei", tier="vip", product="PhotoTool")
    customers.append(first)
    first_id = first.ask_for_person("My export crashes")
    # Online with room: routed to this agent, so it shows under Mine.
    inbox.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: first_id in inbox.visible_ids(), timeout=15000)

    second = ChatCustomer(fresh_server, name="Bob Smith")
    customers.append(second)
    second_id = second.ask_for_person("Licence question")
    # The agent is full (capacity 1): the second one waits.
    inbox.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: second_id in inbox.visible_ids(), timeout=15000)
    assert first_id not in inbox.visible_ids()

    view = page.open_conversation(second_id)
    assert view is not None
    qtbot.waitUntil(lambda: "Licence question" in view.transcript_text(), timeout=10000)
    assert view.accept_button.isVisible()
    view.accept()
    qtbot.waitUntil(lambda: second_id not in inbox.visible_ids(), timeout=10000)
    qtbot.waitUntil(lambda: not view.accept_button.isVisible(), timeout=10000)
    inbox.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: {first_id, second_id} <= set(inbox.visible_ids()), timeout=10000)

    # A reply reaches the customer's websocket.
    view.composer.edit.setPlainText("Hello Bob, which licence do you have?")
    view.composer.submit()
    frame = second.recv_until(
        lambda f: f["type"] == "message" and f["text"] == "Hello Bob, which licence do you have?"
    )
    assert frame["sender"]["kind"] == "agent"
    qtbot.waitUntil(
        lambda: "Hello Bob, which licence" in view.transcript_text() and not view.pending,
        timeout=10000,
    )

    # An internal note stays with the agents.
    view.composer.internal_button.setChecked(True)
    view.composer.edit.setPlainText("Bob's licence expired last week.")
    view.composer.submit()
    qtbot.waitUntil(lambda: "expired last week" in view.transcript_text(), timeout=10000)
    qtbot.waitUntil(lambda: not view.pending, timeout=10000)
    assert "Internal note" in view.transcript_text()
    view.composer.internal_button.setChecked(False)
    view.composer.edit.setPlainText("I will renew it for you.")
    view.composer.submit()
    second.recv_until(lambda f: f["type"] == "message" and f["text"] == "I will renew it for you.")
    assert not any("expired last week" in t for t in second.texts())

    # The customer's answer shows up live.
    second.say("Thank you!")
    qtbot.waitUntil(lambda: "Thank you!" in view.transcript_text(), timeout=10000)
    second.ws.send(encode(Typing(conversation_id=second_id, typing=True)))
    qtbot.waitUntil(lambda: view.typing_label.text() == "Bob Smith is typing…", timeout=10000)
    second.ws.send(encode(Typing(conversation_id=second_id, typing=False)))
    qtbot.waitUntil(lambda: view.typing_label.text() == "", timeout=10000)

    # A file: uploaded first, then named in the message; the customer gets it.
    licence = tmp_path / "licence.txt"
    licence.write_text("PT-7781-AC valid until 2027\n", encoding="utf-8")
    view.composer.add_files([licence])
    view.composer.edit.setPlainText("Your renewed licence.")
    view.composer.submit()
    # The upload runs on a worker; let the event loop deliver it before
    # this thread blocks on the customer's socket.
    qtbot.waitUntil(lambda: "Your renewed licence." in view.transcript_text(), timeout=10000)
    frame = second.recv_until(
        lambda f: f["type"] == "message" and f["text"] == "Your renewed licence."
    )
    assert [a["filename"] for a in frame["attachments"]] == ["licence.txt"]
    qtbot.waitUntil(lambda: "licence.txt" in view.transcript_text(), timeout=10000)
    dest = tmp_path / "copy.txt"
    view.save_attachment(second_id, frame["attachments"][0]["id"], dest)
    qtbot.waitUntil(dest.exists, timeout=10000)
    assert dest.read_text(encoding="utf-8") == licence.read_text(encoding="utf-8")


def test_close_and_turn_into_ticket(
    qtbot: QtBot,
    fresh_server: LiveServer,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    customers: list[ChatCustomer],
) -> None:
    h = live_console(harness, qtbot, fresh_server, tmp_path, capacity=2)
    page = h.window.chat_page
    h.window.tabs.setCurrentWidget(h.window.queue)
    customer = ChatCustomer(fresh_server, name="Chen Jie", tier="svip")
    customers.append(customer)
    cid = customer.ask_for_person("Printing is broken")
    # Routed to this agent, who is not writing anything: the chat comes up.
    qtbot.waitUntil(lambda: cid in page.views, timeout=15000)
    assert h.window.tabs.currentWidget() is page
    view = page.views[cid]
    assert page.stack.currentWidget() is view
    assert "New chat: Chen Jie" in h.window.message_label.text()
    page.inbox.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: cid in page.inbox.visible_ids(), timeout=15000)
    assert view.badge.isVisible() and view.badge.text() == "SVIP"
    qtbot.waitUntil(lambda: view.customer_panel.name_label.text() == "Chen Jie", timeout=10000)
    view.to_ticket()
    # The new ticket opens in a tab of its own, with the transcript in it.
    qtbot.waitUntil(lambda: len(h.window.ticket_views) == 1, timeout=15000)
    ticket_view = next(iter(h.window.ticket_views.values()))
    qtbot.waitUntil(lambda: ticket_view.ticket is not None, timeout=10000)
    assert "Printing is broken" in ticket_view.timeline.toPlainText()
    # The ticket's customer panel lists the chat; double-clicking it goes back there.
    chats = ticket_view.customer_panel.conversations_list
    qtbot.waitUntil(lambda: chats.count() == 1, timeout=10000)
    h.window.tabs.setCurrentWidget(ticket_view)
    item = chats.item(0)
    assert item is not None
    chats.itemDoubleClicked.emit(item)
    assert h.window.tabs.currentWidget() is page and page.stack.currentWidget() is view
    view.close_conversation()
    qtbot.waitUntil(lambda: view.summary.status.value == "closed", timeout=10000)
    assert not view.composer.edit.isEnabled()
    qtbot.waitUntil(lambda: cid not in page.inbox.visible_ids(), timeout=10000)


def test_supervisor_sees_the_team(
    qtbot: QtBot,
    fresh_server: LiveServer,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
) -> None:
    h = live_console(harness, qtbot, fresh_server, tmp_path, role=Role.supervisor, capacity=4)
    assert h.window.tabs.isTabVisible(h.window.team_index)
    assert h.window.chat_page.inbox.tabs.isTabVisible(2)  # "All"
    team = h.window.team_page
    name = h.console.agent.name if h.console.agent else ""
    qtbot.waitUntil(
        lambda: any(r[0] == name and r[1] == "Online" and r[3] == "4" for r in team.agent_rows()),
        timeout=15000,
    )
    h.window.presence_combo.setCurrentIndex(h.window.presence_combo.findData("away"))
    qtbot.waitUntil(
        lambda: any(r[0] == name and r[1] == "Away" for r in team.agent_rows()), timeout=15000
    )


def test_plain_agent_has_no_team_board(
    qtbot: QtBot,
    fresh_server: LiveServer,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
) -> None:
    h = live_console(harness, qtbot, fresh_server, tmp_path)
    assert not h.window.tabs.isTabVisible(h.window.team_index)
    assert not h.window.chat_page.inbox.tabs.isTabVisible(2)


class ChatAgent(Socket):
    """A second agent on the realtime websocket, online."""

    def __init__(self, server: LiveServer, email: str) -> None:
        super().__init__(server, server.agent_token(email))
        self.id = int(self.welcome["you"]["id"])
        self.ws.send(encode(SetPresence(status=PresenceStatus.online, capacity=5)))


def test_transfer_to_another_agent(
    qtbot: QtBot,
    fresh_server: LiveServer,
    tmp_path: Path,
    harness: list[ConsoleHarness],  # noqa: F811
    customers: list[ChatCustomer],
) -> None:
    h = live_console(harness, qtbot, fresh_server, tmp_path, capacity=1)
    page = h.window.chat_page
    customer = ChatCustomer(fresh_server, name="Zhou Yan")
    customers.append(customer)
    cid = customer.ask_for_person("Need help with invoices")
    qtbot.waitUntil(lambda: cid in page.views, timeout=15000)
    view = page.views[cid]
    # A colleague comes online after the chat was routed here.
    colleague_email = new_agent(fresh_server)
    colleague = ChatAgent(fresh_server, colleague_email)
    try:
        name = colleague_email.split("@")[0]

        def offered() -> Any:
            view.transfer_menu.aboutToShow.emit()
            qtbot.wait(300)
            return next(
                (a for a in view.transfer_menu.actions() if name in a.text() and a.isEnabled()),
                None,
            )

        # Presence reaches the service's board within a routing pass.
        action = None
        for _ in range(30):
            action = offered()
            if action is not None:
                break
        assert action is not None, [a.text() for a in view.transfer_menu.actions()]
        action.trigger()
        frame = colleague.recv_until(
            lambda f: (
                f["type"] == "conversation"
                and f["conversation"]["id"] == cid
                and (f["conversation"]["assignee"] or {}).get("id") == colleague.id
            )
        )
        assert frame["conversation"]["status"] == "assigned"
        qtbot.waitUntil(
            lambda: view.summary.assignee is not None and view.summary.assignee.id == colleague.id,
            timeout=10000,
        )
        page.inbox.tabs.setCurrentIndex(1)
        qtbot.waitUntil(lambda: cid not in page.inbox.visible_ids(), timeout=10000)
    finally:
        colleague.close()
