"""White-label configuration: the Qt-free loader, and the portal applying it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from client.core import branding as b
from client.core.branding import DEFAULT, Branding, BrandingError, load_branding, read_branding

REPO = Path(__file__).resolve().parents[2]
LOGO = REPO / "resources" / "icons" / "helpbridge-agent.svg"


def write(folder: Path, data: object) -> Path:
    path = folder / "branding.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def test_full_file_is_read_with_the_logo_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "logo.svg").write_bytes(LOGO.read_bytes())
    path = write(
        tmp_path,
        {
            "product_name": "LedgerPro Help",
            "logo": "logo.svg",
            "colors": {"accent": "#0F766E"},
            "service_url": "https://help.ledgerpro.example/",
            "language": "zh_CN",
        },
    )
    got = read_branding(path)
    assert got == Branding(
        product_name="LedgerPro Help",
        logo=(tmp_path / "logo.svg").resolve(),
        accent="#0f766e",
        service_url="https://help.ledgerpro.example",
        language="zh_CN",
    )
    assert got.source == path


def test_every_key_is_optional(tmp_path: Path) -> None:
    assert read_branding(write(tmp_path, {})) == DEFAULT
    assert read_branding(write(tmp_path, {"product_name": "Acme"})).accent == DEFAULT.accent


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON (line 1"),
        ([1, 2], "Input should be a valid dictionary"),
        ({"product_name": "X", "colour": "#fff"}, "colour: Extra inputs are not permitted"),
        (
            {"colors": {"accent": "blue"}},
            "colors.accent: Value error, must be a colour like #1d4ed8",
        ),
        ({"colors": {"accent": "#12345"}}, "must be a colour like"),
        (
            {"service_url": "ftp://help.example"},
            "service_url: Value error, must be an http or https",
        ),
        ({"service_url": "https://u:p@help.example"}, "must be a plain address"),
        ({"language": "fr"}, "language: Input should be 'zh_CN' or 'en'"),
        ({"product_name": "  "}, "product_name: Value error, must be one line"),
        ({"product_name": "x" * 61}, "product_name: String should have at most 60"),
        ({"logo": "missing.svg"}, "logo 'missing.svg' was not found in"),
        ({"logo": "branding.json"}, "must be an .svg or .png file"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, content: object, message: str) -> None:
    with pytest.raises(BrandingError) as info:
        read_branding(write(tmp_path, content))
    assert message in str(info.value)


def test_bad_file_falls_back_to_the_defaults_with_the_problem(tmp_path: Path) -> None:
    path = write(tmp_path, {"colors": {"accent": "red"}})
    result = load_branding([path])
    assert result.branding == DEFAULT
    assert result.problem is not None
    assert str(path) in result.problem and "using the default look" in result.problem


def test_oversized_and_non_utf8_files(tmp_path: Path) -> None:
    path = tmp_path / "branding.json"
    path.write_bytes(b"{" + b" " * (b.MAX_FILE_BYTES + 1) + b"}")
    with pytest.raises(BrandingError, match="larger than 64 KiB"):
        read_branding(path)
    path.write_bytes(b'{"product_name": "\xff"}')
    with pytest.raises(BrandingError, match="not UTF-8"):
        read_branding(path)


def test_first_existing_candidate_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    write(second, {"product_name": "Second"})
    assert (
        load_branding([first / "branding.json", second / "branding.json"]).branding.product_name
        == "Second"
    )
    write(first, {"product_name": "First"})
    assert (
        load_branding([first / "branding.json", second / "branding.json"]).branding.product_name
        == "First"
    )
    assert load_branding([tmp_path / "none.json"]).branding == DEFAULT
    assert load_branding([tmp_path / "none.json"]).problem is None


def test_env_var_names_the_file_and_a_missing_one_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, {"product_name": "From Env"})
    monkeypatch.setenv(b.ENV_BRANDING, str(path))
    assert b.candidate_paths()[0] == path
    assert load_branding().branding.product_name == "From Env"
    monkeypatch.setenv(b.ENV_BRANDING, str(tmp_path / "gone.json"))
    result = load_branding()
    assert result.branding == DEFAULT
    assert result.problem is not None and "gone.json" in result.problem


def test_frozen_program_looks_next_to_the_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(b.ENV_BRANDING, raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "helpbridge"))
    assert b.candidate_paths() == [tmp_path.resolve() / "branding.json"]
    write(tmp_path, {"product_name": "Next To Exe"})
    assert load_branding().branding.product_name == "Next To Exe"


def test_dev_run_looks_next_to_the_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(b.ENV_BRANDING, raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert b.candidate_paths() == [REPO / "branding.json"]


def test_no_file_means_no_pydantic_import() -> None:
    code = (
        "import sys; from client.core.branding import load_branding; "
        "r = load_branding([]); assert r.problem is None; "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# -- the portal applies it -----------------------------------------------------


@pytest.fixture
def branded(tmp_path: Path) -> Iterator[Branding]:
    from PySide6.QtWidgets import QApplication

    from client.ui import look

    (tmp_path / "logo.svg").write_bytes(LOGO.read_bytes())
    branding = read_branding(
        write(
            tmp_path,
            {"product_name": "LedgerPro Help", "logo": "logo.svg", "colors": {"accent": "#c2410c"}},
        )
    )
    look.set_branding(branding)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    look.apply_look(app, "en", branding.accent)
    try:
        yield branding
    finally:
        look.set_branding(None)
        look.apply_look(app, "en")


def _pixels(image: object, rgb: tuple[int, int, int]) -> int:
    from PySide6.QtGui import QColor, QImage

    assert isinstance(image, QImage)
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = QColor(image.pixel(x, y))
            if (
                abs(c.red() - rgb[0]) <= 8
                and abs(c.green() - rgb[1]) <= 8
                and abs(c.blue() - rgb[2]) <= 8
            ):
                count += 1
    return count


def test_portal_window_shows_the_vendor_name_logo_and_accent(
    qtbot: object, branded: Branding, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QIcon
    from PySide6.QtWidgets import QLabel

    from client.ui import look
    from client.ui.mainwindow import MainWindow
    from client.ui.portal import Portal
    from client.ui.settings import PortalSettings
    from client.ui.tasks import TaskRunner

    monkeypatch.setenv("HELPBRIDGE_DATA_DIR", str(tmp_path / "data"))
    runner = TaskRunner()
    window = MainWindow(Portal(runner, "http://127.0.0.1:9", "en"), PortalSettings())
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    try:
        window.resize(1000, 680)
        window.show()
        qtbot.waitExposed(window)  # type: ignore[attr-defined]
        assert window.windowTitle() == "LedgerPro Help"
        title = window.findChild(QLabel, "AppTitle")
        assert title is not None and title.text() == "LedgerPro Help"
        # The logo is the vendor's file, not the bundled HelpBridge icon.
        vendor = QIcon(str(branded.logo)).pixmap(30, 30).toImage()
        assert look.app_icon().pixmap(30, 30).toImage() == vendor
        assert (
            look.app_icon().pixmap(30, 30).toImage()
            != look.icon("helpbridge").pixmap(30, 30).toImage()
        )
        # The selected tab's underline (and text) are drawn in the vendor's
        # accent (#c2410c) instead of the default blue.
        image = window.grab().toImage()
        image.save(str(tmp_path / "branded.png"))
        assert _pixels(image, (0xC2, 0x41, 0x0C)) > 20
        tab = window.sections.tabRect(window.sections.currentIndex())
        underline = window.sections.mapTo(window, tab.bottomLeft()) + QPoint(tab.width() // 2, -1)
        assert QColor(image.pixel(underline)).name() == "#c2410c"
    finally:
        runner.shutdown(1000)


def test_stylesheet_tints_follow_the_accent() -> None:
    from client.ui import look

    assert look.stylesheet() == look.STYLESHEET
    sheet = look.stylesheet("#c2410c")
    assert "#1d4ed8" not in sheet and "#e0e7ff" not in sheet
    assert "#c2410c" in sheet
