"""Screenshots for tickets: capture, annotate, paste and drop.

The ticket form needs only these names:

* :class:`ScreenCapture` — ``capture_region(window)``, ``capture_screen(window)``,
  ``capture_window(window)``; results arrive through ``captured(QImage)``,
  ``cancelled()`` and ``failed(str)``. :func:`window_capture_supported` says
  whether to offer the window option.
* :class:`AnnotationEditor` — a QDialog taking a QImage or image bytes;
  after ``exec()`` returns Accepted, ``png_bytes()`` holds the flattened,
  redacted PNG (also emitted as ``exported(bytes)``).
* :func:`image_from_clipboard`, :func:`load_image`, :class:`ImageDropArea`
  (``files_dropped(list[Path])``), :func:`image_error_message`.
* :class:`GlobalHotkey` — a system-wide shortcut (Ctrl+Alt+H) where the
  platform allows one.
"""

from client.ui.capture.capture import ScreenCapture, window_capture_supported
from client.ui.capture.editor import AnnotationEditor, Tool
from client.ui.capture.hotkey import DEFAULT_HOTKEY, GlobalHotkey
from client.ui.capture.snapshot import CaptureError, Snapshot, grab_snapshot
from client.ui.capture.sources import (
    ImageDropArea,
    image_error_message,
    image_from_clipboard,
    load_image,
)

__all__ = [
    "DEFAULT_HOTKEY",
    "AnnotationEditor",
    "CaptureError",
    "GlobalHotkey",
    "ImageDropArea",
    "ScreenCapture",
    "Snapshot",
    "Tool",
    "grab_snapshot",
    "image_error_message",
    "image_from_clipboard",
    "load_image",
    "window_capture_supported",
]
