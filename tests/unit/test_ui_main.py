"""The ``helpbridge`` command line: tokens are never accepted as arguments."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from client.main import main, refused_flag

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv",
    [
        ["--identity", "eyJ.a.b"],
        ["--identity=eyJ.a.b"],
        ["--token", "abc"],
        ["--server", "http://x", "--jwt=abc"],
        ["--access-token", "t"],
    ],
)
def test_token_flags_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--identity-stdin" in err
    assert "other programs" in err


def test_refused_flag_ignores_after_double_dash_and_real_flags() -> None:
    assert refused_flag(["--identity-stdin", "--server", "http://x"]) is None
    assert refused_flag(["--", "--token"]) is None


def test_no_abbreviation_of_identity_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    # argparse would otherwise read "--identity-std" as --identity-stdin.
    with pytest.raises(SystemExit) as exc:
        main(["--identity-std"])
    assert exc.value.code == 2


def test_bad_help_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["helpbridge://article/abc"]) == 2
    assert "numeric id" in capsys.readouterr().err
    assert main(["https://example.com"]) == 2


def test_bad_lang(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", " "]) == 2


def test_version_does_not_load_qt() -> None:
    code = (
        "import sys; from client.main import main; rc = main(['--version']); "
        "print('QT' if any(m.startswith('PySide6') for m in sys.modules) else 'NOQT', rc)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60
    ).stdout
    assert out.splitlines() == ["helpbridge 0.1.0", "NOQT 0"]


def test_module_entry_point() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "client", "--version"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert out.returncode == 0
    assert out.stdout.strip() == "helpbridge 0.1.0"
