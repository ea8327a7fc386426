"""The portal's live chat with support.

* :class:`~client.ui.chat.page.ChatPage` — the Chat section: bubbles, the
  bot's article cards, states, typing, the composer with screenshots and files.
* :mod:`client.ui.chat.badge` — unread counts on the tray icon and the dock.

The connection itself is :class:`client.ui.realtime_bridge.RealtimeBridge`
(over the Qt-free :mod:`client.core.realtime`).
"""

from client.ui.chat.page import ChatPage

__all__ = ["ChatPage"]
