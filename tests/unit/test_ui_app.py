"""Start-up helpers of the portal application."""

from __future__ import annotations

import linecache
import sys
from typing import TYPE_CHECKING

from client.ui import app

if TYPE_CHECKING:
    from pathlib import Path

    import pytest
    from PySide6.QtWidgets import QApplication


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
            # Same answers as PySide6's own check: uses PySide6 → 0, else -1.
            assert table.get("hb_plain_module") == -1
            assert table.get("hb_qt_module") == 0
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
