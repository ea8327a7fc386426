"""``helpbridge-agent`` command line: version, refused secrets, bad address."""

from __future__ import annotations

import pytest

from client import __version__
from client.agent.main import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"helpbridge-agent {__version__}"


@pytest.mark.parametrize("arg", ["--password=hunter2", "--password", "--token=abc"])
def test_secrets_on_the_command_line_are_refused(
    arg: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([arg]) == 2
    err = capsys.readouterr().err
    assert "not accepted" in err and "hunter2" not in err
