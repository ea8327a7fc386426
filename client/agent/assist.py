"""Remote assist in the console: asking for it, and the remote view.

* :func:`assist_button` - the "Remote assist" button of a conversation or a
  ticket (View only / Control).
* :class:`AssistDesk` - requests and redeems sessions, opens one
  :class:`AssistWindow` per session and hands it the session's changes
  (``AssistChanged`` events of the live connection, plus ``GET /assist/{id}``).
* :class:`AssistWindow` - the remote view: picture, input, special keys,
  quality and frame rate, control request, clipboard, note, end, status line,
  and the local VNC bridge.
* :class:`RemoteScreen` - the picture widget. It paints a ``QImage`` over its
  own BGRA copy of the screen and repaints only what changed: the viewer's
  thread (:class:`~client.core.assist.viewer.AssistViewer`) decodes, then
  signals once; the widget pulls every changed rectangle at once.

Input leaves only while the session's mode is ``control`` (the viewer drops
anything else, too). Clipboard text goes either way only while the customer
allows it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QFocusEvent,
    QGuiApplication,
    QImage,
    QInputMethodEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.agent import texts
from client.core.rfb import keysyms as ks

if TYPE_CHECKING:
    from client.agent.live import LiveBridge
    from client.agent.session import Console
    from client.core.agent_api import AgentApi
    from client.core.assist.bridge import VncBridge
    from client.core.assist.viewer import AssistViewer
    from protocol.assist import AssistSession

log = logging.getLogger(__name__)

FPS_CHOICES = (5, 10, 15, 30, 60)
QUALITY_CHOICES = ("low", "medium", "high")
STATS_MS = 1000
BRIDGE_PORT = 5901

# -- keys ----------------------------------------------------------------------

_K = Qt.Key
_QT_KEYSYMS: dict[int, int] = {
    _K.Key_Escape: ks.Escape,
    _K.Key_Tab: ks.Tab,
    _K.Key_Backtab: ks.Tab,
    _K.Key_Backspace: ks.BackSpace,
    _K.Key_Return: ks.Return,
    _K.Key_Enter: ks.KP_Enter,
    _K.Key_Insert: ks.Insert,
    _K.Key_Delete: ks.Delete,
    _K.Key_Pause: ks.Pause,
    _K.Key_Print: ks.Print,
    _K.Key_SysReq: ks.Sys_Req,
    _K.Key_Clear: ks.Clear,
    _K.Key_Home: ks.Home,
    _K.Key_End: ks.End,
    _K.Key_Left: ks.Left,
    _K.Key_Up: ks.Up,
    _K.Key_Right: ks.Right,
    _K.Key_Down: ks.Down,
    _K.Key_PageUp: ks.Page_Up,
    _K.Key_PageDown: ks.Page_Down,
    _K.Key_Shift: ks.Shift_L,
    _K.Key_Control: ks.Control_L,
    _K.Key_Meta: ks.Super_L,
    _K.Key_Alt: ks.Alt_L,
    _K.Key_AltGr: ks.ISO_Level3_Shift,
    _K.Key_CapsLock: ks.Caps_Lock,
    _K.Key_NumLock: ks.Num_Lock,
    _K.Key_ScrollLock: ks.Scroll_Lock,
    _K.Key_Super_L: ks.Super_L,
    _K.Key_Super_R: ks.Super_R,
    _K.Key_Menu: ks.Menu,
    _K.Key_Hyper_L: ks.Hyper_L,
    _K.Key_Hyper_R: ks.Hyper_R,
    _K.Key_Help: ks.Help,
    _K.Key_Mode_switch: ks.Mode_switch,
}
_QT_KEYSYMS.update({int(_K.Key_F1) + i: ks.F1 + i for i in range(35)})
_KEYPAD: dict[int, int] = {
    **{int(_K.Key_0) + i: ks.KP_0 + i for i in range(10)},
    _K.Key_Enter: ks.KP_Enter,
    _K.Key_Asterisk: ks.KP_Multiply,
    _K.Key_Plus: ks.KP_Add,
    _K.Key_Minus: ks.KP_Subtract,
    _K.Key_Period: ks.KP_Decimal,
    _K.Key_Comma: ks.KP_Separator,
    _K.Key_Slash: ks.KP_Divide,
    _K.Key_Equal: ks.KP_Equal,
    _K.Key_Home: ks.KP_Home,
    _K.Key_End: ks.KP_End,
    _K.Key_Left: ks.KP_Left,
    _K.Key_Right: ks.KP_Right,
    _K.Key_Up: ks.KP_Up,
    _K.Key_Down: ks.KP_Down,
    _K.Key_PageUp: ks.KP_Page_Up,
    _K.Key_PageDown: ks.KP_Page_Down,
    _K.Key_Insert: ks.KP_Insert,
    _K.Key_Delete: ks.KP_Delete,
}
_SHIFT = Qt.KeyboardModifier.ShiftModifier
_KEYPAD_MOD = Qt.KeyboardModifier.KeypadModifier


def keysym_for_key(key: int, text: str, modifiers: Qt.KeyboardModifier) -> int | None:
    """The X11 keysym of a Qt key event (None: nothing to send).

    Named keys (function, editing, modifiers, keypad) by table; otherwise the
    typed character (so a French or German layout types what it shows);
    with Ctrl held, where the text is a control character, the key's letter.
    """
    key = int(key)
    if modifiers & _KEYPAD_MOD and key in _KEYPAD:
        return _KEYPAD[key]
    if key in _QT_KEYSYMS:
        return _QT_KEYSYMS[key]
    if len(text) == 1 and text.isprintable():
        return ks.keysym_for_char(text)
    if 0x20 <= key <= 0x7E:
        char = chr(key)
        return ord(char if modifiers & _SHIFT else char.lower())
    if 0xA0 <= key <= 0x10FFFF and key < int(_K.Key_Escape):
        return ks.keysym_for_char(chr(key))
    return None


def end_reason_text(reason: str) -> str:
    labels = {
        "customer": QCoreApplication.translate("AssistText", "ended by the customer"),
        "agent": QCoreApplication.translate("AssistText", "ended by you"),
        "network": QCoreApplication.translate("AssistText", "the connection was lost"),
        "idle": QCoreApplication.translate("AssistText", "nothing happened for too long"),
        "agent_disabled": QCoreApplication.translate("AssistText", "your account was disabled"),
        "service": QCoreApplication.translate("AssistText", "ended by the service"),
    }
    return labels.get(reason, reason)


def code_error_text(exc: BaseException) -> str:
    code = texts.exception_code(exc)
    if code == "not_found":
        return QCoreApplication.translate(
            "AssistText", "This code is wrong, used or expired. Ask the customer for a new one."
        )
    if code == "rate_limited":
        return QCoreApplication.translate(
            "AssistText", "Too many wrong codes. Wait a few minutes and try again."
        )
    if code == "invalid_request":
        return QCoreApplication.translate("AssistText", "The code has 8 digits.")
    return texts.exception_message(exc)


SPECIAL_KEYS: dict[str, tuple[int, ...]] = {
    "ctrl_alt_del": (ks.Control_L, ks.Alt_L, ks.Delete),
    "super": (ks.Super_L,),
    "alt_tab": (ks.Alt_L, ks.Tab),
    "print": (ks.Print,),
}
"""Combinations sent from the menu: pressed in order, released in reverse."""


# -- the picture ------------------------------------------------------------


class RemoteScreen(QWidget):
    """The remote screen: fit to the widget, or 1:1 inside a scroll area.

    Signals:
        full_screen_toggled(): F11 (or Esc while full screen) pressed here.
    """

    full_screen_toggled = Signal()
    leave_full_screen = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RemoteScreen")
        self.viewer: AssistViewer | None = None
        self.frame: np.ndarray | None = None
        self.image: QImage | None = None
        self.fit = True
        self.input_enabled = False
        self.full_screen = False
        self.buttons = 0
        self.pulls = 0
        self.repainted: list[QRect] = []
        """Widget rectangles asked to repaint by the last pull (tests look)."""
        self._pressed: dict[int, int] = {}  # Qt key -> keysym sent down
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    # geometry -----------------------------------------------------------------

    def remote_size(self) -> QSize:
        if self.frame is None:
            return QSize(0, 0)
        return QSize(int(self.frame.shape[1]), int(self.frame.shape[0]))

    def sizeHint(self) -> QSize:
        size = self.remote_size()
        return size if not size.isEmpty() else QSize(640, 400)

    def scale(self) -> float:
        size = self.remote_size()
        if size.isEmpty() or not self.fit:
            return 1.0
        return min(self.width() / size.width(), self.height() / size.height())

    def target(self) -> QRectF:
        """Where the remote screen is drawn, in widget coordinates."""
        size = self.remote_size()
        s = self.scale()
        w, h = size.width() * s, size.height() * s
        x = (self.width() - w) / 2 if self.fit else 0.0
        y = (self.height() - h) / 2 if self.fit else 0.0
        return QRectF(x, y, w, h)

    def to_remote(self, pos: QPoint) -> tuple[int, int]:
        """Widget position → remote pixel (clamped to the screen)."""
        size = self.remote_size()
        t = self.target()
        s = self.scale() or 1.0
        x = int((pos.x() - t.x()) / s)
        y = int((pos.y() - t.y()) / s)
        return max(0, min(size.width() - 1, x)), max(0, min(size.height() - 1, y))

    def to_widget(self, x: int, y: int, w: int, h: int) -> QRect:
        t = self.target()
        s = self.scale()
        return (
            QRectF(t.x() + x * s, t.y() + y * s, w * s, h * s)
            .toAlignedRect()
            .adjusted(-1, -1, 1, 1)
        )

    def set_fit(self, fit: bool) -> None:
        self.fit = fit
        self.updateGeometry()
        self.update()

    # frames -------------------------------------------------------------------

    @Slot()
    def pull(self) -> None:
        """The viewer said something changed: take every changed rectangle."""
        viewer = self.viewer
        if viewer is None:
            return
        got = viewer.pull(self.frame)
        if got is None:
            return
        self.pulls += 1
        if got.resized or self.image is None:
            self.frame = got.frame
            h, w = self.frame.shape[:2]
            self.image = QImage(self.frame.data, w, h, w * 4, QImage.Format.Format_RGB32)
            if not self.fit:
                self.resize(w, h)
            self.updateGeometry()
            self.repainted = [self.rect()]
            self.update()
            return
        self.repainted = [self.to_widget(r.x, r.y, r.w, r.h) for r in got.rects]
        for rect in self.repainted:
            self.update(rect)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        area = event.rect()
        painter.fillRect(area, Qt.GlobalColor.black)
        image = self.image
        if image is None:
            return
        t = self.target()
        s = self.scale()
        if self.fit and s != 1.0:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        dest = QRectF(area).intersected(t)
        if dest.isEmpty():
            return
        source = QRectF(
            (dest.x() - t.x()) / s, (dest.y() - t.y()) / s, dest.width() / s, dest.height() / s
        )
        painter.drawImage(dest, image, source)

    # input --------------------------------------------------------------------

    def _send_key(self, keysym: int, down: bool) -> None:
        if self.viewer is not None and self.input_enabled:
            self.viewer.send_key(keysym, down)

    def send_combo(self, keys: tuple[int, ...]) -> None:
        for k in keys:
            self._send_key(k, True)
        for k in reversed(keys):
            self._send_key(k, False)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_F11:
            self.full_screen_toggled.emit()
            return
        if key == Qt.Key.Key_Escape and self.full_screen:
            self.leave_full_screen.emit()
            return
        if not self.input_enabled:
            event.ignore()
            return
        keysym = keysym_for_key(key, event.text(), event.modifiers())
        if keysym is None:
            return
        self._pressed[int(key)] = keysym
        self._send_key(keysym, True)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.isAutoRepeat():
            return  # a held key repeats as presses only
        keysym = self._pressed.pop(int(event.key()), None)
        if keysym is not None:
            self._send_key(keysym, False)

    def inputMethodEvent(self, event: QInputMethodEvent) -> None:
        """Text composed with an input method (e.g. Chinese pinyin): typed as
        Unicode keysyms, each pressed and released."""
        text = event.commitString()
        if text and self.viewer is not None and self.input_enabled:
            self.viewer.type_text(text)
        event.accept()

    def release_all(self) -> None:
        for keysym in self._pressed.values():
            self._send_key(keysym, False)
        self._pressed.clear()
        if self.buttons and self.viewer is not None and self.input_enabled:
            self.buttons = 0
            self.viewer.send_pointer(*self._last_pos(), 0)

    def _last_pos(self) -> tuple[int, int]:
        return self.to_remote(self.mapFromGlobal(self.cursor().pos()))

    def focusOutEvent(self, event: QFocusEvent) -> None:
        self.release_all()
        super().focusOutEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False if self.input_enabled else super().focusNextPrevChild(next)

    _BUTTONS: ClassVar[dict[Qt.MouseButton, int]] = {
        Qt.MouseButton.LeftButton: 1,
        Qt.MouseButton.MiddleButton: 2,
        Qt.MouseButton.RightButton: 4,
    }

    def _pointer(self, event: QMouseEvent | QWheelEvent, extra: int = 0) -> None:
        if self.viewer is None or not self.input_enabled or self.frame is None:
            return
        x, y = self.to_remote(event.position().toPoint())
        self.viewer.send_pointer(x, y, self.buttons | extra)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        self.buttons |= self._BUTTONS.get(event.button(), 0)
        self._pointer(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self.buttons &= ~self._BUTTONS.get(event.button(), 0)
        self._pointer(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._pointer(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Wheel steps as buttons 4-7 (up, down, left, right), press and release."""
        delta = event.angleDelta()
        steps: list[int] = []
        if delta.y():
            steps += [8 if delta.y() > 0 else 16] * max(1, abs(delta.y()) // 120)
        if delta.x():
            steps += [32 if delta.x() < 0 else 64] * max(1, abs(delta.x()) // 120)
        for mask in steps:
            self._pointer(event, mask)
            self._pointer(event)
        event.accept()


# -- the remote view window -------------------------------------------------


class _ViewerSignals(QObject):
    """Queued hand-over from the viewer's thread to the GUI thread."""

    frame = Signal()
    viewer_event = Signal(object)
    bridge = Signal(str)


class AssistWindow(QWidget):
    """One session's remote view (a top-level window).

    Signals:
        closed(int): the window closed (session id).
    """

    closed = Signal(int)

    def __init__(
        self,
        console: Console,
        session: AssistSession,
        parent: QWidget | None = None,
        *,
        viewer_factory: Callable[..., AssistViewer] | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("AssistWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.console = console
        self.session = session
        self.session_id = session.id
        self.viewer: AssistViewer | None = None
        self.bridge: VncBridge | None = None
        self._viewer_factory = viewer_factory
        self._waiting_control = False
        self._ending = False
        self.signals = _ViewerSignals(self)
        self.resize(1100, 760)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.setSpacing(4)
        self.toolbar = QWidget(self)
        bar = QHBoxLayout(self.toolbar)
        bar.setContentsMargins(0, 0, 0, 0)
        self.fit_button = QPushButton(self.tr("Fit"), self)
        self.fit_button.setCheckable(True)
        self.fit_button.setChecked(True)
        self.fit_button.setToolTip(self.tr("Fit the screen to the window, or show it 1:1"))
        self.fit_button.toggled.connect(self.set_fit)
        bar.addWidget(self.fit_button)
        self.full_button = QPushButton(self.tr("Full screen"), self)
        self.full_button.setToolTip(self.tr("Full screen (F11; Esc leaves)"))
        self.full_button.clicked.connect(self.toggle_full_screen)
        bar.addWidget(self.full_button)
        self.keys_button = QToolButton(self)
        self.keys_button.setText(self.tr("Special keys"))
        self.keys_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        keys_menu = QMenu(self.keys_button)
        self.key_actions: dict[str, QAction] = {}
        for name, label in (
            ("ctrl_alt_del", self.tr("Ctrl+Alt+Del")),
            ("super", self.tr("Windows / Super key")),
            ("alt_tab", self.tr("Alt+Tab")),
            ("print", self.tr("Print Screen")),
        ):
            action = keys_menu.addAction(label)
            action.triggered.connect(lambda _=False, n=name: self.send_special(n))
            self.key_actions[name] = action
        self.keys_button.setMenu(keys_menu)
        bar.addWidget(self.keys_button)
        bar.addWidget(QLabel(self.tr("Quality:"), self))
        self.quality_combo = QComboBox(self)
        for q, label in zip(
            QUALITY_CHOICES, (self.tr("Low"), self.tr("Medium"), self.tr("High")), strict=True
        ):
            self.quality_combo.addItem(label, q)
        self.quality_combo.setCurrentIndex(1)
        self.quality_combo.currentIndexChanged.connect(self._on_quality)
        bar.addWidget(self.quality_combo)
        bar.addWidget(QLabel(self.tr("Frame rate:"), self))
        self.fps_combo = QComboBox(self)
        for fps in FPS_CHOICES:
            self.fps_combo.addItem(self.tr("%1 fps").replace("%1", str(fps)), fps)
        self.fps_combo.setCurrentIndex(FPS_CHOICES.index(30))
        self.fps_combo.currentIndexChanged.connect(self._on_fps)
        bar.addWidget(self.fps_combo)
        bar.addStretch(1)
        self.control_button = QPushButton(self.tr("Request control"), self)
        self.control_button.setObjectName("RequestControl")
        self.control_button.clicked.connect(self.request_control)
        bar.addWidget(self.control_button)
        self.clip_button = QPushButton(self.tr("Send clipboard"), self)
        self.clip_button.setToolTip(self.tr("Send the text on your clipboard to the customer"))
        self.clip_button.clicked.connect(self.send_clipboard)
        bar.addWidget(self.clip_button)
        self.vnc_button = QPushButton(self.tr("Open in VNC viewer…"), self)
        self.vnc_button.setCheckable(True)
        self.vnc_button.toggled.connect(self.set_bridge)
        bar.addWidget(self.vnc_button)
        self.note_button = QPushButton(self.tr("Note…"), self)
        self.note_button.clicked.connect(self.open_note)
        bar.addWidget(self.note_button)
        self.end_button = QPushButton(self.tr("End"), self)
        self.end_button.setObjectName("EndAssist")
        self.end_button.clicked.connect(self.end)
        bar.addWidget(self.end_button)
        layout.addWidget(self.toolbar)

        self.remote = RemoteScreen(self)
        self.remote.full_screen_toggled.connect(self.toggle_full_screen)
        self.remote.leave_full_screen.connect(self.leave_full_screen)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area.setStyleSheet("QScrollArea { background: #111; border: none; }")
        self.scroll_area.setWidget(self.remote)
        self.scroll_area.setWidgetResizable(True)
        layout.addWidget(self.scroll_area, 1)
        self.info_label = QLabel(self)
        self.info_label.setObjectName("Hint")
        self.info_label.setWordWrap(True)
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.info_label)
        self.status_label = QLabel(self)
        self.status_label.setObjectName("AssistStatus")
        layout.addWidget(self.status_label)
        self.note_dialog: NoteDialog | None = None

        self.signals.frame.connect(self.remote.pull, Qt.ConnectionType.QueuedConnection)
        self.signals.viewer_event.connect(self._on_viewer_event, Qt.ConnectionType.QueuedConnection)
        self.signals.bridge.connect(self._on_bridge, Qt.ConnectionType.QueuedConnection)
        self.stats_timer = QTimer(self)
        self.stats_timer.setInterval(STATS_MS)
        self.stats_timer.timeout.connect(self.update_status)
        self.stats_timer.start()
        self.viewer_state = ""
        self.apply_session(session)

    # -- session state ----------------------------------------------------------

    def apply_session(self, session: AssistSession) -> None:
        """The session changed (event or GET): start/stop the picture, gate input."""
        if session.id != self.session_id:
            return
        was_requested = self.session.control_requested
        self.session = session
        status = session.status.value
        customer = session.customer.name or self.tr("Customer %1").replace(
            "%1", str(session.customer.id)
        )
        self.setWindowTitle(self.tr("Remote assist — %1").replace("%1", customer))
        live = status in ("active", "paused")
        control = live and session.mode.value == "control"
        self.remote.input_enabled = control
        if self.viewer is not None:
            self.viewer.set_input_allowed(control)
        if session.control_requested or control:
            self._waiting_control = False
        if was_requested and not session.control_requested and not control and live:
            self.show_info(self.tr("The customer did not give control."))
        if live and self.viewer is None and self.bridge is None:
            self.start_viewer()
        elif session.status.final:
            self.stop_viewer()
            self.stop_bridge()
        self.control_button.setEnabled(
            live and not control and not session.control_requested and not self._waiting_control
        )
        if control:
            self.control_button.setText(self.tr("You have control"))
        elif session.control_requested or self._waiting_control:
            self.control_button.setText(self.tr("Waiting for the customer…"))
        else:
            self.control_button.setText(self.tr("Request control"))
        for action in self.key_actions.values():
            action.setEnabled(control)
        self.keys_button.setEnabled(control)
        self.clip_button.setEnabled(live and session.clipboard)
        self.vnc_button.setEnabled(live or self.bridge is not None)
        self.end_button.setEnabled(not session.status.final)
        self.note_button.setEnabled(
            session.conversation_id is not None or session.ticket_id is not None
        )
        self.update_status()

    def status_text(self) -> str:
        status = self.session.status.value
        labels = {
            "requested": self.tr("Waiting for the customer to allow…"),
            "active": self.tr("Live"),
            "paused": self.tr("Paused by the customer"),
            "denied": self.tr("The customer declined"),
            "expired": self.tr("The customer did not answer"),
            "ended": self.tr("Ended"),
        }
        parts = [labels.get(status, status)]
        if status == "active" and self.viewer_state in ("connecting", "reconnecting"):
            parts = [self.tr("Connecting…")]
        if self.session.status.live:
            parts.append(
                self.tr("Control") if self.session.mode.value == "control" else self.tr("View only")
            )
            if self.viewer is not None:
                stats = self.viewer.stats()
                parts.append(self.tr("%1 fps").replace("%1", f"{stats.fps:.0f}"))
                parts.append(self.tr("%1 kbit/s").replace("%1", f"{stats.kbps:.0f}"))
        if self.session.end_reason is not None and status == "ended":
            parts.append(end_reason_text(self.session.end_reason.value))
        return " · ".join(parts)

    def update_status(self) -> None:
        self.status_label.setText(self.status_text())

    def show_info(self, text: str) -> None:
        self.info_label.setText(text)

    # -- viewer -------------------------------------------------------------------

    def start_viewer(self) -> None:
        from client.core.assist.viewer import AssistViewer

        backend = self.console.backend
        signals = self.signals

        def token() -> str:  # on the viewer's thread
            return backend.api.current_access_token() or backend.api.renewed_access_token()

        def on_frame() -> None:
            with contextlib.suppress(RuntimeError):  # the window is gone
                signals.frame.emit()

        def on_event(event: object) -> None:
            with contextlib.suppress(RuntimeError):
                signals.viewer_event.emit(event)

        factory = self._viewer_factory or AssistViewer
        viewer = factory(
            backend.server_url,
            self.session_id,
            token,
            on_event=on_event,
            on_frame=on_frame,
            quality=str(self.quality_combo.currentData()),
            fps=int(self.fps_combo.currentData()),
            input_allowed=self.remote.input_enabled,
        )
        self.viewer = viewer
        self.remote.viewer = viewer
        viewer.start()

    def stop_viewer(self) -> None:
        viewer, self.viewer = self.viewer, None
        if viewer is None:
            return
        self.remote.viewer = None
        # Joining the thread may take a moment: not on the GUI thread.
        self.console.runner.run_task(lambda: viewer.stop(5))

    @Slot(object)
    def _on_viewer_event(self, event: object) -> None:
        from client.core.assist.viewer import ClipboardText, StateChanged

        if isinstance(event, StateChanged):
            self.viewer_state = event.state.value
            if event.state.value == "stopped" and event.detail and not self._ending:
                log.info("assist %d: viewer stopped (%s)", self.session_id, event.detail)
                self.refresh()
            self.update_status()
        elif isinstance(event, ClipboardText) and self.session.clipboard:
            QGuiApplication.clipboard().setText(event.text)
            self.show_info(self.tr("The customer's clipboard text is on your clipboard."))

    def refresh(self) -> None:
        """Read the session again (``GET /assist/{id}``)."""
        sid = self.session_id
        self.console.call(lambda api: api.assist_session(sid), self.apply_session, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.show_info(texts.exception_message(exc))

    # -- toolbar actions ---------------------------------------------------------

    def set_fit(self, fit: bool) -> None:
        self.fit_button.setText(self.tr("Fit") if fit else self.tr("1:1"))
        self.scroll_area.setWidgetResizable(fit)
        self.remote.set_fit(fit)
        if not fit:
            self.remote.resize(self.remote.sizeHint())

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.leave_full_screen()
        else:
            self.remote.full_screen = True
            self.toolbar.hide()
            self.status_label.hide()
            self.showFullScreen()
            self.remote.setFocus()

    def leave_full_screen(self) -> None:
        self.remote.full_screen = False
        self.toolbar.show()
        self.status_label.show()
        self.showNormal()

    def send_special(self, name: str) -> None:
        self.remote.send_combo(SPECIAL_KEYS[name])

    def _on_quality(self) -> None:
        if self.viewer is not None:
            self.viewer.set_quality(str(self.quality_combo.currentData()))

    def _on_fps(self) -> None:
        if self.viewer is not None:
            self.viewer.set_fps(int(self.fps_combo.currentData()))

    def request_control(self) -> None:
        sid = self.session_id
        self._waiting_control = True
        self.apply_session(self.session)
        self.console.call(
            lambda api: api.assist_request_control(sid), self.apply_session, self._control_failed
        )

    def _control_failed(self, exc: BaseException) -> None:
        self._waiting_control = False
        self.apply_session(self.session)
        self._failed(exc)

    def send_clipboard(self) -> None:
        if self.viewer is None or not self.session.clipboard:
            return
        text = QGuiApplication.clipboard().text()
        if text and self.viewer.send_cut_text(text):
            self.show_info(self.tr("Clipboard text sent to the customer."))

    def end(self) -> None:
        sid = self.session_id
        self._ending = True
        self.stop_viewer()
        self.stop_bridge()
        self.console.call(lambda api: api.assist_end(sid), self.apply_session, self._failed)

    def open_note(self) -> NoteDialog:
        if self.note_dialog is None:
            self.note_dialog = NoteDialog(self)
            self.note_dialog.save_requested.connect(self.save_note)
        self.note_dialog.open()
        return self.note_dialog

    def save_note(self, text: str) -> None:
        sid = self.session_id
        dialog = self.note_dialog

        def done(_: object) -> None:
            self.show_info(self.tr("Note saved."))
            if dialog is not None:
                dialog.saved()

        def failed(exc: BaseException) -> None:
            if dialog is not None:
                dialog.failed(texts.exception_message(exc))

        self.console.call(lambda api: api.assist_note(sid, text), done, failed)

    # -- VNC bridge ----------------------------------------------------------------

    def set_bridge(self, on: bool) -> None:
        """Serve the session on a local port for another VNC viewer (the
        picture here pauses meanwhile: one agent connection at a time)."""
        if not on:
            self.stop_bridge()
            if self.session.status.live and self.viewer is None:
                self.start_viewer()
            return
        if self.bridge is not None:
            return
        from client.core.assist.bridge import VncBridge

        backend = self.console.backend
        signals = self.signals

        def token() -> str:
            return backend.api.current_access_token() or backend.api.renewed_access_token()

        def on_change(what: str) -> None:
            with contextlib.suppress(RuntimeError):
                signals.bridge.emit(what)

        self.stop_viewer()
        bridge = VncBridge(
            backend.server_url, self.session_id, token, port=BRIDGE_PORT, on_change=on_change
        )
        self.bridge = bridge

        def start() -> tuple[str, int]:
            try:
                return bridge.start()
            except OSError:  # 5901 taken: any free port
                bridge.port = 0
                return bridge.start()

        self.console.runner.run_task(start, self._bridge_started, self._bridge_failed)

    def _bridge_started(self, address: tuple[str, int]) -> None:
        host, port = address
        self.vnc_button.setText(self.tr("Show here again"))
        self.show_info(
            self.tr("Connect your VNC viewer to %1 (this computer only).").replace(
                "%1", f"{host}::{port}"
            )
        )

    def _bridge_failed(self, exc: BaseException) -> None:
        self.bridge = None
        self.vnc_button.setChecked(False)
        self.show_info(self.tr("The VNC bridge could not start: %1").replace("%1", str(exc)))

    @Slot(str)
    def _on_bridge(self, what: str) -> None:
        if what == "stopped" and self.bridge is not None and self.bridge.stop_reason:
            self.refresh()

    def stop_bridge(self) -> None:
        bridge, self.bridge = self.bridge, None
        if bridge is not None:
            self.console.runner.run_task(lambda: bridge.stop(5))
        self.vnc_button.blockSignals(True)
        self.vnc_button.setChecked(False)
        self.vnc_button.blockSignals(False)
        self.vnc_button.setText(self.tr("Open in VNC viewer…"))

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the view ends a session that is still on (nothing keeps
        streaming from the customer's screen unseen)."""
        self.stats_timer.stop()
        if not self.session.status.final and not self._ending:
            self.end()
        else:
            self.stop_viewer()
            self.stop_bridge()
        self.closed.emit(self.session_id)
        super().closeEvent(event)


class NoteDialog(QDialog):
    """A note on the session, saved to its conversation or ticket (internal)."""

    save_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Note on this remote session"))
        layout = QVBoxLayout(self)
        hint = QLabel(self.tr("Saved as an internal note on the conversation or ticket."), self)
        hint.setObjectName("Hint")
        layout.addWidget(hint)
        self.edit = QPlainTextEdit(self)
        layout.addWidget(self.edit, 1)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b91c1c;")
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(460, 260)

    def _save(self) -> None:
        text = self.edit.toPlainText().strip()
        if not text:
            self.error_label.setText(self.tr("Write something first."))
            return
        self.error_label.clear()
        self.buttons.setEnabled(False)
        self.save_requested.emit(text)

    def saved(self) -> None:
        self.buttons.setEnabled(True)
        self.edit.clear()
        self.accept()

    def failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error_label.setText(message)


class CodeDialog(QDialog):
    """The 8-digit code a customer reads out, and what to ask for."""

    code_entered = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Remote assist with a code"))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(self.tr("The code the customer reads to you:"), self))
        self.code_edit = QLineEdit(self)
        self.code_edit.setObjectName("AssistCode")
        self.code_edit.setPlaceholderText("1234 5678")
        self.code_edit.setMaxLength(12)
        layout.addWidget(self.code_edit)
        self.view_radio = QRadioButton(self.tr("View only"), self)
        self.view_radio.setChecked(True)
        self.control_radio = QRadioButton(self.tr("Ask for control too"), self)
        layout.addWidget(self.view_radio)
        layout.addWidget(self.control_radio)
        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b91c1c;")
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def digits(self) -> str:
        return "".join(ch for ch in self.code_edit.text() if ch.isdigit())

    def _submit(self) -> None:
        from protocol.assist import CODE_DIGITS

        code = self.digits()
        if len(code) != CODE_DIGITS or len(self.code_edit.text().replace(" ", "")) != CODE_DIGITS:
            self.error_label.setText(self.tr("The code has 8 digits."))
            return
        self.error_label.clear()
        self.buttons.setEnabled(False)
        mode = "control" if self.control_radio.isChecked() else "view"
        self.code_entered.emit(code, mode)

    def failed(self, message: str) -> None:
        self.buttons.setEnabled(True)
        self.error_label.setText(message)


# -- entry points -------------------------------------------------------------


def assist_button(parent: QWidget, on_request: Callable[[str], None]) -> QToolButton:
    """ "Remote assist ▾" with View only / Control; ``on_request(mode)``."""
    button = QToolButton(parent)
    button.setObjectName("AssistButton")
    button.setText(QCoreApplication.translate("AssistText", "Remote assist"))
    button.setToolTip(
        QCoreApplication.translate(
            "AssistText", "Ask the customer to share their screen (they must allow it)"
        )
    )
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(button)
    menu.addAction(
        QCoreApplication.translate("AssistText", "View only"), lambda: on_request("view")
    )
    menu.addAction(
        QCoreApplication.translate("AssistText", "Control"), lambda: on_request("control")
    )
    button.setMenu(menu)
    return button


class AssistDesk(QObject):
    """The console's remote-assist sessions: requests, codes, windows.

    Signals:
        window_opened(object): an :class:`AssistWindow` was opened.
    """

    window_opened = Signal(object)

    def __init__(self, console: Console, live: LiveBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.console = console
        self.parent_widget = parent
        self.windows: dict[int, AssistWindow] = {}
        self.code_dialog: CodeDialog | None = None
        self.viewer_factory: Callable[..., AssistViewer] | None = None
        live.received.connect(self.on_event)

    def request(self, kind: str, target_id: int, mode: str) -> None:
        """Ask the customer of a conversation (``kind="conversation"``) or a ticket."""
        if kind == "conversation":

            def call(api: AgentApi) -> AssistSession:
                return api.assist_request(conversation_id=target_id, mode=mode)
        else:

            def call(api: AgentApi) -> AssistSession:
                return api.assist_request(ticket_id=target_id, mode=mode)

        self.console.call(call, self._opened, self._notice)

    def enter_code(self) -> CodeDialog:
        if self.code_dialog is None:
            self.code_dialog = CodeDialog(self.parent_widget)
            self.code_dialog.code_entered.connect(self.redeem)
        self.code_dialog.code_edit.clear()
        self.code_dialog.error_label.clear()
        self.code_dialog.buttons.setEnabled(True)
        self.code_dialog.open()
        return self.code_dialog

    def redeem(self, code: str, mode: str) -> None:
        dialog = self.code_dialog

        def done(session: AssistSession) -> None:
            if dialog is not None:
                dialog.accept()
            self.open_window(session)

        def failed(exc: BaseException) -> None:
            message = code_error_text(exc)
            if dialog is not None:
                dialog.failed(message)

        self.console.call(lambda api: api.assist_redeem(code, mode), done, failed)

    def open_window(self, session: AssistSession) -> AssistWindow:
        window = self.windows.get(session.id)
        if window is None:
            window = AssistWindow(self.console, session, viewer_factory=self.viewer_factory)
            window.closed.connect(self._closed)
            self.windows[session.id] = window
            window.show()
            self.window_opened.emit(window)
        else:
            window.apply_session(session)
            window.raise_()
            window.activateWindow()
        return window

    def _opened(self, session: AssistSession) -> None:
        self.open_window(session)

    def _closed(self, session_id: int) -> None:
        self.windows.pop(session_id, None)

    def on_event(self, event: Any) -> None:
        if type(event).__name__ != "AssistChanged":
            return
        session = event.session
        window = self.windows.get(session.id)
        if window is not None:
            window.apply_session(session)

    def _notice(self, exc: BaseException) -> None:
        self.console.notice.emit("warning", texts.exception_message(exc))

    def close_all(self) -> None:
        for window in list(self.windows.values()):
            window.close()
