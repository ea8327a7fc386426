"""Images from the clipboard and from drops; QImage ↔ numpy conversions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from client.core import imaging
from client.core.imaging import ImageError
from client.ui.capture import ImageDropArea, image_error_message, image_from_clipboard, load_image
from client.ui.capture.sources import qimage_to_rgba, rgba_to_qimage


@pytest.fixture(autouse=True)
def _empty_clipboard_after(qapp: QApplication) -> object:
    # The clipboard owns the QMimeData it was given; emptying it while the
    # application lives lets Qt free it now, instead of at interpreter exit
    # where its deletion races the Python wrapper (a crash on exit).
    yield
    QGuiApplication.clipboard().clear()
    QApplication.processEvents()


def test_clipboard_image_data(qapp: QApplication) -> None:
    image = QImage(40, 20, QImage.Format.Format_RGB32)
    image.fill(QColor("#a855f7"))
    QGuiApplication.clipboard().setImage(image)
    got = image_from_clipboard()
    assert got is not None and (got.width(), got.height()) == (40, 20)
    assert QColor(got.pixel(3, 3)) == QColor("#a855f7")


def test_clipboard_with_a_copied_image_file(qapp: QApplication, tmp_path: Path) -> None:
    path = tmp_path / "copied.jpg"
    Image.new("RGB", (31, 17), (250, 250, 250)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    QGuiApplication.clipboard().setMimeData(mime)
    got = image_from_clipboard()
    assert got is not None and (got.width(), got.height()) == (31, 17)


def test_clipboard_without_an_image(qapp: QApplication, tmp_path: Path) -> None:
    QGuiApplication.clipboard().setText("hello")
    assert image_from_clipboard() is None
    doc = tmp_path / "notes.txt"
    doc.write_text("x")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(doc))])
    QGuiApplication.clipboard().setMimeData(mime)
    assert image_from_clipboard() is None


def test_clipboard_oversized_or_damaged(qapp: QApplication, tmp_path: Path) -> None:
    huge = QImage(1, imaging.MAX_SIDE + 1, QImage.Format.Format_RGB32)
    huge.fill(0)
    QGuiApplication.clipboard().setImage(huge)
    with pytest.raises(ImageError) as info:
        image_from_clipboard()
    assert info.value.code == "too_large"
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not really a png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(broken))])
    QGuiApplication.clipboard().setMimeData(mime)
    with pytest.raises(ImageError) as info:
        image_from_clipboard()
    assert "damaged" in image_error_message(info.value)


def test_error_messages_cover_every_code(qapp: QApplication) -> None:
    codes = ["too_large", "corrupt", "empty", "not_found", "unreadable", "bad_argument"]
    messages = {image_error_message(ImageError(code, "x")) for code in codes}
    assert len(messages) == len(codes)
    assert str(imaging.MAX_SIDE) in image_error_message(ImageError("too_large", "x"))


def test_load_image_reads_files_and_reports_problems(qapp: QApplication, tmp_path: Path) -> None:
    path = tmp_path / "a.webp"
    Image.new("RGBA", (12, 9), (10, 20, 30, 128)).save(path)
    image = load_image(path)
    assert (image.width(), image.height()) == (12, 9)
    assert QColor.fromRgba(image.pixel(0, 0)).alpha() == 128
    with pytest.raises(ImageError):
        load_image(tmp_path / "missing.png")


def test_numpy_round_trip_handles_row_padding(qapp: QApplication) -> None:
    image = QImage(3, 2, QImage.Format.Format_RGB888)  # 9 bytes a row, padded to 12
    assert image.bytesPerLine() != image.width() * 3
    image.fill(QColor(1, 2, 3))
    image.setPixelColor(2, 1, QColor(200, 100, 50))
    array = qimage_to_rgba(image)
    assert array.shape == (2, 3, 4)
    assert tuple(array[1, 2]) == (200, 100, 50, 255)
    back = rgba_to_qimage(array)
    assert back.pixelColor(2, 1) == QColor(200, 100, 50)
    premul = QImage(1, 1, QImage.Format.Format_ARGB32)
    premul.setPixelColor(0, 0, QColor(255, 0, 0, 128))
    assert tuple(qimage_to_rgba(premul, premultiplied=True)[0, 0]) == (128, 0, 0, 128)
    assert np.array_equal(qimage_to_rgba(rgba_to_qimage(array)), array)


# -- the drop area ------------------------------------------------------------------------


def enter(widget: QWidget, mime: QMimeData) -> QDragEnterEvent:
    event = QDragEnterEvent(
        QPoint(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    return event


def drop(widget: QWidget, mime: QMimeData) -> QDropEvent:
    event = QDropEvent(
        QPointF(5, 5),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, event)
    return event


@pytest.fixture
def area(qtbot: QtBot) -> ImageDropArea:
    widget = ImageDropArea()
    qtbot.addWidget(widget)
    widget.resize(300, 100)
    widget.show()
    return widget


def test_files_of_any_type_are_passed_on(qtbot: QtBot, area: ImageDropArea, tmp_path: Path) -> None:
    files = [tmp_path / "log.txt", tmp_path / "shot.png", tmp_path / "data.zip"]
    for f in files:
        f.write_bytes(b"x")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files] + [QUrl("https://example.com/a.png")])
    assert enter(area, mime).isAccepted()
    with qtbot.waitSignal(area.files_dropped, timeout=1000) as blocker:
        drop(area, mime)
    assert blocker.args[0] == files  # the web URL is not a local file
    assert all(isinstance(p, Path) for p in blocker.args[0])


def test_image_data_without_a_file(qtbot: QtBot, area: ImageDropArea) -> None:
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("#ef4444"))
    mime = QMimeData()
    mime.setImageData(image)
    assert enter(area, mime).isAccepted()
    with qtbot.waitSignal(area.image_dropped, timeout=1000) as blocker:
        drop(area, mime)
    assert blocker.args[0].size() == image.size()


def test_other_drops_are_refused(qtbot: QtBot, area: ImageDropArea) -> None:
    mime = QMimeData()
    mime.setText("just words")
    assert not enter(area, mime).isAccepted()
    with qtbot.assertNotEmitted(area.files_dropped), qtbot.assertNotEmitted(area.image_dropped):
        drop(area, mime)
    area.setText("Attach files")
    assert area.text() == "Attach files"
