""" "Get remote help": the one-time code the customer reads to the agent.

:class:`CodeDialog` only displays; the controller asks the service for codes
(on a worker) and closes the dialog when the agent's request arrives (the
consent dialog follows). The code is shown big, grouped 4 + 4, with the
time it stays valid and a New code button.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from client.ui.look import app_icon

if TYPE_CHECKING:
    from protocol.assist import AssistCode


def group_code(code: str) -> str:
    """``12345678`` → ``1234 5678``."""
    return f"{code[:4]} {code[4:]}" if len(code) == 8 else code


class CodeDialog(QDialog):
    """Signals: new_code_requested(): the customer wants a new code."""

    new_code_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("AssistCode")
        self.setWindowTitle(self.tr("Get remote help"))
        self.setWindowIcon(app_icon())
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.code: AssistCode | None = None
        self._expires = 0.0  # time.monotonic() when the code expires

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 18)
        layout.setSpacing(10)
        intro = QLabel(
            self.tr(
                "Read this code to the support agent on the phone or in the chat. "
                "It works once; nothing is shared until you allow it."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.code_label = QLabel("···· ····", self)
        self.code_label.setObjectName("AssistCodeDigits")
        self.code_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(34)
        font.setWeight(QFont.Weight.Bold)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 4)
        self.code_label.setFont(font)
        self.code_label.setMinimumHeight(72)
        self.code_label.setStyleSheet(
            "#AssistCodeDigits { background: #eff6ff; color: #1e3a8a; border-radius: 8px; }"
        )
        layout.addWidget(self.code_label)
        self.expiry_label = QLabel(self.tr("Getting a code…"), self)
        self.expiry_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.expiry_label.setObjectName("Hint")
        layout.addWidget(self.expiry_label)
        buttons = QHBoxLayout()
        self.new_button = QPushButton(self.tr("New code"), self)
        self.new_button.setAutoDefault(False)
        self.new_button.clicked.connect(self._ask_new)
        close = QPushButton(self.tr("Close"), self)
        close.clicked.connect(self.close)
        buttons.addWidget(self.new_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout.addLayout(buttons)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._tick)
        self.setMinimumWidth(400)

    def _ask_new(self) -> None:
        self.new_button.setEnabled(False)
        self.expiry_label.setText(self.tr("Getting a code…"))
        self.new_code_requested.emit()

    def set_code(self, code: AssistCode, *, now: datetime | None = None) -> None:
        from protocol.assist import CODE_TTL_S

        self.code = code
        now = now or datetime.now(UTC)
        ttl = (code.expires_at - now).total_seconds()
        if not 0 < ttl <= CODE_TTL_S + 60:
            ttl = CODE_TTL_S  # this computer's clock is off: trust the protocol's lifetime
        self._expires = time.monotonic() + ttl
        self.code_label.setText(group_code(code.code))
        self.code_label.setAccessibleName(" ".join(code.code))
        self.new_button.setEnabled(True)
        self._tick()
        self._timer.start()

    def set_error(self, text: str) -> None:
        self.new_button.setEnabled(True)
        self.expiry_label.setText(text)

    @property
    def seconds_left(self) -> int:
        return max(0, int(self._expires - time.monotonic() + 0.999))

    def _tick(self) -> None:
        left = self.seconds_left
        if left <= 0:
            self._timer.stop()
            self.code_label.setText("···· ····")
            self.expiry_label.setText(self.tr("This code has expired. Get a new one."))
            return
        self.expiry_label.setText(
            self.tr("Valid for {minutes}:{seconds:02d}").format(
                minutes=left // 60, seconds=left % 60
            )
        )
