"""The customer portal's PySide6 user interface.

Entry point: :func:`client.ui.app.run` (via ``client.main``). Threading model:
client/ui/tasks.py. Everything that talks to the service, the cache or the
keyring goes through :class:`client.ui.portal.Portal`.
"""
