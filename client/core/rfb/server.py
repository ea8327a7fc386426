"""The RFB server side (the customer's portal): a sans-I/O state machine.

Feed it what the viewer sent with :meth:`RfbServer.receive_data`, read what
it understood with :meth:`RfbServer.events_received`, give it screen frames
with :meth:`RfbServer.update_framebuffer` and send whatever
:meth:`RfbServer.data_to_send` returns. It never blocks, sleeps or touches a
socket.

Flow control (RFC 6143 §7.5.3): an update goes out only in answer to an
outstanding FramebufferUpdateRequest. It carries what differs between the
latest frame and what this viewer was last *sent* (tracked per 64 x 64
tile), so frames captured in between are coalesced: a slow viewer gets
fewer, always current, frames and nothing is sent while the screen is
still.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Protocol

import numpy as np

from .clipboard import ExtendedClipboard, pack_extended, read_extended
from .encodings import EncodedRect, EncodeOptions, h264, tight, zrle
from .encodings.copyrect import encode_copyrect
from .encodings.pseudo import (
    encode_cursor,
    encode_extended_desktop_size,
    last_rect,
)
from .encodings.raw import encode_raw
from .framebuffer import (
    TILE,
    CopyMove,
    Frame,
    Mask,
    apply_move,
    as_u32,
    changed_tiles,
    detect_scroll,
    mask_to_rects,
    move_matches,
    tile_grid,
    tiles_in,
)
from .messages import (
    BGRX,
    EDS_REASON_CLIENT,
    EDS_REASON_SERVER,
    EDS_STATUS_OK,
    EDS_STATUS_PROHIBITED,
    ENC_COMPRESS_0,
    ENC_COMPRESS_9,
    ENC_COPYRECT,
    ENC_CURSOR,
    ENC_DESKTOP_SIZE,
    ENC_EXTENDED_CLIPBOARD,
    ENC_EXTENDED_DESKTOP_SIZE,
    ENC_FINE_QUALITY_0,
    ENC_FINE_QUALITY_100,
    ENC_H264,
    ENC_LAST_RECT,
    ENC_QUALITY_0,
    ENC_QUALITY_9,
    ENC_RAW,
    ENC_SUBSAMP_1X,
    ENC_SUBSAMP_16X,
    ENC_TIGHT,
    ENC_ZRLE,
    MAX_CUT_TEXT,
    MSG_CLIENT_CUT_TEXT,
    MSG_FRAMEBUFFER_UPDATE_REQUEST,
    MSG_KEY_EVENT,
    MSG_POINTER_EVENT,
    MSG_SERVER_CUT_TEXT,
    MSG_SET_DESKTOP_SIZE,
    MSG_SET_ENCODINGS,
    MSG_SET_PIXEL_FORMAT,
    SECURITY_NONE,
    SECURITY_VNC_AUTH,
    ClientInitialised,
    CutText,
    CutTextDropped,
    DesktopSizeRequested,
    EncodingsChanged,
    KeyEvent,
    Parser,
    PixelFormat,
    PixelFormatChanged,
    PointerEvent,
    Rect,
    RfbAuthError,
    RfbProtocolError,
    ServerEvent,
    StreamReader,
    UpdateRequested,
    pack_bell,
    pack_rect_header,
    pack_server_cut_text,
    pack_server_init,
    pack_string,
    pack_update_header,
    pack_version,
    parse_version,
)

Send = Callable[[bytes], None]


class ServerSecurity(Protocol):
    """One security type the server offers (RFC 6143 §7.2).

    ``authenticate`` runs after the client picked this type: it may read
    from ``reader`` (``yield from reader.read_exact(n)``) and send with
    ``send``, and returns None on success or the reason for refusing.
    """

    security_type: int

    def authenticate(
        self, reader: StreamReader, send: Send
    ) -> Generator[None, None, str | None]: ...


class NoSecurity:
    """Security type 1 (None): the relay already authenticated both ends and
    the customer consented, so RFB itself asks for nothing."""

    security_type = SECURITY_NONE

    def authenticate(self, reader: StreamReader, send: Send) -> Generator[None, None, str | None]:
        return None
        yield  # a generator like every other handler


#: Pixel encodings the server can produce, best first when the client
#: expresses no preference between them.
_PIXEL_ENCODINGS = (ENC_TIGHT, ENC_ZRLE, ENC_RAW)


class RfbServer:
    """One viewer's connection, server side.

    ``width``/``height`` are the screen size announced in ServerInit;
    frames passed to :meth:`update_framebuffer` are ``(height, width, 4)``
    BGRA uint8 arrays (a frame of another size resizes the desktop). The
    arrays are kept by reference: pass a fresh array per capture.
    """

    def __init__(
        self,
        width: int,
        height: int,
        name: str = "HelpBridge",
        *,
        security: Sequence[ServerSecurity] | None = None,
        allow_h264: bool = True,
        detect_scrolling: bool = True,
        max_cut_text: int = MAX_CUT_TEXT,
    ) -> None:
        if not (0 < width <= 0xFFFF and 0 < height <= 0xFFFF):
            raise ValueError(f"bad framebuffer size {width}x{height}")
        self.name = name
        self._security: list[ServerSecurity] = list(security or [NoSecurity()])
        if not self._security:
            raise ValueError("at least one security type is needed")
        self._allow_h264 = allow_h264
        self._detect_scrolling = detect_scrolling
        self._max_cut_text = max_cut_text
        self._reader = StreamReader()
        self._out: list[bytes] = [pack_version(3, 8)]
        self._events: list[ServerEvent] = []
        self._initialised = False
        self._closed = False
        self._deferred: list[bytes] = []  # server messages waiting for ClientInit

        # Negotiated state.
        self.pixel_format: PixelFormat = BGRX
        self.encodings: tuple[int, ...] = ()
        self._options = EncodeOptions()
        self._pixel_encoding = ENC_RAW
        self._copyrect = False
        self._cursor_ok = False
        self._desktop_size_ok = False
        self._eds_ok = False
        self._last_rect_ok = False
        self._clipboard = ExtendedClipboard(max_cut_text)
        self._tight: tight.TightEncoder | None = None
        self._zrle: zrle.ZrleEncoder | None = None
        self._h264: h264.H264Encoder | None = None

        # Framebuffer state.
        self._width, self._height = width, height
        self._current: Frame = np.zeros((height, width, 4), dtype=np.uint8)
        self._sent: Frame = np.zeros_like(self._current)
        grid = tile_grid(width, height)
        self._stale: Mask = np.ones(grid, dtype=bool)  # viewer's content unknown
        self._forced: Mask = np.zeros(grid, dtype=bool)  # asked for non-incrementally
        self._dirty_cache: Mask | None = None
        self._request: Rect | None = None  # union of outstanding requests
        self._size_pending: int | None = None  # EDS reason of a size change to announce
        self._eds_replies: list[tuple[int, int]] = []  # (reason, status) answers
        self._cursor_pending = False
        self._cursor: tuple[Frame, int, int] | None = None
        self._moves_hint: list[CopyMove] = []

        self._parser = Parser(self._run(), self._reader)

    # ------------------------------------------------------------- public API

    @property
    def width(self) -> int:
        return self._width

    @property
    def height(self) -> int:
        return self._height

    @property
    def initialised(self) -> bool:
        """Whether the handshake is over (ClientInit received)."""
        return self._initialised

    @property
    def pixel_encoding(self) -> int:
        """The encoding updates use now (from the viewer's SetEncodings)."""
        return self._pixel_encoding

    def receive_data(self, data: bytes) -> None:
        """Bytes from the viewer, cut anywhere. Raises :class:`RfbProtocolError`
        (the only exception) when the viewer broke the protocol; the
        connection is then over."""
        if self._closed:
            raise RfbProtocolError("the connection is closed")
        try:
            self._parser.feed(data)
        except RfbProtocolError:
            self._closed = True
            raise

    def events_received(self) -> list[ServerEvent]:
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        """Everything to transmit now, including a FramebufferUpdate when a
        request is outstanding and something changed."""
        if self._initialised and not self._closed:
            update = self._build_update()
            if update:
                self._out.append(update)
        out = b"".join(self._out)
        self._out.clear()
        return out

    def pending_update(self) -> bool:
        """Whether :meth:`data_to_send` would produce a FramebufferUpdate now."""
        if not self._initialised or self._request is None or self._closed:
            return False
        if self._size_pending is not None or self._eds_replies or self._cursor_pending:
            return True
        return bool((self._wanted_tiles()).any())

    def update_framebuffer(self, bgra: Frame) -> None:
        """A new screen frame (BGRA, ``(h, w, 4)`` uint8). Only the latest
        frame matters: nothing is encoded until the viewer asks."""
        if bgra.ndim != 3 or bgra.shape[2] != 4 or bgra.dtype != np.uint8:
            raise ValueError("frames are (height, width, 4) uint8 BGRA arrays")
        h, w = int(bgra.shape[0]), int(bgra.shape[1])
        if (w, h) != (self._width, self._height):
            if self._can_resize or not self._initialised:
                self.resize(w, h)
            else:
                bgra = _fit(bgra, self._width, self._height)
        self._current = bgra
        self._dirty_cache = None

    def resize(self, width: int, height: int) -> None:
        """The desktop changed size. A viewer that understands DesktopSize or
        ExtendedDesktopSize is told; for one that does not, frames are
        cropped or padded to the size it knows."""
        if not (0 < width <= 0xFFFF and 0 < height <= 0xFFFF):
            raise ValueError(f"bad framebuffer size {width}x{height}")
        if self._initialised and not self._can_resize:
            return
        if (width, height) == (self._width, self._height):
            return
        self._width, self._height = width, height
        self._current = np.zeros((height, width, 4), dtype=np.uint8)
        self._sent = np.zeros_like(self._current)
        grid = tile_grid(width, height)
        self._stale = np.ones(grid, dtype=bool)
        self._forced = np.zeros(grid, dtype=bool)
        self._dirty_cache = None
        self._moves_hint.clear()
        if self._request is not None:
            self._request = Rect(0, 0, width, height)
        if self._initialised:
            self._size_pending = EDS_REASON_SERVER
        self._h264 = None

    def set_cursor(self, image: Frame | None, hotspot_x: int = 0, hotspot_y: int = 0) -> None:
        """The pointer's shape (BGRA; alpha >= 128 is opaque), sent with the
        next update to viewers that draw the cursor themselves. None hides it."""
        if image is None:
            image = np.zeros((0, 0, 4), dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 4 or image.dtype != np.uint8:
            raise ValueError("cursor images are (height, width, 4) uint8 BGRA arrays")
        self._cursor = (image, hotspot_x, hotspot_y)
        if self._cursor_ok:
            self._cursor_pending = True  # encoded when sent, in the then pixel format

    @property
    def extended_clipboard(self) -> bool:
        """Whether the viewer takes UTF-8 clipboard text (Extended Clipboard)."""
        return self._clipboard.active

    def send_cut_text(self, text: str) -> None:
        """Put text on the viewer's clipboard: UTF-8 through the Extended
        Clipboard when the viewer offered it (a *provide*, or a *notify* it
        answers with a *request*), else a Latin-1 ServerCutText."""
        extended = self._clipboard.offer(text) if self._initialised else None
        if extended is None:
            self._queue(pack_server_cut_text(text[: self._max_cut_text]))
        else:
            self._send_clipboard(extended)

    def clear_cut_text(self) -> None:
        """Forget the text last put on the viewer's clipboard, so that a
        later *request* gets nothing (e.g. the customer withdrew clipboard
        consent); an Extended Clipboard viewer is told nothing is available."""
        self._send_clipboard(self._clipboard.withdraw())

    def bell(self) -> None:
        self._queue(pack_bell())

    def hint_move(self, src_x: int, src_y: int, dst: Rect) -> None:
        """The caller knows a region moved (a window drag, an OS move rect):
        if the next frame confirms it, it goes out as a CopyRect."""
        self._moves_hint.append(CopyMove(dst, src_x, src_y))

    # ------------------------------------------------------------- internals

    @property
    def _can_resize(self) -> bool:
        return self._desktop_size_ok or self._eds_ok

    def _send_clipboard(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self._queue(pack_extended(MSG_SERVER_CUT_TEXT, payload))

    def _queue(self, message: bytes) -> None:
        if self._initialised:
            self._out.append(message)
        else:
            self._deferred.append(message)

    def _emit(self, event: ServerEvent) -> None:
        self._events.append(event)

    def _run(self) -> Generator[None, None, None]:
        r = self._reader
        send = self._out.append
        major, minor = parse_version((yield from r.read_exact(12)))
        if major != 3:
            raise RfbProtocolError(f"unsupported RFB version {major}.{minor}")
        minor = 8 if minor >= 8 else 7 if minor == 7 else 3
        if minor >= 7:
            send(bytes([len(self._security), *(s.security_type for s in self._security)]))
            chosen = yield from r.read_u8()
            handler = next((s for s in self._security if s.security_type == chosen), None)
            if handler is None:
                reason = f"security type {chosen} was not offered"
                send(struct.pack(">I", 1) + (pack_string(reason.encode()) if minor >= 8 else b""))
                raise RfbAuthError(reason)
        else:
            # 3.3: the server picks, and only None or VNC authentication exist.
            handler = next(
                (
                    s
                    for s in self._security
                    if s.security_type in (SECURITY_NONE, SECURITY_VNC_AUTH)
                ),
                None,
            )
            if handler is None:
                reason = "no security type usable with RFB 3.3"
                send(struct.pack(">I", 0) + pack_string(reason.encode()))
                raise RfbAuthError(reason)
            send(struct.pack(">I", handler.security_type))
        reason_or_ok = yield from handler.authenticate(r, send)
        if minor >= 8 or handler.security_type != SECURITY_NONE:
            if reason_or_ok is None:
                send(struct.pack(">I", 0))
            else:
                extra = pack_string(reason_or_ok.encode()) if minor >= 8 else b""
                send(struct.pack(">I", 1) + extra)
        if reason_or_ok is not None:
            raise RfbAuthError(reason_or_ok)

        shared = yield from r.read_u8()
        send(pack_server_init(self._width, self._height, BGRX, self.name))
        self._initialised = True
        self._out.extend(self._deferred)
        self._deferred.clear()
        self._emit(ClientInitialised(shared=shared != 0))

        while True:
            kind = yield from r.read_u8()
            if kind == MSG_SET_PIXEL_FORMAT:
                data = yield from r.read_exact(19)
                pf = PixelFormat.unpack(data[3:])
                pf.validate()
                self.pixel_format = pf
                self._options.pixel_format = pf
                self._emit(PixelFormatChanged(pf))
            elif kind == MSG_SET_ENCODINGS:
                count = struct.unpack(">xH", (yield from r.read_exact(3)))[0]
                data = yield from r.read_exact(4 * count)
                self._set_encodings(struct.unpack(f">{count}i", data))
            elif kind == MSG_FRAMEBUFFER_UPDATE_REQUEST:
                inc, x, y, w, h = struct.unpack(">BHHHH", (yield from r.read_exact(9)))
                self._on_request(inc != 0, Rect(x, y, w, h))
            elif kind == MSG_KEY_EVENT:
                down, key = struct.unpack(">BxxI", (yield from r.read_exact(7)))
                self._emit(KeyEvent(keysym=key, down=down != 0))
            elif kind == MSG_POINTER_EVENT:
                mask, x, y = struct.unpack(">BHH", (yield from r.read_exact(5)))
                x, y = min(x, self._width - 1), min(y, self._height - 1)
                self._emit(PointerEvent(x=x, y=y, buttons=mask))
            elif kind == MSG_CLIENT_CUT_TEXT:
                length = struct.unpack(">3xI", (yield from r.read_exact(7)))[0]
                if length & 0x80000000:
                    # Extended Clipboard: a negative length.
                    message = yield from read_extended(r, 0x100000000 - length, self._max_cut_text)
                    replies, event = self._clipboard.handle(message)
                    self._send_clipboard(replies)
                    if event is not None:
                        self._emit(event)
                elif length > self._max_cut_text:
                    yield from r.skip(length)
                    self._emit(CutTextDropped(length))
                else:
                    text = (yield from r.read_exact(length)).decode("latin-1")
                    self._emit(CutText(text.replace("\r\n", "\n")))
            elif kind == MSG_SET_DESKTOP_SIZE:
                w, h, screens = struct.unpack(">xHHBx", (yield from r.read_exact(7)))
                yield from r.skip(16 * screens)
                self._emit(DesktopSizeRequested(w, h))
                if self._eds_ok:
                    # A shared physical screen cannot be resized by the viewer.
                    self._eds_replies.append((EDS_REASON_CLIENT, EDS_STATUS_PROHIBITED))
            else:
                raise RfbProtocolError(f"unknown client message type {kind}")

    def _set_encodings(self, encodings: Iterable[int]) -> None:
        encs = tuple(encodings)
        self.encodings = encs
        opts = self._options
        opts.quality = next(
            (e - ENC_QUALITY_0 for e in encs if ENC_QUALITY_0 <= e <= ENC_QUALITY_9), None
        )
        opts.fine_quality = next(
            (
                e - ENC_FINE_QUALITY_0
                for e in encs
                if ENC_FINE_QUALITY_0 <= e <= ENC_FINE_QUALITY_100
            ),
            None,
        )
        opts.subsampling = next((e for e in encs if ENC_SUBSAMP_1X <= e <= ENC_SUBSAMP_16X), None)
        opts.compression = next(
            (e - ENC_COMPRESS_0 for e in encs if ENC_COMPRESS_0 <= e <= ENC_COMPRESS_9), 2
        )
        usable = set(_PIXEL_ENCODINGS)
        if self._allow_h264 and h264.available():
            usable.add(ENC_H264)
        previous = self._pixel_encoding
        self._pixel_encoding = next((e for e in encs if e in usable), ENC_RAW)
        if self._pixel_encoding == ENC_H264 and (self._width % 2 or self._height % 2):
            # 4:2:0 video needs even sizes: fall back to the next choice.
            self._pixel_encoding = next((e for e in encs if e in usable - {ENC_H264}), ENC_RAW)
        if previous == ENC_H264 and self._pixel_encoding != ENC_H264:
            self._h264 = None
        self._copyrect = ENC_COPYRECT in encs
        self._cursor_ok = ENC_CURSOR in encs
        self._desktop_size_ok = ENC_DESKTOP_SIZE in encs
        was_eds = self._eds_ok
        self._eds_ok = ENC_EXTENDED_DESKTOP_SIZE in encs
        self._last_rect_ok = ENC_LAST_RECT in encs
        if ENC_EXTENDED_CLIPBOARD in encs:
            # rfbproto: caps answer every SetEncodings listing the extension,
            # and the viewer's own caps are the defaults until it replies.
            self._clipboard.assume_defaults()
            self._send_clipboard([self._clipboard.our_caps()])
        else:
            self._clipboard.disable()
        if self._eds_ok and not was_eds:
            # Announce the extension (and the screen layout) in the next update.
            self._eds_replies.append((EDS_REASON_SERVER, EDS_STATUS_OK))
        if self._cursor_ok and self._cursor is not None:
            self._cursor_pending = True
        self._emit(EncodingsChanged(encs))

    def _on_request(self, incremental: bool, rect: Rect) -> None:
        self._emit(UpdateRequested(incremental, rect))
        clipped = rect.intersect(Rect(0, 0, self._width, self._height))
        self._request = clipped if self._request is None else self._request.union(clipped)
        if not incremental:
            self._forced |= tiles_in(clipped, self._forced.shape)
            if self._eds_ok and not self._eds_replies:
                self._eds_replies.append((EDS_REASON_SERVER, EDS_STATUS_OK))

    def _dirty(self) -> Mask:
        if self._dirty_cache is None:
            self._dirty_cache = changed_tiles(self._sent, self._current) | self._stale
        return self._dirty_cache

    def _wanted_tiles(self) -> Mask:
        assert self._request is not None
        return (self._dirty() & tiles_in(self._request, self._stale.shape)) | self._forced

    def _build_update(self) -> bytes | None:
        if self._request is None:
            return None
        pseudo: list[EncodedRect] = []
        if self._size_pending is not None:
            # A size change goes alone; the new picture follows on the next request.
            if self._eds_ok:
                pseudo.append(self._eds_rect(self._size_pending, EDS_STATUS_OK))
            else:
                pseudo.append((Rect(0, 0, self._width, self._height), ENC_DESKTOP_SIZE, b""))
            self._size_pending = None
            self._eds_replies.clear()
            self._request = None
            return self._pack_update(pseudo)
        for reason, status in self._eds_replies:
            pseudo.append(self._eds_rect(reason, status))
        self._eds_replies.clear()
        if self._cursor_pending and self._cursor is not None:
            image, hx, hy = self._cursor
            pseudo.append(encode_cursor(image, hx, hy, self.pixel_format))
        self._cursor_pending = False

        rects = self._pixel_rects()
        if not rects and not pseudo:
            return None
        self._request = None
        return self._pack_update(pseudo + rects)

    def _eds_rect(self, reason: int, status: int) -> EncodedRect:
        return encode_extended_desktop_size(reason, status, self._width, self._height)

    def _pixel_rects(self) -> list[EncodedRect]:
        wanted = self._wanted_tiles()
        if not wanted.any():
            self._moves_hint.clear()
            return []
        frame = self._current
        if self._pixel_encoding == ENC_H264:
            return self._h264_rects(frame)
        out: list[EncodedRect] = []
        if self._copyrect:
            moves = self._find_moves(frame, wanted)
            for move in moves:
                apply_move(self._sent, move)
                out.append((move.dst, ENC_COPYRECT, encode_copyrect(move.src_x, move.src_y)))
            if moves:
                self._dirty_cache = None
                wanted = self._wanted_tiles()
        exact = self._stale | self._forced  # tiles to send whole
        rects = [
            self._trim(rect, frame) if not exact[tiles_in(rect, exact.shape)].any() else rect
            for rect in mask_to_rects(wanted, self._width, self._height)
        ]
        for rect in rects:
            if rect.empty:
                continue
            out.extend(self._encode(frame, rect))
            self._sent[rect.y : rect.y + rect.h, rect.x : rect.x + rect.w] = frame[
                rect.y : rect.y + rect.h, rect.x : rect.x + rect.w
            ]
        self._stale &= ~wanted
        self._forced[:] = False
        self._dirty_cache = None
        return out

    def _trim(self, rect: Rect, frame: Frame) -> Rect:
        """Shrink a rectangle to the pixels that differ from what was sent
        (a typed character is a few pixels, not a 64 x 64 tile)."""
        sl = (slice(rect.y, rect.y + rect.h), slice(rect.x, rect.x + rect.w))
        diff = as_u32(self._sent[sl]) != as_u32(frame[sl])
        rows = np.flatnonzero(diff.any(axis=1))
        if rows.size == 0:
            return Rect(rect.x, rect.y, 0, 0)
        cols = np.flatnonzero(diff[rows[0] : rows[-1] + 1].any(axis=0))
        return Rect(
            rect.x + int(cols[0]),
            rect.y + int(rows[0]),
            int(cols[-1] - cols[0]) + 1,
            int(rows[-1] - rows[0]) + 1,
        )

    def _find_moves(self, frame: Frame, wanted: Mask) -> list[CopyMove]:
        moves: list[CopyMove] = []
        usable = ~self._stale  # the viewer must hold the source pixels
        for hint in self._moves_hint:
            src = Rect(hint.src_x, hint.src_y, hint.dst.w, hint.dst.h)
            if (
                src.inside(self._width, self._height)
                and bool(usable[tiles_in(src, usable.shape)].all())
                and move_matches(self._sent, frame, hint)
            ):
                moves.append(hint)
        self._moves_hint.clear()
        if moves or not self._detect_scrolling:
            return moves
        candidates = wanted & ~self._stale & ~self._forced
        for move in detect_scroll(self._sent, frame, candidates):
            src = Rect(move.src_x, move.src_y, move.dst.w, move.dst.h)
            if bool(usable[tiles_in(src, usable.shape)].all()):
                moves.append(move)
        return moves

    def _encode(self, frame: Frame, rect: Rect) -> list[EncodedRect]:
        if self._pixel_encoding == ENC_TIGHT:
            if self._tight is None:
                self._tight = tight.TightEncoder()
            return self._tight.encode(frame, rect, self._options)
        if self._pixel_encoding == ENC_ZRLE:
            if self._zrle is None:
                self._zrle = zrle.ZrleEncoder(self._options.zlib_level)
            return self._zrle.encode(frame, rect, self._options)
        return [(rect, ENC_RAW, encode_raw(frame, rect, self.pixel_format))]

    def _h264_rects(self, frame: Frame) -> list[EncodedRect]:
        reset = False
        if self._h264 is None or self._forced.any():
            self._h264 = h264.H264Encoder(self._width, self._height, self._options)
            reset = True
        payload = self._h264.encode(frame, reset=reset)
        self._sent[...] = frame
        self._stale[:] = False
        self._forced[:] = False
        self._dirty_cache = None
        return [(Rect(0, 0, self._width, self._height), ENC_H264, payload)]

    def _pack_update(self, rects: list[EncodedRect]) -> bytes:
        parts: list[bytes] = []
        if len(rects) >= 0xFFFF and self._last_rect_ok:
            parts.append(pack_update_header(0xFFFF))
            rects = [*rects, last_rect()]
            for rect, encoding, payload in rects:
                parts.append(pack_rect_header(rect, encoding))
                parts.append(payload)
            return b"".join(parts)
        for start in range(0, len(rects), 0xFFFE):
            chunk = rects[start : start + 0xFFFE]
            parts.append(pack_update_header(len(chunk)))
            for rect, encoding, payload in chunk:
                parts.append(pack_rect_header(rect, encoding))
                parts.append(payload)
        return b"".join(parts)


def _fit(frame: Frame, width: int, height: int) -> Frame:
    """Crop or pad (black) a frame to the size the viewer knows."""
    out = np.zeros((height, width, 4), dtype=np.uint8)
    h, w = min(height, frame.shape[0]), min(width, frame.shape[1])
    out[:h, :w] = frame[:h, :w]
    return out


__all__ = ["TILE", "NoSecurity", "RfbServer", "ServerSecurity"]
