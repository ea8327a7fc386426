"""Translated, customer-facing wording for every error code the portal can meet.

The service gives a stable ``code`` (protocol.models.ErrorCode) and an English
``message`` meant for logs; customers see the sentence chosen here, in their
language. Codes the portal itself produces (``offline``, ``bad_response``,
``incompatible_server``, ``identity_input``, ...) are mapped too.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

CONTEXT = "Errors"


def _t(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def error_message(code: str | None) -> str:
    """The translated sentence for ``code``; a generic one for unknown codes."""
    # Built on each call (it is cheap) so the current translator is used.
    # The literal QCoreApplication.translate calls let lupdate find the strings.
    messages = {
        "offline": QCoreApplication.translate(
            "Errors", "The help service cannot be reached. Check your network connection."
        ),
        "bad_response": QCoreApplication.translate(
            "Errors", "The help service sent an answer HelpBridge does not understand."
        ),
        "incompatible_server": QCoreApplication.translate(
            "Errors",
            "This version of HelpBridge cannot work with the help service at this address. "
            "Please update HelpBridge or check the server address in Settings.",
        ),
        "identity_input": QCoreApplication.translate(
            "Errors",
            "Your application did not pass a valid sign-in to HelpBridge. "
            "You can still search the help articles.",
        ),
        "token_missing": QCoreApplication.translate(
            "Errors", "Your application did not pass a sign-in to HelpBridge."
        ),
        "token_malformed": QCoreApplication.translate(
            "Errors",
            "The sign-in passed by your application is damaged. "
            "Please open Help again from your application.",
        ),
        "token_expired": QCoreApplication.translate(
            "Errors",
            "Your sign-in has expired. Please open Help again from your application.",
        ),
        "token_not_yet_valid": QCoreApplication.translate(
            "Errors",
            "Your sign-in is not valid yet. Please check that this computer's clock is correct.",
        ),
        "token_bad_signature": QCoreApplication.translate(
            "Errors",
            "Your sign-in could not be verified by the help service. "
            "Please contact your administrator.",
        ),
        "token_unknown_kid": QCoreApplication.translate(
            "Errors",
            "Your application signed you in with a key the help service does not know. "
            "Please contact your administrator.",
        ),
        "token_alg_not_allowed": QCoreApplication.translate(
            "Errors",
            "Your application signed you in in a way the help service does not accept. "
            "Please contact your administrator.",
        ),
        "token_ttl_too_long": QCoreApplication.translate(
            "Errors",
            "Your application's sign-in is valid for too long to be accepted. "
            "Please contact your administrator.",
        ),
        "token_missing_claim": QCoreApplication.translate(
            "Errors",
            "Your application's sign-in lacks required details. Please contact your administrator.",
        ),
        "token_invalid_claim": QCoreApplication.translate(
            "Errors",
            "Your application's sign-in contains invalid details. "
            "Please contact your administrator.",
        ),
        "session_missing": QCoreApplication.translate(
            "Errors", "You are not signed in. Please open Help from your application."
        ),
        "session_invalid": QCoreApplication.translate(
            "Errors",
            "Your session is no longer valid. Please open Help again from your application.",
        ),
        "session_expired": QCoreApplication.translate(
            "Errors", "Your session has expired. Please open Help again from your application."
        ),
        "session_revoked": QCoreApplication.translate(
            "Errors", "You were signed out. Please open Help again from your application."
        ),
        "forbidden": QCoreApplication.translate("Errors", "You are not allowed to do this."),
        "not_found": QCoreApplication.translate("Errors", "This article is no longer available."),
        "invalid_request": QCoreApplication.translate(
            "Errors", "The help service could not accept this request."
        ),
        "rate_limited": QCoreApplication.translate(
            "Errors", "Too many requests. Please wait a moment and try again."
        ),
        "internal": QCoreApplication.translate(
            "Errors", "The help service had a problem. Please try again later."
        ),
        "too_large": QCoreApplication.translate(
            "Errors",
            "A file is too large. Each file may be at most 20 MB, and all files "
            "together at most 50 MB.",
        ),
        "local_file": QCoreApplication.translate(
            "Errors",
            "A file on this computer could not be read or written. "
            "Check that it still exists and that you may open it.",
        ),
        "conflict": QCoreApplication.translate(
            "Errors", "This was changed in the meantime. Reload and try again."
        ),
        "unsupported": QCoreApplication.translate(
            "Errors", "The help service does not support this."
        ),
        "not_ready": QCoreApplication.translate(
            "Errors",
            "You are not signed in yet. Please open Help from your application, then try again.",
        ),
    }
    if code and code in messages:
        return messages[code]
    return QCoreApplication.translate("Errors", "Something went wrong. Please try again.")


def ticket_error_message(code: str | None) -> str:
    """Like :func:`error_message`, worded for tickets where it matters."""
    messages = {
        "not_found": QCoreApplication.translate("Errors", "This ticket is no longer available."),
        "conflict": QCoreApplication.translate(
            "Errors",
            "This ticket was changed in the meantime (it may have been closed). "
            "Reload it and try again; a closed ticket needs a new one.",
        ),
        "invalid_request": QCoreApplication.translate(
            "Errors", "The help service did not accept this ticket. Please check what you wrote."
        ),
        "forbidden": QCoreApplication.translate("Errors", "This ticket belongs to someone else."),
    }
    if code and code in messages:
        return messages[code]
    return error_message(code)


def ticket_failure_message(exc: BaseException) -> str:
    """What to tell the customer when a ticket action failed: a refusal by
    the outbox (its English message, for logs, is read for the reason),
    the service's error code, or a generic sentence."""
    if type(exc).__name__ != "OutboxError":
        return ticket_error_message(exception_code(exc))
    message = str(getattr(exc, "message", "") or exc)
    if "being sent right now" in message:
        return QCoreApplication.translate(
            "Errors", "It is being sent right now. Please try again in a moment."
        )
    if "already sent" in message or "no longer in the outbox" in message:
        return QCoreApplication.translate("Errors", "It has already been sent.")
    if "may be at most" in message:
        return error_message("too_large")
    if "is empty" in message:
        return QCoreApplication.translate("Errors", "An attached file is empty.")
    if "does not exist" in message or "cannot read" in message or "is not a file" in message:
        return error_message("local_file")
    return QCoreApplication.translate(
        "Errors", "It could not be saved on this computer: {reason}"
    ).format(reason=message)


def exception_code(exc: BaseException) -> str:
    """The error code carried by ``exc`` (ApiError and friends have ``.code``)."""
    code = getattr(exc, "code", None)
    return str(code) if code else "internal"


def exception_message(exc: BaseException) -> str:
    return error_message(exception_code(exc))
