"""The pieces of the conversation view: message bubbles, the bot's article
cards, system lines, day separators and the typing line.

Every text that came over the network — messages, names, article titles
and snippets, file names — is shown with ``Qt.TextFormat.PlainText``: markup
in a message is shown as the characters typed, never interpreted.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.core.chatstore import StoredMessage
from client.ui.chat.text import state_label, time_label
from client.ui.look import icon
from client.ui.tickets.text import format_size

MAX_ARTICLES = 3


def plain_label(text: str, parent: QWidget, name: str = "", *, wrap: bool = True) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if name:
        label.setObjectName(name)
    return label


class ArticleCard(QFrame):
    """One suggested article; a click (or Enter) opens it."""

    activated = Signal(int)

    def __init__(self, article: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ArticleCard")
        self.article_id = int(article.get("id", 0))
        self.title = str(article.get("title", ""))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip(QCoreApplication.translate("Chat", "Open this article"))
        self.setAccessibleName(self.title)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 7, 10, 8)
        layout.setSpacing(2)
        top = QHBoxLayout()
        top.setSpacing(6)
        glyph = QLabel(self)
        glyph.setPixmap(icon("article").pixmap(16, 16))
        top.addWidget(glyph, 0, Qt.AlignmentFlag.AlignTop)
        self.title_label = plain_label(self.title, self, "ArticleCardTitle")
        top.addWidget(self.title_label, 1)
        layout.addLayout(top)
        snippet = str(article.get("snippet", ""))
        if snippet:
            self.snippet_label = plain_label(snippet, self, "ArticleCardSnippet")
            layout.addWidget(self.snippet_label)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(
            event.position().toPoint()
        ):
            self.activated.emit(self.article_id)
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.activated.emit(self.article_id)
            return
        super().keyPressEvent(event)


class MessageBubble(QWidget):
    """One message: the customer's on the right, support's and the bot's on
    the left, with its time and (for the customer's own) its state.

    Signals:
        retry(str), discard(str): a failed message's client id.
        article_requested(int): an article card was clicked.
        feedback(int, bool): the bot answer ``seq`` solved it (True) or not.
        attachment_requested(object): an attachment (its JSON) was clicked.
    """

    retry = Signal(str)
    discard = Signal(str)
    article_requested = Signal(int)
    feedback = Signal(int, bool)
    attachment_requested = Signal(object)

    def __init__(self, message: StoredMessage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.setObjectName("BubbleRow")
        self.side = "mine" if message.own else ("bot" if message.sender_kind == "bot" else "theirs")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 2, 0, 2)
        row.setSpacing(0)
        self.frame = QFrame(self)
        self.frame.setObjectName("Bubble")
        self.frame.setProperty("side", self.side)
        self.frame.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Preferred)
        box = QVBoxLayout(self.frame)
        box.setContentsMargins(12, 8, 12, 6)
        box.setSpacing(4)
        if self.side != "mine":
            name = message.sender_name or (
                QCoreApplication.translate("Chat", "Assistant")
                if message.sender_kind == "bot"
                else QCoreApplication.translate("Chat", "Support")
            )
            self.sender_label = plain_label(name, self.frame, "BubbleSender", wrap=False)
            box.addWidget(self.sender_label)
        self.text_label = plain_label(message.text, self.frame, "BubbleText")
        self.text_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.text_label.setVisible(bool(message.text))
        box.addWidget(self.text_label)
        self.attachment_buttons: list[QToolButton] = []
        for attachment in message.attachments:
            chip = QToolButton(self.frame)
            chip.setObjectName("AttachmentChip")
            name = str(attachment.get("filename", "file"))
            size = attachment.get("size")
            label = f"{name} · {format_size(int(size))}" if isinstance(size, int) else name
            chip.setText(label)
            chip.setIcon(icon("article"))
            chip.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            chip.setToolTip(QCoreApplication.translate("Chat", "Save and open this file"))
            chip.clicked.connect(lambda _=False, a=attachment: self.attachment_requested.emit(a))
            box.addWidget(chip, 0, Qt.AlignmentFlag.AlignLeft)
            self.attachment_buttons.append(chip)
        self.cards: list[ArticleCard] = []
        for article in message.articles[:MAX_ARTICLES]:
            card = ArticleCard(article, self.frame)
            card.activated.connect(self.article_requested)
            box.addWidget(card)
            self.cards.append(card)
        self.feedback_row = QWidget(self.frame)
        fb = QHBoxLayout(self.feedback_row)
        fb.setContentsMargins(0, 2, 0, 0)
        fb.setSpacing(6)
        # The bot's own text asks "Did this solve it?": only the answers here.
        self.yes_button = QPushButton(QCoreApplication.translate("Chat", "Yes"), self.feedback_row)
        self.no_button = QPushButton(
            QCoreApplication.translate("Chat", "No, talk to a person"), self.feedback_row
        )
        for button in (self.yes_button, self.no_button):
            button.setObjectName("FeedbackButton")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.yes_button.clicked.connect(lambda: self._answer(True))
        self.no_button.clicked.connect(lambda: self._answer(False))
        fb.addWidget(self.yes_button)
        fb.addWidget(self.no_button)
        fb.addStretch(1)
        self.feedback_row.setVisible(False)
        box.addWidget(self.feedback_row)
        self.answered = False

        meta = QHBoxLayout()
        meta.setSpacing(8)
        self.meta_label = plain_label("", self.frame, "BubbleMeta", wrap=False)
        if self.side == "mine":
            meta.addStretch(1)
        meta.addWidget(self.meta_label)
        self.retry_button = QToolButton(self.frame)
        self.retry_button.setObjectName("RetryButton")
        self.retry_button.setText(QCoreApplication.translate("Chat", "⟳ Retry"))
        self.retry_button.setToolTip(QCoreApplication.translate("Chat", "Send this message again"))
        self.retry_button.clicked.connect(lambda: self.retry.emit(self.message.client_id or ""))
        self.discard_button = QToolButton(self.frame)
        self.discard_button.setObjectName("RetryButton")
        self.discard_button.setText(QCoreApplication.translate("Chat", "Delete"))
        self.discard_button.setToolTip(
            QCoreApplication.translate("Chat", "Do not send this message")
        )
        self.discard_button.clicked.connect(lambda: self.discard.emit(self.message.client_id or ""))
        meta.addWidget(self.retry_button)
        meta.addWidget(self.discard_button)
        if self.side != "mine":
            meta.addStretch(1)
        box.addLayout(meta)

        if self.side == "mine":
            row.addStretch(1)
            row.addWidget(self.frame)
        else:
            row.addWidget(self.frame)
            row.addStretch(1)
        self.set_message(message)

    # -- state --------------------------------------------------------------------------

    def set_message(self, message: StoredMessage) -> None:
        """Show a newer version of the same message (state, seq)."""
        self.message = message
        parts = [time_label(message.created_at)]
        state = state_label(message.state) if message.own else ""
        if state:
            parts.append(state)
        self.meta_label.setText(" · ".join(parts))
        self.meta_label.setProperty("state", message.state)
        failed = message.state == "failed"
        self.retry_button.setVisible(failed)
        self.discard_button.setVisible(failed)
        if failed and message.error:
            self.meta_label.setToolTip(message.error)
        else:
            self.meta_label.setToolTip("")
        self.frame.setProperty("state", message.state)
        for widget in (self.frame, self.meta_label):
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    @property
    def state_text(self) -> str:
        return self.meta_label.text()

    def set_bubble_width(self, width: int) -> None:
        """At most ``width`` wide; as wide as the text needs up to that (a
        word-wrapped label alone would settle for its narrowest layout)."""
        width = max(200, width)
        self.frame.setMaximumWidth(width)
        inner = width - 26
        self.text_label.setMinimumWidth(min(natural_width(self.text_label), inner))
        if self.cards or self.feedback_row.isVisibleTo(self):
            self.frame.setMinimumWidth(min(width, 420))

    # -- bot feedback -------------------------------------------------------------------------

    def set_feedback_open(self, open_: bool) -> None:
        """Offer "Did this solve it?" (only on the newest bot answer)."""
        self.feedback_row.setVisible(open_ and bool(self.cards) and not self.answered)

    def _answer(self, helpful: bool) -> None:
        if self.message.seq is None:
            return
        # The service answers in the conversation itself ("Glad that helped",
        # "Connecting you to a person"); the buttons just go away.
        self.answered = True
        self.feedback_row.hide()
        self.feedback.emit(self.message.seq, helpful)


class SystemLine(QWidget):
    """A centred line: system messages, conversation ends, a ticket was made."""

    action = Signal()

    def __init__(self, text: str, parent: QWidget | None = None, *, action: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("SystemLine")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 6, 0, 6)
        row.setSpacing(6)
        row.addStretch(1)
        self.label = plain_label(text, self, "SystemText")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setMinimumWidth(min(natural_width(self.label), 560))
        row.addWidget(self.label, 0)
        self.button: QPushButton | None = None
        if action:
            self.button = QPushButton(action, self)
            self.button.setObjectName("LinkButton")
            self.button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.button.clicked.connect(self.action)
            row.addWidget(self.button, 0)
        row.addStretch(1)

    def text(self) -> str:
        return self.label.text()

    def set_text(self, text: str) -> None:
        self.label.setText(text)


class DaySeparator(QWidget):
    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("DaySeparator")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 10, 0, 4)
        row.setSpacing(10)
        self.label = plain_label(text, self, "DayLabel", wrap=False)
        for widget in (_line(self), self.label, _line(self)):
            row.addWidget(widget, 0 if widget is self.label else 1)

    def text(self) -> str:
        return self.label.text()


def natural_width(label: QLabel) -> int:
    """The width ``label``'s text takes without wrapping (its longest line)."""
    label.ensurePolished()
    metrics = label.fontMetrics()
    lines = label.text().splitlines() or [""]
    margins = label.contentsMargins()
    extra = margins.left() + margins.right() + 2 * label.margin() + 24
    return max(metrics.horizontalAdvance(line) for line in lines) + extra


def _line(parent: QWidget) -> QFrame:
    line = QFrame(parent)
    line.setObjectName("SeparatorLine")
    line.setFrameShape(QFrame.Shape.HLine)
    return line
