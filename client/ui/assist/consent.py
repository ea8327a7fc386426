"""The customer's answer to a remote-assist request: view, then control.

:class:`ConsentDialog` is a top-level window (no parent), kept on top and
raised when shown, so it is seen even when the portal is hidden in the
tray. It names the agent and their company as the service knows them (the
session's ``agent`` party: verified by the service, not typed by the
agent), says what they ask for, and counts down: when the time is up it
answers Deny by itself (``timed_out``). Deny is the default button, and
closing the window or pressing Escape denies too.

The same dialog asks the second question, control, with a checkbox for
sharing the clipboard (off by default).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from client.ui.look import app_icon

if TYPE_CHECKING:
    from protocol.assist import AssistSession

Kind = Literal["view", "control"]


@dataclass(frozen=True, slots=True)
class ConsentAnswer:
    allow: bool
    timed_out: bool = False
    clipboard: bool = False
    """Control only: the customer also shares the clipboard."""


class ConsentDialog(QDialog):
    """Asks once; emits ``answered(ConsentAnswer)`` exactly once, then closes.

    ``timeout_s`` shortens the countdown (tests); the default is the
    protocol's :data:`~protocol.assist.CONSENT_TIMEOUT_S`.
    """

    answered = Signal(object)

    def __init__(
        self,
        session: AssistSession,
        kind: Kind = "view",
        *,
        timeout_s: float | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if timeout_s is None:
            from protocol.assist import CONSENT_TIMEOUT_S

            timeout_s = CONSENT_TIMEOUT_S
        self.session = session
        self.kind: Kind = kind
        self.answer: ConsentAnswer | None = None
        self._deadline = time.monotonic() + timeout_s
        self.setObjectName("AssistConsent")
        self.setWindowIcon(app_icon())
        self.setWindowFlags(
            Qt.WindowType.Dialog
            | Qt.WindowType.WindowStaysOnTopHint
            | Qt.WindowType.WindowTitleHint
            | Qt.WindowType.CustomizeWindowHint
            | Qt.WindowType.WindowCloseButtonHint
        )
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        agent = session.agent.name.strip() or self.tr("A support agent")
        company = session.agent.company.strip()
        if kind == "view":
            self.setWindowTitle(self.tr("Remote assist request"))
            heading = self.tr("Someone from support wants to see your screen")
        else:
            self.setWindowTitle(self.tr("Remote control request"))
            heading = self.tr("Allow control of your mouse and keyboard?")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 18)
        layout.setSpacing(10)
        title = QLabel(heading, self)
        title.setObjectName("ConsentTitle")
        title.setWordWrap(True)
        title.setStyleSheet("font-size: 16px; font-weight: 700;")
        layout.addWidget(title)

        who = QWidget(self)
        who.setObjectName("ConsentWho")
        who.setStyleSheet("#ConsentWho { background: #f3f4f6; border-radius: 6px; }")
        who_layout = QVBoxLayout(who)
        who_layout.setContentsMargins(12, 10, 12, 10)
        who_layout.setSpacing(2)
        # Plain text: a name is never markup.
        self.agent_label = QLabel(agent, who)
        self.agent_label.setTextFormat(Qt.TextFormat.PlainText)
        self.agent_label.setStyleSheet("font-size: 15px; font-weight: 700;")
        self.company_label = QLabel(company, who)
        self.company_label.setTextFormat(Qt.TextFormat.PlainText)
        self.company_label.setVisible(bool(company))
        verified = QLabel(self.tr("✔ Name and company verified by the support service"), who)
        verified.setStyleSheet("color: #047857;")
        who_layout.addWidget(self.agent_label)
        who_layout.addWidget(self.company_label)
        who_layout.addWidget(verified)
        layout.addWidget(who)

        self.request_label = QLabel(self._request_text(agent), self)
        self.request_label.setTextFormat(Qt.TextFormat.PlainText)
        self.request_label.setWordWrap(True)
        layout.addWidget(self.request_label)

        self.clipboard_box = QCheckBox(
            self.tr("Also share the clipboard (text you copy) both ways"), self
        )
        self.clipboard_box.setChecked(False)
        self.clipboard_box.setVisible(kind == "control")
        layout.addWidget(self.clipboard_box)

        self.countdown_label = QLabel(self)
        self.countdown_label.setObjectName("Hint")
        layout.addWidget(self.countdown_label)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.deny_button = QPushButton(self.tr("Deny"), self)
        self.allow_button = QPushButton(self.tr("Allow"), self)
        self.allow_button.setAutoDefault(False)
        self.deny_button.setAutoDefault(True)
        self.deny_button.setDefault(True)
        buttons.addWidget(self.deny_button)
        buttons.addWidget(self.allow_button)
        layout.addLayout(buttons)
        self.deny_button.clicked.connect(lambda: self._answer(False))
        self.allow_button.clicked.connect(lambda: self._answer(True))

        self._timer = QTimer(self)
        self._timer.setInterval(min(250, max(20, int(timeout_s * 1000 / 4))))
        self._timer.timeout.connect(self._tick)
        self._tick()
        self._timer.start()
        self.setMinimumWidth(440)

    def _request_text(self, agent: str) -> str:
        if self.kind == "control":
            return self.tr(
                "{agent} asks to control this computer: they could move the mouse, click and "
                "type as if they were you. You can take control back at any moment with "
                "Stop control."
            ).format(agent=agent)
        if self.session.requested_mode == "control":
            return self.tr(
                "{agent} asks to see your screen now. They also want to control it; you will "
                "be asked about that separately. Nothing is shared until you choose Allow."
            ).format(agent=agent)
        return self.tr(
            "{agent} asks to see your screen (view only: they cannot click or type). "
            "Nothing is shared until you choose Allow."
        ).format(agent=agent)

    @property
    def seconds_left(self) -> int:
        return max(0, math.ceil(self._deadline - time.monotonic()))

    def _tick(self) -> None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            self._answer(False, timed_out=True)
            return
        self.countdown_label.setText(
            self.tr("Denied automatically in {seconds} s").format(seconds=math.ceil(left))
        )

    def present(self) -> None:
        """Show in front of everything, even with the portal hidden."""
        self.show()
        self.raise_()
        self.activateWindow()
        self.deny_button.setFocus()

    def _answer(self, allow: bool, *, timed_out: bool = False) -> None:
        if self.answer is not None:
            return
        self._timer.stop()
        self.answer = ConsentAnswer(
            allow, timed_out, allow and self.kind == "control" and self.clipboard_box.isChecked()
        )
        self.answered.emit(self.answer)
        self.close()

    def withdraw(self) -> None:
        """The request is gone (answered elsewhere, expired, ended): close
        without answering."""
        self._timer.stop()
        self.answer = self.answer or ConsentAnswer(False)
        self.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._answer(False)
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._answer(False)  # the window's close button denies
        super().closeEvent(event)
