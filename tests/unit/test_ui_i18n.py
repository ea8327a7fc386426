"""Language choice and translation loading (compiled, cached or read from .ts)."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from client.ui import i18n

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication
    from pytestqt.qtbot import QtBot


TS = Path(i18n.translations_dir()) / "helpbridge_zh_CN.ts"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def installed(qapp: QApplication) -> Iterator[list[QTranslator]]:
    """Translators installed by a test are removed afterwards."""
    items: list[QTranslator] = []
    yield items
    for translator in items:
        QCoreApplication.removeTranslator(translator)
    QLocale.setDefault(QLocale("en"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("zh_CN", "zh_CN"),
        ("zh-CN", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh_Hans_CN", "zh_CN"),
        ("ZH_tw", "zh_CN"),
        ("en", "en"),
        ("en_US", "en"),
        ("de_DE", "en"),
        ("system", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_locale(name: str | None, expected: str | None) -> None:
    assert i18n.normalize_locale(name) == expected


def test_resolve_locale_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "system_locale", lambda: "zh_CN")
    assert i18n.resolve_locale(None, "system") == "zh_CN"
    assert i18n.resolve_locale(None, "en") == "en"
    assert i18n.resolve_locale("en", "zh_CN") == "en"
    assert i18n.resolve_locale("zh_CN", "en") == "zh_CN"


def test_system_locale_follows_qlocale(qapp: QApplication) -> None:
    expected = "zh_CN" if QLocale.system().name().lower().startswith("zh") else "en"
    assert i18n.system_locale() == expected


def _messages() -> Iterator[tuple[str | None, str | None, ET.Element | None]]:
    root = ET.parse(TS).getroot()
    for context in root.iter("context"):
        for message in context.iter("message"):
            yield (
                context.findtext("name"),
                message.findtext("source"),
                message.find("translation"),
            )


def test_every_string_is_translated_and_keeps_placeholders() -> None:
    count = 0
    for context, source, translation in _messages():
        count += 1
        assert translation is not None, source
        assert translation.get("type") is None, (
            f"{context}: {source!r} is {translation.get('type')}"
        )
        text = translation.text or ""
        assert source is not None
        assert text.strip(), source
        assert sorted(re.findall(r"\{\w+\}", source)) == sorted(re.findall(r"\{\w+\}", text)), (
            source
        )
        # Chinese text, not a copy of the English (product names excepted).
        if source not in ("HelpBridge",):
            assert re.search(r"[\u4e00-\u9fff]", text), source
    assert count >= 60


def test_ts_translator_reads_the_ts(qapp: QApplication) -> None:
    translator = i18n.TsTranslator(TS)
    assert len(translator) >= 60
    assert translator.translate("MainWindow", "Offline") == "离线"
    assert (
        translator.translate("Errors", "Something went wrong. Please try again.")
        == "出现错误，请重试。"
    )
    assert translator.translate("MainWindow", "no such text") is None
    assert translator.translate("NoContext", "Offline") is None


def test_ts_translator_skips_unfinished_and_handles_numerus(
    tmp_path: Path, qapp: QApplication, installed: list[QTranslator]
) -> None:
    ts = tmp_path / "x.ts"
    ts.write_text(
        """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS><TS version="2.1" language="zh_CN">
<context><name>C</name>
<message><source>Done</source><translation>完成</translation></message>
<message><source>Draft</source><translation type="unfinished">草稿</translation></message>
<message numerus="yes"><source>%n files</source><translation><numerusform>%n 个文件</numerusform></translation></message>
<message><source>Open</source><comment>verb</comment><translation>打开</translation></message>
</context></TS>""",
        encoding="utf-8",
    )
    translator = i18n.TsTranslator(ts)
    QCoreApplication.installTranslator(translator)
    installed.append(translator)
    assert QCoreApplication.translate("C", "Done") == "完成"
    assert QCoreApplication.translate("C", "Draft") == "Draft"
    assert QCoreApplication.translate("C", "%n files", None, 3) == "3 个文件"
    assert QCoreApplication.translate("C", "Open", "verb") == "打开"


def test_missing_qm_is_compiled_into_the_cache(
    data_dir: Path,
    qapp: QApplication,
    installed: list[QTranslator],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if i18n.find_lrelease() is None:
        pytest.skip("PySide6 lrelease not available")
    # A translations folder without a built .qm, like a source checkout.
    folder = tmp_path / "translations"
    folder.mkdir()
    shutil.copy(TS, folder / TS.name)
    monkeypatch.setattr(i18n, "translations_dir", lambda: folder)
    translator = i18n.load_app_translator("zh_CN")
    assert translator is not None and not isinstance(translator, i18n.TsTranslator)
    cached = data_dir / "cache" / "translations" / "helpbridge_zh_CN.qm"
    assert cached.is_file()
    QCoreApplication.installTranslator(translator)
    installed.append(translator)
    assert QCoreApplication.translate("MainWindow", "Online") == "在线"
    # A second start reuses the cached file instead of compiling again.
    stamp = cached.stat().st_mtime_ns
    assert i18n.load_app_translator("zh_CN") is not None
    assert cached.stat().st_mtime_ns == stamp


def test_falls_back_to_reading_the_ts(
    data_dir: Path,
    qapp: QApplication,
    installed: list[QTranslator],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "translations"
    folder.mkdir()
    shutil.copy(TS, folder / TS.name)
    monkeypatch.setattr(i18n, "translations_dir", lambda: folder)
    monkeypatch.setattr(i18n, "find_lrelease", lambda: None)
    translator = i18n.load_app_translator("zh_CN")
    assert isinstance(translator, i18n.TsTranslator)
    QCoreApplication.installTranslator(translator)
    installed.append(translator)
    assert QCoreApplication.translate("MainWindow", "Retry now") == "立即重试"


def test_english_needs_no_translator_and_missing_files_are_tolerated(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qapp: QApplication
) -> None:
    assert i18n.load_app_translator("en") is None
    monkeypatch.setattr(i18n, "translations_dir", lambda: tmp_path / "nothing")
    assert i18n.load_app_translator("zh_CN") is None


def test_corrupt_ts_does_not_crash(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, qapp: QApplication
) -> None:
    folder = tmp_path / "translations"
    folder.mkdir()
    (folder / "helpbridge_zh_CN.ts").write_text("<TS><context>", encoding="utf-8")
    monkeypatch.setattr(i18n, "translations_dir", lambda: folder)
    monkeypatch.setattr(i18n, "find_lrelease", lambda: None)
    assert i18n.load_app_translator("zh_CN") is None


def test_qt_base_translation_loads(qapp: QApplication) -> None:
    translator = i18n.load_qt_translator("zh_CN")
    if translator is None:
        pytest.skip("this Qt build ships no qtbase_zh_CN.qm")
    assert translator.translate("QPlatformTheme", "Cancel") == "取消"


def test_chinese_ui_with_lang_zh_cn(
    qtbot: QtBot, data_dir: Path, installed: list[QTranslator]
) -> None:
    from client.ui.mainwindow import MainWindow
    from client.ui.portal import Portal
    from client.ui.settings import PortalSettings
    from client.ui.tasks import TaskRunner

    installed.extend(i18n.install_translations("zh_CN"))
    assert installed, "no translator installed for zh_CN"
    runner = TaskRunner()
    portal = Portal(runner, "http://127.0.0.1:9", "zh_CN")
    window = MainWindow(portal, PortalSettings())
    qtbot.addWidget(window)
    try:
        assert window.sections.tabText(0) == "帮助"
        assert window.sections.tabText(1) == "工单"
        assert window.search_box.placeholderText().startswith("搜索帮助文章")
        assert window.customer_name.text() == "未登录"
        assert "正在连接" in window.status_text
        assert QLocale().name() == "zh_CN"
    finally:
        runner.shutdown(1000)
