"""Every encoder round-trips through the project's own decoder: exactly for
the lossless ones, within a PSNR bound for JPEG and H.264."""

from __future__ import annotations

import zlib
from collections.abc import Generator

import numpy as np
import pytest

from client.core.rfb.encodings import Decoder, EncodeOptions, h264, tight, zrle
from client.core.rfb.encodings.copyrect import CopyRectDecoder, encode_copyrect
from client.core.rfb.encodings.pseudo import encode_cursor, read_cursor
from client.core.rfb.encodings.raw import RawDecoder, encode_raw
from client.core.rfb.framebuffer import Framebuffer, as_u32
from client.core.rfb.messages import (
    BGRX,
    ENC_TIGHT,
    ENC_ZRLE,
    RGB565,
    RGBX,
    Parser,
    PixelFormat,
    Rect,
    RfbProtocolError,
    StreamReader,
)


def run_decoder(
    decoder: Decoder, payload: bytes, rect: Rect, pf: PixelFormat, fb: Framebuffer
) -> None:
    """Feed one payload to a decoder byte by byte (so no decoder can
    assume data arrives whole) and check it consumed exactly the payload."""
    reader = StreamReader()
    done = []

    def run() -> Generator[None, None, None]:
        yield from decoder.decode(reader, rect, pf, fb)
        done.append(True)
        while True:
            yield

    parser = Parser(run(), reader)
    step = max(1, len(payload) // 50)
    for i in range(0, len(payload), step):
        parser.feed(payload[i : i + step])
    assert done, "decoder wanted more data than the encoder produced"
    assert reader.available == 0, "decoder left bytes unread"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(((a[..., :3].astype(float) - b[..., :3].astype(float)) ** 2).mean())
    return 99.0 if mse == 0 else 10 * float(np.log10(255**2 / mse))


def photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth, photo-like content with mild noise: thousands of colours."""
    y, x = np.mgrid[0:h, 0:w].astype(float)
    rng = np.random.default_rng(seed)
    img = np.empty((h, w, 4), dtype=np.uint8)
    img[..., 0] = np.clip(128 + 100 * np.sin(x / 23) + rng.normal(0, 4, (h, w)), 0, 255)
    img[..., 1] = np.clip(128 + 100 * np.cos(y / 17) + rng.normal(0, 4, (h, w)), 0, 255)
    img[..., 2] = np.clip((x + y) % 256 + rng.normal(0, 4, (h, w)), 0, 255)
    img[..., 3] = 255
    return img


def desktop(h: int, w: int, seed: int = 1) -> np.ndarray:
    """UI-like content: solid panels, two-colour text, antialiased text, a photo."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 4), 255, dtype=np.uint8)
    img[: h // 8, :] = [90, 60, 30, 255]  # title bar
    text = rng.random((h // 2, w // 2)) < 0.2
    img[h // 8 : h // 8 + h // 2, : w // 2][text] = [0, 0, 0, 255]
    shades = rng.integers(0, 40, (h // 4 + 1, w // 2 + 1)) * 6
    block = img[h // 2 : h // 2 + h // 4, w // 2 :]
    block[..., 0] = block[..., 1] = block[..., 2] = shades[: block.shape[0], : block.shape[1]]
    img[h - h // 4 :, : w // 3] = photo(h // 4, w // 3)[: h - (h - h // 4)]
    return img


def paint(
    encoded: list[tuple[Rect, int, bytes]],
    decoder: Decoder,
    pf: PixelFormat,
    fb: Framebuffer,
    encoding: int,
) -> None:
    for rect, enc, payload in encoded:
        assert enc == encoding
        assert fb.contains(rect)
        run_decoder(decoder, payload, rect, pf, fb)


def covers(rects: list[Rect], target: Rect) -> bool:
    area = np.zeros((target.y + target.h, target.x + target.w), dtype=int)
    for r in rects:
        area[r.y : r.y + r.h, r.x : r.x + r.w] += 1
    return bool((area[target.y :, target.x :] == 1).all())


# ---------------------------------------------------------------- raw, copy


@pytest.mark.parametrize(
    "pf", [BGRX, RGBX, PixelFormat(32, 24, True, True, 255, 255, 255, 16, 8, 0)]
)
def test_raw_round_trip(pf: PixelFormat) -> None:
    frame = desktop(70, 90)
    rect = Rect(5, 7, 60, 50)
    fb = Framebuffer(90, 70)
    run_decoder(RawDecoder(), encode_raw(frame, rect, pf), rect, pf, fb)
    assert np.array_equal(fb.view(rect), frame[7:57, 5:65])
    assert len(encode_raw(frame, rect, pf)) == 60 * 50 * 4


def test_raw_16bit() -> None:
    frame = desktop(32, 32)
    fb = Framebuffer(32, 32)
    rect = Rect(0, 0, 32, 32)
    payload = encode_raw(frame, rect, RGB565)
    assert len(payload) == 32 * 32 * 2
    run_decoder(RawDecoder(), payload, rect, RGB565, fb)
    assert np.abs(fb.pixels.astype(int) - frame.astype(int)).max() <= 8


def test_copyrect_decoder() -> None:
    fb = Framebuffer(64, 64)
    fb.pixels[:] = desktop(64, 64)
    before = fb.pixels.copy()
    run_decoder(CopyRectDecoder(), encode_copyrect(0, 10), Rect(0, 0, 64, 40), BGRX, fb)
    assert np.array_equal(fb.pixels[0:40], before[10:50])
    with pytest.raises(RfbProtocolError):
        run_decoder(CopyRectDecoder(), encode_copyrect(40, 40), Rect(0, 0, 30, 30), BGRX, fb)


# --------------------------------------------------------------------- tight


def tight_control(payload: bytes) -> int:
    return payload[0]


def test_tight_lossless_without_quality() -> None:
    frame = desktop(300, 400)
    rect = Rect(0, 0, 400, 300)
    enc = tight.TightEncoder()
    out = enc.encode(frame, rect, EncodeOptions())  # no quality level: no JPEG
    assert covers([r for r, _, _ in out], rect)
    kinds = {tight_control(p) >> 4 for _, _, p in out}
    assert 0x8 in kinds  # fill for the solid areas
    assert any(k & 0x8 == 0 for k in kinds)  # basic compression
    assert 0x9 not in kinds
    fb = Framebuffer(400, 300)
    paint(out, tight.TightDecoder(), BGRX, fb, ENC_TIGHT)
    assert np.array_equal(fb.pixels, frame)
    # Much smaller than raw.
    assert sum(len(p) for _, _, p in out) < 400 * 300 * 4 / 4


def test_tight_subencodings_each_exact() -> None:
    enc, dec = tight.TightEncoder(), tight.TightDecoder()
    fb = Framebuffer(64, 64)
    rng = np.random.default_rng(4)
    cases = {
        "fill": np.full((64, 64, 4), [1, 2, 3, 255], dtype=np.uint8),
        "mono": np.where(
            rng.random((64, 64, 1)) < 0.5, [0, 0, 0, 255], [250, 240, 230, 255]
        ).astype(np.uint8),
        "palette": np.array([[i, 255 - i, (i * 7) % 256, 255] for i in range(200)], dtype=np.uint8)[
            rng.integers(0, 200, (64, 64))
        ],
        "full": rng.integers(0, 256, (64, 64, 4), dtype=np.uint8),
    }
    expected = {"fill": {0x80}, "mono": {0x50}, "palette": {0x60}, "full": {0x00}}
    for name, frame in cases.items():
        frame[..., 3] = 255
        out = enc.encode(frame, Rect(0, 0, 64, 64), EncodeOptions())
        assert {p[0] & 0xF0 for _, _, p in out} == expected[name], name
        paint(out, dec, BGRX, fb, ENC_TIGHT)
        assert np.array_equal(fb.pixels, frame), name


def test_tight_jpeg_at_quality_8_has_psnr_over_30() -> None:
    frame = photo(256, 320)
    rect = Rect(0, 0, 320, 256)
    out = tight.TightEncoder().encode(frame, rect, EncodeOptions(quality=8))
    assert {p[0] for _, _, p in out} == {0x90}  # JPEG, merged
    assert len(out) == 1
    fb = Framebuffer(320, 256)
    paint(out, tight.TightDecoder(), BGRX, fb, ENC_TIGHT)
    assert psnr(fb.pixels, frame) >= 30
    size_q8 = sum(len(p) for _, _, p in out)
    low = tight.TightEncoder().encode(frame, rect, EncodeOptions(quality=1))
    assert sum(len(p) for _, _, p in low) < size_q8
    assert tight.jpeg_settings(EncodeOptions(quality=9)) == (100, 0)
    assert tight.jpeg_settings(EncodeOptions(quality=0)) == (15, 2)
    assert tight.jpeg_settings(EncodeOptions(quality=5, subsampling=-768)) == (77, 0)
    assert tight.jpeg_settings(EncodeOptions(fine_quality=55, subsampling=-765)) == (55, -1)
    assert (
        tight.jpeg_settings(
            EncodeOptions(quality=8, pixel_format=PixelFormat(8, 8, False, True, 7, 7, 3, 0, 3, 6))
        )
        is None
    )


def test_tight_gray_subsampling_decodes() -> None:
    frame = photo(64, 64)
    out = tight.TightEncoder().encode(
        frame, Rect(0, 0, 64, 64), EncodeOptions(quality=9, subsampling=-765)
    )
    fb = Framebuffer(64, 64)
    paint(out, tight.TightDecoder(), BGRX, fb, ENC_TIGHT)
    assert np.ptp(fb.pixels[..., :3].astype(int), axis=2).max() <= 2  # grey


def test_tight_text_stays_lossless_with_jpeg_enabled() -> None:
    frame = desktop(256, 256)
    frame[-64:] = 255  # no photo
    out = tight.TightEncoder().encode(frame, Rect(0, 0, 256, 256), EncodeOptions(quality=6))
    fb = Framebuffer(256, 256)
    paint(out, tight.TightDecoder(), BGRX, fb, ENC_TIGHT)
    assert np.array_equal(fb.pixels, frame)


def test_tight_width_limit_and_odd_sizes() -> None:
    frame = np.random.default_rng(5).integers(0, 256, (70, 2200, 4), dtype=np.uint8)
    frame[..., 3] = 255
    rect = Rect(3, 1, 2190, 69)
    out = tight.TightEncoder().encode(frame, rect, EncodeOptions())
    assert all(r.w <= 2048 and r.area <= 65536 for r, _, _ in out)
    assert covers([r for r, _, _ in out], rect)
    fb = Framebuffer(2200, 70)
    paint(out, tight.TightDecoder(), BGRX, fb, ENC_TIGHT)
    assert np.array_equal(fb.view(rect), frame[1:70, 3:2193])


def test_tight_stream_reset_on_level_change() -> None:
    enc, dec = tight.TightEncoder(), tight.TightDecoder()
    fb = Framebuffer(64, 64)
    frame = np.random.default_rng(6).integers(0, 256, (64, 64, 4), dtype=np.uint8)
    frame[..., 3] = 255
    first = enc.encode(frame, Rect(0, 0, 64, 64), EncodeOptions(compression=1))
    second = enc.encode(frame, Rect(0, 0, 64, 64), EncodeOptions(compression=9))
    assert first[0][2][0] & 0x0F == 0 and second[0][2][0] & 0x01 == 1
    paint(first, dec, BGRX, fb, ENC_TIGHT)
    fb.pixels[:] = 0
    paint(second, dec, BGRX, fb, ENC_TIGHT)
    assert np.array_equal(fb.pixels, frame)


def test_tight_in_16_bit_and_rgbx_formats() -> None:
    frame = desktop(128, 128)
    for pf, tol in ((RGB565, 8), (RGBX, 0)):
        out = tight.TightEncoder().encode(
            frame, Rect(0, 0, 128, 128), EncodeOptions(pixel_format=pf)
        )
        fb = Framebuffer(128, 128)
        paint(out, tight.TightDecoder(), pf, fb, ENC_TIGHT)
        assert np.abs(fb.pixels.astype(int) - frame.astype(int)).max() <= tol


def test_tight_decoder_rejects_bad_input() -> None:
    fb = Framebuffer(16, 16)
    rect = Rect(0, 0, 16, 16)
    for payload in (
        bytes([0x40 | 0x00, 2]),  # gradient filter
        bytes([0x40, 7]),  # unknown filter
        bytes([0xA0]),  # PNG in plain Tight
        bytes([0x90, 5]) + b"nojpg",
        bytes([0x00, 10]) + zlib.compress(b"x" * 5)[:10],
    ):
        with pytest.raises(RfbProtocolError):
            run_decoder(tight.TightDecoder(), payload, rect, BGRX, fb)
    # A palette index beyond the palette.
    data = zlib.compressobj()
    body = data.compress(bytes([5] * 256)) + data.flush(zlib.Z_SYNC_FLUSH)
    bad = bytes([0x60, 1, 2]) + bytes(9) + tight.compact_length(len(body)) + body
    with pytest.raises(RfbProtocolError, match="index"):
        run_decoder(tight.TightDecoder(), bad, rect, BGRX, fb)


def test_compact_length() -> None:
    for n in (0, 1, 127, 128, 16383, 16384, tight.MAX_COMPACT):
        data = tight.compact_length(n)
        assert len(data) == (1 if n < 128 else 2 if n < 16384 else 3)
    with pytest.raises(ValueError):
        tight.compact_length(tight.MAX_COMPACT + 1)


# ---------------------------------------------------------------------- zrle


def tile_of(kind: str, h: int = 64, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(len(kind) * 31 + h)
    colours = np.array(
        [[i * 13 % 256, i * 29 % 256, i * 71 % 256, 255] for i in range(130)], dtype=np.uint8
    )
    if kind == "solid":
        return np.broadcast_to(colours[3], (h, w, 4)).copy()
    if kind in ("packed2", "packed4", "packed16"):
        n = {"packed2": 2, "packed4": 4, "packed16": 16}[kind]
        return colours[rng.integers(0, n, (h, w))]
    if kind == "plain_rle":
        # Long horizontal runs of many different colours.
        row = np.repeat(rng.integers(0, 256, (w // 32 + 1, 4), dtype=np.uint8), 32, axis=0)[:w]
        out = np.repeat(row[None], h, axis=0)
        out[::2] = np.roll(out[::2], 7, axis=1)
        out[..., 0] = (out[..., 0].astype(int) + np.arange(h)[:, None] * 2) % 256
        return out
    if kind == "palette_rle":
        runs = colours[rng.integers(0, 100, (h * w // 16 + 1,))]
        return np.repeat(runs, 16, axis=0)[: h * w].reshape(h, w, 4)
    return rng.integers(0, 256, (h, w, 4), dtype=np.uint8)


@pytest.mark.parametrize(
    ("kind", "subencodings"),
    [
        ("solid", {1}),
        ("packed2", {2}),
        ("packed4", {3, 4}),
        ("packed16", set(range(5, 17))),
        ("plain_rle", {128}),
        ("palette_rle", set(range(130, 256))),
        ("raw", {0}),
    ],
)
@pytest.mark.parametrize("shape", [(64, 64), (13, 37)])
def test_zrle_tiles_choose_and_round_trip(
    kind: str, subencodings: set[int], shape: tuple[int, int]
) -> None:
    tile = tile_of(kind, *shape)
    tile[..., 3] = 255
    data = zrle.encode_tile(as_u32(tile), BGRX)
    if shape == (64, 64) or kind in ("solid", "raw"):
        assert data[0] in subencodings, (kind, data[0])
    frame = tile
    h, w = shape
    out = zrle.ZrleEncoder().encode(frame, Rect(0, 0, w, h), EncodeOptions())
    fb = Framebuffer(w, h)
    paint(out, zrle.ZrleDecoder(), BGRX, fb, ENC_ZRLE)
    assert np.array_equal(fb.pixels, frame)


def test_zrle_whole_desktop_one_stream() -> None:
    frame = desktop(200, 330)
    enc, dec = zrle.ZrleEncoder(), zrle.ZrleDecoder()
    fb = Framebuffer(330, 200)
    for rect in (Rect(0, 0, 330, 200), Rect(10, 20, 100, 150), Rect(329, 199, 1, 1)):
        fb.pixels[:] = 0
        out = enc.encode(frame, rect, EncodeOptions())
        paint(out, dec, BGRX, fb, ENC_ZRLE)
        assert np.array_equal(
            fb.view(rect), frame[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w]
        )


@pytest.mark.parametrize(
    "pf", [RGB565, RGBX, PixelFormat(32, 24, True, True, 255, 255, 255, 16, 8, 0)]
)
def test_zrle_other_pixel_formats(pf: PixelFormat) -> None:
    frame = desktop(128, 128)
    out = zrle.ZrleEncoder().encode(frame, Rect(0, 0, 128, 128), EncodeOptions(pixel_format=pf))
    fb = Framebuffer(128, 128)
    paint(out, zrle.ZrleDecoder(), pf, fb, ENC_ZRLE)
    tol = 8 if pf.bits_per_pixel == 16 else 0
    assert np.abs(fb.pixels.astype(int) - frame.astype(int)).max() <= tol


def test_zrle_decoder_rejects_bad_tiles() -> None:
    fb = Framebuffer(8, 8)
    rect = Rect(0, 0, 8, 8)
    for tile_data in (
        bytes([17]),  # unused subencoding
        bytes([129]),
        bytes([2, 1, 2, 3, 4, 5, 6]),  # packed palette cut short
        bytes([128, 1, 2, 3, 200]),  # plain RLE overflowing the 64 pixels
        bytes([130, 1, 1, 1, 2, 2, 2, 0x85, 63]),  # palette index 5 of 2
        bytes([1, 1, 2, 3, 99]),  # trailing garbage
    ):
        c = zlib.compressobj()
        body = c.compress(tile_data) + c.flush(zlib.Z_SYNC_FLUSH)
        with pytest.raises(RfbProtocolError):
            run_decoder(zrle.ZrleDecoder(), len(body).to_bytes(4, "big") + body, rect, BGRX, fb)
    with pytest.raises(RfbProtocolError, match="longer"):
        run_decoder(zrle.ZrleDecoder(), (10**8).to_bytes(4, "big"), rect, BGRX, fb)


def test_zrle_inflate_bomb_is_refused() -> None:
    fb = Framebuffer(8, 8)
    c = zlib.compressobj()
    body = c.compress(bytes([1, 1, 2, 3]) + bytes(1_000_000)) + c.flush(zlib.Z_SYNC_FLUSH)
    with pytest.raises(RfbProtocolError, match="beyond"):
        run_decoder(
            zrle.ZrleDecoder(), len(body).to_bytes(4, "big") + body, Rect(0, 0, 8, 8), BGRX, fb
        )


# -------------------------------------------------------------------- cursor


@pytest.mark.parametrize("pf", [BGRX, RGB565])
def test_cursor_round_trip(pf: PixelFormat) -> None:
    image = desktop(20, 13)
    image[..., 3] = np.where(np.random.default_rng(7).random((20, 13)) < 0.5, 255, 0)
    rect, _, payload = encode_cursor(image, 4, 6, pf)
    assert (rect.x, rect.y, rect.w, rect.h) == (4, 6, 13, 20)
    reader = StreamReader()
    reader.feed(payload)
    gen = read_cursor(reader, rect, pf)
    try:
        next(gen)
    except StopIteration as stop:
        got = stop.value
    else:  # pragma: no cover
        pytest.fail("cursor not read in one go")
    assert np.array_equal(got[..., 3], image[..., 3])
    visible = image[..., 3] == 255
    tol = 8 if pf.bits_per_pixel == 16 else 0
    assert np.abs(got[visible][:, :3].astype(int) - image[visible][:, :3].astype(int)).max() <= tol


# ---------------------------------------------------------------------- h264


@pytest.mark.skipif(not h264.available(), reason="PyAV (the h264 extra) is not installed")
def test_h264_round_trip() -> None:
    frame = photo(240, 320)
    opts = EncodeOptions(quality=8)
    enc, dec = h264.H264Encoder(320, 240, opts), h264.H264Decoder()
    fb = Framebuffer(320, 240)
    rect = Rect(0, 0, 320, 240)
    first = enc.encode(frame, reset=True)
    assert int.from_bytes(first[4:8], "big") == h264.FLAG_RESET
    assert first[8:12] in (b"\x00\x00\x00\x01",) or first[8:11] == b"\x00\x00\x01"  # Annex-B
    run_decoder(dec, first, rect, BGRX, fb)
    assert psnr(fb.pixels, frame) >= 30
    moved = np.roll(frame, 8, axis=1)
    second = enc.encode(moved, reset=False)
    assert len(second) < len(first)
    run_decoder(dec, second, rect, BGRX, fb)
    assert psnr(fb.pixels, moved) >= 30
    with pytest.raises(RfbProtocolError):
        run_decoder(
            h264.H264Decoder(),
            (12).to_bytes(4, "big") + bytes(4) + b"\x00\x00\x01\x65garbage!",
            rect,
            BGRX,
            fb,
        )
