"""The host's identity token, as the portal receives it.

The ISV's software starts ``helpbridge --identity-stdin`` and writes one
signed JWT line to the child's standard input. The portal only checks that
the line *looks* like a compact JWS before sending it to the service, which
is the one that verifies the signature and claims.

Reading never waits forever: a terminal on stdin is refused at once (the
token has to be piped by the host), and a pipe that stays silent is given up
on after a timeout, with a message that says what the host should do.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import selectors
import sys
import threading
import time
from typing import IO, Any

from protocol.host import MAX_LINE_BYTES, HostRequest, HostRequestError, parse_host_line

__all__ = ["MAX_TOKEN_CHARS", "IdentityError", "peek_claims", "read_identity_stdin"]

MAX_TOKEN_CHARS = 8192
"""Same bound as ``protocol.models.IdentityExchange.token``."""

# Enough for the longest allowed token plus surrounding whitespace; beyond
# that the line is refused without reading it all.
_READ_LIMIT = MAX_TOKEN_CHARS + 256
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class IdentityError(ValueError):
    """The identity token is missing or unusable; the message says why."""


def read_identity_stdin(stream: IO[Any] | None = None, timeout_s: float = 5.0) -> str:
    """Read one JWT line from ``stream`` (default: ``sys.stdin``).

    Raises :class:`IdentityError` when stdin is a terminal, closed, empty,
    silent for ``timeout_s`` seconds, not UTF-8, too long, or not a compact
    JWS.
    """
    if stream is None:
        stream = sys.stdin
    if stream is None or stream.closed:
        raise IdentityError("--identity-stdin was given but there is no standard input")
    try:
        is_tty = stream.isatty()
    except (OSError, ValueError):
        is_tty = False
    if is_tty:
        raise IdentityError(
            "--identity-stdin expects the host application to pipe a token to standard "
            "input, but standard input is a terminal"
        )
    fd = _fileno(stream)
    raw: str | bytes | None
    if fd is not None and os.name == "posix":
        raw = _read_line_fd(fd, timeout_s)
    else:
        raw = _read_line_thread(stream, timeout_s)
    if raw is None:
        raise IdentityError(
            f"no identity token arrived on standard input within {timeout_s:g} s; the host "
            "must write the token followed by a newline"
        )
    if len(raw) > _READ_LIMIT:
        raise IdentityError(f"the identity token is longer than {MAX_TOKEN_CHARS} characters")
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise IdentityError("the identity token on standard input is not UTF-8 text") from exc
    token = text.strip()
    if not token:
        raise IdentityError("standard input was empty: the host sent no identity token")
    check_token_shape(token)
    return token


def read_request_stdin(stream: IO[Any] | None = None, timeout_s: float = 5.0) -> HostRequest:
    """Read one host request (a JSON line, protocol/host.py) from stdin.

    The host's richest way to open the portal: the same line it could send to
    the local socket, identity included, without finding the socket itself.
    Raises :class:`IdentityError` with a clear message for anything unusable.
    """
    if stream is None:
        stream = sys.stdin
    if stream is None or stream.closed:
        raise IdentityError("--request-stdin was given but there is no standard input")
    try:
        is_tty = stream.isatty()
    except (OSError, ValueError):
        is_tty = False
    if is_tty:
        raise IdentityError(
            "--request-stdin expects the host application to pipe one JSON line to "
            "standard input, but standard input is a terminal"
        )
    fd = _fileno(stream)
    raw: str | bytes | None
    if fd is not None and os.name == "posix":
        raw = _read_line_fd(fd, timeout_s, limit=MAX_LINE_BYTES)
    else:
        raw = _read_line_thread(stream, timeout_s, limit=MAX_LINE_BYTES)
    if raw is None:
        raise IdentityError(
            f"no request arrived on standard input within {timeout_s:g} s; the host must "
            "write one JSON line followed by a newline"
        )
    try:
        request = parse_host_line(raw)
    except HostRequestError as exc:
        raise IdentityError(f"the request on standard input is unusable: {exc}") from exc
    if request.identity is not None:
        check_token_shape(request.identity.strip())
    return request


def check_token_shape(token: str) -> None:
    """Raise :class:`IdentityError` unless ``token`` looks like a compact JWS."""
    if len(token) > MAX_TOKEN_CHARS:
        raise IdentityError(f"the identity token is longer than {MAX_TOKEN_CHARS} characters")
    if not _JWS.fullmatch(token):
        raise IdentityError(
            "the identity token is not a signed JWT (expected three base64url parts "
            "separated by dots)"
        )
    try:
        header = _unverified_header(token)
    except ValueError as exc:
        raise IdentityError("the identity token's header is not valid JSON") from exc
    if not isinstance(header.get("alg"), str):
        raise IdentityError("the identity token's header names no signing algorithm")


def _unverified_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS (already matched by ``_JWS``), NOT verified.

    Decoded here rather than with PyJWT: importing ``jwt`` loads
    ``cryptography`` (about 11 MB resident), which the portal otherwise never needs.
    Raises ValueError when a segment is not base64url or the header is not a JSON object.
    """
    segments = token.split(".")
    try:
        decoded = [base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)) for s in segments]
    except binascii.Error as exc:  # e.g. a segment of 4n+1 characters
        raise ValueError(f"not base64url: {exc}") from exc
    header = json.loads(decoded[0])  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
    if not isinstance(header, dict):
        raise ValueError("the header is not a JSON object")
    return header


def peek_claims(token: str) -> dict[str, Any]:
    """The token's claims WITHOUT verifying anything: for display only.

    The service verifies the signature; this is for showing e.g. who the host
    says the customer is (``sub``, ``name``) and when the token expires.
    """
    check_token_shape(token)
    import jwt  # only here: it loads cryptography

    try:
        claims = jwt.decode(
            token,
            options={
                "verify_signature": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise IdentityError("the identity token's claims are not a JSON object") from exc
    return dict(claims)


def _fileno(stream: IO[Any]) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        return None


def _read_line_fd(fd: int, timeout_s: float, limit: int = _READ_LIMIT) -> bytes | None:
    """Read up to the first newline or end of input, with a deadline.

    Returns None if the deadline passes before a newline or EOF. Reads the
    file descriptor directly so a partial line never blocks a buffered reader.
    """
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    size = 0
    # poll/select (unlike epoll) accept regular files too, e.g. `< token.txt`.
    selector_cls = getattr(selectors, "PollSelector", selectors.SelectSelector)
    with selector_cls() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 4096)
            if not chunk:  # end of input
                return b"".join(chunks)
            newline = chunk.find(b"\n")
            if newline != -1:
                chunks.append(chunk[:newline])
                return b"".join(chunks)
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(chunks)


def _read_line_thread(
    stream: IO[Any], timeout_s: float, limit: int = _READ_LIMIT
) -> str | bytes | None:
    """Windows pipes cannot be polled: read in a daemon thread and stop waiting."""
    result: list[str | bytes] = []
    failure: list[BaseException] = []

    def reader() -> None:
        try:
            result.append(stream.readline(limit + 1))
        except Exception as exc:
            failure.append(exc)

    thread = threading.Thread(target=reader, name="identity-stdin", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if failure:
        raise IdentityError(f"standard input could not be read ({type(failure[0]).__name__})")
    if thread.is_alive() or not result:
        return None
    return result[0]
