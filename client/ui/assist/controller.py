"""Remote assist in the portal: from the agent's request to the end notice.

:class:`AssistController` lives in the GUI thread. It follows the
customer's sessions through ``AssistChanged`` events of the realtime bridge
(and the answers of its own REST calls, which hold the whole session too):

* ``requested``: the :class:`ConsentDialog`. Allow/Deny/timeout is sent
  with ``POST /consent``. Nothing is captured yet: the :class:`AssistHost`
  is made only when the service says the session is ``active``, and only
  for a session this portal allowed (a live session it does not know, say
  after a restart, is ended rather than shared without a dialog);
* ``control_requested``: the second dialog, with the clipboard question;
* live: the banner and the border on the shared screen. Pause, Stop control
  and End act locally first (the host stops capturing or drops input at
  once) and then tell the service on a worker. Resuming waits for the
  service, so a lost request never shares more than the customer chose;
* final: the host stops, the banner and border close, and a small window
  says why the session ended.

The host reports on its own thread; its events reach the GUI thread only
through a queued signal. Clipboard text goes both ways through Qt's
clipboard, only while the customer allows it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRect, Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QMessageBox, QWidget

from client.ui.assist.banner import ScreenBorder, SessionBanner, state_colour
from client.ui.assist.code import CodeDialog
from client.ui.assist.consent import ConsentAnswer, ConsentDialog
from client.ui.errors import error_message, exception_code

if TYPE_CHECKING:
    from client.core.assist.capture import ScreenSource
    from client.core.assist.host import AssistHost, HostEvent
    from client.core.assist.inject import InputSink
    from client.ui.portal import Portal
    from client.ui.realtime_bridge import RealtimeBridge
    from protocol.assist import AssistSession

log = logging.getLogger(__name__)

Rect4 = tuple[int, int, int, int]
SourceFactory = Callable[[Rect4 | None], "ScreenSource"]
SinkFactory = Callable[[tuple[int, int]], "InputSink"]


def _mss_source(want: Rect4 | None) -> ScreenSource:
    from client.core.assist.capture import MssSource, monitors, pick_monitor

    return MssSource(pick_monitor(monitors(), want))


def _pynput_sink(origin: tuple[int, int]) -> InputSink:
    from client.core.assist.inject import PynputSink

    return PynputSink(origin)


def physical_rect(screen: QScreen) -> Rect4:
    """A screen's geometry in physical pixels (what mss reports)."""
    geo, ratio = screen.geometry(), screen.devicePixelRatio()
    return (
        round(geo.x() * ratio),
        round(geo.y() * ratio),
        round(geo.width() * ratio),
        round(geo.height() * ratio),
    )


class AssistController(QObject):
    """See the module docstring.

    Signals:
        session_changed(object): the latest AssistSession this portal knows.
        ended(str, str): (title, text) told to the customer at the end.
    """

    session_changed = Signal(object)
    ended = Signal(str, str)
    _host_event = Signal(int, object)

    def __init__(
        self,
        portal: Portal,
        realtime: RealtimeBridge | None = None,
        parent: QObject | None = None,
        *,
        consent_timeout_s: float | None = None,
        source_factory: SourceFactory = _mss_source,
        sink_factory: SinkFactory = _pynput_sink,
        fps: float = 60.0,
    ) -> None:
        super().__init__(parent)
        self.portal = portal
        self.consent_timeout_s = consent_timeout_s
        self.source_factory = source_factory
        self.sink_factory = sink_factory
        self.fps = fps
        self.sessions: dict[int, AssistSession] = {}
        self.consent_dialogs: dict[int, ConsentDialog] = {}
        self.control_dialog: ConsentDialog | None = None
        self.code_dialog: CodeDialog | None = None
        self.banner: SessionBanner | None = None
        self.border: ScreenBorder | None = None
        self.ended_box: QMessageBox | None = None
        self.host: AssistHost | None = None
        self.live_id: int | None = None
        self._allowed: set[int] = set()  # sessions this portal allowed
        self._answered: set[int] = set()  # requests answered (awaiting the service)
        self._ending: set[int] = set()
        self._control_answered = False  # a control request answered, not yet cleared
        self._local_pause = False
        self._control_revoked = False
        self._screen: QScreen | None = None
        self._told: set[int] = set()  # sessions whose end the customer was told
        self._from_agent = ""  # the agent's last clipboard text (not sent back)
        self._host_event.connect(self._on_host_event, Qt.ConnectionType.QueuedConnection)
        if realtime is not None:
            realtime.received.connect(self.on_event)
            realtime.connection_changed.connect(self._on_connection)
        portal.customer_changed.connect(self._on_customer)
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.dataChanged.connect(self._on_local_clipboard)

    # -- inputs -----------------------------------------------------------------------------

    @Slot(object)
    def on_event(self, event: Any) -> None:
        from client.core.realtime import AssistChanged

        if isinstance(event, AssistChanged):
            self.apply(event.session)

    def _on_connection(self, event: Any) -> None:
        if getattr(event, "state", "") == "online":
            self.refresh()

    def _on_customer(self, customer: object) -> None:
        if customer is None:
            self._stop_local(None)
            for dialog in list(self.consent_dialogs.values()):
                dialog.withdraw()
            self.consent_dialogs.clear()

    def refresh(self) -> None:
        """Read the customer's open sessions (after a reconnect: a request
        may have come while the portal was not listening)."""
        self._call(lambda api: api.assist_sessions(), self._apply_list)

    def _apply_list(self, result: Any) -> None:
        for session in result.sessions:
            self.apply(session)

    # -- the session's state -------------------------------------------------------------

    def apply(self, session: AssistSession) -> None:
        """Make the UI match ``session`` (an event, or the answer to a call)."""
        known = self.sessions.get(session.id)
        if known is not None and known.status.final and not session.status.final:
            return  # an older state arriving late
        self.sessions[session.id] = session
        self.session_changed.emit(session)
        if session.status.final:
            self._finish(session)
        elif session.status == "requested":
            self._ask(session)
        elif session.id in self._ending:
            return  # the customer ended it here: a late "live" state changes nothing
        elif session.id in self._allowed:
            self._live(session)
        else:
            # Live, but not allowed here (the portal restarted mid-session):
            # never share without the customer seeing it; end it.
            log.info("assist %d is live but was not allowed here: ending it", session.id)
            self.end(session.id)

    def _ask(self, session: AssistSession) -> None:
        if session.id in self.consent_dialogs or session.id in self._answered:
            return
        if self.code_dialog is not None:
            self.code_dialog.close()  # the agent used the code: the consent dialog follows
        dialog = ConsentDialog(session, "view", timeout_s=self.consent_timeout_s)
        dialog.answered.connect(lambda answer, sid=session.id: self._on_consent(sid, answer))
        self.consent_dialogs[session.id] = dialog
        log.info("assist %d: asking the customer (agent %d)", session.id, session.agent.id)
        dialog.present()

    def _on_consent(self, session_id: int, answer: ConsentAnswer) -> None:
        self.consent_dialogs.pop(session_id, None)
        self._answered.add(session_id)
        if answer.allow:
            self._allowed.add(session_id)
        log.info(
            "assist %d: customer %s%s",
            session_id,
            "allowed" if answer.allow else "denied",
            " (timed out)" if answer.timed_out else "",
        )
        from protocol.assist import Consent

        consent = Consent(allow=answer.allow, timed_out=answer.timed_out)
        self._call(
            lambda api: api.assist_consent(session_id, consent),
            self.apply,
            lambda exc: self._refetch(session_id, exc),
        )

    def _live(self, session: AssistSession) -> None:
        dialog = self.consent_dialogs.pop(session.id, None)
        if dialog is not None:
            dialog.withdraw()
        if self.live_id is None:
            self._start(session)
        elif self.live_id != session.id:
            log.warning("assist %d: another session is already live; ending it", session.id)
            self.end(session.id)
            return
        if session.control_requested:
            if self.control_dialog is None and not self._control_answered:
                self._ask_control(session)
        else:
            self._control_answered = False
            if self.control_dialog is not None:
                self.control_dialog.withdraw()
                self.control_dialog = None
        self._apply_flags()

    def _ask_control(self, session: AssistSession) -> None:
        dialog = ConsentDialog(session, "control", timeout_s=self.consent_timeout_s)
        dialog.answered.connect(lambda answer, sid=session.id: self._on_control(sid, answer))
        self.control_dialog = dialog
        dialog.present()

    def _on_control(self, session_id: int, answer: ConsentAnswer) -> None:
        self.control_dialog = None
        self._control_answered = True
        if answer.allow:
            self._control_revoked = False
        allow = answer.allow

        from protocol.assist import ClipboardConsent, ControlConsent

        def send(api: Any) -> AssistSession:
            session: AssistSession = api.assist_control_consent(
                session_id, ControlConsent(allow=allow)
            )
            if answer.clipboard:
                session = api.assist_clipboard(session_id, ClipboardConsent(allow=True))
            return session

        self._call(send, self.apply, lambda exc: self._refetch(session_id, exc))

    # -- what the customer does during a session ------------------------------------------

    @property
    def paused(self) -> bool:
        session = self._live_session()
        return self._local_pause or (session is not None and session.status == "paused")

    @property
    def controlling(self) -> bool:
        session = self._live_session()
        return (
            session is not None
            and session.mode == "control"
            and not self._control_revoked
            and not self.paused
        )

    def _live_session(self) -> AssistSession | None:
        return None if self.live_id is None else self.sessions.get(self.live_id)

    def set_paused(self, paused: bool) -> None:
        """Pause: capture stops here and now, then the service is told.
        Resume: the service is told; sharing resumes when it confirms."""
        session_id = self.live_id
        if session_id is None:
            return
        self._local_pause = paused
        self._apply_flags()
        from protocol.assist import Pause

        self._call(lambda api: api.assist_pause(session_id, Pause(paused=paused)), self.apply)

    def stop_control(self) -> None:
        """Take control back: input is dropped at once, then the service is told."""
        session_id = self.live_id
        if session_id is None:
            return
        self._control_revoked = True
        self._apply_flags()
        from protocol.assist import ControlConsent

        self._call(
            lambda api: api.assist_control_consent(session_id, ControlConsent(allow=False)),
            self.apply,
        )

    def end(self, session_id: int | None = None) -> None:
        """End a session (the live one by default): sharing stops at once."""
        session_id = self.live_id if session_id is None else session_id
        if session_id is None:
            return
        self._ending.add(session_id)
        if session_id == self.live_id:
            self._stop_local(session_id)
        self._call(
            lambda api: api.end_assist(session_id),
            self.apply,
            lambda exc: log.warning("assist %d: end failed: %s", session_id, exc),
        )

    def _apply_flags(self) -> None:
        session = self._live_session()
        if session is None:
            return
        paused, controlling = self.paused, self.controlling
        host = self.host
        if host is not None:
            host.set_paused(paused)
            host.set_control(controlling)
            host.set_clipboard(session.clipboard and not paused)
        if self.banner is not None:
            self.banner.set_state(session, paused, controlling)
            self._place()
        if self.border is not None:
            self.border.set_colour(state_colour(paused, controlling))

    # -- the host -----------------------------------------------------------------------------

    def _start(self, session: AssistSession) -> None:
        self.live_id = session.id
        self._local_pause = False
        self._control_revoked = False
        self._control_answered = False
        screen = QGuiApplication.primaryScreen()
        self._screen = screen
        want = physical_rect(screen) if screen is not None else None
        backend = self.portal.backend
        server_url = self.portal.server_url
        emit = self._host_event.emit
        source_factory, sink_factory, fps = self.source_factory, self.sink_factory, self.fps
        control = session.mode == "control"
        paused = session.status == "paused"
        clipboard = session.clipboard
        session_id = session.id

        def make() -> AssistHost:
            # On a worker: the first import of numpy and the encoders is disk work.
            from client.core.assist.host import AssistHost, HostConfig

            origin: list[tuple[int, int]] = [(0, 0)]

            def open_source() -> ScreenSource:
                source = source_factory(want)
                monitor = getattr(source, "monitor", None)
                if monitor is not None:
                    origin[0] = (monitor.left, monitor.top)
                return source

            def deliver(event: HostEvent) -> None:
                # RuntimeError: the controller is gone (the portal is quitting).
                with contextlib.suppress(RuntimeError):
                    emit(session_id, event)

            host = AssistHost(
                server_url,
                session_id,
                lambda: backend.access_token,
                open_source,
                lambda: sink_factory(origin[0]),
                deliver,
                refresh_token=lambda: backend.api.refresh().access_token,
                control=control,
                clipboard=clipboard,
                paused=paused,
                config=HostConfig(fps=fps),
            )
            host.start()
            return host

        self.banner = SessionBanner()
        self.banner.stop_control_clicked.connect(self.stop_control)
        self.banner.pause_clicked.connect(self.set_paused)
        self.banner.end_clicked.connect(lambda: self.end())
        self.border = ScreenBorder()
        self.banner.set_state(session, paused, control)
        self._place()
        self.banner.show()
        self.border.show_on(self._screen_rect(), state_colour(paused, control))
        log.info("assist %d: sharing starts", session_id)
        self.portal.runner.run_task(
            make,
            lambda host: self._host_made(session_id, host),
            lambda exc: self._host_failed(session_id, exc),
        )

    def _host_made(self, session_id: int, host: AssistHost) -> None:
        if self.live_id != session_id:
            host.stop()  # ended while it was being made
            return
        self.host = host
        self._apply_flags()

    def _host_failed(self, session_id: int, exc: BaseException) -> None:
        log.error("assist %d: sharing could not start: %s", session_id, exc, exc_info=exc)
        if self.live_id == session_id:
            self.end(session_id)

    @Slot(int, object)
    def _on_host_event(self, session_id: int, event: Any) -> None:
        from client.core.assist.host import ClipboardFromAgent, HostStatus

        if session_id != self.live_id:
            return
        if isinstance(event, ClipboardFromAgent):
            session = self._live_session()
            clipboard = QGuiApplication.clipboard()
            if session is not None and session.clipboard and clipboard is not None:
                self._from_agent = event.text
                clipboard.setText(event.text)
        elif (
            isinstance(event, HostStatus)
            and event.state == "stopped"
            and event.detail not in ("local", "not_active")
        ):
            log.warning("assist %d: sharing stopped (%s)", session_id, event.detail)
            self.end(session_id)

    def _on_local_clipboard(self) -> None:
        host, session = self.host, self._live_session()
        if host is None or session is None or not session.clipboard or self.paused:
            return
        clipboard = QGuiApplication.clipboard()
        text = clipboard.text() if clipboard is not None else ""
        if text and text != self._from_agent:
            host.send_clipboard(text)

    def _stop_local(self, session_id: int | None) -> None:
        """Stop sharing here (capture, input, banner, border) at once."""
        if session_id is not None and session_id != self.live_id:
            return
        host, self.host = self.host, None
        self.live_id = None
        if host is not None:
            host.stop()  # flags first: nothing more is captured or applied
            self.portal.runner.run_task(lambda: host.stop(5.0))
        if self.control_dialog is not None:
            self.control_dialog.withdraw()
            self.control_dialog = None
        if self.banner is not None:
            self.banner.close()
            self.banner.deleteLater()
            self.banner = None
        if self.border is not None:
            self.border.close()
            self.border = None

    def _finish(self, session: AssistSession) -> None:
        dialog = self.consent_dialogs.pop(session.id, None)
        if dialog is not None:
            dialog.withdraw()
        was_live = session.id == self.live_id or session.started_at is not None
        self._stop_local(session.id)
        self._allowed.discard(session.id)
        if session.status == "ended" and was_live and session.id not in self._told:
            self._told.add(session.id)
            self._tell_ended(session)

    def _tell_ended(self, session: AssistSession) -> None:
        agent = session.agent.name.strip() or self.tr("The support agent")
        reason = session.end_reason
        if reason == "customer":
            text = self.tr("You ended the remote assist session. Your screen is no longer shared.")
        elif reason == "agent":
            text = self.tr("{agent} ended the remote assist session.").format(agent=agent)
        elif reason == "network":
            text = self.tr("The remote assist session ended because the connection was lost.")
        elif reason == "idle":
            text = self.tr("The remote assist session ended because it was idle for too long.")
        else:
            text = self.tr("The support service ended the remote assist session.")
        if reason != "customer":
            text += " " + self.tr("Your screen is no longer shared.")
        title = self.tr("Remote assist ended")
        log.info("assist %d ended (%s)", session.id, reason)
        self.ended.emit(title, text)
        if self.ended_box is not None:
            self.ended_box.close()
        box = QMessageBox(QMessageBox.Icon.Information, title, text)
        box.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setModal(False)
        box.destroyed.connect(lambda *_: setattr(self, "ended_box", None))
        self.ended_box = box
        box.show()

    # -- "Get remote help" ------------------------------------------------------------------

    def open_code_dialog(self, parent: QWidget | None = None) -> CodeDialog:
        if self.code_dialog is None:
            dialog = CodeDialog(parent)
            dialog.new_code_requested.connect(self._new_code)
            dialog.destroyed.connect(lambda *_: setattr(self, "code_dialog", None))
            self.code_dialog = dialog
            self._new_code()
        self.code_dialog.show()
        self.code_dialog.raise_()
        self.code_dialog.activateWindow()
        return self.code_dialog

    def _new_code(self) -> None:
        def done(code: Any) -> None:
            if self.code_dialog is not None:
                self.code_dialog.set_code(code)

        def failed(exc: BaseException) -> None:
            if self.code_dialog is not None:
                self.code_dialog.set_error(error_message(exception_code(exc)))

        self._call(lambda api: api.create_assist_code(), done, failed)

    # -- plumbing -----------------------------------------------------------------------------

    def _call(
        self,
        fn: Callable[[Any], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        backend = self.portal.backend

        def failed(exc: BaseException) -> None:
            log.warning("assist call failed: %s", exc)
            if on_error is not None:
                on_error(exc)

        self.portal.runner.run_task(lambda: fn(backend.api), on_done, failed)

    def _refetch(self, session_id: int, exc: BaseException) -> None:
        """A call was refused (409: the request changed meanwhile): read the
        session as it is now."""
        self._answered.discard(session_id)
        self._call(lambda api: api.assist_session(session_id), self.apply)

    def _place(self) -> None:
        if self.banner is not None:
            self.banner.place(self._screen_rect())

    def _screen_rect(self) -> QRect:
        screen = self._screen or QGuiApplication.primaryScreen()
        return screen.geometry() if screen is not None else QRect(0, 0, 1280, 800)

    def shutdown(self) -> None:
        """The portal quits: stop sharing now."""
        self._stop_local(None)


__all__ = ["AssistController", "physical_rect"]
