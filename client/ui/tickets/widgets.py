"""Small pieces shared by the ticket screens: a flow layout, chips, status
badges, and :class:`AttachmentBox`, the attachments part of the new-ticket
form and of the reply box (files, screenshots, pasted images, drops).

Every text that comes from the customer or the service is shown with
``Qt.PlainText``: a subject such as ``<b>x</b>`` reads exactly like that.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMimeData,
    QPoint,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage, QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLayoutItem,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.ui.look import icon
from client.ui.tasks import TaskRunner
from client.ui.tickets import files as filecheck
from client.ui.tickets.files import PendingFile, Refused
from client.ui.tickets.text import format_size, status_label

if TYPE_CHECKING:
    from client.ui.capture import ScreenCapture

log = logging.getLogger(__name__)

TICKETS_STYLE = """
#TicketsTitle { font-size: 18px; font-weight: 700; }
#FormLabel { font-weight: 600; color: #374151; }
#FieldHint { color: #6b7280; font-size: 12px; }
#FieldError { color: #b91c1c; }
#PriorityLabel {
    padding: 3px 10px; border-radius: 10px; font-weight: 700;
    color: #1e3a8a; background: #dbeafe;
}
#PriorityLabel[priority="P1"] { color: #ffffff; background: #dc2626; }
#PriorityLabel[priority="P2"] { color: #9a3412; background: #ffedd5; }
#PriorityLabel[priority="P4"], #PriorityLabel[priority="P5"] {
    color: #374151; background: #e5e7eb;
}
#Chip {
    background: #f3f4f6; border: 1px solid #e5e7eb; border-radius: 9px;
}
#Chip[kind="context"] { background: #eef2ff; border: 1px solid #c7d2fe; border-radius: 9px; }
#FormBody, #TimelineBody { background: #ffffff; }
QListWidget#TicketList::item { border-bottom: 1px solid #f0f1f4; padding: 0; }
QListWidget#TicketList::item:selected { background: #eef2ff; border-left: 3px solid #1d4ed8; }
QListWidget#TicketList::item:hover:!selected { background: #f9fafb; }
QPushButton#FilterChip { padding: 3px 12px; border-radius: 12px; border: none; }
QPushButton#FilterChip { background: #f3f4f6; color: #374151; }
QPushButton#FilterChip:checked { background: #1d4ed8; color: #ffffff; }
QToolButton#ScreenshotButton {
    padding: 6px 18px 6px 14px; border-radius: 8px; border: 1px solid #d1d5db; background: #ffffff;
}
QToolButton#ScreenshotButton:hover { background: #f3f4f6; }
QToolButton#ScreenshotButton::menu-indicator { subcontrol-position: right center; right: 6px; }
#ChipText { color: #111827; }
#ChipSize { color: #6b7280; font-size: 12px; }
#StatusBadge {
    padding: 1px 8px; border-radius: 9px; font-size: 12px; font-weight: 600;
    color: #1e40af; background: #dbeafe;
}
#StatusBadge[status="new"] { color: #1e40af; background: #dbeafe; }
#StatusBadge[status="open"] { color: #065f46; background: #d1fae5; }
#StatusBadge[status="pending_customer"] { color: #92400e; background: #fef3c7; }
#StatusBadge[status="resolved"] { color: #374151; background: #e5e7eb; }
#StatusBadge[status="closed"] { color: #6b7280; background: #f3f4f6; }
#StatusBadge[status="sending"] { color: #1d4ed8; background: #eff6ff; }
#StatusBadge[status="saved"] { color: #92400e; background: #fffbeb; }
#StatusBadge[status="failed"] { color: #ffffff; background: #dc2626; }
#UnreadDot { color: #2563eb; font-size: 14px; }
#TicketRow { border-bottom: 1px solid #f0f1f4; }
#TicketRowSubject { font-weight: 600; }
#TicketRowMeta { color: #6b7280; font-size: 12px; }
#RowError { color: #b91c1c; font-size: 12px; }
#Suggestions { background: #f8fafc; border: 1px solid #e5e7eb; border-radius: 8px; }
QPushButton#SuggestionLink {
    border: none; background: transparent; color: #1d4ed8; text-align: left; padding: 2px 4px;
}
QPushButton#SuggestionLink:hover { text-decoration: underline; background: transparent; }
#Bubble { border-radius: 10px; background: #ffffff; border: 1px solid #e5e7eb; }
#Bubble[author="customer"] { background: #eff6ff; border: 1px solid #bfdbfe; }
#Bubble[state="failed"] { border: 1px solid #fca5a5; }
#BubbleAuthor { font-weight: 700; }
#BubbleTime { color: #6b7280; font-size: 12px; }
#TimelineLine { color: #6b7280; font-size: 12px; }
#TicketSubject { font-size: 19px; font-weight: 700; }
#TicketMeta { color: #6b7280; }
#SlaLine { color: #047857; }
#SlaLine[breached="true"] { color: #b91c1c; }
QToolButton#Star { font-size: 22px; color: #d1d5db; padding: 0 2px; }
QToolButton#Star:checked { color: #f59e0b; }
QPushButton#Primary { background: #1d4ed8; color: #ffffff; border: 1px solid #1d4ed8; }
QPushButton#Primary:hover { background: #1e40af; }
QPushButton#Primary:disabled { background: #93c5fd; border: 1px solid #93c5fd; }
QLineEdit#SubjectEdit, QPlainTextEdit#BodyEdit, QComboBox#FormCombo, QLineEdit#CommentEdit {
    padding: 5px 8px; border: 1px solid #d1d5db; border-radius: 6px; background: #ffffff;
}
QLineEdit#SubjectEdit:focus, QPlainTextEdit#BodyEdit:focus { border: 1px solid #1d4ed8; }
QComboBox#FormCombo::drop-down { border: none; width: 24px; }
QComboBox#FormCombo::down-arrow { image: url(@ICONS@/chevron-down.svg); width: 12px; height: 12px; }
"""


def tickets_style() -> str:
    """:data:`TICKETS_STYLE` with the icon folder filled in."""
    from resources import ICONS

    return TICKETS_STYLE.replace("@ICONS@", ICONS.as_posix())


def repolish(widget: QWidget) -> None:
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def clear_layout(layout: QLayout) -> None:
    """Remove and delete every widget of ``layout``."""
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.hide()
            widget.deleteLater()


def plain_label(text: str = "", parent: QWidget | None = None, name: str = "") -> QLabel:
    """A label that never interprets markup."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    if name:
        label.setObjectName(name)
    return label


class ElidedLabel(QLabel):
    """A one-line plain-text label that ends in "…" when it does not fit;
    ``text()`` is always the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None, name: str = "") -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        if name:
            self.setObjectName(name)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def minimumSizeHint(self) -> QSize:
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.width(), 1)
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        QLabel.setText(self, shown)


class FlowLayout(QLayout):
    """Lays widgets out left to right, wrapping onto new lines (Qt's example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        return self.minimumSize()

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        margins = self.contentsMargins()
        return size + QSize(margins.left() + margins.right(), margins.top() + margins.bottom())

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        x, y, line = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            next_x = x + hint.width() + self._spacing
            if next_x - self._spacing > rect.right() and line > 0:
                x, y = rect.x(), y + line + self._spacing
                next_x = x + hint.width() + self._spacing
                line = 0
            if apply:
                item.setGeometry(QRect(QPoint(x, y), hint))
            x = next_x
            line = max(line, hint.height())
        return y + line - rect.y()


class Chip(QFrame):
    """A rounded label: a file (name, size, optional remove or action) or
    a piece of read-only context ("Module: Sales").

    Signals:
        removed(): the ✕ was pressed.
        activated(): the chip's action (download) was pressed.
    """

    removed = Signal()
    activated = Signal()

    def __init__(
        self,
        text: str,
        parent: QWidget | None = None,
        *,
        size: int | None = None,
        removable: bool = False,
        action: str = "",
        kind: str = "file",
        icon_name: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("Chip")
        self.setProperty("kind", kind)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 4 if (removable or action) else 10, 2)
        layout.setSpacing(6)
        if icon_name:
            pic = QLabel(self)
            pic.setPixmap(icon(icon_name).pixmap(14, 14))
            layout.addWidget(pic)
        self.label = plain_label(text, self, "ChipText")
        self.label.setToolTip(text)
        if len(text) > 40:
            self.label.setText(text[:24] + "…" + text[-14:])
        layout.addWidget(self.label)
        self.size_label: QLabel | None = None
        if size is not None:
            self.size_label = plain_label(format_size(size), self, "ChipSize")
            layout.addWidget(self.size_label)
        self.action_button: QToolButton | None = None
        if action:
            self.action_button = QToolButton(self)
            self.action_button.setText(action)
            self.action_button.setToolTip(action)
            self.action_button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.action_button.clicked.connect(self.activated)
            layout.addWidget(self.action_button)
        self.remove_button: QToolButton | None = None
        if removable:
            self.remove_button = QToolButton(self)
            self.remove_button.setIcon(icon("close"))
            self.remove_button.setIconSize(QSize(12, 12))
            self.remove_button.setToolTip(self.tr("Remove"))
            self.remove_button.setAccessibleName(self.tr("Remove {name}").format(name=text))
            self.remove_button.clicked.connect(self.removed)
            layout.addWidget(self.remove_button)

    def text(self) -> str:
        return self.label.toolTip()


class StatusBadge(QLabel):
    """A coloured status word: new, open, waiting for your reply..."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatusBadge")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.status = ""

    def set_status(self, status: str, text: str | None = None) -> None:
        self.status = status
        self.setText(text if text is not None else status_label(status))
        self.setProperty("status", status)
        repolish(self)


def is_submit_key(event: QKeyEvent) -> bool:
    """Ctrl+Enter (either Enter key): send what is being written."""
    return event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and bool(
        event.modifiers() & Qt.KeyboardModifier.ControlModifier
    )


def encode_png(image: QImage) -> bytes:
    """``image`` as PNG bytes (safe on a worker thread)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stub wants bytes; PySide6 takes str
    buffer.close()
    return bytes(data.data())


def local_paths(mime: QMimeData | None) -> list[Path]:
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class AttachmentBox(QWidget):
    """Attachments being written: add files, take a screenshot, paste an
    image, drop files; each shown as a removable chip with its size.

    Files are checked on a worker before they are shown (exists, readable,
    not empty, at most 20 MB, at most 50 MB together); refused ones are named
    with the reason in :attr:`error_label` and are never attached.

    ``keeper(name, bytes) -> Path`` (optional, runs on a worker) stores
    in-memory images on disk, so a draft can refer to them.

    Signals:
        changed(): the list of files changed.
        refused(list): Refused values just turned away.
    """

    changed = Signal()
    refused = Signal(list)

    def __init__(
        self,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        keeper: Callable[[str, bytes], Path] | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.keeper = keeper
        self.files: list[PendingFile] = []
        self._chips: list[Chip] = []
        self._busy = 0
        # Created on first use: the capture package imports mss and numpy.
        self._capture: ScreenCapture | None = None
        self._editor: QWidget | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)

        row = QHBoxLayout()
        row.setSpacing(6)
        self.add_button = QPushButton(icon("folder"), self.tr("Add files…"), self)
        self.add_button.clicked.connect(self.choose_files)
        self.screenshot_button = QToolButton(self)
        self.screenshot_button.setText(self.tr("Screenshot"))
        self.screenshot_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.screenshot_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.screenshot_button.setObjectName("ScreenshotButton")
        menu = QMenu(self.screenshot_button)
        menu.addAction(self.tr("Select a region…"), lambda: self.capture("region"))
        menu.addAction(self.tr("Whole screen"), lambda: self.capture("screen"))
        self.window_action = menu.addAction(self.tr("A window…"), lambda: self.capture("window"))
        self.screenshot_button.setMenu(menu)
        self.paste_button = QPushButton(self.tr("Paste image"), self)
        self.paste_button.setToolTip(self.tr("Attach the picture on the clipboard (Ctrl+V)"))
        self.paste_button.clicked.connect(self.paste)
        row.addWidget(self.add_button)
        row.addWidget(self.screenshot_button)
        row.addWidget(self.paste_button)
        self.hint = plain_label(self.tr("or drop files here"), self, "FieldHint")
        row.addWidget(self.hint)
        row.addStretch(1)
        layout.addLayout(row)

        self.chips_host = QWidget(self)
        self.chips_layout = FlowLayout(self.chips_host)
        self.chips_host.hide()
        layout.addWidget(self.chips_host)
        self.error_label = plain_label("", self, "FieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.setAcceptDrops(True)

    # -- state ----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Files are still being checked or images encoded."""
        return self._busy > 0

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def names(self) -> list[str]:
        return [f.name for f in self.files]

    def chips(self) -> list[Chip]:
        return list(self._chips)

    def set_files(self, files: Sequence[PendingFile]) -> None:
        for chip in self._chips:
            chip.deleteLater()
        self._chips.clear()
        self.files = []
        self._accept(list(files), [], quiet=True)

    def clear(self) -> None:
        self.set_files([])
        self.clear_error()

    def clear_error(self) -> None:
        self.error_label.clear()
        self.error_label.hide()

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    # -- adding -----------------------------------------------------------------

    def choose_files(self) -> None:
        names, _filter = QFileDialog.getOpenFileNames(self, self.tr("Attach files"))
        if names:
            self.add_paths([Path(n) for n in names])

    def add_paths(self, paths: Iterable[Path]) -> None:
        """Check ``paths`` on a worker, then attach those that may be."""
        wanted = list(paths)
        if not wanted:
            return
        self._busy += 1
        self.runner.run_task(lambda: filecheck.inspect(wanted), self._checked, self._check_failed)

    def _checked(self, found: list[PendingFile | Refused]) -> None:
        self._busy -= 1
        added, refused = filecheck.admit(self.files, found)
        self._accept(added, refused)

    def _check_failed(self, exc: BaseException) -> None:
        self._busy -= 1
        log.warning("could not check attached files: %s", exc)
        self.show_error(self.tr("The files could not be checked. Please try again."))

    def add_bytes(self, name: str, data: bytes, kind: str = "image") -> None:
        """Attach in-memory content (kept on disk first when there is a keeper)."""
        name = filecheck.unique_name(name, self.names())
        checked = filecheck.check_bytes(name, data, kind)
        if isinstance(checked, Refused) or self.keeper is None:
            added, refused = filecheck.admit(self.files, [checked])
            self._accept(added, refused)
            return
        keeper = self.keeper
        self._busy += 1

        def keep() -> PendingFile:
            path = keeper(name, data)
            return PendingFile(name, len(data), path=path, kind=kind)

        self.runner.run_task(keep, lambda kept: self._checked([kept]), self._check_failed)

    def add_image(self, image: QImage, name: str = "image.png") -> None:
        """Attach a QImage as PNG (encoded on a worker)."""
        if image.isNull():
            return
        self._busy += 1
        copy = QImage(image)

        def encoded(data: bytes) -> None:
            self._busy -= 1
            self.add_bytes(name, data, "image")

        self.runner.run_task(lambda: encode_png(copy), encoded, self._check_failed)

    def _accept(
        self, added: list[PendingFile], refused: list[Refused], *, quiet: bool = False
    ) -> None:
        for item in added:
            self.files.append(item)
            icon_name = "article" if item.kind == "diagnostics" else "folder"
            chip = Chip(
                item.name, self.chips_host, size=item.size, removable=True, icon_name=icon_name
            )
            chip.removed.connect(lambda f=item, c=chip: self.remove(f, c))
            self.chips_layout.addWidget(chip)
            self._chips.append(chip)
        self.chips_host.setVisible(bool(self._chips))
        if refused:
            self.show_error("\n".join(r.message() for r in refused))
            for r in refused:
                log.info("attachment refused: %s", r.reason)
            self.refused.emit(refused)
        elif added:
            self.clear_error()
        self.chips_host.updateGeometry()
        if added and not quiet:
            self.changed.emit()

    def remove(self, item: PendingFile, chip: Chip) -> None:
        if item in self.files:
            self.files.remove(item)
        if chip in self._chips:
            self._chips.remove(chip)
        chip.hide()
        chip.deleteLater()
        self.chips_host.setVisible(bool(self._chips))
        self.changed.emit()

    # -- clipboard and drops ---------------------------------------------------------

    def paste(self) -> bool:
        """Attach the clipboard's image (or copied files). False if it holds neither."""
        from PySide6.QtGui import QClipboard, QGuiApplication

        from client.core.imaging import ImageError
        from client.ui.capture import image_error_message, image_from_clipboard

        mime = QGuiApplication.clipboard().mimeData(QClipboard.Mode.Clipboard)
        paths = local_paths(mime)
        if paths:
            self.add_paths(paths)
            return True
        try:
            image = image_from_clipboard()
        except ImageError as exc:
            self.show_error(image_error_message(exc))
            return True
        if image is None:
            self.show_error(self.tr("The clipboard holds no picture or file to attach."))
            return False
        self.add_image(image, "pasted-image.png")
        return True

    @staticmethod
    def clipboard_has_attachment() -> bool:
        """True when Ctrl+V should attach rather than paste text."""
        from PySide6.QtGui import QClipboard, QGuiApplication

        mime = QGuiApplication.clipboard().mimeData(QClipboard.Mode.Clipboard)
        if mime is None:
            return False
        return (mime.hasImage() and not mime.hasText()) or bool(local_paths(mime))

    def accepts(self, mime: QMimeData | None) -> bool:
        return bool(local_paths(mime)) or bool(mime is not None and mime.hasImage())

    def drop(self, mime: QMimeData | None) -> bool:
        paths = local_paths(mime)
        if paths:
            self.add_paths(paths)
            return True
        if mime is not None and mime.hasImage():
            data = mime.imageData()
            image = data if isinstance(data, QImage) else QImage(data)
            if not image.isNull():
                self.add_image(image, "dropped-image.png")
                return True
        return False

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.accepts(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.drop(event.mimeData()):
            event.acceptProposedAction()

    # -- screenshots ----------------------------------------------------------------------

    def screen_capture(self) -> ScreenCapture:
        """The capture helper (made on first use: it brings in mss and numpy)."""
        from client.ui.capture import ScreenCapture

        if self._capture is None:
            capture = ScreenCapture(self)
            capture.captured.connect(self.edit_image)
            capture.failed.connect(self.show_error)
            self._capture = capture
        return self._capture

    def capture(self, mode: str) -> None:
        """Hide the portal, let the customer pick, then annotate and attach."""
        self.screen_capture().capture(mode, self.window())

    def edit_image(self, image: QImage | bytes | None) -> QWidget:
        """Open the annotation editor on ``image``; its PNG is attached when accepted."""
        from client.ui.capture import AnnotationEditor

        editor = AnnotationEditor(image, self.window(), runner=self.runner)
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.exported.connect(lambda png: self.add_bytes("screenshot.png", bytes(png), "image"))
        self._editor = editor
        editor.open()
        return editor

    def update_capture_options(self) -> None:
        from client.ui.capture import window_capture_supported

        self.window_action.setVisible(window_capture_supported())
