"""Where the customer writes: the text box, files waiting to be sent, and
the buttons to attach a screenshot or a file.

Enter sends, Shift+Enter starts a new line. An input method's composition
is not a key press here (Qt delivers it as an input-method event), so
pressing Enter to pick a Chinese candidate never sends the message. Pasting
an image attaches it instead of inserting it; pasted text is inserted as
plain text.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMimeData, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeyEvent, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.ui.capture.sources import local_files
from client.ui.look import icon
from client.ui.tickets.text import format_size
from protocol.realtime import MAX_ATTACHMENTS, MAX_TEXT_CHARS

MAX_FILE_BYTES = 20 * 1024 * 1024
"""The service's limit for one file (protocol.tickets.DEFAULT_MAX_FILE_BYTES)."""
MAX_LINES = 6


@dataclass
class PendingAttachment:
    """A file waiting in the composer: on disk (``path``) or in memory (``data``)."""

    name: str
    size: int
    path: Path | None = None
    data: bytes | None = None
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    """The upload key, made once: uploading again after a failure stores nothing twice."""
    info: dict[str, object] | None = None
    """The service's AttachmentInfo once uploaded."""


class ChatInput(QPlainTextEdit):
    """The message box.

    Signals:
        submit(): Enter was pressed.
        image_pasted(QImage): an image was pasted.
        files_pasted(list): local files were pasted (copied in a file manager).
    """

    submit = Signal()
    image_pasted = Signal(QImage)
    files_pasted = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ChatInput")
        self.setTabChangesFocus(True)
        self.setPlaceholderText(
            QCoreApplication.translate("Chat", "Write a message… (Shift+Enter for a new line)")
        )
        self.setAccessibleName(QCoreApplication.translate("Chat", "Message"))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if mods == Qt.KeyboardModifier.NoModifier:
                self.submit.emit()
                return
            if mods & Qt.KeyboardModifier.ShiftModifier:
                self.insertPlainText("\n")
                return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return (
            source.hasImage() or bool(local_files(source)) or super().canInsertFromMimeData(source)
        )

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = local_files(source)
        if files:
            self.files_pasted.emit(files)
            return
        if source.hasImage():
            data = source.imageData()
            image = data if isinstance(data, QImage) else QImage(data)
            if not image.isNull():
                self.image_pasted.emit(image)
                return
        if source.hasText():
            # Plain text only: formatting from a web page means nothing here.
            self.insertPlainText(source.text())

    def _fit(self) -> None:
        lines = max(1, min(MAX_LINES, int(self.document().size().height())))
        line = self.fontMetrics().lineSpacing()
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(lines * line + frame + 4)


def _drawn_icon(draw: Callable[[QPainter], None]) -> QIcon:
    """A 24×24 line icon (at 1× and 2×) in the portal's muted ink."""
    out = QIcon()
    for scale in (1, 2):
        pixmap = QPixmap(24 * scale, 24 * scale)
        pixmap.setDevicePixelRatio(scale)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("#4b5563"), 1.8)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        draw(painter)
        painter.end()
        out.addPixmap(pixmap)
    return out


def camera_icon() -> QIcon:
    def draw(p: QPainter) -> None:
        p.drawRoundedRect(QRectF(3, 7, 18, 13), 2.5, 2.5)
        p.drawPolyline([QPointF(8, 7), QPointF(9.5, 4.5), QPointF(14.5, 4.5), QPointF(16, 7)])
        p.drawEllipse(QPointF(12, 13.5), 3.6, 3.6)

    return _drawn_icon(draw)


def paperclip_icon() -> QIcon:
    def draw(p: QPainter) -> None:
        path = QPainterPath(QPointF(15.5, 7))
        path.lineTo(15.5, 16)
        path.arcTo(QRectF(9, 12.5, 6.5, 7), 0, -180)
        path.lineTo(9, 6.5)
        path.arcTo(QRectF(9, 3, 9.5, 7), 180, -180)
        path.lineTo(18.5, 16.5)
        path.arcTo(QRectF(6, 10, 12.5, 11.5), 0, -180)
        path.lineTo(6, 8)
        p.drawPath(path)

    return _drawn_icon(draw)


class AttachmentChip(QFrame):
    removed = Signal(object)

    def __init__(self, item: PendingAttachment, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.setObjectName("PendingChip")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 2, 2)
        row.setSpacing(4)
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setText(f"{item.name} · {format_size(item.size)}")
        row.addWidget(label)
        remove = QToolButton(self)
        remove.setIcon(icon("close"))
        remove.setToolTip(QCoreApplication.translate("Chat", "Remove this file"))
        remove.setAccessibleName(QCoreApplication.translate("Chat", "Remove this file"))
        remove.clicked.connect(lambda: self.removed.emit(self.item))
        row.addWidget(remove)


class Composer(QFrame):
    """Text box, attachments and buttons.

    Signals:
        send_requested(): Enter or the send button.
        capture_requested(): the screenshot button.
        attach_requested(): the file button.
        text_edited(): the text changed (drafts are saved from it).
        typing(): a key that changes the text was pressed (typing indicator).
    """

    send_requested = Signal()
    capture_requested = Signal()
    attach_requested = Signal()
    text_edited = Signal()
    attachments_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Composer")
        self.attachments: list[PendingAttachment] = []
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 8, 10, 8)
        outer.setSpacing(6)
        self.strip = QWidget(self)
        self.strip_layout = QHBoxLayout(self.strip)
        self.strip_layout.setContentsMargins(0, 0, 0, 0)
        self.strip_layout.setSpacing(6)
        self.strip_layout.addStretch(1)
        self.strip.hide()
        outer.addWidget(self.strip)
        self.notice = QLabel(self)
        self.notice.setObjectName("ComposerNotice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.hide()
        outer.addWidget(self.notice)

        row = QHBoxLayout()
        row.setSpacing(4)
        self.capture_button = QToolButton(self)
        self.capture_button.setObjectName("ComposerButton")
        self.capture_button.setText(QCoreApplication.translate("Chat", "Screenshot"))
        self.capture_button.setToolTip(
            QCoreApplication.translate("Chat", "Take a screenshot and mark it up before sending")
        )
        self.capture_button.setIcon(camera_icon())
        self.capture_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.capture_button.clicked.connect(self.capture_requested)
        self.attach_button = QToolButton(self)
        self.attach_button.setObjectName("ComposerButton")
        self.attach_button.setText(QCoreApplication.translate("Chat", "Attach"))
        self.attach_button.setToolTip(QCoreApplication.translate("Chat", "Attach a file"))
        self.attach_button.setIcon(paperclip_icon())
        self.attach_button.clicked.connect(self.attach_requested)
        for button in (self.capture_button, self.attach_button):
            button.setAccessibleName(button.toolTip())
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.input = ChatInput(self)
        self.input.submit.connect(self.send_requested)
        self.input.textChanged.connect(self._on_text)
        self.send_button = QToolButton(self)
        self.send_button.setObjectName("SendButton")
        self.send_button.setText(QCoreApplication.translate("Chat", "Send"))
        self.send_button.setToolTip(QCoreApplication.translate("Chat", "Send (Enter)"))
        self.send_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.send_button.clicked.connect(self.send_requested)
        row.addWidget(self.capture_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        outer.addLayout(row)
        self.counter = QLabel(self)
        self.counter.setObjectName("ComposerNotice")
        self.counter.hide()
        outer.addWidget(self.counter, 0, Qt.AlignmentFlag.AlignRight)
        self._update_send()

    # -- text ------------------------------------------------------------------------

    def text(self) -> str:
        return self.input.toPlainText()

    def set_text(self, text: str) -> None:
        self.input.setPlainText(text)
        self.input.moveCursor(self.input.textCursor().MoveOperation.End)

    def clear(self) -> None:
        self.input.clear()
        self.attachments.clear()
        self._rebuild_strip()

    def _on_text(self) -> None:
        length = len(self.text())
        over = length > MAX_TEXT_CHARS
        self.counter.setVisible(length > MAX_TEXT_CHARS - 500)
        self.counter.setText(f"{length} / {MAX_TEXT_CHARS}")
        self.counter.setProperty("over", over)
        self.counter.style().unpolish(self.counter)
        self.counter.style().polish(self.counter)
        self._update_send()
        self.text_edited.emit()

    def _update_send(self) -> None:
        text = self.text()
        ok = (bool(text.strip()) or bool(self.attachments)) and len(text) <= MAX_TEXT_CHARS
        self.send_button.setEnabled(ok)

    @property
    def sendable(self) -> bool:
        return self.send_button.isEnabled()

    def show_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    # -- files --------------------------------------------------------------------------

    def add_attachment(self, item: PendingAttachment) -> str | None:
        """Attach a file; returns a sentence saying why not, or None."""
        if len(self.attachments) >= MAX_ATTACHMENTS:
            return QCoreApplication.translate("Chat", "A message can carry at most 10 files.")
        if item.size <= 0:
            return QCoreApplication.translate("Chat", "“{name}” is empty.").format(name=item.name)
        if item.size > MAX_FILE_BYTES:
            return QCoreApplication.translate(
                "Chat", "“{name}” is larger than 20 MB and cannot be sent."
            ).format(name=item.name)
        self.attachments.append(item)
        self._rebuild_strip()
        return None

    def remove_attachment(self, item: PendingAttachment) -> None:
        if item in self.attachments:
            self.attachments.remove(item)
            self._rebuild_strip()

    def _rebuild_strip(self) -> None:
        while self.strip_layout.count() > 1:
            taken = self.strip_layout.takeAt(0)
            widget = taken.widget() if taken is not None else None
            if widget is not None:
                widget.deleteLater()
        for item in self.attachments:
            chip = AttachmentChip(item, self.strip)
            chip.removed.connect(self.remove_attachment)
            self.strip_layout.insertWidget(self.strip_layout.count() - 1, chip)
        self.strip.setVisible(bool(self.attachments))
        self._update_send()
        self.attachments_changed.emit()

    def set_busy(self, busy: bool) -> None:
        """While files upload: keep everything, allow no second send."""
        for widget in (self.capture_button, self.attach_button, self.send_button):
            widget.setEnabled(not busy)
        self.input.setReadOnly(busy)
        if not busy:
            self._update_send()
