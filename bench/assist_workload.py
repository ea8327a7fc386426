"""Scripted screen workloads for ``bench/assist.py`` (a full-screen Qt window).

    python bench/assist_workload.py WORKLOAD [--fps 30] [--seconds 15]

``WORKLOAD`` is one of:

* ``idle``: a still document, nothing changes;
* ``typing``: an editor-like page where one character appears each frame;
* ``scrolling``: a long page of text and coloured bars scrolling 12 px a
  frame (blitted, with the new strip painted, as applications scroll);
* ``video``: a 640 x 360 region of moving pictures in the middle of the page.

Each changed frame also shows a frame counter in the top-left corner as 16
black-or-white 8 x 8 blocks (robust to lossy encodings), so the benchmark
can tell, on the agent side, which frame it is looking at: see
:func:`read_marker`. The script prints ``ready`` once its window is shown, then
``drawn N T`` every half second: how many frames (marker changes) it has
painted by ``time.monotonic()`` T, so the benchmark can tell when the
workload itself, not the sharing, is the limit.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

MARKER_BITS = 16
MARKER_BLOCK = 8
MARKER_Y = 4
MARKER_X = 4


def read_marker(bgra: np.ndarray) -> int | None:
    """The frame counter drawn by this workload in a BGRA frame, or None
    when the corner does not hold a marker (a frame before the workload)."""
    h, w = bgra.shape[:2]
    if h < MARKER_Y + MARKER_BLOCK or w < MARKER_X + MARKER_BITS * MARKER_BLOCK:
        return None
    y = MARKER_Y + MARKER_BLOCK // 2
    xs = MARKER_X + MARKER_BLOCK // 2 + MARKER_BLOCK * np.arange(MARKER_BITS)
    grey = bgra[y, xs, :3].astype(np.int32).sum(axis=1)
    if np.any((grey > 200) & (grey < 565)):
        return None  # neither black nor white: not (yet) our marker
    value = 0
    for bit in (grey >= 383).tolist():
        value = (value << 1) | int(bit)
    return value


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=("idle", "typing", "scrolling", "video"))
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=3600.0)
    args = parser.parse_args()

    from PySide6.QtCore import QRect, Qt, QTimer
    from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication(sys.argv[:1])
    MARKER_RECT = QRect(MARKER_X, MARKER_Y, MARKER_BITS * MARKER_BLOCK, MARKER_BLOCK)
    TYPE_X, TYPE_Y, PER_LINE, LINE_H = 60, 560, 110, 24
    CONTENT_TOP, SCROLL_STEP = 20, 12
    rng = np.random.default_rng(7)
    words = [
        "invoice", "ledger", "account", "balance", "report", "period", "voucher", "tax",
        "customer", "payment", "收入", "凭证", "账簿", "报表", "期间", "余额",
    ]  # fmt: skip
    lines = [
        " ".join(words[int(i)] for i in rng.integers(0, len(words), size=int(n)))
        for n in rng.integers(4, 14, size=400)
    ]
    typed_text = (
        "Dear support, when I post a voucher for the closing period the balance "
        "report shows a difference of 0.01 in the tax account. 我在结账时发现余额不平。 "
    ) * 40

    class Screen(QWidget):
        def __init__(self) -> None:
            super().__init__()
            self.frame = 0
            self.drawn = 0
            self.font_ = QFont("DejaVu Sans Mono")
            self.font_.setPixelSize(16)
            self.pixels = np.zeros((360, 640), dtype=np.uint32)
            self.video = QImage(self.pixels.data, 640, 360, 640 * 4, QImage.Format.Format_RGB32)
            self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

        def tick(self) -> None:
            """Redraw only what changes, as real applications do (Qt then
            repaints and flushes just those rectangles)."""
            if args.workload == "idle":
                return
            self.frame += 1
            w, h = self.width(), self.height()
            if args.workload == "video":
                t = self.frame
                yy, xx = np.mgrid[0:360, 0:640]
                r = (np.sin((xx + t * 9) / 23.0) * 127 + 128).astype(np.uint32)
                g = (np.sin((yy - t * 5) / 17.0) * 127 + 128).astype(np.uint32)
                b = ((xx ^ yy) + t * 3).astype(np.uint32) & 255
                self.pixels[:] = 0xFF000000 | (r << 16) | (g << 8) | b
                self.update(self.video_rect())
            elif args.workload == "typing":
                n = self.frame % len(typed_text)
                if n == 0:
                    self.update(QRect(TYPE_X, TYPE_Y - LINE_H, w - TYPE_X, h - TYPE_Y))
                else:
                    row = (n - 1) // PER_LINE
                    self.update(
                        QRect(TYPE_X, TYPE_Y + (row - 1) * LINE_H + 4, w - 2 * TYPE_X, LINE_H + 4)
                    )
            elif args.workload == "scrolling":
                # Blit what stays, repaint the strip that scrolls in.
                self.scroll(0, -SCROLL_STEP, QRect(0, CONTENT_TOP, w, h - CONTENT_TOP))
            self.update(MARKER_RECT)

        def video_rect(self) -> QRect:
            return QRect((self.width() - 640) // 2, (self.height() - 360) // 2, 640, 360)

        def paintEvent(self, event: QPaintEvent) -> None:
            area = event.rect()
            p = QPainter(self)
            w, h = self.width(), self.height()
            p.fillRect(area, QColor("#f3f3f3"))
            p.setFont(self.font_)
            p.setPen(QColor("#202020"))
            if args.workload == "scrolling":
                offset = self.frame * SCROLL_STEP
                first = max(0, (offset + area.top() - 40) // LINE_H - 1)
                last = (offset + area.bottom() - 40) // LINE_H + 1
                p.setClipRect(QRect(0, CONTENT_TOP, w, h - CONTENT_TOP).intersected(area))
                for n in range(first, last + 1):
                    y = 40 + n * LINE_H - offset
                    if n % 9 == 0:
                        p.fillRect(60, y, 900, 20, QColor.fromHsv((n * 37) % 360, 90, 230))
                    p.drawText(60, y + 16, lines[n % len(lines)])
                p.setClipping(False)
            else:
                p.fillRect(QRect(40, 30, w - 80, h - 60).intersected(area), QColor("white"))
                for i, line in enumerate(lines[:20]):
                    if area.intersects(QRect(60, 60 + i * LINE_H - 18, w, LINE_H)):
                        p.drawText(60, 60 + i * LINE_H, line)
                if args.workload == "typing":
                    shown = typed_text[: self.frame % len(typed_text)]
                    for i in range(0, len(shown), PER_LINE):
                        y = TYPE_Y + (i // PER_LINE) * LINE_H
                        if area.intersects(QRect(TYPE_X, y - 18, w, LINE_H)):
                            p.drawText(TYPE_X, y, shown[i : i + PER_LINE])
                if args.workload == "video" and area.intersects(self.video_rect()):
                    p.drawImage(self.video_rect(), self.video)
            if args.workload != "idle" and area.intersects(MARKER_RECT):
                self.drawn += 1
                value = self.frame & ((1 << MARKER_BITS) - 1)
                for bit in range(MARKER_BITS):
                    on = (value >> (MARKER_BITS - 1 - bit)) & 1
                    p.fillRect(
                        MARKER_X + bit * MARKER_BLOCK,
                        MARKER_Y,
                        MARKER_BLOCK,
                        MARKER_BLOCK,
                        QColor("white") if on else QColor("black"),
                    )
            p.end()

    screen = Screen()
    screen.setWindowFlag(Qt.WindowType.FramelessWindowHint)
    geo = app.primaryScreen().geometry()
    screen.setGeometry(geo)
    screen.show()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(screen.tick)
    timer.start(int(1000 / args.fps))
    QTimer.singleShot(int(args.seconds * 1000), app.quit)
    QTimer.singleShot(300, lambda: print("ready", flush=True))
    report = QTimer()
    report.timeout.connect(
        lambda: print(f"drawn {screen.drawn} {time.monotonic():.6f}", flush=True)
    )
    report.start(500)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
