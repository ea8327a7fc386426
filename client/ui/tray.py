"""The system tray icon: show/hide the window, quit, and ticket messages.

Only created when ``QSystemTrayIcon.isSystemTrayAvailable()``; without a tray,
closing the window quits the portal.

When the window has a ``notification_requested(title, text, ticket_id)``
signal (the main window does), each emission becomes a tray message;
clicking the message calls the window's ``open_ticket(ticket_id)``.
Likewise ``chat_notification_requested(title, text)`` (a chat message while
the window is hidden; a click calls ``open_chat()``), and
``badge_changed(count)``: the unread count painted onto the tray icon and
shown on the dock/taskbar where Qt supports it.
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
        self.last_ticket: int | None = None
        self.messages: list[tuple[str, str, int]] = []
        """Messages shown, newest last (also what tests look at)."""
        requested = getattr(window, "notification_requested", None)
        if requested is not None:
            requested.connect(self.show_ticket_message)
        self.icon.messageClicked.connect(self._on_message_clicked)
        self.last_chat = False
        self.chat_messages: list[tuple[str, str]] = []
        self.unread = 0
        chat = getattr(window, "chat_notification_requested", None)
        if chat is not None:
            chat.connect(self.show_chat_message)
        badge = getattr(window, "badge_changed", None)
        if badge is not None:
            badge.connect(self.set_badge)

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

    def show_ticket_message(self, title: str, text: str, ticket_id: int) -> None:
        """Support answered or changed a ticket; a click on the message opens it."""
        self.last_ticket = ticket_id
        self.last_chat = False
        self.messages.append((title, text, ticket_id))
        del self.messages[:-20]
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 10000)

    def show_chat_message(self, title: str, text: str) -> None:
        """A chat message arrived while the window is hidden; a click opens the chat."""
        self.last_ticket = None
        self.last_chat = True
        self.chat_messages.append((title, text))
        del self.chat_messages[:-20]
        self.icon.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 10000)

    def set_badge(self, count: int) -> None:
        """Unread tickets and chat messages: on the icon, its tooltip and the dock."""
        from client.ui.chat.badge import badge_icon, set_app_badge

        self.unread = max(0, count)
        self.icon.setIcon(badge_icon(app_icon(), self.unread))
        self.icon.setToolTip(
            self.tr("HelpBridge — {n} unread").format(n=self.unread)
            if self.unread
            else "HelpBridge"
        )
        set_app_badge(self.unread)

    def _on_message_clicked(self) -> None:
        if self.last_chat:
            self.last_chat = False
            opener = getattr(self.window, "open_chat", None)
            if opener is not None:
                opener()
            return
        ticket_id, self.last_ticket = self.last_ticket, None
        opener = getattr(self.window, "open_ticket", None)
        if ticket_id is not None and opener is not None:
            opener(ticket_id)

    def show_hidden_message(self) -> None:
        self.last_ticket = None
        self.last_chat = False
        self.icon.showMessage(
            "HelpBridge",
            self.tr("HelpBridge is still running here. Click the icon to open it again."),
            QSystemTrayIcon.MessageIcon.Information,
            5000,
        )
