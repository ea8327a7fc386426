"""Customer-facing wording of the chat: message states, conversation status,
connection state, refusals, day separators.

Every string goes through ``QCoreApplication.translate`` with the literal
context ``Chat`` so lupdate finds it; nothing is cached, so the installed
translator is always the one used.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from PySide6.QtCore import QCoreApplication, QDate, QLocale

from client.ui.tickets.text import local_datetime

CONTEXT = "Chat"


def state_label(state: str) -> str:
    """The small line under one of the customer's own messages."""
    labels = {
        "sending": QCoreApplication.translate("Chat", "Sending…"),
        "sent": QCoreApplication.translate("Chat", "Sent ✓"),
        "read": QCoreApplication.translate("Chat", "Read ✓✓"),
        "failed": QCoreApplication.translate("Chat", "Not sent"),
    }
    return labels.get(state, "")


def status_line(status: str | None, assignee: str | None) -> str:
    """Who is answering, under the chat's title."""
    if status == "bot":
        return QCoreApplication.translate(
            "Chat", "Our assistant answers first; you can ask for a person at any time."
        )
    if status == "queued":
        return QCoreApplication.translate("Chat", "Waiting for the next available person…")
    if status == "assigned":
        if assignee:
            return QCoreApplication.translate("Chat", "{name} is helping you").format(name=assignee)
        return QCoreApplication.translate("Chat", "A support person is helping you")
    if status == "closed":
        return QCoreApplication.translate(
            "Chat", "This conversation has ended. Write to start a new one."
        )
    return QCoreApplication.translate("Chat", "Ask a question; we usually answer within minutes.")


def connection_label(state: str, retry_in: float | None = None, reason: str = "") -> str:
    """The subtle connection line: online, reconnecting in N s, offline."""
    if state == "online":
        return QCoreApplication.translate("Chat", "Online")
    if state == "connecting":
        return QCoreApplication.translate("Chat", "Connecting…")
    if state == "signed_out":
        return QCoreApplication.translate("Chat", "Sign in from your application to chat")
    if state == "offline":
        if reason == "unavailable":
            return QCoreApplication.translate("Chat", "Chat is not available right now")
        if retry_in is not None and retry_in >= 1:
            return QCoreApplication.translate("Chat", "Reconnecting in {n} s").format(
                n=round(retry_in)
            )
        return QCoreApplication.translate("Chat", "Reconnecting…")
    return QCoreApplication.translate("Chat", "Offline")


def offline_hint() -> str:
    return QCoreApplication.translate(
        "Chat", "Messages you write now are kept and sent when the connection is back."
    )


def problem_message(code: str) -> str:
    """A refusal of the service, or a local check, as a sentence."""
    messages = {
        "empty": QCoreApplication.translate("Chat", "Write a message or attach a file first."),
        "too_long": QCoreApplication.translate(
            "Chat", "This message is too long. Please split it into several messages."
        ),
        "too_many_files": QCoreApplication.translate(
            "Chat", "A message can carry at most 10 files."
        ),
        "forbidden": QCoreApplication.translate(
            "Chat", "This conversation is not available to you any more."
        ),
        "not_found": QCoreApplication.translate("Chat", "This conversation no longer exists."),
        "conflict": QCoreApplication.translate("Chat", "This conversation has ended."),
        "rate_limited": QCoreApplication.translate(
            "Chat", "You are sending very fast. Your message will be sent in a moment."
        ),
        "offline": QCoreApplication.translate(
            "Chat", "The help service cannot be reached. Check your network connection."
        ),
    }
    return messages.get(code) or QCoreApplication.translate(
        "Chat", "The help service could not take this. Please try again."
    )


def day_label(day: QDate, today: QDate | None = None) -> str:
    """``Today``, ``Yesterday`` or the date, for separators between days."""
    today = today or QDate.currentDate()
    if day == today:
        return QCoreApplication.translate("Chat", "Today")
    if day.daysTo(today) == 1:
        return QCoreApplication.translate("Chat", "Yesterday")
    return QLocale().toString(day, QLocale.FormatType.LongFormat)


def time_label(moment: datetime) -> str:
    return QLocale().toString(local_datetime(moment).time(), QLocale.FormatType.ShortFormat)


@lru_cache(maxsize=4096)
def local_day(moment: datetime) -> QDate:
    """The computer's calendar day of ``moment`` (cached: every relayout asks
    for every message's day)."""
    return local_datetime(moment).date()
