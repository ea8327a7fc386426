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

from PySide6.QtCore import QCoreApplication, QLocale, QObject, QTranslator

from client.ui import i18n

log = logging.getLogger(__name__)

CATALOG = "helpbridge_agent"


def load_catalog(locale: str, parent: QObject | None = None) -> QTranslator | None:
    """The console's translator for ``locale`` (None for English or when missing)."""
    return i18n.load_app_translator(locale, parent, catalog=CATALOG)


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
