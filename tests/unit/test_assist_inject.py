"""The agent's keys and pointer, mapped for pynput (no display needed: the
controllers are stand-ins that record what pynput would have been told)."""

from __future__ import annotations

from typing import Any

import pytest

from client.core.assist.capture import Monitor, pick_monitor
from client.core.assist.inject import PynputSink, button_changes, key_action, wheel_steps
from client.core.rfb import keysyms as ks


@pytest.mark.parametrize(
    ("keysym", "expected"),
    [
        (0x61, ("char", "a")),
        (0x41, ("char", "A")),
        (0x31, ("char", "1")),
        (0xE9, ("char", "é")),  # Latin-1
        (0xDF, ("char", "ß")),
        (0x20, ("key", "space")),
        (ks.UNICODE_OFFSET + 0x4E2D, ("char", "中")),  # CJK through a Unicode keysym
        (ks.UNICODE_OFFSET + 0x6587, ("char", "文")),
        (ks.UNICODE_OFFSET + 0x20AC, ("char", "€")),
        (ks.UNICODE_OFFSET + 0x1F600, ("char", "😀")),
        (0x20AC, ("char", "€")),  # the legacy EuroSign keysym
        (ks.Return, ("key", "enter")),
        (ks.BackSpace, ("key", "backspace")),
        (ks.Tab, ("key", "tab")),
        (ks.Escape, ("key", "esc")),
        (ks.Delete, ("key", "delete")),
        (ks.Home, ("key", "home")),
        (ks.Page_Down, ("key", "page_down")),
        (ks.Left, ("key", "left")),
        (ks.F1, ("key", "f1")),
        (ks.F1 + 11, ("key", "f12")),
        (ks.Shift_L, ("key", "shift_l")),
        (ks.Shift_R, ("key", "shift_r")),
        (ks.Control_L, ("key", "ctrl_l")),
        (ks.Alt_L, ("key", "alt_l")),
        (ks.Super_L, ("key", "cmd_l")),
        (ks.ISO_Level3_Shift, ("key", "alt_gr")),
        (ks.Caps_Lock, ("key", "caps_lock")),
        (ks.KP_0 + 7, ("char", "7")),  # keypad digits type digits
        (ks.KP_Add, ("char", "+")),
        (ks.KP_Decimal, ("char", ".")),
        (ks.KP_Enter, ("key", "enter")),
        (ks.KP_Home, ("key", "home")),
    ],
)
def test_key_action(keysym: int, expected: tuple[str, str]) -> None:
    assert key_action(keysym) == expected


@pytest.mark.parametrize(
    "keysym",
    [0x0, 0x1F, 0x7F, 0xFFFFFF, ks.UNICODE_OFFSET + 0xD800, ks.UNICODE_OFFSET + 0x07],
)
def test_keys_that_cannot_be_pressed(keysym: int) -> None:
    assert key_action(keysym) is None


def test_buttons_and_wheel_follow_the_mask() -> None:
    assert button_changes(0, 0b001) == [("left", True)]
    assert button_changes(0b001, 0b100) == [("left", False), ("right", True)]
    assert button_changes(0b010, 0b010) == []
    assert wheel_steps(0, 1 << 3) == [(0, 1)]  # button 4: up
    assert wheel_steps(0, 1 << 4) == [(0, -1)]  # button 5: down
    assert wheel_steps(0, 1 << 5) == [(-1, 0)]  # button 6: left
    assert wheel_steps(0, 1 << 6) == [(1, 0)]  # button 7: right
    assert wheel_steps(1 << 3, 1 << 3) == []  # held, not pressed again


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._position = (0, 0)

    def press(self, what: Any) -> None:
        self.calls.append(("press", what))

    def release(self, what: Any) -> None:
        self.calls.append(("release", what))

    def scroll(self, dx: int, dy: int) -> None:
        self.calls.append(("scroll", (dx, dy)))

    @property
    def position(self) -> tuple[int, int]:
        return self._position

    @position.setter
    def position(self, value: tuple[int, int]) -> None:
        self._position = value
        self.calls.append(("move", value))


def test_sink_offsets_the_pointer_and_presses_each_change_once() -> None:
    keyboard, mouse = Recorder(), Recorder()
    sink = PynputSink((1920, 0), keyboard=keyboard, mouse=mouse)
    sink.pointer(10, 20, 0)
    sink.pointer(10, 20, 1)  # left down, no move
    sink.pointer(15, 25, 1)  # drag
    sink.pointer(15, 25, 0)
    sink.pointer(15, 25, 1 << 4)  # wheel down
    sink.pointer(15, 25, 0)
    assert mouse.calls == [
        ("move", (1930, 20)),
        ("press", "left"),
        ("move", (1935, 25)),
        ("release", "left"),
        ("scroll", (0, -1)),
    ]


def test_sink_types_characters_and_releases_what_it_pressed() -> None:
    keyboard, mouse = Recorder(), Recorder()
    sink = PynputSink(keyboard=keyboard, mouse=mouse)
    sink.key(ks.Shift_L, True)
    sink.key(ks.UNICODE_OFFSET + 0x4E2D, True)
    sink.key(ks.UNICODE_OFFSET + 0x4E2D, False)
    sink.key(0x12345678, True)  # nothing to press: ignored
    sink.key(0x62, False)  # released without a press: ignored
    sink.key(ks.Control_L, True)
    sink.pointer(0, 0, 0b100)
    sink.release_all()
    assert keyboard.calls == [
        ("press", "shift_l"),
        ("press", "中"),
        ("release", "中"),
        ("press", "ctrl_l"),
        ("release", "shift_l"),
        ("release", "ctrl_l"),
    ]
    assert mouse.calls[-1] == ("release", "right")
    sink.release_all()  # nothing held any more
    assert keyboard.calls[-1] == ("release", "ctrl_l")


def test_pick_monitor() -> None:
    screens = [Monitor(1, 0, 0, 1920, 1080), Monitor(2, 1920, 0, 2560, 1440)]
    assert pick_monitor(screens, (1920, 0, 2560, 1440)) == 2
    assert pick_monitor(screens, (1900, 10, 2560, 1440)) == 2  # near, same size
    assert pick_monitor(screens, (0, 0, 800, 600)) == 1
    assert pick_monitor(screens, None) == 1
    assert pick_monitor([], (0, 0, 1, 1)) == 1
