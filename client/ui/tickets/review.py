"""The diagnostic bundle, shown to the customer before it is sent.

:class:`DiagnosticsDialog` lists the items of
:func:`client.core.diagnostics.collect` with a checkbox each and shows the
selected item's exact text, so the customer sees what goes into
``diagnostics.zip`` and can leave anything out. Collecting reads log files,
so it runs on the worker pool; the dialog says "Collecting…" meanwhile.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from client.ui.tasks import TaskRunner
from client.ui.tickets.widgets import plain_label

if TYPE_CHECKING:
    from client.core.diagnostics import DiagnosticItem
    from client.ui.tickets.service import DiagnosticsRequest

log = logging.getLogger(__name__)


def item_title(key: str, fallback: str) -> str:
    titles = {
        "versions": QCoreApplication.translate("Tickets", "App and system"),
        "host_context": QCoreApplication.translate("Tickets", "Application context"),
        "log": QCoreApplication.translate("Tickets", "Recent log"),
        "screens": QCoreApplication.translate("Tickets", "Screens"),
        "settings": QCoreApplication.translate("Tickets", "Settings"),
    }
    return titles.get(key, fallback)


def item_description(key: str, fallback: str) -> str:
    texts = {
        "versions": QCoreApplication.translate(
            "Tickets", "HelpBridge, Qt, Python and operating system versions."
        ),
        "host_context": QCoreApplication.translate(
            "Tickets",
            "What the application you asked for help from told HelpBridge "
            "(e.g. the module and version you were using).",
        ),
        "log": QCoreApplication.translate(
            "Tickets", "The last lines of HelpBridge's own log, with sign-in secrets removed."
        ),
        "screens": QCoreApplication.translate(
            "Tickets", "Number, size and scaling of your screens (no screen content)."
        ),
        "settings": QCoreApplication.translate(
            "Tickets", "HelpBridge's settings, without passwords or keys."
        ),
    }
    return texts.get(key, fallback)


class DiagnosticsDialog(QDialog):
    """Review and choose the diagnostic items. ``items()`` after Accepted."""

    def __init__(
        self,
        runner: TaskRunner,
        request: DiagnosticsRequest,
        parent: QWidget | None = None,
        *,
        chosen: list[DiagnosticItem] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("DiagnosticsDialog")
        self.setWindowTitle(self.tr("Diagnostic information"))
        self.resize(760, 500)
        self._items: list[DiagnosticItem] = []
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        intro = QLabel(
            self.tr(
                "This is exactly what will be attached to your ticket as diagnostics.zip. "
                "Untick anything you do not want to send."
            ),
            self,
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        row = QHBoxLayout()
        self.list = QListWidget(self)
        self.list.setObjectName("DiagnosticItems")
        self.list.setMaximumWidth(230)
        self.list.currentRowChanged.connect(self._show)
        self.list.itemChanged.connect(self._on_item_changed)
        row.addWidget(self.list)
        right = QVBoxLayout()
        self.description = plain_label("", self, "FieldHint")
        self.description.setWordWrap(True)
        right.addWidget(self.description)
        self.preview = QPlainTextEdit(self)
        self.preview.setObjectName("DiagnosticPreview")
        self.preview.setReadOnly(True)
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self.preview.setFont(mono)
        right.addWidget(self.preview, 1)
        row.addLayout(right, 1)
        layout.addLayout(row, 1)
        self.status = plain_label(self.tr("Collecting…"), self, "FieldHint")
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        layout.addWidget(self.buttons)
        if chosen is not None:
            self.set_items(chosen)
        else:
            runner.run_task(request.collect, self.set_items, self._failed)

    def set_items(self, items: list[DiagnosticItem]) -> None:
        self._items = list(items)
        self.list.blockSignals(True)
        self.list.clear()
        for item in self._items:
            entry = QListWidgetItem(item_title(item.key, item.title))
            entry.setFlags(entry.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            entry.setCheckState(Qt.CheckState.Checked if item.included else Qt.CheckState.Unchecked)
            self.list.addItem(entry)
        self.list.blockSignals(False)
        self.status.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        if self._items:
            self.list.setCurrentRow(0)

    def _failed(self, exc: BaseException) -> None:
        log.warning("could not collect diagnostics: %s", exc)
        self.status.setText(self.tr("The diagnostic information could not be collected."))

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self._items):
            self.preview.clear()
            self.description.clear()
            return
        item = self._items[row]
        self.description.setText(item_description(item.key, item.description))
        self.preview.setPlainText(item.content)

    def _on_item_changed(self, entry: QListWidgetItem) -> None:
        row = self.list.row(entry)
        if 0 <= row < len(self._items):
            self._items[row].included = entry.checkState() == Qt.CheckState.Checked

    def set_included(self, key: str, included: bool) -> None:
        for row, item in enumerate(self._items):
            if item.key == key:
                entry = self.list.item(row)
                entry.setCheckState(Qt.CheckState.Checked if included else Qt.CheckState.Unchecked)

    def items(self) -> list[DiagnosticItem]:
        return list(self._items)

    def included_keys(self) -> list[str]:
        return [i.key for i in self._items if i.included]
