"""Qt-free image operations for ticket screenshots: decoding with limits,
destructive redaction, cropping, flattening annotations and PNG export.

Images are ``numpy`` arrays of shape ``(height, width, 4)``, ``uint8``, RGBA
with straight (not premultiplied) alpha, unless a function says otherwise.

Redaction works on the pixel data, never as a layer on top: once
:func:`apply_redactions` has run, the original pixels under a redaction box
are gone from the array and so from any PNG made from it. Pixelation averages
blocks of at least :data:`MIN_BLOCK` pixels and then quantises each block's
colour to a coarse grid, so the exact averages that "de-pixelation" attacks
match against rendered text are not there either. A Gaussian blur on its
own is not offered: it is partly reversible for text. The ``blur`` style
blurs an already pixelated box, so it only ever sees the block colours.

Nothing here imports Qt, so these functions run on worker threads.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

RGBA = npt.NDArray[np.uint8]

MAX_SIDE = 16384
"""Longest accepted image side, in pixels."""
MAX_PIXELS = 64 * 1024 * 1024
"""Most pixels accepted in one image (64 Mpx, 256 MiB as RGBA): a row of
three 8K monitors fits, a decompression bomb does not."""
MIN_BLOCK = 12
"""Smallest pixelation block: smaller blocks leave text readable."""
DEFAULT_BLOCK = 16
QUANT_STEP = 16
"""Block colours are rounded to multiples of this per channel."""

RedactionStyle = Literal["pixelate", "blur", "fill"]
REDACTION_STYLES: tuple[RedactionStyle, ...] = ("pixelate", "blur", "fill")


class ImageError(ValueError):
    """An image that cannot be used. ``code`` is stable for the UI to pick a
    translated message: ``too_large``, ``empty``, ``corrupt``, ``unreadable``,
    ``not_found``, ``bad_argument``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in pixel coordinates (``x``, ``y`` is the
    top-left pixel; ``width`` and ``height`` may be zero)."""

    x: int
    y: int
    width: int
    height: int

    @classmethod
    def from_points(cls, x0: int, y0: int, x1: int, y1: int) -> Box:
        """The box spanned by two corners given in any order (exclusive end)."""
        return cls(min(x0, x1), min(y0, y1), abs(x1 - x0), abs(y1 - y0))

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    @property
    def empty(self) -> bool:
        return self.width <= 0 or self.height <= 0

    def clip(self, width: int, height: int) -> Box:
        """This box limited to an image of ``width`` x ``height`` pixels."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.right), min(height, self.bottom)
        return Box(x0, y0, max(0, x1 - x0), max(0, y1 - y0))


@dataclass(frozen=True, slots=True)
class Redaction:
    """One area to destroy: ``style`` is ``pixelate``, ``blur`` or ``fill``;
    ``block`` is the pixelation block size; ``colour`` the RGB for ``fill``."""

    box: Box
    style: RedactionStyle = "pixelate"
    block: int = DEFAULT_BLOCK
    colour: tuple[int, int, int] = (0, 0, 0)


# -- limits and decoding --------------------------------------------------------


def check_dimensions(width: int, height: int) -> None:
    """Raise :class:`ImageError` unless an image of this size may be handled."""
    if width <= 0 or height <= 0:
        raise ImageError("empty", f"the image is empty ({width} x {height} pixels)")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(
            "too_large",
            f"the image is too large ({width} x {height} pixels; at most {MAX_SIDE} "
            f"pixels a side and {MAX_PIXELS // (1024 * 1024)} megapixels)",
        )


def _checked(array: RGBA) -> RGBA:
    if array.ndim != 3 or array.shape[2] != 4 or array.dtype != np.uint8:
        raise ImageError("bad_argument", f"expected an RGBA uint8 array, got {array.shape}")
    return array


def decode_image(data: bytes) -> RGBA:
    """Decode image file contents (PNG, JPEG, BMP, GIF, WebP, TIFF...) to RGBA.

    The size is checked from the header before any pixel is decoded; EXIF
    rotation is applied; nothing else of the file's metadata survives.
    """
    if not data:
        raise ImageError("empty", "the file is empty")
    try:
        with warnings.catch_warnings():
            # Our own limits are stricter than Pillow's bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                check_dimensions(*image.size)
                image.load()
                upright = ImageOps.exif_transpose(image)
                check_dimensions(*upright.size)
                rgba = upright.convert("RGBA")
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError("too_large", f"the image is too large ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise ImageError("corrupt", "the file is not an image HelpBridge can read") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        # Truncated or damaged data surfaces as any of these from Pillow's decoders.
        raise ImageError("corrupt", f"the image file is damaged ({exc})") from exc
    return np.array(rgba, dtype=np.uint8)


def load_image_file(path: Path | str) -> RGBA:
    """Read and decode an image file, with :class:`ImageError` for every failure."""
    file = Path(path)
    try:
        size = file.stat().st_size
    except FileNotFoundError as exc:
        raise ImageError("not_found", f"{file.name}: no such file") from exc
    except OSError as exc:
        raise ImageError("unreadable", f"{file.name}: {exc.strerror or exc}") from exc
    # A compressed image can hardly be larger than its raw pixels.
    if size > MAX_PIXELS * 4 + 1024 * 1024:
        raise ImageError("too_large", f"{file.name}: the file is too large ({size} bytes)")
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ImageError("unreadable", f"{file.name}: {exc.strerror or exc}") from exc
    return decode_image(data)


def bgra_to_rgba(
    data: bytes | bytearray | memoryview, width: int, height: int, stride: int | None = None
) -> RGBA:
    """Copy a 32-bit BGRA/BGRX buffer (what screen grabbers return) to opaque RGBA."""
    check_dimensions(width, height)
    stride = stride or width * 4
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size < stride * height:
        raise ImageError("bad_argument", "the pixel buffer is shorter than its size says")
    rows = raw[: stride * height].reshape(height, stride)[:, : width * 4].reshape(height, width, 4)
    out = rows[:, :, [2, 1, 0, 3]].copy()
    out[:, :, 3] = 255
    return out


# -- geometry -------------------------------------------------------------------


def crop(image: RGBA, box: Box) -> RGBA:
    """A copy of ``box`` (clipped to the image); :class:`ImageError` if nothing is left."""
    _checked(image)
    height, width = image.shape[:2]
    inside = box.clip(width, height)
    if inside.empty:
        raise ImageError("empty", "the crop area is outside the image")
    return image[inside.y : inside.bottom, inside.x : inside.right].copy()


# -- redaction --------------------------------------------------------------------


def _edges(length: int, block: int) -> npt.NDArray[np.intp]:
    return np.arange(0, length, block, dtype=np.intp)


def pixelate(image: RGBA, box: Box, block: int = DEFAULT_BLOCK) -> None:
    """Replace the pixels of ``box`` in place by block averages, quantised.

    Blocks are anchored at the box's top-left corner; edge blocks are as large
    as fits. Every block ends up one flat colour, so the box holds at most
    one value per block.
    """
    if block < MIN_BLOCK:
        raise ImageError("bad_argument", f"pixelation blocks must be at least {MIN_BLOCK} px")
    _checked(image)
    height, width = image.shape[:2]
    inside = box.clip(width, height)
    if inside.empty:
        return
    region = image[inside.y : inside.bottom, inside.x : inside.right]
    rows, cols = _edges(inside.height, block), _edges(inside.width, block)
    sums = np.add.reduceat(np.add.reduceat(region.astype(np.uint32), rows, axis=0), cols, axis=1)
    row_sizes = np.diff(np.append(rows, inside.height))
    col_sizes = np.diff(np.append(cols, inside.width))
    counts = np.outer(row_sizes, col_sizes)[:, :, None]
    means = sums.astype(np.float64) / counts
    # Rounding to a coarse grid drops the low bits that carry what little of
    # the original detail a block average still holds. Brightness and the
    # colour offsets are rounded separately so greys stay grey.
    grey = means[:, :, :3].mean(axis=2, keepdims=True)
    grey_q = np.round(grey / QUANT_STEP) * QUANT_STEP
    tint_q = np.round((means[:, :, :3] - grey) / QUANT_STEP) * QUANT_STEP
    means[:, :, :3] = np.clip(grey_q + tint_q, 0, 255)
    flat = np.clip(np.round(means), 0, 255).astype(np.uint8)
    region[:, :] = np.repeat(np.repeat(flat, row_sizes, axis=0), col_sizes, axis=1)


def blur(image: RGBA, box: Box, block: int = DEFAULT_BLOCK) -> None:
    """Pixelate ``box`` in place, then soften it with a Gaussian blur that only
    sees the pixelated box (never the original or the pixels around it)."""
    pixelate(image, box, block)
    height, width = image.shape[:2]
    inside = box.clip(width, height)
    if inside.empty:
        return
    region = image[inside.y : inside.bottom, inside.x : inside.right]
    softened = Image.fromarray(np.ascontiguousarray(region), "RGBA").filter(
        ImageFilter.GaussianBlur(radius=block / 2)
    )
    region[:, :] = np.asarray(softened, dtype=np.uint8)


def fill(image: RGBA, box: Box, colour: tuple[int, int, int] = (0, 0, 0)) -> None:
    """Paint ``box`` in place with one opaque colour."""
    _checked(image)
    height, width = image.shape[:2]
    inside = box.clip(width, height)
    if inside.empty:
        return
    image[inside.y : inside.bottom, inside.x : inside.right] = (*colour, 255)


def apply_redactions(image: RGBA, redactions: Iterable[Redaction]) -> RGBA:
    """A copy of ``image`` with every redaction applied, in order."""
    out = _checked(image).copy()
    for item in redactions:
        if item.style == "fill":
            fill(out, item.box, item.colour)
        elif item.style == "blur":
            blur(out, item.box, item.block)
        elif item.style == "pixelate":
            pixelate(out, item.box, item.block)
        else:
            raise ImageError("bad_argument", f"unknown redaction style {item.style!r}")
    return out


# -- compositing and export ----------------------------------------------------------


def flatten(base: RGBA, overlay_premultiplied: RGBA) -> RGBA:
    """``overlay`` drawn over ``base`` (Porter-Duff "over").

    ``base`` has straight alpha; ``overlay_premultiplied`` is premultiplied RGBA
    (what a painter renders into) of the same size. The result has straight alpha.
    """
    _checked(base)
    _checked(overlay_premultiplied)
    if base.shape != overlay_premultiplied.shape:
        raise ImageError(
            "bad_argument",
            f"overlay {overlay_premultiplied.shape[:2]} does not match image {base.shape[:2]}",
        )
    out = base.copy()
    # Annotations cover a small part of a screenshot: only the pixels the
    # overlay touches are composited (a valid premultiplied pixel with zero
    # alpha has zero colour, so the others are the base unchanged).
    mask = overlay_premultiplied[:, :, 3] > 0
    if not bool(mask.any()):
        return out
    ov = overlay_premultiplied[mask].astype(np.uint32)
    under = base[mask].astype(np.uint32)
    inv = 255 - ov[:, 3:4]
    b_alpha = under[:, 3:4]
    if bool(np.all(b_alpha == 255)):
        # The usual screenshot: an opaque base keeps the arithmetic exact.
        rgb = ov[:, :3] + (under[:, :3] * inv + 127) // 255
        out[mask, :3] = np.minimum(rgb, 255).astype(np.uint8)
        return out
    b_premul = (under[:, :3] * b_alpha + 127) // 255
    rgb_p = ov[:, :3] + (b_premul * inv + 127) // 255
    alpha = ov[:, 3:4] + (b_alpha * inv + 127) // 255
    safe = np.maximum(alpha, 1)
    rgb = np.where(alpha > 0, (rgb_p * 255 + safe // 2) // safe, 0)
    out[mask, :3] = np.minimum(rgb, 255).astype(np.uint8)
    out[mask, 3] = np.minimum(alpha[:, 0], 255).astype(np.uint8)
    return out


def encode_png(image: RGBA, *, compress_level: int = 6) -> bytes:
    """PNG bytes of ``image`` with no metadata chunks at all (no text, time,
    EXIF or colour profile); saved as RGB when every pixel is opaque."""
    _checked(image)
    check_dimensions(image.shape[1], image.shape[0])
    if bool(np.all(image[:, :, 3] == 255)):
        picture = Image.fromarray(np.ascontiguousarray(image[:, :, :3]), "RGB")
    else:
        picture = Image.fromarray(np.ascontiguousarray(image), "RGBA")
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def render_export(
    base: RGBA,
    redactions: Sequence[Redaction],
    overlay_premultiplied: RGBA | None,
    crop_box: Box | None = None,
) -> RGBA:
    """The final pixels: redactions applied to ``base``, cropped to ``crop_box``,
    with ``overlay_premultiplied`` (already the size of the crop) drawn on top."""
    redacted = apply_redactions(base, redactions)
    height, width = redacted.shape[:2]
    if crop_box is not None and crop_box.clip(width, height) != Box(0, 0, width, height):
        redacted = crop(redacted, crop_box)
    if overlay_premultiplied is None:
        return redacted
    return flatten(redacted, overlay_premultiplied)


def export_png(
    base: RGBA,
    redactions: Sequence[Redaction],
    overlay_premultiplied: RGBA | None,
    crop_box: Box | None = None,
    *,
    compress_level: int = 6,
) -> bytes:
    """:func:`render_export` encoded as PNG: what a ticket attachment carries."""
    return encode_png(
        render_export(base, redactions, overlay_premultiplied, crop_box),
        compress_level=compress_level,
    )


def png_chunk_types(data: bytes) -> list[str]:
    """The chunk types of a PNG file, in order (to check what it carries)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ImageError("corrupt", "not a PNG file")
    types: list[str] = []
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        types.append(data[pos + 4 : pos + 8].decode("latin-1"))
        pos += 12 + length
    return types
