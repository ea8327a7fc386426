"""How the portal keeps its window responsive: the one threading model of ``client.ui``.

Rule: **the GUI thread never waits on the network, the disk or the keyring.**

* Blocking work (every :class:`client.core.api.ApiClient` call, the
  :class:`~client.core.cache.OfflineCache`, the
  :class:`~client.core.tokens.TokenStore`) is handed to :meth:`TaskRunner.run_task`
  as a plain callable. It runs on a :class:`~PySide6.QtCore.QThreadPool`
  worker.
* The worker never touches a widget. Its result (or exception) travels back to
  the GUI thread through a *queued* signal on the runner, which lives in the GUI
  thread; only there are ``on_done`` / ``on_error`` called, so they may update
  widgets freely.
* Two pools: ``general`` (a few threads) for network requests that may run side
  by side, and ``serial`` (one thread) for work whose order matters, such as
  saving a refresh token right after the one before it.
* Searches are superseded while the user types. :meth:`TaskRunner.run_latest`
  tags each task with a per-key generation number; a result whose generation is
  no longer the newest for its key is dropped on arrival, so a slow answer to
  an old query never overwrites the answer to the new one.
* A later part of the portal (live chat) will run an asyncio event loop on a
  thread of its own; it will reach the GUI the same way, by emitting a signal
  on a QObject that lives in the GUI thread. Nothing here assumes it is the
  only source of background work.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

OnDone = Callable[[Any], None]
OnError = Callable[[BaseException], None]


@dataclass(slots=True)
class _Pending:
    on_done: OnDone | None
    on_error: OnError | None
    key: str | None
    generation: int


class _Job(QRunnable):
    """Runs one callable on a pool thread and reports through ``runner``."""

    def __init__(self, runner: TaskRunner, task_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self._runner = runner
        self._task_id = task_id
        self._fn = fn

    def run(self) -> None:
        ok = True
        try:
            result: object = self._fn()
        except BaseException as exc:  # reported to on_error, never lost on a pool thread
            ok, result = False, exc
        # RuntimeError: the runner was deleted while this task ran (app closing).
        with contextlib.suppress(RuntimeError):
            self._runner._finished.emit(self._task_id, ok, result)


class TaskRunner(QObject):
    """Runs blocking callables off the GUI thread; see the module docstring.

    Signals:
        busy_changed(bool): True while at least one task is running.
    """

    busy_changed = Signal(bool)
    # Emitted from pool threads; connected with a queued connection so the
    # slot always runs in the thread this object lives in (the GUI thread).
    _finished = Signal(int, bool, object)

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4) -> None:
        super().__init__(parent)
        self.general = QThreadPool(self)
        self.general.setMaxThreadCount(max_threads)
        self.serial = QThreadPool(self)
        self.serial.setMaxThreadCount(1)
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- submitting --------------------------------------------------------

    def run_task(
        self,
        fn: Callable[[], Any],
        on_done: OnDone | None = None,
        on_error: OnError | None = None,
        *,
        serial: bool = False,
    ) -> int:
        """Run ``fn()`` on a worker; call ``on_done(result)`` or ``on_error(exc)``
        later on the GUI thread. Returns the task id."""
        return self._submit(fn, on_done, on_error, key=None, serial=serial)

    def run_latest(
        self,
        key: str,
        fn: Callable[[], Any],
        on_done: OnDone | None = None,
        on_error: OnError | None = None,
    ) -> int:
        """Like :meth:`run_task`, but only the newest task for ``key`` reports:
        the outcome of any task submitted earlier under the same key is dropped."""
        return self._submit(fn, on_done, on_error, key=key, serial=False)

    def supersede(self, key: str) -> None:
        """Drop whatever is still pending under ``key`` (e.g. the view changed)."""
        self._generations[key] = self._generations.get(key, 0) + 1

    def is_current(self, key: str, generation: int) -> bool:
        return self._generations.get(key, 0) == generation

    def _submit(
        self,
        fn: Callable[[], Any],
        on_done: OnDone | None,
        on_error: OnError | None,
        *,
        key: str | None,
        serial: bool,
    ) -> int:
        task_id = next(self._ids)
        generation = 0
        if key is not None:
            self.supersede(key)
            generation = self._generations[key]
        if self._closed:
            return task_id
        was_idle = not self._pending
        self._pending[task_id] = _Pending(on_done, on_error, key, generation)
        (self.serial if serial else self.general).start(_Job(self, task_id, fn))
        if was_idle:
            self.busy_changed.emit(True)
        return task_id

    # -- delivering (GUI thread) --------------------------------------------

    @Slot(int, bool, object)
    def _deliver(self, task_id: int, ok: bool, payload: object) -> None:
        pending = self._pending.pop(task_id, None)
        if not self._pending:
            self.busy_changed.emit(False)
        if pending is None or self._closed:
            return
        if pending.key is not None and not self.is_current(pending.key, pending.generation):
            log.debug("dropped stale result of %s task %d", pending.key, task_id)
            return
        try:
            if ok:
                if pending.on_done is not None:
                    pending.on_done(payload)
            elif pending.on_error is not None:
                assert isinstance(payload, BaseException)
                pending.on_error(payload)
            else:
                log.error("background task failed", exc_info=payload)  # type: ignore[arg-type]
        except Exception:
            # A bug in a callback must not take the event loop down with it.
            log.exception("error in task callback")

    # -- lifecycle --------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._pending)

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Stop delivering results, drop queued tasks and wait up to
        ``timeout_ms`` for running ones. Returns False if some still run."""
        self._closed = True
        self.general.clear()
        self.serial.clear()
        done_general = self.general.waitForDone(timeout_ms)
        done_serial = self.serial.waitForDone(max(100, timeout_ms // 2))
        return bool(done_general and done_serial)
