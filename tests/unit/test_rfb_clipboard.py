"""The Extended Clipboard pseudo-encoding: UTF-8 cut text both ways.

Our server against our client, and each of them against a peer written
here byte by byte from rfbproto (behaving as TigerVNC's and noVNC's
viewers and servers do: caps with a size of 0, notify -> request ->
provide, zlib streams ended with a sync flush rather than finished).
Fallback to Latin-1 when the peer does not offer the extension, bounded
memory against zlib bombs, and fuzzing of both parsers.
"""

from __future__ import annotations

import itertools
import os
import queue
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.core.rfb import (
    Bell,
    CutText,
    CutTextDropped,
    EncodingsChanged,
    KeyEvent,
    RfbClient,
    RfbProtocolError,
    RfbServer,
)
from client.core.rfb.clipboard import (
    CLIP_CAPS,
    CLIP_HTML,
    CLIP_NOTIFY,
    CLIP_PEEK,
    CLIP_PROVIDE,
    CLIP_REQUEST,
    CLIP_TEXT,
    max_message,
)
from client.core.rfb.messages import (
    BGRX,
    ENC_EXTENDED_CLIPBOARD,
    ENC_RAW,
    MAX_CUT_TEXT,
    pack_key_event,
    pack_server_init,
    pack_set_encodings,
)
from tests.ui_helpers import Xvfb, stop_process, wait_until

HELLO = "你好，世界 ✓"
CLIENT_HELLO = b"RFB 003.008\n\x01\x01"
SERVER_HELLO = b"RFB 003.008\n\x01\x01\x00\x00\x00\x00" + pack_server_init(32, 24, BGRX, "t")
FUZZ = settings(
    max_examples=int(os.environ.get("RFB_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# TigerVNC's and noVNC's viewers answer with these caps (text, request,
# peek, notify, provide; text size 0: announce with notify, never push).
TIGERVNC_CAPS_FLAGS = CLIP_CAPS | CLIP_TEXT | CLIP_REQUEST | CLIP_PEEK | CLIP_NOTIFY | CLIP_PROVIDE


def pump(server: RfbServer, client: RfbClient, rounds: int = 20) -> None:
    for _ in range(rounds):
        a = server.data_to_send()
        if a:
            client.receive_data(a)
        b = client.data_to_send()
        if b:
            server.receive_data(b)
        if not a and not b:
            return


def connect(**client_kwargs: object) -> tuple[RfbServer, RfbClient]:
    server = RfbServer(32, 24, "desk")
    client = RfbClient(**client_kwargs)  # type: ignore[arg-type]
    pump(server, client)
    server.events_received()
    client.events_received()
    return server, client


def cut_texts(events: Sequence[object]) -> list[object]:
    return [e for e in events if isinstance(e, CutText | CutTextDropped)]


def extended(msg_type: int, payload: bytes) -> bytes:
    """A cut-text message in the extended format, built from the spec."""
    return struct.pack(">B3xi", msg_type, -len(payload)) + payload


def flags_only(msg_type: int, flags: int) -> bytes:
    return extended(msg_type, struct.pack(">I", flags))


def caps(msg_type: int, flags: int, *sizes: int) -> bytes:
    return extended(msg_type, struct.pack(f">I{len(sizes)}I", flags, *sizes))


def sync_flushed(data: bytes) -> bytes:
    """zlib as TigerVNC and noVNC write it: a sync (full) flush, no stream end."""
    z = zlib.compressobj()
    return z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)


def provide(msg_type: int, text_bytes: bytes, *, finished: bool = False) -> bytes:
    body = struct.pack(">I", len(text_bytes)) + text_bytes
    stream = zlib.compress(body) if finished else sync_flushed(body)
    return extended(msg_type, struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT) + stream)


def read_message(data: bytes) -> tuple[int, int, bytes, bytes]:
    """(message type, flags, payload after the flags, the rest of ``data``)."""
    kind, length = struct.unpack(">B3xi", data[:8])
    assert length < 0, "not an extended message"
    payload = data[8 : 8 - length]
    return kind, struct.unpack(">I", payload[:4])[0], payload[4:], data[8 - length :]


def inflate_text(stream: bytes) -> bytes:
    body = zlib.decompressobj().decompress(stream)
    size = struct.unpack(">I", body[:4])[0]
    assert len(body) == 4 + size
    return body[4:]


# ------------------------------------------------------------- our two ends


def test_round_trip_both_ways_in_full_unicode() -> None:
    server, client = connect()
    assert server.extended_clipboard and client.extended_clipboard
    server.send_cut_text(HELLO + "\nzweite Zeile")
    client.send_cut_text("客户的剪贴板 ✓\r\n第二行")
    pump(server, client)
    assert cut_texts(client.events_received()) == [CutText(HELLO + "\nzweite Zeile")]
    assert cut_texts(server.events_received()) == [CutText("客户的剪贴板 ✓\n第二行")]


def test_our_ends_push_text_in_one_message_each() -> None:
    server, client = connect()
    server.send_cut_text(HELLO)
    kind, flags, stream, rest = read_message(server.data_to_send())
    assert (kind, flags, rest) == (3, CLIP_PROVIDE | CLIP_TEXT, b"")
    assert inflate_text(stream) == HELLO.encode() + b"\0"
    client.send_cut_text("a\nb")
    kind, flags, stream, rest = read_message(client.data_to_send())
    assert (kind, flags, rest) == (6, CLIP_PROVIDE | CLIP_TEXT, b"")
    assert inflate_text(stream) == b"a\r\nb\0"  # CRLF and a NUL on the wire


def test_large_text_round_trips_and_is_cut_at_a_character() -> None:
    server, client = connect()
    big = "".join(chr(0x4E00 + i % 20000) for i in range(300_000))  # 900 KB of UTF-8
    server.send_cut_text(big)
    client.send_cut_text(big[::-1])
    pump(server, client)
    assert cut_texts(client.events_received()) == [CutText(big)]
    assert cut_texts(server.events_received()) == [CutText(big[::-1])]
    too_big = "界" * 400_000  # 1.2 MB: cut to at most 1 MiB with its NUL
    server.send_cut_text(too_big)
    pump(server, client)
    assert cut_texts(client.events_received()) == [CutText("界" * ((MAX_CUT_TEXT - 1) // 3))]


def test_text_over_the_viewer_size_goes_notify_request_provide_and_is_dropped() -> None:
    server, client = connect(max_cut_text=1000)
    server.send_cut_text("x" * 5000)
    _, flags, _, _ = read_message(server.data_to_send())
    assert flags == CLIP_NOTIFY | CLIP_TEXT  # over the 1000 bytes the viewer takes
    client.receive_data(flags_only(3, flags))
    assert client.data_to_send() == flags_only(6, CLIP_REQUEST | CLIP_TEXT)
    server.receive_data(flags_only(6, CLIP_REQUEST | CLIP_TEXT))
    client.receive_data(server.data_to_send())
    assert client.events_received() == [CutTextDropped(5001)]
    server.send_cut_text("short ✓")
    pump(server, client)
    assert cut_texts(client.events_received()) == [CutText("short ✓")]


def test_every_set_encodings_gets_caps_and_the_client_answers() -> None:
    server, client = connect()
    client.set_encodings([ENC_RAW])
    server.receive_data(client.data_to_send())
    kind, flags, sizes, _ = read_message(server.data_to_send())
    assert kind == 3
    assert flags == CLIP_CAPS | CLIP_TEXT | CLIP_REQUEST | CLIP_PEEK | CLIP_NOTIFY | CLIP_PROVIDE
    assert struct.unpack(">I", sizes) == (MAX_CUT_TEXT,)
    client.receive_data(caps(3, flags, MAX_CUT_TEXT))
    kind, flags, sizes, _ = read_message(client.data_to_send())
    assert (kind, flags, struct.unpack(">I", sizes)) == (6, flags, (MAX_CUT_TEXT,))


def test_clear_cut_text_withdraws_the_offer() -> None:
    server = RfbServer(32, 24)
    server.data_to_send()
    server.receive_data(CLIENT_HELLO + pack_set_encodings([ENC_RAW, ENC_EXTENDED_CLIPBOARD]))
    server.data_to_send()
    server.receive_data(caps(6, TIGERVNC_CAPS_FLAGS, 0))
    server.send_cut_text("secret")
    assert server.data_to_send() == flags_only(3, CLIP_NOTIFY | CLIP_TEXT)
    server.clear_cut_text()
    assert server.data_to_send() == flags_only(3, CLIP_NOTIFY)  # nothing available
    server.receive_data(flags_only(6, CLIP_REQUEST | CLIP_TEXT))
    assert server.data_to_send() == b""  # the request gets nothing


# ------------------------------------------------------------------ fallback


def test_latin1_with_a_viewer_that_does_not_offer_it() -> None:
    server, client = connect(extended_clipboard=False)
    assert ENC_EXTENDED_CLIPBOARD not in server.encodings
    assert not server.extended_clipboard and not client.extended_clipboard
    server.send_cut_text("café ✓")
    data = server.data_to_send()
    assert data == b"\x03\x00\x00\x00" + struct.pack(">I", 6) + "café ?".encode("latin-1")
    client.receive_data(data)
    client.send_cut_text("naïve ✓")
    server.receive_data(client.data_to_send())
    assert cut_texts(client.events_received()) == [CutText("café ?")]
    assert cut_texts(server.events_received()) == [CutText("naïve ?")]


def test_latin1_with_a_server_that_does_not_announce_it() -> None:
    client = RfbClient()
    client.receive_data(SERVER_HELLO)  # no caps follow: a plain RFB 3.8 server
    client.data_to_send()
    client.send_cut_text("naïve ✓")
    assert client.data_to_send() == b"\x06\x00\x00\x00" + struct.pack(">I", 7) + b"na\xefve ?"
    client.receive_data(b"\x03\x00\x00\x00" + struct.pack(">I", 4) + b"caf\xe9")
    assert cut_texts(client.events_received()) == [CutText("café")]


def test_a_viewer_whose_caps_lack_text_gets_latin1() -> None:
    server = RfbServer(32, 24)
    server.data_to_send()
    server.receive_data(CLIENT_HELLO + pack_set_encodings([ENC_RAW, ENC_EXTENDED_CLIPBOARD]))
    server.data_to_send()
    server.receive_data(caps(6, CLIP_CAPS | CLIP_REQUEST | CLIP_PROVIDE))  # no formats
    server.send_cut_text("ü✓")
    assert server.data_to_send() == b"\x03\x00\x00\x00" + struct.pack(">I", 2) + b"\xfc?"


# -------------------------------------------- peers written from the spec


def test_server_with_a_tigervnc_style_viewer() -> None:
    server = RfbServer(32, 24)
    server.data_to_send()
    server.receive_data(CLIENT_HELLO + pack_set_encodings([ENC_RAW, ENC_EXTENDED_CLIPBOARD]))
    _, flags, sizes, _ = read_message(server.data_to_send()[-(8 + 8) :])
    assert flags & CLIP_CAPS and flags & CLIP_TEXT and struct.unpack(">I", sizes)[0] > 0
    server.receive_data(caps(6, TIGERVNC_CAPS_FLAGS, 0))
    # Server -> viewer: announce, the viewer asks, the text follows.
    server.send_cut_text(HELLO + "\n2")
    assert server.data_to_send() == flags_only(3, CLIP_NOTIFY | CLIP_TEXT)
    server.receive_data(flags_only(6, CLIP_PEEK))
    assert server.data_to_send() == flags_only(3, CLIP_NOTIFY | CLIP_TEXT)
    server.receive_data(flags_only(6, CLIP_REQUEST | CLIP_TEXT))
    kind, flags, stream, _ = read_message(server.data_to_send())
    assert (kind, flags) == (3, CLIP_PROVIDE | CLIP_TEXT)
    assert inflate_text(stream) == (HELLO + "\r\n2").encode() + b"\0"
    # Viewer -> server: the viewer announces, the server asks, the viewer provides.
    server.receive_data(flags_only(6, CLIP_NOTIFY | CLIP_TEXT))
    assert server.data_to_send() == flags_only(3, CLIP_REQUEST | CLIP_TEXT)
    server.receive_data(provide(6, "从客服来 ✓\r\n".encode() + b"\0"))
    assert cut_texts(server.events_received()) == [CutText("从客服来 ✓\n")]
    # A finished zlib stream is read as well, and invalid UTF-8 does not end the session.
    server.receive_data(provide(6, b"ok \xff\0", finished=True))
    assert cut_texts(server.events_received()) == [CutText("ok \ufffd")]


def test_client_with_a_tigervnc_style_server() -> None:
    client = RfbClient()
    client.receive_data(SERVER_HELLO)
    client.data_to_send()
    client.receive_data(caps(3, TIGERVNC_CAPS_FLAGS, 0))
    kind, flags, sizes, _ = read_message(client.data_to_send())
    assert (kind, flags, struct.unpack(">I", sizes)) == (6, TIGERVNC_CAPS_FLAGS, (MAX_CUT_TEXT,))
    assert client.extended_clipboard
    client.send_cut_text(HELLO)
    assert client.data_to_send() == flags_only(6, CLIP_NOTIFY | CLIP_TEXT)
    client.receive_data(flags_only(3, CLIP_REQUEST | CLIP_TEXT))
    kind, flags, stream, _ = read_message(client.data_to_send())
    assert (kind, flags) == (6, CLIP_PROVIDE | CLIP_TEXT)
    assert inflate_text(stream) == HELLO.encode() + b"\0"
    client.receive_data(flags_only(3, CLIP_NOTIFY | CLIP_TEXT))
    assert client.data_to_send() == flags_only(6, CLIP_REQUEST | CLIP_TEXT)
    client.receive_data(provide(3, "服务器 ✓\0".encode()))
    assert cut_texts(client.events_received()) == [CutText("服务器 ✓")]


def test_unknown_formats_beside_text_and_extra_caps_bytes_are_skipped() -> None:
    server = RfbServer(32, 24)
    server.data_to_send()
    server.receive_data(CLIENT_HELLO)
    server.events_received()
    text = "文本\0".encode()
    html = b"<b>x</b>\0"
    body = struct.pack(">I", len(text)) + text + struct.pack(">I", len(html)) + html
    message = extended(
        6, struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT | CLIP_HTML) + sync_flushed(body)
    )
    caps_with_padding = extended(6, struct.pack(">III", CLIP_CAPS | CLIP_TEXT, 0, 7))
    server.receive_data(message + caps_with_padding + pack_key_event(0x61, True))
    assert server.events_received() == [CutText("文本"), KeyEvent(0x61, True)]


# ---------------------------------------------------------- limits, malformed


def test_declared_size_over_the_limit_is_dropped_without_inflating() -> None:
    server = RfbServer(32, 24, max_cut_text=1000)
    server.data_to_send()
    server.receive_data(CLIENT_HELLO)
    server.events_received()
    bomb = extended(
        6,
        struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT)
        + sync_flushed(struct.pack(">I", 0x7FFFFFFF) + b"\0" * 100_000),
    )
    server.receive_data(bomb + pack_key_event(0x61, True))
    assert server.events_received() == [CutTextDropped(0x7FFFFFFF), KeyEvent(0x61, True)]


def test_zlib_bomb_inflates_only_the_declared_size() -> None:
    # 64 MiB of zeros (about 64 KB compressed) behind a size header of 1 MiB.
    z = zlib.compressobj(9)
    parts = [z.compress(struct.pack(">I", MAX_CUT_TEXT))]
    zeros = b"\0" * (1 << 20)
    parts += [z.compress(zeros) for _ in range(64)]
    parts.append(z.flush())
    message = extended(3, struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT) + b"".join(parts))
    assert len(message) < max_message(MAX_CUT_TEXT)
    client = RfbClient()
    client.receive_data(SERVER_HELLO)
    client.events_received()
    tracemalloc.start()
    try:
        client.receive_data(message)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert client.events_received() == [CutText("")]  # the NUL ends the text at once
    assert peak < 8 << 20  # far below the 64 MiB the stream would inflate to


def test_overlong_extended_message_is_skipped_unread() -> None:
    client = RfbClient(max_cut_text=100)
    client.receive_data(SERVER_HELLO)
    client.events_received()
    rest = max_message(100) + 1
    head = struct.pack(">B3xiI", 3, -(4 + rest), CLIP_PROVIDE | CLIP_TEXT)
    client.receive_data(head)
    for _ in range(rest // 1000):
        client.receive_data(b"\x00" * 1000)
    client.receive_data(b"\x00" * (rest % 1000) + b"\x02")
    assert client.events_received() == [CutTextDropped(rest), Bell()]


@pytest.mark.parametrize(
    "payload",
    [
        b"\x10\x00",  # a length of -2: no room for the flags
        struct.pack(">I", 0),  # no action
        struct.pack(">I", CLIP_REQUEST | CLIP_NOTIFY | CLIP_TEXT),  # two actions
        struct.pack(">I", 1 << 29),  # a reserved action
        struct.pack(">II", CLIP_CAPS | CLIP_TEXT | CLIP_HTML, 0),  # one size for two formats
        struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT) + b"not zlib at all",
        struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT) + zlib.compress(b"\x00\x00\x00\x09short"),
        struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT) + zlib.compress(b"\x00\x00"),
        struct.pack(">I", CLIP_PROVIDE | CLIP_TEXT),  # no stream at all
    ],
)
def test_malformed_extended_messages_are_protocol_errors(payload: bytes) -> None:
    server = RfbServer(32, 24)
    server.data_to_send()
    server.receive_data(CLIENT_HELLO)
    with pytest.raises(RfbProtocolError):
        server.receive_data(extended(6, payload))
    client = RfbClient()
    client.receive_data(SERVER_HELLO)
    with pytest.raises(RfbProtocolError):
        client.receive_data(extended(3, payload))


# --------------------------------------------------------------------- fuzz


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


flag_values = st.sampled_from(
    [CLIP_CAPS, CLIP_REQUEST, CLIP_PEEK, CLIP_NOTIFY, CLIP_PROVIDE, 0, 1 << 29]
).flatmap(lambda action: st.integers(0, 0x1F).map(lambda formats: action | formats)) | st.integers(
    0, 0xFFFFFFFF
)


@st.composite
def extended_messages(draw: st.DrawFn) -> bytes:
    flags = draw(flag_values)
    kind = draw(st.sampled_from(["raw", "sizes", "zlib", "zlib-text"]))
    if kind == "raw":
        body = draw(st.binary(max_size=40))
    elif kind == "sizes":
        body = b"".join(struct.pack(">I", s) for s in draw(st.lists(st.integers(0, 2**32 - 1))))
    elif kind == "zlib":
        body = sync_flushed(draw(st.binary(max_size=60)))
    else:
        text = draw(st.text(max_size=30)).encode() + b"\0"
        size = draw(st.sampled_from([len(text), 0, len(text) + 5, 2**32 - 1]))
        body = zlib.compress(struct.pack(">I", size) + text)
    payload = struct.pack(">I", flags) + body
    if draw(st.booleans()):
        payload = payload[: draw(st.integers(0, len(payload)))]
    return payload


@FUZZ
@given(
    st.lists(extended_messages(), min_size=1, max_size=5),
    st.lists(st.integers(0, 10_000), max_size=8),
    st.booleans(),
)
def test_server_extended_parser_raises_only_protocol_errors(
    payloads: list[bytes], cuts: list[int], offered: bool
) -> None:
    server = RfbServer(32, 24, max_cut_text=64)
    server.data_to_send()
    hello = CLIENT_HELLO + (pack_set_encodings([ENC_EXTENDED_CLIPBOARD]) if offered else b"")
    stream = hello + b"".join(extended(6, p) for p in payloads)
    try:
        for piece in chunks(stream, cuts):
            server.receive_data(piece)
            server.data_to_send()
            server.send_cut_text("✓")
    except RfbProtocolError:
        return
    for event in server.events_received():
        if isinstance(event, CutText):
            assert len(event.text.encode()) <= 65


@FUZZ
@given(
    st.lists(extended_messages(), min_size=1, max_size=5),
    st.lists(st.integers(0, 10_000), max_size=8),
)
def test_client_extended_parser_raises_only_protocol_errors(
    payloads: list[bytes], cuts: list[int]
) -> None:
    client = RfbClient(max_cut_text=64)
    stream = SERVER_HELLO + b"".join(extended(3, p) for p in payloads)
    try:
        for piece in chunks(stream, cuts):
            client.receive_data(piece)
            client.data_to_send()
            if client.connected:
                client.send_cut_text("✓")
    except RfbProtocolError:
        return
    for event in client.events_received():
        if isinstance(event, CutText):
            assert len(event.text.encode()) <= 65


@FUZZ
@given(st.lists(st.text(max_size=50), min_size=1, max_size=4), st.lists(st.integers(0, 10_000)))
def test_valid_messages_cut_anywhere_parse_as_whole(texts: list[str], cuts: list[int]) -> None:
    def run(pieces: list[bytes]) -> tuple[Sequence[object], bytes]:
        client = RfbClient()
        replies = b""
        for piece in pieces:
            client.receive_data(piece)
            replies += client.data_to_send()
        return client.events_received(), replies

    stream = SERVER_HELLO + caps(3, TIGERVNC_CAPS_FLAGS, 0)
    for text in texts:
        stream += provide(3, text.encode() + b"\0") + flags_only(3, CLIP_NOTIFY | CLIP_TEXT)
    whole = run([stream])
    assert run(chunks(stream, cuts)) == whole
    assert [e.text for e in whole[0] if isinstance(e, CutText)] == [
        t.replace("\r\n", "\n").split("\0")[0] for t in texts
    ]


# ------------------------------------------------- TigerVNC's vncviewer, live

# Sets (and keeps owning) or reads the X CLIPBOARD selection: xclip's job.
XCLIP = """
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(["xclip", "-platform", "xcb"])
if sys.argv[1] == "get":
    sys.stdout.buffer.write(app.clipboard().text().encode("utf-8"))
else:
    app.clipboard().setText(sys.argv[2])
    print("owned", flush=True)
    app.exec()
"""


class TcpRfbServer(threading.Thread):
    """RfbServer behind one TCP connection; ``act`` runs on its thread."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.events: list[object] = []
        self.sent = b""
        self.error: BaseException | None = None
        self._actions: queue.Queue[Callable[[RfbServer], None]] = queue.Queue()
        self._done = threading.Event()

    def act(self, fn: Callable[[RfbServer], None]) -> None:
        self._actions.put(fn)

    def stop(self) -> None:
        self._done.set()
        self.join(10)
        self.listener.close()

    def run(self) -> None:
        try:
            self.listener.settimeout(60)
            conn, _ = self.listener.accept()
            with conn:
                rfb = RfbServer(320, 200, "interop")
                rfb.update_framebuffer(np.full((200, 320, 4), 200, dtype=np.uint8))
                while not self._done.is_set():
                    while not self._actions.empty():
                        self._actions.get()(rfb)
                    out = rfb.data_to_send()
                    if out:
                        self.sent += out
                        conn.sendall(out)
                    ready, _, _ = select.select([conn], [], [], 0.05)
                    if ready:
                        data = conn.recv(65536)
                        if not data:
                            return
                        rfb.receive_data(data)
                        self.events.extend(rfb.events_received())
        except (OSError, RfbProtocolError) as exc:
            self.error = exc


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("vncviewer", "xdotool", "Xvfb")),
    reason="needs TigerVNC's vncviewer, xdotool and Xvfb",
)
def test_tigervnc_vncviewer_exchanges_unicode_text() -> None:
    server = TcpRfbServer()
    server.start()
    with Xvfb("800x600x24") as xvfb:
        env = {**os.environ, "DISPLAY": xvfb.display, "QT_QPA_PLATFORM": "xcb"}
        viewer = subprocess.Popen(
            [
                "vncviewer",
                "-display",
                xvfb.display,
                "-SecurityTypes",
                "None",
                "-geometry",
                "+0+0",
                f"127.0.0.1::{server.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        owner: subprocess.Popen[bytes] | None = None

        def xdotool(*args: str) -> str:
            return subprocess.run(
                ["xdotool", *args], env=env, capture_output=True, text=True, timeout=20
            ).stdout

        def viewer_clipboard() -> str:
            done = subprocess.run(
                [sys.executable, "-c", XCLIP, "get"], env=env, capture_output=True, timeout=30
            )
            return done.stdout.decode("utf-8")

        try:
            wait_until(lambda: bool(xdotool("search", "--name", "interop").split()), 60)
            # The viewer acts on clipboard news only while it has the focus.
            xdotool("windowfocus", "--sync", xdotool("search", "--name", "interop").split()[0])
            wait_until(lambda: any(isinstance(e, EncodingsChanged) for e in server.events), 30)
            # Customer -> agent: TigerVNC announces a size of 0, so the text
            # is announced (notify); the viewer requests it; provide follows.
            server.act(lambda rfb: rfb.send_cut_text(HELLO + "\nline 2"))
            wait_until(lambda: viewer_clipboard() == HELLO + "\nline 2", 60, interval=0.5)
            assert flags_only(3, CLIP_NOTIFY | CLIP_TEXT) in server.sent
            # Agent -> customer: something is copied on the viewer's desktop.
            owner = subprocess.Popen(
                [sys.executable, "-c", XCLIP, "set", "客户端 ✓ copy"],
                env=env,
                stdout=subprocess.PIPE,
            )
            assert owner.stdout is not None and owner.stdout.readline() == b"owned\n"
            wait_until(lambda: CutText("客户端 ✓ copy") in server.events, 60)
            assert server.error is None
        finally:
            for proc in (owner, viewer):
                if proc is not None:
                    stop_process(proc, 10)
            server.stop()
