"""Start the portal: single-instance check, Qt application, window, tray.

Order matters for a fast first paint: only Qt and the window's own modules
are imported before the window is shown; the service, the cache and the
keyring are first touched by worker threads after that (client/ui/tasks.py).
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from client.core.branding import Branding
    from protocol.host import HostRequest

log = logging.getLogger("client")

FORWARD_WAIT_S = 5.0
IDLE_TRIM_MS = 2000


def lighten_pyside_import_hook() -> None:
    """WORKAROUND for PySide6's ``__feature__`` import hook (PYSIDE-2029).

    After PySide6 is imported, every further import is checked for the text
    "PySide6" with ``inspect.getsource``, which keeps the full source of each
    module (pydantic, requests, keyring... about 12 MB) in ``linecache`` for
    the life of the process. Reading the file directly gives the same answer
    without the cache. If PySide6 changes this internal, nothing is patched.
    """
    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or not callable(original):
        return

    def mod_uses_pyside(module: Any) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return bool(original(module))
        try:
            with open(path, "rb") as fh:
                return b"PySide6" in fh.read()
        except OSError:
            return False

    setattr(feature, "_mod_uses_pyside", mod_uses_pyside)  # noqa: B010 - private, guarded above


def trim_memory() -> None:
    """Give start-up memory back once the portal is idle.

    PySide6's import hook reads the source of every module imported after it
    (to look for ``__feature__`` use), which leaves megabytes of source lines
    in ``linecache``; they are only needed to print tracebacks and are read
    again on demand. Then collect garbage and return free heap pages (glibc).
    """
    import gc
    import linecache

    before = _rss_kb()
    linecache.clearcache()
    gc.collect()
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
    log.info("idle memory trim: RSS %s kB -> %s kB", before, _rss_kb())


def _rss_kb() -> int | None:
    try:
        with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass
class Options:
    """What ``helpbridge`` was asked to do (parsed by client/main.py)."""

    server: str | None = None
    lang: str | None = None
    minimized: bool = False
    request: HostRequest | None = None
    request_payload: dict[str, Any] = field(default_factory=dict)
    identity: str | None = None
    identity_error: str | None = None


def setup_logging() -> str | None:
    """Log to ``<data dir>/logs/portal.log`` (and warnings to stderr)."""
    from client.core.paths import log_dir

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    path: str | None = None
    try:
        path = str(log_dir() / "portal.log")
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError as exc:
        print(f"helpbridge: cannot write the log file: {exc}", file=sys.stderr)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.WARNING)
    stderr.setFormatter(fmt)
    root.addHandler(stderr)
    return path


def log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    """Uncaught exceptions in Qt callbacks go to the log; the portal keeps running."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    log.error("uncaught exception", exc_info=(exc_type, exc, tb))


def _instance_name(server_url: str) -> str:
    from client.ui.instance import instance_name

    data = os.environ.get("HELPBRIDGE_DATA_DIR", "").strip()
    return instance_name(server_url, data)


def _forward_payload(opts: Options) -> dict[str, Any]:
    payload = dict(opts.request_payload)
    if opts.identity:
        payload["identity"] = opts.identity
    return payload


def _report_forward(reply: dict[str, Any]) -> int:
    if reply.get("ok") is True:
        return 0
    print(
        f"helpbridge: {reply.get('error') or 'the running HelpBridge refused the request'}",
        file=sys.stderr,
    )
    return 1


def _load_branding() -> Branding:
    """The vendor's branding.json (client/core/branding.py); problems are reported, not fatal."""
    from client.core.branding import load_branding

    result = load_branding()
    if result.problem:
        log.warning("branding: %s", result.problem)
        print(f"helpbridge: branding: {result.problem}", file=sys.stderr)
    elif result.branding.source is not None:
        log.info("branding from %s", result.branding.source)
    return result.branding


def run(opts: Options) -> int:
    """Run the portal (or hand the request to the running one). Exit code."""
    t0 = time.monotonic()
    from client.ui.instance import InstanceLock, forward

    lighten_pyside_import_hook()  # right after the first PySide6 import
    from client.ui.settings import PortalSettings, normalize_server_url

    setup_logging()
    sys.excepthook = log_uncaught
    settings = PortalSettings()
    branding = _load_branding()
    if opts.server is not None:
        server_url = normalize_server_url(opts.server)
        if server_url is None:
            print(f"helpbridge: not an http(s) server address: {opts.server!r}", file=sys.stderr)
            return 2
        if not settings.store.contains("server/url"):
            settings.server_url = server_url
    elif branding.service_url and not settings.store.contains("server/url"):
        server_url = branding.service_url  # the vendor's default, until the user picks one
    else:
        server_url = settings.server_url

    # Single instance: hand the request to a running portal if there is one.
    name = _instance_name(server_url)
    payload = _forward_payload(opts)
    reply = forward(name, payload)
    if reply is not None:
        log.info("forwarded the request to the running portal")
        return _report_forward(reply)
    lock = InstanceLock(name)
    have_lock = lock.try_lock(0)
    if not have_lock:
        # Another launch is starting right now: wait for it to listen.
        deadline = time.monotonic() + FORWARD_WAIT_S
        while time.monotonic() < deadline:
            reply = forward(name, payload, connect_timeout_ms=200)
            if reply is not None:
                return _report_forward(reply)
            if lock.try_lock(100):
                have_lock = True
                break
        if not have_lock:
            log.warning("another HelpBridge holds the instance lock but does not answer")

    return _run_gui(opts, settings, server_url, name, lock if have_lock else None, t0, branding)


def _run_gui(
    opts: Options,
    settings: Any,
    server_url: str,
    name: str,
    lock: Any,
    t0: float,
    branding: Branding | None = None,
) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    from client.core.branding import DEFAULT
    from client.ui.i18n import install_translations, normalize_locale, resolve_locale
    from client.ui.instance import InstanceLock, InstanceServer
    from client.ui.look import app_icon, apply_look, set_branding
    from client.ui.mainwindow import MainWindow
    from client.ui.portal import Portal
    from client.ui.tasks import TaskRunner

    branding = branding or DEFAULT
    set_branding(branding)
    QApplication.setOrganizationName("HelpBridge")
    QApplication.setApplicationName("helpbridge")
    QApplication.setApplicationDisplayName(branding.product_name)
    QApplication.setDesktopFileName("helpbridge")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setWindowIcon(app_icon())
    # --lang, then the user's choice in Settings, then the vendor's default, then the system.
    chosen = settings.language if normalize_locale(settings.language) else branding.language
    locale = resolve_locale(opts.lang, chosen)
    translators = install_translations(locale)
    apply_look(app, locale, branding.accent)

    runner = TaskRunner(app)
    portal = Portal(runner, server_url, locale, app)
    window = MainWindow(portal, settings)
    window.translators = translators  # type: ignore[attr-defined]  # keep them alive

    server = InstanceServer(window.handle_request, app)
    if lock is not None:
        server.listen(name)
    state = {"lock": lock, "name": name}

    def rebind(url: str) -> None:
        # The instance name follows the service URL: listen under the new one.
        new_name = _instance_name(url)
        if new_name == state["name"]:
            return
        new_lock = InstanceLock(new_name)
        if not new_lock.try_lock(0):
            log.warning("another HelpBridge already serves %s", url)
            return
        server.close()
        if state["lock"] is not None:
            state["lock"].unlock()
        state["lock"], state["name"] = new_lock, new_name
        server.listen(new_name)

    portal.server_changed.connect(rebind)

    tray = None
    if QSystemTrayIcon.isSystemTrayAvailable():
        from client.ui.tray import Tray

        tray = Tray(window, app)
        tray.quit_requested.connect(app.quit)
        tray.show()
        window.hide_to_tray = True
        app.setQuitOnLastWindowClosed(False)

        def first_hide() -> None:
            if not settings.tray_message_shown:
                settings.tray_message_shown = True
                tray.show_hidden_message()

        window.hidden_to_tray.connect(first_hide)

    def shutdown() -> None:
        server.close()
        if state["lock"] is not None:
            state["lock"].unlock()
        if not runner.shutdown(3000):
            log.warning("some background work did not finish before exit")
        settings.sync()

    app.aboutToQuit.connect(shutdown)

    # Let Ctrl+C and SIGTERM end the event loop cleanly: Python signal
    # handlers only run when the interpreter gets control, hence the timer.
    def on_signal(_signum: int, _frame: object) -> None:
        app.quit()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(500)

    if opts.minimized:
        if tray is None:
            window.showMinimized()
    else:
        window.show()

    def after_show() -> None:
        log.info(
            "window shown %.0f ms after start (locale %s)", (time.monotonic() - t0) * 1000, locale
        )
        portal.start(opts.identity)
        if opts.identity_error:
            portal.identity_input_error(opts.identity_error)
        window.load_categories()
        if opts.request is not None:
            window.handle_request(opts.request)

    QTimer.singleShot(0, after_show)
    # Start-up (imports, first requests) leaves freed heap pages behind;
    # hand them back once the portal settles.
    QTimer.singleShot(IDLE_TRIM_MS, trim_memory)
    code = app.exec()
    log.info("portal exits (%d)", code)
    return int(code)
