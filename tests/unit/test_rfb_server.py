"""RfbServer: handshake, flow control, negotiation, input events, resizing,
talking to the project's own RfbClient and to hand-written bytes."""

from __future__ import annotations

import struct
from collections.abc import Generator

import numpy as np
import pytest

from client.core.rfb import (
    BGRX,
    ClientInitialised,
    CursorChanged,
    CutText,
    CutTextDropped,
    DesktopSizeRefused,
    DesktopSizeRequested,
    EncodingsChanged,
    FramebufferUpdated,
    KeyEvent,
    PixelFormatChanged,
    PointerEvent,
    Rect,
    Resized,
    RfbAuthError,
    RfbClient,
    RfbProtocolError,
    RfbServer,
)
from client.core.rfb.messages import (
    ENC_COPYRECT,
    ENC_DESKTOP_SIZE,
    ENC_EXTENDED_DESKTOP_SIZE,
    ENC_RAW,
    ENC_TIGHT,
    ENC_ZRLE,
    RGB565,
    Bell,
    StreamReader,
    pack_key_event,
    pack_pointer_event,
    pack_set_encodings,
    pack_update_request,
)


def screen(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.full((h, w, 4), 255, dtype=np.uint8)
    for y in range(8, h - 8, 16):
        text = rng.random((8, w)) < 0.25
        frame[y : y + 8][text] = [20, 20, 20, 255]
    return frame


def pump(server: RfbServer, client: RfbClient, rounds: int = 20) -> int:
    """Shuttle bytes both ways until quiet; returns bytes sent by the server."""
    total = 0
    for _ in range(rounds):
        a = server.data_to_send()
        if a:
            total += len(a)
            client.receive_data(a)
        b = client.data_to_send()
        if b:
            server.receive_data(b)
        if not a and not b:
            break
    return total


def connect(
    frame: np.ndarray | None = None, **client_kwargs: object
) -> tuple[RfbServer, RfbClient]:
    frame = screen() if frame is None else frame
    server = RfbServer(frame.shape[1], frame.shape[0], "desk")
    server.update_framebuffer(frame)
    client = RfbClient(**client_kwargs)  # type: ignore[arg-type]
    pump(server, client)
    return server, client


def handshake_bytes(server: RfbServer, version: bytes = b"RFB 003.008\n") -> bytes:
    out = server.data_to_send()
    assert out == b"RFB 003.008\n"
    server.receive_data(version)
    return server.data_to_send()


# ------------------------------------------------------------------ handshake


def test_handshake_3_8_byte_for_byte() -> None:
    server = RfbServer(640, 480, "Büro")
    assert handshake_bytes(server) == b"\x01\x01"
    server.receive_data(b"\x01")
    assert server.data_to_send() == b"\x00\x00\x00\x00"  # SecurityResult OK
    assert not server.initialised
    server.receive_data(b"\x01")  # ClientInit, shared
    init = server.data_to_send()
    name = "Büro".encode()
    assert init == struct.pack(">HH", 640, 480) + BGRX.pack() + struct.pack(">I", len(name)) + name
    assert server.events_received() == [ClientInitialised(shared=True)]
    assert server.initialised


def test_handshake_3_7_and_3_3() -> None:
    server = RfbServer(8, 8)
    assert handshake_bytes(server, b"RFB 003.007\n") == b"\x01\x01"
    server.receive_data(b"\x01")
    assert server.data_to_send() == b""  # no SecurityResult for None in 3.7
    server.receive_data(b"\x00")
    assert server.data_to_send()[:4] == struct.pack(">HH", 8, 8)

    server = RfbServer(8, 8)
    assert handshake_bytes(server, b"RFB 003.003\n") == struct.pack(">I", 1)
    server.receive_data(b"\x01")
    assert server.data_to_send()[:4] == struct.pack(">HH", 8, 8)


def test_bad_version_and_security_choice() -> None:
    server = RfbServer(8, 8)
    server.data_to_send()
    with pytest.raises(RfbProtocolError):
        server.receive_data(b"GET / HTTP/1.1\r\n")
    with pytest.raises(RfbProtocolError):
        server.receive_data(b"more")  # closed stays closed

    server = RfbServer(8, 8)
    handshake_bytes(server)
    with pytest.raises(RfbAuthError, match="not offered"):
        server.receive_data(b"\x02")
    reply = server.data_to_send()
    assert reply[:4] == b"\x00\x00\x00\x01" and b"not offered" in reply


class TokenServerSecurity:
    """A toy pluggable security type: the server sends a 4-byte challenge,
    the client answers with it reversed plus a shared token."""

    security_type = 129

    def __init__(self, token: bytes) -> None:
        self.token = token

    def authenticate(self, reader: StreamReader, send):  # type: ignore[no-untyped-def]
        send(b"\x01\x02\x03\x04")
        answer = yield from reader.read_exact(4 + len(self.token))
        return None if answer == b"\x04\x03\x02\x01" + self.token else "wrong token"


class TokenClientSecurity:
    security_type = 129

    def __init__(self, token: bytes) -> None:
        self.token = token

    def authenticate(self, reader: StreamReader, send) -> Generator[None, None, None]:  # type: ignore[no-untyped-def]
        challenge = yield from reader.read_exact(4)
        send(challenge[::-1] + self.token)


@pytest.mark.parametrize(("token", "ok"), [(b"secret", True), (b"guess!", False)])
def test_pluggable_security(token: bytes, ok: bool) -> None:
    server = RfbServer(16, 16, security=[TokenServerSecurity(b"secret")])
    server.update_framebuffer(screen(16, 16))
    client = RfbClient(security=[TokenClientSecurity(token)])
    if ok:
        pump(server, client)
        assert client.connected
        assert np.array_equal(client.framebuffer.pixels, screen(16, 16))  # type: ignore[union-attr]
    else:
        with pytest.raises(RfbAuthError, match="wrong token"):
            try:
                pump(server, client)
            except RfbAuthError as exc:
                assert "wrong token" in str(exc)
                # The client learns the reason from the SecurityResult too.
                with pytest.raises(RfbAuthError, match="wrong token"):
                    client.receive_data(server.data_to_send())
                raise


# ---------------------------------------------------------------- flow control


def test_full_picture_then_nothing_while_idle() -> None:
    frame = screen()
    server, client = connect(frame)
    assert np.array_equal(client.framebuffer.pixels, frame)  # type: ignore[union-attr]
    # The client has an incremental request outstanding; nothing changed.
    assert not server.pending_update()
    assert server.data_to_send() == b""
    server.update_framebuffer(frame.copy())  # same picture, new array
    assert not server.pending_update()
    assert server.data_to_send() == b""


def test_incremental_update_sends_only_the_changed_pixels() -> None:
    frame = screen()
    server, client = connect(frame, encodings=[ENC_RAW])
    client.events_received()
    typed = frame.copy()
    typed[100:110, 70:78] = [0, 0, 200, 255]  # one character, inside tile (1, 1)
    server.update_framebuffer(typed)
    assert server.pending_update()
    sent = pump(server, client)
    events = client.events_received()
    assert events == [FramebufferUpdated((Rect(70, 100, 8, 10),))]
    assert sent == 4 + 12 + 8 * 10 * 4
    assert np.array_equal(client.framebuffer.pixels, typed)  # type: ignore[union-attr]


def test_no_update_without_request_and_latest_frame_wins() -> None:
    frame = screen()
    server, client = connect(frame, encodings=[ENC_RAW], auto_update=False)
    client.events_received()
    frames = []
    for i in range(5):
        f = frame.copy()
        f[10:20, 10 + i * 40 : 20 + i * 40] = [i * 40, 0, 0, 255]
        frames.append(f)
        server.update_framebuffer(f)
        assert server.data_to_send() == b""  # no outstanding request
    client.request_update(incremental=True)
    pump(server, client)
    updates = [e for e in client.events_received() if isinstance(e, FramebufferUpdated)]
    assert len(updates) == 1
    assert np.array_equal(client.framebuffer.pixels, frames[-1])  # type: ignore[union-attr]


def test_incremental_request_for_part_of_the_screen() -> None:
    frame = screen()
    server, client = connect(frame, encodings=[ENC_RAW], auto_update=False)
    client.events_received()
    changed = frame.copy()
    changed[5:10, 5:10] = [0, 0, 0, 255]
    changed[200:210, 300:310] = [0, 0, 0, 255]
    server.update_framebuffer(changed)
    client.request_update(True, Rect(0, 0, 64, 64))
    pump(server, client)
    assert [e for e in client.events_received() if isinstance(e, FramebufferUpdated)] == [
        FramebufferUpdated((Rect(5, 5, 5, 5),))
    ]
    client.request_update(True)
    pump(server, client)
    assert np.array_equal(client.framebuffer.pixels, changed)  # type: ignore[union-attr]


def test_non_incremental_request_resends_everything() -> None:
    frame = screen(128, 128)
    server, client = connect(frame, encodings=[ENC_RAW], auto_update=False)
    client.framebuffer.pixels[:] = 0  # type: ignore[union-attr]
    client.request_update(incremental=False)
    pump(server, client)
    assert np.array_equal(client.framebuffer.pixels, frame)  # type: ignore[union-attr]


@pytest.mark.parametrize("encoding", [ENC_RAW, ENC_TIGHT, ENC_ZRLE])
def test_scrolling_uses_copyrect(encoding: int) -> None:
    h, w = 480, 640
    rng = np.random.default_rng(3)
    doc = np.full((h * 2, w, 4), 255, dtype=np.uint8)
    for y in range(0, h * 2 - 16, 16):
        doc[y + 4 : y + 12][rng.random((8, w)) < 0.3] = [0, 0, 0, 255]
    server, client = connect(doc[:h].copy(), encodings=[encoding, ENC_COPYRECT])
    sizes = []
    for step in range(1, 6):
        frame = doc[step * 24 : step * 24 + h].copy()
        server.update_framebuffer(frame)
        sizes.append(pump(server, client))
        assert np.array_equal(client.framebuffer.pixels, frame)  # type: ignore[union-attr]
    # Without CopyRect the same scroll costs a full repaint each time.
    plain_server, plain_client = connect(doc[:h].copy(), encodings=[encoding])
    plain_server.update_framebuffer(doc[24 : 24 + h].copy())
    plain = pump(plain_server, plain_client)
    assert max(sizes) * 3 < plain


def test_hint_move_becomes_copyrect() -> None:
    frame = np.full((256, 256, 4), 255, dtype=np.uint8)
    frame[0:128, 0:128] = screen(128, 128)  # a window, dragged diagonally
    server, client = connect(frame, encodings=[ENC_RAW, ENC_COPYRECT])
    moved = np.full_like(frame, 255)
    moved[64:192, 64:192] = frame[0:128, 0:128]
    server.hint_move(0, 0, Rect(64, 64, 128, 128))
    server.update_framebuffer(moved)
    sent = pump(server, client)
    assert np.array_equal(client.framebuffer.pixels, moved)  # type: ignore[union-attr]
    # 7 tiles changed; the 4 under the window's new place are copied, so
    # only what it uncovered (3 tiles at most) goes as raw pixels.
    assert sent <= 4 + (12 + 4) + 2 * 12 + 3 * 64 * 64 * 4
    assert sent >= 4 + (12 + 4) + 64 * 64 * 4


# ----------------------------------------------------------------- negotiation


def test_set_pixel_format_16_bit() -> None:
    frame = screen(64, 64)
    server, client = connect(frame, encodings=[ENC_RAW], pixel_format=RGB565)
    events = server.events_received()
    assert PixelFormatChanged(RGB565) in events
    assert np.abs(client.framebuffer.pixels.astype(int) - frame.astype(int)).max() <= 8  # type: ignore[union-attr]
    typed = frame.copy()
    typed[0:4, 0:4] = [0, 255, 0, 255]
    server.update_framebuffer(typed)
    assert pump(server, client) == 4 + 12 + 4 * 4 * 2


def test_set_encodings_negotiation() -> None:
    server, _ = connect(encodings=[ENC_ZRLE, ENC_TIGHT, ENC_RAW], quality=3, compression=7)
    encs = [e for e in server.events_received() if isinstance(e, EncodingsChanged)]
    assert encs and encs[0].encodings[:3] == (ENC_ZRLE, ENC_TIGHT, ENC_RAW)
    assert server.pixel_encoding == ENC_ZRLE
    assert server._options.quality == 3 and server._options.compression == 7
    server.receive_data(pack_set_encodings([-307, 12345, ENC_TIGHT]))  # unknown ones ignored
    assert server.pixel_encoding == ENC_TIGHT and server._options.quality is None
    server.receive_data(pack_set_encodings([12345]))
    assert server.pixel_encoding == ENC_RAW


# ---------------------------------------------------------------------- input


def test_input_events_are_distinct_and_clamped() -> None:
    server, client = connect()
    server.events_received()
    client.send_key(0x61, True)
    client.send_key(0x61, False)
    client.send_pointer(5000, 7, 0b101)
    client.send_cut_text("héllo\r\nwörld")
    pump(server, client)
    assert server.events_received() == [
        KeyEvent(0x61, True),
        KeyEvent(0x61, False),
        PointerEvent(319, 7, 0b101),
        CutText("héllo\nwörld"),
    ]


def test_oversized_cut_text_and_extended_formats_we_do_not_use_are_skipped() -> None:
    server = RfbServer(32, 32, max_cut_text=100)
    client = RfbClient()
    pump(server, client)
    server.events_received()
    big = b"\x06\x00\x00\x00" + struct.pack(">I", 5000) + b"x" * 5000
    # An Extended Clipboard provide of RTF only (0x10000002): nothing to report.
    extended = b"\x06\x00\x00\x00" + struct.pack(">i", -8) + b"\x10\x00\x00\x02" + b"yyyy"
    stream = big + extended + pack_key_event(0xFF0D, True)
    for i in range(0, len(stream), 333):
        server.receive_data(stream[i : i + 333])
    assert server.events_received() == [CutTextDropped(5000), KeyEvent(0xFF0D, True)]


def test_unknown_client_message_is_a_protocol_error() -> None:
    server, _ = connect()
    with pytest.raises(RfbProtocolError, match="unknown client message"):
        server.receive_data(b"\x99")


# -------------------------------------------------------------- server extras


def test_resize_with_desktop_size() -> None:
    server, client = connect(screen(100, 120), encodings=[ENC_RAW], auto_update=True)
    client.events_received()
    bigger = screen(150, 200, seed=4)
    server.update_framebuffer(bigger)  # a new size resizes the desktop
    pump(server, client)
    events = client.events_received()
    assert Resized(200, 150) in events
    assert client.framebuffer.pixels.shape == (150, 200, 4)  # type: ignore[union-attr]
    assert np.array_equal(client.framebuffer.pixels, bigger)  # type: ignore[union-attr]


def test_resize_without_support_crops() -> None:
    frame = screen(100, 120)
    server = RfbServer(120, 100)
    server.update_framebuffer(frame)
    client = RfbClient(encodings=[ENC_RAW])
    client._encodings = [ENC_RAW]  # a viewer that knows no pseudo-encodings
    pump(server, client)
    bigger = screen(150, 200, seed=4)
    server.update_framebuffer(bigger)
    pump(server, client)
    assert (server.width, server.height) == (120, 100)
    assert np.array_equal(client.framebuffer.pixels, bigger[:100, :120])  # type: ignore[union-attr]


def test_extended_desktop_size_and_refused_set_desktop_size() -> None:
    server, client = connect()
    assert ENC_EXTENDED_DESKTOP_SIZE in server.encodings and ENC_DESKTOP_SIZE in server.encodings
    client.events_received()
    client.request_desktop_size(800, 600)
    pump(server, client)
    assert DesktopSizeRequested(800, 600) in server.events_received()
    assert DesktopSizeRefused(1) in client.events_received()
    assert (server.width, server.height) == (320, 240)


def test_cursor_bell_and_cut_text_reach_the_client() -> None:
    server, client = connect()
    client.events_received()
    cursor = np.zeros((16, 8, 4), dtype=np.uint8)
    cursor[:, :4] = [255, 255, 255, 255]
    server.set_cursor(cursor, 1, 2)
    server.bell()
    server.send_cut_text("copied ✓")
    pump(server, client)
    events = client.events_received()
    shapes = [e for e in events if isinstance(e, CursorChanged)]
    assert len(shapes) == 1 and (shapes[0].hotspot_x, shapes[0].hotspot_y) == (1, 2)
    assert np.array_equal(shapes[0].image[..., 3], cursor[..., 3])
    assert Bell() in events
    assert CutText("copied ✓") in events  # UTF-8 through the Extended Clipboard


def test_server_messages_before_init_wait() -> None:
    server = RfbServer(16, 16)
    server.send_cut_text("early")
    client = RfbClient()
    pump(server, client)
    assert CutText("early") in client.events_received()


def test_fragmented_stream_equals_whole() -> None:
    frame = screen()
    # Whole.
    server, client = connect(frame, encodings=[ENC_TIGHT, ENC_COPYRECT])
    # Byte by byte, with the same client messages.
    server2 = RfbServer(320, 240, "desk")
    server2.update_framebuffer(frame)
    client2 = RfbClient(encodings=[ENC_TIGHT, ENC_COPYRECT])
    for _ in range(10):
        data = server2.data_to_send()
        for i in range(len(data)):
            client2.receive_data(data[i : i + 1])
        back = client2.data_to_send()
        for i in range(len(back)):
            server2.receive_data(back[i : i + 1])
    assert np.array_equal(client2.framebuffer.pixels, frame)  # type: ignore[union-attr]
    assert client2.events_received() == client.events_received()
    assert server2.events_received() == server.events_received()


def test_update_request_raw_bytes() -> None:
    """A hand-written viewer: the exact FramebufferUpdate for a raw request."""
    frame = screen(2, 3)
    server = RfbServer(3, 2)
    server.update_framebuffer(frame)
    server.data_to_send()
    for data in (b"RFB 003.008\n", b"\x01", b"\x01"):
        server.receive_data(data)
    server.data_to_send()
    server.receive_data(pack_update_request(False, Rect(0, 0, 3, 2)))
    out = server.data_to_send()
    assert out == b"\x00\x00\x00\x01" + struct.pack(">HHHHi", 0, 0, 3, 2, 0) + frame.tobytes()
    server.receive_data(pack_update_request(True, Rect(0, 0, 3, 2)) + pack_pointer_event(1, 1, 0))
    assert server.data_to_send() == b""
