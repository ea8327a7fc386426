"""The customer's chat in the real portal window against a real service: the
bot's article cards (opening an article), talking to a person, an agent's
reply shown as text, typing, read receipts, unread counts, host requests
and a draft that survives a restart of the portal."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from client.ui.chat.bubbles import MessageBubble, SystemLine
from client.ui.mainwindow import SECTION_CHAT, SECTION_HELP, SECTION_TICKETS
from protocol.host import HostRequest
from tests.integration.test_chat_support import Peer, agent_token, hub_of
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer, start_live_server
from tests.ui_helpers import PortalHarness

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from client.ui.chat import ChatPage


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_live_server(tmp_path_factory.mktemp("portal-chat"))
    hub_of(live).offline_grace = 0.0
    yield live
    live.stop()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield tmp_path / "portal"
    keyring.set_keyring(previous)


class Agents:
    """Agents' websocket peers on a loop thread of their own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cancel_rest() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def agents() -> Iterator[Agents]:
    a = Agents()
    yield a
    a.stop()


@pytest.fixture
def portals(qtbot: QtBot, data_dir: Path) -> Iterator[Callable[..., PortalHarness]]:
    made: list[PortalHarness] = []

    def make(url: str, identity: str | None) -> PortalHarness:
        h = PortalHarness(qtbot, url)
        made.append(h)
        h.start(identity=identity)
        if identity is not None:
            qtbot.waitUntil(lambda: h.window.realtime.client is not None, timeout=15000)
            qtbot.waitUntil(lambda: h.window.realtime.client.state == "online", timeout=15000)  # type: ignore[union-attr]
        return h

    yield make
    for h in made:
        close(h)


def close(h: PortalHarness) -> None:
    # What quitting does: the chat connection stops (and the draft is written).
    h.window.realtime.shutdown()
    h.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def open_chat(h: PortalHarness) -> ChatPage:
    h.window.show_section(SECTION_CHAT)
    return h.window.chat_page()


def say(qtbot: QtBot, page: ChatPage, text: str) -> MessageBubble:
    page.composer.input.setFocus()
    page.composer.set_text(text)
    QTest.keyClick(page.composer.input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(b.message.text == text for b in page.bubbles()), timeout=5000)
    return next(b for b in page.bubbles() if b.message.text == text)


def test_bot_cards_open_articles_then_a_person_answers(
    qtbot: QtBot, chat: LiveServer, portals: Callable[..., PortalHarness], agents: Agents
) -> None:
    product = unique("Prod")

    async def online() -> Peer:
        agent = await Peer.connect(chat.url, agent_token(chat, "mei"))
        await agent.send(type="presence", status="online", capacity=3, products=[product])
        await agent.expect("presence", agent_id=agent.welcome["you"]["id"], status="online")
        return agent

    agent: Peer = agents.run(online())
    h = portals(chat.url, chat.sign(unique("cust"), name="Ann", product=product))
    page = open_chat(h)
    assert h.window.sections.isTabEnabled(SECTION_CHAT)
    mine = say(qtbot, page, "I forgot my password")
    qtbot.waitUntil(lambda: "Sent ✓" in mine.state_text, timeout=10000)
    qtbot.waitUntil(lambda: any(b.cards for b in page.bubbles()), timeout=10000)
    bot = next(b for b in page.bubbles() if b.cards)
    assert bot.side == "bot" and 1 <= len(bot.cards) <= 3
    qtbot.waitUntil(bot.feedback_row.isVisible, timeout=5000)
    assert page.handoff_button.isVisible()

    # A card opens the article in the Help section.
    card = next(c for c in bot.cards if "password" in c.title.lower())
    QTest.mouseClick(card, Qt.MouseButton.LeftButton)
    assert h.window.section_stack.currentIndex() == SECTION_HELP
    qtbot.waitUntil(lambda: h.window.article_title.text() == card.title, timeout=10000)

    # Back to the chat: "No, talk to a person" reaches the online agent.
    page = open_chat(h)
    bot.no_button.click()
    cid = bot.message.conversation_id
    agents.run(
        agent.expect(
            "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "assigned"
        )
    )
    qtbot.waitUntil(lambda: "is helping you" in page.status.text(), timeout=10000)
    assert not page.handoff_button.isVisible()
    agents.run(agent.send(type="typing", conversation_id=cid, typing=True))
    qtbot.waitUntil(lambda: page.typing_text.endswith("is typing…"), timeout=5000)
    reply = "<b>Reset it</b> from <a href='http://evil.invalid'>this link</a>"
    agents.run(agent.say(reply, conversation_id=cid))
    qtbot.waitUntil(lambda: any(b.message.text == reply for b in page.bubbles()), timeout=5000)
    theirs = next(b for b in page.bubbles() if b.message.text == reply)
    assert theirs.side == "theirs"
    assert theirs.text_label.textFormat() == Qt.TextFormat.PlainText
    assert theirs.text_label.text() == reply
    assert page.typing_text == ""
    # The agent reads: the customer's message shows two ticks.
    agents.run(agent.send(type="read", conversation_id=cid, seq=theirs.message.seq))
    qtbot.waitUntil(lambda: "Read ✓✓" in mine.state_text, timeout=5000)
    # System lines of the service are shown as such.
    lines = [w.text() for w in page.timeline_widgets() if isinstance(w, SystemLine)]
    assert "Connecting you to a person…" in lines
    agents.run(agent.close())


def test_unread_count_and_read_receipts(
    qtbot: QtBot, chat: LiveServer, portals: Callable[..., PortalHarness], agents: Agents
) -> None:
    product = unique("Prod")

    async def online() -> Peer:
        agent = await Peer.connect(chat.url, agent_token(chat, "lu"))
        await agent.send(type="presence", status="online", capacity=3, products=[product])
        await agent.expect("presence", agent_id=agent.welcome["you"]["id"], status="online")
        return agent

    agent: Peer = agents.run(online())
    h = portals(chat.url, chat.sign(unique("cust"), name="Bo", product=product))
    page = open_chat(h)
    say(qtbot, page, "The export to Excel fails")
    qtbot.waitUntil(lambda: page.handoff_button.isVisible(), timeout=10000)
    page.handoff_button.click()
    cid = page.current_conversation
    agents.run(
        agent.expect(
            "conversation", conversation=lambda s: s["id"] == cid and s["status"] == "assigned"
        )
    )
    # The customer looks at Help while support answers.
    badges: list[int] = []
    h.window.badge_changed.connect(badges.append)
    h.window.show_section(SECTION_HELP)
    agents.run(agent.say("Which version do you use?", conversation_id=cid))
    qtbot.waitUntil(
        lambda: h.window.sections.tabText(SECTION_CHAT).startswith("Chat ("), timeout=10000
    )
    qtbot.waitUntil(lambda: bool(badges) and badges[-1] >= 1, timeout=5000)
    # Opening the chat (window active) reads it: the count goes, the agent is told.
    h.window.activateWindow()
    qtbot.waitUntil(h.window.isActiveWindow, timeout=5000)
    open_chat(h)
    qtbot.waitUntil(lambda: h.window.sections.tabText(SECTION_CHAT) == "Chat", timeout=10000)
    receipt = agents.run(agent.expect("read", conversation_id=cid, reader_kind="customer"))
    assert receipt["seq"] >= 1
    assert badges[-1] == 0
    agents.run(agent.close())


def test_pasted_screenshot_is_uploaded_and_sent(
    qtbot: QtBot, chat: LiveServer, portals: Callable[..., PortalHarness]
) -> None:
    h = portals(chat.url, chat.sign(unique("cust"), name="Eve"))
    page = open_chat(h)
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#2563eb"))
    page.composer.input.image_pasted.emit(image)
    qtbot.waitUntil(lambda: len(page.composer.attachments) == 1, timeout=5000)
    bubble = say(qtbot, page, "This is what I see")
    qtbot.waitUntil(lambda: "Sent ✓" in bubble.state_text, timeout=10000)
    assert page.composer.attachments == [] and page.composer.text() == ""
    assert len(bubble.attachment_buttons) == 1
    name = bubble.message.attachments[0]["filename"]
    assert name.endswith(".png") and bubble.attachment_buttons[0].text().startswith(name)
    cid = bubble.message.conversation_id
    client = h.window.realtime.client
    assert client is not None and cid is not None
    page_ = client.service.messages(cid, None, 10)
    sent = next(m for m in page_.messages if m.text == "This is what I see")
    assert [a.filename for a in sent.attachments] == [name]
    assert sent.attachments[0].content_type == "image/png"


def test_no_one_online_the_chat_becomes_a_ticket_linked_from_the_chat(
    qtbot: QtBot, chat: LiveServer, portals: Callable[..., PortalHarness]
) -> None:
    h = portals(chat.url, chat.sign(unique("cust"), name="Fay", product=unique("Prod")))
    page = open_chat(h)
    say(qtbot, page, "Cheque printing is misaligned")
    qtbot.waitUntil(lambda: page.handoff_button.isVisible(), timeout=10000)
    page.handoff_button.click()

    def ticket_line() -> SystemLine | None:
        for w in page.timeline_widgets():
            if isinstance(w, SystemLine) and w.button is not None:
                return w
        return None

    qtbot.waitUntil(lambda: ticket_line() is not None, timeout=15000)
    line = ticket_line()
    assert line is not None and "ticket #" in line.text()
    number = int(line.text().rsplit("#", 1)[1])
    assert page.current_conversation is None, "writing now starts a new conversation"
    assert line.button is not None
    line.button.click()
    assert h.window.section_stack.currentIndex() == SECTION_TICKETS
    panel = h.window.tickets_panel()
    qtbot.waitUntil(lambda: f"#{number}" in panel.view.number.text(), timeout=10000)


def test_host_request_opens_the_chat_with_the_question(
    qtbot: QtBot, chat: LiveServer, portals: Callable[..., PortalHarness]
) -> None:
    h = portals(chat.url, chat.sign(unique("cust"), name="Cy"))
    error = h.window.handle_request(HostRequest(open="chat", query="Error LP-1061 on backup"))
    assert error is None
    assert h.window.section_stack.currentIndex() == SECTION_CHAT
    page = h.window.chat_page()
    assert page.composer.text() == "Error LP-1061 on backup"
    assert h.window.banners.texts() == {}


def test_the_draft_survives_a_restart_of_the_portal(
    qtbot: QtBot, chat: LiveServer, portals: Callable[..., PortalHarness]
) -> None:
    sub = unique("cust")
    h = portals(chat.url, chat.sign(sub, name="Di"))
    page = open_chat(h)
    QTest.keyClicks(page.composer.input, "My licence key 4F-22 is refused when")
    close(h)  # quits right away: no time for the debounce

    h2 = portals(chat.url, chat.sign(sub, name="Di"))
    page2 = open_chat(h2)
    qtbot.waitUntil(
        lambda: page2.composer.text() == "My licence key 4F-22 is refused when", timeout=10000
    )
