"""Pseudo-encodings: rectangles that carry no pixels of the framebuffer.

* DesktopSize (-223): the rectangle's size is the new framebuffer size.
* ExtendedDesktopSize (-308): x = reason, y = status, size = framebuffer
  size, then the screen layout (we always describe one screen).
* Cursor (-239): x, y = hotspot; pixels in the client's format followed by
  a 1-bit-per-pixel mask, rows padded to bytes, most significant bit first.
* LastRect (-224): ends an update whose rectangle count was 0xFFFF.
"""

from __future__ import annotations

import struct
from collections.abc import Generator

import numpy as np

from ..framebuffer import Frame
from ..messages import (
    ENC_CURSOR,
    ENC_EXTENDED_DESKTOP_SIZE,
    ENC_LAST_RECT,
    PixelFormat,
    Rect,
    RfbProtocolError,
    StreamReader,
)
from . import EncodedRect

_SCREEN = struct.Struct(">IHHHHI")
#: Largest cursor a client accepts.
MAX_CURSOR = 1024


def encode_extended_desktop_size(reason: int, status: int, width: int, height: int) -> EncodedRect:
    payload = struct.pack(">B3x", 1) + _SCREEN.pack(0, 0, 0, width, height, 0)
    return Rect(reason, status, width, height), ENC_EXTENDED_DESKTOP_SIZE, payload


def last_rect() -> EncodedRect:
    return Rect(0, 0, 0, 0), ENC_LAST_RECT, b""


def encode_cursor(image: Frame, hotspot_x: int, hotspot_y: int, pf: PixelFormat) -> EncodedRect:
    """A Cursor pseudo-rectangle; alpha >= 128 marks the pixels drawn."""
    h, w = int(image.shape[0]), int(image.shape[1])
    hx = min(max(0, hotspot_x), max(0, w - 1))
    hy = min(max(0, hotspot_y), max(0, h - 1))
    if w == 0 or h == 0:
        return Rect(0, 0, 0, 0), ENC_CURSOR, b""
    pixels = np.ascontiguousarray(pf.from_bgra(image)).tobytes()
    mask = np.packbits(image[..., 3] >= 128, axis=1).tobytes()
    return Rect(hx, hy, w, h), ENC_CURSOR, pixels + mask


def read_cursor(reader: StreamReader, rect: Rect, pf: PixelFormat) -> Generator[None, None, Frame]:
    """A Cursor pseudo-rectangle's image as BGRA, alpha 0 where masked out."""
    if rect.w > MAX_CURSOR or rect.h > MAX_CURSOR:
        raise RfbProtocolError(f"cursor of {rect.w}x{rect.h} is too large")
    bpp = pf.bytes_per_pixel
    data = yield from reader.read_exact(rect.area * bpp + (rect.w + 7) // 8 * rect.h)
    if rect.area == 0:
        return np.zeros((0, 0, 4), dtype=np.uint8)
    split = rect.area * bpp
    wire = np.frombuffer(data[:split], dtype=np.uint8).reshape(rect.h, rect.w, bpp)
    image = pf.to_bgra(wire)
    bits = np.frombuffer(data[split:], dtype=np.uint8).reshape(rect.h, -1)
    mask = np.unpackbits(bits, axis=1)[:, : rect.w].astype(bool)
    image[..., 3] = np.where(mask, 255, 0)
    return image


def read_extended_desktop_size(reader: StreamReader) -> Generator[None, None, int]:
    """Consume the screen layout; returns the number of screens."""
    count = (yield from reader.read_exact(4))[0]
    yield from reader.skip(_SCREEN.size * count)
    return count
