"""Start the console: Qt application, translations, look, the window, and the
controller that ties sign-in, sign-out and the live connection together."""

from __future__ import annotations

import logging
import logging.handlers
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from client.agent.canned_ui import CannedLibrary
    from client.agent.session import Console, ConsoleSettings
    from client.agent.signin import SignInDialog
    from client.agent.window import ConsoleWindow
    from protocol.models import Agent

log = logging.getLogger("client.agent")

RESTORE_RETRY_MS = 10_000

AGENT_STYLESHEET = """
#Composer { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; }
#Composer[internal="true"] { background: #fffbeb; border: 1px solid #f59e0b; }
#Composer[internal="true"] QPlainTextEdit { background: #fffbeb; }
QPlainTextEdit#ReplyEdit { border: 1px solid #d1d5db; border-radius: 6px; background: #ffffff; }
QToolButton#InternalToggle { border: 1px solid #d1d5db; padding: 4px 10px; border-radius: 6px; }
QToolButton#InternalToggle:checked {
    background: #fde68a; border: 1px solid #f59e0b; color: #78350f; font-weight: 700;
}
QToolButton#AssignButton, QToolButton#TransferButton, QToolButton#CannedButton,
QToolButton#AttachButton {
    border: 1px solid #d1d5db; padding: 4px 10px; border-radius: 6px; background: #ffffff;
}
QToolButton#FileChip { background: #e0e7ff; color: #1d4ed8; border-radius: 10px; padding: 2px 8px; }
QLineEdit#KbSearch { padding: 4px 8px; border: 1px solid #d1d5db; border-radius: 6px; }
#CustomerPanel { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; }
QTextBrowser#Timeline { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 10px; }
QTableWidget#QueueTable { background: #ffffff; border: 1px solid #e5e7eb; border-radius: 8px; }
QTableWidget#QueueTable::item { padding: 4px 6px; }
QTableWidget#QueueTable::item:selected { background: #dbeafe; color: #111827; }
QHeaderView::section {
    background: #f9fafb; border: none; border-bottom: 1px solid #e5e7eb; padding: 5px 6px;
    color: #6b7280; font-weight: 600;
}
QTabWidget#Workspace::pane { border: none; }
QTabBar::tab { padding: 7px 14px; }
QStatusBar { background: #ffffff; border-top: 1px solid #e5e7eb; }
QStatusBar QLabel#AgentName { font-weight: 700; padding: 0 8px; }
QListWidget#Inbox::item { border-bottom: 1px solid #f0f1f4; padding: 6px; }
QListWidget#Inbox::item:selected { background: #dbeafe; color: #111827; }
QListWidget#CustomerTickets::item, QListWidget#CustomerConversations::item {
    border-bottom: 1px solid #f0f1f4; padding: 4px;
}
"""


@dataclass
class Options:
    server: str | None = None
    lang: str | None = None


class Controller(QObject):
    """Sign-in dialog, sign-out and (when available) the live connection."""

    def __init__(self, console: Console, window: ConsoleWindow, library: CannedLibrary) -> None:
        super().__init__(window)
        self.console = console
        self.window = window
        self.library = library
        self.dialog: SignInDialog | None = None
        console.signed_in.connect(self._on_signed_in)
        console.signed_out.connect(self._on_signed_out)
        console.sign_in_failed.connect(self._on_restore_failed)
        window.sign_out_requested.connect(console.sign_out)
        window.sign_in_requested.connect(self.show_sign_in)
        window.presence_changed.connect(self._send_presence)
        self.live = window.live
        self.live.received.connect(self._on_live_event)
        self._restoring = False
        # While the service is unreachable at start, the stored session is
        # tried again now and then; the dialog stays usable meanwhile.
        self.retry_timer = QTimer(self)
        self.retry_timer.setSingleShot(True)
        self.retry_timer.setInterval(RESTORE_RETRY_MS)
        self.retry_timer.timeout.connect(self._retry_restore)

    def start(self) -> None:
        self.library.load()
        self._restoring = self.console.restore()
        if self._restoring:
            self.window.show_message("info", self.tr("Signing in…"))
        else:
            self.show_sign_in()

    def show_sign_in(self, message: str = "") -> SignInDialog:
        from client.agent.signin import SignInDialog

        if self.dialog is None:
            self.dialog = SignInDialog(self.console, self.window)
            self.dialog.rejected.connect(self._on_dialog_rejected)
        if message:
            self.dialog.show_error(message)
        self.dialog.open()
        return self.dialog

    def _on_dialog_rejected(self) -> None:
        if self.console.agent is None:
            self.window.show_message("warning", self.tr("Not signed in."))

    def _on_restore_failed(self, code: str, message: str) -> None:
        if not self._restoring:
            return  # the dialog shows its own errors
        self._restoring = False
        self.window.show_message("info", "")
        if code == "offline":
            self.retry_timer.start()
        self.show_sign_in("" if code == "no_session" else message)

    def _retry_restore(self) -> None:
        if self.console.agent is not None or (self.dialog is not None and self.dialog.busy):
            return
        self._restoring = self.console.restore()

    def _on_signed_in(self, agent: Agent) -> None:
        self._restoring = False
        self.retry_timer.stop()
        self.window.show_message("info", self.tr("Signed in as %1").replace("%1", agent.name))
        self.window.set_agent(agent)
        self.start_realtime()

    # -- live chat ---------------------------------------------------------------

    def start_realtime(self) -> None:
        """Open the live connection for the signed-in agent (built on a worker:
        it imports the websocket client and opens the local history file)."""
        from client.agent.live import realtime_available

        agent = self.console.agent
        if agent is None or self.live.client is not None:
            return
        if not realtime_available():
            self.window.chat_page.inbox.set_state(
                self.tr("Live chat is not available in this build.")
            )
            return
        backend = self.console.backend
        post = self.live.post
        email = agent.email

        def make() -> object:
            from client.agent.live import make_agent_realtime
            from client.agent.session import USER_PREFIX
            from client.core.chatstore import chat_path
            from client.core.paths import data_dir

            path = chat_path(data_dir(), backend.server_url, USER_PREFIX + email)
            client = make_agent_realtime(backend.api, backend.server_url, path, post)
            client.start()  # waits (briefly) for its loop thread: not on the GUI thread
            return client

        def made(client: object) -> None:
            if backend is not self.console.backend or self.console.agent is None:
                self.console.runner.run_task(lambda: client.stop(3))  # type: ignore[attr-defined]
                return
            self.live.client = client
            self._send_presence(self.window.presence, self.window.capacity_spin.value())

        self.console.runner.run_task(
            make, made, lambda exc: log.warning("live chat unavailable: %s", exc)
        )

    def _send_presence(self, status: str, capacity: int) -> None:
        self.live.presence(status, capacity)

    def _on_live_event(self, event: object) -> None:
        if type(event).__name__ == "ConnectionChanged":
            self.window.on_live_state(str(getattr(event, "state", "")))

    def stop_realtime(self) -> None:
        """Close the live connection without waiting for it on the GUI thread."""
        client, self.live.client = self.live.client, None
        if client is not None:
            self.console.runner.run_task(lambda: client.stop(3))

    def shutdown_realtime(self) -> None:
        """Close the live connection (if any) before the application exits."""
        self.live.stop(3)

    def _on_signed_out(self, reason: str) -> None:
        self.stop_realtime()
        self.window.set_agent(None)
        self.window.close_ticket_tabs()
        self.show_sign_in(reason)


def setup_logging() -> None:
    """Log to ``<data dir>/logs/agent.log`` (and warnings to stderr)."""
    from client.core.paths import log_dir

    root = logging.getLogger()
    root.setLevel(logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        handler = logging.handlers.RotatingFileHandler(
            log_dir() / "agent.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError as exc:
        print(f"helpbridge-agent: cannot write the log file: {exc}", file=sys.stderr)
    stderr = logging.StreamHandler()
    stderr.setLevel(logging.WARNING)
    stderr.setFormatter(fmt)
    root.addHandler(stderr)


def build(settings: ConsoleSettings | None = None, parent: QObject | None = None) -> Controller:
    """Make the console's objects (also used by tests); ``parent`` owns the
    non-widget ones."""
    from client.agent.canned import CannedStore
    from client.agent.canned_ui import CannedLibrary, translated_starters
    from client.agent.session import Console
    from client.agent.window import ConsoleWindow
    from client.ui.tasks import TaskRunner

    cfg = settings if settings is not None else ConsoleSettings()
    runner = TaskRunner(parent)
    console = Console(runner, cfg, parent)
    starters = translated_starters()

    def make_store() -> CannedStore:
        from client.core.paths import data_dir

        return CannedStore(data_dir(), starters)

    library = CannedLibrary(runner, make_store, parent)
    window = ConsoleWindow(console, library)
    return Controller(console, window, library)


def run(opts: Options) -> int:
    from PySide6.QtWidgets import QApplication

    from client.agent.i18n import install
    from client.agent.session import ConsoleSettings
    from client.ui.app import lighten_pyside_import_hook, log_uncaught
    from client.ui.i18n import resolve_locale
    from client.ui.look import STYLESHEET, app_icon, apply_look
    from client.ui.settings import normalize_server_url

    lighten_pyside_import_hook()
    setup_logging()
    sys.excepthook = log_uncaught
    QApplication.setOrganizationName("HelpBridge")
    QApplication.setApplicationName("Agent")
    QApplication.setApplicationDisplayName("HelpBridge Agent")
    QApplication.setDesktopFileName("helpbridge-agent")
    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setWindowIcon(app_icon())
    settings = ConsoleSettings()
    if opts.server is not None:
        url = normalize_server_url(opts.server)
        if url is None:
            print(f"helpbridge-agent: not an http(s) address: {opts.server!r}", file=sys.stderr)
            return 2
        settings.server_url = url
    locale = resolve_locale(opts.lang, settings.language)
    translators = install(locale)
    apply_look(app, locale)
    app.setStyleSheet(STYLESHEET + AGENT_STYLESHEET)
    controller = build(settings, app)
    controller.window.translators = translators  # type: ignore[attr-defined]  # keep alive

    def shutdown() -> None:
        controller.shutdown_realtime()
        if not controller.console.runner.shutdown(3000):
            log.warning("some background work did not finish before exit")
        settings.sync()

    app.aboutToQuit.connect(shutdown)

    def on_signal(_signum: int, _frame: object) -> None:
        app.quit()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(500)
    controller.window.show()
    QTimer.singleShot(0, controller.start)
    code = app.exec()
    log.info("console exits (%d)", code)
    return int(code)
