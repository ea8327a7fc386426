"""H.264 encoding (50), in the format noVNC and TigerVNC use.

Each rectangle: a 4-byte length, 4-byte flags (1: reset this rectangle's
decoder context, 2: reset all contexts), then that many bytes of Annex-B
H.264. A decoder context belongs to one (x, y, width, height).

Optional: it needs PyAV (the ``h264`` extra). The import is lazy and
:func:`available` says whether encoding and decoding can work; without it
the server never picks H.264 and the client never offers it. The encoder is
libx264 (GPL; PyAV's wheels bundle it), ultrafast + zerolatency, so each
frame comes out at once, and no periodic keyframes: the server resets the
context instead when the viewer asks for a full picture.
"""

from __future__ import annotations

import functools
import struct
from fractions import Fraction
from typing import Any

import numpy as np

from ..framebuffer import Frame, Framebuffer
from ..messages import PixelFormat, Rect, RfbProtocolError, StreamReader
from . import Decoding, EncodeOptions

FLAG_RESET = 1
FLAG_RESET_ALL = 2
_HEADER = struct.Struct(">II")
#: Decoder contexts kept at most (noVNC keeps 64 too).
MAX_CONTEXTS = 64


@functools.cache
def available() -> bool:
    """Whether PyAV with libx264 and an H.264 decoder is importable."""
    try:
        import av

        av.codec.Codec("libx264", "w")
        av.codec.Codec("h264", "r")
    except Exception:
        return False
    return True


def crf_for(opts: EncodeOptions) -> int:
    """x264 constant rate factor from the Tight quality level (9 best)."""
    if opts.fine_quality is not None:
        return max(12, min(45, 45 - opts.fine_quality * 30 // 100))
    level = 6 if opts.quality is None else opts.quality
    return 38 - 2 * level


class H264Encoder:
    """One encoder context: the whole framebuffer, one size."""

    def __init__(self, width: int, height: int, opts: EncodeOptions) -> None:
        import av

        ctx: Any = av.CodecContext.create("libx264", "w")
        ctx.width, ctx.height = width, height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = Fraction(1, 1000)
        ctx.options = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "crf": str(crf_for(opts)),
            "x264-params": "keyint=infinite",
        }
        self._ctx = ctx
        self._pts = 0

    def encode(self, frame: Frame, *, reset: bool) -> bytes:
        import av

        video = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="bgra")
        video.pts = self._pts
        self._pts += 1
        data = b"".join(bytes(p) for p in self._ctx.encode(video))
        return _HEADER.pack(len(data), FLAG_RESET if reset else 0) + data


class H264Decoder:
    """Decoder contexts of one connection, by rectangle."""

    def __init__(self) -> None:
        self._contexts: dict[tuple[int, int, int, int], Any] = {}

    def decode(
        self, reader: StreamReader, rect: Rect, pf: PixelFormat, fb: Framebuffer
    ) -> Decoding:
        length, flags = _HEADER.unpack((yield from reader.read_exact(8)))
        if length > rect.area * 4 + (1 << 20):
            raise RfbProtocolError("H.264 data longer than the rectangle can need")
        data = yield from reader.read_exact(length)
        key = (rect.x, rect.y, rect.w, rect.h)
        if flags & FLAG_RESET_ALL:
            self._contexts.clear()
        elif flags & FLAG_RESET:
            self._contexts.pop(key, None)
        if not length:
            return
        if not available():
            raise RfbProtocolError("H.264 received but PyAV is not installed")
        import av

        ctx = self._contexts.get(key)
        if ctx is None:
            if len(self._contexts) >= MAX_CONTEXTS:
                self._contexts.pop(next(iter(self._contexts)))
            ctx = av.CodecContext.create("h264", "r")
            self._contexts[key] = ctx
        try:
            frames = ctx.decode(av.Packet(data))
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            raise RfbProtocolError(f"bad H.264 data: {exc}") from exc
        if not frames:
            return
        image = np.asarray(frames[-1].to_ndarray(format="bgra"), dtype=np.uint8)
        if image.shape[:2] != (rect.h, rect.w):
            raise RfbProtocolError("H.264 picture size differs from the rectangle")
        image[..., 3] = 255
        fb.put(rect, image)
