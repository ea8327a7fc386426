"""The ticket side of the portal behind the screens: the customer's outbox,
their tickets, news about them, and every call to the service about tickets.

:class:`TicketService` lives in the GUI thread and owns no widget. It follows
the portal: when a customer is signed in (or known from the last session
while offline) their own :class:`~client.core.outbox.Outbox` is opened on a
worker and started; it is stopped when the customer changes and when the
portal quits. The outbox calls back on its own delivery thread; those
callbacks only emit private signals, which reach the GUI thread through
queued connections (client/ui/tasks.py explains the model).

Tickets are kept as :class:`~protocol.tickets.TicketSummary` values by id,
filled by an :class:`~client.ui.tickets.updates.UpdateSource` (polling now).
When a poll shows that support answered (``unread``) or moved a ticket to a
state that asks something of the customer, :attr:`TicketService.news` is
emitted for the tray message and the unread count.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal

from client.ui.tickets.updates import POLL_INTERVAL_S, PollingUpdates, UpdateSource

if TYPE_CHECKING:
    from client.core.diagnostics import DiagnosticItem
    from client.core.outbox import Outbox, OutboxItem
    from client.ui.portal import Portal
    from client.ui.tickets.draft import DraftStore
    from client.ui.tickets.files import PendingFile
    from protocol.models import Customer
    from protocol.tickets import Ticket, TicketSummary

log = logging.getLogger(__name__)

OnDone = Callable[[Any], None]
OnError = Callable[[BaseException], None]

NEWS_STATUSES = frozenset({"pending_customer", "resolved", "closed"})
"""Status changes worth a message: support asks something, or is done. (A
ticket goes back to "open" because the customer wrote: no news for them.)"""


class NotReady(Exception):
    """The customer's outbox is not open (not signed in, or still opening)."""

    code = "not_ready"


@dataclass(frozen=True)
class DiagnosticsRequest:
    """What the diagnostic bundle needs from the GUI thread; collected on a worker."""

    host_context: dict[str, str]
    screens: list[dict[str, object]]
    settings: dict[str, str]
    qt_version: str

    def collect(self) -> list[DiagnosticItem]:
        from client import __version__
        from client.core.diagnostics import collect
        from client.core.paths import log_dir

        return collect(
            app_version=__version__,
            host_context=self.host_context,
            screens=self.screens,
            log_dir=log_dir(),
            settings=self.settings,
            qt_version=self.qt_version,
        )


def summary_of(ticket: Ticket, unread: bool = False) -> TicketSummary:
    from protocol.tickets import TicketSummary

    return TicketSummary(
        id=ticket.id,
        number=ticket.number,
        subject=ticket.subject,
        category=ticket.category,
        priority=ticket.priority,
        status=ticket.status,
        requester_name=ticket.requester.name or ticket.requester.external_id,
        assignee_name=ticket.assignee.name if ticket.assignee else None,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        first_response_due=ticket.first_response_due,
        resolution_due=ticket.resolution_due,
        sla_breached=ticket.sla_breached,
        unread=unread,
    )


class TicketService(QObject):
    """Tickets, outbox and news for the signed-in customer.

    Signals:
        account_leaving(): the customer is about to change: save what is
            being written (the drafts are still open).
        account_changed(object): the customer whose tickets these are (their
            external id), or None.
        ready(): the customer's outbox and drafts are open.
        outbox_item(object): an OutboxItem was queued or changed state.
        outbox_removed(int): an outbox item was discarded.
        outbox_reset(): the whole outbox view must be rebuilt.
        outbox_progress(int, int, int): (item id, bytes sent, bytes total).
        summaries_changed(): :attr:`summaries` changed.
        news(object, str): a TicketSummary and why: "reply" or "status".
        unread_changed(int): how many tickets have unread answers.
        auth_needed(): the outbox cannot deliver until the customer signs in again.
        problem(str): the outbox cannot keep items on disk (English detail).
        reply_delivered(int): a reply to this ticket id reached the service.
    """

    account_leaving = Signal()
    account_changed = Signal(object)
    ready = Signal()
    outbox_item = Signal(object)
    outbox_removed = Signal(int)
    outbox_reset = Signal()
    outbox_progress = Signal(int, int, int)
    summaries_changed = Signal()
    news = Signal(object, str)
    unread_changed = Signal(int)
    auth_needed = Signal()
    problem = Signal(str)
    reply_delivered = Signal(int)

    # Emitted on the outbox's delivery thread; queued to the GUI thread.
    _item_from_thread = Signal(int, object)
    _progress_from_thread = Signal(int, int, int, int)
    _auth_from_thread = Signal(int)

    def __init__(
        self,
        portal: Portal,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        updates: UpdateSource | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.portal = portal
        self.runner = portal.runner
        self.account: str | None = None
        self.outbox: Outbox | None = None
        self.drafts: DraftStore | None = None
        self.items: dict[int, OutboxItem] = {}
        self.progress: dict[int, tuple[int, int]] = {}
        self.summaries: dict[int, TicketSummary] = {}
        self.loaded = False
        """A whole list of tickets has arrived for this customer."""
        self._epoch = 0
        self._waiting: list[Callable[[], None]] = []
        self._closed = False
        self.updates = updates or PollingUpdates(
            self.runner,
            self._fetch,
            interval_s=poll_interval_s,
            can_poll=lambda: self.portal.online is not False and self.account is not None,
            parent=self,
        )
        self.updates.changed.connect(self._on_changed)
        self.updates.failed.connect(self._on_poll_failed)
        queued = Qt.ConnectionType.QueuedConnection
        self._item_from_thread.connect(self._on_item, queued)
        self._progress_from_thread.connect(self._on_progress, queued)
        self._auth_from_thread.connect(self._on_auth_needed, queued)
        portal.customer_changed.connect(self._on_customer)
        portal.online_changed.connect(self._on_online)
        portal.server_changed.connect(lambda _url: self.set_account(None))
        account_known = getattr(portal, "account_known", None)
        if account_known is not None:
            account_known.connect(self._on_account_known)

    # -- the customer --------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        return self.outbox is not None and self.drafts is not None

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the outbox and drafts are open (now if they are)."""
        if self.is_ready:
            callback()
        else:
            self._waiting.append(callback)

    def _on_customer(self, customer: Customer | None) -> None:
        self.set_account(customer.external_id if customer is not None else None)

    def _on_account_known(self, external_id: str) -> None:
        # Known from the last session while the service cannot be reached:
        # tickets written now are kept for this customer and sent later.
        if self.account is None:
            self.set_account(external_id)

    def _on_online(self, online: bool) -> None:
        if online:
            self.kick()
            self.updates.poll_now()

    def set_account(self, account: str | None) -> None:
        """Follow a new customer (None: nobody). The same one again: retry now."""
        if self._closed:
            return
        if account == self.account:
            if account is not None:
                self.kick()
                self.updates.poll_now()
            return
        if self.account is not None:
            self.account_leaving.emit()
        self._close_outbox()
        self._epoch += 1
        self.account = account
        self.items.clear()
        self.progress.clear()
        self.summaries.clear()
        self.loaded = False
        self.drafts = None
        self._waiting.clear()
        self.updates.stop()
        self.account_changed.emit(account)
        self.outbox_reset.emit()
        self.summaries_changed.emit()
        self.unread_changed.emit(0)
        if account is None:
            return
        epoch = self._epoch
        backend = self.portal.backend

        def open_outbox() -> tuple[Outbox, DraftStore, list[OutboxItem]]:
            from client.core.outbox import Outbox, outbox_path
            from client.core.paths import data_dir
            from client.ui.tickets.draft import DraftStore

            base = data_dir()
            outbox = Outbox(
                outbox_path(base, account),
                backend.api,
                on_change=lambda item: self._item_from_thread.emit(epoch, item),
                on_progress=lambda i, d, t: self._progress_from_thread.emit(epoch, i, d, t),
                on_auth_needed=lambda: self._auth_from_thread.emit(epoch),
            )
            return outbox, DraftStore(base / "drafts", account), outbox.items()

        self.runner.run_task(
            open_outbox,
            lambda opened: self._opened(epoch, *opened),
            lambda exc: log.error("cannot open the outbox: %s", exc),
            serial=True,
        )
        self.updates.start()

    def _opened(
        self, epoch: int, outbox: Outbox, drafts: DraftStore, items: list[OutboxItem]
    ) -> None:
        if epoch != self._epoch or self._closed:
            self.runner.run_task(outbox.close, serial=True)
            return
        self.outbox = outbox
        self.drafts = drafts
        self.items = {item.id: item for item in items}
        outbox.start()
        log.info("outbox open for the customer (%d item(s) kept)", len(items))
        self.outbox_reset.emit()
        if outbox.problem:
            self.problem.emit(outbox.problem)
        waiting, self._waiting = self._waiting, []
        self.ready.emit()
        for callback in waiting:
            callback()

    def _close_outbox(self) -> None:
        outbox, self.outbox = self.outbox, None
        if outbox is not None:
            # Stopping joins the delivery thread: a worker's job, not the GUI's.
            self.runner.run_task(outbox.close, serial=True)

    def kick(self) -> None:
        if self.outbox is not None:
            self.outbox.kick()

    def shutdown(self, timeout_s: float = 3.0) -> None:
        """Stop polling and delivering (the portal quits). Blocks up to ``timeout_s``."""
        if self._closed:
            return
        self._closed = True
        self.updates.stop()
        outbox, self.outbox = self.outbox, None
        if outbox is not None:
            outbox.stop(timeout_s)
            if not outbox.running:
                outbox.close()

    # -- outbox callbacks (GUI thread) -----------------------------------------

    def _on_item(self, epoch: int, item: OutboxItem) -> None:
        if epoch != self._epoch:
            return
        previous = self.items.get(item.id)
        self.items[item.id] = item
        if item.state != "sending":
            self.progress.pop(item.id, None)
        if item.state == "pending" and item.error_code == "offline" and self.portal.online:
            # The outbox found the service gone before anything else did.
            self.portal.mark_offline()
        if item.state == "sent" and (previous is None or previous.state != "sent"):
            if item.kind == "reply" and item.ticket_id is not None:
                self.reply_delivered.emit(item.ticket_id)
            # Bring the new ticket (or the answered one) into the list now.
            self.updates.poll_now()
        self.outbox_item.emit(item)

    def _on_progress(self, epoch: int, item_id: int, done: int, total: int) -> None:
        if epoch != self._epoch:
            return
        self.progress[item_id] = (done, total)
        self.outbox_progress.emit(item_id, done, total)

    def _on_auth_needed(self, epoch: int) -> None:
        if epoch == self._epoch:
            self.auth_needed.emit()

    # -- tickets -----------------------------------------------------------------

    def _fetch(self, since: datetime | None) -> list[TicketSummary]:
        api = self.portal.backend.api
        if since is None:
            return list(api.tickets(per_page=100).tickets)
        found: list[TicketSummary] = []
        for page in range(1, 6):
            batch = api.tickets(updated_since=since, page=page, per_page=100)
            found.extend(batch.tickets)
            if page * batch.per_page >= batch.total:
                break
        return found

    def refresh(self) -> None:
        self.updates.poll_now()

    def _on_changed(self, summaries: list[TicketSummary], full: bool) -> None:
        baseline = self.loaded
        news: list[tuple[TicketSummary, str]] = []
        for summary in summaries:
            old = self.summaries.get(summary.id)
            if old is not None and summary.updated_at < old.updated_at:
                continue  # an older answer than what is known
            self.summaries[summary.id] = summary
            if not baseline:
                continue
            if summary.unread and (
                old is None or not old.unread or summary.updated_at > old.updated_at
            ):
                news.append((summary, "reply"))
            elif (
                old is not None
                and summary.status != old.status
                and str(summary.status) in NEWS_STATUSES
            ):
                news.append((summary, "status"))
        if full:
            self.loaded = True
        self.summaries_changed.emit()
        self.unread_changed.emit(self.unread_count)
        for summary, why in news:
            log.info("ticket news: #%d %s", summary.number, why)
            self.news.emit(summary, why)

    def _on_poll_failed(self, exc: BaseException) -> None:
        if getattr(exc, "code", None) == "offline":
            self.portal.mark_offline()

    @property
    def unread_count(self) -> int:
        return sum(1 for s in self.summaries.values() if s.unread)

    def note(self, ticket: Ticket) -> None:
        """A whole ticket just came from the service (opened, changed by the
        customer): it is read, and its state is known before the next poll."""
        self.summaries[ticket.id] = summary_of(ticket, unread=False)
        self.summaries_changed.emit()
        self.unread_changed.emit(self.unread_count)

    def ticket_items(self, ticket_id: int) -> list[OutboxItem]:
        """Replies to ``ticket_id`` still in the outbox (not yet delivered)."""
        return sorted(
            (
                i
                for i in self.items.values()
                if i.kind == "reply" and i.ticket_id == ticket_id and i.state != "sent"
            ),
            key=lambda i: i.id,
        )

    # -- actions ---------------------------------------------------------------------

    def _with_outbox(self, on_error: OnError) -> Outbox | None:
        if self.outbox is None:
            on_error(NotReady("the outbox is not open"))
        return self.outbox

    def submit_ticket(
        self,
        fields: dict[str, Any],
        files: Sequence[PendingFile],
        diagnostics: list[DiagnosticItem] | DiagnosticsRequest | None,
        on_done: OnDone,
        on_error: OnError,
    ) -> None:
        """Queue a new ticket (files copied, the bundle built) on a worker.
        ``fields``: subject, body, category, urgency, impact, context."""
        outbox = self._with_outbox(on_error)
        if outbox is None:
            return
        epoch = self._epoch
        sources = [f.source() for f in files]

        def job() -> OutboxItem:
            attached = list(sources)
            if diagnostics is not None:
                from client.core.diagnostics import build_zip

                items = (
                    diagnostics.collect()
                    if isinstance(diagnostics, DiagnosticsRequest)
                    else diagnostics
                )
                attached.append(("diagnostics.zip", build_zip(items)))
            return outbox.enqueue_ticket(files=attached, **fields)

        self.runner.run_task(
            job, lambda item: self._queued(epoch, item, on_done), on_error, serial=True
        )

    def submit_reply(
        self,
        ticket_id: int,
        body: str,
        files: Sequence[PendingFile],
        on_done: OnDone,
        on_error: OnError,
    ) -> None:
        outbox = self._with_outbox(on_error)
        if outbox is None:
            return
        epoch = self._epoch
        sources = [f.source() for f in files]
        self.runner.run_task(
            lambda: outbox.enqueue_reply(ticket_id, body, sources),
            lambda item: self._queued(epoch, item, on_done),
            on_error,
            serial=True,
        )

    def _queued(self, epoch: int, item: OutboxItem, on_done: OnDone) -> None:
        if epoch == self._epoch:
            known = self.items.get(item.id)
            # The delivery thread may already have moved it on.
            if known is None or known.state == "pending":
                self.items[item.id] = item if known is None else known
            self.outbox_item.emit(self.items[item.id])
        on_done(item)

    def retry(self, item_id: int, on_error: OnError) -> None:
        outbox = self._with_outbox(on_error)
        if outbox is not None:
            self.runner.run_task(lambda: outbox.retry(item_id), None, on_error, serial=True)

    def discard(self, item_id: int, on_error: OnError) -> None:
        outbox = self._with_outbox(on_error)
        if outbox is None:
            return
        epoch = self._epoch

        def done(_: object) -> None:
            if epoch == self._epoch:
                self.items.pop(item_id, None)
                self.progress.pop(item_id, None)
                self.outbox_removed.emit(item_id)

        self.runner.run_task(lambda: outbox.discard(item_id), done, on_error, serial=True)

    def _call(self, fn: Callable[[Any], Any], on_done: OnDone, on_error: OnError) -> None:
        backend = self.portal.backend
        epoch = self._epoch

        def done(value: Any) -> None:
            if epoch != self._epoch:
                return
            from protocol.tickets import Ticket

            if isinstance(value, Ticket):
                self.note(value)
            on_done(value)

        def failed(exc: BaseException) -> None:
            if epoch != self._epoch:
                return
            if getattr(exc, "code", None) == "offline":
                self.portal.mark_offline()
            on_error(exc)

        self.runner.run_task(lambda: fn(backend.api), done, failed)

    def load(self, ticket_id: int, on_done: OnDone, on_error: OnError) -> None:
        self._call(lambda api: api.ticket(ticket_id), on_done, on_error)

    def resolve(self, ticket_id: int, on_done: OnDone, on_error: OnError) -> None:
        self._call(lambda api: api.resolve(ticket_id), on_done, on_error)

    def reopen(self, ticket_id: int, on_done: OnDone, on_error: OnError) -> None:
        self._call(lambda api: api.reopen(ticket_id), on_done, on_error)

    def rate(
        self, ticket_id: int, rating: int, comment: str, on_done: OnDone, on_error: OnError
    ) -> None:
        def call(api: Any) -> Any:
            from protocol.tickets import CsatIn

            return api.rate(ticket_id, CsatIn(rating=rating, comment=comment))

        self._call(call, on_done, on_error)

    def download(self, attachment_id: int, dest: Path, on_done: OnDone, on_error: OnError) -> None:
        self._call(lambda api: api.download_attachment(attachment_id, dest), on_done, on_error)

    # -- drafts -------------------------------------------------------------------------

    def run_draft(self, fn: Callable[[DraftStore], Any], on_done: OnDone | None = None) -> None:
        """Run ``fn(drafts)`` on the serial worker once the drafts are open."""

        def go() -> None:
            drafts = self.drafts
            if drafts is None:
                return
            self.runner.run_task(
                lambda: fn(drafts),
                on_done,
                lambda exc: log.warning("draft not saved: %s", exc),
                serial=True,
            )

        self.when_ready(go)
