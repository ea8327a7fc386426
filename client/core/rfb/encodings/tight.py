"""Tight encoding (7), as TightVNC/TigerVNC/noVNC speak it.

Each rectangle starts with a compression-control byte: bits 0-3 reset zlib
streams 0-3, the high nibble says how the pixels follow:

* ``0x8`` fill: one TPIXEL paints the whole rectangle;
* ``0x9`` JPEG: a compact length and a JPEG image;
* ``0b0F SS`` basic compression: stream ``SS``, and when ``F`` is set a
  filter byte (0 copy, 1 palette, 2 gradient) first. Palette: colour count
  minus one, the colours, then 1-bit rows (2 colours) or 1-byte indices.
  Data shorter than 12 bytes goes as is; longer data is a compact length
  and the zlib output of the stream (sync-flushed, the stream lives on).

TPIXELs are R, G, B bytes for 32-bit formats with 8-bit channels, wire
pixels otherwise. A compact length is 1-3 bytes, 7 bits each, low first.

The encoder cuts the rectangle into 64 x 64 tiles and counts each tile's
colours (one vectorised sort of all tiles): 1 colour -> fill (runs of equal
solid tiles merge), up to 256 -> palette (neighbouring palette tiles share
one rectangle while the union stays within 256 colours), more -> JPEG when
the viewer sent a quality level (neighbouring photo tiles merge into one
image), otherwise the copy filter. Streams: 0 full colour, 1 two-colour,
2 indexed. Rectangles stay within 2048 pixels wide (the limit TigerVNC
checks) and basic ones within 65536 pixels.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Generator

import numpy as np
from numpy.typing import NDArray

from ..framebuffer import TILE, Frame, Framebuffer, as_u32
from ..messages import (
    ENC_SUBSAMP_1X,
    ENC_SUBSAMP_2X,
    ENC_SUBSAMP_GRAY,
    ENC_TIGHT,
    PixelFormat,
    Rect,
    RfbProtocolError,
    StreamReader,
)
from . import Decoding, EncodedRect, EncodeOptions, inflate

MAX_WIDTH = 2048
MAX_BASIC_PIXELS = 65536
MAX_COMPACT = (1 << 22) - 1
MIN_TO_COMPRESS = 12
MAX_PALETTE = 256

STREAM_FULL, STREAM_MONO, STREAM_INDEXED = 0, 1, 2
CTL_FILL, CTL_JPEG, CTL_PNG = 0x80, 0x90, 0xA0
FLAG_FILTER = 0x40
FILTER_COPY, FILTER_PALETTE, FILTER_GRADIENT = 0, 1, 2

#: Tight quality level -> (JPEG quality, subsampling) as TigerVNC maps it;
#: subsampling is Pillow's (0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0).
JPEG_LEVELS: tuple[tuple[int, int], ...] = (
    (15, 2),
    (29, 2),
    (41, 2),
    (42, 1),
    (62, 1),
    (77, 1),
    (79, 0),
    (86, 0),
    (92, 0),
    (100, 0),
)
GRAY = -1


def compact_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n < 0x4000:
        return bytes([(n & 0x7F) | 0x80, n >> 7])
    if n <= MAX_COMPACT:
        return bytes([(n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14])
    raise ValueError(f"{n} bytes do not fit a Tight compact length")


def jpeg_settings(opts: EncodeOptions) -> tuple[int, int] | None:
    """(JPEG quality, subsampling) for the negotiated options, or None
    when JPEG must not be used."""
    if opts.pixel_format.bits_per_pixel < 16:
        return None
    if opts.fine_quality is not None:
        quality = max(1, opts.fine_quality)
        level = opts.quality if opts.quality is not None else 6
        subsampling = JPEG_LEVELS[level][1]
    elif opts.quality is not None:
        quality, subsampling = JPEG_LEVELS[opts.quality]
    else:
        return None
    if opts.subsampling is not None:
        subsampling = {ENC_SUBSAMP_1X: 0, ENC_SUBSAMP_2X: 1, ENC_SUBSAMP_GRAY: GRAY}.get(
            opts.subsampling, 2
        )
    return quality, subsampling


def encode_jpeg(block: Frame, quality: int, subsampling: int) -> bytes:
    """JPEG of a BGRA block (Pillow reads the BGRX bytes directly)."""
    from PIL import Image

    h, w = block.shape[:2]
    data = np.ascontiguousarray(block)
    image = Image.frombuffer("RGB", (w, h), data, "raw", "BGRX", 0, 1)
    out = io.BytesIO()
    if subsampling == GRAY:
        image.convert("L").save(out, "JPEG", quality=quality)
    else:
        image.save(out, "JPEG", quality=quality, subsampling=subsampling)
    return out.getvalue()


class TightEncoder:
    """Encoder state of one connection: the four zlib streams."""

    def __init__(self) -> None:
        self._streams: list[zlib._Compress | None] = [None] * 4
        self._levels = [0] * 4

    def encode(self, frame: Frame, rect: Rect, opts: EncodeOptions) -> list[EncodedRect]:
        out: list[EncodedRect] = []
        if rect.empty:
            return out
        jpeg = jpeg_settings(opts)
        block32 = as_u32(frame)[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
        counts, sorted_tiles = _tile_colours(block32)
        nty, ntx = counts.shape
        kind = np.where(counts == 1, 0, np.where(counts <= MAX_PALETTE, 1, 2))
        done = np.zeros_like(counts, dtype=bool)

        def tile_rect(ty: int, tx: int, rows: int = 1, cols: int = 1) -> Rect:
            x0, y0 = rect.x + tx * TILE, rect.y + ty * TILE
            x1 = min(rect.x + rect.w, x0 + cols * TILE)
            y1 = min(rect.y + rect.h, y0 + rows * TILE)
            return Rect(x0, y0, x1 - x0, y1 - y0)

        max_tiles_wide = MAX_WIDTH // TILE
        # Photo-like tiles: merged into rectangles, one JPEG each.
        if jpeg is not None and (kind == 2).any():
            for ty0, tx0, rows, cols in _merge(kind == 2, max_tiles_wide):
                r = tile_rect(ty0, tx0, rows, cols)
                out.extend(self._jpeg(frame, r, opts, jpeg))
            done |= kind == 2
        per_basic = MAX_BASIC_PIXELS // (TILE * TILE)
        for ty in range(nty):
            tx = 0
            while tx < ntx:
                if done[ty, tx]:
                    tx += 1
                    continue
                k = int(kind[ty, tx])
                end = tx + 1
                if k == 0:
                    colour = block32[ty * TILE, tx * TILE]

                    def same_solid(row: int, col: int, colour: np.uint32 = colour) -> bool:
                        return bool(
                            kind[row, col] == 0
                            and not done[row, col]
                            and block32[row * TILE, col * TILE] == colour
                        )

                    while end < ntx and end - tx < max_tiles_wide and same_solid(ty, end):
                        end += 1
                    rows = 1  # grow downwards while the rows below are the same run
                    while ty + rows < nty and all(same_solid(ty + rows, c) for c in range(tx, end)):
                        rows += 1
                    done[ty : ty + rows, tx:end] = True
                    r = tile_rect(ty, tx, rows, end - tx)
                    out.append(self._fill(r, colour, opts.pixel_format))
                elif k == 1:
                    palette = _unique_sorted(sorted_tiles[ty, tx])
                    while (
                        end < min(ntx, tx + per_basic) and kind[ty, end] == 1 and not done[ty, end]
                    ):
                        merged = np.union1d(palette, _unique_sorted(sorted_tiles[ty, end]))
                        if len(merged) > MAX_PALETTE:
                            break
                        palette = merged
                        end += 1
                    done[ty, tx:end] = True
                    out.append(self._palette(frame, tile_rect(ty, tx, 1, end - tx), palette, opts))
                else:
                    while (
                        end < min(ntx, tx + per_basic) and kind[ty, end] == 2 and not done[ty, end]
                    ):
                        end += 1
                    done[ty, tx:end] = True
                    out.append(self._full(frame, tile_rect(ty, tx, 1, end - tx), opts))
                tx = end
        return out

    # -- subencodings --

    def _fill(self, rect: Rect, colour: np.uint32, pf: PixelFormat) -> EncodedRect:
        pixel = np.array([colour], dtype=np.uint32).view(np.uint8).reshape(1, 4)
        tpixel = np.ascontiguousarray(pf.tpixels_from_bgra(pixel)).tobytes()
        return rect, ENC_TIGHT, bytes([CTL_FILL]) + tpixel

    def _jpeg(
        self, frame: Frame, rect: Rect, opts: EncodeOptions, jpeg: tuple[int, int]
    ) -> list[EncodedRect]:
        block = frame[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
        data = encode_jpeg(block, *jpeg)
        if len(data) > MAX_COMPACT:
            # Too big for a compact length: halve the rectangle.
            if rect.h > 1:
                top = Rect(rect.x, rect.y, rect.w, rect.h // 2)
                bottom = Rect(rect.x, rect.y + top.h, rect.w, rect.h - top.h)
            else:
                top = Rect(rect.x, rect.y, rect.w // 2, 1)
                bottom = Rect(rect.x + top.w, rect.y, rect.w - top.w, 1)
            return self._jpeg(frame, top, opts, jpeg) + self._jpeg(frame, bottom, opts, jpeg)
        return [(rect, ENC_TIGHT, bytes([CTL_JPEG]) + compact_length(len(data)) + data)]

    def _palette(
        self, frame: Frame, rect: Rect, palette: NDArray[np.uint32], opts: EncodeOptions
    ) -> EncodedRect:
        pf = opts.pixel_format
        pixels = as_u32(frame)[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
        index = np.searchsorted(palette, pixels).astype(np.uint8)
        if len(palette) == 2:
            data = np.packbits(index, axis=1).tobytes()
            stream = STREAM_MONO
        else:
            data = index.tobytes()
            stream = STREAM_INDEXED
        colours = palette.view(np.uint8).reshape(-1, 4)
        head = (
            bytes([FILTER_PALETTE, len(palette) - 1])
            + np.ascontiguousarray(pf.tpixels_from_bgra(colours)).tobytes()
        )
        reset, body = self._compress(stream, data, opts.zlib_level)
        ctl = reset | (stream << 4) | FLAG_FILTER
        return rect, ENC_TIGHT, bytes([ctl]) + head + body

    def _full(self, frame: Frame, rect: Rect, opts: EncodeOptions) -> EncodedRect:
        block = frame[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
        data = np.ascontiguousarray(opts.pixel_format.tpixels_from_bgra(block)).tobytes()
        reset, body = self._compress(STREAM_FULL, data, opts.zlib_level)
        return rect, ENC_TIGHT, bytes([reset | (STREAM_FULL << 4)]) + body

    def _compress(self, stream: int, data: bytes, level: int) -> tuple[int, bytes]:
        """(reset bits for the control byte, bytes to send)."""
        if len(data) < MIN_TO_COMPRESS:
            return 0, data
        reset = 0
        compressor = self._streams[stream]
        if compressor is None or self._levels[stream] != level:
            if compressor is not None:
                reset = 1 << stream  # the viewer starts a fresh stream too
            compressor = zlib.compressobj(level)
            self._streams[stream] = compressor
            self._levels[stream] = level
        packed = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return reset, compact_length(len(packed)) + packed


def _tile_colours(block32: NDArray[np.uint32]) -> tuple[NDArray[np.int64], NDArray[np.object_]]:
    """Per 64 x 64 tile of the block: its number of colours and its pixels
    sorted (for building palettes), computed tile-group by tile-group."""
    h, w = block32.shape
    nty, ntx = -(-h // TILE), -(-w // TILE)
    counts = np.zeros((nty, ntx), dtype=np.int64)
    sorted_tiles = np.empty((nty, ntx), dtype=object)
    fy, fx = h // TILE, w // TILE
    for rows, ys in ((fy, slice(0, fy * TILE)), (1 if h % TILE else 0, slice(fy * TILE, h))):
        if not rows:
            continue
        for cols, xs in ((fx, slice(0, fx * TILE)), (1 if w % TILE else 0, slice(fx * TILE, w))):
            if not cols:
                continue
            part = block32[ys, xs]
            th, tw = part.shape[0] // rows, part.shape[1] // cols
            tiles = (
                part.reshape(rows, th, cols, tw).transpose(0, 2, 1, 3).reshape(rows * cols, th * tw)
            )
            srt = np.sort(tiles, axis=1)
            n = 1 + np.count_nonzero(srt[:, 1:] != srt[:, :-1], axis=1)
            ty0 = 0 if ys.start == 0 else fy
            tx0 = 0 if xs.start == 0 else fx
            counts[ty0 : ty0 + rows, tx0 : tx0 + cols] = n.reshape(rows, cols)
            for i in range(rows * cols):
                if n[i] <= MAX_PALETTE:
                    sorted_tiles[ty0 + i // cols, tx0 + i % cols] = srt[i]
    return counts, sorted_tiles


def _unique_sorted(srt: NDArray[np.uint32]) -> NDArray[np.uint32]:
    keep = np.empty(len(srt), dtype=bool)
    keep[0] = True
    np.not_equal(srt[1:], srt[:-1], out=keep[1:])
    out: NDArray[np.uint32] = srt[keep]
    return out


def _merge(mask: NDArray[np.bool_], max_cols: int) -> list[tuple[int, int, int, int]]:
    """Cover set tiles with rectangles (tile units): runs per row, merged
    downwards while the run is identical. (row, col, rows, cols)."""
    out: list[tuple[int, int, int, int]] = []
    open_runs: dict[tuple[int, int], list[int]] = {}
    for ty in range(mask.shape[0]):
        runs: set[tuple[int, int]] = set()
        tx = 0
        line = mask[ty]
        while tx < len(line):
            if line[tx]:
                end = tx
                while end < len(line) and line[end] and end - tx < max_cols:
                    end += 1
                runs.add((tx, end))
                tx = end
            else:
                tx += 1
        for key in list(open_runs):
            if key not in runs:
                row0, rows = open_runs.pop(key)
                out.append((row0, key[0], rows, key[1] - key[0]))
        for key in runs:
            if key in open_runs:
                open_runs[key][1] += 1
            else:
                open_runs[key] = [ty, 1]
    for key, (row0, rows) in open_runs.items():
        out.append((row0, key[0], rows, key[1] - key[0]))
    return out


# --------------------------------------------------------------- decoding


def decode_jpeg(data: bytes, rect: Rect) -> Frame:
    """BGRA pixels of a JPEG that must be exactly ``rect``'s size."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG" or image.size != (rect.w, rect.h):
                raise RfbProtocolError("Tight JPEG data is not a JPEG of the rectangle's size")
            rgb = np.asarray(image.convert("RGB"))
    except (
        OSError,
        ValueError,
        SyntaxError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
    ) as exc:
        raise RfbProtocolError(f"bad JPEG data: {exc}") from exc
    out = np.empty((rect.h, rect.w, 4), dtype=np.uint8)
    out[..., 0] = rgb[..., 2]
    out[..., 1] = rgb[..., 1]
    out[..., 2] = rgb[..., 0]
    out[..., 3] = 255
    return out


class TightDecoder:
    """Decoder state of one connection: the four inflate streams."""

    def __init__(self) -> None:
        self._streams = [zlib.decompressobj() for _ in range(4)]

    def decode(
        self, reader: StreamReader, rect: Rect, pf: PixelFormat, fb: Framebuffer
    ) -> Decoding:
        ctl = yield from reader.read_u8()
        for i in range(4):
            if ctl >> i & 1:
                self._streams[i] = zlib.decompressobj()
        comp = ctl >> 4
        tps = pf.tpixel_size
        if comp == CTL_FILL >> 4:
            data = yield from reader.read_exact(tps)
            pixel = pf.tpixels_to_bgra(np.frombuffer(data, dtype=np.uint8).reshape(1, tps))
            fb.fill(rect, pixel[0])
        elif comp == CTL_JPEG >> 4:
            length = yield from self._compact(reader)
            data = yield from reader.read_exact(length)
            fb.put(rect, decode_jpeg(data, rect))
        elif comp & 0x8:
            raise RfbProtocolError(f"unsupported Tight compression {comp:#x}")
        else:
            stream = comp & 0x3
            filter_id = (yield from reader.read_u8()) if comp & 0x4 else FILTER_COPY
            if filter_id == FILTER_COPY:
                size = rect.area * tps
                data = yield from self._data(reader, stream, size)
                wire = np.frombuffer(data, dtype=np.uint8).reshape(rect.h, rect.w, tps)
                fb.put(rect, pf.tpixels_to_bgra(wire))
            elif filter_id == FILTER_PALETTE:
                n = (yield from reader.read_u8()) + 1
                raw_palette = yield from reader.read_exact(n * tps)
                palette = pf.tpixels_to_bgra(
                    np.frombuffer(raw_palette, dtype=np.uint8).reshape(n, tps)
                )
                bits = 1 if n <= 2 else 8
                row = (rect.w * bits + 7) // 8
                data = yield from self._data(reader, stream, row * rect.h)
                if rect.area == 0:
                    return
                packed = np.frombuffer(data, dtype=np.uint8).reshape(rect.h, row)
                index = np.unpackbits(packed, axis=1)[:, : rect.w] if bits == 1 else packed
                if int(index.max()) >= n:
                    raise RfbProtocolError("Tight palette index out of range")
                fb.put(rect, palette[index])
            elif filter_id == FILTER_GRADIENT:
                raise RfbProtocolError("the Tight gradient filter is not supported")
            else:
                raise RfbProtocolError(f"unknown Tight filter {filter_id}")

    @staticmethod
    def _compact(reader: StreamReader) -> Generator[None, None, int]:
        b = yield from reader.read_u8()
        n = b & 0x7F
        if b & 0x80:
            b = yield from reader.read_u8()
            n |= (b & 0x7F) << 7
            if b & 0x80:
                n |= (yield from reader.read_u8()) << 14
        return n

    def _data(self, reader: StreamReader, stream: int, size: int) -> Generator[None, None, bytes]:
        """``size`` bytes of basic-compression data: as is below 12 bytes,
        otherwise inflated from ``stream``."""
        if size < MIN_TO_COMPRESS:
            return (yield from reader.read_exact(size))
        length = yield from self._compact(reader)
        packed = yield from reader.read_exact(length)
        data = inflate(self._streams[stream], packed, size)
        if len(data) != size:
            raise RfbProtocolError("Tight data shorter than the rectangle")
        return data
