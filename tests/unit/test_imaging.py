"""Qt-free image operations: limits, decoding errors, destructive redaction,
cropping, flattening and metadata-free PNG export."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, PngImagePlugin

from client.core import imaging
from client.core.imaging import Box, ImageError, Redaction


def noise(height: int, width: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(height, width, 4), dtype=np.uint8)
    img[:, :, 3] = 255
    return img


def text_image(width: int = 320, height: int = 120) -> np.ndarray:
    """Black text on white, the kind of thing a customer redacts."""
    picture = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(picture)
    for row in range(4):
        draw.text(
            (8, 8 + row * 26),
            f"IBAN DE{row}9 3704 0044 0532 0130 00",
            fill=(0, 0, 0, 255),
            font_size=18,
        )
    return np.array(picture)


def decode(png: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(png)).convert("RGBA"))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    x = a[:, :, :3].astype(np.float64).ravel()
    y = b[:, :, :3].astype(np.float64).ravel()
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def rows_of(region: np.ndarray, length: int) -> set[bytes]:
    """Every horizontal run of ``length`` pixels in ``region`` that is not one
    flat colour (a flat run carries no detail), as bytes."""
    found = set()
    for row in region:
        for x in range(0, row.shape[0] - length + 1):
            run = row[x : x + length]
            if (run != run[0]).any():
                found.add(run.tobytes())
    return found


# -- redaction -------------------------------------------------------------------


@pytest.mark.parametrize("source", ["noise", "text"])
def test_pixelate_export_destroys_the_original_and_keeps_the_rest(source: str) -> None:
    original = noise(120, 320) if source == "noise" else text_image()
    box = Box(5, 3, 250, 100)  # not block-aligned on purpose
    png = imaging.export_png(original, [Redaction(box, "pixelate", 16)], None)
    out = decode(png)
    assert out.shape == original.shape

    inside = (slice(box.y, box.bottom), slice(box.x, box.right))
    before, after = original[inside], out[inside]
    # One flat colour per block, edge blocks included.
    for by in range(0, box.height, 16):
        for bx in range(0, box.width, 16):
            block = after[by : by + 16, bx : bx + 16].reshape(-1, 4)
            assert len(np.unique(block, axis=0)) == 1
    # The original pattern is not there: no 16-pixel run of an original row
    # survives, and the pixel correlation with the original is weak.
    assert rows_of(before, 16)
    assert rows_of(before, 16).isdisjoint(rows_of(after, 16))
    assert correlation(before, after) < 0.4
    # Outside the box nothing changed.
    mask = np.ones(original.shape[:2], dtype=bool)
    mask[inside] = False
    assert np.array_equal(out[mask], original[mask])


def test_pixelated_colours_are_quantised_block_means() -> None:
    original = noise(32, 32, seed=7)
    out = imaging.apply_redactions(original, [Redaction(Box(0, 0, 32, 32), "pixelate", 16)])
    step = imaging.QUANT_STEP
    mean = original[:16, :16, :3].reshape(-1, 3).mean(axis=0)
    grey = mean.mean()
    expected = np.round(grey / step) * step + np.round((mean - grey) / step) * step
    assert np.array_equal(out[0, 0, :3], np.clip(expected, 0, 255).astype(np.uint8))
    # Every block colour sits on the coarse grid (up to clipping at 255).
    assert set(np.unique(out[:, :, :3]) % step) <= {0, 255 % step}


def test_pixelated_greys_stay_grey() -> None:
    img = np.zeros((24, 24, 4), dtype=np.uint8)
    img[:, :, 3] = 255
    img[::2, :, :3] = 251  # light text-like stripes average to a light grey
    img[1::2, :, :3] = 180
    out = imaging.apply_redactions(img, [Redaction(Box(0, 0, 24, 24), "pixelate", 12)])
    assert np.all(out[:, :, 0] == out[:, :, 1]) and np.all(out[:, :, 1] == out[:, :, 2])


def test_blur_only_sees_the_pixelated_blocks() -> None:
    original = noise(96, 128, seed=3)
    box = Box(10, 10, 100, 70)
    blurred = imaging.apply_redactions(original, [Redaction(box, "blur", 16)])
    # An image that differs everywhere inside the box but has the same
    # pixelated form gives the identical result: no original detail leaks.
    same_blocks = imaging.apply_redactions(original, [Redaction(box, "pixelate", 16)])
    again = imaging.apply_redactions(same_blocks, [Redaction(box, "blur", 16)])
    assert np.array_equal(blurred, again)
    inside = (slice(box.y, box.bottom), slice(box.x, box.right))
    assert not np.array_equal(blurred[inside], original[inside])
    assert correlation(original[inside], blurred[inside]) < 0.3
    outside = np.ones(original.shape[:2], dtype=bool)
    outside[inside] = False
    assert np.array_equal(blurred[outside], original[outside])


def test_fill_paints_one_colour_and_clips_to_the_image() -> None:
    original = noise(40, 40)
    out = imaging.apply_redactions(
        original, [Redaction(Box(30, 30, 50, 50), "fill", colour=(1, 2, 3))]
    )
    assert np.all(out[30:, 30:] == (1, 2, 3, 255))
    assert np.array_equal(out[:30], original[:30])


def test_small_blocks_are_refused() -> None:
    with pytest.raises(ImageError) as info:
        imaging.pixelate(noise(20, 20), Box(0, 0, 20, 20), block=imaging.MIN_BLOCK - 1)
    assert info.value.code == "bad_argument"


def test_redaction_outside_the_image_changes_nothing() -> None:
    original = noise(20, 20)
    out = imaging.apply_redactions(original, [Redaction(Box(50, 50, 10, 10))])
    assert np.array_equal(out, original)


# -- crop and flatten --------------------------------------------------------------


def test_crop_clips_and_copies() -> None:
    original = noise(50, 60)
    part = imaging.crop(original, Box(40, 10, 100, 20))
    assert part.shape == (20, 20, 4)
    assert np.array_equal(part, original[10:30, 40:60])
    part[:] = 0
    assert original[10, 40, 3] == 255
    with pytest.raises(ImageError):
        imaging.crop(original, Box(100, 100, 5, 5))


def test_flatten_over_an_opaque_base() -> None:
    base = np.zeros((2, 2, 4), dtype=np.uint8)
    base[:, :] = (100, 150, 200, 255)
    overlay = np.zeros((2, 2, 4), dtype=np.uint8)
    overlay[0, 0] = (255, 0, 0, 255)  # opaque red
    overlay[0, 1] = (64, 0, 0, 128)  # half-transparent, premultiplied
    out = imaging.flatten(base, overlay)
    assert tuple(out[0, 0]) == (255, 0, 0, 255)
    assert tuple(out[1, 1]) == (100, 150, 200, 255)  # untouched where overlay is clear
    r, g, b, a = (int(v) for v in out[0, 1])
    assert a == 255
    assert abs(r - (64 + 100 * 127 / 255)) <= 1
    assert abs(g - 150 * 127 / 255) <= 1 and abs(b - 200 * 127 / 255) <= 1


def test_flatten_over_a_transparent_base_keeps_straight_alpha() -> None:
    base = np.zeros((1, 2, 4), dtype=np.uint8)
    overlay = np.zeros((1, 2, 4), dtype=np.uint8)
    overlay[0, 0] = (0, 128, 0, 128)
    out = imaging.flatten(base, overlay)
    assert tuple(out[0, 0]) == (0, 255, 0, 128)
    assert tuple(out[0, 1]) == (0, 0, 0, 0)


def test_render_export_crops_before_drawing_the_overlay() -> None:
    base = noise(100, 200)
    overlay = np.zeros((30, 40, 4), dtype=np.uint8)
    overlay[0, 0] = (255, 255, 255, 255)
    out = imaging.render_export(base, [], overlay, Box(10, 20, 40, 30))
    assert out.shape == (30, 40, 4)
    assert tuple(out[0, 0]) == (255, 255, 255, 255)
    assert np.array_equal(out[1:, 1:], base[21:50, 11:50])
    with pytest.raises(ImageError):
        imaging.flatten(base, overlay)


# -- PNG export and metadata ----------------------------------------------------------


def test_png_has_no_metadata_even_when_the_source_had_some(tmp_path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "customer secret")
    info.add_itxt("Author", "someone")
    src = tmp_path / "with-meta.png"
    Image.new("RGB", (30, 20), (10, 20, 30)).save(src, pnginfo=info)
    assert b"customer secret" in src.read_bytes()

    png = imaging.encode_png(imaging.load_image_file(src))
    assert set(imaging.png_chunk_types(png)) == {"IHDR", "IDAT", "IEND"}
    assert b"customer secret" not in png
    assert Image.open(io.BytesIO(png)).mode == "RGB"  # opaque → no alpha channel


def test_png_keeps_transparency() -> None:
    img = noise(10, 10)
    img[0, 0, 3] = 0
    out = decode(imaging.encode_png(img))
    assert out[0, 0, 3] == 0
    assert np.array_equal(out[1:, 1:], img[1:, 1:])


def test_bgra_buffer_with_row_padding() -> None:
    width, height, stride = 3, 2, 16
    buf = bytearray(stride * height)
    buf[0:4] = bytes((10, 20, 30, 0))  # B, G, R, X
    buf[stride + 8 : stride + 12] = bytes((1, 2, 3, 0))
    out = imaging.bgra_to_rgba(buf, width, height, stride)
    assert out.shape == (2, 3, 4)
    assert tuple(out[0, 0]) == (30, 20, 10, 255)
    assert tuple(out[1, 2]) == (3, 2, 1, 255)
    with pytest.raises(ImageError):
        imaging.bgra_to_rgba(buf[:20], width, height, stride)


# -- limits and bad files ---------------------------------------------------------------


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` but holds almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("width", "height"),
    [(imaging.MAX_SIDE + 1, 1), (1, imaging.MAX_SIDE + 1), (10000, 10000), (60000, 60000)],
)
def test_oversized_images_are_refused_before_decoding(width: int, height: int) -> None:
    with pytest.raises(ImageError) as info:
        imaging.decode_image(png_header_only(width, height))
    assert info.value.code == "too_large"
    assert "too large" in str(info.value)


def test_largest_side_is_accepted() -> None:
    wide = Image.new("L", (imaging.MAX_SIDE, 1))
    buffer = io.BytesIO()
    wide.save(buffer, format="PNG")
    assert imaging.decode_image(buffer.getvalue()).shape == (1, imaging.MAX_SIDE, 4)
    with pytest.raises(ImageError):
        imaging.check_dimensions(imaging.MAX_SIDE + 1, 1)
    with pytest.raises(ImageError):
        imaging.check_dimensions(0, 10)


def test_corrupt_and_truncated_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as info:
        imaging.decode_image(b"this is not an image at all")
    assert info.value.code == "corrupt"

    good = imaging.encode_png(noise(64, 64))
    with pytest.raises(ImageError) as info:
        imaging.decode_image(good[: len(good) // 2])
    assert info.value.code == "corrupt"

    with pytest.raises(ImageError) as info:
        imaging.decode_image(b"")
    assert info.value.code == "empty"

    with pytest.raises(ImageError) as info:
        imaging.load_image_file(tmp_path / "missing.png")
    assert info.value.code == "not_found"

    with pytest.raises(ImageError) as info:
        imaging.load_image_file(tmp_path)
    assert info.value.code == "unreadable"


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    photo = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    path = tmp_path / "photo.jpg"
    photo.save(path, exif=exif)
    assert imaging.load_image_file(path).shape == (40, 20, 4)
