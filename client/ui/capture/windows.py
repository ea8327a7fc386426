"""The visible top-level windows of the desktop, for "capture a window".

A window capture is a crop of the frozen screen image to the rectangle of
the window the user clicked: what was on screen, exactly as seen. The
rectangles are read once, before the overlay appears, so hovering needs no
further calls into the windowing system. Supported:

* X11: ``XQueryTree`` on the root window through ``ctypes`` and libX11
  (which every X11 desktop has). With a reparenting window manager the
  root's children are the frames, so the title bar is part of the capture.
* Windows: ``EnumWindows`` with the DWM frame bounds (no invisible borders).

Wayland gives no application the position of other windows, and macOS needs
the screen-recording permission plus Quartz window lists; there
:func:`supported` is False and the portal hides the option.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

MIN_SIDE = 8
"""Windows smaller than this on either side are not offered."""


@dataclass(frozen=True, slots=True)
class NativeWindow:
    """A top-level window: its id and its outer rectangle in desktop pixels."""

    wid: int
    x: int
    y: int
    width: int
    height: int


def is_wayland() -> bool:
    return os.environ.get("XDG_SESSION_TYPE", "").lower() == "wayland"


def supported(platform_name: str) -> bool:
    """Whether windows can be listed on this platform (``platform_name`` is
    ``QGuiApplication.platformName()``)."""
    if sys.platform == "win32":
        return platform_name == "windows"
    if platform_name != "xcb" or is_wayland():
        return False
    return _libx11() is not None


def list_windows(exclude: frozenset[int] = frozenset()) -> list[NativeWindow]:
    """Visible top-level windows, top-most first; [] when not supported or
    anything goes wrong (the caller then offers a whole-screen capture)."""
    try:
        if sys.platform == "win32":
            found = _win32_windows()
        elif _libx11() is not None:
            found = _x11_windows()
        else:
            return []
    except Exception:  # the window list is a convenience, never a reason to fail
        log.exception("could not list the desktop's windows")
        return []
    return [w for w in found if w.wid not in exclude and min(w.width, w.height) >= MIN_SIDE]


# -- X11 -------------------------------------------------------------------------

_X11: ctypes.CDLL | None = None
_X11_LOADED = False
IS_VIEWABLE = 2


class _XWindowAttributes(ctypes.Structure):
    # Layout of XWindowAttributes from <X11/Xlib.h>.
    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong),
        ("class_", ctypes.c_int),
        ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


_XErrorHandler = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def _ignore_x_error(_display: int | None, _event: int | None) -> int:
    # A window may vanish between XQueryTree and XGetWindowAttributes; Xlib's
    # default handler would end the process for that.
    return 0


_IGNORE_X_ERROR = _XErrorHandler(_ignore_x_error)


def _libx11() -> ctypes.CDLL | None:
    global _X11, _X11_LOADED
    if _X11_LOADED:
        return _X11
    _X11_LOADED = True
    name = ctypes.util.find_library("X11")
    if not name:
        return None
    try:
        lib = ctypes.cdll.LoadLibrary(name)
    except OSError:
        return None
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XOpenDisplay.restype = ctypes.c_void_p
    lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    lib.XDefaultRootWindow.restype = ctypes.c_ulong
    lib.XQueryTree.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
        ctypes.POINTER(ctypes.c_uint),
    ]
    lib.XQueryTree.restype = ctypes.c_int
    lib.XGetWindowAttributes.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.POINTER(_XWindowAttributes),
    ]
    lib.XGetWindowAttributes.restype = ctypes.c_int
    lib.XFree.argtypes = [ctypes.c_void_p]
    lib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.XSetErrorHandler.argtypes = [ctypes.c_void_p]
    lib.XSetErrorHandler.restype = ctypes.c_void_p
    _X11 = lib
    return lib


@contextmanager
def _x_display(lib: ctypes.CDLL) -> Iterator[int]:
    display = lib.XOpenDisplay(None)
    if not display:
        raise OSError("cannot open the X display")
    previous = lib.XSetErrorHandler(ctypes.cast(_IGNORE_X_ERROR, ctypes.c_void_p))
    try:
        yield display
    finally:
        lib.XSync(display, 0)
        lib.XSetErrorHandler(previous)
        lib.XCloseDisplay(display)


def _x11_windows() -> list[NativeWindow]:
    lib = _libx11()
    assert lib is not None
    found: list[NativeWindow] = []
    with _x_display(lib) as display:
        root = lib.XDefaultRootWindow(display)
        root_ret, parent_ret = ctypes.c_ulong(), ctypes.c_ulong()
        children = ctypes.POINTER(ctypes.c_ulong)()
        count = ctypes.c_uint()
        if not lib.XQueryTree(
            display,
            root,
            ctypes.byref(root_ret),
            ctypes.byref(parent_ret),
            ctypes.byref(children),
            ctypes.byref(count),
        ):
            return []
        try:
            ids = [children[i] for i in range(count.value)]
        finally:
            if children:
                lib.XFree(children)
        # XQueryTree lists children bottom to top; callers want the top first.
        for wid in reversed(ids):
            attrs = _XWindowAttributes()
            if not lib.XGetWindowAttributes(display, wid, ctypes.byref(attrs)):
                continue
            # Override-redirect windows are menus, tooltips and notifications.
            if attrs.map_state != IS_VIEWABLE or attrs.override_redirect:
                continue
            border = attrs.border_width
            found.append(
                NativeWindow(
                    int(wid), attrs.x, attrs.y, attrs.width + 2 * border, attrs.height + 2 * border
                )
            )
    return found


# -- Windows -----------------------------------------------------------------------


def _win32_windows() -> list[NativeWindow]:
    from ctypes import wintypes

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    dwmapi = ctypes.windll.dwmapi  # type: ignore[attr-defined]
    dwma_extended_frame_bounds, dwma_cloaked = 9, 14
    gwl_exstyle, ws_ex_toolwindow = -20, 0x00000080
    found: list[NativeWindow] = []

    winfunctype = ctypes.WINFUNCTYPE  # type: ignore[attr-defined]
    enum_proc = winfunctype(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)

    def visit(hwnd: int, _lparam: int) -> bool:
        if not user32.IsWindowVisible(hwnd) or user32.IsIconic(hwnd):
            return True
        if user32.GetWindowLongW(hwnd, gwl_exstyle) & ws_ex_toolwindow:
            return True
        cloaked = wintypes.DWORD()
        dwmapi.DwmGetWindowAttribute(
            hwnd, dwma_cloaked, ctypes.byref(cloaked), ctypes.sizeof(cloaked)
        )
        if cloaked.value:  # on another virtual desktop, or a suspended store app
            return True
        rect = wintypes.RECT()
        # DWM's frame bounds leave out the invisible resize borders; without
        # DWM (very old systems) the plain window rectangle has to do.
        no_dwm = dwmapi.DwmGetWindowAttribute(
            hwnd, dwma_extended_frame_bounds, ctypes.byref(rect), ctypes.sizeof(rect)
        )
        if no_dwm and not user32.GetWindowRect(hwnd, ctypes.byref(rect)):
            return True
        found.append(
            NativeWindow(
                int(hwnd or 0), rect.left, rect.top, rect.right - rect.left, rect.bottom - rect.top
            )
        )
        return True

    # EnumWindows visits top-level windows in z-order, top-most first.
    user32.EnumWindows(enum_proc(visit), 0)
    return found
