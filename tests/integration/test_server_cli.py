"""``helpbridge-server`` as an operator and an ISV developer use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from tests.servers import REPO, ServerProcess


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_demo_service_signs_in_a_customer_and_an_agent(server_process: ServerProcess) -> None:
    token = server_process.sign("demo-1", name="Li Wei", tier="vip")
    r = requests.post(
        f"{server_process.url}/api/v1/auth/identity", json={"token": token}, timeout=5
    )
    assert r.status_code == 200, r.text
    assert r.json()["customer"]["tier"] == "vip"
    creds = json.loads((server_process.data_dir / "demo-credentials.json").read_text())
    assert (server_process.data_dir / "demo-credentials.json").stat().st_mode & 0o077 == 0
    r = requests.post(
        f"{server_process.url}/api/v1/agent/login",
        json={"email": creds["agent_email"], "password": creds["agent_password"]},
        timeout=10,
    )
    assert r.status_code == 200
    zh = requests.get(f"{server_process.url}/api/v1/kb/search", params={"q": "发票"}, timeout=5)
    assert zh.json()["total"] > 0
    # Structured logs: one JSON object a line, no query strings.
    lines = [
        json.loads(x)
        for x in server_process.log_path.read_text().splitlines()  # type: ignore[union-attr]
        if x.startswith("{")
    ]
    assert any(x.get("path") == "/api/v1/kb/search" for x in lines)
    assert not any("发票" in json.dumps(x, ensure_ascii=False) for x in lines)


def test_loopback_by_default() -> None:
    from server.cli import build_parser

    assert build_parser().parse_args([]).host == "127.0.0.1"


def test_port_in_use_is_a_clear_error(server_process: ServerProcess, tmp_path: Path) -> None:
    r = run("--port", str(server_process.port), "--data-dir", str(tmp_path))
    assert r.returncode == 2
    assert "cannot listen" in r.stderr and "Traceback" not in r.stderr


def test_keys_agents_and_import(tmp_path: Path) -> None:
    d = str(tmp_path)
    r = run("identity-key", "add", "--kid", "k1", "--data-dir", d)
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip().splitlines()[-1]
    assert len(secret) >= 32
    assert run("identity-key", "add", "--kid", "k1", "--data-dir", d).returncode == 2
    r = run(
        "identity-key", "add", "--kid", "k2", "--secret-stdin", "--data-dir", d, stdin="short\n"
    )
    assert r.returncode == 2 and "32" in r.stderr
    token = run("sign-identity", "--kid", "k1", "--sub", "c9", "--ttl", "30m", "--data-dir", d)
    assert token.returncode == 0 and token.stdout.count(".") == 2
    r = run("sign-identity", "--kid", "nope", "--sub", "c9", "--data-dir", d)
    assert r.returncode == 2 and "no active identity key" in r.stderr
    r = run("sign-identity", "--kid", "k1", "--sub", "c9", "--ttl", "soon", "--data-dir", d)
    assert r.returncode == 2 and "not a duration" in r.stderr
    assert run("identity-key", "revoke", "--kid", "k1", "--data-dir", d).returncode == 0
    assert "revoked" in run("identity-key", "list", "--data-dir", d).stdout

    r = run(
        "create-agent",
        "--email",
        "a@b.c",
        "--name",
        "A",
        "--password-stdin",
        "--data-dir",
        d,
        stdin="long enough password\n",
    )
    assert r.returncode == 0, r.stderr
    r = run(
        "create-agent",
        "--email",
        "a@b.c",
        "--name",
        "A",
        "--password-stdin",
        "--data-dir",
        d,
        stdin="long enough password\n",
    )
    assert r.returncode == 2 and "exists" in r.stderr
    r = run(
        "create-agent",
        "--email",
        "x@b.c",
        "--name",
        "X",
        "--password-stdin",
        "--data-dir",
        d,
        stdin="short\n",
    )
    assert r.returncode == 2 and "at least" in r.stderr

    r = run("import-kb", str(REPO / "resources" / "kb"), "--data-dir", d)
    assert r.returncode == 0, r.stderr
    assert "0 failed" in r.stdout
    r = run("import-kb", str(tmp_path / "missing"), "--data-dir", d)
    assert r.returncode == 1 and "not a folder" in r.stderr
