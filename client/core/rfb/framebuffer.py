"""BGRA framebuffers and the change analysis the server's updates start from.

Frames are ``(height, width, 4)`` uint8 arrays in B, G, R, A/X byte order
(what screen capture gives, kept as is: converting costs more than encoding).
Comparisons look at each pixel as one ``uint32`` (one compare per pixel
instead of four), per 64 x 64 tile.

Scroll detection: for each column of tiles that changed, every pixel row of
the old and new frame gets a hash (its 64 pixels as 32 ``uint64`` words,
weighted and summed); the vertical offset most rows agree on is a scroll
candidate, its longest runs of matching rows are checked pixel for pixel and
become :class:`CopyMove`s. Adjacent tile columns that moved alike merge into
one wider move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .messages import Rect

TILE = 64

Frame = NDArray[np.uint8]
Mask = NDArray[np.bool_]


def as_u32(frame: Frame) -> NDArray[np.uint32]:
    """The frame as ``(height, width)`` uint32 pixels (a view when possible)."""
    if frame.strides[-1] != 1 or frame.strides[-2] != 4:
        frame = np.ascontiguousarray(frame)
    view: NDArray[np.uint32] = frame.view(np.uint32)[..., 0]
    return view


def tile_grid(width: int, height: int, tile: int = TILE) -> tuple[int, int]:
    """(tile rows, tile columns) covering a framebuffer."""
    return -(-height // tile), -(-width // tile)


def changed_tiles(old: Frame, new: Frame, tile: int = TILE) -> Mask:
    """Tiles where ``new`` differs from ``old`` (same shape), as a
    ``(tile rows, tile columns)`` bool array."""
    height, width = old.shape[:2]
    a, b = as_u32(old), as_u32(new)
    ne = a != b
    nty, ntx = tile_grid(width, height, tile)
    out = np.zeros((nty, ntx), dtype=bool)
    fy, fx = height // tile, width // tile
    hm, wm = fy * tile, fx * tile
    if fy and fx:
        out[:fy, :fx] = ne[:hm, :wm].reshape(fy, tile, fx, tile).any(axis=(1, 3))
    if wm < width and fy:
        out[:fy, fx] = ne[:hm, wm:].reshape(fy, tile, width - wm).any(axis=(1, 2))
    if hm < height:
        rest = ne[hm:]
        if fx:
            out[fy, :fx] = rest[:, :wm].reshape(height - hm, fx, tile).any(axis=(0, 2))
        if wm < width:
            out[fy, fx] = bool(rest[:, wm:].any())
    return out


def tiles_in(rect: Rect, mask_shape: tuple[int, int], tile: int = TILE) -> Mask:
    """The tiles a rectangle touches."""
    out = np.zeros(mask_shape, dtype=bool)
    if rect.empty:
        return out
    y0, x0 = rect.y // tile, rect.x // tile
    y1, x1 = -(-(rect.y + rect.h) // tile), -(-(rect.x + rect.w) // tile)
    out[y0:y1, x0:x1] = True
    return out


def mask_to_rects(mask: Mask, width: int, height: int, tile: int = TILE) -> list[Rect]:
    """Cover the set tiles with few rectangles: runs along each tile row,
    then runs of rows with the same horizontal extent merged downwards.
    Rectangles are clipped to the framebuffer."""
    rects: list[Rect] = []
    open_runs: dict[tuple[int, int], list[int]] = {}  # (x0, x1) -> [row0, rows]
    for row in range(mask.shape[0]):
        line = mask[row]
        if line.any():
            padded = np.concatenate(([False], line, [False])).astype(np.int8)
            edges = np.flatnonzero(np.diff(padded))
            runs = {(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2], strict=True)}
        else:
            runs = set()
        for key in list(open_runs):
            if key not in runs:
                rects.append(_run_rect(key, open_runs.pop(key), width, height, tile))
        for key in runs:
            if key in open_runs:
                open_runs[key][1] += 1
            else:
                open_runs[key] = [row, 1]
    for key, (row0, rows) in open_runs.items():
        rects.append(_run_rect(key, [row0, rows], width, height, tile))
    rects.sort(key=lambda r: (r.y, r.x))
    return rects


def _run_rect(key: tuple[int, int], rows: list[int], width: int, height: int, tile: int) -> Rect:
    x0, x1 = key[0] * tile, min(width, key[1] * tile)
    y0, y1 = rows[0] * tile, min(height, (rows[0] + rows[1]) * tile)
    return Rect(x0, y0, x1 - x0, y1 - y0)


@dataclass(frozen=True, slots=True)
class CopyMove:
    """Copy ``dst``-sized pixels from (src_x, src_y) to dst (a CopyRect)."""

    dst: Rect
    src_x: int
    src_y: int


def apply_move(frame: Frame, move: CopyMove) -> None:
    """Perform a move in place (what a client does with a CopyRect)."""
    d = move.dst
    # numpy copes with overlapping source and destination.
    frame[d.y : d.y + d.h, d.x : d.x + d.w] = frame[
        move.src_y : move.src_y + d.h, move.src_x : move.src_x + d.w
    ]


def move_matches(old: Frame, new: Frame, move: CopyMove) -> bool:
    """Whether applying ``move`` to ``old`` gives ``new`` in the destination."""
    d = move.dst
    height, width = old.shape[:2]
    src = Rect(move.src_x, move.src_y, d.w, d.h)
    if d.empty or not d.inside(width, height) or not src.inside(width, height):
        return False
    return bool(
        np.array_equal(
            as_u32(new[d.y : d.y + d.h, d.x : d.x + d.w]),
            as_u32(old[src.y : src.y + src.h, src.x : src.x + src.w]),
        )
    )


_WEIGHTS = np.random.default_rng(0x5EED).integers(1, 2**62, TILE // 2, dtype=np.uint64) | 1


def _row_hashes(frame: Frame, x0: int, x1: int, y0: int, y1: int) -> NDArray[np.uint64]:
    """Hash of each pixel row of ``frame[y0:y1, x0:x1]``, per tile column
    (``x1 - x0`` is a multiple of the tile size): ``(rows, columns)``."""
    block = np.ascontiguousarray(frame[y0:y1, x0:x1])
    cols = (x1 - x0) // TILE
    words = block.reshape(y1 - y0, -1).view(np.uint64).reshape(y1 - y0, cols, TILE // 2)
    hashed: NDArray[np.uint64] = (words * _WEIGHTS).sum(axis=2, dtype=np.uint64)
    return hashed


def detect_scroll(
    old: Frame, new: Frame, dirty: Mask, *, min_rows: int = 16, min_tiles: int = 2
) -> list[CopyMove]:
    """Vertical scrolls from ``old`` to ``new`` within the dirty tiles.

    Returns moves to apply in order; each was verified pixel for pixel
    against ``old`` as modified by the moves before it. ``old`` itself is not
    changed.
    """
    height, width = old.shape[:2]
    full_cols = width // TILE
    if full_cols == 0:
        return []
    counts = dirty[:, :full_cols].sum(axis=0)
    candidates = np.flatnonzero(counts >= min_tiles)
    if candidates.size == 0:
        return []
    # One band of rows covering the dirty tiles of every candidate column.
    rows_any: Mask = np.asarray(dirty[:, candidates].any(axis=1), dtype=bool)
    r0 = int(np.argmax(rows_any))
    r1 = len(rows_any) - int(np.argmax(rows_any[::-1]))
    y0, y1 = r0 * TILE, min(height, r1 * TILE)
    c0, c1 = int(candidates[0]), int(candidates[-1]) + 1
    h_old = _row_hashes(old, c0 * TILE, c1 * TILE, y0, y1)
    h_new = _row_hashes(new, c0 * TILE, c1 * TILE, y0, y1)

    per_column: list[tuple[int, int, int, int]] = []  # (col, dy, start, end) in band rows
    for candidate in candidates.tolist():
        found = _column_scroll(h_old[:, candidate - c0], h_new[:, candidate - c0], min_rows)
        per_column.extend((candidate, dy, s, e) for dy, s, e in found)

    # Merge neighbouring columns that moved the same rows by the same offset.
    per_column.sort(key=lambda item: (item[1], item[2], item[3], item[0]))
    moves: list[CopyMove] = []
    i = 0
    while i < len(per_column):
        col, dy, s, e = per_column[i]
        last = col
        k = i + 1
        while (
            k < len(per_column) and per_column[k][1:] == (dy, s, e) and per_column[k][0] == last + 1
        ):
            last = per_column[k][0]
            k += 1
        dst = Rect(col * TILE, y0 + s, (last - col + 1) * TILE, e - s)
        moves.append(CopyMove(dst, dst.x, dst.y + dy))
        i = k

    # Verify in order against the frame as the client will have it.
    verified: list[CopyMove] = []
    sim: Frame | None = None
    for move in moves:
        base = old if sim is None else sim
        if move_matches(base, new, move):
            if sim is None:
                sim = old.copy() if len(moves) > 1 else old
            if len(moves) > 1:
                apply_move(sim, move)
            verified.append(move)
    return verified


def _column_scroll(
    h_old: NDArray[np.uint64], h_new: NDArray[np.uint64], min_rows: int
) -> list[tuple[int, int, int]]:
    """Runs of rows ``y`` with ``new[y] == old[y + dy]`` for the dominant
    offset ``dy``: ``[(dy, start, end)]``."""
    n = len(h_new)
    changed = h_new != h_old
    if int(changed.sum()) < min_rows:
        return []
    # Rows whose content appears exactly once in the old band vote for an offset.
    order = np.argsort(h_old, kind="stable")
    sorted_old = h_old[order]
    uniq, first, counts = np.unique(sorted_old, return_index=True, return_counts=True)
    idx = np.searchsorted(uniq, h_new[changed])
    idx = np.minimum(idx, len(uniq) - 1)
    hit = (uniq[idx] == h_new[changed]) & (counts[idx] == 1)
    if not hit.any():
        return []
    src_rows = order[first[idx[hit]]]
    dst_rows = np.flatnonzero(changed)[hit]
    offsets = src_rows - dst_rows
    offsets = offsets[offsets != 0]
    if offsets.size < min_rows:
        return []
    values, votes = np.unique(offsets, return_counts=True)
    dy = int(values[np.argmax(votes)])
    if int(votes.max()) < min_rows:
        return []
    # Rows y (and y + dy) both inside the band that match at this offset.
    lo, hi = max(0, -dy), min(n, n - dy)
    match = np.zeros(n, dtype=bool)
    match[lo:hi] = h_new[lo:hi] == h_old[lo + dy : hi + dy]
    useful = match & changed
    padded = np.concatenate(([0], match.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    runs: list[tuple[int, int, int]] = []
    for s, e in zip(edges[::2], edges[1::2], strict=True):
        if e - s >= min_rows and int(useful[s:e].sum()) >= min_rows // 2:
            runs.append((dy, int(s), int(e)))
    return runs


class Framebuffer:
    """A client's picture of the remote screen: BGRA, alpha always 255."""

    def __init__(self, width: int, height: int) -> None:
        self.pixels: Frame = np.zeros((height, width, 4), dtype=np.uint8)
        self.pixels[..., 3] = 255

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    def resize(self, width: int, height: int) -> None:
        """New size; the part that still fits is kept, the rest is black."""
        old = self.pixels
        self.pixels = np.zeros((height, width, 4), dtype=np.uint8)
        self.pixels[..., 3] = 255
        h, w = min(height, old.shape[0]), min(width, old.shape[1])
        self.pixels[:h, :w] = old[:h, :w]

    def contains(self, rect: Rect) -> bool:
        return rect.inside(self.width, self.height)

    def view(self, rect: Rect) -> Frame:
        return self.pixels[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]

    def put(self, rect: Rect, bgra: Frame) -> None:
        self.pixels[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = bgra

    def fill(self, rect: Rect, bgra_pixel: Frame) -> None:
        self.pixels[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = bgra_pixel

    def copy(self, dst: Rect, src_x: int, src_y: int) -> None:
        apply_move(self.pixels, CopyMove(dst, src_x, src_y))
