"""Opening a remote-assist stream: the websocket both ends of a session use.

The relay copies binary messages between the customer's and the agent's
socket without parsing them (``protocol.assist``). The access token goes in
the ``Authorization`` header, never in the URL (URLs get logged).
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect

from protocol.assist import ASSIST_PREFIX, STREAM_SUBPROTOCOL

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest binary message either end accepts (a full 4K Raw frame is 33 MB,
but our server cuts updates into messages well below this)."""


def stream_url(server_url: str, session_id: int) -> str:
    """``https://host/base`` → ``wss://host/api/v1/assist/{id}/stream``."""
    parts = urlsplit(server_url.strip().rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme)
    if scheme is None or not parts.hostname:
        raise ValueError(f"not an http(s) service address: {server_url!r}")
    path = f"{parts.path}{ASSIST_PREFIX}/{int(session_id)}/stream"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


async def open_stream(
    server_url: str,
    session_id: int,
    token: str,
    *,
    open_timeout: float = 10.0,
    ping_interval: float | None = 10.0,
    ping_timeout: float | None = 20.0,
) -> ClientConnection:
    """Connect to a session's stream. Raises ``websockets`` errors
    (``InvalidStatus`` carries the HTTP status of a refusal) or ``OSError``."""
    return await connect(
        stream_url(server_url, session_id),
        additional_headers={"Authorization": f"Bearer {token}"},
        subprotocols=[STREAM_SUBPROTOCOL],  # type: ignore[list-item]
        open_timeout=open_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_size=MAX_MESSAGE_BYTES,
        compression=None,  # RFB payloads are compressed already
        user_agent_header="HelpBridge",
    )
