"""The console's translations: its own catalogue, ``helpbridge_agent_<locale>.ts``,
loaded with the portal's i18n helpers (compiled ``.qm`` shipped, compiled
into the cache with lrelease, or read straight from the ``.ts``), plus Qt's
own strings.

To add new strings (existing translations are kept)::

    pyside6-lupdate $(find client/agent -name '*.py') \\
        -ts resources/translations/helpbridge_agent_zh_CN.ts -no-obsolete -locations none

tests/unit/test_agent_i18n.py fails while a string is missing or unfinished.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from PySide6.QtCore import QCoreApplication, QLocale, QObject, QTranslator

from client.ui import i18n

log = logging.getLogger(__name__)

CATALOG = "helpbridge_agent"


def load_catalog(locale: str, parent: QObject | None = None) -> QTranslator | None:
    """The console's translator for ``locale`` (None for English or when missing)."""
    if locale == i18n.SOURCE_LOCALE:
        return None
    base = f"{CATALOG}_{locale}"
    folder = i18n.translations_dir()
    ts = folder / f"{base}.ts"
    shipped = folder / f"{base}.qm"
    if shipped.is_file() and (not ts.is_file() or shipped.stat().st_mtime >= ts.stat().st_mtime):
        translator = QTranslator(parent)
        if translator.load(str(shipped)):
            return translator
    if not ts.is_file():
        log.warning("no console translation for %s", locale)
        return None
    cached = i18n.cache_dir() / "translations" / f"{base}.qm"
    try:
        fresh = cached.is_file() and cached.stat().st_mtime >= ts.stat().st_mtime
        if fresh or i18n.compile_ts(ts, cached):
            translator = QTranslator(parent)
            if translator.load(str(cached)):
                return translator
    except OSError as exc:
        log.warning("cannot use the translation cache %s: %s", cached, exc)
    try:
        return i18n.TsTranslator(ts, parent)
    except (OSError, ET.ParseError) as exc:
        log.error("cannot read %s: %s", ts, exc)
        return None


def install(locale: str) -> list[QTranslator]:
    """Install Qt's and the console's translators; returns them (keep them referenced)."""
    app = QCoreApplication.instance()
    QLocale.setDefault(QLocale(locale))
    installed: list[QTranslator] = []
    if app is None:
        return installed
    for translator in (i18n.load_qt_translator(locale, app), load_catalog(locale, app)):
        if translator is not None and app.installTranslator(translator):
            installed.append(translator)
    return installed
