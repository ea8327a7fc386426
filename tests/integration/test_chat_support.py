"""Helpers for the chat tests (no tests here): a websocket peer speaking the
realtime protocol with the ``websockets`` client library, and sign-in helpers.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import requests
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from protocol.realtime import PROTOCOL_VERSION, REALTIME_PATH
from server.chat.hub import Hub
from tests.servers import LiveServer

T = TypeVar("T")

Event = dict[str, Any]


def run(coro: Coroutine[Any, Any, T], timeout: float = 40) -> T:
    """Run a test's async body with an overall limit, so a hang fails fast."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + REALTIME_PATH


def hub_of(live: LiveServer) -> Hub:
    app: Any = live._server.config.app
    hub: Hub = app.state.chat
    return hub


def new_id() -> str:
    return uuid.uuid4().hex


def customer_token(http_url: str, identity: str) -> str:
    r = requests.post(f"{http_url}/api/v1/auth/identity", json={"token": identity}, timeout=10)
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def agent_token(live: LiveServer, name: str | None = None) -> str:
    email = f"{name or 'agent'}-{new_id()[:8]}@example.com"
    live.create_agent(email)
    return live.agent_token(email)


def api(http_url: str, token: str, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(
        method,
        f"{http_url}/api/v1{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        **kw,
    )


def _matches(event: Event, want: dict[str, Any]) -> bool:
    for key, value in want.items():
        if key not in event:
            return False
        if callable(value):
            if not value(event[key]):
                return False
        elif event[key] != value:
            return False
    return True


class Peer:
    """One realtime connection, with a backlog of events not yet asked for."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.backlog: list[Event] = []
        self.welcome: Event = {}
        self.token = ""

    @classmethod
    async def connect(
        cls,
        http_url: str,
        token: str,
        *,
        resume: list[dict[str, int]] | None = None,
        protocol: int = PROTOCOL_VERSION,
    ) -> Peer:
        ws = await websockets.connect(
            ws_url(http_url), compression=None, max_size=2**20, max_queue=None
        )
        peer = cls(ws)
        peer.token = token
        await peer.send(type="hello", token=token, protocol=protocol, resume=resume or [])
        peer.welcome = await peer.expect("welcome")
        return peer

    @classmethod
    async def raw(cls, http_url: str) -> Peer:
        return cls(await websockets.connect(ws_url(http_url), compression=None, max_queue=None))

    async def send(self, **event: Any) -> None:
        await self.ws.send(json.dumps(event))

    async def say(self, text: str, conversation_id: int | None = None, **extra: Any) -> str:
        client_id = extra.pop("client_id", None) or new_id()
        await self.send(
            type="send", client_id=client_id, conversation_id=conversation_id, text=text, **extra
        )
        return client_id

    async def _next(self, timeout: float) -> Event:
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        event: Event = json.loads(frame)
        return event

    async def expect(self, type_: str, timeout: float = 5.0, **want: Any) -> Event:
        """The first event of this type matching ``want`` (values or predicates);
        others are kept for later."""
        want = {"type": type_, **want}
        for i, event in enumerate(self.backlog):
            if _matches(event, want):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"no {want} within {timeout} s; got {self.backlog[-5:]}")
            try:
                event = await self._next(left)
            except TimeoutError:
                continue
            if _matches(event, want):
                return event
            self.backlog.append(event)

    async def collect(self, seconds: float) -> list[Event]:
        """Everything that arrives within ``seconds`` (plus the backlog)."""
        got, self.backlog = self.backlog, []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                got.append(await self._next(left))
            except TimeoutError:
                break
        return got

    async def closed(self, timeout: float = 5.0) -> int | None:
        """Wait for the service to close the connection; its close code."""
        try:
            while True:
                frame = await asyncio.wait_for(self.ws.recv(), timeout)
                self.backlog.append(json.loads(frame))
        except ConnectionClosed:
            pass
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
