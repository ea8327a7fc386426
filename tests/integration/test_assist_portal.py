"""Remote assist in the real portal window against a real service: the
code, the consent dialog, sharing to the agent's real viewer through the
service's relay, control, the banner's buttons and the end notice.

The screen is a numpy pattern and input goes to a recording sink (the e2e
test on Xvfb uses mss and pynput for real); everything else is real: the
service, its relay, the realtime events, the AssistHost and AssistViewer.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keyring
import numpy as np
import pytest

from client.core.assist.viewer import AssistViewer
from client.core.realtime import AssistChanged
from client.ui.assist.code import group_code
from client.ui.assist.consent import ConsentAnswer, ConsentDialog
from protocol.assist import AssistSession
from tests.integration.test_assist_host import ArraySource, RecordingSink, pattern
from tests.integration.test_chat_support import agent_token, api
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer, start_live_server
from tests.ui_helpers import PortalHarness

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from client.ui.assist.controller import AssistController

SIZE = (320, 200)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path_factory.mktemp("assist-portal"), seed_kb=False)
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield tmp_path / "portal"
    keyring.set_keyring(previous)


class Customer:
    """A signed-in portal whose screen is a pattern and whose input is recorded."""

    def __init__(self, qtbot: QtBot, live: LiveServer) -> None:
        self.qtbot = qtbot
        self.h = PortalHarness(qtbot, live.url)
        self.source = ArraySource(pattern(*SIZE))
        self.sink = RecordingSink()
        self.opened: list[Any] = []
        ctl = self.assist
        ctl.source_factory = self._open
        ctl.sink_factory = lambda origin: self.sink
        ctl.consent_timeout_s = 60.0
        self.h.start(identity=live.sign(f"cust-{secrets.token_hex(4)}", name="Ann Lee"))
        qtbot.waitUntil(lambda: self.h.window.realtime.client is not None, timeout=15000)
        qtbot.waitUntil(lambda: self.h.window.realtime.client.state == "online", timeout=15000)  # type: ignore[union-attr]

    def _open(self, want: Any) -> ArraySource:
        self.opened.append(want)
        return self.source

    @property
    def assist(self) -> AssistController:
        return self.h.window.assist

    def code(self) -> str:
        self.h.window.remote_help_button.click()
        dialog = self.assist.code_dialog
        assert dialog is not None
        self.qtbot.waitUntil(lambda: dialog.code is not None, timeout=10000)
        assert dialog.code is not None
        return dialog.code.code

    def consent(self) -> ConsentDialog:
        self.qtbot.waitUntil(lambda: bool(self.assist.consent_dialogs), timeout=10000)
        return next(iter(self.assist.consent_dialogs.values()))

    def close(self) -> None:
        self.assist.shutdown()
        self.h.window.realtime.shutdown()
        self.h.close()


@pytest.fixture
def customer(qtbot: QtBot, live: LiveServer, data_dir: Path) -> Iterator[Customer]:
    c = Customer(qtbot, live)
    yield c
    c.close()


class Agent:
    def __init__(self, live: LiveServer, name: str = "Mei Chen") -> None:
        self.live = live
        self.token = agent_token(live, name.split()[0].lower())
        self.viewers: list[AssistViewer] = []

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        r = api(self.live.url, self.token, method, f"/assist{path}", **kw)
        assert r.status_code < 300, r.text
        return r.json() if r.content else {}

    def redeem(self, code: str, mode: str = "view") -> int:
        return int(self.call("POST", "/redeem", json={"code": code, "mode": mode})["id"])

    def session(self, sid: int) -> AssistSession:
        return AssistSession.model_validate(self.call("GET", f"/{sid}"))

    def view(self, sid: int) -> AssistViewer:
        viewer = AssistViewer(self.live.url, sid, self.token, quality="high", input_allowed=True)
        viewer.start()
        self.viewers.append(viewer)
        return viewer

    def close(self) -> None:
        for v in self.viewers:
            v.stop()


@pytest.fixture
def agent(live: LiveServer) -> Iterator[Agent]:
    a = Agent(live)
    yield a
    a.close()


def sees(viewer: AssistViewer, frame: np.ndarray) -> bool:
    pulled = viewer.pull()
    if pulled is None:
        return False
    got = pulled.frame
    if got.shape != frame.shape:
        return False
    diff = np.abs(got[..., :3].astype(np.int16) - frame[..., :3].astype(np.int16))
    return int(diff.max()) <= 12  # JPEG at quality 9 is near, not exact


def test_consent_dialog_denies_by_itself(qtbot: QtBot) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    session = AssistSession.model_validate(
        {
            "id": 9,
            "status": "requested",
            "agent": {"id": 1, "name": "Mei Chen", "company": "Northwind Soft"},
            "customer": {"id": 2, "name": "Ann"},
            "created_at": now,
            "consent_deadline": now + timedelta(seconds=30),
        }
    )
    dialog = ConsentDialog(session, timeout_s=0.6)
    qtbot.addWidget(dialog)
    answers: list[ConsentAnswer] = []
    dialog.answered.connect(answers.append)
    dialog.present()
    assert dialog.deny_button.isDefault() and not dialog.allow_button.isDefault()
    assert dialog.agent_label.text() == "Mei Chen"
    assert dialog.company_label.text() == "Northwind Soft"
    assert "view only" in dialog.request_label.text()
    assert dialog.windowFlags() & dialog.windowFlags().WindowStaysOnTopHint
    assert dialog.parent() is None
    assert dialog.countdown_label.text() == "Denied automatically in 1 s"
    qtbot.waitUntil(lambda: bool(answers), timeout=5000)
    assert answers == [ConsentAnswer(allow=False, timed_out=True)]

    # Control: a second question, with the clipboard off unless ticked.
    control = ConsentDialog(session, "control", timeout_s=30)
    qtbot.addWidget(control)
    control.answered.connect(answers.append)
    assert control.clipboard_box.isVisibleTo(control) and not control.clipboard_box.isChecked()
    control.allow_button.click()
    assert answers[-1] == ConsentAnswer(allow=True, timed_out=False, clipboard=False)
    assert group_code("12345678") == "1234 5678"


def test_code_consent_share_control_and_end(qtbot: QtBot, customer: Customer, agent: Agent) -> None:
    ctl = customer.assist
    code = customer.code()
    code_dialog = ctl.code_dialog
    assert code_dialog is not None
    assert code_dialog.code_label.text() == group_code(code)
    assert "Valid for 9:5" in code_dialog.expiry_label.text() or "10:00" in (
        code_dialog.expiry_label.text()
    )

    sid = agent.redeem(code)
    dialog = customer.consent()
    # The request closes the code window; the consent dialog names the agent.
    qtbot.waitUntil(lambda: ctl.code_dialog is None, timeout=5000)
    assert dialog.session.id == sid
    assert dialog.agent_label.text() == agent.session(sid).agent.name
    # Nothing is captured or connected before Allow.
    assert ctl.host is None and customer.source.grabs == 0 and not customer.opened
    # ... and the relay has nothing to give the agent.
    r = api(agent.live.url, agent.token, "GET", f"/assist/{sid}")
    assert r.json()["bytes_to_agent"] == 0 and not r.json()["customer_connected"]

    dialog.allow_button.click()
    qtbot.waitUntil(lambda: ctl.host is not None, timeout=10000)
    assert ctl.banner is not None and ctl.banner.isVisible()
    assert ctl.border is not None and ctl.border.visible
    assert "viewing your screen" in ctl.banner.text.text()
    assert not ctl.banner.stop_control_button.isVisible()
    viewer = agent.view(sid)
    qtbot.waitUntil(lambda: sees(viewer, customer.source.frame), timeout=15000)

    # View only: the agent's input is dropped here.
    host = ctl.host
    assert host is not None
    viewer.send_key(0x61, True)
    viewer.send_key(0x61, False)
    qtbot.waitUntil(lambda: host.input_dropped >= 2, timeout=10000)
    assert customer.sink.calls == 0

    # The agent asks for control; the customer allows it.
    agent.call("POST", f"/{sid}/control", json={})
    qtbot.waitUntil(lambda: ctl.control_dialog is not None, timeout=10000)
    assert ctl.control_dialog is not None
    ctl.control_dialog.allow_button.click()
    qtbot.waitUntil(lambda: host.control, timeout=10000)
    assert ctl.banner.stop_control_button.isVisible()
    assert "controlling your screen" in ctl.banner.text.text()
    viewer.send_key(0x01004E2D, True)
    viewer.send_key(0x01004E2D, False)
    qtbot.waitUntil(lambda: (0x01004E2D, False) in customer.sink.keys, timeout=10000)

    # Stop control: input is dropped at once, then the service agrees.
    ctl.banner.stop_control_button.click()
    assert not host.control
    qtbot.waitUntil(lambda: agent.session(sid).mode == "view", timeout=10000)

    # Pause: capture stops at once; the service shows paused; resume.
    ctl.banner.pause_button.click()
    assert host.paused
    qtbot.waitUntil(lambda: agent.session(sid).status == "paused", timeout=10000)
    assert ctl.banner.pause_button.text() == "Resume"
    grabs = customer.source.grabs
    customer.source.frame = pattern(*SIZE, shift=50)
    ctl.banner.pause_button.click()
    qtbot.waitUntil(lambda: agent.session(sid).status == "active", timeout=10000)
    qtbot.waitUntil(lambda: not host.paused, timeout=10000)
    qtbot.waitUntil(lambda: sees(viewer, customer.source.frame), timeout=15000)
    assert customer.source.grabs > grabs

    # End: sharing stops here at once; the agent gets nothing more.
    sent = host.bytes_sent
    still_live = ctl.sessions[sid]
    assert still_live.status == "active"
    ctl.banner.end_button.click()
    assert ctl.host is None and ctl.banner is None and ctl.border is None
    # A "live" state that was on its way does not start sharing again.
    delivered: list[object] = []
    customer.h.window.realtime.received.connect(delivered.append)
    customer.h.window.realtime.inject(AssistChanged(still_live))
    qtbot.waitUntil(lambda: any(isinstance(e, AssistChanged) for e in delivered), timeout=5000)
    assert ctl.host is None and ctl.banner is None and ctl.live_id is None
    qtbot.waitUntil(lambda: not host.running, timeout=10000)
    assert host.bytes_sent == sent
    received = viewer.stats().bytes_received
    customer.source.frame = pattern(*SIZE, shift=99)
    qtbot.waitUntil(lambda: agent.session(sid).status == "ended", timeout=10000)
    ended = agent.session(sid)
    assert ended.end_reason == "customer"
    qtbot.waitUntil(lambda: ctl.ended_box is not None, timeout=10000)
    assert ctl.ended_box is not None
    assert "You ended the remote assist session" in ctl.ended_box.text()
    qtbot.waitUntil(lambda: not viewer.running, timeout=15000)
    assert viewer.stats().bytes_received == received


def test_agent_ends_and_the_customer_is_told(
    qtbot: QtBot, customer: Customer, agent: Agent
) -> None:
    ctl = customer.assist
    sid = agent.redeem(customer.code())
    customer.consent().allow_button.click()
    qtbot.waitUntil(lambda: ctl.host is not None, timeout=10000)
    host = ctl.host
    assert host is not None
    agent.call("POST", f"/{sid}/end")
    qtbot.waitUntil(lambda: ctl.ended_box is not None, timeout=10000)
    assert ctl.ended_box is not None
    assert agent.session(sid).agent.name in ctl.ended_box.text()
    assert "ended the remote assist session" in ctl.ended_box.text()
    assert ctl.banner is None and ctl.border is None and ctl.host is None
    qtbot.waitUntil(lambda: not host.running, timeout=10000)


def test_unanswered_request_is_denied_as_timed_out(
    qtbot: QtBot, customer: Customer, agent: Agent
) -> None:
    ctl = customer.assist
    ctl.consent_timeout_s = 0.8
    sid = agent.redeem(customer.code())
    customer.consent()
    qtbot.waitUntil(lambda: agent.session(sid).status == "denied", timeout=10000)
    assert not ctl.consent_dialogs
    assert ctl.host is None and customer.source.grabs == 0 and not customer.opened
    assert ctl.ended_box is None
