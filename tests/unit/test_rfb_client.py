"""RfbClient against hand-written server bytes: handshake, every server
message, LastRect, refusals and limits."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from client.core.rfb import (
    BGRX,
    Bell,
    Connected,
    CursorChanged,
    CutText,
    CutTextDropped,
    FramebufferUpdated,
    Rect,
    Resized,
    RfbAuthError,
    RfbClient,
    RfbProtocolError,
)
from client.core.rfb.encodings.pseudo import encode_cursor
from client.core.rfb.messages import (
    ENC_COMPRESS_0,
    ENC_COPYRECT,
    ENC_CURSOR,
    ENC_DESKTOP_SIZE,
    ENC_EXTENDED_CLIPBOARD,
    ENC_EXTENDED_DESKTOP_SIZE,
    ENC_LAST_RECT,
    ENC_QUALITY_0,
    ENC_RAW,
    ENC_TIGHT,
    ENC_ZRLE,
    pack_rect_header,
    pack_server_init,
    pack_set_encodings,
    pack_set_pixel_format,
    pack_update_request,
)


def server_hello(width: int = 4, height: int = 3, name: str = "desk") -> bytes:
    return (
        b"RFB 003.008\n"
        + b"\x01\x01"
        + b"\x00\x00\x00\x00"
        + pack_server_init(width, height, BGRX, name)
    )


def connected(width: int = 4, height: int = 3, **kwargs: object) -> RfbClient:
    client = RfbClient(**kwargs)  # type: ignore[arg-type]
    client.receive_data(server_hello(width, height))
    return client


def pixels(h: int, w: int, seed: int = 0) -> np.ndarray:
    out = np.random.default_rng(seed).integers(0, 256, (h, w, 4), dtype=np.uint8)
    out[..., 3] = 255
    return out


def test_handshake_and_first_messages() -> None:
    client = RfbClient(encodings=[ENC_ZRLE, ENC_RAW], quality=7, compression=1)
    assert client.data_to_send() == b""
    client.receive_data(b"RFB 003.008\n")
    assert client.data_to_send() == b"RFB 003.008\n"
    client.receive_data(b"\x02\x02\x01")  # offers VNC auth and None: None is chosen
    assert client.data_to_send() == b"\x01"
    client.receive_data(b"\x00\x00\x00\x00")
    assert client.data_to_send() == b"\x01"  # shared
    client.receive_data(pack_server_init(640, 480, BGRX, "Büro"))
    assert client.events_received() == [Connected(640, 480, "Büro", BGRX)]
    encodings = [
        ENC_ZRLE,
        ENC_RAW,
        ENC_DESKTOP_SIZE,
        ENC_EXTENDED_DESKTOP_SIZE,
        ENC_CURSOR,
        ENC_LAST_RECT,
        ENC_EXTENDED_CLIPBOARD,
        ENC_QUALITY_0 + 7,
        ENC_COMPRESS_0 + 1,
    ]
    assert client.data_to_send() == (
        pack_set_pixel_format(BGRX)
        + pack_set_encodings(encodings)
        + pack_update_request(False, Rect(0, 0, 640, 480))
    )
    assert client.framebuffer is not None and client.framebuffer.pixels.shape == (480, 640, 4)


def test_refusals_carry_the_reason() -> None:
    client = RfbClient()
    with pytest.raises(RfbAuthError, match="too many"):
        client.receive_data(b"RFB 003.008\n\x00" + struct.pack(">I", 8) + b"too many")
    client = RfbClient()
    with pytest.raises(RfbAuthError, match="denied"):
        client.receive_data(
            b"RFB 003.008\n\x01\x01" + b"\x00\x00\x00\x01" + struct.pack(">I", 6) + b"denied"
        )
    client = RfbClient()
    with pytest.raises(RfbAuthError, match="no common security"):
        client.receive_data(b"RFB 003.008\n\x01\x02")
    with pytest.raises(RfbProtocolError, match=r"3\.8 is needed"):
        RfbClient().receive_data(b"RFB 003.003\n")


def test_limits_on_the_server_init() -> None:
    with pytest.raises(RfbProtocolError, match="too large"):
        RfbClient().receive_data(server_hello(60000, 60000))
    huge_name = (
        b"RFB 003.008\n\x01\x01\x00\x00\x00\x00"
        + struct.pack(">HH", 4, 4)
        + BGRX.pack()
        + b"\xff\xff\xff\xff"
    )
    with pytest.raises(RfbProtocolError, match="name"):
        RfbClient().receive_data(huge_name)


def test_raw_update_bell_colour_map_and_cut_text() -> None:
    client = connected()
    client.events_received()
    client.data_to_send()
    image = pixels(3, 4)
    stream = (
        b"\x00\x00\x00\x01"
        + pack_rect_header(Rect(0, 0, 4, 3), ENC_RAW)
        + image.tobytes()
        + b"\x02"  # bell
        + b"\x01\x00\x00\x00\x00\x02"
        + bytes(12)  # colour map entries: ignored
        + b"\x03\x00\x00\x00"
        + struct.pack(">I", 5)
        + "h\xe9llo".encode("latin-1")
    )
    for i in range(len(stream)):  # byte by byte
        client.receive_data(stream[i : i + 1])
    assert client.events_received() == [
        FramebufferUpdated((Rect(0, 0, 4, 3),)),
        Bell(),
        CutText("héllo"),
    ]
    assert np.array_equal(client.framebuffer.pixels, image)  # type: ignore[union-attr]
    # The next request is incremental.
    assert client.data_to_send() == pack_update_request(True, Rect(0, 0, 4, 3))


def test_last_rect_ends_an_update_of_unknown_length() -> None:
    client = connected()
    client.events_received()
    image = pixels(1, 2)
    client.receive_data(
        b"\x00\x00\xff\xff"
        + pack_rect_header(Rect(1, 1, 2, 1), ENC_RAW)
        + image.tobytes()
        + pack_rect_header(Rect(0, 0, 0, 0), ENC_LAST_RECT)
        + b"\x02"
    )
    assert client.events_received() == [FramebufferUpdated((Rect(1, 1, 2, 1),)), Bell()]


def test_desktop_size_and_cursor_pseudo_rects() -> None:
    client = connected()
    client.events_received()
    client.data_to_send()
    cursor = pixels(5, 6)
    cursor[..., 3] = 0
    cursor[2, 3, 3] = 255
    rect, enc, payload = encode_cursor(cursor, 3, 2, BGRX)
    client.receive_data(
        b"\x00\x00\x00\x02"
        + pack_rect_header(Rect(0, 0, 10, 8), ENC_DESKTOP_SIZE)
        + pack_rect_header(rect, enc)
        + payload
    )
    events = client.events_received()
    assert events[0] == Resized(10, 8)
    assert isinstance(events[1], CursorChanged) and events[1].image[2, 3, 3] == 255
    assert events[1].image[..., 3].sum() == 255
    assert client.framebuffer.pixels.shape == (8, 10, 4)  # type: ignore[union-attr]
    # After a resize the client asks for the whole picture again.
    assert client.data_to_send() == pack_update_request(False, Rect(0, 0, 10, 8))


@pytest.mark.parametrize(
    "update",
    [
        b"\x00\x00\x00\x01" + pack_rect_header(Rect(2, 2, 4, 4), ENC_RAW),  # outside
        b"\x00\x00\x00\x01" + pack_rect_header(Rect(0, 0, 1, 1), 5),  # hextile: not offered
        b"\x00\x00\x00\x01"
        + pack_rect_header(Rect(0, 0, 1, 1), ENC_COPYRECT)
        + b"\x00\x09\x00\x00",
        b"\x00\x00\x00\x01" + pack_rect_header(Rect(0, 0, 2000, 2000), ENC_CURSOR),
        b"\x00\x00\x00\x01" + pack_rect_header(Rect(0, 0, 0, 0), ENC_DESKTOP_SIZE),
        b"\x07",  # unknown message
    ],
)
def test_bad_updates_are_protocol_errors(update: bytes) -> None:
    client = connected()
    with pytest.raises(RfbProtocolError):
        client.receive_data(update)
    with pytest.raises(RfbProtocolError):
        client.receive_data(b"\x02")


def test_oversized_server_cut_text_is_skipped() -> None:
    client = connected(max_cut_text=10)
    client.events_received()
    client.receive_data(b"\x03\x00\x00\x00" + struct.pack(">I", 1000) + b"z" * 1000 + b"\x02")
    assert client.events_received() == [CutTextDropped(1000), Bell()]


def test_input_needs_the_handshake_first() -> None:
    client = RfbClient()
    with pytest.raises(RuntimeError):
        client.send_key(0x61, True)
    client = connected()
    client.data_to_send()
    client.send_key(0x61, True)
    client.send_pointer(1, 2, 1)
    client.send_cut_text("x")
    assert client.data_to_send() == (
        b"\x04\x01\x00\x00\x00\x00\x00\x61"
        + b"\x05\x01\x00\x01\x00\x02"
        + b"\x06\x00\x00\x00\x00\x00\x00\x01x"
    )


def test_tight_offered_with_quality_by_default() -> None:
    client = connected()
    sent = client.data_to_send()
    assert struct.pack(">i", ENC_TIGHT) in sent and struct.pack(">i", ENC_QUALITY_0 + 6) in sent
