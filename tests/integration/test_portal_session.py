"""Sign-in: exchange, refresh-token storage, restoring the session later."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import keyring.backends.fail
import pytest

from client.core.tokens import service_name
from tests.keyring_memory import MemoryKeyring
from tests.servers import LiveServer
from tests.ui_helpers import PortalHarness

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


@pytest.fixture
def memory_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_session_is_stored_and_restored_on_next_start(
    qtbot: QtBot, live_server: LiveServer, memory_keyring: MemoryKeyring
) -> None:
    token = live_server.sign("cust-restore", name="Zhao Lei", company="Acme", tier="svip")
    first = PortalHarness(qtbot, live_server.url)
    try:
        first.start(identity=token)
        qtbot.waitUntil(lambda: first.window.customer_name.text() == "Zhao Lei", timeout=10000)
        assert first.window.tier_badge.text() == "SVIP"
    finally:
        first.close()
    stored = {
        k: v for k, v in memory_keyring.entries.items() if k[0] == service_name(live_server.url)
    }
    assert stored, "the refresh token was not stored"
    assert token not in memory_keyring.entries.values()  # only the refresh token is kept

    # A later start without an identity: the stored refresh token signs in.
    second = PortalHarness(qtbot, live_server.url)
    try:
        second.start()
        qtbot.waitUntil(lambda: second.window.customer_name.text() == "Zhao Lei", timeout=10000)
        assert second.window.customer_company.text() == "Acme"
        assert second.window.banners.texts() == {}
    finally:
        second.close()
    # Refresh tokens rotate: the stored one changed.
    again = {
        k: v for k, v in memory_keyring.entries.items() if k[0] == service_name(live_server.url)
    }
    assert again != stored


def test_revoked_stored_session_is_forgotten_quietly(
    qtbot: QtBot, live_server: LiveServer, memory_keyring: MemoryKeyring
) -> None:
    from client.core.tokens import TokenStore

    store = TokenStore(live_server.url)
    store.save("cust-gone", "not-a-valid-refresh-token")
    store.remember_last("cust-gone")
    h = PortalHarness(qtbot, live_server.url)
    try:
        h.start()
        qtbot.waitUntil(lambda: store.load("cust-gone") is None, timeout=10000)
        assert h.window.customer_name.text() == "Not signed in"
        assert h.window.banners.texts() == {}
    finally:
        h.close()


def test_without_a_keyring_the_problem_is_shown_once(
    qtbot: QtBot, live_server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "portal"))
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    h = PortalHarness(qtbot, live_server.url)
    try:
        h.start(identity=live_server.sign("cust-nokeyring", name="Chen Jing"))
        qtbot.waitUntil(lambda: h.window.customer_name.text() == "Chen Jing", timeout=10000)
        texts = h.window.banners.texts()
        assert "cannot be saved on this computer" in texts["keyring"]
        h.window.banners.clear_notice("keyring")
        # A second identity in the same run does not nag again.
        h.portal.submit_identity(live_server.sign("cust-nokeyring", name="Chen Jing 2"))
        qtbot.waitUntil(lambda: h.window.customer_name.text() == "Chen Jing 2", timeout=10000)
        assert "keyring" not in h.window.banners.texts()
    finally:
        h.close()
        keyring.set_keyring(previous)
