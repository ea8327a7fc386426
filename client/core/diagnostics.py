"""The diagnostic bundle a customer may attach to a ticket.

:func:`collect` gathers what helps support (versions, the host
application's context, the portal's recent log, the screen layout, the
portal's settings) as plain-text :class:`DiagnosticItem` values the customer
can read and untick one by one before sending; :func:`build_zip` packs the
ticked ones, with a ``manifest.json`` saying what is in and what was left out.

Everything is scrubbed with :func:`client.core.logs.redact` on the way in AND
again when zipped (the UI may have built or changed an item): session tokens
passed explicitly, JWTs, bearer credentials and secret-named values never
reach the bundle. Settings whose names look secret are left out entirely.
"""

from __future__ import annotations

import io
import json
import locale
import os
import platform
import re
import sys
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from client.core.logs import SECRET_NAME, redact
from protocol import PROTOCOL_VERSION

__all__ = ["LOG_LINES", "DiagnosticItem", "build_zip", "collect", "log_tail"]

LOG_LINES = 200
_TAIL_BYTES = 512 * 1024
"""Read at most this much of the end of each log file."""
_MAX_CONTENT = 1024 * 1024
_MANIFEST_FORMAT = 1
_LOG_NAME = re.compile(r"\.log(\.\d+)?$")


@dataclass
class DiagnosticItem:
    key: str
    """Stable id (also the file name in the zip); the UI may translate titles by it."""
    title: str
    description: str
    content: str
    included: bool = True


def collect(
    *,
    app_version: str,
    host_context: Mapping[str, str],
    screens: Sequence[Mapping[str, object]],
    log_dir: Path,
    settings: Mapping[str, str],
    secrets: Iterable[str] = (),
    qt_version: str | None = None,
    log_lines: int = LOG_LINES,
) -> list[DiagnosticItem]:
    """The bundle's items, already scrubbed of ``secrets`` and anything secret-looking.

    ``qt_version`` (or a ``qt_version`` setting) comes from the UI, since this
    module must not import Qt.
    """
    secret_list = [s for s in secrets if s]
    items = [
        DiagnosticItem(
            "versions",
            "App and system",
            "HelpBridge, Qt, Python and operating system versions.",
            _versions(app_version, qt_version or settings.get("qt_version")),
        ),
        DiagnosticItem(
            "host_context",
            "Application context",
            "What the application you asked for help from told HelpBridge "
            "(e.g. the module and version you were using).",
            _pairs(host_context, ": ") or "(none)",
        ),
        DiagnosticItem(
            "log",
            "Recent log",
            f"The last {log_lines} lines of HelpBridge's own log.",
            log_tail(log_dir, log_lines),
        ),
        DiagnosticItem(
            "screens",
            "Screens",
            "Number, size and scaling of your screens (no screen content).",
            _screens(screens),
        ),
        DiagnosticItem(
            "settings",
            "Settings",
            "HelpBridge's settings, without passwords or keys.",
            _settings(settings),
        ),
    ]
    for item in items:
        item.content = _clip(redact(item.content, secret_list))
    return items


def build_zip(items: Iterable[DiagnosticItem], *, secrets: Iterable[str] = ()) -> bytes:
    """A zip of the ticked items (``<key>.txt``) and ``manifest.json``."""
    secret_list = [s for s in secrets if s]
    now = datetime.now(UTC)
    stamp = now.timetuple()[:6]
    included: list[dict[str, object]] = []
    omitted: list[dict[str, str]] = []
    used: set[str] = {"manifest"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in items:
            title = redact(item.title, secret_list)
            if not item.included:
                omitted.append({"key": item.key, "title": title})
                continue
            name = _member_name(item.key, used)
            data = _clip(redact(item.content, secret_list)).encode("utf-8")
            archive.writestr(zipfile.ZipInfo(name, stamp), data, zipfile.ZIP_DEFLATED)
            included.append({"key": item.key, "title": title, "file": name, "bytes": len(data)})
        manifest = {
            "format": _MANIFEST_FORMAT,
            "created_at": now.isoformat(timespec="seconds"),
            "included": included,
            "omitted": omitted,
        }
        text = redact(json.dumps(manifest, ensure_ascii=False, indent=2), secret_list)
        archive.writestr(
            zipfile.ZipInfo("manifest.json", stamp), text.encode("utf-8"), zipfile.ZIP_DEFLATED
        )
    return buffer.getvalue()


def log_tail(log_dir: Path, lines: int = LOG_LINES) -> str:
    """The last ``lines`` lines across the newest log files, oldest first."""
    try:
        files = [p for p in Path(log_dir).iterdir() if _LOG_NAME.search(p.name) and p.is_file()]
    except OSError:
        return "(no log files)"
    # portal.log is the newest, then portal.log.1, .2...; mtime breaks ties
    # between different logs.
    files.sort(key=lambda p: (-_mtime(p), _rotation(p.name)))
    chunks: list[tuple[str, list[str]]] = []
    wanted = lines
    for path in files:
        if wanted <= 0:
            break
        tail = _read_tail(path)
        if tail is None:
            continue
        taken = tail[-wanted:] if wanted < len(tail) else tail
        wanted -= len(taken)
        chunks.append((path.name, taken))
    if not chunks:
        return "(no log files)"
    out: list[str] = []
    for name, taken in reversed(chunks):
        out.append(f"==> {name} <==")
        out.extend(taken)
    return "\n".join(out) + "\n"


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _rotation(name: str) -> int:
    m = _LOG_NAME.search(name)
    return int(m.group(1)[1:]) if m and m.group(1) else 0


def _read_tail(path: Path) -> list[str] | None:
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            start = max(0, size - _TAIL_BYTES)
            f.seek(start)
            data = f.read()
    except OSError:
        return None
    text = data.decode("utf-8", errors="replace")
    found = text.splitlines()
    if start > 0 and found:
        found = found[1:]  # began mid-line
    return found


def _versions(app_version: str, qt_version: str | None) -> str:
    lang, encoding = locale.getlocale()
    rows = {
        "HelpBridge": app_version,
        "Protocol": str(PROTOCOL_VERSION),
        "Qt": qt_version or "unknown",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "Operating system": platform.platform(),
        "System": f"{platform.system()} {platform.release()} ({platform.version()})",
        "Machine": platform.machine() or "unknown",
        "Locale": f"{lang or 'unknown'} ({encoding or 'unknown'})",
        "Packaged": "yes" if getattr(sys, "frozen", False) else "no",
    }
    return _pairs(rows, ": ")


def _pairs(values: Mapping[str, str], sep: str) -> str:
    return "".join(f"{k}{sep}{_one_line(str(v))}\n" for k, v in sorted(values.items()))


def _one_line(value: str) -> str:
    return value.replace("\r", "\\r").replace("\n", "\\n")


def _screens(screens: Sequence[Mapping[str, object]]) -> str:
    if not screens:
        return "(no screen information)"
    lines = []
    for n, screen in enumerate(screens, start=1):
        fields = ", ".join(f"{k}={_one_line(str(v))}" for k, v in screen.items())
        lines.append(f"Screen {n}: {fields}")
    return "\n".join(lines) + "\n"


def _settings(settings: Mapping[str, str]) -> str:
    kept = {k: v for k, v in settings.items() if not SECRET_NAME.search(k)}
    left_out = len(settings) - len(kept)
    text = _pairs(kept, " = ") or "(none)\n"
    if left_out:
        text += f"({left_out} secret setting(s) left out)\n"
    return text


def _clip(text: str) -> str:
    if len(text) <= _MAX_CONTENT:
        return text
    return "(cut to the last part)\n" + text[-_MAX_CONTENT:]


def _member_name(key: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", key).strip("_")[:40] or "item"
    name, n = base, 2
    while name in used:
        name, n = f"{base}_{n}", n + 1
    used.add(name)
    return name + ".txt"
