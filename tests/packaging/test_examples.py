"""The ISV kit's examples against real parts: the signing snippet and the
command-line example against a real service, the PySide6 host application
offscreen. The "running portal" is a real InstanceServer (client/ui/instance.py)
listening where the real ``python -m client --request-stdin`` forwards to."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from client.ui.instance import InstanceServer, instance_name
from protocol.host import HostRequest
from tests.servers import LiveServer

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def exchange(server: LiveServer, token: str) -> dict[str, Any]:
    r = requests.post(f"{server.url}/api/v1/auth/identity", json={"token": token}, timeout=10)
    assert r.status_code == 200, r.text
    session: dict[str, Any] = r.json()
    return session


def signing_env(server: LiveServer, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HELPBRIDGE_IDENTITY_KID": server.kid,
        "HELPBRIDGE_IDENTITY_SECRET": server.secret,
        "HELPBRIDGE_DATA_DIR": str(data_dir),
        "HELPBRIDGE_PROGRAM": f"{sys.executable} -m client",
        "PYTHONPATH": str(REPO),
        "QT_QPA_PLATFORM": "offscreen",
    }


class Listener:
    """Stands in for the running portal: records what arrives on its socket."""

    def __init__(self, server_url: str, data_dir: Path) -> None:
        self.received: list[HostRequest] = []
        self.server = InstanceServer(self._handle)
        self.name = instance_name(server_url, str(data_dir))
        assert self.server.listen(self.name)

    def _handle(self, request: HostRequest) -> str | None:
        self.received.append(request)
        return None


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "portal-data"
    path.mkdir()
    return path


@pytest.fixture
def listener(qapp: Any, live_server: LiveServer, data_dir: Path) -> Iterator[Listener]:
    listener = Listener(live_server.url, data_dir)
    yield listener
    listener.server.close()


def test_sign_token_example_is_accepted_by_the_service(
    live_server: LiveServer, data_dir: Path
) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "sign_token.py"), "--sub", "isv-001",
         "--name", "Li Wei", "--company", "Contoso", "--tier", "vip", "--product", "LedgerPro"],
        env=signing_env(live_server, data_dir), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    session = exchange(live_server, result.stdout.strip())
    assert session["customer"]["external_id"] == "isv-001"
    assert session["customer"]["name"] == "Li Wei"
    assert session["customer"]["tier"] == "vip"


def test_sign_token_example_refuses_without_the_secret_in_the_environment(
    live_server: LiveServer, data_dir: Path
) -> None:
    env = signing_env(live_server, data_dir)
    del env["HELPBRIDGE_IDENTITY_SECRET"]
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "sign_token.py"), "--sub", "x"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "HELPBRIDGE_IDENTITY_SECRET" in result.stderr


def test_cli_example_hands_topic_context_and_identity_to_the_running_portal(
    qtbot: Any, live_server: LiveServer, listener: Listener, data_dir: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "cli_open.py"), "--server", live_server.url,
         "--customer", "isv-002", "--name", "Wang Fang", "--topic", "打印发票",
         "--context", "module=Invoicing", "--context", "error_code=LP-1043"],
        env=signing_env(live_server, data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        qtbot.waitUntil(lambda: len(listener.received) == 1, timeout=60000)
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30000)
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    request = listener.received[0]
    assert request.open == "search"
    assert request.query == "打印发票"
    assert request.context == {"module": "Invoicing", "error_code": "LP-1043"}
    assert request.identity is not None
    assert exchange(live_server, request.identity)["customer"]["external_id"] == "isv-002"


def test_isv_app_help_menu_opens_helpbridge_with_context_and_identity(
    qtbot: Any,
    live_server: LiveServer,
    listener: Listener,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in signing_env(live_server, data_dir).items():
        monkeypatch.setenv(key, value)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import isv_app

    window = isv_app.IsvWindow(live_server.url, "isv-003", "Zhao Lei")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    help_menu = window.menuBar().actions()[0].menu()
    assert [a.text() for a in help_menu.actions()] == [
        "Help on this screen",
        "Contact support...",
        "Chat with support",
    ]

    with qtbot.waitSignal(window.help_sent, timeout=60000) as sent:
        window.help_action.trigger()
    assert sent.args[0] == 0, sent.args[1]
    first = listener.received[-1]
    assert first.open == "search" and first.query == "void invoice"
    assert first.context == {"product": "LedgerPro", "version": "6.2.1", "module": "Invoicing"}
    assert first.identity is not None
    customer = exchange(live_server, first.identity)["customer"]
    assert customer["external_id"] == "isv-003" and customer["product"] == "LedgerPro"

    window.screens.setCurrentRow(1)  # Banking
    window.last_error_code = "LP-2001"
    with qtbot.waitSignal(window.help_sent, timeout=60000) as sent:
        window.ticket_action.trigger()
    assert sent.args[0] == 0, sent.args[1]
    ticket = listener.received[-1]
    assert ticket.open == "ticket"
    assert ticket.context["module"] == "Banking" and ticket.context["error_code"] == "LP-2001"
