"""The live chat connection seen from the GUI thread.

:class:`RealtimeBridge` follows the portal's sign-in: for the signed-in
customer it opens their chat history (:class:`~client.core.chatstore.ChatStore`)
and starts a :class:`~client.core.realtime.RealtimeClient` — both on a worker,
since opening a database is disk work — and stops it when the customer or
the service changes, and when the portal quits.

The client calls back on its own event-loop thread. Those calls only emit a
private signal, connected with a queued connection, so :attr:`event` and the
other signals always fire on the GUI thread (client/ui/tasks.py describes the
threading model). Every event is tagged with the generation of the client
that sent it: a late event of a client already replaced is dropped.

The client's methods (send, mark_read...) are safe to call from the GUI
thread: they only schedule work on the loop and return.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

if TYPE_CHECKING:
    from client.core.chatstore import ChatStore
    from client.core.realtime import ConnectionChanged, RealtimeClient, RealtimeConfig
    from client.ui.portal import Portal
    from protocol.models import Customer

log = logging.getLogger(__name__)


class RealtimeBridge(QObject):
    """Owns the chat client of the signed-in customer.

    Signals:
        received(object): any :mod:`client.core.realtime` event, on the GUI thread.
        connection_changed(object): a :class:`ConnectionChanged`.
        unread_changed(int): messages from support not seen yet.
        ready_changed(bool): a chat client runs (True) or none does.
        stopping(bool): the client and its store are about to close (True:
            the portal quits); the store can still be used in the handler.
    """

    received = Signal(object)
    connection_changed = Signal(object)
    unread_changed = Signal(int)
    ready_changed = Signal(bool)
    stopping = Signal(bool)
    _from_loop = Signal(int, object)

    def __init__(
        self,
        portal: Portal,
        parent: QObject | None = None,
        *,
        config: RealtimeConfig | None = None,
    ) -> None:
        super().__init__(parent)
        self.portal = portal
        self.config = config
        self._running = _Running()
        # Deleted without a shutdown (a window closed in a test, say): the
        # client must not go on talking to a bridge that is gone.
        self.destroyed.connect(functools.partial(_stop_when_gone, self._running))
        self.customer_key: tuple[str, str] | None = None
        self.unread = 0
        self.connection: ConnectionChanged | None = None
        self._generation = 0
        self._from_loop.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        portal.customer_changed.connect(self._on_customer)
        # Offline at start, the customer is still known: their history is
        # shown and what they write is kept, to be sent once signed in.
        account_known = getattr(portal, "account_known", None)
        if account_known is not None:
            account_known.connect(self._on_account_known)
        portal.online_changed.connect(self._on_online)
        portal.server_changed.connect(lambda _url: self.stop())
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    @property
    def client(self) -> RealtimeClient | None:
        return self._running.client

    @client.setter
    def client(self, value: RealtimeClient | None) -> None:
        self._running.client = value

    @property
    def store(self) -> ChatStore | None:
        return self._running.store

    @store.setter
    def store(self, value: ChatStore | None) -> None:
        self._running.store = value

    @property
    def ready(self) -> bool:
        return self.client is not None

    # -- following the portal ---------------------------------------------------------

    def _on_customer(self, customer: Customer | None) -> None:
        if customer is None:
            self.stop()
            return
        self._start(customer.external_id)

    def _on_account_known(self, external_id: str) -> None:
        if self.customer_key is None and external_id:
            self._start(external_id)

    def _start(self, external_id: str) -> None:
        key = (self.portal.server_url, external_id)
        if key == self.customer_key:
            self.kick()  # same customer signed in again: a fresh token to try
            return
        self.stop()
        self.customer_key = key
        self._generation += 1
        generation = self._generation
        backend = self.portal.backend
        server_url = self.portal.server_url
        emit = self._from_loop.emit
        config = self.config

        def deliver(event: object) -> None:
            # RuntimeError: the bridge is gone; _stop_when_gone stops this client.
            with contextlib.suppress(RuntimeError):
                emit(generation, event)

        def open_client() -> tuple[ChatStore, RealtimeClient]:
            from client.core.chatstore import ChatStore, chat_path
            from client.core.paths import data_dir
            from client.core.realtime import ApiChatService, RealtimeClient

            store = ChatStore(chat_path(data_dir(), server_url, external_id))
            service = ApiChatService(backend.api, lambda: backend.access_token)
            client = RealtimeClient(
                server_url,
                service,
                store,
                deliver,
                config=config,
            )
            client.start()
            return store, client

        def opened(result: tuple[ChatStore, RealtimeClient]) -> None:
            store, client = result
            if generation != self._generation:
                # Replaced while opening: this one is not wanted any more.
                self.portal.runner.run_task(lambda: _close(client, store))
                return
            self.store, self.client = store, client
            log.info("chat started for customer %s", external_id)
            self.ready_changed.emit(True)

        self.portal.runner.run_task(
            open_client,
            opened,
            lambda exc: log.error("chat could not start: %s", exc, exc_info=exc),
            serial=True,
        )

    def _on_online(self, online: bool) -> None:
        if online:
            self.kick()

    def kick(self) -> None:
        """Reconnect now (the network is back, a new sign-in happened)."""
        if self.client is not None:
            self.client.kick()

    def stop(self) -> None:
        """Stop the current client (on a worker: stopping waits for its thread)."""
        if self.client is not None:
            self.stopping.emit(False)
        client, store = self.client, self.store
        self._generation += 1
        self.client = self.store = None
        self.customer_key = None
        if self.unread:
            self.unread = 0
            self.unread_changed.emit(0)
        if client is not None:
            self.ready_changed.emit(False)
            # Serial: after any draft the page is still writing to the store.
            self.portal.runner.run_task(lambda: _close(client, store), serial=True)

    def shutdown(self) -> None:
        """The portal quits: stop the client here and now (messages being
        stored are written first)."""
        if self.client is not None:
            self.stopping.emit(True)
        client, store = self.client, self.store
        self._generation += 1
        self.client = self.store = None
        if client is not None:
            _close(client, store, timeout=2.0)

    # -- events ------------------------------------------------------------------------

    @Slot(int, object)
    def _deliver(self, generation: int, event: Any) -> None:
        if generation != self._generation:
            return
        from client.core.realtime import ConnectionChanged, UnreadChanged

        if isinstance(event, ConnectionChanged):
            self.connection = event
            self.connection_changed.emit(event)
        elif isinstance(event, UnreadChanged):
            self.unread = event.count
            self.unread_changed.emit(event.count)
        try:
            self.received.emit(event)
        except Exception:
            log.exception("chat event handler failed")

    def inject(self, event: Any) -> None:
        """Deliver ``event`` as if the client had sent it (tests, demos)."""
        self._from_loop.emit(self._generation, event)


class _Running:
    """The running client and its store, held outside the QObject so they can
    still be stopped once the bridge itself is deleted."""

    __slots__ = ("client", "store")

    def __init__(self) -> None:
        self.client: RealtimeClient | None = None
        self.store: ChatStore | None = None


def _stop_when_gone(running: _Running, *_args: object) -> None:
    client, store = running.client, running.store
    running.client = running.store = None
    if client is not None:
        threading.Thread(
            target=_close, args=(client, store), name="helpbridge-chat-stop", daemon=True
        ).start()


def _close(client: RealtimeClient, store: ChatStore | None, timeout: float = 3.0) -> None:
    if not client.stop(timeout):
        log.warning("the chat connection did not stop in time")
    if store is not None:
        store.close()
