"""The host contract: what the ISV's software sends to the running portal.

A host opens HelpBridge in one of three ways (docs/embedding.md):

* ``helpbridge --identity-stdin`` with the JWT written to the child's stdin;
* a JSON line on the portal's single-instance local socket, parsed by
  :func:`parse_host_line` into a :class:`HostRequest`;
* a ``helpbridge://`` URL, parsed by :func:`parse_help_url`; a URL never
  carries a token.

Parsing never raises anything but :class:`HostRequestError`, whose message is
fit to show or log.
"""

from __future__ import annotations

import json
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_LINE_BYTES = 64 * 1024
URL_SCHEME = "helpbridge"

OpenTarget = Literal["home", "search", "article", "ticket", "chat"]


class HostRequestError(ValueError):
    """A request from the host that cannot be honoured, with a clear reason."""


class HostRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    open: OpenTarget = "home"
    query: str | None = Field(default=None, max_length=10_000)
    article: int | None = Field(default=None, ge=1)
    context: dict[str, str] = Field(default_factory=dict, max_length=50)
    identity: str | None = Field(default=None, max_length=8192)


def parse_host_line(line: bytes | str) -> HostRequest:
    """Parse one JSON line from the local socket."""
    if isinstance(line, bytes):
        if len(line) > MAX_LINE_BYTES:
            raise HostRequestError(f"request longer than {MAX_LINE_BYTES} bytes")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HostRequestError("request is not UTF-8") from exc
    if len(line) > MAX_LINE_BYTES:
        raise HostRequestError(f"request longer than {MAX_LINE_BYTES} bytes")
    line = line.strip()
    if not line:
        raise HostRequestError("empty request")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise HostRequestError(f"request is not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise HostRequestError("request must be a JSON object")
    return _validate(data)


def parse_help_url(url: str) -> HostRequest:
    """Parse ``helpbridge://search?q=...``, ``helpbridge://open?topic=...``,
    ``helpbridge://article/ID``, ``helpbridge://ticket``, ``helpbridge://chat``
    or ``helpbridge://``."""
    if len(url) > MAX_LINE_BYTES:
        raise HostRequestError("URL too long")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != URL_SCHEME:
        raise HostRequestError(f"not a {URL_SCHEME}:// URL")
    target = (parts.netloc or "").lower()
    path = [p for p in unquote(parts.path).split("/") if p]
    if not target and path:  # helpbridge:/search?q=...
        target, path = path[0].lower(), path[1:]
    params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    for forbidden in ("identity", "token", "jwt", "access_token"):
        if forbidden in params:
            raise HostRequestError("a help URL must not carry an identity token")
    data: dict[str, object] = {}
    if target in ("", "home"):
        data["open"] = "home"
    elif target == "search":
        data["open"] = "search"
        data["query"] = params.pop("q", "")
    elif target == "article":
        article = path[0] if path else params.pop("id", "")
        if not article.isdigit():
            raise HostRequestError("article URL needs a numeric id, e.g. helpbridge://article/12")
        data["open"] = "article"
        data["article"] = int(article)
    elif target in ("ticket", "chat"):
        data["open"] = target
    elif target == "open":  # helpbridge://open?topic=... : help on a topic (the host's words)
        topic = params.pop("topic", "").strip()
        data["open"] = "search" if topic else "home"
        if topic:
            data["query"] = topic
    else:
        raise HostRequestError(f"unknown help URL target {target!r}")
    params.pop("q", None)
    params.pop("id", None)
    if params:
        data["context"] = params
    return _validate(data)


def _validate(data: dict[str, object]) -> HostRequest:
    try:
        return HostRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "request"
        raise HostRequestError(f"{where}: {first.get('msg', 'invalid')}") from exc
