"""Article browser safety, banners, result rendering and the settings dialog."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QObject, QPoint, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox

from client.ui.settings import (
    DEFAULT_SERVER_URL,
    PortalSettings,
    SettingsDialog,
    normalize_server_url,
    open_qsettings,
)
from client.ui.widgets import HTML_ROLE, ArticleBrowser, BannerArea, ResultList

if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot


class UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


@pytest.fixture
def catcher(qapp: QApplication) -> Iterator[UrlCatcher]:
    c = UrlCatcher()
    for scheme in ("http", "https", "mailto", "file", "javascript", "smb"):
        # The stub says bytes; PySide6 only accepts the method name as str.
        QDesktopServices.setUrlHandler(scheme, c, "open")  # type: ignore[arg-type]
    yield c
    for scheme in ("http", "https", "mailto", "file", "javascript", "smb"):
        QDesktopServices.unsetUrlHandler(scheme)


def test_article_browser_loads_no_resources(qtbot: QtBot) -> None:
    browser = ArticleBrowser()
    qtbot.addWidget(browser)
    browser.setHtml(
        '<p>before</p><img src="http://127.0.0.1:9/track.png" alt="x">'
        '<img src="file:///etc/hostname">'
        "<p>after</p>"
    )
    browser.resize(400, 300)
    browser.show()
    qtbot.waitExposed(browser)
    assert "http://127.0.0.1:9/track.png" in browser.blocked_resources
    assert "file:///etc/hostname" in browser.blocked_resources
    # Nothing was loaded into the document for those names.
    doc = browser.document()
    assert (
        doc.resource(QTextDocument.ResourceType.ImageResource, QUrl("http://127.0.0.1:9/track.png"))
        is None
    )
    assert "before" in browser.toPlainText() and "after" in browser.toPlainText()


def test_article_links_open_in_system_browser_only_for_safe_schemes(
    qtbot: QtBot, catcher: UrlCatcher
) -> None:
    browser = ArticleBrowser()
    qtbot.addWidget(browser)
    internal: list[str] = []
    browser.internal_link.connect(lambda url: internal.append(url.toString()))
    for url in (
        "https://example.com/a",
        "http://example.com/b",
        "mailto:support@example.com",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "smb://server/share",
        "helpbridge://article/3",
    ):
        browser.anchorClicked.emit(QUrl(url))
    assert catcher.urls == [
        "https://example.com/a",
        "http://example.com/b",
        "mailto:support@example.com",
    ]
    assert internal == ["helpbridge://article/3"]
    # The widget itself never navigated away.
    assert browser.source().isEmpty()


def test_clicking_a_link_does_not_navigate(qtbot: QtBot, catcher: UrlCatcher) -> None:
    browser = ArticleBrowser()
    qtbot.addWidget(browser)
    browser.setHtml('<p><a href="https://example.com/doc">docs</a></p>')
    browser.resize(300, 200)
    browser.show()
    qtbot.waitExposed(browser)
    cursor = browser.document().find("docs")
    rect = browser.cursorRect(cursor)
    pos = QPoint(rect.left() - 8, rect.center().y())
    QTest.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: catcher.urls == ["https://example.com/doc"], timeout=2000)
    assert "docs" in browser.toPlainText()


def test_banner_area(qtbot: QtBot) -> None:
    area = BannerArea()
    qtbot.addWidget(area)
    assert area.isHidden()
    actions: list[str] = []
    area.action.connect(actions.append)
    area.show_notice("offline", "warning", "Offline", detail="why", action="Retry")
    area.show_notice("identity", "error", "Expired")
    area.show_notice("offline", "warning", "Still offline", action="Retry")
    assert area.texts() == {"offline": "Still offline", "identity": "Expired"}
    banner = area.notice("offline")
    assert banner is not None and banner.kind == "warning"
    banner.action_clicked.emit()
    assert actions == ["offline"]
    area.clear_notice("offline")
    identity = area.notice("identity")
    assert identity is not None
    identity.dismissed.emit()
    assert area.texts() == {}
    assert area.isHidden()


def test_result_rows_grow_with_wrapped_text(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QListWidgetItem

    view = ResultList()
    qtbot.addWidget(view)
    view.resize(600, 400)
    short, long = QListWidgetItem(), QListWidgetItem()
    short.setData(HTML_ROLE, "<b>Short</b>")
    long.setData(HTML_ROLE, "<b>Long</b><br>" + "word " * 200)
    view.addItem(short)
    view.addItem(long)
    view.show()
    qtbot.waitExposed(view)
    h_short = view.visualItemRect(short).height()
    h_long = view.visualItemRect(long).height()
    assert h_long > 3 * h_short


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765"),
        ("https://help.example.com", "https://help.example.com"),
        (" https://help.example.com/base/ ", "https://help.example.com/base"),
        ("ftp://x", None),
        ("http://", None),
        ("http://host:99999", None),
        ("https://user:pw@host", None),
        ("https://host/?q=1", None),
        ("", None),
    ],
)
def test_normalize_server_url(url: str, expected: str | None) -> None:
    assert normalize_server_url(url) == expected


def test_settings_are_kept_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: QApplication
) -> None:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path))
    settings = PortalSettings(open_qsettings())
    assert settings.server_url == DEFAULT_SERVER_URL
    assert settings.language == "system"
    settings.server_url = "http://127.0.0.1:1234"
    settings.language = "zh_CN"
    settings.tray_message_shown = True
    settings.sync()
    again = PortalSettings(open_qsettings())
    assert again.server_url == "http://127.0.0.1:1234"
    assert again.language == "zh_CN"
    assert again.tray_message_shown is True
    assert (tmp_path / "settings.ini").is_file()
    settings.language = "klingon"
    assert settings.language == "system"


def test_settings_dialog_validates(qtbot: QtBot) -> None:
    dialog = SettingsDialog("http://127.0.0.1:8765", "zh_CN")
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert dialog.language() == "zh_CN"
    dialog.server_edit.setText("not a url")
    assert not ok.isEnabled()
    assert dialog.error_label.isVisibleTo(dialog)
    dialog.accept()
    assert dialog.result() == 0
    dialog.server_edit.setText("https://help.example.com/")
    assert ok.isEnabled()
    dialog.language_combo.setCurrentIndex(dialog.language_combo.findData("en"))
    dialog.accept()
    assert dialog.result() == 1
    assert dialog.server_url() == "https://help.example.com"
    assert dialog.language() == "en"
