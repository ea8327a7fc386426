"""CopyRect encoding (1): the client copies a rectangle of its own framebuffer.

The server finds the moves (scrolls) with
:func:`client.core.rfb.framebuffer.detect_scroll`; a move's payload is only
the source position.
"""

from __future__ import annotations

import struct

from ..framebuffer import Framebuffer
from ..messages import PixelFormat, Rect, RfbProtocolError, StreamReader
from . import Decoding

_SRC = struct.Struct(">HH")


def encode_copyrect(src_x: int, src_y: int) -> bytes:
    return _SRC.pack(src_x, src_y)


class CopyRectDecoder:
    def decode(
        self, reader: StreamReader, rect: Rect, pf: PixelFormat, fb: Framebuffer
    ) -> Decoding:
        src_x, src_y = _SRC.unpack((yield from reader.read_exact(4)))
        if not fb.contains(Rect(src_x, src_y, rect.w, rect.h)):
            raise RfbProtocolError("CopyRect source outside the framebuffer")
        fb.copy(rect, src_x, src_y)
