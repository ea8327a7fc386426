"""A global keyboard shortcut that starts a screen capture while the portal
is in the background.

``pynput``'s ``GlobalHotKeys`` listens on a thread of its own (X11 through
the RECORD extension, Windows through a low-level keyboard hook, macOS
through a Quartz event tap). Its callback runs on that thread and only emits
a signal; the signal reaches the GUI thread through a queued connection,
where :attr:`GlobalHotkey.activated` is emitted.

Where it cannot work, :meth:`GlobalHotkey.start` returns False, logs one line
saying why and leaves :attr:`GlobalHotkey.reason` set:

* Wayland: the compositor does not let applications see keys pressed in
  other applications (XWayland clients only see their own), by design;
* macOS without the Accessibility permission for the portal;
* no X display, or ``pynput`` missing or failing to start.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

DEFAULT_HOTKEY = "<ctrl>+<alt>+h"
"""Ctrl+Alt+H: "H" for help; not bound by the common desktops or office suites."""


def display_name(combo: str) -> str:
    """``<ctrl>+<alt>+h`` → ``Ctrl+Alt+H`` for menus and tooltips."""
    parts = []
    for part in combo.split("+"):
        name = part.strip("<>")
        parts.append(name.capitalize() if len(name) > 1 else name.upper())
    return "+".join(parts)


def unavailable_reason() -> str | None:
    """Why no global hotkey can work in this session, or None if it may."""
    if os.environ.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return "Wayland sessions do not let applications watch keys pressed elsewhere"
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        return "no X display (DISPLAY is not set)"
    return None


class GlobalHotkey(QObject):
    """A system-wide shortcut (default :data:`DEFAULT_HOTKEY`).

    Signals:
        activated(): the shortcut was pressed, delivered on the GUI thread.
    """

    activated = Signal()
    _fired = Signal()  # emitted on the listener thread

    def __init__(self, combo: str = DEFAULT_HOTKEY, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.combo = combo
        self.reason: str | None = None
        self._listener: Any = None
        self._fired.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def running(self) -> bool:
        return self._listener is not None and bool(self._listener.is_alive())

    def start(self) -> bool:
        """Start listening. False (with :attr:`reason` set and logged) when
        the platform does not allow it."""
        if self.running:
            return True
        reason = unavailable_reason()
        if reason is not None:
            return self._disable(reason)
        try:
            from pynput import keyboard  # imported late: it connects to the display on import

            listener = keyboard.GlobalHotKeys({self.combo: self._fired.emit})
        except ValueError as exc:
            return self._disable(f"the shortcut {self.combo!r} is not valid ({exc})")
        except Exception as exc:  # ImportError, Xlib display errors, missing backends
            return self._disable(f"pynput cannot start here ({exc})")
        listener.daemon = True
        try:
            listener.start()
            listener.wait()
        except Exception as exc:
            return self._disable(f"the keyboard listener did not start ({exc})")
        if not listener.is_alive():
            return self._disable("the keyboard listener stopped right away")
        if getattr(listener, "IS_TRUSTED", True) is False:
            listener.stop()
            return self._disable(
                "macOS has not given HelpBridge the Accessibility permission "
                "(System Settings → Privacy & Security → Accessibility)"
            )
        self._listener = listener
        self.reason = None
        log.info("global capture shortcut %s is active", display_name(self.combo))
        return True

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()
            listener.join(2.0)

    def _disable(self, reason: str) -> bool:
        self.reason = reason
        log.info("global capture shortcut disabled: %s", reason)
        return False

    @Slot()
    def _deliver(self) -> None:
        if self._listener is not None:
            self.activated.emit()
