"""The portal's threading model: work runs on pool threads, results arrive
on the GUI thread, superseded results are dropped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QCoreApplication, QThread

from client.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot


def sleep_then(seconds: float, value: object) -> object:
    time.sleep(seconds)
    return value


@pytest.fixture
def runner(qapp: QApplication) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    r.shutdown(2000)
    r.deleteLater()


def test_work_runs_off_the_gui_thread_and_result_arrives_on_it(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    gui = QThread.currentThread()
    seen: dict[str, object] = {}

    def work() -> int:
        seen["worker_is_gui"] = QThread.currentThread() is gui
        seen["worker_ident"] = threading.get_ident()
        return 42

    def done(value: int) -> None:
        seen["value"] = value
        app = QCoreApplication.instance()
        assert app is not None
        seen["callback_is_gui"] = QThread.currentThread() is app.thread()
        seen["callback_ident"] = threading.get_ident()

    runner.run_task(work, done)
    qtbot.waitUntil(lambda: "value" in seen, timeout=5000)
    assert seen["value"] == 42
    assert seen["worker_is_gui"] is False
    assert seen["callback_is_gui"] is True
    assert seen["callback_ident"] == threading.get_ident()
    assert seen["worker_ident"] != threading.get_ident()


def test_exception_goes_to_on_error(qtbot: QtBot, runner: TaskRunner) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        raise ValueError("boom")

    runner.run_task(work, lambda _v: pytest.fail("on_done called"), errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], ValueError)
    assert str(errors[0]) == "boom"


def test_gui_thread_stays_responsive_while_work_blocks(qtbot: QtBot, runner: TaskRunner) -> None:
    done: list[int] = []
    runner.run_task(lambda: sleep_then(0.6, 1), done.append)
    # The event loop keeps running while the worker sleeps.
    ticks = 0
    start = time.monotonic()
    while not done:
        qtbot.wait(20)
        ticks += 1
        assert time.monotonic() - start < 5
    assert ticks >= 10


def test_stale_results_of_a_superseded_key_are_dropped(qtbot: QtBot, runner: TaskRunner) -> None:
    delivered: list[str] = []
    release_old = threading.Event()

    def old() -> str:
        release_old.wait(5)
        return "old"

    runner.run_latest("search", old, delivered.append)
    runner.run_latest("search", lambda: "new", delivered.append)
    qtbot.waitUntil(lambda: delivered == ["new"], timeout=5000)
    release_old.set()
    # The old task finishes now; give its result time to arrive and be dropped.
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    qtbot.wait(50)
    assert delivered == ["new"]


def test_supersede_drops_pending_result(qtbot: QtBot, runner: TaskRunner) -> None:
    delivered: list[str] = []
    runner.run_latest("article", lambda: sleep_then(0.2, "a"), delivered.append)
    runner.supersede("article")
    qtbot.waitUntil(lambda: runner.pending == 0, timeout=5000)
    qtbot.wait(50)
    assert delivered == []


def test_independent_keys_do_not_drop_each_other(qtbot: QtBot, runner: TaskRunner) -> None:
    delivered: list[str] = []
    runner.run_latest("search", lambda: "s", delivered.append)
    runner.run_latest("categories", lambda: "c", delivered.append)
    qtbot.waitUntil(lambda: len(delivered) == 2, timeout=5000)
    assert sorted(delivered) == ["c", "s"]


def test_serial_pool_keeps_order(qtbot: QtBot, runner: TaskRunner) -> None:
    order: list[int] = []
    lock = threading.Lock()

    def job(i: int) -> Callable[[], int]:
        def run() -> int:
            time.sleep(0.02 if i % 2 == 0 else 0)
            with lock:
                order.append(i)
            return i

        return run

    for i in range(6):
        runner.run_task(job(i), serial=True)
    qtbot.waitUntil(lambda: len(order) == 6, timeout=5000)
    assert order == list(range(6))


def test_busy_signal(qtbot: QtBot, runner: TaskRunner) -> None:
    with qtbot.waitSignal(runner.busy_changed, timeout=2000) as started:
        runner.run_task(lambda: time.sleep(0.1))
    assert started.args == [True]
    with qtbot.waitSignal(runner.busy_changed, timeout=5000) as finished:
        pass
    assert finished.args == [False]


def test_callback_error_does_not_break_delivery(qtbot: QtBot, runner: TaskRunner) -> None:
    delivered: list[int] = []

    def bad(_v: object) -> None:
        raise RuntimeError("bug in callback")

    runner.run_task(lambda: 1, bad)
    runner.run_task(lambda: 2, delivered.append)
    qtbot.waitUntil(lambda: delivered == [2], timeout=5000)


def test_nothing_is_delivered_after_shutdown(qtbot: QtBot, qapp: QApplication) -> None:
    runner = TaskRunner()
    delivered: list[int] = []
    runner.run_task(lambda: sleep_then(0.2, 1), delivered.append)
    assert runner.shutdown(2000) is True
    qtbot.wait(100)
    assert delivered == []
    runner.deleteLater()
