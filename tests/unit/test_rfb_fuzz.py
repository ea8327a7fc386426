"""Hypothesis fuzzing of both parsers.

Whatever bytes arrive, cut however, ``receive_data`` raises nothing but
RfbProtocolError, returns (no hang) and keeps memory bounded; valid streams
cut at arbitrary points parse exactly as when delivered whole.
"""

from __future__ import annotations

import itertools
import os
import struct
import zlib

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.core.rfb import RfbClient, RfbProtocolError, RfbServer
from client.core.rfb.encodings import h264
from client.core.rfb.messages import (
    BGRX,
    ENC_COPYRECT,
    ENC_CURSOR,
    ENC_DESKTOP_SIZE,
    ENC_EXTENDED_DESKTOP_SIZE,
    ENC_H264,
    ENC_LAST_RECT,
    ENC_RAW,
    ENC_TIGHT,
    ENC_ZRLE,
    RGB565,
    RGBX,
    PixelFormat,
    Rect,
    pack_client_cut_text,
    pack_key_event,
    pack_pointer_event,
    pack_rect_header,
    pack_server_init,
    pack_set_desktop_size,
    pack_set_encodings,
    pack_set_pixel_format,
    pack_update_request,
)

# RFB_FUZZ_EXAMPLES=5000 for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("RFB_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
W, H = 48, 40
CLIENT_HELLO = b"RFB 003.008\n\x01\x01"
SERVER_HELLO = b"RFB 003.008\n\x01\x01\x00\x00\x00\x00" + pack_server_init(W, H, BGRX, "fuzz")
ALL_ENCODINGS = [ENC_TIGHT, ENC_ZRLE, ENC_COPYRECT, ENC_RAW, ENC_H264]


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def feed_server(server: RfbServer, data: bytes, cuts: list[int]) -> None:
    try:
        for piece in chunks(data, cuts):
            server.receive_data(piece)
            server.data_to_send()
    except RfbProtocolError:
        return


def feed_client(client: RfbClient, data: bytes, cuts: list[int]) -> None:
    try:
        for piece in chunks(data, cuts):
            client.receive_data(piece)
            client.data_to_send()
    except RfbProtocolError:
        return


def frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.full((H, W, 4), 255, dtype=np.uint8)
    out[rng.integers(0, H) :, rng.integers(0, W) :] = rng.integers(0, 256, 4, dtype=np.uint8)
    out[5:15, 5:25][rng.random((10, 20)) < 0.5] = [0, 0, 0, 255]
    return out


# ------------------------------------------------------------------ server


@FUZZ
@given(st.binary(max_size=400), st.lists(st.integers(0, 10_000), max_size=8), st.booleans())
def test_server_survives_arbitrary_bytes(
    data: bytes, cuts: list[int], after_handshake: bool
) -> None:
    server = RfbServer(W, H)
    server.update_framebuffer(frame(1))
    server.data_to_send()
    feed_server(server, (CLIENT_HELLO if after_handshake else b"") + data, cuts)


pixel_formats = st.sampled_from(
    [BGRX, RGBX, RGB565, PixelFormat(8, 8, False, True, 7, 7, 3, 0, 3, 6)]
) | st.builds(
    PixelFormat,
    st.sampled_from([8, 16, 24, 32]),
    st.integers(0, 255),
    st.booleans(),
    st.booleans(),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
)
encoding_values = st.sampled_from(
    [
        *ALL_ENCODINGS,
        ENC_CURSOR,
        ENC_DESKTOP_SIZE,
        ENC_EXTENDED_DESKTOP_SIZE,
        ENC_LAST_RECT,
        -23,
        -32,
        -247,
        -256,
        -412,
        -512,
        -768,
        -763,
        99,
    ]
) | st.integers(-(2**31), 2**31 - 1)
rects = st.builds(
    Rect, st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 65535)
)
client_messages = st.one_of(
    st.builds(pack_set_pixel_format, pixel_formats),
    st.builds(pack_set_encodings, st.lists(encoding_values, max_size=12)),
    st.builds(pack_update_request, st.booleans(), rects),
    st.builds(pack_key_event, st.integers(0, 2**32 - 1), st.booleans()),
    st.builds(
        pack_pointer_event, st.integers(0, 65535), st.integers(0, 65535), st.integers(0, 255)
    ),
    st.builds(pack_client_cut_text, st.text(max_size=40)),
    st.builds(pack_set_desktop_size, st.integers(0, 65535), st.integers(0, 65535)),
    st.binary(max_size=12),
)


@FUZZ
@given(
    st.lists(client_messages, max_size=12),
    st.lists(st.integers(0, 10_000), max_size=6),
    st.lists(st.integers(0, 2**31), max_size=4),
)
def test_server_survives_random_messages_and_keeps_encoding(
    messages: list[bytes], cuts: list[int], seeds: list[int]
) -> None:
    server = RfbServer(W, H)
    server.update_framebuffer(frame(0))
    server.data_to_send()
    stream = CLIENT_HELLO + b"".join(messages)
    try:
        for i, piece in enumerate(chunks(stream, cuts)):
            server.receive_data(piece)
            if seeds:
                server.update_framebuffer(frame(seeds[i % len(seeds)]))
            server.data_to_send()  # encoding with whatever was negotiated must work
    except RfbProtocolError:
        pass


# ------------------------------------------------------------------ client


@FUZZ
@given(st.binary(max_size=600), st.lists(st.integers(0, 10_000), max_size=8), st.booleans())
def test_client_survives_arbitrary_bytes(
    data: bytes, cuts: list[int], after_handshake: bool
) -> None:
    client = RfbClient(encodings=ALL_ENCODINGS, max_pixels=W * H * 4)
    feed_client(client, (SERVER_HELLO if after_handshake else b"") + data, cuts)


def compressed(payload: bytes) -> bytes:
    c = zlib.compressobj()
    return c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH)


rect_payloads = st.one_of(
    st.binary(max_size=64),
    st.builds(
        lambda b: struct.pack(">I", len(compressed(b))) + compressed(b), st.binary(max_size=200)
    ),  # ZRLE-like
    st.builds(
        lambda ctl, b: bytes([ctl]) + bytes([len(compressed(b))]) + compressed(b),
        st.integers(0, 255),
        st.binary(max_size=60),
    ),  # Tight-like
    st.builds(
        lambda ctl, f, n, b: bytes([ctl, f, n]) + b,
        st.integers(0, 255),
        st.integers(0, 3),
        st.integers(0, 255),
        st.binary(max_size=80),
    ),
)
server_rects = st.builds(
    lambda r, enc, payload: pack_rect_header(r, enc) + payload,
    st.builds(Rect, st.integers(0, 60), st.integers(0, 60), st.integers(0, 70), st.integers(0, 70)),
    st.sampled_from(
        [*ALL_ENCODINGS, ENC_CURSOR, ENC_DESKTOP_SIZE, ENC_EXTENDED_DESKTOP_SIZE, ENC_LAST_RECT, 5]
    ),
    rect_payloads,
)
server_messages = st.one_of(
    st.builds(
        lambda rs, last: struct.pack(">BxH", 0, 0xFFFF if last else len(rs)) + b"".join(rs),
        st.lists(server_rects, max_size=4),
        st.booleans(),
    ),
    st.just(b"\x02"),
    st.builds(
        lambda t: b"\x03\x00\x00\x00" + struct.pack(">I", len(t)) + t, st.binary(max_size=30)
    ),
    st.builds(
        lambda n, b: b"\x01\x00\x00\x00" + struct.pack(">H", n) + b,
        st.integers(0, 65535),
        st.binary(max_size=30),
    ),
)


@FUZZ
@given(st.lists(server_messages, max_size=6), st.lists(st.integers(0, 10_000), max_size=6))
def test_client_survives_random_server_messages(messages: list[bytes], cuts: list[int]) -> None:
    client = RfbClient(encodings=[e for e in ALL_ENCODINGS if e != ENC_H264], max_pixels=W * H * 4)
    feed_client(client, SERVER_HELLO + b"".join(messages), cuts)


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.integers(0, 3))
def test_client_survives_random_h264(data: bytes, flags: int) -> None:
    if not h264.available():
        return
    client = RfbClient(encodings=[ENC_H264, ENC_RAW], h264=True)
    update = b"\x00\x00\x00\x01" + pack_rect_header(Rect(0, 0, 16, 16), ENC_H264)
    update += struct.pack(">II", len(data), flags) + data
    feed_client(client, SERVER_HELLO + update, [])


# ------------------------------------------------------- valid, fragmented


def record_session(
    encodings: list[int], quality: int | None, seeds: list[int]
) -> tuple[bytes, bytes, np.ndarray]:
    """Run a server and client together; the server's and client's byte
    streams and the final picture."""
    server = RfbServer(W, H, "rec")
    server.update_framebuffer(frame(seeds[0]))
    client = RfbClient(encodings=encodings, quality=quality)
    to_client, to_server = [], []
    for seed in [*seeds, seeds[-1]]:
        for _ in range(4):
            a = server.data_to_send()
            to_client.append(a)
            client.receive_data(a)
            b = client.data_to_send()
            to_server.append(b)
            server.receive_data(b)
        server.update_framebuffer(frame(seed))
    assert client.framebuffer is not None
    return b"".join(to_client), b"".join(to_server), client.framebuffer.pixels.copy()


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([[ENC_RAW], [ENC_TIGHT, ENC_COPYRECT], [ENC_ZRLE, ENC_COPYRECT], [ENC_TIGHT]]),
    st.sampled_from([None, 2, 8]),
    st.lists(st.integers(0, 2**31), min_size=1, max_size=4),
    st.lists(st.integers(0, 100_000), max_size=20),
)
def test_fragmented_valid_streams_parse_identically(
    encodings: list[int], quality: int | None, seeds: list[int], cuts: list[int]
) -> None:
    to_client, to_server, picture = record_session(encodings, quality, seeds)
    client = RfbClient(encodings=encodings, quality=quality)
    for piece in chunks(to_client, cuts):
        client.receive_data(piece)
    assert client.framebuffer is not None
    assert np.array_equal(client.framebuffer.pixels, picture)
    server = RfbServer(W, H, "rec")
    for piece in chunks(to_server, cuts):
        server.receive_data(piece)
    assert server.initialised
