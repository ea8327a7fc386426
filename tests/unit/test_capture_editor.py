"""The annotation editor driven like a user: mouse on the canvas, keys,
undo/redo, crop, redaction, export to PNG, paste and drop."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QGuiApplication, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QWidget
from pytestqt.qtbot import QtBot

from client.core import imaging
from client.ui.capture import AnnotationEditor, Tool
from client.ui.capture.items import MarkerItem, RedactionItem, TextItem
from client.ui.capture.sources import qimage_to_rgba

W, H = 400, 300


def pattern_image(width: int = W, height: int = H) -> QImage:
    """Random noise with a white band: distinctive everywhere, so any pixel
    that survives a redaction would be found."""
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, size=(height, width, 4), dtype=np.uint8)
    data[:, :, 3] = 255
    data[250:, :, :3] = 255
    return QImage(data.tobytes(), width, height, width * 4, QImage.Format.Format_RGBA8888).copy()


@pytest.fixture
def editor(qtbot: QtBot) -> Iterator[AnnotationEditor]:
    ed = AnnotationEditor(pattern_image())
    ed.confirm_discard = False
    qtbot.addWidget(ed)
    ed.show()
    qtbot.waitExposed(ed)
    yield ed
    ed.runner.shutdown(2000)


def vp(editor: AnnotationEditor, x: float, y: float) -> QPoint:
    return editor.viewport_point(QPointF(x, y))


def drag(
    qtbot: QtBot, editor: AnnotationEditor, a: tuple[float, float], b: tuple[float, float]
) -> None:
    viewport = editor.view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, pos=vp(editor, *a))
    for t in (0.25, 0.5, 0.75):
        mid = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)
        QTest.mouseMove(viewport, pos=vp(editor, *mid))
    QTest.mouseMove(viewport, pos=vp(editor, *b))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=vp(editor, *b))


def click(qtbot: QtBot, editor: AnnotationEditor, x: float, y: float) -> None:
    QTest.mouseClick(editor.view.viewport(), Qt.MouseButton.LeftButton, pos=vp(editor, x, y))


def kinds(editor: AnnotationEditor) -> list[str]:
    return [str(getattr(item, "kind", "")) for item in editor.annotation_items()]


def export(qtbot: QtBot, editor: AnnotationEditor) -> np.ndarray:
    with qtbot.waitSignal(editor.exported, timeout=10000) as blocker:
        QTest.mouseClick(editor.done_button, Qt.MouseButton.LeftButton)
    png = blocker.args[0]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert editor.png_bytes() == png
    assert editor.result() == QDialog.DialogCode.Accepted.value
    return np.array(Image.open(io.BytesIO(png)).convert("RGBA"))


# -- tools --------------------------------------------------------------------------


@pytest.mark.parametrize("tool", [Tool.RECT, Tool.ARROW, Tool.PEN, Tool.REDACT])
def test_drag_tools_create_an_item_where_dragged(
    qtbot: QtBot, editor: AnnotationEditor, tool: Tool
) -> None:
    editor.set_tool(tool)
    drag(qtbot, editor, (50, 60), (250, 160))
    assert kinds(editor) == [tool.value if tool is not Tool.REDACT else "redaction"]
    bounds = editor.annotation_items()[0].sceneBoundingRect()
    slack = 2 / editor.view.zoom() + editor.stroke_width() * 2
    assert abs(bounds.left() - 50) <= slack and abs(bounds.top() - 60) <= slack
    assert abs(bounds.right() - 250) <= slack and abs(bounds.bottom() - 160) <= slack
    assert editor.undo_stack.count() == 1


def test_a_tiny_drag_creates_nothing(qtbot: QtBot, editor: AnnotationEditor) -> None:
    editor.set_tool(Tool.RECT)
    drag(qtbot, editor, (50, 60), (50.5, 60.5))
    assert kinds(editor) == []
    assert editor.undo_stack.count() == 0


def test_numbered_markers_count_up_and_undo_gives_the_number_back(
    qtbot: QtBot, editor: AnnotationEditor
) -> None:
    editor.set_tool(Tool.MARKER)
    for x in (40, 120, 200):
        click(qtbot, editor, x, 80)
    markers = [i for i in editor.annotation_items() if isinstance(i, MarkerItem)]
    assert [m.number for m in markers] == [1, 2, 3]
    assert abs(markers[1].pos().x() - 120) <= 2 / editor.view.zoom()
    editor.undo_action.trigger()
    assert editor.next_marker_number() == 3
    click(qtbot, editor, 300, 80)
    assert sorted(m.number for m in editor.annotation_items() if isinstance(m, MarkerItem)) == [
        1,
        2,
        3,
    ]


def test_text_tool_types_on_the_picture_without_triggering_shortcuts(
    qtbot: QtBot, editor: AnnotationEditor
) -> None:
    editor.set_tool(Tool.TEXT)
    click(qtbot, editor, 60, 100)
    focus = editor.scene.focusItem()
    assert isinstance(focus, TextItem) and focus.editing
    # "R", "A", "T" are tool shortcuts; while typing they are just letters.
    QTest.keyClicks(editor.view.viewport(), "RAT at 1")
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Escape)
    assert editor.isVisible()  # Esc ended the text, not the dialog
    assert editor.tool is Tool.TEXT
    texts = [i for i in editor.annotation_items() if isinstance(i, TextItem)]
    assert [t.toPlainText() for t in texts] == ["RAT at 1"]
    assert not texts[0].editing
    assert editor.undo_stack.count() == 1


def test_empty_text_leaves_nothing_behind(qtbot: QtBot, editor: AnnotationEditor) -> None:
    editor.set_tool(Tool.TEXT)
    click(qtbot, editor, 60, 100)
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Escape)
    assert kinds(editor) == []
    assert editor.undo_stack.count() == 0


def test_undo_and_redo_with_the_keyboard(qtbot: QtBot, editor: AnnotationEditor) -> None:
    editor.set_tool(Tool.RECT)
    drag(qtbot, editor, (20, 20), (120, 120))
    editor.set_tool(Tool.ARROW)
    drag(qtbot, editor, (200, 200), (300, 100))
    assert kinds(editor) == ["rect", "arrow"]
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert kinds(editor) == ["rect"]
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert kinds(editor) == []
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert kinds(editor) == ["rect"]
    editor.redo_action.trigger()
    assert kinds(editor) == ["rect", "arrow"]


def test_select_move_delete_and_undo(qtbot: QtBot, editor: AnnotationEditor) -> None:
    editor.set_tool(Tool.RECT)
    drag(qtbot, editor, (50, 50), (150, 150))
    rect = editor.annotation_items()[0]
    editor.set_tool(Tool.SELECT)
    drag(qtbot, editor, (50, 100), (90, 140))  # grab the left edge, move by (40, 40)
    assert abs(rect.pos().x() - 40) <= 2 / editor.view.zoom()
    assert abs(rect.pos().y() - 40) <= 2 / editor.view.zoom()
    editor.undo_action.trigger()
    assert rect.pos() == QPointF(0, 0)
    editor.redo_action.trigger()
    rect.setSelected(True)
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Delete)
    assert kinds(editor) == []
    editor.undo_action.trigger()
    assert kinds(editor) == ["rect"]


def test_tool_shortcuts_switch_tools(qtbot: QtBot, editor: AnnotationEditor) -> None:
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_N)
    assert editor.tool == Tool.MARKER
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_C)
    assert str(editor.tool) == "crop"


# -- crop and export -------------------------------------------------------------------


def test_crop_changes_the_export_size_and_can_be_undone(
    qtbot: QtBot, editor: AnnotationEditor
) -> None:
    editor.set_tool(Tool.CROP)
    drag(qtbot, editor, (100, 50), (300, 200))
    size = editor.image_size()
    tolerance = 2 / editor.view.zoom() + 1
    assert abs(size.width() - 200) <= tolerance and abs(size.height() - 150) <= tolerance
    crop = editor.crop_rect()
    png = editor.export_now()
    out = np.array(Image.open(io.BytesIO(png)).convert("RGBA"))
    assert out.shape[:2] == (size.height(), size.width())
    original = qimage_to_rgba(pattern_image())
    assert np.array_equal(
        out, original[crop.y() : crop.y() + crop.height(), crop.x() : crop.x() + crop.width()]
    )
    editor.undo_action.trigger()
    assert (editor.image_size().width(), editor.image_size().height()) == (W, H)


def test_export_flattens_annotations_into_a_png_without_metadata(
    qtbot: QtBot, editor: AnnotationEditor
) -> None:
    editor.set_colour(QColor("#2563eb"))
    editor.set_tool(Tool.RECT)
    drag(qtbot, editor, (40, 40), (200, 120))
    out = export(qtbot, editor)
    assert out.shape[:2] == (H, W)
    # The rectangle's left edge is drawn in blue over the noise.
    edge = out[60:100, 38:43, :3].reshape(-1, 3)
    blue = np.all(np.abs(edge.astype(int) - (0x25, 0x63, 0xEB)) <= 2, axis=1)
    assert blue.sum() >= 40
    # Away from the annotation the picture is unchanged.
    original = qimage_to_rgba(pattern_image())
    assert np.array_equal(out[150:, 250:], original[150:, 250:])
    assert set(imaging.png_chunk_types(editor.png_bytes() or b"")) == {"IHDR", "IDAT", "IEND"}


def test_redaction_destroys_the_original_pixels_in_the_export(
    qtbot: QtBot, editor: AnnotationEditor
) -> None:
    editor.set_tool(Tool.REDACT)
    drag(qtbot, editor, (60, 40), (260, 200))
    red = next(i for i in editor.annotation_items() if isinstance(i, RedactionItem)).redaction()
    box = red.box
    assert box.width >= 190 and box.height >= 150
    # An annotation drawn over the redaction stays on top of it.
    editor.set_tool(Tool.MARKER)
    click(qtbot, editor, 350, 280)
    out = export(qtbot, editor)
    original = qimage_to_rgba(pattern_image())
    inside = (slice(box.y, box.bottom), slice(box.x, box.right))
    before, after = original[inside], out[inside]
    for by in range(0, box.height, red.block):
        for bx in range(0, box.width, red.block):
            cell = after[by : by + red.block, bx : bx + red.block].reshape(-1, 4)
            assert len(np.unique(cell, axis=0)) == 1
    corr = np.corrcoef(before[:, :, :3].ravel().astype(float), after[:, :, :3].ravel())[0, 1]
    assert corr < 0.2
    original_rows = {
        before[y, x : x + 8].tobytes()
        for y in range(box.height)
        for x in range(0, box.width - 8, 3)
    }
    exported_rows = {
        after[y, x : x + 8].tobytes() for y in range(box.height) for x in range(0, box.width - 8, 3)
    }
    assert original_rows.isdisjoint(exported_rows)
    outside = np.ones((H, W), dtype=bool)
    outside[inside] = False
    outside[255:, 320:] = False  # where the marker is
    assert np.array_equal(out[outside], original[outside])
    # The redaction frame is only an editing aid; it is not in the export.
    assert np.array_equal(out[box.y - 1, box.x : box.right], original[box.y - 1, box.x : box.right])


def test_redaction_is_shown_and_undone_in_the_editor(
    qtbot: QtBot, editor: AnnotationEditor
) -> None:
    shown_before = editor._background.pixmap().toImage()
    editor.set_tool(Tool.REDACT)
    drag(qtbot, editor, (0, 0), (100, 100))
    shown = editor._background.pixmap().toImage()
    assert shown.pixel(5, 5) == shown.pixel(10, 10)  # one block, one colour
    assert shown != shown_before
    editor.undo_action.trigger()
    assert editor._background.pixmap().toImage() == shown_before


def test_redaction_styles(qtbot: QtBot, editor: AnnotationEditor) -> None:
    editor.set_redaction_style("fill")
    assert editor.tool is Tool.REDACT
    drag(qtbot, editor, (10, 10), (110, 90))
    out = imaging.render_export(
        qimage_to_rgba(pattern_image()),
        [i.redaction() for i in editor.annotation_items() if isinstance(i, RedactionItem)],
        None,
    )
    assert np.all(out[20:80, 20:100, :3] == 0)
    with pytest.raises(ValueError):
        editor.set_redaction_style("smudge")  # type: ignore[arg-type]


# -- getting pictures in -------------------------------------------------------------------


def solid(width: int, height: int, colour: str) -> QImage:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    return image


def test_ctrl_v_pastes_the_clipboard_image(qtbot: QtBot, editor: AnnotationEditor) -> None:
    QGuiApplication.clipboard().setImage(solid(123, 45, "#10b981"))
    with qtbot.waitSignal(editor.image_loaded, timeout=3000):
        QTest.keyClick(editor.view.viewport(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert (editor.image_size().width(), editor.image_size().height()) == (123, 45)
    out = np.array(Image.open(io.BytesIO(editor.export_now())).convert("RGB"))
    assert tuple(out[10, 10]) == (0x10, 0xB9, 0x81)


def test_paste_without_an_image_says_so(qtbot: QtBot, editor: AnnotationEditor) -> None:
    QGuiApplication.clipboard().setText("just text")
    assert editor.paste_from_clipboard() is False
    assert editor.message.isVisibleTo(editor)
    assert "no image" in editor.message.text()
    assert (editor.image_size().width(), editor.image_size().height()) == (W, H)


def test_an_empty_editor_waits_for_a_picture(qtbot: QtBot) -> None:
    ed = AnnotationEditor()
    qtbot.addWidget(ed)
    ed.show()
    assert not ed.has_image()
    assert not ed.done_button.isEnabled()
    ed.accept()  # nothing to export: stays open
    assert ed.isVisible()
    QGuiApplication.clipboard().setImage(solid(64, 32, "#f97316"))
    assert ed.paste_from_clipboard()
    assert ed.done_button.isEnabled()
    ed.runner.shutdown(2000)


def drop_on(widget: QWidget, mime: QMimeData) -> QDropEvent:
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    widget.dropEvent(event)
    return event


def test_dropping_an_image_file_opens_it(
    qtbot: QtBot, editor: AnnotationEditor, tmp_path: Path
) -> None:
    path = tmp_path / "shot.png"
    Image.new("RGB", (77, 33), (1, 2, 3)).save(path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    assert editor.accepts_mime(mime)
    with qtbot.waitSignal(editor.image_loaded, timeout=5000):
        drop_on(editor.view, mime)
    assert (editor.image_size().width(), editor.image_size().height()) == (77, 33)


def test_dropping_a_damaged_file_shows_a_message(
    qtbot: QtBot, editor: AnnotationEditor, tmp_path: Path
) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(editor.failed, timeout=5000) as blocker:
        drop_on(editor.view, mime)
    assert "damaged" in blocker.args[0]
    assert editor.message.text() == blocker.args[0]
    assert (editor.image_size().width(), editor.image_size().height()) == (W, H)


def test_image_bytes_are_decoded_off_the_gui_thread(qtbot: QtBot) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (90, 60), (200, 0, 0)).save(buffer, format="PNG")
    ed = AnnotationEditor(buffer.getvalue())
    qtbot.addWidget(ed)
    assert not ed.has_image()  # not yet: a worker is decoding
    qtbot.waitUntil(ed.has_image, timeout=5000)
    assert (ed.image_size().width(), ed.image_size().height()) == (90, 60)
    ed.runner.shutdown(2000)


def test_oversized_images_are_refused(qtbot: QtBot, editor: AnnotationEditor) -> None:
    huge = QImage(imaging.MAX_SIDE + 1, 1, QImage.Format.Format_RGB32)
    huge.fill(0)
    QGuiApplication.clipboard().setImage(huge)
    with qtbot.waitSignal(editor.failed, timeout=2000) as blocker:
        assert editor.paste_from_clipboard() is False
    assert "too large" in blocker.args[0]
    assert (editor.image_size().width(), editor.image_size().height()) == (W, H)


def test_text_and_markers_render_into_the_export(qtbot: QtBot, editor: AnnotationEditor) -> None:
    editor.set_colour(QColor("#ffffff"))
    editor.set_tool(Tool.MARKER)
    click(qtbot, editor, 100, 275)  # on the white band: a white disc with a dark number
    out = export(qtbot, editor)
    band = out[255:295, 80:120, :3]
    assert (band.sum(axis=2) < 200).sum() > 10  # the number's dark pixels


def test_editing_existing_text_is_undoable(qtbot: QtBot, editor: AnnotationEditor) -> None:
    editor.set_tool(Tool.TEXT)
    click(qtbot, editor, 60, 100)
    QTest.keyClicks(editor.view.viewport(), "first")
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Escape)
    (text,) = [i for i in editor.annotation_items() if isinstance(i, TextItem)]
    centre = text.sceneBoundingRect().center()
    click(qtbot, editor, centre.x(), centre.y())  # the text tool on a text edits it
    assert text.editing
    QTest.keyClicks(editor.view.viewport(), " second")
    QTest.keyClick(editor.view.viewport(), Qt.Key.Key_Escape)
    assert text.toPlainText() == "first second"
    assert len(editor.annotation_items()) == 1
    editor.undo_action.trigger()
    assert text.toPlainText() == "first"
    editor.redo_action.trigger()
    assert text.toPlainText() == "first second"
