"""Screen capture for remote assist (the customer's side).

:class:`ScreenSource` is what :class:`~client.core.assist.host.AssistHost`
grabs frames from; :class:`MssSource` is the real one, over ``mss``.

* Frames are ``(height, width, 4)`` uint8 **BGRA**, C-contiguous, a fresh
  array per grab (the RFB server keeps a reference to the latest one). BGRA
  is mss's own layout and the RFB server's native pixel format, so nothing
  is converted (converting to RGB costs more than the grab itself).
* One monitor is shared, chosen by its mss index (1 = the first monitor;
  0, the union of all monitors, is refused: the banner and the border
  belong to one screen).
* HiDPI: mss reports and grabs physical pixels (on Windows it makes the
  process DPI-aware), so a 200 % 4K screen is shared as 3840 x 2160 and the
  agent's pointer positions are physical pixels too.
* mss handles are not shared between threads: a source is used from the
  one thread that created it (the host's capture thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

Frame = NDArray[np.uint8]


class ScreenSource(Protocol):
    """Something that can be shared: one screen, or a test pattern."""

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in physical pixels."""

    def grab(self) -> Frame:
        """The screen now: ``(h, w, 4)`` uint8 BGRA, a new array each call."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Monitor:
    """One monitor as mss numbers it; positions in physical pixels."""

    index: int
    left: int
    top: int
    width: int
    height: int

    @property
    def origin(self) -> tuple[int, int]:
        return (self.left, self.top)


def monitors() -> list[Monitor]:
    """The monitors that can be shared (index 1 is the first; mss's index 0,
    every monitor together, is left out)."""
    import mss

    with mss.mss() as sct:
        return [_monitor(i, m) for i, m in enumerate(sct.monitors) if i > 0]


def _monitor(index: int, m: dict[str, Any]) -> Monitor:
    return Monitor(index, int(m["left"]), int(m["top"]), int(m["width"]), int(m["height"]))


def pick_monitor(available: list[Monitor], want: tuple[int, int, int, int] | None) -> int:
    """The index of the monitor at ``want`` = (left, top, width, height) in
    physical pixels (the screen the UI shows its banner on), else of the
    nearest one with that size, else 1."""
    if want is None or not available:
        return 1
    left, top, width, height = want
    for m in available:
        if (m.left, m.top, m.width, m.height) == (left, top, width, height):
            return m.index
    same_size = [m for m in available if (m.width, m.height) == (width, height)]
    if same_size:
        return min(same_size, key=lambda m: abs(m.left - left) + abs(m.top - top)).index
    return 1


class MssSource:
    """One monitor through mss. Open it on the thread that will grab."""

    def __init__(self, monitor: int = 1) -> None:
        import mss

        if monitor < 1:
            raise ValueError("choose one monitor (1 is the first)")
        self._sct: Any = mss.mss()
        try:
            available = self._sct.monitors
            if monitor >= len(available):
                raise ValueError(f"there is no monitor {monitor} (found {len(available) - 1})")
            self.monitor = _monitor(monitor, available[monitor])
        except BaseException:
            self._sct.close()
            raise
        self._region = {
            "left": self.monitor.left,
            "top": self.monitor.top,
            "width": self.monitor.width,
            "height": self.monitor.height,
        }

    @property
    def size(self) -> tuple[int, int]:
        return (self.monitor.width, self.monitor.height)

    def grab(self) -> Frame:
        shot = self._sct.grab(self._region)
        h, w = int(shot.height), int(shot.width)
        # shot.raw is a fresh bytearray per grab: viewing it copies nothing.
        frame: Frame = np.frombuffer(shot.raw, dtype=np.uint8).reshape(h, w, 4)
        return frame

    def close(self) -> None:
        self._sct.close()


__all__ = ["Frame", "Monitor", "MssSource", "ScreenSource", "monitors", "pick_monitor"]
