"""News about the customer's tickets, behind a small interface.

:class:`UpdateSource` is what the ticket service listens to: it reports the
tickets that changed (``changed(list[TicketSummary], full)``). Today the only
source is :class:`PollingUpdates`, which asks the service every 30 seconds
for the tickets updated since the newest change it has seen; a push channel
(the chat issue's WebSocket) can replace it without touching the screens.

Polling runs on the worker pool and only while the portal believes the
service is reachable; a failed poll is reported and the next one comes at
the usual interval (the portal's health check notices a dead connection).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from client.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from protocol.tickets import TicketSummary

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 30.0
OVERLAP = timedelta(seconds=1)
"""Asked again for a second before the newest change seen: two updates in the
same instant are not missed; the repeats are recognised by their times."""

Fetch = Callable[["datetime | None"], "Sequence[TicketSummary]"]
"""``fetch(since)``: the tickets updated after ``since`` (all of them for None).
Blocking: runs on a worker."""


class UpdateSource(QObject):
    """Reports changed tickets. Subclasses decide how they learn about them.

    Signals:
        changed(list, bool): TicketSummary values; True when it is the whole
            list (the first report after start), False for the changes only.
        failed(object): the exception of an attempt that did not work.
    """

    changed = Signal(list, bool)
    failed = Signal(object)

    def start(self) -> None:
        """Begin reporting, with the whole list first."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop; nothing is reported after this, not even a late answer."""
        raise NotImplementedError

    def poll_now(self) -> None:
        """Look for news now (the connection came back, something was sent)."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError


class PollingUpdates(UpdateSource):
    """Asks ``fetch(since)`` on the worker pool every ``interval_s`` seconds."""

    def __init__(
        self,
        runner: TaskRunner,
        fetch: Fetch,
        *,
        interval_s: float = POLL_INTERVAL_S,
        can_poll: Callable[[], bool] = lambda: True,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self.fetch = fetch
        self.can_poll = can_poll
        self.since: datetime | None = None
        self.polls = 0
        self._full = True
        self._epoch = 0
        self._busy = False
        self._running = False
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.poll_now)

    @property
    def interval_s(self) -> float:
        return self._timer.interval() / 1000

    @interval_s.setter
    def interval_s(self, value: float) -> None:
        self._timer.setInterval(int(value * 1000))

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        self.stop()
        self._running = True
        self._full = True
        self.since = None
        self._timer.start()
        self.poll_now()

    def stop(self) -> None:
        self._running = False
        self._epoch += 1
        self._busy = False
        self._timer.stop()

    def poll_now(self) -> None:
        if not self._running or self._busy or not self.can_poll():
            return
        self._busy = True
        epoch = self._epoch
        full = self._full
        since = None if full else (self.since - OVERLAP if self.since is not None else None)
        fetch = self.fetch
        self.polls += 1
        self.runner.run_task(
            lambda: list(fetch(since)),
            lambda found: self._done(epoch, full, found),
            lambda exc: self._error(epoch, exc),
        )

    def _done(self, epoch: int, full: bool, found: list[Any]) -> None:
        if epoch != self._epoch:
            return
        self._busy = False
        self._full = False
        for summary in found:
            if self.since is None or summary.updated_at > self.since:
                self.since = summary.updated_at
        self.changed.emit(found, full)

    def _error(self, epoch: int, exc: BaseException) -> None:
        if epoch != self._epoch:
            return
        self._busy = False
        log.info("ticket poll failed: %s", getattr(exc, "code", type(exc).__name__))
        self.failed.emit(exc)
