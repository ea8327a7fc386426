"""RFB wire structures: constants, pixel formats, message packing and the
incremental reader both state machines parse with.

Everything here is pure: bytes in, values out. Multi-byte integers on the
wire are big-endian (RFC 6143 §7); pixel values follow the negotiated
:class:`PixelFormat` instead.
"""

from __future__ import annotations

import struct
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

# --- limits ---------------------------------------------------------------

#: Longest clipboard text either side buffers; longer texts are skipped
#: unread (the bytes are consumed without being kept).
MAX_CUT_TEXT: Final = 1 << 20
#: Largest framebuffer a client accepts from a server (pixels).
MAX_FRAMEBUFFER_PIXELS: Final = 8192 * 8192
#: Longest desktop name / failure reason either side reads.
MAX_REASON: Final = 64 * 1024

# --- message types --------------------------------------------------------

# client -> server
MSG_SET_PIXEL_FORMAT: Final = 0
MSG_SET_ENCODINGS: Final = 2
MSG_FRAMEBUFFER_UPDATE_REQUEST: Final = 3
MSG_KEY_EVENT: Final = 4
MSG_POINTER_EVENT: Final = 5
MSG_CLIENT_CUT_TEXT: Final = 6
MSG_SET_DESKTOP_SIZE: Final = 251

# server -> client
MSG_FRAMEBUFFER_UPDATE: Final = 0
MSG_SET_COLOUR_MAP_ENTRIES: Final = 1
MSG_BELL: Final = 2
MSG_SERVER_CUT_TEXT: Final = 3

# --- security types -------------------------------------------------------

SECURITY_INVALID: Final = 0
SECURITY_NONE: Final = 1
SECURITY_VNC_AUTH: Final = 2

# --- encodings ------------------------------------------------------------

ENC_RAW: Final = 0
ENC_COPYRECT: Final = 1
ENC_TIGHT: Final = 7
ENC_ZRLE: Final = 16
ENC_H264: Final = 50
ENC_CURSOR: Final = -239
ENC_DESKTOP_SIZE: Final = -223
ENC_LAST_RECT: Final = -224
ENC_EXTENDED_DESKTOP_SIZE: Final = -308
#: Extended Clipboard (0xC0A1E5CE as a signed 32-bit number): UTF-8 cut text.
ENC_EXTENDED_CLIPBOARD: Final = -1063131698
#: Tight quality levels 0..9 are -32..-23.
ENC_QUALITY_0: Final = -32
ENC_QUALITY_9: Final = -23
#: Tight compression levels 0..9 are -256..-247.
ENC_COMPRESS_0: Final = -256
ENC_COMPRESS_9: Final = -247
#: TurboVNC fine-grained JPEG quality 0..100 is -512..-412.
ENC_FINE_QUALITY_0: Final = -512
ENC_FINE_QUALITY_100: Final = -412
#: TurboVNC chroma subsampling (-768 1X = 4:4:4, -767 4X = 4:2:0,
#: -766 2X = 4:2:2, -765 grey, -764 8X, -763 16X).
ENC_SUBSAMP_1X: Final = -768
ENC_SUBSAMP_4X: Final = -767
ENC_SUBSAMP_2X: Final = -766
ENC_SUBSAMP_GRAY: Final = -765
ENC_SUBSAMP_8X: Final = -764
ENC_SUBSAMP_16X: Final = -763

ENCODING_NAMES: Final[dict[int, str]] = {
    ENC_RAW: "Raw",
    ENC_COPYRECT: "CopyRect",
    ENC_TIGHT: "Tight",
    ENC_ZRLE: "ZRLE",
    ENC_H264: "H.264",
    ENC_CURSOR: "Cursor",
    ENC_DESKTOP_SIZE: "DesktopSize",
    ENC_LAST_RECT: "LastRect",
    ENC_EXTENDED_DESKTOP_SIZE: "ExtendedDesktopSize",
    ENC_EXTENDED_CLIPBOARD: "ExtendedClipboard",
}

# ExtendedDesktopSize reasons (rect x) and status codes (rect y).
EDS_REASON_SERVER: Final = 0
EDS_REASON_CLIENT: Final = 1
EDS_REASON_OTHER_CLIENT: Final = 2
EDS_STATUS_OK: Final = 0
EDS_STATUS_PROHIBITED: Final = 1


class RfbProtocolError(Exception):
    """The peer broke the protocol (or asked for something unsupported).

    The only exception ``receive_data`` raises: the caller closes the
    connection cleanly, showing ``str(error)``.
    """


class RfbAuthError(RfbProtocolError):
    """The security handshake failed; ``str(error)`` is the reason."""


# --- geometry -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle in framebuffer coordinates."""

    x: int
    y: int
    w: int
    h: int

    @property
    def area(self) -> int:
        return self.w * self.h

    @property
    def empty(self) -> bool:
        return self.w <= 0 or self.h <= 0

    def intersect(self, other: Rect) -> Rect:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1 = min(self.x + self.w, other.x + other.w)
        y1 = min(self.y + self.h, other.y + other.h)
        return Rect(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def union(self, other: Rect) -> Rect:
        if self.empty:
            return other
        if other.empty:
            return self
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        x1 = max(self.x + self.w, other.x + other.w)
        y1 = max(self.y + self.h, other.y + other.h)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def inside(self, width: int, height: int) -> bool:
        """Whether the rectangle lies within a ``width`` x ``height`` framebuffer."""
        return (
            self.x >= 0 and self.y >= 0 and self.x + self.w <= width and self.y + self.h <= height
        )


# --- pixel formats --------------------------------------------------------

_PIXEL_FORMAT = struct.Struct(">BBBBHHHBBB3x")


@dataclass(frozen=True, slots=True)
class PixelFormat:
    """RFB PIXEL_FORMAT (RFC 6143 §7.4). Only true-colour formats are
    supported: colour-map formats are refused when validated."""

    bits_per_pixel: int
    depth: int
    big_endian: bool
    true_colour: bool
    red_max: int
    green_max: int
    blue_max: int
    red_shift: int
    green_shift: int
    blue_shift: int

    def pack(self) -> bytes:
        return _PIXEL_FORMAT.pack(
            self.bits_per_pixel,
            self.depth,
            int(self.big_endian),
            int(self.true_colour),
            self.red_max,
            self.green_max,
            self.blue_max,
            self.red_shift,
            self.green_shift,
            self.blue_shift,
        )

    @classmethod
    def unpack(cls, data: bytes) -> PixelFormat:
        bpp, depth, be, tc, rm, gm, bm, rs, gs, bs = _PIXEL_FORMAT.unpack(data)
        return cls(bpp, depth, be != 0, tc != 0, rm, gm, bm, rs, gs, bs)

    def validate(self) -> None:
        """Raise :class:`RfbProtocolError` unless this is a usable true-colour format."""
        if self.bits_per_pixel not in (8, 16, 32):
            raise RfbProtocolError(f"unsupported bits-per-pixel {self.bits_per_pixel}")
        if not self.true_colour:
            raise RfbProtocolError("colour-map pixel formats are not supported")
        for mx, shift in (
            (self.red_max, self.red_shift),
            (self.green_max, self.green_shift),
            (self.blue_max, self.blue_shift),
        ):
            if mx == 0 or mx > 255:
                raise RfbProtocolError(f"unsupported colour maximum {mx}")
            if shift + mx.bit_length() > self.bits_per_pixel:
                raise RfbProtocolError("colour channel does not fit in the pixel")

    @property
    def bytes_per_pixel(self) -> int:
        return self.bits_per_pixel // 8

    @property
    def is_native(self) -> bool:
        """32-bit little-endian BGRX: the framebuffer's own layout, no conversion."""
        return self == BGRX

    @property
    def is_888(self) -> bool:
        """32-bit true colour with 8-bit channels (Tight's 3-byte TPIXEL case)."""
        return (
            self.bits_per_pixel == 32
            and self.depth == 24
            and self.red_max == self.green_max == self.blue_max == 255
        )

    @property
    def cpixel_size(self) -> int:
        """ZRLE's compressed pixel size (RFC 6143 §7.7.6)."""
        if self.bits_per_pixel == 32 and self.depth <= 24 and self._fits_three_bytes() is not None:
            return 3
        return self.bytes_per_pixel

    def _fits_three_bytes(self) -> str | None:
        """'low' when every colour bit lies in the least significant three
        bytes of the 32-bit value, 'high' for the most significant three."""
        used = 0
        for mx, shift in (
            (self.red_max, self.red_shift),
            (self.green_max, self.green_shift),
            (self.blue_max, self.blue_shift),
        ):
            used |= mx << shift
        if used < (1 << 24):
            return "low"
        if used & 0xFF == 0:
            return "high"
        return None

    def cpixel_offset(self) -> int:
        """Which byte of the wire pixel a CPIXEL starts at (0 or 1)."""
        fits = self._fits_three_bytes()
        if fits is None or self.cpixel_size != 3:
            return 0
        # 'low' bits are the first three bytes little-endian, the last three big-endian.
        low_first = (fits == "low") != self.big_endian
        return 0 if low_first else 1

    # -- conversion between BGRA arrays and wire pixels --

    def _dtype(self) -> np.dtype[np.unsignedinteger]:
        order = ">" if self.big_endian else "<"
        return np.dtype(f"{order}u{self.bytes_per_pixel}")

    def from_bgra(self, bgra: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """Pixels of an ``(..., 4)`` BGRA array in this format: ``(..., bpp/8)`` bytes."""
        if self.is_native:
            return bgra
        b = bgra[..., 0].astype(np.uint32)
        g = bgra[..., 1].astype(np.uint32)
        r = bgra[..., 2].astype(np.uint32)
        value = (
            (_scale_down(r, self.red_max) << self.red_shift)
            | (_scale_down(g, self.green_max) << self.green_shift)
            | (_scale_down(b, self.blue_max) << self.blue_shift)
        )
        out = value.astype(self._dtype())
        return out.view(np.uint8).reshape(*bgra.shape[:-1], self.bytes_per_pixel)

    def to_bgra(self, data: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """BGRA (alpha 255) of an ``(..., bpp/8)`` array of wire pixels."""
        shape = data.shape[:-1]
        if self.is_native:
            out = data.copy()
            out[..., 3] = 255
            return out
        value = np.ascontiguousarray(data).view(self._dtype()).reshape(shape).astype(np.uint32)
        out = np.empty((*shape, 4), dtype=np.uint8)
        out[..., 0] = _scale_up((value >> self.blue_shift) & self.blue_max, self.blue_max)
        out[..., 1] = _scale_up((value >> self.green_shift) & self.green_max, self.green_max)
        out[..., 2] = _scale_up((value >> self.red_shift) & self.red_max, self.red_max)
        out[..., 3] = 255
        return out

    def cpixels_from_bgra(self, bgra: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """ZRLE CPIXELs of BGRA pixels: ``(..., cpixel_size)`` bytes."""
        wire = self.from_bgra(bgra)
        if self.cpixel_size == self.bytes_per_pixel:
            return wire
        start = self.cpixel_offset()
        return wire[..., start : start + 3]

    def cpixels_to_bgra(self, data: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """BGRA of ``(..., cpixel_size)`` ZRLE CPIXELs."""
        if self.cpixel_size == self.bytes_per_pixel:
            return self.to_bgra(data)
        wide = np.zeros((*data.shape[:-1], 4), dtype=np.uint8)
        start = self.cpixel_offset()
        wide[..., start : start + 3] = data
        return self.to_bgra(wide)

    def tpixels_from_bgra(self, bgra: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """Tight TPIXELs: R, G, B bytes for 8-bit-channel 32-bit formats,
        wire pixels otherwise."""
        if self.is_888:
            rgb: NDArray[np.uint8] = bgra[..., 2::-1]
            return rgb
        return self.from_bgra(bgra)

    def tpixels_to_bgra(self, data: NDArray[np.uint8]) -> NDArray[np.uint8]:
        if self.is_888:
            out = np.empty((*data.shape[:-1], 4), dtype=np.uint8)
            out[..., 0] = data[..., 2]
            out[..., 1] = data[..., 1]
            out[..., 2] = data[..., 0]
            out[..., 3] = 255
            return out
        return self.to_bgra(data)

    @property
    def tpixel_size(self) -> int:
        return 3 if self.is_888 else self.bytes_per_pixel


def _scale_down(channel: NDArray[Any], mx: int) -> NDArray[Any]:
    if mx == 255:
        return channel
    if (mx + 1) & mx == 0:  # 2^k - 1: keep the top k bits, as VNC servers do
        return channel >> (8 - mx.bit_length())
    return (channel * mx + 127) // 255


def _scale_up(channel: NDArray[Any], mx: int) -> NDArray[Any]:
    if mx == 255:
        return channel
    return (channel * 255 + mx // 2) // mx


#: The server's native format: 32-bit true colour, little-endian BGRX.
BGRX: Final = PixelFormat(32, 24, False, True, 255, 255, 255, 16, 8, 0)
#: Common alternatives viewers ask for.
RGBX: Final = PixelFormat(32, 24, False, True, 255, 255, 255, 0, 8, 16)
RGB565: Final = PixelFormat(16, 16, False, True, 31, 63, 31, 11, 5, 0)
BGR233: Final = PixelFormat(8, 8, False, True, 7, 7, 3, 0, 3, 6)


# --- incremental reader ---------------------------------------------------

Reading = Generator[None, None, bytes]


class StreamReader:
    """Bytes received so far, consumed by parser generators.

    A parser does ``data = yield from reader.read_exact(n)``: the generator
    suspends until ``n`` bytes have arrived, so a stream cut anywhere parses
    the same as one delivered whole.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos and self._pos >= len(self._buf) // 2:
            # Drop what was consumed, so the buffer never grows without bound.
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    @property
    def available(self) -> int:
        return len(self._buf) - self._pos

    def read_exact(self, n: int) -> Reading:
        while len(self._buf) - self._pos < n:
            yield
        start = self._pos
        self._pos += n
        return bytes(self._buf[start : self._pos])

    def skip(self, n: int) -> Generator[None, None, None]:
        """Consume ``n`` bytes without keeping them (memory stays bounded)."""
        while n:
            while self._pos >= len(self._buf):
                yield
            step = min(n, len(self._buf) - self._pos)
            self._pos += step
            n -= step

    def read_u8(self) -> Generator[None, None, int]:
        return (yield from self.read_exact(1))[0]

    def read_u16(self) -> Generator[None, None, int]:
        return int.from_bytes((yield from self.read_exact(2)), "big")

    def read_u32(self) -> Generator[None, None, int]:
        return int.from_bytes((yield from self.read_exact(4)), "big")


class Parser:
    """Drives one parser generator over a :class:`StreamReader`."""

    def __init__(self, gen: Generator[None, None, None], reader: StreamReader) -> None:
        self.reader = reader
        self._gen = gen
        self.finished = False
        next(self._gen)  # run up to the first read

    def feed(self, data: bytes) -> None:
        if self.finished:
            if data:
                raise RfbProtocolError("data received after the connection ended")
            return
        self.reader.feed(data)
        try:
            self._gen.send(None)
        except StopIteration:
            self.finished = True
        except RfbProtocolError:
            self.finished = True
            raise
        except (ValueError, struct.error, IndexError, OverflowError, MemoryError) as exc:
            # Malformed content reaching a decoder (zlib, JPEG...) ends up here.
            self.finished = True
            raise RfbProtocolError(f"malformed data: {exc}") from exc


# --- packing helpers ------------------------------------------------------

RECT_HEADER = struct.Struct(">HHHHi")


def pack_rect_header(rect: Rect, encoding: int) -> bytes:
    return RECT_HEADER.pack(rect.x, rect.y, rect.w, rect.h, encoding)


def pack_string(text: bytes) -> bytes:
    return struct.pack(">I", len(text)) + text


def pack_version(major: int, minor: int) -> bytes:
    return b"RFB %03d.%03d\n" % (major, minor)


def parse_version(data: bytes) -> tuple[int, int]:
    if len(data) != 12 or data[:4] != b"RFB " or data[7:8] != b"." or data[11:] != b"\n":
        raise RfbProtocolError(f"not an RFB protocol version: {data!r}")
    try:
        major, minor = int(data[4:7].decode("ascii")), int(data[8:11].decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RfbProtocolError(f"not an RFB protocol version: {data!r}") from exc
    return major, minor


def pack_server_init(width: int, height: int, pf: PixelFormat, name: str) -> bytes:
    return struct.pack(">HH", width, height) + pf.pack() + pack_string(name.encode("utf-8"))


# client -> server


def pack_set_pixel_format(pf: PixelFormat) -> bytes:
    return struct.pack(">B3x", MSG_SET_PIXEL_FORMAT) + pf.pack()


def pack_set_encodings(encodings: list[int] | tuple[int, ...]) -> bytes:
    return struct.pack(f">BxH{len(encodings)}i", MSG_SET_ENCODINGS, len(encodings), *encodings)


def pack_update_request(incremental: bool, rect: Rect) -> bytes:
    return struct.pack(
        ">BBHHHH", MSG_FRAMEBUFFER_UPDATE_REQUEST, int(incremental), rect.x, rect.y, rect.w, rect.h
    )


def pack_key_event(keysym: int, down: bool) -> bytes:
    return struct.pack(">BBxxI", MSG_KEY_EVENT, int(down), keysym & 0xFFFFFFFF)


def pack_pointer_event(x: int, y: int, buttons: int) -> bytes:
    return struct.pack(">BBHH", MSG_POINTER_EVENT, buttons & 0xFF, max(0, x), max(0, y))


def encode_cut_text(text: str) -> bytes:
    """Plain cut text travels as Latin-1 (RFC 6143 §7.5.6); other characters
    become '?'. Peers with the Extended Clipboard get UTF-8 instead
    (:mod:`.clipboard`)."""
    return text.replace("\r\n", "\n").encode("latin-1", errors="replace")


def pack_client_cut_text(text: str) -> bytes:
    return struct.pack(">B3x", MSG_CLIENT_CUT_TEXT) + pack_string(encode_cut_text(text))


def pack_set_desktop_size(width: int, height: int) -> bytes:
    screen = struct.pack(">IHHHHI", 0, 0, 0, width, height, 0)
    return struct.pack(">BxHHBx", MSG_SET_DESKTOP_SIZE, width, height, 1) + screen


# server -> client


def pack_bell() -> bytes:
    return bytes([MSG_BELL])


def pack_server_cut_text(text: str) -> bytes:
    return struct.pack(">B3x", MSG_SERVER_CUT_TEXT) + pack_string(encode_cut_text(text))


def pack_update_header(count: int) -> bytes:
    return struct.pack(">BxH", MSG_FRAMEBUFFER_UPDATE, count)


# --- events ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientInitialised:
    """Server side: the handshake finished; ``shared`` is the ClientInit flag."""

    shared: bool


@dataclass(frozen=True, slots=True)
class PixelFormatChanged:
    pixel_format: PixelFormat


@dataclass(frozen=True, slots=True)
class EncodingsChanged:
    encodings: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class UpdateRequested:
    incremental: bool
    rect: Rect


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """Input: a key went down or up (X11 keysym)."""

    keysym: int
    down: bool


@dataclass(frozen=True, slots=True)
class PointerEvent:
    """Input: pointer position and button mask (bit 0 left, 1 middle, 2 right,
    3/4 wheel up/down)."""

    x: int
    y: int
    buttons: int


@dataclass(frozen=True, slots=True)
class CutText:
    """Clipboard text from the peer (server side: the client's; client side:
    the server's): full Unicode with the Extended Clipboard, else Latin-1."""

    text: str


@dataclass(frozen=True, slots=True)
class CutTextDropped:
    """The peer sent clipboard text longer than the limit; it was skipped."""

    length: int


@dataclass(frozen=True, slots=True)
class DesktopSizeRequested:
    """Server side: the client asked for a new desktop size (refused, since a
    shared screen cannot be resized from afar, but reported)."""

    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Connected:
    """Client side: ServerInit received."""

    width: int
    height: int
    name: str
    pixel_format: PixelFormat


@dataclass(frozen=True, slots=True)
class FramebufferUpdated:
    """Client side: one FramebufferUpdate was applied; the rectangles that changed."""

    rects: tuple[Rect, ...]


@dataclass(frozen=True, slots=True)
class Resized:
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Bell:
    pass


@dataclass(frozen=True, slots=True)
class CursorChanged:
    """Client side: the pointer shape; ``image`` is BGRA with alpha 0 where
    the mask is clear (an empty array hides the cursor)."""

    image: NDArray[np.uint8]
    hotspot_x: int
    hotspot_y: int


@dataclass(frozen=True, slots=True)
class DesktopSizeRefused:
    """Client side: the server answered a SetDesktopSize with an error status."""

    status: int


ServerEvent = (
    ClientInitialised
    | PixelFormatChanged
    | EncodingsChanged
    | UpdateRequested
    | KeyEvent
    | PointerEvent
    | CutText
    | CutTextDropped
    | DesktopSizeRequested
)
ClientEvent = (
    Connected
    | FramebufferUpdated
    | Resized
    | Bell
    | CutText
    | CutTextDropped
    | CursorChanged
    | DesktopSizeRefused
)
