"""Import layering: protocol, server and client.core never pull in Qt, and
server and client stay independent of each other."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
QT = ("PySide6", "shiboken6")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute module name a file imports, with its line (relative
    imports are resolved against the file's package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from client import core` imports client.core too.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    problems = []
    for path in sorted((REPO / folder).rglob("*.py")):
        for line, module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                problems.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("protocol", (*QT, "server", "client")),
        ("server", (*QT, "client")),
        ("client/core", (*QT, "server", "client.ui")),
    ],
)
def test_layer_imports(folder: str, forbidden: tuple[str, ...]) -> None:
    assert (REPO / folder).is_dir()
    assert violations(folder, forbidden) == []


def test_checker_sees_every_import_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_repo = tmp_path
    pkg = fake_repo / "client" / "core"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text(
        "import PySide6.QtCore\n"
        "from shiboken6 import isValid\n"
        "from .. import ui\n"
        "def f():\n    from server.db import Database\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REPO", fake_repo)
    found = violations("client/core", (*QT, "server", "client.ui"))
    assert {int(f.split(":")[1].split()[0]) for f in found} == {1, 2, 3, 5}, found


def test_importing_core_loads_no_qt() -> None:
    modules = sorted(
        "client.core." + p.stem
        for p in (REPO / "client" / "core").glob("*.py")
        if p.stem != "__init__"
    )
    assert "client.core.api" in modules and "client.core.tokens" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r} + ['protocol.models', 'protocol.host', 'client.demo']:\n"
        "    importlib.import_module(name)\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
