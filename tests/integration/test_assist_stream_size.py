"""Big updates through the real relay: a busy full-HD screen (incompressible
noise, well over the service's websocket message limit) reaches the agent,
because the host cuts the RFB stream into messages the relay accepts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from client.core.assist.host import AssistHost, HostEvent
from client.core.assist.viewer import AssistViewer
from protocol.assist import MAX_STREAM_MESSAGE
from tests.integration.test_chat_support import agent_token, api, customer_token
from tests.servers import LiveServer, start_live_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_live_server(tmp_path_factory.mktemp("assist-size"), seed_kb=False)
    try:
        yield server
    finally:
        server.stop()


class NoiseSource:
    """A 1920 x 1080 screen of fresh random pixels on every grab."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(1)
        self.grabs = 0

    @property
    def size(self) -> tuple[int, int]:
        return (1920, 1080)

    def grab(self) -> np.ndarray:
        self.grabs += 1
        frame = self.rng.integers(0, 256, size=(1080, 1920, 4), dtype=np.uint8)
        frame[..., 3] = 255
        return frame

    def close(self) -> None:
        pass


class NoInput:
    def key(self, keysym: int, down: bool) -> None:
        pass

    def pointer(self, x: int, y: int, buttons: int) -> None:
        pass

    def release_all(self) -> None:
        pass


def test_full_hd_noise_goes_through_the_relay(live: LiveServer) -> None:
    customer = customer_token(live.url, live.sign("size-customer", name="Noor"))
    agent = agent_token(live, "size")
    code = api(live.url, customer, "POST", "/assist/codes").json()["code"]
    r = api(live.url, agent, "POST", "/assist/redeem", json={"code": code})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    r = api(live.url, customer, "POST", f"/assist/{sid}/consent", json={"allow": True})
    assert r.json()["status"] == "active"

    events: list[HostEvent] = []
    lock = threading.Lock()

    def on_event(event: HostEvent) -> None:
        with lock:
            events.append(event)

    host = AssistHost(live.url, sid, lambda: customer, NoiseSource, NoInput, on_event)
    # Lossless: no quality level, so every update is several megabytes of Tight/ZRLE.
    viewer = AssistViewer(live.url, sid, agent, quality="high")
    host.start()
    viewer.start()
    try:
        deadline = time.monotonic() + 60
        while viewer.stats().frames < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = viewer.stats()
        assert stats.frames >= 2, (stats, events)
        assert stats.bytes_received > 4 * MAX_STREAM_MESSAGE
        assert stats.connects == 1  # never dropped for a too-big message
        assert host.connections == 1
        assert viewer.screen is not None and (viewer.screen.width, viewer.screen.height) == (
            1920,
            1080,
        )
    finally:
        viewer.stop()
        host.stop(timeout=5)
