"""The diagnostic bundle: what goes in, what is left out, and that no secret survives."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import jwt
import pytest

from client.core.diagnostics import DiagnosticItem, build_zip, collect, log_tail
from client.core.logs import RedactingFormatter, redact, setup_file_logging

ACCESS = "acc-" + secrets.token_urlsafe(24)
REFRESH = "ref-" + secrets.token_urlsafe(24)
IDENTITY_JWT = jwt.encode(
    {"sub": "cust-001", "name": "Li Wei", "exp": 4_000_000_000}, "k" * 32, algorithm="HS256"
)
OTHER_JWT = jwt.encode({"sub": "x"}, "s" * 64, algorithm="HS512")
BEARER = "opaque-" + secrets.token_hex(12)
QUERY_TOKEN = "q-" + secrets.token_hex(10)
JSON_REFRESH = "jr-" + secrets.token_hex(10)
PASSWORD = "hunter2-" + secrets.token_hex(4)
API_SECRET = "sec-" + secrets.token_hex(8)
PLAIN_TOKEN = "tk-" + secrets.token_hex(8)
REPR_PASSWORD = "rp-" + secrets.token_hex(8)
SETTING_SECRET = "set-" + secrets.token_hex(8)
CONTEXT_SECRET = "ctx-" + secrets.token_hex(8)

ALL_SECRETS = [
    ACCESS,
    REFRESH,
    IDENTITY_JWT,
    OTHER_JWT,
    BEARER,
    QUERY_TOKEN,
    JSON_REFRESH,
    PASSWORD,
    API_SECRET,
    PLAIN_TOKEN,
    REPR_PASSWORD,
    SETTING_SECRET,
    CONTEXT_SECRET,
]

LEAKY_LINES = [
    f"2024-05-01 10:00:00 INFO client.ui: identity received {IDENTITY_JWT}",
    f"2024-05-01 10:00:01 DEBUG urllib3: Authorization: Bearer {BEARER}",
    f"2024-05-01 10:00:02 INFO client: opened https://help.example.com/x?access_token={QUERY_TOKEN}&page=2",
    f'2024-05-01 10:00:03 INFO client: body {{"refresh_token": "{JSON_REFRESH}", "ok": true}}',
    f"2024-05-01 10:00:04 WARNING client: proxy password={PASSWORD} rejected",
    f"2024-05-01 10:00:05 INFO client: client_secret: {API_SECRET}",
    f"2024-05-01 10:00:06 INFO client: token={PLAIN_TOKEN}",
    f"2024-05-01 10:00:07 INFO client: settings {{'password': '{REPR_PASSWORD}', 'lang': 'en'}}",
    f"2024-05-01 10:00:08 ERROR client: session {ACCESS} / refresh {REFRESH}",
    f"2024-05-01 10:00:09 ERROR client: url-encoded {quote(REFRESH + '/x', safe='')}",
    f"2024-05-01 10:00:10 INFO client: other jwt {OTHER_JWT}.",
]


def write_log(path: Path, lines: list[str], mtime: float | None = None) -> None:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def gather(log_dir: Path, **kw: object) -> list[DiagnosticItem]:
    args: dict[str, object] = {
        "app_version": "1.4.2",
        "host_context": {"module": "invoices", "license_key": CONTEXT_SECRET, "note": "a\nb"},
        "screens": [
            {"name": "DP-1", "geometry": "0,0 2560x1440", "scale": 1.5},
            {"name": "HDMI-1", "geometry": "2560,0 1920x1080", "scale": 1.0},
        ],
        "log_dir": log_dir,
        "settings": {
            "server_url": "https://help.example.com",
            "language": "zh_CN",
            "proxy_password": SETTING_SECRET,
            "api_token": SETTING_SECRET,
        },
        "secrets": [ACCESS, REFRESH, REFRESH + "/x"],
        "qt_version": "6.7.2",
    }
    args.update(kw)
    return collect(**args)  # type: ignore[arg-type]


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


def test_no_secret_survives_into_the_zip(tmp_path: Path) -> None:
    write_log(tmp_path / "portal.log", ["start", *LEAKY_LINES, "last line"])
    items = gather(tmp_path)
    files = members(build_zip(items))
    assert set(files) == {
        "versions.txt",
        "host_context.txt",
        "log.txt",
        "screens.txt",
        "settings.txt",
        "manifest.json",
    }
    everything = b"".join(files.values())
    for secret in ALL_SECRETS:
        for name, data in files.items():
            assert secret.encode() not in data, (secret, name)
    # A JWT's pieces would give it away too.
    for token in (IDENTITY_JWT, OTHER_JWT):
        assert token.split(".")[1].encode() not in everything
    assert b"eyJ" not in everything
    # What is not secret is still there, readable.
    log = files["log.txt"].decode()
    assert "Authorization: Bearer [redacted]" in log
    assert "access_token=[redacted]&page=2" in log
    assert '"refresh_token": "[redacted]", "ok": true' in log
    assert "'lang': 'en'" in log and "last line" in log
    assert log.count("[redacted]") >= len(LEAKY_LINES)
    settings = files["settings.txt"].decode()
    assert "language = zh_CN" in settings and "server_url = https://help.example.com" in settings
    assert "proxy_password" not in settings and "2 secret setting(s) left out" in settings
    context = files["host_context.txt"].decode()
    assert "module: invoices" in context and "license_key: [redacted]" in context
    assert "note: a\\nb" in context


def test_versions_and_screens(tmp_path: Path) -> None:
    items = {i.key: i for i in gather(tmp_path)}
    versions = items["versions"].content
    assert "HelpBridge: 1.4.2" in versions and "Qt: 6.7.2" in versions
    assert "Python: " in versions and "Operating system: " in versions
    screens = items["screens"].content.splitlines()
    assert screens == [
        "Screen 1: name=DP-1, geometry=0,0 2560x1440, scale=1.5",
        "Screen 2: name=HDMI-1, geometry=2560,0 1920x1080, scale=1.0",
    ]
    assert (
        "Qt: 6.5.0"
        in {i.key: i for i in gather(tmp_path, qt_version=None, settings={"qt_version": "6.5.0"})}[
            "versions"
        ].content
    )


def test_only_ticked_items_are_zipped_and_the_manifest_says_so(tmp_path: Path) -> None:
    items = gather(tmp_path)
    for item in items:
        item.included = item.key in ("versions", "log")
    files = members(build_zip(items))
    assert set(files) == {"versions.txt", "log.txt", "manifest.json"}
    manifest = json.loads(files["manifest.json"])
    assert [(e["key"], e["file"]) for e in manifest["included"]] == [
        ("versions", "versions.txt"),
        ("log", "log.txt"),
    ]
    assert manifest["included"][0]["bytes"] == len(files["versions.txt"])
    assert [e["key"] for e in manifest["omitted"]] == ["host_context", "screens", "settings"]
    assert manifest["format"] == 1 and manifest["created_at"]


def test_build_zip_scrubs_what_the_ui_added(tmp_path: Path) -> None:
    extra = DiagnosticItem("notes", "Notes", "typed", f"my token is {ACCESS} and Bearer {BEARER}\n")
    twin = DiagnosticItem("notes", "Notes again", "", "second")
    files = members(build_zip([extra, twin], secrets=[ACCESS]))
    assert set(files) == {"notes.txt", "notes_2.txt", "manifest.json"}
    assert files["notes.txt"] == b"my token is [redacted] and Bearer [redacted]\n"


def test_log_tail_takes_the_newest_lines_across_rotated_files(tmp_path: Path) -> None:
    now = time.time()
    write_log(tmp_path / "portal.log.2", [f"old {i}" for i in range(100)], now - 200)
    write_log(tmp_path / "portal.log.1", [f"mid {i}" for i in range(100)], now - 100)
    write_log(tmp_path / "portal.log", [f"new {i}" for i in range(50)], now)
    (tmp_path / "notes.txt").write_text("not a log\n")
    lines = log_tail(tmp_path, 200).splitlines()
    body = [line for line in lines if not line.startswith("==>")]
    assert len(body) == 200
    assert body[0] == "old 50" and body[-1] == "new 49"
    assert [line for line in lines if line.startswith("==>")] == [
        "==> portal.log.2 <==",
        "==> portal.log.1 <==",
        "==> portal.log <==",
    ]
    # A long current log alone fills the tail.
    write_log(tmp_path / "portal.log", [f"new {i}" for i in range(500)], now)
    body = [x for x in log_tail(tmp_path, 200).splitlines() if not x.startswith("==>")]
    assert body == [f"new {i}" for i in range(300, 500)]


def test_log_tail_survives_odd_files(tmp_path: Path) -> None:
    assert log_tail(tmp_path / "missing") == "(no log files)"
    assert log_tail(tmp_path) == "(no log files)"
    (tmp_path / "portal.log").write_bytes(b"ok\n\xff\xfe broken \x00 bytes\n" + b"x" * 2_000_000)
    tail = log_tail(tmp_path, 5)
    assert tail.startswith("==> portal.log <==")
    assert len(tail) < 600_000  # only the end of a huge file is read
    (tmp_path / "big.log").mkdir()  # a directory named like a log
    assert log_tail(tmp_path, 5)


def test_the_log_file_is_redacted_as_it_is_written(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        path = setup_file_logging(tmp_path, filename="test.log")
        assert path == (tmp_path / "test.log").resolve()
        assert setup_file_logging(tmp_path, filename="test.log") == path
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1
        log = logging.getLogger("client.test")
        log.warning("exchange failed for %s", IDENTITY_JWT)
        try:
            raise RuntimeError(f"refresh_token={JSON_REFRESH}")
        except RuntimeError:
            log.exception("refresh failed")
        for handler in added:
            handler.flush()
        text = path.read_text() if path else ""
        assert "exchange failed for [redacted]" in text
        assert "RuntimeError: refresh_token=[redacted]" in text
        assert IDENTITY_JWT not in text and JSON_REFRESH not in text
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
                handler.close()


def test_unwritable_log_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert setup_file_logging(blocker / "logs") is None
    assert "cannot write the log file" in capsys.readouterr().err


def test_redact_keeps_ordinary_text() -> None:
    text = "code=token_expired status=401 took 12 ms; see article 42"
    assert redact(text) == text
    assert redact("short abc", ["abc"]) == "short abc"  # too short to be a token
    once = redact("\n".join(LEAKY_LINES), [ACCESS, REFRESH])
    assert redact(once, [ACCESS, REFRESH]) == once
    formatter = RedactingFormatter("%(message)s")
    record = logging.makeLogRecord({"msg": "Bearer %s", "args": (BEARER,)})
    assert formatter.format(record) == "Bearer [redacted]"
