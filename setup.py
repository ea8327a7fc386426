"""Build hook: compile the Qt Linguist translations into the package.

``resources/translations/*.ts`` are the sources (kept in git); the ``.qm``
files Qt loads are build output (``*.qm`` is git-ignored). ``build_py`` runs
PySide6's ``lrelease`` on every ``.ts`` and puts the ``.qm`` next to it in
the build tree. When lrelease is not available in the build environment the
build still succeeds: the portal then compiles or reads the ``.ts`` at run
time (client/ui/i18n.py).

Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
TRANSLATIONS = Path("resources") / "translations"


def find_lrelease() -> str | None:
    try:
        import PySide6
    except ImportError:
        pass
    else:
        pkg = Path(PySide6.__file__).resolve().parent
        names = ("Qt/libexec/lrelease", "lrelease", "lrelease.exe")
        for candidate in (pkg / name for name in names):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    for name in ("pyside6-lrelease", "lrelease-qt6", "lrelease"):
        found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
        if found:
            return found
    return None


class BuildPyWithTranslations(build_py):  # type: ignore[misc]  # setuptools is untyped
    """``build_py`` that also writes ``resources/translations/*.qm``."""

    def run(self) -> None:
        super().run()
        self.compile_translations()

    def compile_translations(self) -> None:
        sources = sorted((ROOT / TRANSLATIONS).glob("*.ts"))
        if not sources:
            return
        lrelease = find_lrelease()
        if lrelease is None:
            self.announce("lrelease not found: translations will be compiled at run time", level=3)
            return
        out_dir = Path(self.build_lib) / TRANSLATIONS
        out_dir.mkdir(parents=True, exist_ok=True)
        for ts in sources:
            qm = out_dir / (ts.stem + ".qm")
            self.announce(f"compiling {ts.name} -> {qm}", level=2)
            subprocess.run(  # noqa: S603 - fixed tool, our own files
                [lrelease, "-silent", str(ts), "-qm", str(qm)], check=True
            )


setup(cmdclass={"build_py": BuildPyWithTranslations})
