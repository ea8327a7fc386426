"""The console's wording: statuses, priorities, SLA countdowns, times, sizes
and the sentences shown for every error code an agent can meet.

Every string goes through ``QCoreApplication.translate`` with a literal
context and text so lupdate finds it; nothing is cached, so the installed
translator is always the one used.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QCoreApplication, QDateTime, QLocale, QTimeZone

from client.agent.sla import SlaState, split_duration

STATUSES = ("new", "open", "pending_customer", "resolved", "closed")
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")


def status_label(status: str) -> str:
    labels = {
        "new": QCoreApplication.translate("AgentText", "New"),
        "open": QCoreApplication.translate("AgentText", "Open"),
        "pending_customer": QCoreApplication.translate("AgentText", "Pending customer"),
        "resolved": QCoreApplication.translate("AgentText", "Resolved"),
        "closed": QCoreApplication.translate("AgentText", "Closed"),
    }
    return labels.get(status, status)


def priority_label(priority: str) -> str:
    labels = {
        "P1": QCoreApplication.translate("AgentText", "P1 Critical"),
        "P2": QCoreApplication.translate("AgentText", "P2 High"),
        "P3": QCoreApplication.translate("AgentText", "P3 Medium"),
        "P4": QCoreApplication.translate("AgentText", "P4 Low"),
        "P5": QCoreApplication.translate("AgentText", "P5 Planning"),
    }
    return labels.get(priority, priority)


def tier_label(tier: str) -> str:
    labels = {
        "normal": QCoreApplication.translate("AgentText", "Standard"),
        "vip": QCoreApplication.translate("AgentText", "VIP"),
        "svip": QCoreApplication.translate("AgentText", "SVIP"),
    }
    return labels.get(tier, tier)


def presence_label(status: str) -> str:
    labels = {
        "online": QCoreApplication.translate("AgentText", "Online"),
        "away": QCoreApplication.translate("AgentText", "Away"),
        "offline": QCoreApplication.translate("AgentText", "Offline"),
    }
    return labels.get(status, status)


def conversation_status(status: str) -> str:
    labels = {
        "bot": QCoreApplication.translate("AgentText", "With the bot"),
        "queued": QCoreApplication.translate("AgentText", "Waiting"),
        "assigned": QCoreApplication.translate("AgentText", "In progress"),
        "closed": QCoreApplication.translate("AgentText", "Closed"),
    }
    return labels.get(status, status)


def role_label(role: str) -> str:
    labels = {
        "agent": QCoreApplication.translate("AgentText", "Agent"),
        "supervisor": QCoreApplication.translate("AgentText", "Supervisor"),
        "admin": QCoreApplication.translate("AgentText", "Administrator"),
    }
    return labels.get(role, role)


def duration_text(delta: timedelta) -> str:
    """``2 d 3 h``, ``3 h 20 min``, ``45 min`` of ``abs(delta)``."""
    days, hours, minutes = split_duration(delta)
    if days:
        return (
            QCoreApplication.translate("AgentText", "%1 d %2 h")
            .replace("%1", str(days))
            .replace("%2", str(hours))
        )
    if hours:
        return (
            QCoreApplication.translate("AgentText", "%1 h %2 min")
            .replace("%1", str(hours))
            .replace("%2", str(minutes))
        )
    return QCoreApplication.translate("AgentText", "%1 min").replace("%1", str(minutes))


def sla_text(state: SlaState) -> str:
    """The SLA cell: time left, how late, or a word when no clock runs."""
    if state.left is None:
        if state.band == "breached":
            return QCoreApplication.translate("AgentText", "Breached")
        return "—"
    if state.left <= timedelta(0):
        return QCoreApplication.translate("AgentText", "%1 late").replace(
            "%1", duration_text(state.left)
        )
    if state.band == "breached":
        # Breached earlier (e.g. a late first response), still counting now.
        return QCoreApplication.translate("AgentText", "Breached · %1 left").replace(
            "%1", duration_text(state.left)
        )
    return QCoreApplication.translate("AgentText", "%1 left").replace(
        "%1", duration_text(state.left)
    )


def sla_tooltip(state: SlaState) -> str:
    if state.due is None:
        return ""
    when = format_datetime(state.due)
    if state.which == "first_response":
        return QCoreApplication.translate("AgentText", "First response due %1").replace("%1", when)
    return QCoreApplication.translate("AgentText", "Resolution due %1").replace("%1", when)


def format_datetime(value: datetime) -> str:
    """A protocol (UTC) time in the agent's time zone and locale, short form."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    stamp = QDateTime.fromMSecsSinceEpoch(int(value.timestamp() * 1000), QTimeZone.utc())
    return QLocale().toString(stamp.toLocalTime(), QLocale.FormatType.ShortFormat)


def relative_time(value: datetime, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, else the date."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    age = now - value
    if age < timedelta(minutes=1):
        return QCoreApplication.translate("AgentText", "just now")
    if age < timedelta(hours=1):
        return QCoreApplication.translate("AgentText", "%1 min ago").replace(
            "%1", str(int(age.total_seconds() // 60))
        )
    if age < timedelta(hours=24):
        return QCoreApplication.translate("AgentText", "%1 h ago").replace(
            "%1", str(int(age.total_seconds() // 3600))
        )
    return format_datetime(value)


def format_size(size: int) -> str:
    if size < 1024:
        return QCoreApplication.translate("AgentText", "%1 bytes").replace("%1", str(size))
    if size < 1024 * 1024:
        return QCoreApplication.translate("AgentText", "%1 KB").replace("%1", f"{size / 1024:.0f}")
    return QCoreApplication.translate("AgentText", "%1 MB").replace(
        "%1", f"{size / (1024 * 1024):.1f}"
    )


def error_message(code: str | None) -> str:
    """The agent-facing sentence for an error code (ApiError.code)."""
    messages = {
        "offline": QCoreApplication.translate(
            "AgentText", "The help service cannot be reached. Check the network or the address."
        ),
        "bad_credentials": QCoreApplication.translate(
            "AgentText", "The e-mail address or the password is wrong."
        ),
        "account_disabled": QCoreApplication.translate(
            "AgentText", "This agent account is disabled. Ask an administrator to enable it."
        ),
        "bad_response": QCoreApplication.translate(
            "AgentText", "The help service sent an answer the console does not understand."
        ),
        "incompatible_server": QCoreApplication.translate(
            "AgentText",
            "This console cannot work with the service at this address. "
            "Update the console or check the address.",
        ),
        "session_missing": QCoreApplication.translate("AgentText", "Please sign in."),
        "session_invalid": QCoreApplication.translate(
            "AgentText", "Your session is no longer valid. Please sign in again."
        ),
        "session_expired": QCoreApplication.translate(
            "AgentText", "Your session has expired. Please sign in again."
        ),
        "session_revoked": QCoreApplication.translate(
            "AgentText", "You were signed out. Please sign in again."
        ),
        "forbidden": QCoreApplication.translate("AgentText", "Your role does not allow this."),
        "not_found": QCoreApplication.translate("AgentText", "It no longer exists on the service."),
        "conflict": QCoreApplication.translate(
            "AgentText", "This cannot be done in the current state (for example, a closed ticket)."
        ),
        "invalid_request": QCoreApplication.translate(
            "AgentText", "The service could not accept this request."
        ),
        "too_large": QCoreApplication.translate("AgentText", "The file is too large."),
        "local_file": QCoreApplication.translate(
            "AgentText", "The file could not be read or written on this computer."
        ),
        "rate_limited": QCoreApplication.translate(
            "AgentText", "Too many requests. Wait a moment and try again."
        ),
        "internal": QCoreApplication.translate(
            "AgentText", "The help service had a problem. Try again later."
        ),
    }
    if code and code in messages:
        return messages[code]
    return QCoreApplication.translate("AgentText", "Something went wrong. Please try again.")


def exception_code(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    return str(code) if code else "internal"


def exception_message(exc: BaseException) -> str:
    return error_message(exception_code(exc))
