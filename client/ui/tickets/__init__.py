"""The customer's ticket journey in the portal.

* :mod:`~client.ui.tickets.service` — :class:`TicketService`: the customer's
  outbox (opened per customer, bridged to Qt signals), their tickets, news
  from :mod:`~client.ui.tickets.updates` (polling, replaceable by push), and
  every call to the service about tickets, all on the worker pool.
* :mod:`~client.ui.tickets.panel` — the Tickets section: My tickets, the form
  (:mod:`~client.ui.tickets.form`) and one ticket (:mod:`~client.ui.tickets.view`).
* :mod:`~client.ui.tickets.widgets` — chips, badges, the attachments box.
* :mod:`~client.ui.tickets.review` — the diagnostic bundle, item by item.
* :mod:`~client.ui.tickets.draft` — drafts kept on disk (no Qt).
* :mod:`~client.ui.tickets.files` and :mod:`~client.ui.tickets.text` — file
  checks and wording.

Nothing here is imported before the portal's window is on screen, except
the service (a QObject and a timer).
"""
