"""Language selection and translation loading for the portal.

The UI language is, in order: ``--lang``, the language stored in the settings,
or the system locale (``zh*`` → Simplified Chinese, anything else → English).
English is the source language, so it needs no translation file.

Translations live in ``resources/translations/helpbridge_<locale>.ts`` (Qt
Linguist XML). A built package carries the compiled ``.qm`` next to it (the
``build_py`` hook in setup.py runs lrelease). A source checkout or an editable
install may lack it, so :func:`load_app_translator` falls back to

1. a ``.qm`` compiled with PySide6's ``lrelease`` into the user cache directory
   (recompiled when the ``.ts`` is newer), then
2. :class:`TsTranslator`, which reads the ``.ts`` XML directly.

Qt's own strings (standard buttons, context menus) come from ``qtbase_<locale>.qm``
shipped with Qt, when present.

To add new strings to the ``.ts`` (existing translations are kept; list every
UI source file, or strings from the missing ones are dropped)::

    pyside6-lupdate $(find client/ui -name '*.py') \
        -ts resources/translations/helpbridge_zh_CN.ts -no-obsolete -locations none

then translate the entries marked ``type="unfinished"`` (Qt Linguist or by
hand); tests/unit/test_ui_i18n.py fails while any is left.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QLibraryInfo,
    QLocale,
    QObject,
    QStandardPaths,
    QTranslator,
)

log = logging.getLogger(__name__)

SUPPORTED = ("zh_CN", "en")
SOURCE_LOCALE = "en"
APP_CATALOG = "helpbridge"


def normalize_locale(name: str | None) -> str | None:
    """Map ``zh``, ``zh-CN``, ``zh_Hans_CN``, ``en_US``... onto a supported
    locale; None for "system" / empty; unknown languages become English."""
    if not name:
        return None
    value = name.strip().replace("-", "_").lower()
    if value in ("", "system", "auto"):
        return None
    if value.startswith("zh"):
        return "zh_CN"
    return "en"


def system_locale() -> str:
    """The UI language that follows the system: zh* → zh_CN, else en."""
    locale = QLocale.system()
    names = [locale.name(), *locale.uiLanguages()]
    return "zh_CN" if names and names[0].lower().replace("-", "_").startswith("zh") else "en"


def resolve_locale(cli: str | None = None, setting: str | None = None) -> str:
    return normalize_locale(cli) or normalize_locale(setting) or system_locale()


def translations_dir() -> Path:
    from resources import TRANSLATIONS

    return TRANSLATIONS


def cache_dir() -> Path:
    """Per-user cache directory for compiled translations."""
    if os.environ.get("HELPBRIDGE_DATA_DIR", "").strip():
        from client.core.paths import data_dir

        return data_dir() / "cache"
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    if location:
        return Path(location)
    return Path.home() / ".cache" / "helpbridge"


def find_lrelease() -> str | None:
    """PySide6's lrelease binary, or its ``pyside6-lrelease`` wrapper."""
    try:
        import PySide6

        pkg = Path(PySide6.__file__).resolve().parent
        for candidate in (
            pkg / "Qt" / "libexec" / "lrelease",
            pkg / "lrelease",
            pkg / "lrelease.exe",
        ):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    except ImportError:  # pragma: no cover - PySide6 is a hard dependency
        pass
    exe_dir = Path(sys.executable).parent
    for name in ("pyside6-lrelease", "pyside6-lrelease.exe"):
        candidate = exe_dir / name
        if candidate.is_file():
            return str(candidate)
    return shutil.which("pyside6-lrelease")


def compile_ts(ts: Path, qm: Path, *, timeout_s: float = 20.0) -> bool:
    """Compile ``ts`` to ``qm`` with lrelease. False when that is not possible."""
    lrelease = find_lrelease()
    if lrelease is None:
        return False
    qm.parent.mkdir(parents=True, exist_ok=True)
    tmp = qm.with_suffix(".qm.tmp")
    try:
        proc = subprocess.run(  # noqa: S603 - fixed binary, our own file paths
            [lrelease, "-silent", str(ts), "-qm", str(tmp)],
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("lrelease failed to run: %s", exc)
        return False
    if proc.returncode != 0 or not tmp.is_file():
        log.warning(
            "lrelease failed (%s): %s", proc.returncode, proc.stderr.decode(errors="replace")
        )
        tmp.unlink(missing_ok=True)
        return False
    os.replace(tmp, qm)
    return True


class TsTranslator(QTranslator):
    """Serves translations straight from a Qt Linguist ``.ts`` file.

    Only used when no compiled ``.qm`` can be had; handles plain and numerus
    messages and disambiguation comments, and skips unfinished or obsolete
    entries the way lrelease does.
    """

    def __init__(self, ts_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._messages: dict[tuple[str, str, str], list[str]] = {}
        self._language = ""
        self._load(ts_path)

    def _load(self, ts_path: Path) -> None:
        import xml.etree.ElementTree as ET  # only for this fallback, not at every start

        root = ET.parse(ts_path).getroot()  # noqa: S314 - our own shipped file
        self._language = root.get("language", "")
        for context in root.iter("context"):
            ctx_name = context.findtext("name") or ""
            for message in context.iter("message"):
                source = message.findtext("source")
                translation = message.find("translation")
                if source is None or translation is None:
                    continue
                if translation.get("type") in ("unfinished", "obsolete", "vanished"):
                    continue
                comment = message.findtext("comment") or ""
                if message.get("numerus") == "yes":
                    forms = [f.text or "" for f in translation.iter("numerusform")]
                else:
                    forms = [translation.text or ""]
                if any(forms):
                    self._messages[(ctx_name, source, comment)] = forms

    def __len__(self) -> int:
        return len(self._messages)

    def isEmpty(self) -> bool:
        return not self._messages

    def language(self) -> str:
        return self._language

    def translate(
        self,
        context: str,
        sourceText: str,
        disambiguation: str | None = None,
        n: int = -1,
    ) -> str | None:
        forms = self._messages.get((context, sourceText, disambiguation or ""))
        if forms is None and disambiguation:
            forms = self._messages.get((context, sourceText, ""))
        if not forms:
            return None  # a null QString: Qt falls back to the source text
        index = 0
        if len(forms) > 1 and n != -1 and not self._language.startswith("zh"):
            index = 0 if n == 1 else 1
        return forms[min(index, len(forms) - 1)]


def load_app_translator(
    locale: str, parent: QObject | None = None, *, catalog: str = APP_CATALOG
) -> QTranslator | None:
    """The translator for ``catalog`` (the portal's own strings by default;
    the agent console passes its own) in ``locale``: None for English or
    when no translation file exists."""
    if locale == SOURCE_LOCALE:
        return None
    base = f"{catalog}_{locale}"
    ts = translations_dir() / f"{base}.ts"
    shipped = translations_dir() / f"{base}.qm"
    if shipped.is_file() and (not ts.is_file() or shipped.stat().st_mtime >= ts.stat().st_mtime):
        translator = QTranslator(parent)
        if translator.load(str(shipped)):
            return translator
    if not ts.is_file():
        log.warning("no translation for %s", locale)
        return None
    cached = cache_dir() / "translations" / f"{base}.qm"
    try:
        fresh = cached.is_file() and cached.stat().st_mtime >= ts.stat().st_mtime
        if fresh or compile_ts(ts, cached):
            translator = QTranslator(parent)
            if translator.load(str(cached)):
                return translator
    except OSError as exc:
        log.warning("cannot use the translation cache %s: %s", cached, exc)
    try:
        return TsTranslator(ts, parent)
    except (OSError, SyntaxError) as exc:  # SyntaxError: xml.etree's ParseError
        log.error("cannot read %s: %s", ts, exc)
        return None


def load_qt_translator(locale: str, parent: QObject | None = None) -> QTranslator | None:
    """Qt's own translations (``qtbase_<locale>.qm``) when Qt ships them."""
    if locale == SOURCE_LOCALE:
        return None
    path = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    translator = QTranslator(parent)
    if translator.load(QLocale(locale), "qtbase", "_", path):
        return translator
    return None


def install_translations(locale: str) -> list[QTranslator]:
    """Install the app's and Qt's translators for ``locale`` on the running
    application and make ``locale`` the default QLocale. Returns the installed
    translators (keep them referenced)."""
    app = QCoreApplication.instance()
    QLocale.setDefault(QLocale(locale))
    installed: list[QTranslator] = []
    if app is None:
        return installed
    for translator in (load_qt_translator(locale, app), load_app_translator(locale, app)):
        if translator is not None and app.installTranslator(translator):
            installed.append(translator)
    return installed
