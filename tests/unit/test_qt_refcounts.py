"""The Qt binding must not drop references to None while painting.

PySide6 6.12.0 on Python 3.11 decrements None's reference count once per
QPainter call that returns nothing (``fillRect``, ``drawRect``, ``setPen``
...), so any window that paints itself (the report charts, the remote view,
the assist banner and border, the annotation editor) aborts the process with
"Fatal Python error: none_dealloc" after a few thousand calls. pyproject
keeps that release out; this test fails on any binding that does it again.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QRect, QRectF
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen

CALLS = 2_000

pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on"
)


def test_painting_keeps_none_alive() -> None:
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    colour = QColor("#3366cc")
    try:
        before = sys.getrefcount(None)
        for i in range(CALLS):
            painter.setPen(QPen(colour, 1))
            painter.setBrush(QBrush(colour))
            painter.fillRect(i % 60, 1, 3, 3, colour)
            painter.fillRect(QRect(1, i % 60, 3, 3), colour)
            painter.drawRect(QRect(2, 2, 8, 8))
            painter.drawLine(0, 0, 10, i % 60)
            painter.drawRoundedRect(QRectF(1, 1, 20, 10), 3, 3)
            painter.drawImage(0, 0, image.copy(0, 0, 4, 4))
        lost = before - sys.getrefcount(None)
    finally:
        painter.end()
    # Any per-call loss is thousands; a few either way is the interpreter.
    assert lost < CALLS // 10, f"None lost {lost} references in {CALLS} rounds of painting"
