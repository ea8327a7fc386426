"""Customer-facing wording of the ticket screens: statuses, priorities,
urgency and impact with their one-line explanations, relative times and
file sizes.

Every string goes through ``QCoreApplication.translate`` with a literal
context and text, so lupdate finds it; nothing here is cached, so the
installed translator is always the one used.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QCoreApplication, QDateTime, QLocale, QTimeZone

CONTEXT = "Tickets"

STATUSES = ("new", "open", "pending_customer", "resolved", "closed")
OPEN_STATUSES = frozenset({"new", "open", "pending_customer"})
LEVELS = ("high", "medium", "low")


def status_label(status: str) -> str:
    labels = {
        "new": QCoreApplication.translate("Tickets", "New"),
        "open": QCoreApplication.translate("Tickets", "Open"),
        "pending_customer": QCoreApplication.translate("Tickets", "Waiting for your reply"),
        "resolved": QCoreApplication.translate("Tickets", "Resolved"),
        "closed": QCoreApplication.translate("Tickets", "Closed"),
    }
    return labels.get(status, status)


def level_label(level: str) -> str:
    labels = {
        "high": QCoreApplication.translate("Tickets", "High"),
        "medium": QCoreApplication.translate("Tickets", "Medium"),
        "low": QCoreApplication.translate("Tickets", "Low"),
    }
    return labels.get(level, level)


def urgency_hint(level: str) -> str:
    """What an urgency means, in one line."""
    hints = {
        "high": QCoreApplication.translate("Tickets", "I cannot work at all right now."),
        "medium": QCoreApplication.translate(
            "Tickets", "My work is slowed down, but I can go on for now."
        ),
        "low": QCoreApplication.translate("Tickets", "It can wait; a question or a small issue."),
    }
    return hints.get(level, "")


def impact_hint(level: str) -> str:
    """Who is affected, in one line."""
    hints = {
        "high": QCoreApplication.translate("Tickets", "The whole company or many people."),
        "medium": QCoreApplication.translate("Tickets", "A team or a department."),
        "low": QCoreApplication.translate("Tickets", "Only me."),
    }
    return hints.get(level, "")


def priority_label(priority: str) -> str:
    """``P3`` → ``P3 · Normal``."""
    names = {
        "P1": QCoreApplication.translate("Tickets", "Critical"),
        "P2": QCoreApplication.translate("Tickets", "High"),
        "P3": QCoreApplication.translate("Tickets", "Normal"),
        "P4": QCoreApplication.translate("Tickets", "Low"),
        "P5": QCoreApplication.translate("Tickets", "Planning"),
    }
    name = names.get(priority)
    return f"{priority} · {name}" if name else priority


def format_size(size: int) -> str:
    """A file size the way people read it: 812 B, 14 KB, 3.2 MB."""
    if size < 1024:
        return QCoreApplication.translate("Tickets", "{n} B").format(n=size)
    # KB and MB read the same in every language the portal speaks.
    if size < 1024 * 1024:
        return f"{round(size / 1024)} KB"
    value = size / (1024 * 1024)
    return f"{value:.1f} MB" if value < 10 else f"{value:.0f} MB"


def _aware(moment: datetime) -> datetime:
    # Protocol times are UTC; a naive one is taken to be UTC too.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_datetime(moment: datetime) -> QDateTime:
    """``moment`` as a QDateTime in the computer's time zone."""
    stamp = int(_aware(moment).timestamp() * 1000)
    return QDateTime.fromMSecsSinceEpoch(stamp, QTimeZone.systemTimeZone())


def format_datetime(moment: datetime) -> str:
    """Date and time in the UI locale's short format."""
    return QLocale().toString(local_datetime(moment), QLocale.FormatType.ShortFormat)


def relative_time(moment: datetime, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``yesterday``, then the date."""
    now = _aware(now) if now is not None else datetime.now(UTC)
    seconds = (now - _aware(moment)).total_seconds()
    if seconds < 60:
        return QCoreApplication.translate("Tickets", "just now")
    minutes = int(seconds // 60)
    if minutes < 60:
        return QCoreApplication.translate("Tickets", "{n} min ago").format(n=minutes)
    hours = minutes // 60
    if hours < 24:
        return QCoreApplication.translate("Tickets", "{n} h ago").format(n=hours)
    local = local_datetime(moment).date()
    today = local_datetime(now).date()
    if local.daysTo(today) == 1:
        return QCoreApplication.translate("Tickets", "yesterday")
    if local.daysTo(today) < 7:
        return QCoreApplication.translate("Tickets", "{n} days ago").format(n=local.daysTo(today))
    return QLocale().toString(local, QLocale.FormatType.ShortFormat)


def ticket_number(number: int) -> str:
    return f"#{number}"
