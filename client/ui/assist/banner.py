"""What the customer sees while a session is live: a banner and a border.

* :class:`SessionBanner`: a small frameless bar, always on top, at the top
  centre of the shared monitor: who is watching, whether they may control,
  and Stop control (only while controlling), Pause/Resume and End.
* :class:`ScreenBorder`: a coloured frame around the shared monitor, made of
  four thin windows (a full-screen translucent window would need a
  compositor, and without one it would hide the whole screen), which let
  every click through.

Neither ever takes the keyboard focus from the customer's applications
(``WindowDoesNotAcceptFocus``, shown without activating); the banner's
buttons still take clicks. Both may appear in the shared picture: the agent
then sees what the customer sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

if TYPE_CHECKING:
    from protocol.assist import AssistSession

#: Border colours: viewing, controlling, paused.
VIEW_COLOUR = "#f59e0b"
CONTROL_COLOUR = "#dc2626"
PAUSED_COLOUR = "#6b7280"

_OVERLAY_FLAGS = (
    Qt.WindowType.Tool
    | Qt.WindowType.FramelessWindowHint
    | Qt.WindowType.WindowStaysOnTopHint
    | Qt.WindowType.WindowDoesNotAcceptFocus
)


def _no_focus(widget: QWidget) -> None:
    widget.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)


def state_colour(paused: bool, controlling: bool) -> str:
    if paused:
        return PAUSED_COLOUR
    return CONTROL_COLOUR if controlling else VIEW_COLOUR


class SessionBanner(QWidget):
    """Signals: stop_control_clicked(), pause_clicked(bool paused), end_clicked()."""

    stop_control_clicked = Signal()
    pause_clicked = Signal(bool)
    end_clicked = Signal()

    def __init__(self) -> None:
        super().__init__(None, _OVERLAY_FLAGS)
        _no_focus(self)
        self.setObjectName("AssistBanner")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.paused = False
        self.session: AssistSession | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 6, 8, 6)
        layout.setSpacing(8)
        self.dot = QLabel("●", self)
        self.text = QLabel(self)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setObjectName("AssistBannerText")
        self.stop_control_button = QPushButton(self.tr("Stop control"), self)
        self.pause_button = QPushButton(self.tr("Pause"), self)
        self.end_button = QPushButton(self.tr("End"), self)
        self.end_button.setObjectName("AssistEnd")
        for button in (self.stop_control_button, self.pause_button, self.end_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
        layout.addWidget(self.dot)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.stop_control_button)
        layout.addWidget(self.pause_button)
        layout.addWidget(self.end_button)
        self.stop_control_button.clicked.connect(self.stop_control_clicked)
        self.pause_button.clicked.connect(lambda: self.pause_clicked.emit(not self.paused))
        self.end_button.clicked.connect(self.end_clicked)

    def set_state(self, session: AssistSession, paused: bool, controlling: bool) -> None:
        self.session, self.paused = session, paused
        agent = session.agent.name.strip() or self.tr("A support agent")
        company = session.agent.company.strip()
        if paused:
            text = self.tr("Paused: {agent} cannot see your screen")
        elif controlling:
            text = (
                self.tr("{agent} from {company} is controlling your screen")
                if company
                else self.tr("{agent} is controlling your screen")
            )
        else:
            text = (
                self.tr("{agent} from {company} is viewing your screen")
                if company
                else self.tr("{agent} is viewing your screen")
            )
        self.text.setText(text.format(agent=agent, company=company))
        self.pause_button.setText(self.tr("Resume") if paused else self.tr("Pause"))
        self.stop_control_button.setVisible(controlling and not paused)
        colour = state_colour(paused, controlling)
        self.setStyleSheet(
            f"#AssistBanner {{ background: #111827; border: 2px solid {colour};"
            " border-top: none; border-bottom-left-radius: 8px;"
            " border-bottom-right-radius: 8px; }"
            " #AssistBannerText { color: white; font-weight: 600; }"
            f" QLabel {{ color: {colour}; }}"
            " QPushButton { padding: 3px 10px; }"
            " #AssistEnd { background: #dc2626; color: white; border-radius: 4px; }"
        )
        self.adjustSize()

    def place(self, screen: QRect) -> None:
        """Top centre of ``screen`` (logical coordinates)."""
        self.adjustSize()
        width = min(max(self.sizeHint().width(), 420), screen.width())
        self.resize(width, self.sizeHint().height())
        self.move(screen.x() + (screen.width() - width) // 2, screen.y())


class _Edge(QWidget):
    def __init__(self) -> None:
        super().__init__(None, _OVERLAY_FLAGS | Qt.WindowType.WindowTransparentForInput)
        _no_focus(self)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAutoFillBackground(True)

    def set_colour(self, colour: str) -> None:
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(colour))
        self.setPalette(palette)


class ScreenBorder:
    """Four thin always-on-top windows framing one screen."""

    def __init__(self, thickness: int = 4) -> None:
        self.thickness = thickness
        self.edges = [_Edge() for _ in range(4)]
        self.colour = VIEW_COLOUR

    def show_on(self, screen: QRect, colour: str) -> None:
        t = self.thickness
        x, y, w, h = screen.x(), screen.y(), screen.width(), screen.height()
        rects = [
            QRect(x, y, w, t),
            QRect(x, y + h - t, w, t),
            QRect(x, y + t, t, h - 2 * t),
            QRect(x + w - t, y + t, t, h - 2 * t),
        ]
        self.set_colour(colour)
        for edge, rect in zip(self.edges, rects, strict=True):
            edge.setGeometry(rect)
            edge.show()

    def set_colour(self, colour: str) -> None:
        self.colour = colour
        for edge in self.edges:
            edge.set_colour(colour)

    @property
    def visible(self) -> bool:
        return all(edge.isVisible() for edge in self.edges)

    def close(self) -> None:
        for edge in self.edges:
            edge.close()
            edge.deleteLater()
        self.edges = []


__all__ = [
    "CONTROL_COLOUR",
    "PAUSED_COLOUR",
    "VIEW_COLOUR",
    "ScreenBorder",
    "SessionBanner",
    "state_colour",
]
