"""Small building blocks of the portal window: notice banners, the
rich-text result delegate and the locked-down article browser."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAbstractTextDocumentLayout, QDesktopServices, QPainter, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.ui.look import icon

log = logging.getLogger(__name__)

HTML_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role holding the (already escaped) rich text of a result."""
ID_ROLE = Qt.ItemDataRole.UserRole + 2
"""Item data role holding the article id of a result."""
TITLE_ROLE = Qt.ItemDataRole.UserRole + 3
"""Item data role holding the plain title of a result."""

SAFE_LINK_SCHEMES = frozenset({"http", "https", "mailto"})


# -- banners ------------------------------------------------------------------


class Banner(QFrame):
    """One non-modal notice: icon, text, optional action button, close button.

    Signals:
        action_clicked(): the action button was pressed.
        dismissed(): the user closed the banner.
    """

    action_clicked = Signal()
    dismissed = Signal()

    def __init__(self, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.setObjectName("Banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.setSpacing(10)
        self._icon = QLabel(self)
        self._icon.setFixedSize(20, 20)
        self._text = QLabel(self)
        self._text.setObjectName("BannerText")
        self._text.setWordWrap(True)
        self._text.setTextFormat(Qt.TextFormat.PlainText)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._action = QPushButton(self)
        self._action.hide()
        self._action.clicked.connect(self.action_clicked)
        close = QToolButton(self)
        close.setIcon(icon("close"))
        close.setToolTip(self.tr("Dismiss"))
        close.setAccessibleName(self.tr("Dismiss"))
        close.clicked.connect(self.dismissed)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._action, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = "info"

    def set_notice(self, kind: str, text: str, detail: str = "", action: str = "") -> None:
        self.kind = kind
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self._icon.setPixmap(
            icon(kind if kind in ("info", "warning", "error") else "info").pixmap(20, 20)
        )
        self._text.setText(text)
        self._text.setToolTip(detail)
        self._action.setVisible(bool(action))
        self._action.setText(action)

    def text(self) -> str:
        return self._text.text()

    def detail(self) -> str:
        return self._text.toolTip()


class BannerArea(QWidget):
    """A stack of keyed banners; showing a key again replaces its text.

    Signals:
        action(str): the action button of the banner with this key was pressed.
    """

    action = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self._banners: dict[str, Banner] = {}
        self.hide()

    def show_notice(
        self, key: str, kind: str, text: str, *, detail: str = "", action: str = ""
    ) -> None:
        banner = self._banners.get(key)
        if banner is None:
            banner = Banner(key, self)
            banner.dismissed.connect(lambda k=key: self.clear_notice(k))
            banner.action_clicked.connect(lambda k=key: self.action.emit(k))
            self._banners[key] = banner
            self._layout.addWidget(banner)
        banner.set_notice(kind, text, detail, action)
        banner.show()
        self.show()
        log.info("notice %s [%s]: %s", key, kind, text)

    def clear_notice(self, key: str) -> None:
        banner = self._banners.pop(key, None)
        if banner is not None:
            banner.hide()
            banner.deleteLater()
        if not self._banners:
            self.hide()

    def notice(self, key: str) -> Banner | None:
        return self._banners.get(key)

    def texts(self) -> dict[str, str]:
        return {key: banner.text() for key, banner in self._banners.items()}


# -- result list ----------------------------------------------------------------


class RichTextDelegate(QStyledItemDelegate):
    """Draws each item's ``HTML_ROLE`` rich text, wrapped to the view width.

    The HTML is built by :func:`client.ui.highlight.highlight_html`: escaped
    text plus highlight spans, never markup received from the service.
    """

    PADDING = 10

    def __init__(self, view: QListWidget) -> None:
        super().__init__(view)
        self._view = view

    def _document(self, option: QStyleOptionViewItem, html: str, width: int) -> QTextDocument:
        doc = QTextDocument()
        doc.setDocumentMargin(0)
        doc.setDefaultFont(option.font)
        doc.setHtml(html)
        doc.setTextWidth(max(50, width - 2 * self.PADDING))
        return doc

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        html = index.data(HTML_ROLE)
        if not html:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        rect = opt.rect
        opt.text = ""
        style = opt.widget.style() if opt.widget else self._view.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = self._document(opt, str(html), rect.width())
        painter.save()
        painter.translate(rect.left() + self.PADDING, rect.top() + self.PADDING)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.clip = QRectF(0, 0, rect.width() - 2 * self.PADDING, rect.height() - 2 * self.PADDING)
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(
        self,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QSize:
        html = index.data(HTML_ROLE)
        if not html:
            return super().sizeHint(option, index)
        width = self._view.viewport().width()
        doc = self._document(option, str(html), width)
        return QSize(width, int(doc.size().height()) + 2 * self.PADDING)


class ResultList(QListWidget):
    """The search result list; re-lays out its wrapped rows when resized."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Results")
        self.setItemDelegate(RichTextDelegate(self))
        self.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.setMouseTracking(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        # Row heights depend on the width (wrapped text): ask for new hints.
        self.scheduleDelayedItemsLayout()


# -- article browser ------------------------------------------------------------


class ArticleBrowser(QTextBrowser):
    """Shows rendered article HTML and nothing else.

    * ``setOpenLinks(False)``: clicking a link never navigates inside the
      widget; http(s) and mailto links go to the system browser / mail
      program, ``helpbridge://`` links are handed to the portal
      (:attr:`internal_link`), anything else is ignored.
    * :meth:`loadResource` refuses every resource: articles never make the
      portal fetch images or style sheets, remote or local.

    Signals:
        internal_link(QUrl): a ``helpbridge://`` link was clicked.
    """

    internal_link = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ArticleBody")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.blocked_resources: list[str] = []
        self.opened_links: list[str] = []
        self.document().setDocumentMargin(16)

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        # Returning None (an invalid QVariant) means "no such resource".
        url = name.toString() if isinstance(name, QUrl) else str(name)
        self.blocked_resources.append(url)
        log.debug("blocked article resource %s", url)
        return None

    def _on_anchor(self, url: QUrl) -> None:
        scheme = url.scheme().lower()
        if scheme in SAFE_LINK_SCHEMES:
            self.opened_links.append(url.toString())
            QDesktopServices.openUrl(url)
        elif scheme == "helpbridge":
            self.internal_link.emit(url)
        elif not scheme and url.hasFragment():
            self.scrollToAnchor(url.fragment())
        else:
            log.info("ignored article link with scheme %r", scheme)
