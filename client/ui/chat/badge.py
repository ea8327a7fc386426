"""Unread counts drawn onto icons (the tray icon) and the dock/taskbar badge.

:func:`badge_icon` paints a red disc with the count into the top-right
corner of every size of an icon, so the tray shows it whatever size the
desktop asks for. :func:`set_app_badge` uses ``QGuiApplication.setBadgeNumber``
(Qt 6.5+; macOS dock, Windows taskbar, some Linux docks) where it exists.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPen, QPixmap

log = logging.getLogger(__name__)

SIZES = (16, 22, 24, 32, 48, 64, 128)
BADGE_COLOUR = QColor("#dc2626")


def badge_text(count: int) -> str:
    return "99+" if count > 99 else str(count)


def paint_badge(pixmap: QPixmap, count: int) -> QPixmap:
    """A copy of ``pixmap`` with ``count`` in a disc at its top-right corner."""
    out = QPixmap(pixmap)
    if count <= 0 or out.isNull():
        return out
    ratio = out.devicePixelRatio() or 1.0
    side = min(out.width(), out.height()) / ratio
    text = badge_text(count)
    diameter = side * (0.62 if len(text) == 1 else 0.7)
    width = diameter if len(text) == 1 else min(side, diameter * (0.55 + 0.3 * len(text)))
    rect = QRectF(side - width, 0, width, diameter)
    painter = QPainter(out)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setPen(QPen(QColor("#ffffff"), max(1.0, side / 32)))
        painter.setBrush(BADGE_COLOUR)
        painter.drawRoundedRect(rect, diameter / 2, diameter / 2)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(max(6, int(diameter * (0.68 if len(text) == 1 else 0.55))))
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    finally:
        painter.end()
    return out


def badge_icon(icon: QIcon, count: int) -> QIcon:
    """``icon`` with the unread ``count`` painted on (``icon`` itself when 0)."""
    if count <= 0:
        return icon
    out = QIcon()
    for size in SIZES:
        pixmap = icon.pixmap(size, size)
        if not pixmap.isNull():
            out.addPixmap(paint_badge(pixmap, count))
    return out if not out.isNull() else icon


def set_app_badge(count: int) -> bool:
    """The dock/taskbar badge, where Qt and the platform offer one."""
    setter = getattr(QGuiApplication, "setBadgeNumber", None)
    if setter is None:
        return False
    try:
        setter(max(0, int(count)))
    except Exception:  # a platform plugin without badge support
        log.debug("no application badge on this platform", exc_info=True)
        return False
    return True
