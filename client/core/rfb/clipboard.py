"""The Extended Clipboard pseudo-encoding: UTF-8 clipboard text.

Plain ServerCutText/ClientCutText carry Latin-1 only (RFC 6143 §7.5.6).
The community extension (rfbproto, "Extended Clipboard Pseudo-Encoding",
number ``0xC0A1E5CE``; TigerVNC and noVNC implement it) reuses the same
two messages with a *negative* length: ``abs(length)`` bytes follow, made
of a ``U32`` flags word and the action's data.

* Flags bits 0-15 are formats (bit 0 *text*: UTF-8, CRLF line ends, a
  terminating NUL), bits 24-28 actions: *caps*, *request*, *peek*,
  *notify*, *provide*.
* *caps*: the actions and formats the sender accepts, then one ``U32`` per
  format bit set: the largest size it accepts unrequested.
* *request* / *peek* / *notify*: no data. *notify* lists the formats now
  on the sender's clipboard (none: the clipboard was withdrawn).
* *provide*: a zlib stream holding ``U32 size`` + ``size`` bytes for each
  format bit set, in bit order.

The server sends *caps* on every SetEncodings that lists the
pseudo-encoding; until the viewer answers with its own caps it is assumed
to take text up to 20 MiB unrequested. Text that fits the peer's size goes
out as one *provide*; otherwise the peer gets a *notify*, asks with a
*request* and then receives the *provide* (TigerVNC's and noVNC's viewers
announce a size of 0, so they always take that route).

Everything read is bounded: a message longer than the limit is skipped
unread, the inflater never produces more than the declared text size
(``max_length``), and a declared size over the limit is reported as
:class:`CutTextDropped` without inflating anything.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import Final

from .messages import CutText, CutTextDropped, RfbProtocolError, StreamReader

# Formats (bits 0-15).
CLIP_TEXT: Final = 1 << 0
CLIP_RTF: Final = 1 << 1
CLIP_HTML: Final = 1 << 2
CLIP_DIB: Final = 1 << 3
CLIP_FILES: Final = 1 << 4
CLIP_FORMATS: Final = 0x0000FFFF

# Actions (bits 24-31).
CLIP_CAPS: Final = 1 << 24
CLIP_REQUEST: Final = 1 << 25
CLIP_PEEK: Final = 1 << 26
CLIP_NOTIFY: Final = 1 << 27
CLIP_PROVIDE: Final = 1 << 28
CLIP_ACTIONS: Final = 0xFF000000

#: What a peer is assumed to accept until its caps arrive (rfbproto).
DEFAULT_PEER_FLAGS: Final = (
    CLIP_TEXT | CLIP_RTF | CLIP_HTML | CLIP_REQUEST | CLIP_NOTIFY | CLIP_PROVIDE
)
DEFAULT_PEER_TEXT_SIZE: Final = 20 << 20

#: The actions and format both of our ends accept.
OUR_FLAGS: Final = CLIP_TEXT | CLIP_REQUEST | CLIP_PEEK | CLIP_NOTIFY | CLIP_PROVIDE

_SINGLE_ACTIONS = (CLIP_REQUEST, CLIP_PEEK, CLIP_NOTIFY, CLIP_PROVIDE)
_LINE_ENDS = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class ExtendedCutText:
    """One parsed extended cut-text message.

    ``sizes`` (caps only) holds one maximum size per format bit set, in bit
    order. For a *provide* with the text format, ``text`` is the text, or
    ``dropped`` the size that was over the limit.
    """

    flags: int
    sizes: tuple[int, ...] = ()
    text: str | None = None
    dropped: int | None = None

    @property
    def action(self) -> int:
        return self.flags & CLIP_ACTIONS

    @property
    def formats(self) -> int:
        return self.flags & CLIP_FORMATS


def max_message(max_text: int) -> int:
    """The longest extended message read: compressed text of ``max_text``
    bytes, with room for zlib's overhead and other formats beside it."""
    return 2 * max_text + 4096


# --- packing ------------------------------------------------------------------


def pack_extended(msg_type: int, payload: bytes) -> bytes:
    """A Server/ClientCutText whose negative length marks the extended format."""
    return struct.pack(">B3xi", msg_type, -len(payload)) + payload


def caps_payload(flags: int, sizes: dict[int, int]) -> bytes:
    """*caps*: ``flags`` (actions and formats accepted) and the maximum
    unrequested size of each format in ``sizes`` (format bit -> bytes)."""
    formats = 0
    for fmt in sizes:
        formats |= fmt
    ordered = [sizes[1 << i] for i in range(16) if formats & (1 << i)]
    return struct.pack(f">I{len(ordered)}I", flags | formats | CLIP_CAPS, *ordered)


def action_payload(action: int, formats: int = 0) -> bytes:
    """*request*, *peek* or *notify* (no data)."""
    return struct.pack(">I", action | (formats & CLIP_FORMATS))


def encode_text(text: str, limit: int) -> bytes:
    """The text format's bytes: UTF-8, CRLF line ends, a terminating NUL;
    cut at a character boundary so that at most ``limit`` bytes remain."""
    data = _LINE_ENDS.sub("\r\n", text).encode("utf-8", errors="replace")
    if len(data) + 1 > limit:
        data = data[: max(0, limit - 1)].decode("utf-8", errors="ignore").encode("utf-8")
        if data.endswith(b"\r"):
            data = data[:-1]  # never split a CRLF pair
    return data + b"\0"


def provide_payload(data: bytes, level: int = 6) -> bytes:
    """*provide* carrying the text format (``data`` from :func:`encode_text`)."""
    stream = zlib.compress(struct.pack(">I", len(data)) + data, level)
    return struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT) + stream


def decode_text(data: bytes) -> str:
    """The text format's bytes as a Python string with ``\\n`` line ends.
    Invalid UTF-8 shows as U+FFFD rather than ending the connection."""
    end = data.find(b"\0")
    if end >= 0:
        data = data[:end]
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n")


# --- parsing --------------------------------------------------------------------


def read_extended(
    reader: StreamReader, length: int, max_text: int
) -> Generator[None, None, ExtendedCutText]:
    """Read one extended message of ``length`` bytes (the absolute value of
    the negative length field). Always consumes exactly ``length`` bytes."""
    if length < 4:
        raise RfbProtocolError(f"extended clipboard message of {length} bytes")
    flags = yield from reader.read_u32()
    rest = length - 4
    if flags & CLIP_CAPS:
        count = bin(flags & CLIP_FORMATS).count("1")
        if rest < 4 * count:
            raise RfbProtocolError("extended clipboard caps without their sizes")
        data = yield from reader.read_exact(4 * count)
        yield from reader.skip(rest - 4 * count)
        return ExtendedCutText(flags, sizes=struct.unpack(f">{count}I", data))
    action = flags & CLIP_ACTIONS
    if action not in _SINGLE_ACTIONS:
        raise RfbProtocolError(f"invalid extended clipboard action {action:#x}")
    if action != CLIP_PROVIDE or not flags & CLIP_TEXT:
        yield from reader.skip(rest)  # nothing we use follows
        return ExtendedCutText(flags)
    if rest > max_message(max_text):
        yield from reader.skip(rest)
        return ExtendedCutText(flags, dropped=rest)
    stream = yield from reader.read_exact(rest)
    return _inflate_text(flags, stream, max_text)


def _inflate_text(flags: int, stream: bytes, max_text: int) -> ExtendedCutText:
    inflater = _Inflater(stream)
    size = struct.unpack(">I", inflater.take(4))[0]
    if size > max_text + 1:  # the text plus its NUL
        return ExtendedCutText(flags, dropped=size)
    return ExtendedCutText(flags, text=decode_text(inflater.take(size)))


class _Inflater:
    """Inflates exactly the bytes asked for, never more (zlib bombs stop at
    ``max_length``). The stream need not be finished: TigerVNC and noVNC
    end theirs with a sync flush."""

    def __init__(self, stream: bytes) -> None:
        self._zlib = zlib.decompressobj()
        self._pending = stream

    def take(self, n: int) -> bytes:
        out = bytearray()
        try:
            while len(out) < n:
                chunk = self._zlib.decompress(self._pending, n - len(out))
                self._pending = self._zlib.unconsumed_tail
                if not chunk:
                    raise RfbProtocolError("extended clipboard data ends early")
                out += chunk
        except zlib.error as exc:
            raise RfbProtocolError(f"bad extended clipboard data: {exc}") from exc
        return bytes(out)


# --- one side's state -------------------------------------------------------------


class ExtendedClipboard:
    """The extension's state on one end (server or client), sans I/O.

    Holds what the peer accepts and the text last offered (for the peer's
    *request*). Methods return the payloads to send (wrap each with
    :func:`pack_extended`); the caller sends Latin-1 CutText when
    :meth:`offer` returns None.
    """

    def __init__(self, max_text: int, level: int = 6) -> None:
        self.max_text = max_text
        self.level = level
        self.peer_flags = 0  # 0: the extension is not in use
        self.peer_text_size = 0
        self._held: bytes | None = None

    @property
    def active(self) -> bool:
        """Whether the peer takes UTF-8 text through the extension."""
        return bool(self.peer_flags & CLIP_TEXT) and bool(
            self.peer_flags & (CLIP_PROVIDE | CLIP_NOTIFY)
        )

    def assume_defaults(self) -> None:
        """The peer declared the extension; its caps are the spec's defaults
        until it sends its own."""
        self.peer_flags = DEFAULT_PEER_FLAGS
        self.peer_text_size = DEFAULT_PEER_TEXT_SIZE

    def disable(self) -> None:
        self.peer_flags = 0
        self.peer_text_size = 0

    def our_caps(self) -> bytes:
        return caps_payload(OUR_FLAGS, {CLIP_TEXT: self.max_text})

    def offer(self, text: str) -> list[bytes] | None:
        """Put ``text`` on the peer's clipboard: a *provide* when it fits what
        the peer takes unrequested, else a *notify* (the *provide* follows
        its *request*). None: the peer needs Latin-1 CutText."""
        if not self.active:
            return None
        data = encode_text(text, self.max_text)
        self._held = data
        flags = self.peer_flags
        if flags & CLIP_PROVIDE and (len(data) <= self.peer_text_size or not flags & CLIP_NOTIFY):
            return [provide_payload(data, self.level)]
        return [action_payload(CLIP_NOTIFY, CLIP_TEXT)]

    def withdraw(self) -> list[bytes]:
        """Forget the offered text; tell the peer nothing is available."""
        self._held = None
        if self.active and self.peer_flags & CLIP_NOTIFY:
            return [action_payload(CLIP_NOTIFY, 0)]
        return []

    def handle(
        self, message: ExtendedCutText
    ) -> tuple[list[bytes], CutText | CutTextDropped | None]:
        """React to a message from the peer: the payloads to send back and
        the event to report, if any."""
        flags = message.flags
        if flags & CLIP_CAPS:
            self.peer_flags = flags & ~CLIP_CAPS
            self.peer_text_size = message.sizes[0] if flags & CLIP_TEXT else 0
            return [], None
        action = message.action
        if action == CLIP_PROVIDE:
            if message.text is not None:
                return [], CutText(message.text)
            if message.dropped is not None:
                return [], CutTextDropped(message.dropped)
            return [], None
        if action == CLIP_REQUEST:
            if flags & CLIP_TEXT and self._held is not None and self.peer_flags & CLIP_PROVIDE:
                return [provide_payload(self._held, self.level)], None
        elif action == CLIP_PEEK:
            if self.peer_flags & CLIP_NOTIFY:
                available = CLIP_TEXT if self._held is not None else 0
                return [action_payload(CLIP_NOTIFY, available)], None
        elif action == CLIP_NOTIFY and flags & CLIP_TEXT and self.peer_flags & CLIP_REQUEST:
            return [action_payload(CLIP_REQUEST, CLIP_TEXT)], None
        return [], None


__all__ = [
    "CLIP_CAPS",
    "CLIP_NOTIFY",
    "CLIP_PEEK",
    "CLIP_PROVIDE",
    "CLIP_REQUEST",
    "CLIP_TEXT",
    "ExtendedClipboard",
    "ExtendedCutText",
    "action_payload",
    "caps_payload",
    "decode_text",
    "encode_text",
    "pack_extended",
    "provide_payload",
    "read_extended",
]
