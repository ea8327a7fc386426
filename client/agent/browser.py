"""The read-only rich-text view of a timeline.

It never loads a resource (no remote images, no local files) and never
navigates: ``attachment:ID`` and ``article:ID`` links are reported as
signals, web links open in the system browser, anything else is ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QTextBrowser, QWidget

log = logging.getLogger(__name__)


class TimelineBrowser(QTextBrowser):
    """Signals: attachment_clicked(int), article_clicked(int)."""

    attachment_clicked = Signal(int)
    article_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Timeline")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.document().setDocumentMargin(12)

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        return None  # nothing in a timeline is fetched

    def _on_anchor(self, url: QUrl) -> None:
        scheme = url.scheme().lower()
        target = url.path() or url.toString().partition(":")[2]
        if scheme in ("attachment", "article") and target.isdigit():
            if scheme == "attachment":
                self.attachment_clicked.emit(int(target))
            else:
                self.article_clicked.emit(int(target))
        elif scheme in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
        else:
            log.info("ignored timeline link with scheme %r", scheme)

    def set_timeline(self, html: str, *, keep_position: bool = False) -> None:
        """Replace the content; scroll to the end unless the reader had
        scrolled up and ``keep_position`` asks to keep their place."""
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        old = bar.value()
        self.setHtml(html)
        if keep_position and not at_end:
            bar.setValue(old)
        else:
            bar.setValue(bar.maximum())

    def plain_text(self) -> str:
        return self.toPlainText()
