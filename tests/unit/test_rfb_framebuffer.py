"""Tile change detection, rectangle merging and scroll detection."""

from __future__ import annotations

import numpy as np
import pytest

from client.core.rfb.framebuffer import (
    TILE,
    CopyMove,
    apply_move,
    changed_tiles,
    detect_scroll,
    mask_to_rects,
    move_matches,
    tiles_in,
)
from client.core.rfb.messages import Rect


def page(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A document-like frame: white with distinct 'text' rows."""
    rng = np.random.default_rng(seed)
    frame = np.full((h, w, 4), 255, dtype=np.uint8)
    for y in range(0, h, 16):
        line = rng.integers(0, 256, (10, w, 3), dtype=np.uint8)
        line[rng.random((10, w)) < 0.7] = 255
        frame[y + 3 : y + 13, :, :3] = line[: max(0, min(10, h - y - 3))]
    return frame


@pytest.mark.parametrize(("h", "w"), [(128, 128), (200, 300), (37, 70), (64, 1), (1, 64)])
def test_changed_tiles_matches_brute_force(h: int, w: int) -> None:
    rng = np.random.default_rng(h * w)
    old = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    new = old.copy()
    for _ in range(5):
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        new[y, x, int(rng.integers(0, 4))] ^= 0x40
    mask = changed_tiles(old, new)
    expected = np.zeros_like(mask)
    for ty in range(mask.shape[0]):
        for tx in range(mask.shape[1]):
            a = old[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
            b = new[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE]
            expected[ty, tx] = not np.array_equal(a, b)
    assert np.array_equal(mask, expected)
    assert expected.any()


def test_alpha_only_change_counts() -> None:
    old = np.zeros((64, 64, 4), dtype=np.uint8)
    new = old.copy()
    new[10, 10, 3] = 1
    assert changed_tiles(old, new).tolist() == [[True]]


def test_mask_to_rects_covers_exactly_the_set_tiles() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = rng.random((6, 9)) < 0.4
        w, h = 9 * TILE - 10, 6 * TILE - 20
        rects = mask_to_rects(mask, w, h)
        covered = np.zeros((h, w), dtype=int)
        for r in rects:
            assert r.inside(w, h)
            covered[r.y : r.y + r.h, r.x : r.x + r.w] += 1
        assert covered.max() <= 1
        expected = np.zeros((h, w), dtype=int)
        for ty, tx in zip(*np.nonzero(mask), strict=True):
            expected[ty * TILE : (ty + 1) * TILE, tx * TILE : (tx + 1) * TILE] = 1
        assert np.array_equal(covered, expected)
    # A full mask is one rectangle.
    assert mask_to_rects(np.ones((3, 4), dtype=bool), 250, 150) == [Rect(0, 0, 250, 150)]


def test_tiles_in() -> None:
    m = tiles_in(Rect(60, 0, 10, 70), (3, 3))
    assert m.tolist() == [[True, True, False], [True, True, False], [False, False, False]]


@pytest.mark.parametrize("dy", [-40, -7, 3, 33])
def test_vertical_scroll_is_found_and_exact(dy: int) -> None:
    h, w = 640, 512
    old = page(h + 100, w, seed=5)[:h]
    # The middle band [64, 576) scrolls; the rest (title bar, status bar) stays.
    new = old.copy()
    content = page(h + 100, w, seed=5)
    band = slice(64, 576)
    new[band] = content[64 + dy : 576 + dy] if dy >= 0 else np.roll(content, -dy, axis=0)[band]
    dirty = changed_tiles(old, new)
    moves = detect_scroll(old, new, dirty)
    assert moves, "scroll not detected"
    sim = old.copy()
    moved_rows = 0
    for move in moves:
        assert move_matches(sim, new, move)
        assert move.src_y - move.dst.y == dy
        apply_move(sim, move)
        moved_rows += move.dst.h
    # Most of the band now matches; what is left is the exposed strip.
    remaining = changed_tiles(sim, new)
    assert remaining.sum() < dirty.sum() / 2


def test_no_scroll_for_unrelated_change() -> None:
    rng = np.random.default_rng(9)
    old = rng.integers(0, 256, (256, 256, 4), dtype=np.uint8)
    new = rng.integers(0, 256, (256, 256, 4), dtype=np.uint8)
    assert detect_scroll(old, new, changed_tiles(old, new)) == []


def test_apply_move_handles_overlap() -> None:
    frame = np.arange(10 * 4 * 4, dtype=np.uint8).reshape(10, 4, 4)
    expected = frame.copy()
    expected[2:10] = frame[0:8].copy()
    apply_move(frame, CopyMove(Rect(0, 2, 4, 8), 0, 0))
    assert np.array_equal(frame, expected)
