"""Linux desktop integration per user, helpbridge:// links, the frozen demo's answer."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

from client.core import desktop
from protocol.host import HostRequestError, parse_help_url

REPO = Path(__file__).resolve().parents[2]


def user_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), PYTHONPATH=str(REPO), PATH="/usr/bin:/bin")
    return env


def read_ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def test_packaged_entries_are_the_generated_ones() -> None:
    linux = REPO / "packaging" / "linux"
    portal = (linux / "helpbridge.desktop").read_text(encoding="utf-8")
    agent = (linux / "helpbridge-agent.desktop").read_text(encoding="utf-8")
    assert portal == desktop.desktop_entry("portal", ["helpbridge"])
    assert agent == desktop.desktop_entry("agent", ["helpbridge-agent"])
    entry = read_ini(linux / "helpbridge.desktop")["Desktop Entry"]
    assert entry["Exec"] == "helpbridge %u"
    assert entry["MimeType"] == "x-scheme-handler/helpbridge;"


def test_install_desktop_for_one_user(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".config"
    config.mkdir(parents=True)
    # Someone else's associations survive.
    (config / "mimeapps.list").write_text(
        "[Default Applications]\ntext/html=firefox.desktop;\n", encoding="utf-8"
    )
    result = subprocess.run(
        [sys.executable, "-m", "client", "--install-desktop"],
        env=user_env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    share = home / ".local" / "share"
    apps = share / "applications"
    portal = read_ini(apps / "helpbridge.desktop")["Desktop Entry"]
    # Started the way this Python starts the portal, with the URL as %u.
    assert portal["Exec"].endswith(" %u")
    program = portal["Exec"][: -len(" %u")]
    assert program in (
        str(Path(sys.executable).parent / "helpbridge"),
        f"{Path(sys.executable).absolute()} -m client",
    )
    assert portal["MimeType"] == "x-scheme-handler/helpbridge;"
    assert portal["Icon"] == "helpbridge"
    agent = read_ini(apps / "helpbridge-agent.desktop")["Desktop Entry"]
    assert "helpbridge-agent" in agent["Exec"] or agent["Exec"].endswith("-m client.agent")
    icons = share / "icons" / "hicolor" / "scalable" / "apps"
    assert (icons / "helpbridge.svg").read_bytes() == (
        REPO / "resources" / "icons" / "helpbridge.svg"
    ).read_bytes()
    assert (icons / "helpbridge-agent.svg").is_file()
    mimeapps = read_ini(config / "mimeapps.list")
    assert mimeapps["Default Applications"]["x-scheme-handler/helpbridge"] == "helpbridge.desktop;"
    assert mimeapps["Default Applications"]["text/html"] == "firefox.desktop;"
    assert "helpbridge.desktop" in mimeapps["Added Associations"]["x-scheme-handler/helpbridge"]
    assert f"wrote {apps / 'helpbridge.desktop'}" in result.stdout

    # Running it again changes nothing.
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    again = subprocess.run(
        [sys.executable, "-m", "client", "--install-desktop"],
        env=user_env(home),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    after = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    assert after == before


def test_xdg_dirs_are_honoured_and_paths_with_spaces_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "conf"))
    program = str(tmp_path / "Help Bridge" / "helpbridge")
    report = desktop.install_desktop(
        [program], None, product_name="LedgerPro Help", run_tools=False
    )
    entry = read_ini(tmp_path / "data" / "applications" / "helpbridge.desktop")["Desktop Entry"]
    assert entry["Exec"] == f'"{program}" %u'
    assert entry["Name"] == "LedgerPro Help"
    assert not (tmp_path / "data" / "applications" / "helpbridge-agent.desktop").exists()
    assert any("agent console was not found" in n for n in report.notes)
    mimeapps = read_ini(tmp_path / "conf" / "mimeapps.list")
    assert mimeapps["Default Applications"]["x-scheme-handler/helpbridge"] == "helpbridge.desktop;"
    assert desktop._quote_exec('/a/b"c$d') == '"/a/b\\"c\\$d"'


def test_frozen_program_paths_find_the_agent_bundle_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    portal = tmp_path / "dist" / "helpbridge" / "helpbridge"
    agent = tmp_path / "dist" / "helpbridge-agent" / "helpbridge-agent"
    for exe in (portal, agent):
        exe.parent.mkdir(parents=True)
        exe.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(portal))
    assert desktop.program_paths() == ([str(portal.resolve())], [str(agent.resolve())])
    agent.unlink()
    assert desktop.program_paths() == ([str(portal.resolve())], None)


# -- helpbridge:// links ----------------------------------------------------------


def test_open_topic_url_opens_help_on_the_topic_with_context() -> None:
    request = parse_help_url(
        "helpbridge://open?topic=%E6%89%93%E5%8D%B0%E5%8F%91%E7%A5%A8&module=Invoicing"
    )
    assert request.open == "search"
    assert request.query == "打印发票"
    assert request.context == {"module": "Invoicing"}
    assert parse_help_url("helpbridge://open").open == "home"


@pytest.mark.parametrize("key", ["identity", "token", "jwt", "access_token"])
def test_a_url_never_carries_an_identity(key: str) -> None:
    with pytest.raises(HostRequestError, match="must not carry an identity"):
        parse_help_url(f"helpbridge://open?topic=x&{key}=eyJ.a.b")


def test_command_line_refuses_a_url_with_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "client", "helpbridge://open?topic=x&token=abc"],
        env={**user_env(tmp_path), "HELPBRIDGE_DATA_DIR": str(tmp_path / "d")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "must not carry an identity token" in result.stderr


# -- the demo in a frozen build ------------------------------------------------------


def test_frozen_demo_says_it_needs_the_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from client import demo

    started: list[object] = []
    monkeypatch.setattr(demo, "_start_service", lambda *a: started.append(a))
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert demo.run([]) == 2
    err = capsys.readouterr().err
    assert "not part of this installed program" in err
    assert "helpbridge --server" in err
    assert started == []
