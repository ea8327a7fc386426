"""RFB wire structures: pixel formats, versions, the incremental reader, keysyms."""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import pytest

from client.core.rfb import keysyms
from client.core.rfb.messages import (
    BGR233,
    BGRX,
    RGB565,
    RGBX,
    PixelFormat,
    Rect,
    RfbProtocolError,
    StreamReader,
    parse_version,
)


def random_bgra(h: int, w: int, seed: int = 0) -> np.ndarray:
    out = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    out[..., 3] = 255
    return out


def test_bgrx_is_native_and_identity() -> None:
    assert BGRX.is_native and BGRX.cpixel_size == 3 and BGRX.tpixel_size == 3
    frame = random_bgra(5, 7)
    assert BGRX.from_bgra(frame) is frame
    assert np.array_equal(BGRX.to_bgra(frame), frame)
    # The wire bytes of BGRX are the array's own bytes (little-endian 0x00RRGGBB).
    value = int.from_bytes(bytes(frame[0, 0]), "little")
    assert (value >> 16) & 0xFF == frame[0, 0, 2]


@pytest.mark.parametrize("pf", [RGBX, PixelFormat(32, 24, True, True, 255, 255, 255, 0, 8, 16)])
def test_32bit_formats_round_trip_exactly(pf: PixelFormat) -> None:
    frame = random_bgra(9, 11, seed=1)
    wire = pf.from_bgra(frame)
    assert wire.shape == (9, 11, 4)
    assert np.array_equal(pf.to_bgra(wire), frame)
    assert np.array_equal(pf.cpixels_to_bgra(pf.cpixels_from_bgra(frame)), frame)
    assert np.array_equal(pf.tpixels_to_bgra(pf.tpixels_from_bgra(frame)), frame)


def test_rgbx_puts_red_first_on_the_wire() -> None:
    frame = np.array([[[1, 2, 3, 255]]], dtype=np.uint8)  # B=1 G=2 R=3
    assert RGBX.from_bgra(frame).tobytes()[:3] == bytes([3, 2, 1])
    big = PixelFormat(32, 24, True, True, 255, 255, 255, 16, 8, 0)
    assert big.from_bgra(frame).tobytes() == bytes([0, 3, 2, 1])
    assert big.cpixel_offset() == 1 and BGRX.cpixel_offset() == 0
    assert big.cpixels_from_bgra(frame).tobytes() == bytes([3, 2, 1])


@pytest.mark.parametrize(("pf", "tolerance"), [(RGB565, 8), (BGR233, 85)])
def test_small_formats_round_trip_within_quantisation(pf: PixelFormat, tolerance: int) -> None:
    frame = random_bgra(16, 16, seed=2)
    wire = pf.from_bgra(frame)
    assert wire.shape == (16, 16, pf.bytes_per_pixel)
    back = pf.to_bgra(wire)
    assert int(np.abs(back.astype(int) - frame.astype(int)).max()) <= tolerance
    # Extremes survive exactly.
    edge = np.array([[[0, 0, 0, 255], [255, 255, 255, 255]]], dtype=np.uint8)
    assert np.array_equal(pf.to_bgra(pf.from_bgra(edge)), edge)


def test_pixel_format_pack_unpack_and_validation() -> None:
    for pf in (BGRX, RGBX, RGB565, BGR233):
        assert PixelFormat.unpack(pf.pack()) == pf
        assert len(pf.pack()) == 16
        pf.validate()
    with pytest.raises(RfbProtocolError, match="colour-map"):
        PixelFormat(8, 8, False, False, 7, 7, 3, 0, 3, 6).validate()
    with pytest.raises(RfbProtocolError):
        PixelFormat(24, 24, False, True, 255, 255, 255, 16, 8, 0).validate()
    with pytest.raises(RfbProtocolError):
        PixelFormat(16, 16, False, True, 255, 255, 255, 16, 8, 0).validate()


def test_versions() -> None:
    assert parse_version(b"RFB 003.008\n") == (3, 8)
    assert parse_version(b"RFB 003.889\n") == (3, 889)
    for bad in (b"RFB 003.008", b"HTTP/1.1 200", b"RFB 0x3.008\n", b"RFB 003-008\n"):
        with pytest.raises(RfbProtocolError):
            parse_version(bad.ljust(12, b" ")[:12] if len(bad) >= 12 else bad)


def test_rect_geometry() -> None:
    a, b = Rect(0, 0, 10, 10), Rect(5, 5, 10, 10)
    assert a.intersect(b) == Rect(5, 5, 5, 5)
    assert a.union(b) == Rect(0, 0, 15, 15)
    assert a.intersect(Rect(20, 20, 1, 1)).empty
    assert a.inside(10, 10) and not b.inside(10, 10)


def test_reader_suspends_until_enough_bytes() -> None:
    reader = StreamReader()
    got: list[bytes] = []

    def parser() -> Generator[None, None, None]:
        while True:
            got.append((yield from reader.read_exact(3)))

    gen = parser()
    next(gen)
    for byte in b"abcdefg":
        reader.feed(bytes([byte]))
        gen.send(None)
    assert got == [b"abc", b"def"]
    assert reader.available == 1


def test_reader_skip_keeps_memory_bounded() -> None:
    reader = StreamReader()

    def parser() -> Generator[None, None, None]:
        yield from reader.skip(10_000_000)
        yield from reader.read_exact(1)

    gen = parser()
    next(gen)
    chunk = bytes(65536)
    for _ in range(150):  # 9.8 MB, short of the 10 MB skipped
        reader.feed(chunk)
        gen.send(None)
        assert len(reader._buf) <= 2 * len(chunk)


def test_keysyms_latin1_unicode_and_named() -> None:
    assert keysyms.keysym_for_char("a") == 0x61
    assert keysyms.keysym_for_char("é") == 0xE9
    assert keysyms.keysym_for_char("中") == 0x01000000 + 0x4E2D
    assert keysyms.keysyms_for_text("日本語") == [0x010065E5, 0x0100672C, 0x01008A9E]
    assert keysyms.keysym_for_char("\n") == keysyms.Return
    for text in ("Hello, wörld", "中文输入", "한국어", "😀"):
        assert (
            "".join(keysyms.char_for_keysym(k) or "" for k in keysyms.keysyms_for_text(text))
            == text
        )
    assert keysyms.char_for_keysym(keysyms.Shift_L) is None
    assert keysyms.char_for_keysym(keysyms.KP_0 + 7) == "7"
    assert keysyms.char_for_keysym(0x20AC) == "€"
    assert keysyms.NAMED["F12"] == 0xFFC9
    assert keysyms.NAMED["Return"] == 0xFF0D and keysyms.NAMED["KP_9"] == 0xFFB9
    assert keysyms.is_modifier(keysyms.Control_L) and not keysyms.is_modifier(0x61)
    assert keysyms.name_of(keysyms.Escape) == "Escape" and keysyms.name_of(0x61) == "a"
    with pytest.raises(ValueError):
        keysyms.keysym_for_char("ab")
