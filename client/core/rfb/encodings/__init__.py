"""Rectangle encodings: server-side encoders and client-side decoders.

An encoder turns part of a BGRA frame into ``(rect, encoding, payload)``
triples (it may split its rectangle); the payload is what follows the
12-byte rectangle header. A decoder is a generator that reads one
rectangle's payload from a :class:`~client.core.rfb.messages.StreamReader`
and paints it into a :class:`~client.core.rfb.framebuffer.Framebuffer`.

Decoders never trust sizes from the wire: every length is checked against
what the rectangle can need before anything is read or inflated.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from dataclasses import dataclass
from typing import Protocol

from ..framebuffer import Framebuffer
from ..messages import BGRX, PixelFormat, Rect, RfbProtocolError, StreamReader

EncodedRect = tuple[Rect, int, bytes]
Decoding = Generator[None, None, None]


@dataclass(slots=True)
class EncodeOptions:
    """What the client negotiated, as encoders need it."""

    pixel_format: PixelFormat = BGRX
    #: Tight quality level 0..9; None: the client asked for none, so no JPEG.
    quality: int | None = None
    #: TurboVNC fine quality 0..100 (overrides ``quality``'s JPEG quality).
    fine_quality: int | None = None
    #: TurboVNC subsampling pseudo-encoding (-768..-763) or None.
    subsampling: int | None = None
    #: Compression level 0..9.
    compression: int = 2

    @property
    def zlib_level(self) -> int:
        """zlib level for the compression level: the default 2 (and below)
        uses zlib's fastest level, which costs little size on screen content."""
        return max(1, min(9, self.compression - 1))


class Decoder(Protocol):
    """Reads one rectangle of its encoding and paints it."""

    def decode(
        self, reader: StreamReader, rect: Rect, pf: PixelFormat, fb: Framebuffer
    ) -> Decoding: ...


def inflate(stream: zlib._Decompress, data: bytes, expected: int) -> bytes:
    """Inflate ``data`` on a persistent stream into at most ``expected`` bytes.

    One byte of headroom lets zlib consume a trailing sync-flush marker.
    """
    try:
        out = stream.decompress(data, expected + 1)
    except zlib.error as exc:
        raise RfbProtocolError(f"bad zlib data: {exc}") from exc
    if len(out) > expected or stream.unconsumed_tail:
        raise RfbProtocolError("compressed data inflates beyond the rectangle")
    return out
