"""The RFB client side (the agent's viewer): a sans-I/O state machine.

Feed it the server's bytes with :meth:`RfbClient.receive_data` (cut
anywhere), read :meth:`RfbClient.events_received`, send what
:meth:`RfbClient.data_to_send` returns. The picture is
:attr:`RfbClient.framebuffer` (BGRA). After the handshake it asks for
32-bit BGRX pixels, announces its encodings and requests a full update;
after each update it requests the next (incremental) one, so the server's
pace follows the viewer's (``auto_update=False`` leaves that to the caller).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Generator, Sequence
from typing import Protocol

from .clipboard import CLIP_CAPS, ExtendedClipboard, pack_extended, read_extended
from .encodings import Decoder
from .encodings import h264 as h264_codec
from .encodings.copyrect import CopyRectDecoder
from .encodings.pseudo import read_cursor, read_extended_desktop_size
from .encodings.raw import RawDecoder
from .encodings.tight import TightDecoder
from .encodings.zrle import ZrleDecoder
from .framebuffer import Framebuffer
from .messages import (
    BGRX,
    EDS_REASON_CLIENT,
    EDS_STATUS_OK,
    ENC_COMPRESS_0,
    ENC_COPYRECT,
    ENC_CURSOR,
    ENC_DESKTOP_SIZE,
    ENC_EXTENDED_CLIPBOARD,
    ENC_EXTENDED_DESKTOP_SIZE,
    ENC_H264,
    ENC_LAST_RECT,
    ENC_QUALITY_0,
    ENC_RAW,
    ENC_TIGHT,
    ENC_ZRLE,
    MAX_CUT_TEXT,
    MAX_FRAMEBUFFER_PIXELS,
    MAX_REASON,
    MSG_BELL,
    MSG_CLIENT_CUT_TEXT,
    MSG_FRAMEBUFFER_UPDATE,
    MSG_SERVER_CUT_TEXT,
    MSG_SET_COLOUR_MAP_ENTRIES,
    SECURITY_NONE,
    Bell,
    ClientEvent,
    Connected,
    CursorChanged,
    CutText,
    CutTextDropped,
    DesktopSizeRefused,
    FramebufferUpdated,
    Parser,
    PixelFormat,
    Rect,
    Resized,
    RfbAuthError,
    RfbProtocolError,
    StreamReader,
    pack_client_cut_text,
    pack_key_event,
    pack_pointer_event,
    pack_set_desktop_size,
    pack_set_encodings,
    pack_set_pixel_format,
    pack_update_request,
    pack_version,
    parse_version,
)

Send = Callable[[bytes], None]

#: Encodings offered by default, best first.
DEFAULT_ENCODINGS: tuple[int, ...] = (ENC_TIGHT, ENC_ZRLE, ENC_COPYRECT, ENC_RAW)
_PSEUDO = (ENC_DESKTOP_SIZE, ENC_EXTENDED_DESKTOP_SIZE, ENC_CURSOR, ENC_LAST_RECT)


class ClientSecurity(Protocol):
    """One security type the client can do; ``authenticate`` runs after it
    was chosen (it may read and send) and raises :class:`RfbAuthError` to give up."""

    security_type: int

    def authenticate(self, reader: StreamReader, send: Send) -> Generator[None, None, None]: ...


class ClientNoSecurity:
    security_type = SECURITY_NONE

    def authenticate(self, reader: StreamReader, send: Send) -> Generator[None, None, None]:
        return
        yield


class RfbClient:
    """One connection to an RFB server, viewer side."""

    def __init__(
        self,
        *,
        encodings: Sequence[int] = DEFAULT_ENCODINGS,
        quality: int | None = 6,
        compression: int | None = 2,
        h264: bool = False,
        shared: bool = True,
        pixel_format: PixelFormat = BGRX,
        security: Sequence[ClientSecurity] | None = None,
        auto_update: bool = True,
        max_pixels: int = MAX_FRAMEBUFFER_PIXELS,
        max_cut_text: int = MAX_CUT_TEXT,
        extended_clipboard: bool = True,
    ) -> None:
        pixel_format.validate()
        self.pixel_format = pixel_format
        self._offer_clipboard = extended_clipboard
        self._encodings = self._encoding_list(encodings, quality, compression, h264)
        self._shared = shared
        self._security: list[ClientSecurity] = list(security or [ClientNoSecurity()])
        self._auto_update = auto_update
        self._max_pixels = max_pixels
        self._max_cut_text = max_cut_text
        self._clipboard = ExtendedClipboard(max_cut_text)
        self.framebuffer: Framebuffer | None = None
        self.name = ""
        self._reader = StreamReader()
        self._out: list[bytes] = []
        self._events: list[ClientEvent] = []
        self._need_full = True
        self._decoders: dict[int, Decoder] = {
            ENC_RAW: RawDecoder(),
            ENC_COPYRECT: CopyRectDecoder(),
            ENC_TIGHT: TightDecoder(),
            ENC_ZRLE: ZrleDecoder(),
            ENC_H264: h264_codec.H264Decoder(),
        }
        self._closed = False
        self._parser = Parser(self._run(), self._reader)

    def _encoding_list(
        self,
        encodings: Sequence[int],
        quality: int | None,
        compression: int | None,
        use_h264: bool,
    ) -> list[int]:
        out = [e for e in encodings if e != ENC_H264 or h264_codec.available()]
        if use_h264 and h264_codec.available() and ENC_H264 not in out:
            out.insert(0, ENC_H264)
        out += [e for e in _PSEUDO if e not in out]
        if self._offer_clipboard and ENC_EXTENDED_CLIPBOARD not in out:
            out.append(ENC_EXTENDED_CLIPBOARD)
        if quality is not None:
            out.append(ENC_QUALITY_0 + max(0, min(9, quality)))
        if compression is not None:
            out.append(ENC_COMPRESS_0 + max(0, min(9, compression)))
        return out

    # ------------------------------------------------------------- public API

    @property
    def connected(self) -> bool:
        return self.framebuffer is not None and not self._closed

    def receive_data(self, data: bytes) -> None:
        """Bytes from the server, cut anywhere. Raises :class:`RfbProtocolError`
        (the only exception) when the server broke the protocol."""
        if self._closed:
            raise RfbProtocolError("the connection is closed")
        try:
            self._parser.feed(data)
        except RfbProtocolError:
            self._closed = True
            raise

    def events_received(self) -> list[ClientEvent]:
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def send_key(self, keysym: int, down: bool) -> None:
        self._after_init(pack_key_event(keysym, down))

    def send_pointer(self, x: int, y: int, buttons: int = 0) -> None:
        self._after_init(pack_pointer_event(x, y, buttons))

    @property
    def extended_clipboard(self) -> bool:
        """Whether the server takes UTF-8 clipboard text (it sent Extended
        Clipboard caps)."""
        return self._clipboard.active

    def send_cut_text(self, text: str) -> None:
        """Put text on the server's clipboard: UTF-8 through the Extended
        Clipboard once the server announced it, else Latin-1 ClientCutText."""
        extended = self._clipboard.offer(text) if self.framebuffer is not None else None
        if extended is None:
            self._after_init(pack_client_cut_text(text[: self._max_cut_text]))
        else:
            self._send_clipboard(extended)

    def clear_cut_text(self) -> None:
        """Forget the text last offered, so that a later *request* from the
        server gets nothing; an Extended Clipboard server is told so."""
        self._send_clipboard(self._clipboard.withdraw())

    def set_encodings(
        self,
        encodings: Sequence[int],
        quality: int | None = 6,
        compression: int | None = 2,
        h264: bool = False,
    ) -> None:
        self._encodings = self._encoding_list(encodings, quality, compression, h264)
        self._after_init(pack_set_encodings(self._encodings))

    def request_update(self, incremental: bool = True, rect: Rect | None = None) -> None:
        fb = self.framebuffer
        if fb is None:
            return
        self._out.append(pack_update_request(incremental, rect or Rect(0, 0, fb.width, fb.height)))

    def request_desktop_size(self, width: int, height: int) -> None:
        self._after_init(pack_set_desktop_size(width, height))

    # ------------------------------------------------------------- internals

    def _send_clipboard(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self._out.append(pack_extended(MSG_CLIENT_CUT_TEXT, payload))

    def _after_init(self, message: bytes) -> None:
        if self.framebuffer is None:
            raise RuntimeError("the RFB handshake has not finished")
        self._out.append(message)

    def _run(self) -> Generator[None, None, None]:
        r = self._reader
        send = self._out.append
        major, minor = parse_version((yield from r.read_exact(12)))
        if (major, minor) < (3, 8):
            raise RfbProtocolError(f"the server speaks RFB {major}.{minor}; 3.8 is needed")
        send(pack_version(3, 8))
        count = yield from r.read_u8()
        if count == 0:
            raise RfbAuthError((yield from self._read_reason()))
        offered = yield from r.read_exact(count)
        handler = next((s for s in self._security if s.security_type in offered), None)
        if handler is None:
            raise RfbAuthError(f"no common security type (server offers {list(offered)})")
        send(bytes([handler.security_type]))
        yield from handler.authenticate(r, send)
        if (yield from r.read_u32()) != 0:
            raise RfbAuthError((yield from self._read_reason()))
        send(bytes([int(self._shared)]))

        width, height = struct.unpack(">HH", (yield from r.read_exact(4)))
        server_pf = PixelFormat.unpack((yield from r.read_exact(16)))
        name_length = yield from r.read_u32()
        if name_length > MAX_REASON:
            raise RfbProtocolError("desktop name too long")
        self.name = (yield from r.read_exact(name_length)).decode("utf-8", errors="replace")
        self._check_size(width, height)
        self.framebuffer = Framebuffer(width, height)
        self._events.append(Connected(width, height, self.name, server_pf))
        send(pack_set_pixel_format(self.pixel_format))
        send(pack_set_encodings(self._encodings))
        self.request_update(incremental=False)
        self._need_full = False

        while True:
            kind = yield from r.read_u8()
            if kind == MSG_FRAMEBUFFER_UPDATE:
                yield from self._read_update()
            elif kind == MSG_SET_COLOUR_MAP_ENTRIES:
                _, count = struct.unpack(">xHH", (yield from r.read_exact(5)))
                yield from r.skip(6 * count)  # true colour only: nothing to do
            elif kind == MSG_BELL:
                self._events.append(Bell())
            elif kind == MSG_SERVER_CUT_TEXT:
                length = struct.unpack(">3xI", (yield from r.read_exact(7)))[0]
                if length & 0x80000000:
                    # Extended Clipboard: a negative length.
                    message = yield from read_extended(r, 0x100000000 - length, self._max_cut_text)
                    if message.flags & CLIP_CAPS and not self._offer_clipboard:
                        continue  # not offered: stay with Latin-1
                    replies, event = self._clipboard.handle(message)
                    if message.flags & CLIP_CAPS:
                        replies = [self._clipboard.our_caps()]
                    self._send_clipboard(replies)
                    if event is not None:
                        self._events.append(event)
                elif length > self._max_cut_text:
                    yield from r.skip(length)
                    self._events.append(CutTextDropped(length))
                else:
                    text = (yield from r.read_exact(length)).decode("latin-1")
                    self._events.append(CutText(text))
            else:
                raise RfbProtocolError(f"unknown server message type {kind}")

    def _read_reason(self) -> Generator[None, None, str]:
        length = yield from self._reader.read_u32()
        if length > MAX_REASON:
            raise RfbProtocolError("failure reason too long")
        return (yield from self._reader.read_exact(length)).decode("utf-8", errors="replace")

    def _check_size(self, width: int, height: int) -> None:
        if width * height > self._max_pixels:
            raise RfbProtocolError(f"framebuffer of {width}x{height} is too large")

    def _read_update(self) -> Generator[None, None, None]:
        r = self._reader
        count = struct.unpack(">xH", (yield from r.read_exact(3)))[0]
        changed: list[Rect] = []
        remaining = count
        while remaining:
            if count != 0xFFFF:
                remaining -= 1
            x, y, w, h, encoding = struct.unpack(">HHHHi", (yield from r.read_exact(12)))
            rect = Rect(x, y, w, h)
            fb = self.framebuffer
            assert fb is not None
            if encoding == ENC_LAST_RECT:
                break
            if encoding == ENC_DESKTOP_SIZE:
                self._resize(w, h)
            elif encoding == ENC_EXTENDED_DESKTOP_SIZE:
                yield from read_extended_desktop_size(r)
                if x == EDS_REASON_CLIENT and y != EDS_STATUS_OK:
                    self._events.append(DesktopSizeRefused(y))
                elif (w, h) != (fb.width, fb.height):
                    self._resize(w, h)
            elif encoding == ENC_CURSOR:
                image = yield from read_cursor(r, rect, self.pixel_format)
                self._events.append(CursorChanged(image, x, y))
            else:
                decoder = self._decoders.get(encoding)
                if decoder is None or (encoding not in self._encodings and encoding != ENC_RAW):
                    raise RfbProtocolError(f"unexpected encoding {encoding}")
                if not fb.contains(rect):
                    raise RfbProtocolError(f"rectangle {rect} outside the framebuffer")
                yield from decoder.decode(r, rect, self.pixel_format, fb)
                if not rect.empty:
                    changed.append(rect)
        self._events.append(FramebufferUpdated(tuple(changed)))
        if self._auto_update:
            self.request_update(incremental=not self._need_full)
            self._need_full = False

    def _resize(self, width: int, height: int) -> None:
        self._check_size(width, height)
        if width == 0 or height == 0:
            raise RfbProtocolError("empty framebuffer size")
        assert self.framebuffer is not None
        self.framebuffer.resize(width, height)
        self._need_full = True
        self._events.append(Resized(width, height))


__all__ = ["DEFAULT_ENCODINGS", "ClientNoSecurity", "ClientSecurity", "RfbClient"]
