"""RFB 3.8 (RFC 6143) for remote assist: both ends, with no I/O.

The customer's portal is the RFB *server* (it shares its screen), the
agent console the RFB *client*; the vendor service relays the bytes,
carried in binary WebSocket messages cut anywhere (as noVNC and websockify
do), without parsing them. Standard viewers therefore interoperate.

Design (sans-I/O, like the ``websockets`` library): :class:`RfbServer` and
:class:`RfbClient` are state machines. ``receive_data(bytes)`` feeds them
whatever arrived, ``events_received()`` returns what it meant and
``data_to_send()`` the bytes to transmit. Nothing here reads a socket,
starts a thread or sleeps, so the same code runs under asyncio, Qt or a
test, and a test can cut a stream into any pieces. Parsing is written as
generators that ``yield`` until enough bytes have arrived
(:class:`~client.core.rfb.messages.StreamReader`). Every malformed input
raises :class:`RfbProtocolError` and nothing else; sizes from the wire are
checked against the framebuffer and fixed limits before anything is
allocated.

Modules:

* :mod:`.messages` - constants, pixel formats, message packing, events;
* :mod:`.framebuffer` - BGRA frames, tile change detection (uint32
  compares), rectangle merging, scroll detection for CopyRect;
* :mod:`.encodings` - Raw, CopyRect, Tight (fill/palette/copy with zlib
  streams 0-3, JPEG), ZRLE, H.264 (optional, PyAV) and the pseudo-encodings
  DesktopSize, ExtendedDesktopSize, Cursor, LastRect;
* :mod:`.clipboard` - the Extended Clipboard pseudo-encoding (UTF-8 cut
  text; Latin-1 remains the fallback);
* :mod:`.server`, :mod:`.client` - the two state machines;
* :mod:`.keysyms` - X11 keysyms, including Unicode ones for any script.

Permission to control (view-only versus control) is the caller's policy:
the server reports input as distinct :class:`KeyEvent` and
:class:`PointerEvent` events for the caller to apply or drop.
"""

from __future__ import annotations

from .client import ClientNoSecurity, ClientSecurity, RfbClient
from .messages import (
    BGRX,
    Bell,
    ClientInitialised,
    Connected,
    CursorChanged,
    CutText,
    CutTextDropped,
    DesktopSizeRefused,
    DesktopSizeRequested,
    EncodingsChanged,
    FramebufferUpdated,
    KeyEvent,
    PixelFormat,
    PixelFormatChanged,
    PointerEvent,
    Rect,
    Resized,
    RfbAuthError,
    RfbProtocolError,
    UpdateRequested,
)
from .server import NoSecurity, RfbServer, ServerSecurity

__all__ = [
    "BGRX",
    "Bell",
    "ClientInitialised",
    "ClientNoSecurity",
    "ClientSecurity",
    "Connected",
    "CursorChanged",
    "CutText",
    "CutTextDropped",
    "DesktopSizeRefused",
    "DesktopSizeRequested",
    "EncodingsChanged",
    "FramebufferUpdated",
    "KeyEvent",
    "NoSecurity",
    "PixelFormat",
    "PixelFormatChanged",
    "PointerEvent",
    "Rect",
    "Resized",
    "RfbAuthError",
    "RfbClient",
    "RfbProtocolError",
    "RfbServer",
    "ServerSecurity",
    "UpdateRequested",
]
