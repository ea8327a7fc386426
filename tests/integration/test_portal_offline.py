"""Offline mode and identity errors: the portal never freezes, never loses the
query, serves saved results and goes back online by itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest
from PySide6.QtCore import QTimer

from client.ui.errors import error_message
from client.ui.widgets import ID_ROLE
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer, ServerProcess
from tests.ui_helpers import PortalHarness, closed_port_url

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


OFFLINE_TEXT = "Offline — showing saved results"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield tmp_path / "portal"
    keyring.set_keyring(previous)


class LoopWatch:
    """Measures the longest gap between 10 ms timer ticks: a blocked GUI
    thread shows up as a long gap."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = time.monotonic()
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(10)

    def _tick(self) -> None:
        now = time.monotonic()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def stop(self) -> float:
        self.timer.stop()
        return self.longest


def test_unreachable_service_offline_banner_no_freeze(qtbot: QtBot, data_dir: Path) -> None:
    h = PortalHarness(qtbot, closed_port_url(), retry_initial_s=0.2, retry_max_s=1.0)
    watch = LoopWatch()
    try:
        h.start()
        h.wait_online(False)
        assert h.window.banners.texts().get("offline") == OFFLINE_TEXT
        assert "Offline" in h.window.status_text
        # Typing still works; nothing saved yet, so the page says so.
        h.window.search_box.setText("printer")
        _q, total, _f = h.wait_shown("printer")
        assert total == 0
        assert h.window.empty_label.isVisible()
        assert "not saved on this computer" in h.window.empty_label.text()
        assert h.window.search_box.text() == "printer"
        # Health checks keep being retried, further and further apart.
        qtbot.waitUntil(lambda: h.portal.retry_interval_s > 0.2, timeout=10000)
        qtbot.wait(1500)
        assert h.portal.retry_interval_s <= 1.0
        for query in ("a", "ab", "abc", "printer"):
            h.window.search_box.setText(query)
        h.wait_shown("printer")
        assert h.portal.online is False
    finally:
        longest = watch.stop()
        h.close()
    assert longest < 0.25, f"event loop stalled for {longest:.3f} s"


def test_saved_results_when_service_goes_down_then_back_online(
    qtbot: QtBot, data_dir: Path, server_process: ServerProcess
) -> None:
    port = server_process.port
    h = PortalHarness(qtbot, server_process.url, retry_initial_s=0.3, retry_max_s=1.0)
    try:
        h.start()
        h.wait_online(True)
        _q, total, first = h.search("invoice")
        assert total > 0
        online_titles = h.window.result_titles()
        h.window.open_article(h.window.results.item(0).data(ID_ROLE))
        qtbot.waitUntil(lambda: h.window.article_title.text() == first, timeout=10000)
        h.window.go_back()
        qtbot.waitUntil(lambda: h.window.categories.count() > 0, timeout=10000)

        server_process.stop()
        watch = LoopWatch()
        h.window.search_box.setText("invoice ")  # same search, re-typed
        h.window.run_search()
        qtbot.waitUntil(lambda: h.portal.online is False, timeout=10000)
        _q, total_cached, first_cached = h.wait_shown("invoice")
        assert (total_cached, first_cached) == (total, first)
        qtbot.waitUntil(lambda: h.window.result_titles() == online_titles, timeout=5000)
        assert "Saved results" in h.window.results_info.text()
        assert h.window.banners.texts().get("offline") == OFFLINE_TEXT
        # The saved article opens too.
        h.window.open_article(h.window.results.item(0).data(ID_ROLE))
        qtbot.waitUntil(lambda: h.window.article_title.text() == first, timeout=5000)
        assert "saved copy" in h.window.article_meta.text()
        assert watch.stop() < 0.25

        # The service comes back on the same address: the portal notices alone.
        server_process.start(port=port or 0)
        h.wait_online(True, timeout=15000)
        assert "offline" not in h.window.banners.texts()
        assert "Online" in h.window.status_text
        qtbot.waitUntil(lambda: "saved copy" not in h.window.article_meta.text(), timeout=10000)
    finally:
        h.close()


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda s: s.sign("cust-exp", ttl=timedelta(minutes=-10)), "token_expired"),
        (
            lambda s: s.sign("cust-sig", secret="not-the-right-secret-at-all-000000"),
            "token_bad_signature",
        ),
        (lambda s: s.sign("cust-kid", kid="nobody-knows-this-kid"), "token_unknown_kid"),
        (lambda s: "abc.def.ghi", "token_malformed"),
    ],
)
def test_identity_errors_show_a_translated_banner(
    qtbot: QtBot,
    live_server: LiveServer,
    data_dir: Path,
    make_token: Callable[[LiveServer], str],
    code: str,
) -> None:
    h = PortalHarness(qtbot, live_server.url)
    try:
        h.start(identity=make_token(live_server))
        qtbot.waitUntil(lambda: "identity" in h.window.banners.texts(), timeout=10000)
        assert h.window.banners.texts()["identity"] == error_message(code)
        assert h.window.customer_name.text() == "Not signed in"
        # Searching still works without a sign-in.
        _q, total, _f = h.search("backup")
        assert total > 0
    finally:
        h.close()


def test_unreadable_identity_input_is_reported(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    h = PortalHarness(qtbot, live_server.url)
    try:
        h.start()
        h.portal.identity_input_error("standard input is a terminal")
        banner = h.window.banners.notice("identity")
        assert banner is not None
        assert banner.text() == error_message("identity_input")
        assert banner.detail() == "standard input is a terminal"
    finally:
        h.close()


def test_identity_given_while_offline_is_exchanged_once_online(
    qtbot: QtBot, data_dir: Path, server_process: ServerProcess
) -> None:
    token = server_process.sign("cust-late", name="Wang Fang")
    port = server_process.port
    server_process.stop()
    h = PortalHarness(qtbot, f"http://127.0.0.1:{port}", retry_initial_s=0.3, retry_max_s=1.0)
    try:
        h.start(identity=token)
        h.wait_online(False)
        assert h.window.customer_name.text() == "Not signed in"
        server_process.start(port=port or 0)
        qtbot.waitUntil(lambda: h.window.customer_name.text() == "Wang Fang", timeout=20000)
        assert "identity" not in h.window.banners.texts()
    finally:
        h.close()
