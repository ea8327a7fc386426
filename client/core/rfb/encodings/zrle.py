"""ZRLE encoding (16), RFC 6143 §7.7.6.

A rectangle is a 4-byte length and zlib data from ONE stream that lives as
long as the connection (sync-flushed after each rectangle). Uncompressed,
it is the rectangle's 64 x 64 tiles, left to right, top to bottom, each a
subencoding byte and its data:

* 0 raw CPIXELs; 1 solid (one CPIXEL);
* 2..16 packed palette: that many CPIXELs, then indices of 1, 2 or 4 bits,
  rows padded to a byte, most significant bits first;
* 128 plain RLE: runs of (CPIXEL, run length);
* 130..255 palette RLE: ``n - 128`` CPIXELs, then per run an index byte
  (top bit set when a run length follows; single pixels have none).

A run length ``L`` is written as ``(L - 1) // 255`` bytes of 255 and one of
``(L - 1) % 255``. A CPIXEL is 3 bytes for 32-bit formats whose colours fit
in 3 bytes (so B, G, R for our BGRX), otherwise a whole pixel.

The encoder computes each subencoding's size from the tile's palette
(``numpy.unique``) and runs (one vectorised comparison) and writes the
smallest, building the RLE byte strings with array arithmetic, never a
per-pixel Python loop.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from numpy.typing import NDArray

from ..framebuffer import TILE, Frame, Framebuffer, as_u32
from ..messages import ENC_ZRLE, PixelFormat, Rect, RfbProtocolError, StreamReader
from . import Decoding, EncodedRect, EncodeOptions, inflate

_LENGTH = struct.Struct(">I")
U32 = NDArray[np.uint32]
I64 = NDArray[np.int64]


def _cpixels(values: U32, pf: PixelFormat) -> NDArray[np.uint8]:
    """CPIXEL bytes ``(n, cpixel_size)`` of BGRA pixels given as uint32."""
    bgra = np.ascontiguousarray(values).view(np.uint8).reshape(-1, 4)
    return np.ascontiguousarray(pf.cpixels_from_bgra(bgra))


def _run_length_bytes(lengths: I64) -> I64:
    return (lengths - 1) // 255 + 1


def _pack_indices(index: NDArray[np.uint8], bits: int) -> bytes:
    """Palette indices ``(h, w)`` packed ``bits`` per pixel, rows padded."""
    if bits == 1:
        return np.packbits(index, axis=1).tobytes()
    per_byte = 8 // bits
    h, w = index.shape
    padded = np.zeros((h, -(-w // per_byte) * per_byte), dtype=np.uint8)
    padded[:, :w] = index
    groups = padded.reshape(h, -1, per_byte)
    out = np.zeros(groups.shape[:2], dtype=np.uint8)
    for k in range(per_byte):
        out |= groups[:, :, k] << (8 - bits * (k + 1))
    return out.tobytes()


def encode_tile(tile: U32, pf: PixelFormat) -> bytes:
    """One tile's subencoding byte and data (the smallest representation)."""
    th, tw = tile.shape
    flat = tile.ravel()
    first = flat[0]
    if bool((flat == first).all()):
        return b"\x01" + _cpixels(flat[:1], pf).tobytes()
    cs = pf.cpixel_size
    srt = np.sort(flat)
    keep = np.empty(len(srt), dtype=bool)
    keep[0] = True
    np.not_equal(srt[1:], srt[:-1], out=keep[1:])
    palette = srt[keep]
    n = len(palette)
    count = flat.size
    starts = np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1))
    lengths = np.diff(np.append(starts, count)).astype(np.int64)
    rl_bytes = _run_length_bytes(lengths)
    runs = len(starts)

    best, choice = count * cs, "raw"
    bits = 1 if n == 2 else 2 if n <= 4 else 4
    if n <= 16:
        size = n * cs + th * ((tw * bits + 7) // 8)
        if size < best:
            best, choice = size, "packed"
    plain = runs * cs + int(rl_bytes.sum())
    if plain < best:
        best, choice = plain, "plain"
    if n <= 127:
        size = n * cs + runs + int(rl_bytes[lengths > 1].sum())
        if size < best:
            best, choice = size, "palette_rle"

    if choice == "raw":
        return b"\x00" + _cpixels(flat, pf).tobytes()
    inverse = np.searchsorted(palette, flat)
    if choice == "packed":
        index = inverse.reshape(th, tw).astype(np.uint8)
        return bytes([n]) + _cpixels(palette, pf).tobytes() + _pack_indices(index, bits)
    if choice == "plain":
        sizes = cs + rl_bytes
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        out = np.full(int(sizes.sum()), 255, dtype=np.uint8)
        colours = _cpixels(flat[starts], pf)
        out[offsets[:, None] + np.arange(cs)] = colours
        out[offsets + sizes - 1] = (lengths - 1) % 255
        return b"\x80" + out.tobytes()
    # palette RLE
    long_run = lengths > 1
    sizes = 1 + np.where(long_run, rl_bytes, 0)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    out = np.full(int(sizes.sum()), 255, dtype=np.uint8)
    out[offsets] = inverse[starts].astype(np.uint8) | np.where(long_run, 0x80, 0).astype(np.uint8)
    out[(offsets + sizes - 1)[long_run]] = ((lengths[long_run] - 1) % 255).astype(np.uint8)
    return bytes([128 + n]) + _cpixels(palette, pf).tobytes() + out.tobytes()


class ZrleEncoder:
    """Encoder state of one connection: its single zlib stream."""

    def __init__(self, level: int = 6) -> None:
        self._zlib = zlib.compressobj(level)

    def encode(self, frame: Frame, rect: Rect, opts: EncodeOptions) -> list[EncodedRect]:
        pf = opts.pixel_format
        block = as_u32(frame)[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
        parts = [
            encode_tile(block[ty : ty + TILE, tx : tx + TILE], pf)
            for ty in range(0, rect.h, TILE)
            for tx in range(0, rect.w, TILE)
        ]
        data = self._zlib.compress(b"".join(parts)) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        return [(rect, ENC_ZRLE, _LENGTH.pack(len(data)) + data)]


class ZrleDecoder:
    """Decoder state of one connection: its single inflate stream."""

    def __init__(self) -> None:
        self._zlib = zlib.decompressobj()

    def decode(
        self, reader: StreamReader, rect: Rect, pf: PixelFormat, fb: Framebuffer
    ) -> Decoding:
        length = _LENGTH.unpack((yield from reader.read_exact(4)))[0]
        cs = pf.cpixel_size
        tiles = -(-rect.w // TILE) * -(-rect.h // TILE)
        limit = rect.area * (cs + 1) + tiles * (1 + 127 * cs)
        # zlib never grows data by more than ~0.1% plus a few bytes per block.
        if length > limit + limit // 100 + 1024:
            raise RfbProtocolError("ZRLE data longer than the rectangle can need")
        data = inflate(self._zlib, (yield from reader.read_exact(length)), limit)
        pos = 0
        for ty in range(0, rect.h, TILE):
            for tx in range(0, rect.w, TILE):
                tile = Rect(
                    rect.x + tx, rect.y + ty, min(TILE, rect.w - tx), min(TILE, rect.h - ty)
                )
                pos = _decode_tile(data, pos, tile, pf, fb)
        if pos != len(data):
            raise RfbProtocolError("ZRLE data longer than its tiles")


def _take(data: bytes, pos: int, n: int) -> NDArray[np.uint8]:
    if pos + n > len(data):
        raise RfbProtocolError("ZRLE tile data cut short")
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=pos)


def _read_run(data: bytes, pos: int) -> tuple[int, int]:
    """(run length, next position)."""
    length = 1
    while True:
        if pos >= len(data):
            raise RfbProtocolError("ZRLE run length cut short")
        b = data[pos]
        pos += 1
        length += b
        if b != 255:
            return length, pos


def _decode_tile(data: bytes, pos: int, tile: Rect, pf: PixelFormat, fb: Framebuffer) -> int:
    if pos >= len(data):
        raise RfbProtocolError("ZRLE tile missing")
    sub = data[pos]
    pos += 1
    cs = pf.cpixel_size
    count = tile.area
    if sub == 0:
        raw = _take(data, pos, count * cs).reshape(tile.h, tile.w, cs)
        fb.put(tile, pf.cpixels_to_bgra(raw))
        return pos + count * cs
    if sub == 1:
        fb.fill(tile, pf.cpixels_to_bgra(_take(data, pos, cs).reshape(1, cs))[0])
        return pos + cs
    if 2 <= sub <= 16:
        palette = pf.cpixels_to_bgra(_take(data, pos, sub * cs).reshape(sub, cs))
        pos += sub * cs
        bits = 1 if sub == 2 else 2 if sub <= 4 else 4
        row = (tile.w * bits + 7) // 8
        packed = _take(data, pos, row * tile.h).reshape(tile.h, row)
        unpacked = np.unpackbits(packed, axis=1).reshape(tile.h, row * 8 // bits, bits)
        weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.uint8)
        index = (unpacked * weights).sum(axis=2, dtype=np.uint8)[:, : tile.w]
        if int(index.max()) >= sub:
            raise RfbProtocolError("ZRLE palette index out of range")
        fb.put(tile, palette[index])
        return pos + row * tile.h
    if sub == 128:
        colours: list[int] = []
        lengths: list[int] = []
        total = 0
        while total < count:
            colours.append(pos)
            if pos + cs > len(data):
                raise RfbProtocolError("ZRLE tile data cut short")
            run, pos = _read_run(data, pos + cs)
            lengths.append(run)
            total += run
        if total != count:
            raise RfbProtocolError("ZRLE runs overflow the tile")
        starts = np.array(colours, dtype=np.int64)
        raw = np.frombuffer(data, dtype=np.uint8)[starts[:, None] + np.arange(cs)]
        pixels = np.repeat(pf.cpixels_to_bgra(raw), lengths, axis=0)
        fb.put(tile, pixels.reshape(tile.h, tile.w, 4))
        return pos
    if sub >= 130:
        n = sub - 128
        palette = pf.cpixels_to_bgra(_take(data, pos, n * cs).reshape(n, cs))
        pos += n * cs
        indices: list[int] = []
        lengths = []
        total = 0
        while total < count:
            if pos >= len(data):
                raise RfbProtocolError("ZRLE tile data cut short")
            b = data[pos]
            pos += 1
            if b & 0x80:
                run, pos = _read_run(data, pos)
            else:
                run = 1
            indices.append(b & 0x7F)
            lengths.append(run)
            total += run
        if total != count:
            raise RfbProtocolError("ZRLE runs overflow the tile")
        index = np.array(indices, dtype=np.int64)
        if int(index.max()) >= n:
            raise RfbProtocolError("ZRLE palette index out of range")
        pixels = np.repeat(palette[index], lengths, axis=0)
        fb.put(tile, pixels.reshape(tile.h, tile.w, 4))
        return pos
    raise RfbProtocolError(f"unknown ZRLE subencoding {sub}")
