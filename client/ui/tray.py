"""The system tray icon: show/hide the window and quit.

Only created when ``QSystemTrayIcon.isSystemTrayAvailable()``; without a tray,
closing the window quits the portal.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from client.ui.look import app_icon


class Tray(QObject):
    """Tray icon with a small menu.

    Signals:
        quit_requested(): the user chose Quit.
    """

    quit_requested = Signal()

    def __init__(self, window: QWidget, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.icon = QSystemTrayIcon(app_icon(), self)
        self.icon.setToolTip("HelpBridge")
        self.menu = QMenu()
        self.toggle_action = QAction(self.tr("Show HelpBridge"), self.menu)
        self.toggle_action.triggered.connect(self.toggle_window)
        quit_action = QAction(self.tr("Quit"), self.menu)
        quit_action.triggered.connect(self.quit_requested)
        self.menu.addAction(self.toggle_action)
        self.menu.addSeparator()
        self.menu.addAction(quit_action)
        self.menu.aboutToShow.connect(self._update_toggle_text)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def _update_toggle_text(self) -> None:
        visible = self.window.isVisible() and not self.window.isMinimized()
        self.toggle_action.setText(
            self.tr("Hide HelpBridge") if visible else self.tr("Show HelpBridge")
        )

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.toggle_window()

    def toggle_window(self) -> None:
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.hide()
        else:
            if self.window.isMinimized():
                self.window.showNormal()
            self.window.show()
            self.window.raise_()
            self.window.activateWindow()

    def show_hidden_message(self) -> None:
        self.icon.showMessage(
            "HelpBridge",
            self.tr("HelpBridge is still running here. Click the icon to open it again."),
            QSystemTrayIcon.MessageIcon.Information,
            5000,
        )
