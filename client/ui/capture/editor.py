"""The annotation editor: mark up a screenshot before attaching it to a ticket.

Tools: select/move, rectangle, arrow, freehand pen, text, numbered markers
(1, 2, 3... the next number is one more than the highest on the picture),
crop, and redaction (pixelate, blur or solid fill). Everything goes through a
QUndoStack. Scene coordinates are image pixels: the picture sits at (0, 0) at
scale 1, the view only zooms.

Annotations are QGraphicsItems until export. Export (on a worker of the
:class:`~client.ui.tasks.TaskRunner`, since encoding a large PNG takes a
while) flattens: redactions are applied to the pixel array, the crop is
taken, the annotations rendered on the GUI thread into a transparent layer
are composited on top, and the result is encoded as a PNG without metadata.
Redactions therefore cover the screenshot itself; annotations stay on top
of them.
"""

from __future__ import annotations

import enum
import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLineF, QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QResizeEvent,
    QShowEvent,
    QUndoStack,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.core import imaging
from client.core.imaging import Box, ImageError, RedactionStyle
from client.ui.capture import icons
from client.ui.capture.items import (
    AddItemCommand,
    ArrowItem,
    CallbackCommand,
    MarkerItem,
    MoveItemsCommand,
    PenItem,
    RectItem,
    RedactionItem,
    RemoveItemsCommand,
    TextItem,
    distance,
)
from client.ui.capture.sources import (
    check_qimage,
    image_error_message,
    image_from_clipboard,
    image_from_mime,
    is_image_path,
    load_image,
    local_files,
    qimage_to_rgba,
    rgba_to_qimage,
)
from client.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

BACKDROP = QColor("#e5e7eb")

# Only the editor's own chrome; colours follow client.ui.look's palette.
EDITOR_STYLE = """
QToolBar#AnnotationTools {
    background: #ffffff; border: none; border-bottom: 1px solid #e5e7eb;
    padding: 4px 8px; spacing: 2px;
}
QToolBar#AnnotationTools QToolButton { padding: 5px; border-radius: 6px; border: none; }
QToolBar#AnnotationTools QToolButton:hover { background: #eef0f4; }
QToolBar#AnnotationTools QToolButton:checked { background: #dbeafe; }
QToolBar#AnnotationTools QToolButton::menu-button { border: none; width: 12px; }
QToolBar#AnnotationTools QToolButton::menu-indicator { subcontrol-position: bottom right; }
"""
MIN_DRAG = 3.0
"""Shapes smaller than this (image px) are treated as a slip of the mouse."""


class Tool(enum.StrEnum):
    SELECT = "select"
    RECT = "rect"
    ARROW = "arrow"
    PEN = "pen"
    TEXT = "text"
    MARKER = "marker"
    CROP = "crop"
    REDACT = "redact"


PALETTE = (
    "#e11d48",  # red
    "#f97316",  # orange
    "#facc15",  # yellow
    "#16a34a",  # green
    "#2563eb",  # blue
    "#111827",  # black
    "#ffffff",  # white
)

ANNOTATION_KINDS = frozenset({"rect", "arrow", "pen", "text", "marker"})


def item_kind(item: QGraphicsItem) -> str:
    return str(getattr(item, "kind", ""))


class CanvasView(QGraphicsView):
    """Shows the scene, forwards drawing input to the editor's tools, zooms,
    and accepts dropped image files."""

    def __init__(self, editor: AnnotationEditor) -> None:
        super().__init__(editor.scene, editor)
        self.editor = editor
        self.setObjectName("AnnotationCanvas")
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setBackgroundBrush(BACKDROP)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.fit_mode = True
        self._moves: dict[QGraphicsItem, QPointF] = {}

    # -- zoom --------------------------------------------------------------------

    def zoom(self) -> float:
        return float(self.transform().m11())

    def fit(self) -> None:
        """Zoom so the whole picture shows, never beyond 100 %."""
        self.fit_mode = True
        rect = self.sceneRect()
        if rect.isEmpty() or self.viewport().width() < 2:
            return
        margin = 24
        sx = (self.viewport().width() - margin) / rect.width()
        sy = (self.viewport().height() - margin) / rect.height()
        scale = max(0.02, min(1.0, sx, sy))
        self.resetTransform()
        self.scale(scale, scale)
        self.centerOn(rect.center())
        self.editor.update_status()

    def actual_size(self) -> None:
        self.fit_mode = False
        self.resetTransform()
        self.editor.update_status()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit_mode:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            factor = 1.15 if event.angleDelta().y() > 0 else 1 / 1.15
            new = self.zoom() * factor
            if 0.02 <= new <= 16:
                self.fit_mode = False
                self.scale(factor, factor)
                self.editor.update_status()
            event.accept()
            return
        super().wheelEvent(event)

    # -- painting --------------------------------------------------------------

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        # Items outside a crop stay in the scene (the crop can be undone) but
        # must not show, so everything beyond the scene rect is painted over.
        outside = QPainterPath()
        outside.addRect(QRectF(rect))
        inside = QPainterPath()
        inside.addRect(self.sceneRect())
        painter.fillPath(outside.subtracted(inside), BACKDROP)
        if not self.editor.has_image():
            painter.save()
            painter.resetTransform()
            painter.setPen(QColor("#6b7280"))
            painter.drawText(
                QRectF(self.viewport().rect()).adjusted(24, 24, -24, -24),
                Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                self.editor.placeholder_text(),
            )
            painter.restore()

    # -- input -----------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        tool = self.editor.tool
        pos = self.mapToScene(event.position().toPoint())
        if (
            event.button() == Qt.MouseButton.LeftButton
            and tool is not Tool.SELECT
            and self.editor.has_image()
        ):
            self.editor.tool_press(pos)
            event.accept()
            return
        super().mousePressEvent(event)
        if tool is Tool.SELECT:
            self._moves = {item: item.pos() for item in self.scene().selectedItems()}

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self.editor.drawing:
            self.editor.tool_move(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.editor.drawing and event.button() == Qt.MouseButton.LeftButton:
            self.editor.tool_release(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if self._moves:
            moved = [
                (item, old, item.pos()) for item, old in self._moves.items() if item.pos() != old
            ]
            self._moves = {}
            if moved:
                self.editor.record_move(moved)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.editor.accepts_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.editor.accepts_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.editor.drop_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()


class AnnotationEditor(QDialog):
    """Annotate an image and get it back as PNG bytes.

    ``image`` may be a QImage, PNG/JPEG/... file contents (decoded on a
    worker), or None to start empty (the customer then pastes or drops one).

    Signals:
        exported(bytes): the finished PNG, just before the dialog is accepted.
        image_loaded(): a new picture is in the editor (after paste, drop or load).
        failed(str): a translated message shown in the editor as well.
    """

    exported = Signal(bytes)
    image_loaded = Signal()
    failed = Signal(str)

    def __init__(
        self,
        image: QImage | bytes | None = None,
        parent: QWidget | None = None,
        *,
        runner: TaskRunner | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("AnnotationEditor")
        self.setWindowTitle(self.tr("Edit screenshot"))
        self.setSizeGripEnabled(True)
        self.setAcceptDrops(True)
        self.setStyleSheet(EDITOR_STYLE)
        self.runner = runner if runner is not None else TaskRunner(self)
        self.scene = QGraphicsScene(self)
        self.undo_stack = QUndoStack(self)
        self.tool: Tool = Tool.RECT
        self.colour = QColor(PALETTE[0])
        self.redaction_style: RedactionStyle = "pixelate"
        self.confirm_discard = True
        self.drawing = False
        self._base: imaging.RGBA | None = None
        self._base_pixmap = QPixmap()
        self._background = QGraphicsPixmapItem()
        self._background.setZValue(-100)
        self._background.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self._background.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.scene.addItem(self._background)
        self._crop = QRect()
        self._draft: QGraphicsItem | None = None
        self._start = QPointF()
        self._serials = itertools.count(1)
        self._text_before: dict[TextItem, str] = {}
        self._png: bytes | None = None
        self._busy = False
        self._load_generation = 0
        self._closing_rejected = False

        self.view = CanvasView(self)
        self._build_ui()
        self.set_tool(Tool.RECT)
        self.resize(1000, 700)

        if isinstance(image, QImage):
            self.set_image(image)
        elif isinstance(image, bytes | bytearray):
            self.load_bytes(bytes(image))
        self.update_status()

    # -- construction -------------------------------------------------------------

    def _build_ui(self) -> None:
        self.toolbar = QToolBar(self)
        self.toolbar.setObjectName("AnnotationTools")
        self.toolbar.setIconSize(QSize(22, 22))
        self.toolbar.setMovable(False)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

        self.tool_actions: dict[Tool, QAction] = {}
        group = QActionGroup(self)
        group.setExclusive(True)
        names = {
            Tool.SELECT: (self.tr("Select and move"), "V"),
            Tool.RECT: (self.tr("Rectangle"), "R"),
            Tool.ARROW: (self.tr("Arrow"), "A"),
            Tool.PEN: (self.tr("Freehand"), "P"),
            Tool.TEXT: (self.tr("Text"), "T"),
            Tool.MARKER: (self.tr("Numbered marker"), "N"),
            Tool.CROP: (self.tr("Crop"), "C"),
            Tool.REDACT: (self.tr("Hide sensitive information"), "H"),
        }
        for tool, (label, key) in names.items():
            action = QAction(icons.tool_icon(tool.value), label, self)
            action.setCheckable(True)
            action.setShortcut(QKeySequence(key))
            action.setToolTip(f"{label} ({key})")
            action.triggered.connect(lambda _checked=False, t=tool: self.set_tool(t))
            group.addAction(action)
            self.tool_actions[tool] = action
            if tool is Tool.REDACT:
                self.toolbar.addAction(action)
                self._add_redaction_menu(action)
            else:
                self.toolbar.addAction(action)
        self.toolbar.addSeparator()

        self.colour_button = QToolButton(self)
        self.colour_button.setObjectName("ColourButton")
        self.colour_button.setToolTip(self.tr("Colour"))
        self.colour_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.colour_button)
        colour_names = (
            self.tr("Red"),
            self.tr("Orange"),
            self.tr("Yellow"),
            self.tr("Green"),
            self.tr("Blue"),
            self.tr("Black"),
            self.tr("White"),
        )
        for value, name in zip(PALETTE, colour_names, strict=True):
            act = menu.addAction(icons.swatch_icon(QColor(value)), name)
            act.triggered.connect(lambda _checked=False, v=value: self.set_colour(QColor(v)))
        menu.addSeparator()
        menu.addAction(self.tr("Other colour…"), self._pick_colour)
        self.colour_button.setMenu(menu)
        self.toolbar.addWidget(self.colour_button)
        self.toolbar.addSeparator()

        self.undo_action = self.undo_stack.createUndoAction(self, self.tr("Undo"))
        self.undo_action.setIcon(icons.tool_icon("undo"))
        self.undo_action.setShortcuts(QKeySequence.StandardKey.Undo)
        self.redo_action = self.undo_stack.createRedoAction(self, self.tr("Redo"))
        self.redo_action.setIcon(icons.tool_icon("redo"))
        # The platform's redo keys, plus Ctrl+Y everywhere (people bring it from Windows).
        redo_keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Redo)
        if QKeySequence("Ctrl+Y") not in redo_keys:
            redo_keys.append(QKeySequence("Ctrl+Y"))
        self.redo_action.setShortcuts(redo_keys)
        self.toolbar.addAction(self.undo_action)
        self.toolbar.addAction(self.redo_action)
        self.delete_action = QAction(icons.tool_icon("delete"), self.tr("Delete"), self)
        self.delete_action.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Delete), QKeySequence("Backspace")]
        )
        self.delete_action.setToolTip(self.tr("Delete the selected marks (Del)"))
        self.delete_action.triggered.connect(self.delete_selected)
        self.toolbar.addAction(self.delete_action)
        self.toolbar.addSeparator()

        self.fit_action = QAction(icons.tool_icon("fit"), self.tr("Zoom to fit"), self)
        self.fit_action.setShortcut(QKeySequence("Ctrl+0"))
        self.fit_action.setToolTip(self.tr("Zoom to fit (Ctrl+0)"))
        self.fit_action.triggered.connect(self.view.fit)
        self.actual_action = QAction(icons.tool_icon("actual"), self.tr("Actual size"), self)
        self.actual_action.setShortcut(QKeySequence("Ctrl+1"))
        self.actual_action.setToolTip(self.tr("Actual size (Ctrl+1)"))
        self.actual_action.triggered.connect(self.view.actual_size)
        self.toolbar.addAction(self.fit_action)
        self.toolbar.addAction(self.actual_action)

        self.paste_action = QAction(self.tr("Paste image"), self)
        self.paste_action.setShortcut(QKeySequence.StandardKey.Paste)
        self.paste_action.triggered.connect(self.paste_from_clipboard)
        self.addAction(self.paste_action)
        for action in (self.undo_action, self.redo_action, self.delete_action):
            self.addAction(action)

        self.status = QLabel(self)
        self.status.setObjectName("Hint")
        self.message = QLabel(self)
        self.message.setObjectName("EditorMessage")
        self.message.setStyleSheet("color: #b91c1c;")
        self.message.setWordWrap(True)
        self.message.hide()

        self.buttons = QDialogButtonBox(self)
        self.done_button = QPushButton(self.tr("Done"), self)
        self.done_button.setDefault(True)
        self.buttons.addButton(self.done_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.setAutoDefault(False)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        bottom = QHBoxLayout()
        bottom.setContentsMargins(12, 6, 12, 10)
        bottom.addWidget(self.status)
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)
        self._update_colour_button()

    def _add_redaction_menu(self, action: QAction) -> None:
        button = self.toolbar.widgetForAction(action)
        if not isinstance(button, QToolButton):
            return
        menu = QMenu(button)
        group = QActionGroup(menu)
        styles: tuple[tuple[RedactionStyle, str], ...] = (
            ("pixelate", self.tr("Pixelate")),
            ("blur", self.tr("Blur")),
            ("fill", self.tr("Black box")),
        )
        self.redaction_actions: dict[str, QAction] = {}
        for style, label in styles:
            act = menu.addAction(label)
            act.setCheckable(True)
            act.setChecked(style == self.redaction_style)
            group.addAction(act)
            act.triggered.connect(lambda _c=False, s=style: self.set_redaction_style(s))
            self.redaction_actions[style] = act
        button.setMenu(menu)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)

    # -- public API -----------------------------------------------------------------

    def png_bytes(self) -> bytes | None:
        """The exported PNG once the dialog was accepted, else None."""
        return self._png

    def has_image(self) -> bool:
        return self._base is not None

    def image_size(self) -> QSize:
        """The size the export will have (the crop, or the whole picture)."""
        return QSize(self._crop.width(), self._crop.height())

    def crop_rect(self) -> QRect:
        return QRect(self._crop)

    def set_image(self, image: QImage) -> None:
        """Start over with ``image`` (raises :class:`ImageError` if unusable)."""
        check_qimage(image)
        self._base = qimage_to_rgba(image)
        self._base_pixmap = QPixmap.fromImage(rgba_to_qimage(self._base))
        self._png = None
        self.scene.clearSelection()
        for item in list(self.scene.items()):
            if item is not self._background:
                self.scene.removeItem(item)
        self._draft = None
        self.drawing = False
        self.undo_stack.clear()
        self._background.setPixmap(self._base_pixmap)
        self._set_crop(QRect(0, 0, image.width(), image.height()))
        self.undo_stack.setClean()
        self.show_message("")
        self.image_loaded.emit()

    def load_bytes(self, data: bytes) -> None:
        """Decode image file contents on a worker, then show them."""
        self._load(lambda: rgba_to_qimage(imaging.decode_image(data)))

    def load_file(self, path: Path | str) -> None:
        """Read an image file on a worker, then show it (errors are shown in
        the editor and emitted through ``failed``)."""
        self._load(lambda: load_image(path))

    def paste_from_clipboard(self) -> bool:
        """Ctrl+V: take the clipboard's image. False if it holds none."""
        try:
            image = image_from_clipboard()
        except ImageError as exc:
            self._report(image_error_message(exc))
            return False
        if image is None:
            self.show_message(self.tr("The clipboard holds no image."))
            return False
        return self._offer_image(image)

    def annotation_items(self) -> list[QGraphicsItem]:
        """Every mark on the picture (annotations and redactions), oldest first."""
        found = [i for i in self.scene.items() if item_kind(i)]
        return sorted(found, key=lambda i: int(getattr(i, "serial", 0)))

    def next_marker_number(self) -> int:
        numbers = [i.number for i in self.scene.items() if isinstance(i, MarkerItem)]
        return max(numbers, default=0) + 1

    def set_tool(self, tool: Tool | str) -> None:
        self._finish_text()
        self.tool = Tool(tool)
        self.tool_actions[self.tool].setChecked(True)
        select = self.tool is Tool.SELECT
        self.view.setDragMode(
            QGraphicsView.DragMode.RubberBandDrag if select else QGraphicsView.DragMode.NoDrag
        )
        cursor = Qt.CursorShape.ArrowCursor if select else Qt.CursorShape.CrossCursor
        if self.tool is Tool.TEXT:
            cursor = Qt.CursorShape.IBeamCursor
        self.view.viewport().setCursor(cursor)
        if not select:
            self.scene.clearSelection()

    def set_colour(self, colour: QColor) -> None:
        if colour.isValid():
            self.colour = QColor(colour)
            self._update_colour_button()

    def set_redaction_style(self, style: RedactionStyle) -> None:
        if style not in imaging.REDACTION_STYLES:
            raise ValueError(f"unknown redaction style {style!r}")
        self.redaction_style = style
        if hasattr(self, "redaction_actions"):
            self.redaction_actions[style].setChecked(True)
        self.set_tool(Tool.REDACT)

    def delete_selected(self) -> None:
        focus = self.scene.focusItem()
        if isinstance(focus, TextItem) and focus.editing:
            return
        items = [i for i in self.scene.selectedItems() if item_kind(i)]
        if not items:
            return
        redacts = any(isinstance(i, RedactionItem) for i in items)
        self.undo_stack.push(
            RemoveItemsCommand(
                self.scene,
                items,
                self.tr("Delete"),
                self._refresh_background if redacts else None,
            )
        )

    def export_now(self) -> bytes:
        """Flatten and encode on the calling thread (for small images and
        scripts; the dialog itself uses :meth:`accept`, which does it on a worker)."""
        return self._export_job()()

    # -- dialog flow ---------------------------------------------------------------

    def accept(self) -> None:
        """Export on a worker, then close with the PNG in :meth:`png_bytes`."""
        if self._busy or self._base is None:
            return
        job = self._export_job()
        self._set_busy(True, self.tr("Preparing the image…"))
        self.runner.run_task(job, self._export_done, self._export_failed)

    def _export_done(self, data: object) -> None:
        self._set_busy(False)
        if self._closing_rejected:  # cancelled while the export ran
            return
        assert isinstance(data, bytes)
        self._png = data
        self.exported.emit(data)
        super().accept()

    def _export_failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        log.warning("screenshot export failed: %s", exc)
        if isinstance(exc, ImageError):
            self._report(image_error_message(exc))
        else:
            self._report(self.tr("The image could not be prepared."))

    def reject(self) -> None:
        if self.confirm_discard and self.undo_stack.count() and not self.undo_stack.isClean():
            answer = QMessageBox.question(
                self,
                self.tr("Discard changes?"),
                self.tr("Close the editor and discard your marks on this picture?"),
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Discard:
                return
        self._closing_rejected = True
        super().reject()

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self._busy = busy
        self.done_button.setEnabled(not busy and self._base is not None)
        self.toolbar.setEnabled(not busy)
        self.view.setEnabled(not busy)
        if busy:
            self.status.setText(text)
        else:
            self.update_status()

    # -- export -----------------------------------------------------------------------

    def _export_job(self) -> Callable[[], bytes]:
        """Everything Qt-bound is done here on the GUI thread; the returned
        callable only touches numpy arrays and Pillow."""
        if self._base is None:
            raise ImageError("empty", "no picture to export")
        self._finish_text()
        base = self._base
        redactions = [i.redaction() for i in self._redaction_items()]
        crop = Box(self._crop.x(), self._crop.y(), self._crop.width(), self._crop.height())
        overlay = self._render_overlay()

        def job() -> bytes:
            return imaging.export_png(base, redactions, overlay, crop)

        return job

    def _render_overlay(self) -> imaging.RGBA | None:
        annotations = [i for i in self.scene.items() if item_kind(i) in ANNOTATION_KINDS]
        if not annotations:
            return None
        hidden = [i for i in self.scene.items() if i.isVisible() and i not in annotations]
        # Only top-level items are hidden: children follow their parents.
        hidden = [i for i in hidden if i.parentItem() is None]
        selected = self.scene.selectedItems()
        self.scene.clearSelection()
        for item in hidden:
            item.setVisible(False)
        layer = QImage(self._crop.size(), QImage.Format.Format_RGBA8888_Premultiplied)
        layer.fill(Qt.GlobalColor.transparent)
        painter = QPainter(layer)
        painter.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
        )
        self.scene.render(
            painter,
            QRectF(0, 0, self._crop.width(), self._crop.height()),
            QRectF(self._crop),
            Qt.AspectRatioMode.IgnoreAspectRatio,
        )
        painter.end()
        for item in hidden:
            item.setVisible(True)
        for item in selected:
            item.setSelected(True)
        return qimage_to_rgba(layer, premultiplied=True)

    # -- tools --------------------------------------------------------------------------

    def _unit(self) -> float:
        """Annotation sizes follow the picture so they read the same when zoomed to fit."""
        if self._base is None:
            return 1.0
        height, width = (int(v) for v in self._base.shape[:2])
        return max(1.0, min(width, height) / 800)

    def stroke_width(self) -> float:
        return round(3 * self._unit(), 1)

    def redaction_block(self) -> int:
        return max(imaging.DEFAULT_BLOCK, round(12 * self._unit()))

    def _clamp(self, pos: QPointF) -> QPointF:
        rect = QRectF(self._crop)
        return QPointF(
            min(max(pos.x(), rect.left()), rect.right()),
            min(max(pos.y(), rect.top()), rect.bottom()),
        )

    def tool_press(self, raw: QPointF) -> None:
        self._finish_text()
        pos = self._clamp(raw)
        self._start = pos
        colour, width = QColor(self.colour), self.stroke_width()
        draft: QGraphicsItem | None = None
        if self.tool is Tool.RECT:
            draft = RectItem(QRectF(pos, pos), colour, width)
        elif self.tool is Tool.ARROW:
            draft = ArrowItem(QLineF(pos, pos), colour, width)
        elif self.tool is Tool.PEN:
            draft = PenItem(pos, colour, width)
        elif self.tool is Tool.CROP:
            frame = QGraphicsRectItem(QRectF(pos, pos))
            pen = QPen(QColor("#2563eb"), 2, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            frame.setPen(pen)
            frame.setBrush(QColor(37, 99, 235, 40))
            draft = frame
        elif self.tool is Tool.REDACT:
            block = self.redaction_block()
            redaction = RedactionItem(
                QRect(pos.toPoint(), QSize(0, 0)), self.redaction_style, block
            )
            redaction.setBrush(QColor(37, 99, 235, 50))
            draft = redaction
        elif self.tool is Tool.MARKER:
            self._add_marker(pos)
            return
        elif self.tool is Tool.TEXT:
            self._add_text(raw)
            return
        if draft is not None:
            draft.setZValue(1_000_000 if self.tool in (Tool.CROP, Tool.REDACT) else self._top_z())
            self.scene.addItem(draft)
            self._draft = draft
            self.drawing = True

    def tool_move(self, raw: QPointF) -> None:
        draft = self._draft
        if draft is None:
            return
        pos = self._clamp(raw)
        area = QRectF(self._start, pos).normalized()
        if isinstance(draft, RedactionItem):
            draft.setRect(QRectF(area.toAlignedRect()))
        elif isinstance(draft, QGraphicsRectItem):
            draft.setRect(area)
        elif isinstance(draft, ArrowItem):
            draft.set_line(QLineF(self._start, pos))
        elif isinstance(draft, PenItem):
            draft.extend(pos)

    def tool_release(self, raw: QPointF) -> None:
        self.tool_move(raw)
        draft, self._draft = self._draft, None
        self.drawing = False
        if draft is None:
            return
        pos = self._clamp(raw)
        size = QRectF(self._start, pos).normalized()
        small = size.width() < MIN_DRAG and size.height() < MIN_DRAG
        if self.tool is Tool.CROP:
            self.scene.removeItem(draft)
            rect = size.toAlignedRect().intersected(self._crop)
            if not small and rect.width() >= 1 and rect.height() >= 1:
                self.crop_to(rect)
            return
        if isinstance(draft, PenItem):
            small = False  # a dot is a valid freehand mark
        elif isinstance(draft, ArrowItem):
            small = distance(self._start, pos) < MIN_DRAG
        if small:
            self.scene.removeItem(draft)
            return
        if isinstance(draft, RedactionItem):
            draft.setBrush(Qt.BrushStyle.NoBrush)
            draft.setZValue(-50)
            self._commit(draft, self.tr("Hide information"), redaction=True)
        else:
            self._commit(draft, self._label(draft))

    def crop_to(self, rect: QRect) -> None:
        """Crop the picture to ``rect`` (image pixels), undoably."""
        old, new = QRect(self._crop), rect.intersected(self._image_rect())
        if new.isEmpty() or new == old:
            return
        self.undo_stack.push(
            CallbackCommand(
                self.tr("Crop"), lambda: self._set_crop(new), lambda: self._set_crop(old)
            )
        )

    def record_move(self, moves: list[tuple[QGraphicsItem, QPointF, QPointF]]) -> None:
        redacts = any(isinstance(i, RedactionItem) for i, _o, _n in moves)
        self.undo_stack.push(
            MoveItemsCommand(moves, self.tr("Move"), self._refresh_background if redacts else None)
        )

    def _label(self, item: QGraphicsItem) -> str:
        labels = {
            "rect": self.tr("Rectangle"),
            "arrow": self.tr("Arrow"),
            "pen": self.tr("Freehand"),
            "text": self.tr("Text"),
            "marker": self.tr("Numbered marker"),
        }
        return labels.get(item_kind(item), "")

    def _top_z(self) -> float:
        return float(next(self._serials))

    def _commit(self, item: QGraphicsItem, text: str, *, redaction: bool = False) -> None:
        item.serial = next(self._serials)  # type: ignore[attr-defined]
        self.undo_stack.push(
            AddItemCommand(self.scene, item, text, self._refresh_background if redaction else None)
        )

    def _add_marker(self, pos: QPointF) -> None:
        marker = MarkerItem(self.next_marker_number(), self.colour, 30 * self._unit())
        marker.setPos(pos)
        marker.setZValue(self._top_z())
        self.scene.addItem(marker)
        self._commit(marker, self._label(marker))

    def _add_text(self, raw: QPointF) -> None:
        for item in self.scene.items(raw):
            if isinstance(item, TextItem):
                item.start_editing()
                return
        pixel_size = round(22 * self._unit())
        item = TextItem(self.colour, pixel_size, self._text_finished, self._text_started)
        pos = self._clamp(raw)
        item.setPos(pos - QPointF(4, pixel_size * 0.7))
        item.setZValue(self._top_z())
        self.scene.addItem(item)
        item.start_editing()

    def _text_started(self, item: TextItem) -> None:
        self._text_before[item] = item.toPlainText()

    def _text_finished(self, item: TextItem) -> None:
        before = self._text_before.pop(item, None)
        text = item.toPlainText()
        committed = any(
            getattr(self.undo_stack.command(i), "item", None) is item
            for i in range(self.undo_stack.count())
        )
        if not committed:
            if text.strip():
                self._commit(item, self._label(item))
            elif item.scene() is self.scene:
                self.scene.removeItem(item)
            return
        if before is None or before == text:
            return
        if not text.strip():
            self.undo_stack.push(RemoveItemsCommand(self.scene, [item], self.tr("Delete")))
            return
        self.undo_stack.push(
            CallbackCommand(
                self.tr("Edit text"),
                lambda: item.setPlainText(text),
                lambda: item.setPlainText(before),
            )
        )

    def _finish_text(self) -> None:
        focus = self.scene.focusItem()
        if isinstance(focus, TextItem):
            focus.finish_editing()

    # -- picture state ------------------------------------------------------------------

    def _image_rect(self) -> QRect:
        if self._base is None:
            return QRect()
        height, width = self._base.shape[:2]
        return QRect(0, 0, width, height)

    def _set_crop(self, rect: QRect) -> None:
        self._crop = QRect(rect)
        self.scene.setSceneRect(QRectF(rect))
        if self.view.fit_mode:
            self.view.fit()
        self.update_status()

    def _redaction_items(self) -> list[RedactionItem]:
        found = [i for i in self.scene.items() if isinstance(i, RedactionItem)]
        found = [i for i in found if i is not self._draft]
        return sorted(found, key=lambda i: int(getattr(i, "serial", 0)))

    def _refresh_background(self) -> None:
        """Show the picture with every redaction applied to its pixels."""
        if self._base is None:
            return
        redactions = [i.redaction() for i in self._redaction_items()]
        if not redactions:
            self._background.setPixmap(self._base_pixmap)
            return
        redacted = imaging.apply_redactions(self._base, redactions)
        self._background.setPixmap(QPixmap.fromImage(rgba_to_qimage(redacted)))

    def _offer_image(self, image: QImage) -> bool:
        if self.undo_stack.count() and not self.undo_stack.isClean():
            answer = QMessageBox.question(
                self,
                self.tr("Replace the picture?"),
                self.tr("Replace the current picture? Your marks on it will be lost."),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        try:
            self.set_image(image)
        except ImageError as exc:
            self._report(image_error_message(exc))
            return False
        return True

    def _load(self, work: Any) -> None:
        self._load_generation += 1
        generation = self._load_generation
        self._set_busy(True, self.tr("Opening the image…"))

        def done(image: object) -> None:
            if generation != self._load_generation:
                return
            self._set_busy(False)
            assert isinstance(image, QImage)
            self._offer_image(image)
            self.update_status()

        def failed(exc: BaseException) -> None:
            if generation != self._load_generation:
                return
            self._set_busy(False)
            if isinstance(exc, ImageError):
                self._report(image_error_message(exc))
            else:
                log.warning("could not open image: %s", exc)
                self._report(self.tr("The image could not be opened."))

        self.runner.run_task(work, done, failed)

    # -- drag and drop ---------------------------------------------------------------------

    def accepts_mime(self, mime: Any) -> bool:
        if mime is None:
            return False
        if mime.hasImage():
            return True
        return any(is_image_path(p) for p in local_files(mime))

    def drop_mime(self, mime: Any) -> bool:
        images = [p for p in local_files(mime) if is_image_path(p)]
        if images:
            self.load_file(images[0])
            return True
        try:
            image = image_from_mime(mime)
        except ImageError as exc:
            self._report(image_error_message(exc))
            return True
        if image is None:
            if local_files(mime):
                self._report(self.tr("Only image files can be opened in the editor."))
            return False
        return self._offer_image(image)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.accepts_mime(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.drop_mime(event.mimeData()):
            event.acceptProposedAction()

    # -- feedback -----------------------------------------------------------------------------

    def placeholder_text(self) -> str:
        if self._busy:
            return self.tr("Opening the image…")
        return self.tr("Paste a screenshot with Ctrl+V, or drop an image file here.")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _report(self, text: str) -> None:
        self.show_message(text)
        self.failed.emit(text)

    def update_status(self) -> None:
        if not hasattr(self, "status"):
            return
        self.done_button.setEnabled(self._base is not None and not self._busy)
        if self._base is None:
            self.status.setText("")
            return
        zoom = round(self.view.zoom() * 100)
        self.status.setText(
            self.tr("%1 × %2 px · %3%")
            .replace("%1", str(self._crop.width()))
            .replace("%2", str(self._crop.height()))
            .replace("%3", str(zoom))
        )

    def _update_colour_button(self) -> None:
        self.colour_button.setIcon(icons.swatch_icon(self.colour))

    def _pick_colour(self) -> None:
        colour = QColorDialog.getColor(self.colour, self, self.tr("Annotation colour"))
        self.set_colour(colour)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.view.fit_mode:
            self.view.fit()

    def viewport_point(self, scene_pos: QPointF) -> QPoint:
        """Where a scene (image pixel) position is in the view's viewport
        (for tests and for the e2e script that drives the mouse)."""
        return self.view.mapFromScene(scene_pos)
