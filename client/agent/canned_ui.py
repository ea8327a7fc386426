"""Canned replies in the console: the shared library (loaded and saved on a
worker) and the small dialog that edits it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from client.agent.canned import CannedReply, CannedStore, validate
from client.ui.tasks import TaskRunner

log = logging.getLogger(__name__)


def translated_starters() -> tuple[CannedReply, ...]:
    """The starter replies in the agent's language (used when no file exists yet)."""
    return (
        CannedReply(
            "hello",
            QCoreApplication.translate("CannedReplies", "Greeting"),
            QCoreApplication.translate("CannedReplies", "Hello, thank you for contacting us. "),
        ),
        CannedReply(
            "thanks",
            QCoreApplication.translate("CannedReplies", "Thanks and close"),
            QCoreApplication.translate(
                "CannedReplies",
                "Thank you for your patience. I am closing this request now; reply here any "
                "time if the problem comes back.",
            ),
        ),
        CannedReply(
            "logs",
            QCoreApplication.translate("CannedReplies", "Ask for logs"),
            QCoreApplication.translate(
                "CannedReplies",
                "Could you send us the diagnostic bundle? In HelpBridge choose Help > "
                "Diagnostics, then attach the file here.",
            ),
        ),
    )


class CannedLibrary(QObject):
    """The agent's canned replies, shared by every reply box.

    Signals:
        changed(): :attr:`replies` was loaded or edited.
        failed(str): the file could not be written (translated sentence).
    """

    changed = Signal()
    failed = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        make_store: Callable[[], CannedStore],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        # Made on a worker: finding the data directory may create it.
        self._make_store = make_store
        self._store: CannedStore | None = None
        self.replies: list[CannedReply] = []
        self.loaded = False

    @property
    def store(self) -> CannedStore:
        """Worker threads only."""
        if self._store is None:
            self._store = self._make_store()
        return self._store

    def load(self) -> None:
        self.runner.run_task(
            lambda: self.store.load(), self._on_loaded, self._on_load_error, serial=True
        )

    def _on_loaded(self, replies: list[CannedReply]) -> None:
        self.replies = list(replies)
        self.loaded = True
        self.changed.emit()

    def _on_load_error(self, exc: BaseException) -> None:
        log.warning("cannot load canned replies: %s", exc)
        self.loaded = True
        self.changed.emit()

    def set_replies(self, replies: list[CannedReply]) -> None:
        """Use ``replies`` now and write them to disk in the background."""
        self.replies = validate(replies)
        self.changed.emit()
        snapshot = list(self.replies)
        self.runner.run_task(
            lambda: self.store.save(snapshot),
            None,
            lambda exc: self.failed.emit(
                self.tr("The canned replies could not be saved: %1").replace("%1", str(exc))
            ),
            serial=True,
        )


class CannedEditor(QDialog):
    """Edit the list: shortcut, title and text per row."""

    def __init__(self, replies: list[CannedReply], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Canned replies"))
        self.resize(720, 420)
        layout = QVBoxLayout(self)
        hint = QLabel(
            self.tr(
                "Type / and the shortcut in a reply box to insert a reply, or pick it from the "
                "Canned replies menu."
            ),
            self,
        )
        hint.setObjectName("Hint")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Shortcut"), self.tr("Title"), self.tr("Text")]
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        for reply in replies:
            self._add_row(reply.shortcut, reply.title, reply.text)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        add = QPushButton(self.tr("Add"), self)
        add.clicked.connect(lambda: self._add_row("", "", "", edit=True))
        remove = QPushButton(self.tr("Remove"), self)
        remove.clicked.connect(self._remove_selected)
        row.addWidget(add)
        row.addWidget(remove)
        row.addStretch(1)
        layout.addLayout(row)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _add_row(self, shortcut: str, title: str, text: str, *, edit: bool = False) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, value in enumerate((shortcut, title, text)):
            self.table.setItem(row, column, QTableWidgetItem(value))
        first = self.table.item(row, 0)
        if edit and first is not None:
            self.table.setCurrentCell(row, 0)
            self.table.editItem(first)

    def _remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)

    def replies(self) -> list[CannedReply]:
        out = []
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in range(3)]
            shortcut, title, text = (cell.text() if cell is not None else "" for cell in cells)
            out.append(CannedReply(shortcut, title, text))
        return validate(out)
