"""Start-up helpers of the portal application."""

from __future__ import annotations

import linecache
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from client.ui import app

if TYPE_CHECKING:
    import pytest
    from PySide6.QtWidgets import QApplication

    from tests.servers import LiveServer


def test_import_hook_no_longer_fills_linecache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp: QApplication
) -> None:
    import PySide6.QtCore  # noqa: F401 - the hook exists once PySide6 is imported

    app.lighten_pyside_import_hook()
    plain = tmp_path / "hb_plain_module.py"
    plain.write_text("VALUE = 1\n" + "# filler line\n" * 2000, encoding="utf-8")
    uses_qt = tmp_path / "hb_qt_module.py"
    uses_qt.write_text("import PySide6.QtCore\nVALUE = 2\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        # A real import statement: PySide6 hooks builtins.__import__.
        namespace: dict[str, object] = {}
        exec("import hb_plain_module, hb_qt_module", namespace)
        assert namespace["hb_plain_module"].VALUE == 1  # type: ignore[attr-defined]
        assert namespace["hb_qt_module"].VALUE == 2  # type: ignore[attr-defined]
        assert str(plain) not in linecache.cache
        assert str(uses_qt) not in linecache.cache
        feature = sys.modules.get("shibokensupport.feature")
        table = getattr(feature, "pyside_feature_dict", None)
        if isinstance(table, dict):
            # Same answers as PySide6's own check (uses PySide6 → 0, else -1)
            # for the modules its hook looked at: in a long test session it
            # does not always look at every import, so only those are checked.
            assert table.get("hb_plain_module", -1) == -1
            assert table.get("hb_qt_module", 0) == 0
    finally:
        sys.modules.pop("hb_plain_module", None)
        sys.modules.pop("hb_qt_module", None)


def test_trim_memory_runs(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    linecache.getlines(app.__file__)
    assert app.__file__ in linecache.cache
    cleared: list[bool] = []
    real_clear = linecache.clearcache

    def spy() -> None:
        real_clear()
        # Checked at once: a traceback logged by another thread right after
        # may legitimately fill the cache again.
        cleared.append(app.__file__ not in linecache.cache)

    monkeypatch.setattr(linecache, "clearcache", spy)
    app.trim_memory()
    assert cleared == [True]


# Loaded only when the customer needs them, never for the first screen: the
# sections (and their editors, capture and rendering), and libraries whose
# only use at start-up would be a header peek or a keyring probe that cannot
# succeed (cryptography alone is about 11 MB resident).
LATER_MODULES = (
    "client.ui.tickets.panel",
    "client.ui.tickets.form",
    "client.ui.chat.page",
    "client.core.assist.capture",
    "client.core.assist.host",
    "client.core.markdown",
    "jwt",
    "cryptography",
    "keyring",
    "secretstorage",
    "xml.etree.ElementTree",
    "html.entities",
)

_STARTUP_CHILD = """
import json, sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from client.main import main
from client.ui import app as portal_app

real_trim = portal_app.trim_memory

def probe():
    # Runs on the GUI thread once the portal idles (the memory trim's timer).
    real_trim()
    def check():
        windows = [w for w in QApplication.topLevelWidgets() if hasattr(w, "portal")]
        portal = windows[0].portal if windows else None
        if portal is None or portal.customer is None or portal.backend._tokens is None:
            return
        timer.stop()
        print(json.dumps({
            "customer": portal.customer.external_id,
            "persistent": portal.backend._tokens.persistent,
            "loaded": sorted(m for m in sys.argv[1:] if m in sys.modules),
        }), flush=True)
        QApplication.quit()
    timer = QTimer(QApplication.instance())
    timer.timeout.connect(check)
    timer.start(50)

portal_app.trim_memory = probe
sys.exit(main(["--server", sys.argv.pop(1), "--identity-stdin"]))
"""


def test_first_screen_does_not_load_what_only_later_screens_need(
    live_server: LiveServer, tmp_path: Path
) -> None:
    import json
    import os
    import subprocess

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DBUS_SESSION_BUS_ADDRESS", "PYTHON_KEYRING_BACKEND")
    }
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        HELPBRIDGE_DATA_DIR=str(tmp_path / "data"),
        XDG_RUNTIME_DIR=str(runtime),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    result = subprocess.run(
        [sys.executable, "-c", _STARTUP_CHILD, live_server.url, *LATER_MODULES],
        input=live_server.sign("startup-001") + "\n",
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    got = json.loads(result.stdout.strip().splitlines()[-1])
    # Really started: signed in with the host's identity, token store made.
    assert got["customer"] == "startup-001"
    assert got["persistent"] is False  # no session bus here: memory only
    assert got["loaded"] == []
