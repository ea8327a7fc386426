"""Raw encoding (0): pixels in the client's format, row by row."""

from __future__ import annotations

import numpy as np

from ..framebuffer import Frame, Framebuffer
from ..messages import PixelFormat, Rect, StreamReader
from . import Decoding


def encode_raw(frame: Frame, rect: Rect, pf: PixelFormat) -> bytes:
    block = frame[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
    return np.ascontiguousarray(pf.from_bgra(block)).tobytes()


class RawDecoder:
    def decode(
        self, reader: StreamReader, rect: Rect, pf: PixelFormat, fb: Framebuffer
    ) -> Decoding:
        data = yield from reader.read_exact(rect.area * pf.bytes_per_pixel)
        if rect.area:
            wire = np.frombuffer(data, dtype=np.uint8).reshape(rect.h, rect.w, pf.bytes_per_pixel)
            fb.put(rect, pf.to_bgra(wire))
