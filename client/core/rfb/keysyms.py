"""X11 keysyms, the key codes of RFB KeyEvents (RFC 6143 §7.5.4).

* Latin-1 characters are their own keysym (0x20-0x7E, 0xA0-0xFF).
* Any other character is a Unicode keysym, ``0x01000000 + code point``:
  that is how text in Chinese, Japanese, Korean or any script is typed
  (xdotool, TigerVNC and noVNC do the same).
* Function, editing, modifier and keypad keys have fixed keysyms in the
  0xFFxx range (tables below, named as in X11's ``keysymdef.h``).
"""

from __future__ import annotations

from typing import Final

UNICODE_OFFSET: Final = 0x01000000

BackSpace: Final = 0xFF08
Tab: Final = 0xFF09
Linefeed: Final = 0xFF0A
Clear: Final = 0xFF0B
Return: Final = 0xFF0D
Pause: Final = 0xFF13
Scroll_Lock: Final = 0xFF14
Sys_Req: Final = 0xFF15
Escape: Final = 0xFF1B
Delete: Final = 0xFFFF
Home: Final = 0xFF50
Left: Final = 0xFF51
Up: Final = 0xFF52
Right: Final = 0xFF53
Down: Final = 0xFF54
Page_Up: Final = 0xFF55
Page_Down: Final = 0xFF56
End: Final = 0xFF57
Begin: Final = 0xFF58
Select: Final = 0xFF60
Print: Final = 0xFF61
Execute: Final = 0xFF62
Insert: Final = 0xFF63
Undo: Final = 0xFF65
Redo: Final = 0xFF66
Menu: Final = 0xFF67
Find: Final = 0xFF68
Cancel: Final = 0xFF69
Help: Final = 0xFF6A
Break: Final = 0xFF6B
Mode_switch: Final = 0xFF7E
Num_Lock: Final = 0xFF7F

Shift_L: Final = 0xFFE1
Shift_R: Final = 0xFFE2
Control_L: Final = 0xFFE3
Control_R: Final = 0xFFE4
Caps_Lock: Final = 0xFFE5
Shift_Lock: Final = 0xFFE6
Meta_L: Final = 0xFFE7
Meta_R: Final = 0xFFE8
Alt_L: Final = 0xFFE9
Alt_R: Final = 0xFFEA
Super_L: Final = 0xFFEB
Super_R: Final = 0xFFEC
Hyper_L: Final = 0xFFED
Hyper_R: Final = 0xFFEE
ISO_Level3_Shift: Final = 0xFE03

KP_Space: Final = 0xFF80
KP_Tab: Final = 0xFF89
KP_Enter: Final = 0xFF8D
KP_Home: Final = 0xFF95
KP_Left: Final = 0xFF96
KP_Up: Final = 0xFF97
KP_Right: Final = 0xFF98
KP_Down: Final = 0xFF99
KP_Page_Up: Final = 0xFF9A
KP_Page_Down: Final = 0xFF9B
KP_End: Final = 0xFF9C
KP_Begin: Final = 0xFF9D
KP_Insert: Final = 0xFF9E
KP_Delete: Final = 0xFF9F
KP_Equal: Final = 0xFFBD
KP_Multiply: Final = 0xFFAA
KP_Add: Final = 0xFFAB
KP_Separator: Final = 0xFFAC
KP_Subtract: Final = 0xFFAD
KP_Decimal: Final = 0xFFAE
KP_Divide: Final = 0xFFAF
KP_0: Final = 0xFFB0

F1: Final = 0xFFBE

#: Named non-character keys, by their ``keysymdef.h`` name.
NAMED: Final[dict[str, int]] = {
    name: value
    for name, value in globals().items()
    if isinstance(value, int)
    and not name.startswith("_")
    and name[0].isupper()
    and name not in ("UNICODE_OFFSET", "NAMED", "F1", "KP_0")
}
NAMED.update({f"F{i}": F1 + i - 1 for i in range(1, 36)})
NAMED.update({f"KP_{i}": KP_0 + i for i in range(10)})

MODIFIERS: Final = frozenset(
    {
        Shift_L,
        Shift_R,
        Control_L,
        Control_R,
        Caps_Lock,
        Shift_Lock,
        Meta_L,
        Meta_R,
        Alt_L,
        Alt_R,
        Super_L,
        Super_R,
        Hyper_L,
        Hyper_R,
        ISO_Level3_Shift,
        Mode_switch,
        Num_Lock,
    }
)

#: Keypad keys that type a character.
KEYPAD_CHARS: Final[dict[int, str]] = {
    **{KP_0 + i: str(i) for i in range(10)},
    KP_Space: " ",
    KP_Equal: "=",
    KP_Multiply: "*",
    KP_Add: "+",
    KP_Separator: ",",
    KP_Subtract: "-",
    KP_Decimal: ".",
    KP_Divide: "/",
}

#: Legacy (pre-Unicode) keysyms outside Latin-1 that keyboards still send.
_LEGACY: Final[dict[int, str]] = {0x20AC: "\u20ac"}  # EuroSign

_CONTROL_CHARS: Final[dict[str, int]] = {
    "\b": BackSpace,
    "\t": Tab,
    "\n": Return,
    "\r": Return,
    "\x1b": Escape,
    "\x7f": Delete,
}

_NAME_OF: Final[dict[int, str]] = {v: k for k, v in NAMED.items()}


def keysym_for_char(char: str) -> int:
    """The keysym that types ``char`` (one code point)."""
    if len(char) != 1:
        raise ValueError("one character expected")
    if char in _CONTROL_CHARS:
        return _CONTROL_CHARS[char]
    cp = ord(char)
    if 0x20 <= cp <= 0x7E or 0xA0 <= cp <= 0xFF:
        return cp
    return UNICODE_OFFSET + cp


def keysyms_for_text(text: str) -> list[int]:
    """Keysyms that type ``text``, one per character (CJK included)."""
    return [keysym_for_char(c) for c in text]


def char_for_keysym(keysym: int) -> str | None:
    """The character a keysym types, or None for keys that type none
    (modifiers, arrows, function keys...)."""
    if 0x20 <= keysym <= 0x7E or 0xA0 <= keysym <= 0xFF:
        return chr(keysym)
    if UNICODE_OFFSET + 0x20 <= keysym <= UNICODE_OFFSET + 0x10FFFF:
        cp = keysym - UNICODE_OFFSET
        if 0xD800 <= cp <= 0xDFFF:
            return None
        return chr(cp)
    if keysym in KEYPAD_CHARS:
        return KEYPAD_CHARS[keysym]
    return _LEGACY.get(keysym)


def name_of(keysym: int) -> str:
    """A readable name: the keysymdef name, the character, or hex."""
    if keysym in _NAME_OF:
        return _NAME_OF[keysym]
    char = char_for_keysym(keysym)
    if char is not None:
        return char
    return f"0x{keysym:x}"


def is_modifier(keysym: int) -> bool:
    return keysym in MODIFIERS
