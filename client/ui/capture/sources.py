"""Where ticket images come from besides the screen: the clipboard, image
files, drag and drop; and the QImage ↔ numpy conversions the editor needs.

Image files are decoded by :mod:`client.core.imaging` (Pillow), which checks
the size limits before decoding and turns damaged files into
:class:`~client.core.imaging.ImageError`; :func:`image_error_message` gives
the customer a translated sentence for each of its codes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QMimeData, QRectF, Qt, Signal
from PySide6.QtGui import (
    QClipboard,
    QColor,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDropEvent,
    QGuiApplication,
    QImage,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QWidget

from client.core import imaging
from client.core.imaging import ImageError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ico", ".jfif"}
)


def image_error_message(error: ImageError) -> str:
    """The customer-facing sentence for an :class:`ImageError`."""
    # Literal translate calls so lupdate finds every string.
    if error.code == "too_large":
        return QCoreApplication.translate(
            "CaptureImages",
            "This image is too large. Images may be at most %1 pixels wide or high.",
        ).replace("%1", str(imaging.MAX_SIDE))
    if error.code == "corrupt":
        return QCoreApplication.translate(
            "CaptureImages", "This file is damaged or is not an image HelpBridge can read."
        )
    if error.code == "empty":
        return QCoreApplication.translate("CaptureImages", "This image is empty.")
    if error.code == "not_found":
        return QCoreApplication.translate("CaptureImages", "The file no longer exists.")
    if error.code == "unreadable":
        return QCoreApplication.translate(
            "CaptureImages", "The file cannot be read. Check that you may open it."
        )
    return QCoreApplication.translate("CaptureImages", "This image cannot be used.")


# -- conversions ------------------------------------------------------------------


def qimage_to_rgba(image: QImage, *, premultiplied: bool = False) -> imaging.RGBA:
    """A numpy RGBA copy of ``image`` (straight alpha unless ``premultiplied``)."""
    fmt = (
        QImage.Format.Format_RGBA8888_Premultiplied
        if premultiplied
        else QImage.Format.Format_RGBA8888
    )
    converted = image if image.format() == fmt else image.convertToFormat(fmt)
    width, height, stride = converted.width(), converted.height(), converted.bytesPerLine()
    buffer = np.frombuffer(converted.constBits(), dtype=np.uint8, count=stride * height)
    rows = buffer.reshape(height, stride)[:, : width * 4]
    return rows.reshape(height, width, 4).copy()


def rgba_to_qimage(array: imaging.RGBA) -> QImage:
    """A QImage (``Format_RGBA8888``) owning a copy of ``array``'s pixels."""
    data = np.ascontiguousarray(array)
    height, width = data.shape[:2]
    return QImage(data.data, width, height, width * 4, QImage.Format.Format_RGBA8888).copy()


def load_image(path: Path | str) -> QImage:
    """Decode an image file (raises :class:`ImageError`). Safe on a worker
    thread: QImage is not a widget."""
    return rgba_to_qimage(imaging.load_image_file(path))


def check_qimage(image: QImage) -> None:
    """Raise :class:`ImageError` for a null or oversized QImage."""
    if image.isNull():
        raise ImageError("empty", "no image")
    imaging.check_dimensions(image.width(), image.height())


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def local_files(mime: QMimeData | None) -> list[Path]:
    """The local files named by dropped or pasted data (other URLs are skipped)."""
    if mime is None or not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


def image_from_mime(mime: QMimeData | None) -> QImage | None:
    """An image carried by ``mime``: pixel data first, else the first local
    image file. None when there is none; :class:`ImageError` when there is
    one but it cannot be used."""
    if mime is None:
        return None
    if mime.hasImage():
        data = mime.imageData()
        image = data if isinstance(data, QImage) else QImage(data)
        if not image.isNull():
            check_qimage(image)
            return image
    for path in local_files(mime):
        if path.is_file() and is_image_path(path):
            return load_image(path)
    return None


def image_from_clipboard(clipboard: QClipboard | None = None) -> QImage | None:
    """The image on the clipboard (a copied screenshot, or a copied image
    file), None if it holds none. Raises :class:`ImageError` for an image
    that is too large or damaged."""
    board = clipboard or QGuiApplication.clipboard()
    return image_from_mime(board.mimeData(QClipboard.Mode.Clipboard))


# -- drop target --------------------------------------------------------------------------


class ImageDropArea(QWidget):
    """A dashed panel that accepts dropped files.

    Signals:
        files_dropped(list[Path]): local files of any type (the form decides).
        image_dropped(QImage): image data dropped without a file (from a browser,
            say); oversized images are refused with :attr:`error` emitted instead.
        error(str): a translated message about a refused drop.
    """

    files_dropped = Signal(list)
    image_dropped = Signal(QImage)
    error = Signal(str)

    def __init__(self, parent: QWidget | None = None, text: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ImageDropArea")
        self.setAcceptDrops(True)
        self.setMinimumHeight(72)
        self._hover = False
        self._text = text if text is not None else self.tr("Drop files or screenshots here")

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        self._text = text
        self.update()

    def _accepts(self, mime: QMimeData | None) -> bool:
        return bool(local_files(mime)) or bool(mime is not None and mime.hasImage())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()
            self._hover = True
            self.update()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragEnterEvent) -> None:  # type: ignore[override]
        if self._accepts(event.mimeData()):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._hover = False
        self.update()

    def dropEvent(self, event: QDropEvent) -> None:
        self._hover = False
        self.update()
        mime = event.mimeData()
        files = local_files(mime)
        if files:
            event.acceptProposedAction()
            self.files_dropped.emit(files)
            return
        try:
            image = image_from_mime(mime)
        except ImageError as exc:
            event.acceptProposedAction()
            self.error.emit(image_error_message(exc))
            return
        if image is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.image_dropped.emit(image)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        accent = QColor("#1d4ed8")
        pen = QPen(accent if self._hover else QColor("#9ca3af"), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor("#eff6ff") if self._hover else QColor("#ffffff"))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(1, 1, -1, -1), 10, 10)
        painter.setPen(accent if self._hover else QColor("#6b7280"))
        painter.drawText(
            QRectF(self.rect()).adjusted(12, 8, -12, -8),
            Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
            self._text,
        )
        painter.end()
