"""The console's own catalogue: complete, placeholders kept, loaded and used."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

from client.agent import i18n as agent_i18n
from client.ui import i18n

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

REPO = Path(__file__).resolve().parents[2]
TS = Path(i18n.translations_dir()) / "helpbridge_agent_zh_CN.ts"
PLACEHOLDER = re.compile(r"%(?:\d|n)")


def messages(path: Path) -> Iterator[tuple[str, str, ET.Element | None, bool]]:
    root = ET.parse(path).getroot()
    for context in root.iter("context"):
        for message in context.iter("message"):
            yield (
                context.findtext("name") or "",
                message.findtext("source") or "",
                message.find("translation"),
                message.get("numerus") == "yes",
            )


def test_every_string_is_translated_and_keeps_placeholders() -> None:
    found = list(messages(TS))
    assert len(found) > 150
    for context, source, translation, numerus in found:
        assert translation is not None, (context, source)
        assert translation.get("type") is None, f"unfinished: {context}: {source!r}"
        forms = (
            [f.text or "" for f in translation.iter("numerusform")]
            if numerus
            else [translation.text or ""]
        )
        for text in forms:
            assert text.strip(), (context, source)
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (
                context,
                source,
                text,
            )


def test_catalogue_has_every_string_of_the_console(tmp_path: Path) -> None:
    lupdate = i18n.find_lrelease()
    if lupdate is None:
        pytest.skip("PySide6 tools are not installed")
    tool = Path(lupdate).with_name(Path(lupdate).name.replace("lrelease", "lupdate"))
    if not tool.is_file():
        pytest.skip("lupdate is not installed")
    fresh = tmp_path / "fresh.ts"
    sources = sorted(str(p) for p in (REPO / "client" / "agent").rglob("*.py"))
    subprocess.run(
        [str(tool), *sources, "-ts", str(fresh), "-no-obsolete", "-locations", "none"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    wanted = {(c, s) for c, s, _, _ in messages(fresh)}
    have = {(c, s) for c, s, _, _ in messages(TS)}
    assert wanted - have == set(), "run pyside6-lupdate (see client/agent/i18n.py)"
    assert have - wanted == set(), "obsolete entries: run lupdate with -no-obsolete"


@pytest.fixture
def chinese(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[QTranslator]]:
    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "data"))
    installed = agent_i18n.install("zh_CN")
    yield installed
    for translator in installed:
        QCoreApplication.removeTranslator(translator)
    QLocale.setDefault(QLocale("en"))


def test_console_speaks_chinese(chinese: list[QTranslator]) -> None:
    assert chinese, "no translator was installed"
    from client.agent import texts

    assert texts.status_label("pending_customer") == "等待客户"
    assert texts.error_message("bad_credentials") == "邮箱或密码错误。"
    assert QCoreApplication.translate("SignInDialog", "Sign in") == "登录"


def test_english_needs_no_catalogue(qapp: QApplication) -> None:
    assert agent_i18n.load_catalog("en") is None
