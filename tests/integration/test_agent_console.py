"""The agent console against a real service: sign-in, the ticket queue and
its SLA colours, replying, internal notes, status and assignment, knowledge
and canned-reply insertion, and customer text shown as text."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import pytest
import requests
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from sqlalchemy import select

from client.agent.app import Controller, build
from client.agent.session import USER_PREFIX, ConsoleSettings
from client.core.tokens import service_name
from protocol.models import Role
from server import models
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer, ServerProcess
from tests.ui_helpers import closed_port_url

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

PASSWORD = "correct horse battery"


# -- helpers ---------------------------------------------------------------------


@pytest.fixture
def memory_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "agent-data"))
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


class ConsoleHarness:
    """The console as the app builds it, on a settings file of the test's own."""

    def __init__(self, qtbot: QtBot, server_url: str, tmp_path: Path, *, email: str = "") -> None:
        self.qtbot = qtbot
        store = QSettings(str(tmp_path / "agent.ini"), QSettings.Format.IniFormat)
        self.settings = ConsoleSettings(store)
        self.settings.server_url = server_url
        if email:
            self.settings.email = email
        self.controller: Controller = build(self.settings)
        self.console = self.controller.console
        self.window = self.controller.window
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)

    def start(self) -> None:
        self.controller.start()

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        dialog = self.controller.show_sign_in()
        dialog.email_edit.setText(email)
        dialog.password_edit.setText(password)
        dialog.submit()
        self.qtbot.waitUntil(lambda: self.console.agent is not None, timeout=15000)

    def wait_queue(self, predicate: Any, timeout: int = 10000) -> None:
        self.qtbot.waitUntil(lambda: predicate(self.window.queue), timeout=timeout)

    def queue_ids(self) -> set[int]:
        return {t.id for t in self.window.queue.tickets}

    def reload_queue(self) -> None:
        loads: list[int] = []
        self.window.queue.loaded.connect(loads.append)
        self.window.queue.reload()
        self.qtbot.waitUntil(lambda: bool(loads), timeout=10000)

    def close(self) -> None:
        self.controller.shutdown_realtime()
        self.console.runner.shutdown(5000)
        self.window.close()


@pytest.fixture
def harness(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> Iterator[list[ConsoleHarness]]:
    made: list[ConsoleHarness] = []
    yield made
    for h in made:
        h.close()


def open_console(
    made: list[ConsoleHarness], qtbot: QtBot, server: LiveServer, tmp_path: Path, **kw: Any
) -> ConsoleHarness:
    h = ConsoleHarness(qtbot, server.url, tmp_path, **kw)
    made.append(h)
    return h


def new_agent(server: LiveServer, role: Role = Role.agent) -> str:
    email = f"agent-{uuid.uuid4().hex[:8]}@example.com"
    server.create_agent(email, PASSWORD, role)
    return email


def agent_id(server: LiveServer, email: str) -> int:
    with server.db.session() as s:
        agent = s.scalar(select(models.Agent).where(models.Agent.email == email))
        assert agent is not None
        return agent.id


class CustomerClient:
    """A customer talking to the service the way the portal does."""

    def __init__(self, server: LiveServer, sub: str | None = None, **claims: Any) -> None:
        self.server = server
        self.sub = sub or f"cust-{uuid.uuid4().hex[:8]}"
        claims.setdefault("name", "Li Wei")
        r = requests.post(
            f"{server.url}/api/v1/auth/identity",
            json={"token": server.sign(self.sub, **claims)},
            timeout=10,
        )
        r.raise_for_status()
        self.session = r.json()
        self.id: int = self.session["customer"]["id"]
        self.headers = {"Authorization": f"Bearer {self.session['access_token']}"}

    def create_ticket(self, subject: str, body: str = "It does not work.", **extra: Any) -> Any:
        payload = {"client_key": uuid.uuid4().hex, "subject": subject, "body": body, **extra}
        r = requests.post(
            f"{self.server.url}/api/v1/tickets", json=payload, headers=self.headers, timeout=10
        )
        assert r.status_code == 201, r.text
        return r.json()

    def ticket(self, ticket_id: int) -> Any:
        r = requests.get(
            f"{self.server.url}/api/v1/tickets/{ticket_id}", headers=self.headers, timeout=10
        )
        r.raise_for_status()
        return r.json()


def set_ticket(server: LiveServer, ticket_id: int, **values: Any) -> None:
    with server.db.session() as s:
        ticket = s.get(models.Ticket, ticket_id)
        assert ticket is not None
        for name, value in values.items():
            setattr(ticket, name, value)


def open_ticket_view(h: ConsoleHarness, ticket_id: int) -> Any:
    view = h.window.open_ticket(ticket_id)
    h.qtbot.waitUntil(lambda: view.ticket is not None, timeout=10000)
    return view


# -- sign-in ---------------------------------------------------------------------------


def test_sign_in_stores_refresh_token_and_restores_next_start(
    qtbot: QtBot,
    live_server: LiveServer,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    harness: list[ConsoleHarness],
) -> None:
    email = new_agent(live_server)
    first = open_console(harness, qtbot, live_server, tmp_path)
    first.start()
    dialog = first.controller.dialog
    assert dialog is not None and dialog.isVisible()  # nothing stored yet: asks
    first.sign_in(email)
    assert not dialog.isVisible()
    assert first.window.agent_label.text().startswith(email.split("@")[0])
    key = (service_name(live_server.url), USER_PREFIX + email)
    stored = memory_keyring.entries.get(key)
    assert stored, memory_keyring.entries
    assert PASSWORD not in memory_keyring.entries.values()
    settings_text = (tmp_path / "agent.ini").read_text()
    assert email in settings_text and PASSWORD not in settings_text
    first.close()
    harness.remove(first)

    # Next start: the stored refresh token signs in without the dialog.
    second = open_console(harness, qtbot, live_server, tmp_path)
    second.start()
    qtbot.waitUntil(lambda: second.console.agent is not None, timeout=15000)
    assert second.console.agent is not None and second.console.agent.email == email
    assert second.controller.dialog is None or not second.controller.dialog.isVisible()
    # Refresh tokens rotate: the stored one was replaced.
    assert memory_keyring.entries[key] != stored


@pytest.mark.parametrize("case", ["bad_password", "disabled", "offline"])
def test_sign_in_failures_say_why(
    qtbot: QtBot,
    live_server: LiveServer,
    tmp_path: Path,
    harness: list[ConsoleHarness],
    case: str,
) -> None:
    email = new_agent(live_server)
    password = PASSWORD
    url = live_server.url
    if case == "bad_password":
        password = "not the password"
    elif case == "disabled":
        with live_server.db.session() as s:
            agent = s.scalar(select(models.Agent).where(models.Agent.email == email))
            assert agent is not None
            agent.active = False
    else:
        url = closed_port_url()
    h = open_console(harness, qtbot, live_server, tmp_path)
    dialog = h.controller.show_sign_in()
    dialog.server_edit.setText(url)
    dialog.email_edit.setText(email)
    dialog.password_edit.setText(password)
    dialog.submit()
    qtbot.waitUntil(lambda: dialog.error_label.isVisible(), timeout=15000)
    text = dialog.error_label.text()
    expected = {
        "bad_password": "password is wrong",
        "disabled": "disabled",
        "offline": "cannot be reached",
    }[case]
    assert expected in text, text
    assert h.console.agent is None
    assert dialog.isVisible() and dialog.sign_in_button.isEnabled()


def test_disabled_agent_with_stored_session_is_told(
    qtbot: QtBot,
    live_server: LiveServer,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    harness: list[ConsoleHarness],
) -> None:
    email = new_agent(live_server)
    first = open_console(harness, qtbot, live_server, tmp_path)
    first.sign_in(email)
    first.close()
    harness.remove(first)
    with live_server.db.session() as s:
        agent = s.scalar(select(models.Agent).where(models.Agent.email == email))
        assert agent is not None
        agent.active = False
    second = open_console(harness, qtbot, live_server, tmp_path)
    second.start()
    qtbot.waitUntil(
        lambda: (
            second.controller.dialog is not None
            and second.controller.dialog.error_label.isVisible()
        ),
        timeout=15000,
    )
    assert second.controller.dialog is not None
    assert "disabled" in second.controller.dialog.error_label.text()
    assert (service_name(live_server.url), USER_PREFIX + email) not in memory_keyring.entries


# -- queue -------------------------------------------------------------------------------


def test_queue_filters_and_sla_colours(
    qtbot: QtBot, fresh_server: LiveServer, tmp_path: Path, harness: list[ConsoleHarness]
) -> None:
    email = new_agent(fresh_server)
    me = agent_id(fresh_server, email)
    customer = CustomerClient(fresh_server)
    late = customer.create_ticket("Export crashes", urgency="high", impact="high")
    soon = customer.create_ticket("Printing is slow")
    calm = customer.create_ticket("Question about licences", urgency="low", impact="low")
    now = datetime.now(UTC)
    set_ticket(fresh_server, late["id"], first_response_due=now - timedelta(minutes=5))
    set_ticket(fresh_server, soon["id"], first_response_due=now + timedelta(minutes=30))
    set_ticket(fresh_server, calm["id"], assignee_id=me)

    h = open_console(harness, qtbot, fresh_server, tmp_path)
    h.sign_in(email)
    h.wait_queue(lambda q: len(q.tickets) == 3)
    queue = h.window.queue
    assert queue.band_of(late["id"]) == "breached"
    assert queue.band_of(soon["id"]) == "warn"
    assert queue.band_of(calm["id"]) == "ok"
    sla_column = 6
    row = queue.row_of(late["id"])
    assert row is not None
    item = queue.table.item(row, sla_column)
    assert item is not None
    assert item.background().color().name() == "#fee2e2"
    assert "late" in item.text()

    # The countdown moves on the clock alone: in 40 minutes "soon" is late.
    queue.update_sla(datetime.now(UTC) + timedelta(minutes=40))
    assert queue.band_of(soon["id"]) == "breached"
    queue.update_sla()
    assert queue.band_of(soon["id"]) == "warn"

    queue.assignee_combo.setCurrentIndex(queue.assignee_combo.findData("me"))
    h.wait_queue(lambda q: h.queue_ids() == {calm["id"]})
    queue.assignee_combo.setCurrentIndex(queue.assignee_combo.findData("none"))
    h.wait_queue(lambda q: h.queue_ids() == {late["id"], soon["id"]})
    queue.assignee_combo.setCurrentIndex(queue.assignee_combo.findData(""))
    queue.breached_check.setChecked(True)
    h.wait_queue(lambda q: h.queue_ids() == {late["id"]})
    queue.breached_check.setChecked(False)
    queue.priority_combo.setCurrentIndex(queue.priority_combo.findData("P5"))
    h.wait_queue(lambda q: h.queue_ids() == {calm["id"]})
    queue.priority_combo.setCurrentIndex(queue.priority_combo.findData(""))
    queue.status_combo.setCurrentIndex(queue.status_combo.findData("resolved"))
    h.wait_queue(lambda q: h.queue_ids() == set())
    queue.status_combo.setCurrentIndex(queue.status_combo.findData("active"))
    h.wait_queue(lambda q: len(q.tickets) == 3)

    # Double-click opens the ticket in a tab of its own.
    row = queue.row_of(soon["id"])
    assert row is not None
    first_item = queue.table.item(row, 0)
    assert first_item is not None
    queue.table.itemDoubleClicked.emit(first_item)
    assert soon["id"] in h.window.ticket_views


# -- ticket view ------------------------------------------------------------------------------


def test_reply_reaches_customer_and_internal_note_does_not(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, harness: list[ConsoleHarness]
) -> None:
    email = new_agent(live_server)
    customer = CustomerClient(live_server, company="Acme", tier="vip", product="PhotoTool")
    ticket = customer.create_ticket("Cannot log in", "Since the update I get <b>error 42</b>.")
    h = open_console(harness, qtbot, live_server, tmp_path)
    h.sign_in(email)
    view = open_ticket_view(h, ticket["id"])
    # Customer panel: identity from the host's token, and their tickets.
    panel = view.customer_panel
    assert panel.name_label.text() == "Li Wei"
    assert panel.company_label.text() == "Acme"
    assert panel.badge.isVisible() and panel.badge.text() == "VIP"
    qtbot.waitUntil(lambda: any("Cannot log in" in t for t in panel.ticket_texts()), timeout=10000)
    # HTML the customer typed is shown as the characters they typed.
    assert "<b>error 42</b>" in view.timeline.toPlainText()

    composer = view.composer
    composer.edit.setPlainText("Please try again now.")
    composer.submit()
    qtbot.waitUntil(lambda: not composer.text(), timeout=10000)
    seen = customer.ticket(ticket["id"])
    bodies = [e["body"] for e in seen["events"]]
    assert "Please try again now." in bodies
    assert seen["status"] == "open"  # the first public reply opens it

    composer.internal_button.setChecked(True)
    assert composer.send_button.text() == "Add note"
    composer.edit.setPlainText("Customer is on the old licence server.")
    composer.submit()
    qtbot.waitUntil(lambda: not composer.text(), timeout=10000)
    seen = customer.ticket(ticket["id"])
    assert "Customer is on the old licence server." not in [e["body"] for e in seen["events"]]
    text = view.timeline.toPlainText()
    assert "Internal note" in text and "Customer is on the old licence server." in text


def test_reply_with_attachment_and_download(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, harness: list[ConsoleHarness]
) -> None:
    email = new_agent(live_server)
    customer = CustomerClient(live_server)
    ticket = customer.create_ticket("Need the patch")
    h = open_console(harness, qtbot, live_server, tmp_path)
    h.sign_in(email)
    view = open_ticket_view(h, ticket["id"])
    patch = tmp_path / "patch-notes.txt"
    patch.write_text("Apply patch 7.1.2 then restart.\n", encoding="utf-8")
    view.composer.add_files([patch])
    view.composer.edit.setPlainText("Here is the patch.")
    view.composer.submit()
    qtbot.waitUntil(lambda: not view.composer.files, timeout=10000)
    seen = customer.ticket(ticket["id"])
    names = [a["filename"] for e in seen["events"] for a in e["attachments"]]
    assert names == ["patch-notes.txt"]
    assert "patch-notes.txt" in view.timeline.toPlainText()
    attachment = view.ticket.attachments[0]
    dest = tmp_path / "downloaded.txt"
    view.save_attachment(attachment.id, dest)
    qtbot.waitUntil(dest.exists, timeout=10000)
    assert dest.read_text(encoding="utf-8") == patch.read_text(encoding="utf-8")


def test_status_and_assignment(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, harness: list[ConsoleHarness]
) -> None:
    email = new_agent(live_server)
    me = agent_id(live_server, email)
    customer = CustomerClient(live_server)
    ticket = customer.create_ticket("Licence expired")
    h = open_console(harness, qtbot, live_server, tmp_path)
    h.sign_in(email)
    view = open_ticket_view(h, ticket["id"])

    view.assign(me)
    qtbot.waitUntil(lambda: view.ticket.assignee is not None, timeout=10000)
    assert view.ticket.assignee.id == me
    assert "Assigned to" in view.timeline.toPlainText()

    view.assign(None)
    qtbot.waitUntil(lambda: view.ticket.assignee is None, timeout=10000)
    view.assign(None, auto=True)
    qtbot.waitUntil(lambda: view.ticket.assignee is not None, timeout=10000)

    index = view.status_combo.findData("pending_customer")
    view.status_combo.setCurrentIndex(index)
    view.status_combo.activated.emit(index)
    qtbot.waitUntil(lambda: view.ticket.status.value == "pending_customer", timeout=10000)
    assert customer.ticket(ticket["id"])["status"] == "pending_customer"
    assert "Pending customer" in view.timeline.toPlainText()

    view.set_status("closed")
    qtbot.waitUntil(lambda: view.ticket.status.value == "closed", timeout=10000)
    assert not view.composer.edit.isEnabled()  # a closed ticket takes no reply


def test_knowledge_search_inserts_link_and_text(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, harness: list[ConsoleHarness]
) -> None:
    email = new_agent(live_server)
    customer = CustomerClient(live_server)
    ticket = customer.create_ticket("How do I export?")
    h = open_console(harness, qtbot, live_server, tmp_path)
    h.sign_in(email)
    view = open_ticket_view(h, ticket["id"])
    composer = view.composer
    QTest.keyClicks(composer.kb_edit, "export")
    qtbot.waitUntil(lambda: composer.kb_results.count() > 0, timeout=10000)
    first = composer.kb_results.item(0)
    assert first is not None
    from client.ui.widgets import ID_ROLE, TITLE_ROLE

    article_id = int(first.data(ID_ROLE))
    title = str(first.data(TITLE_ROLE))
    composer.insert_link_button.click()
    assert f"{title}: helpbridge://article/{article_id}" in composer.text()

    composer.edit.clear()
    composer.insert_text_button.click()
    article = requests.get(f"{live_server.url}/api/v1/kb/articles/{article_id}", timeout=10).json()
    qtbot.waitUntil(lambda: composer.text() == article["body"].strip(), timeout=10000)


def test_canned_replies_insert_by_menu_and_shortcut(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, harness: list[ConsoleHarness]
) -> None:
    email = new_agent(live_server)
    customer = CustomerClient(live_server)
    ticket = customer.create_ticket("Thanks for the help")
    h = open_console(harness, qtbot, live_server, tmp_path)
    h.sign_in(email)
    library = h.controller.library
    library.load()
    qtbot.waitUntil(lambda: library.loaded, timeout=10000)
    view = open_ticket_view(h, ticket["id"])
    edit = view.composer.edit
    thanks = next(r for r in library.replies if r.shortcut == "thanks")

    edit.setFocus()
    QTest.keyClicks(edit, "/thanks")
    QTest.keyClick(edit, Qt.Key.Key_Space)
    assert edit.toPlainText() == thanks.text

    # An edited list is saved as JSON in the data directory and offered at once.
    from client.agent.canned import CannedReply, CannedStore

    library.set_replies([*library.replies, CannedReply("vpn", "VPN", "Please connect the VPN.")])
    store_path = library.store.path
    qtbot.waitUntil(lambda: store_path.exists() and "vpn" in store_path.read_text(), timeout=5000)
    assert any(r.shortcut == "vpn" for r in CannedStore(store_path.parent).load())
    edit.clear()
    view.composer._fill_canned_menu()
    action = next(a for a in view.composer.canned_menu.actions() if "/vpn" in a.text())
    action.trigger()
    assert edit.toPlainText() == "Please connect the VPN."

    # Typing a prefix offers the matching replies; Enter picks the first.
    edit.clear()
    QTest.keyClicks(edit, "Hi. /vp")
    assert edit.popup().isVisible()
    QTest.keyClick(edit.popup(), Qt.Key.Key_Return)
    assert edit.toPlainText() == "Hi. Please connect the VPN."


def test_sign_out_forgets_the_session(
    qtbot: QtBot,
    live_server: LiveServer,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    harness: list[ConsoleHarness],
) -> None:
    email = new_agent(live_server)
    h = open_console(harness, qtbot, live_server, tmp_path)
    h.sign_in(email)
    key = (service_name(live_server.url), USER_PREFIX + email)
    assert key in memory_keyring.entries
    h.window.sign_out_button.click()
    assert h.console.agent is None
    dialog = h.controller.dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.email_edit.text() == email and dialog.password_edit.text() == ""
    qtbot.waitUntil(lambda: key not in memory_keyring.entries, timeout=10000)
    assert h.window.agent_label.text() == "Not signed in"
    # Cancelled, the dialog can be had again from the status bar.
    dialog.reject()
    assert h.window.sign_out_button.text() == "Sign in…"
    h.window.sign_out_button.click()
    assert dialog.isVisible()


def test_assign_menu_offers_every_active_agent(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, harness: list[ConsoleHarness]
) -> None:
    colleague = new_agent(live_server)
    email = new_agent(live_server)
    customer = CustomerClient(live_server)
    ticket = customer.create_ticket("Hand this over")
    h = open_console(harness, qtbot, live_server, tmp_path)
    h.sign_in(email)
    other = agent_id(live_server, colleague)
    qtbot.waitUntil(lambda: other in h.console.known_agents, timeout=10000)
    view = open_ticket_view(h, ticket["id"])
    view._fill_assign_menu()
    submenu = next(a.menu() for a in view.assign_menu.actions() if a.menu() is not None)
    action = next(a for a in submenu.actions() if a.text() == colleague.split("@")[0])
    action.trigger()
    qtbot.waitUntil(
        lambda: view.ticket.assignee is not None and view.ticket.assignee.id == other,
        timeout=10000,
    )


def test_stored_session_comes_back_when_the_service_does(
    qtbot: QtBot,
    server_process: ServerProcess,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    harness: list[ConsoleHarness],
) -> None:
    creds = json.loads((server_process.data_dir / "demo-credentials.json").read_text())
    url, port = server_process.url, server_process.port
    first = ConsoleHarness(qtbot, url, tmp_path)
    harness.append(first)
    first.sign_in(creds["agent_email"], creds["agent_password"])
    first.close()
    harness.remove(first)

    server_process.stop()
    second = ConsoleHarness(qtbot, url, tmp_path)
    harness.append(second)
    second.controller.retry_timer.setInterval(300)
    second.start()
    qtbot.waitUntil(
        lambda: (
            second.controller.dialog is not None
            and "cannot be reached" in second.controller.dialog.error_label.text()
        ),
        timeout=15000,
    )
    assert second.console.agent is None
    server_process.start(port=port or 0)
    qtbot.waitUntil(lambda: second.console.agent is not None, timeout=30000)
    assert second.console.agent is not None
    assert second.console.agent.email == creds["agent_email"]
    assert second.controller.dialog is not None and not second.controller.dialog.isVisible()
