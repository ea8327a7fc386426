"""The portal window against a real service: search as you type, highlights,
categories, articles, paging, the signed-in header."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import keyring
import pytest
import requests
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from client.ui.mainwindow import PAGE_ARTICLE, PAGE_HOME, PAGE_RESULTS, MainWindow
from client.ui.widgets import HTML_ROLE
from protocol.models import SearchResults
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer
from tests.ui_helpers import PortalHarness

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


HIGHLIGHTED = re.compile(r"<span style=\"background-color:[^\"]+\">([^<]+)</span>")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield tmp_path / "portal"
    keyring.set_keyring(previous)


@pytest.fixture
def harness(qtbot: QtBot, live_server: LiveServer, data_dir: Path) -> Iterator[PortalHarness]:
    h = PortalHarness(qtbot, live_server.url)
    h.start()
    h.wait_online()
    yield h
    h.close()


@pytest.fixture
def zh_harness(qtbot: QtBot, live_server: LiveServer, data_dir: Path) -> Iterator[PortalHarness]:
    h = PortalHarness(qtbot, live_server.url, locale="zh_CN")
    h.start()
    h.wait_online()
    yield h
    h.close()


def highlighted_words(window: MainWindow, row: int) -> list[str]:
    html = str(window.results.item(row).data(HTML_ROLE))
    return HIGHLIGHTED.findall(html)


def test_typing_searches_once_and_shows_highlighted_results(
    qtbot: QtBot, harness: PortalHarness
) -> None:
    window = harness.window
    calls: list[str] = []
    real_search = harness.portal.search

    def counting_search(query: str, *args: Any, **kwargs: Any) -> None:
        calls.append(query)
        real_search(query, *args, **kwargs)

    harness.portal.search = counting_search  # type: ignore[method-assign]
    window.search_box.setFocus()
    QTest.keyClicks(window.search_box, "invoice")
    _query, total, first = harness.wait_shown("invoice")
    # Debounced: one request for the whole word, not one per keystroke.
    assert calls == ["invoice"]
    assert total > 0
    assert window.pages.currentIndex() == PAGE_RESULTS
    assert window.results.count() == min(total, 10)
    assert first == window.result_titles()[0]
    words = [
        w.lower() for row in range(window.results.count()) for w in highlighted_words(window, row)
    ]
    assert words and all(w.startswith("invoice") for w in words)
    assert "invoice" in window.results_title.text()


def test_chinese_input_method_commit_triggers_search(
    qtbot: QtBot, zh_harness: PortalHarness
) -> None:
    harness = zh_harness
    window = harness.window
    box = window.search_box
    box.setFocus()
    # Composing (preedit) does not change the text, so nothing is searched yet.
    preedit = QInputMethodEvent("fapiao", [])
    QApplication.sendEvent(box, preedit)
    assert box.text() == ""
    qtbot.wait(400)
    assert harness.shown == []
    commit = QInputMethodEvent()
    commit.setCommitString("发票")
    QApplication.sendEvent(box, commit)
    assert box.text() == "发票"
    _query, total, _first = harness.wait_shown("发票")
    assert total > 0
    assert all("发票" in t for t in window.result_titles()[:3])
    words = highlighted_words(window, 0)
    assert words and all(w == "发票" for w in words)


def test_stale_results_are_dropped(qtbot: QtBot, harness: PortalHarness) -> None:
    api = harness.portal.backend.api
    real = api.search
    release = threading.Event()

    def slow_for_old(query: str, **kwargs: Any) -> SearchResults:
        if query == "printer":
            release.wait(10)
        return real(query, **kwargs)

    api.search = slow_for_old  # type: ignore[method-assign]
    window = harness.window
    window.search_box.setText("printer")
    window.run_search()
    window.search_box.setText("backup")
    window.run_search()
    harness.wait_shown("backup")
    titles = window.result_titles()
    release.set()
    # The old answer arrives now and must not replace the new one.
    qtbot.waitUntil(lambda: harness.runner.pending == 0, timeout=10000)
    qtbot.wait(100)
    assert [s[0] for s in harness.shown] == ["backup"]
    assert window.result_titles() == titles
    assert window.search_box.text() == "backup"


def test_more_results(qtbot: QtBot, harness: PortalHarness) -> None:
    _q, total, _first = harness.search("invoice")
    window = harness.window
    assert total > 10, "the demo knowledge base should have more than one page of invoices"
    assert window.more_button.isVisible()
    harness.shown.clear()
    QTest.mouseClick(window.more_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.results.count() == min(total, 20), timeout=10000)
    assert len(set(window.result_titles())) == window.results.count()
    assert window.more_button.isVisible() == (total > 20)


def test_categories_browse_their_articles(
    qtbot: QtBot, harness: PortalHarness, live_server: LiveServer
) -> None:
    window = harness.window
    qtbot.waitUntil(lambda: window.categories.count() > 0, timeout=10000)
    cats = requests.get(
        f"{live_server.url}/api/v1/kb/categories", params={"locale": "en"}, timeout=10
    ).json()["categories"]
    names = [
        window.categories.item(i).data(Qt.ItemDataRole.UserRole)
        for i in range(window.categories.count())
    ]
    assert names == [c["name"] for c in cats]
    target = next(c for c in cats if c["name"] == "Printing")
    item = window.categories.item(names.index("Printing"))
    rect = window.categories.visualItemRect(item)
    QTest.mouseClick(window.categories.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    _q, total, _first = harness.wait_shown("")
    assert total == target["count"]
    assert window.results.count() == target["count"]
    assert window.category_chip.isVisible() and window.category_chip.text() == "Printing"
    assert window.results_title.text() == "Printing"
    # Typing now searches within the category.
    harness.shown.clear()
    window.search_box.setText("printer")
    harness.wait_shown("printer")
    # Removing the filter with an empty box goes home.
    window.search_box.setText("")
    window.run_search()
    QTest.mouseClick(window.category_chip, Qt.MouseButton.LeftButton)
    assert window.pages.currentIndex() == PAGE_HOME
    assert not window.category_chip.isVisible()


def test_open_article_and_go_back(qtbot: QtBot, harness: PortalHarness) -> None:
    harness.search("install")
    window = harness.window
    title = window.result_titles()[0]
    rect = window.results.visualItemRect(window.results.item(0))
    QTest.mouseClick(window.results.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: window.article_title.text() == title, timeout=10000)
    assert window.pages.currentIndex() == PAGE_ARTICLE
    body = window.article_view.toPlainText()
    assert len(body) > 200
    # The leading "# Title" of the Markdown is shown once, as the page title.
    assert not body.lstrip().startswith(title)
    assert "Updated" in window.article_meta.text()
    QTest.mouseClick(window.back_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentIndex() == PAGE_RESULTS
    assert window.result_titles()[0] == title
    assert window.search_box.text() == "install"


class _CountingHandler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_article_with_remote_image_loads_nothing(
    qtbot: QtBot, fresh_server: LiveServer, data_dir: Path
) -> None:
    pixel = HTTPServer(("127.0.0.1", 0), _CountingHandler)
    _CountingHandler.hits = []
    threading.Thread(target=pixel.serve_forever, daemon=True).start()
    image_url = f"http://127.0.0.1:{pixel.server_address[1]}/pixel.png"
    fresh_server.create_agent("writer@example.com")
    token = fresh_server.agent_token("writer@example.com")
    created = requests.post(
        f"{fresh_server.url}/api/v1/kb/articles",
        json={
            "locale": "en",
            "title": "Reading the dashboard",
            "body": (
                "# Reading the dashboard\n\nThe tiles show today's totals.\n\n"
                f"![Dashboard overview]({image_url})\n\n"
                f'<img src="{image_url}?raw">\n\n'
                "See [the manual](https://example.com/manual) for more."
            ),
            "category": "Reports",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    article_id = created.json()["id"]
    h = PortalHarness(qtbot, fresh_server.url)
    try:
        h.start()
        h.window.open_article(article_id)
        qtbot.waitUntil(
            lambda: h.window.article_title.text() == "Reading the dashboard", timeout=10000
        )
        text = h.window.article_view.toPlainText()
        assert "today's totals" in text
        assert "[Dashboard overview]" in text
        assert "<img" in text  # raw HTML is shown as text, not interpreted
        html = h.window.article_view.toHtml()
        assert 'href="https://example.com/manual"' in html
        assert "<img" not in html.replace("&lt;img", "")
        qtbot.wait(300)
        assert _CountingHandler.hits == []
    finally:
        h.close()
        pixel.shutdown()
        pixel.server_close()


def test_header_shows_the_signed_in_customer(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    token = live_server.sign(
        "cust-header",
        name="Li Wei",
        company="Northwind Trading",
        email="li@example.com",
        tier="vip",
    )
    h = PortalHarness(qtbot, live_server.url)
    try:
        h.start(identity=token)
        qtbot.waitUntil(lambda: h.window.customer_name.text() == "Li Wei", timeout=10000)
        assert h.window.customer_company.text() == "Northwind Trading"
        assert h.window.tier_badge.text() == "VIP" and h.window.tier_badge.isVisible()
        for index in (0, 1, 2):  # Help, Tickets, Chat
            assert h.window.sections.isTabEnabled(index)
        assert h.window.banners.texts() == {}
    finally:
        h.close()


def test_search_starts_before_the_service_answers_health(
    qtbot: QtBot, live_server: LiveServer, data_dir: Path
) -> None:
    # A query typed right at start-up is not lost while the portal connects.
    h = PortalHarness(qtbot, live_server.url)
    try:
        h.window.search_box.setText("backup")
        h.start()
        _q, total, _f = h.wait_shown("backup")
        assert total > 0
        assert h.window.search_box.text() == "backup"
    finally:
        h.close()


def test_ui_thread_never_blocks_during_searches(qtbot: QtBot, harness: PortalHarness) -> None:
    gaps: list[float] = []
    last = [time.monotonic()]

    def tick() -> None:
        now = time.monotonic()
        gaps.append(now - last[0])
        last[0] = now

    from PySide6.QtCore import QTimer

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    for query in ("invoice", "printer", "backup", "licence", "password"):
        harness.search(query)
    timer.stop()
    assert max(gaps) < 0.25, f"event loop stalled for {max(gaps):.3f} s"
