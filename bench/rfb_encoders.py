"""RFB encoder benchmark at 1920 x 1080 (synthetic office screen).

* ``full_frame``: encode a whole frame with each encoder (ms, median of
  runs) and its size in KiB;
* ``typing`` / ``scrolling``: a session through :class:`RfbServer` and
  :class:`RfbClient` - a few characters typed per frame, or the document
  scrolled 12 px per frame - with the server's time per update (change
  detection + scroll detection + encoding) and the bytes per update;
* ``tile_diff_ms``: tile change detection of two frames.

    python bench/rfb_encoders.py [--runs 5] [--frames 20]

prints one JSON object. H.264 figures appear only when PyAV is installed.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client.core.rfb import RfbClient, RfbServer
from client.core.rfb.encodings import EncodeOptions, h264, tight, zrle
from client.core.rfb.encodings.raw import encode_raw
from client.core.rfb.framebuffer import changed_tiles
from client.core.rfb.messages import (
    BGRX,
    ENC_COPYRECT,
    ENC_H264,
    ENC_RAW,
    ENC_TIGHT,
    ENC_ZRLE,
    Rect,
)

W, H = 1920, 1080
DOC_TOP, DOC_BOTTOM, DOC_LEFT, DOC_RIGHT = 80, 1040, 300, 1800


def document(rows: int, seed: int = 0) -> np.ndarray:
    """Lines of antialiased-looking text (a few grey levels) on white."""
    rng = np.random.default_rng(seed)
    width = DOC_RIGHT - DOC_LEFT
    doc = np.full((rows, width, 4), 255, dtype=np.uint8)
    greys = np.array([0, 60, 120, 180, 220], dtype=np.uint8)
    for y in range(0, rows - 20, 22):
        length = int(rng.integers(width // 3, width - 40))
        ink = rng.random((14, length)) < 0.35
        shade = greys[rng.integers(0, len(greys), (14, length))]
        line = doc[y + 4 : y + 18, 20 : 20 + length]
        line[..., 0][ink] = shade[ink]
        line[..., 1][ink] = shade[ink]
        line[..., 2][ink] = shade[ink]
    return doc


def office_frame(doc: np.ndarray, offset: int) -> np.ndarray:
    frame = np.full((H, W, 4), 255, dtype=np.uint8)
    frame[:40] = [60, 40, 30, 255]  # title bar
    frame[40:80] = [240, 235, 230, 255]  # toolbar
    frame[80:, :300] = [245, 240, 235, 255]  # sidebar
    frame[1040:] = [200, 200, 200, 255]  # status bar
    y, x = np.mgrid[0:200, 0:260]
    photo = frame[820:1020, 20:280]
    photo[..., 0] = (128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0)).astype(np.uint8)
    photo[..., 1] = (x + y).astype(np.uint8)
    photo[..., 2] = (255 - y).astype(np.uint8)
    frame[DOC_TOP:DOC_BOTTOM, DOC_LEFT:DOC_RIGHT] = doc[offset : offset + DOC_BOTTOM - DOC_TOP]
    return frame


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 2)


def full_frame(frame: np.ndarray, runs: int) -> dict[str, Any]:
    rect = Rect(0, 0, W, H)
    results: dict[str, Any] = {}

    def size_of(out: list[tuple[Rect, int, bytes]]) -> float:
        return round(sum(len(p) + 12 for _, _, p in out) / 1024, 1)

    results["raw"] = {
        "ms": median_ms(lambda: encode_raw(frame, rect, BGRX), runs),
        "kib": round(len(encode_raw(frame, rect, BGRX)) / 1024, 1),
    }
    for name, opts in (
        ("tight_lossless", EncodeOptions()),
        ("tight_jpeg_q6", EncodeOptions(quality=6)),
        ("tight_jpeg_q8", EncodeOptions(quality=8)),
    ):
        enc = tight.TightEncoder()
        results[name] = {
            "ms": median_ms(functools.partial(enc.encode, frame, rect, opts), runs),
            "kib": size_of(tight.TightEncoder().encode(frame, rect, opts)),
        }
    photo = np.random.default_rng(1).integers(0, 256, (H, W, 4), dtype=np.uint8)
    photo = (
        photo.astype(np.uint16) // 4 + np.linspace(0, 190, W, dtype=np.uint16)[None, :, None]
    ).astype(np.uint8)
    enc = tight.TightEncoder()
    results["tight_jpeg_q6_photo"] = {
        "ms": median_ms(lambda: enc.encode(photo, rect, EncodeOptions(quality=6)), runs),
        "kib": size_of(tight.TightEncoder().encode(photo, rect, EncodeOptions(quality=6))),
    }
    zenc = zrle.ZrleEncoder()
    results["zrle"] = {
        "ms": median_ms(lambda: zenc.encode(frame, rect, EncodeOptions()), runs),
        "kib": size_of(zrle.ZrleEncoder().encode(frame, rect, EncodeOptions())),
    }
    if h264.available():
        henc = h264.H264Encoder(W, H, EncodeOptions(quality=6))
        first = henc.encode(frame, reset=True)
        results["h264_keyframe"] = {"kib": round(len(first) / 1024, 1)}
        shifted = [office_frame(document(3000), 12 * i) for i in range(1, runs + 1)]
        frames = iter(shifted)
        results["h264_p_frame"] = {
            "ms": median_ms(lambda: henc.encode(next(frames), reset=False), runs),
        }
    return results


def session(kind: str, encodings: list[int], quality: int | None, frames: int) -> dict[str, Any]:
    doc = document(3000)
    server = RfbServer(W, H, "bench")
    first = office_frame(doc, 0)
    server.update_framebuffer(first)
    client = RfbClient(encodings=encodings, quality=quality, h264=ENC_H264 in encodings)

    def pump() -> int:
        total = 0
        for _ in range(6):
            a = server.data_to_send()
            total += len(a)
            if a:
                client.receive_data(a)
            b = client.data_to_send()
            if b:
                server.receive_data(b)
            if not a and not b:
                break
        return total

    pump()
    sizes: list[int] = []
    times: list[float] = []
    rng = np.random.default_rng(7)
    current = first
    for i in range(1, frames + 1):
        if kind == "scrolling":
            current = office_frame(doc, 12 * i)
        else:
            current = current.copy()
            y = DOC_TOP + 4 + 22 * (5 + i // 40)
            x = DOC_LEFT + 20 + (i % 40) * 9
            ink = rng.random((14, 8, 1)) < 0.4
            current[y : y + 14, x : x + 8, :3] = np.where(ink, 30, 255).astype(np.uint8)
        server.update_framebuffer(current)
        start = time.perf_counter()
        out = server.data_to_send()
        times.append((time.perf_counter() - start) * 1000)
        sizes.append(len(out))
        client.receive_data(out)
        back = client.data_to_send()
        if back:
            server.receive_data(back)
        pump()
    assert client.framebuffer is not None
    exact = bool(np.array_equal(client.framebuffer.pixels, current))
    return {
        "server_ms_per_update": round(statistics.median(times), 2),
        "bytes_per_update": int(statistics.median(sizes)),
        "kbit_s_at_30fps": round(statistics.mean(sizes) * 8 * 30 / 1000, 1),
        "exact": exact,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="one JSON line (indented otherwise)")
    args = parser.parse_args()
    doc = document(3000)
    frame = office_frame(doc, 0)
    other = office_frame(doc, 12)
    report: dict[str, Any] = {
        "resolution": f"{W}x{H}",
        "tile_diff_ms": median_ms(lambda: changed_tiles(frame, other), args.runs),
        "full_frame": full_frame(frame, args.runs),
    }
    configs: dict[str, tuple[list[int], int | None]] = {
        "raw+copyrect": ([ENC_RAW, ENC_COPYRECT], None),
        "tight+copyrect": ([ENC_TIGHT, ENC_COPYRECT], 6),
        "tight_no_copyrect": ([ENC_TIGHT], 6),
        "zrle+copyrect": ([ENC_ZRLE, ENC_COPYRECT], None),
    }
    if h264.available():
        configs["h264"] = ([ENC_H264], 6)
    for kind in ("typing", "scrolling"):
        report[kind] = {
            name: session(kind, encs, quality, args.frames)
            for name, (encs, quality) in configs.items()
        }
    print(json.dumps(report) if args.json else json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
