"""Applying the agent's keyboard and mouse to the customer's desktop.

The RFB server reports input as X11 keysyms and pointer positions with a
button mask (RFC 6143 §7.5.4-5). :class:`PynputSink` applies them with
``pynput`` (X11 through XTEST, Windows through SendInput, macOS through
Quartz events). Whether input is applied at all is the host's decision
(:class:`~client.core.assist.host.AssistHost` drops everything while the
customer has not granted control); a sink applies whatever it is given.

Keys (:func:`key_action`):

* Latin-1 keysyms and Unicode keysyms (``0x01000000 + code point``) are
  typed as characters. ``pynput`` types characters the active layout has
  on some key through that key (so an agent on a US keyboard types into a
  French layout correctly) and any other character, Chinese included, by
  borrowing a spare key code for it (X11) or as a Unicode key event
  (Windows, macOS). Text the agent typed through their own input method
  arrives as Unicode keysyms and so lands as finished characters, not as
  keystrokes for the customer's input method.
* Function, editing, navigation, modifier and keypad keys map onto
  ``pynput.keyboard.Key`` by name; keypad keys that type a character type it.

Pointer: positions are relative to the shared monitor, so the monitor's
origin is added. Buttons 1-3 (mask bits 0-2) are pressed and released on
changes of the mask; "buttons" 4/5 are one step of the wheel up/down and
6/7 left/right, applied when their bit goes down.

``pynput`` needs a display when it is imported, so it is imported only
when a :class:`PynputSink` is made (the mapping here needs none).
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Protocol

from client.core.rfb import keysyms as ks

log = logging.getLogger(__name__)

KeyAction = tuple[Literal["key", "char"], str]
"""``("key", name)``: a ``pynput.keyboard.Key`` attribute; ``("char", c)``: type ``c``."""


class InputSink(Protocol):
    """Where the agent's input goes."""

    def key(self, keysym: int, down: bool) -> None: ...

    def pointer(self, x: int, y: int, buttons: int) -> None: ...

    def release_all(self) -> None:
        """Let go of every key and button this sink holds down."""


_NAMED_KEYS: dict[int, str] = {
    ks.BackSpace: "backspace",
    ks.Tab: "tab",
    ks.Linefeed: "enter",
    ks.Return: "enter",
    ks.Pause: "pause",
    ks.Break: "pause",
    ks.Scroll_Lock: "scroll_lock",
    ks.Sys_Req: "print_screen",
    ks.Print: "print_screen",
    ks.Escape: "esc",
    ks.Delete: "delete",
    ks.Home: "home",
    ks.Left: "left",
    ks.Up: "up",
    ks.Right: "right",
    ks.Down: "down",
    ks.Page_Up: "page_up",
    ks.Page_Down: "page_down",
    ks.End: "end",
    ks.Insert: "insert",
    ks.Menu: "menu",
    ks.Num_Lock: "num_lock",
    ks.Caps_Lock: "caps_lock",
    ks.Shift_Lock: "caps_lock",
    ks.Shift_L: "shift_l",
    ks.Shift_R: "shift_r",
    ks.Control_L: "ctrl_l",
    ks.Control_R: "ctrl_r",
    ks.Alt_L: "alt_l",
    ks.Alt_R: "alt_r",
    ks.Meta_L: "cmd_l",
    ks.Meta_R: "cmd_r",
    ks.Super_L: "cmd_l",
    ks.Super_R: "cmd_r",
    ks.Hyper_L: "cmd_l",
    ks.Hyper_R: "cmd_r",
    ks.ISO_Level3_Shift: "alt_gr",
    ks.Mode_switch: "alt_gr",
    0x20: "space",
    # Keypad keys that do not type a character act as their main-block twins.
    ks.KP_Enter: "enter",
    ks.KP_Tab: "tab",
    ks.KP_Home: "home",
    ks.KP_Left: "left",
    ks.KP_Up: "up",
    ks.KP_Right: "right",
    ks.KP_Down: "down",
    ks.KP_Page_Up: "page_up",
    ks.KP_Page_Down: "page_down",
    ks.KP_End: "end",
    ks.KP_Insert: "insert",
    ks.KP_Delete: "delete",
}
_NAMED_KEYS.update({ks.F1 + i: f"f{i + 1}" for i in range(24)})

#: RFB pointer mask bits of the three buttons, and pynput's names for them.
_BUTTONS: tuple[tuple[int, str], ...] = ((0, "left"), (1, "middle"), (2, "right"))
#: Wheel "buttons" 4-7 (mask bits 3-6) as scroll steps (dx, dy); dy > 0 is up.
_WHEEL: tuple[tuple[int, int, int], ...] = ((3, 0, 1), (4, 0, -1), (5, -1, 0), (6, 1, 0))


def key_action(keysym: int) -> KeyAction | None:
    """What pressing ``keysym`` means here, or None for a key we cannot press."""
    named = _NAMED_KEYS.get(keysym)
    if named is not None:
        return ("key", named)
    char = ks.char_for_keysym(keysym)
    return ("char", char) if char is not None else None


def wheel_steps(previous: int, buttons: int) -> list[tuple[int, int]]:
    """Scroll steps ``(dx, dy)`` for the wheel bits that went down."""
    pressed = buttons & ~previous
    return [(dx, dy) for bit, dx, dy in _WHEEL if pressed & (1 << bit)]


def button_changes(previous: int, buttons: int) -> list[tuple[str, bool]]:
    """``(button name, down)`` for each of buttons 1-3 whose state changed."""
    changed = previous ^ buttons
    return [(name, bool(buttons & (1 << bit))) for bit, name in _BUTTONS if changed & (1 << bit)]


class PynputSink:
    """Input through pynput. ``origin``: the shared monitor's top-left corner
    in desktop coordinates (physical pixels). ``keyboard``/``mouse`` replace
    pynput's controllers (tests)."""

    def __init__(
        self,
        origin: tuple[int, int] = (0, 0),
        *,
        keyboard: Any = None,
        mouse: Any = None,
    ) -> None:
        self.origin = origin
        if keyboard is None or mouse is None:
            from pynput import keyboard as pk
            from pynput import mouse as pm

            keyboard = keyboard or pk.Controller()
            mouse = mouse or pm.Controller()
            self._key_type: Any = pk.Key
            self._button_type: Any = pm.Button
        else:
            self._key_type = None
            self._button_type = None
        self._keyboard = keyboard
        self._mouse = mouse
        self._held: dict[int, Any] = {}  # keysym -> what was pressed for it
        self._buttons = 0
        self._position: tuple[int, int] | None = None

    def _resolve_key(self, action: KeyAction) -> Any:
        kind, value = action
        if kind == "char":
            return value
        if self._key_type is None:
            return value  # test controllers take names
        return getattr(self._key_type, value, None)

    def _resolve_button(self, name: str) -> Any:
        if self._button_type is None:
            return name
        return getattr(self._button_type, name)

    def key(self, keysym: int, down: bool) -> None:
        if down:
            action = key_action(keysym)
            key = self._resolve_key(action) if action is not None else None
            if key is None:
                log.debug("assist: no key for keysym 0x%x", keysym)
                return
            self._held[keysym] = key
            self._keyboard.press(key)
        else:
            key = self._held.pop(keysym, None)
            if key is not None:
                self._keyboard.release(key)

    def pointer(self, x: int, y: int, buttons: int) -> None:
        position = (self.origin[0] + x, self.origin[1] + y)
        if position != self._position:
            self._mouse.position = position
            self._position = position
        previous, self._buttons = self._buttons, buttons
        for name, down in button_changes(previous, buttons):
            button = self._resolve_button(name)
            if down:
                self._mouse.press(button)
            else:
                self._mouse.release(button)
        for dx, dy in wheel_steps(previous, buttons):
            self._mouse.scroll(dx, dy)

    def release_all(self) -> None:
        held, self._held = self._held, {}
        for key in held.values():
            try:
                self._keyboard.release(key)
            except Exception:  # one stuck key must not keep the others down
                log.exception("assist: could not release a key")
        previous, self._buttons = self._buttons, 0
        for name, down in button_changes(previous, 0):
            if not down:
                try:
                    self._mouse.release(self._resolve_button(name))
                except Exception:
                    log.exception("assist: could not release a button")


__all__ = [
    "InputSink",
    "KeyAction",
    "PynputSink",
    "button_changes",
    "key_action",
    "wheel_steps",
]
