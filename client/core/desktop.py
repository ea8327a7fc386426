"""Linux desktop integration, per user: menu entries, icons, the helpbridge: URL handler.

``helpbridge --install-desktop`` writes, under ``$XDG_DATA_HOME`` (default
``~/.local/share``):

* ``applications/helpbridge.desktop``: the portal, handler of
  ``x-scheme-handler/helpbridge`` (``Exec=<program> %u``);
* ``applications/helpbridge-agent.desktop``: the agent console, when its
  program is found next to the portal's;
* ``icons/hicolor/scalable/apps/helpbridge.svg`` and ``helpbridge-agent.svg``;

and makes the portal the default handler of ``helpbridge:`` URLs in
``$XDG_CONFIG_HOME/mimeapps.list`` (default ``~/.config``), then runs
``update-desktop-database`` and ``xdg-mime`` when they are installed (they
refresh caches; the files above are what matters).

The entries in packaging/linux/ are the same entries for a program on PATH
(distribution packages); tests/packaging/test_desktop.py keeps them in step.
Qt-free, no root needed, safe to run again (it rewrites its own files).
"""

from __future__ import annotations

import configparser
import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "AGENT_DESKTOP",
    "PORTAL_DESKTOP",
    "SCHEME_MIME",
    "InstallReport",
    "desktop_entry",
    "install_desktop",
    "program_paths",
]

SCHEME_MIME = "x-scheme-handler/helpbridge"
PORTAL_DESKTOP = "helpbridge.desktop"
AGENT_DESKTOP = "helpbridge-agent.desktop"


def _quote_exec(program: str) -> str:
    """A program path as the Desktop Entry spec wants it in ``Exec``."""
    if not any(ch in program for ch in " \t\n\"'\\><~|&;$*?#()`="):
        return program
    escaped = "".join("\\" + ch if ch in '"`$\\' else ch for ch in program)
    return f'"{escaped}"'


def desktop_entry(kind: str, exec_args: list[str], name: str | None = None) -> str:
    """The ``.desktop`` file text for ``kind`` ("portal" or "agent")."""
    command = " ".join(_quote_exec(arg) for arg in exec_args)
    if kind == "portal":
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.5",
            f"Name={name or 'HelpBridge'}",
            "Name[zh_CN]=" + (name or "HelpBridge 帮助"),
            "GenericName=Help and support",
            "GenericName[zh_CN]=帮助与支持",
            "Comment=Search help articles, submit tickets and chat with support",
            "Comment[zh_CN]=搜索帮助文章、提交工单、与客服交流",
            f"Exec={command} %u",
            "Icon=helpbridge",
            "Terminal=false",
            "Categories=Utility;",
            "Keywords=help;support;ticket;chat;帮助;工单;",
            f"MimeType={SCHEME_MIME};",
            "StartupWMClass=helpbridge",
            "StartupNotify=true",
        ]
    elif kind == "agent":
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            "Version=1.5",
            f"Name={name or 'HelpBridge Agent Console'}",
            "Name[zh_CN]=" + (name or "HelpBridge 客服工作台"),
            "GenericName=Support agent console",
            "GenericName[zh_CN]=客服工作台",
            "Comment=Ticket queue, live chat and customer context for support agents",
            "Comment[zh_CN]=工单队列、在线会话与客户信息",
            f"Exec={command}",
            "Icon=helpbridge-agent",
            "Terminal=false",
            "Categories=Office;",
            "Keywords=support;tickets;chat;agent;客服;",
            "StartupWMClass=helpbridge-agent",
            "StartupNotify=true",
        ]
    else:
        raise ValueError(f"unknown desktop entry kind {kind!r}")
    return "\n".join(lines) + "\n"


def program_paths() -> tuple[list[str], list[str] | None]:
    """How to start the portal and (if present) the agent console from a menu.

    Frozen: the bundle's executable, and ``helpbridge-agent`` either in the
    same folder or in a ``helpbridge-agent`` bundle beside it. Otherwise the
    console scripts next to the Python running this, else ``python -m``.
    """
    if getattr(sys, "frozen", False):
        portal = Path(sys.executable).resolve()
        candidates = [
            portal.parent / "helpbridge-agent",
            portal.parent.parent / "helpbridge-agent" / "helpbridge-agent",
        ]
        agent = next((c for c in candidates if c.is_file()), None)
        return [str(portal)], [str(agent)] if agent else None
    bindir = Path(sys.executable).parent
    portal_script = bindir / "helpbridge"
    agent_script = bindir / "helpbridge-agent"
    python = str(Path(sys.executable).absolute())
    portal_cmd = [str(portal_script)] if portal_script.is_file() else [python, "-m", "client"]
    agent_cmd = [str(agent_script)] if agent_script.is_file() else [python, "-m", "client.agent"]
    return portal_cmd, agent_cmd


@dataclass
class InstallReport:
    written: list[Path] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _data_home() -> Path:
    xdg = os.environ.get("XDG_DATA_HOME", "")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"


def _config_home() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"


def _write(path: Path, data: bytes, report: InstallReport, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    os.replace(tmp, path)
    report.written.append(path)


def set_default_handler(mimeapps: Path, mime: str, desktop: str, report: InstallReport) -> None:
    """Make ``desktop`` the default for ``mime`` in a mimeapps.list, keeping the rest."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    if mimeapps.is_file():
        try:
            parser.read(mimeapps, encoding="utf-8")
        except configparser.Error as exc:
            report.notes.append(f"{mimeapps} could not be read ({exc}); it was rewritten")
            parser = configparser.ConfigParser(interpolation=None, strict=False)
            parser.optionxform = str  # type: ignore[assignment,method-assign]
    for section in ("Default Applications", "Added Associations"):
        if not parser.has_section(section):
            parser.add_section(section)
    parser.set("Default Applications", mime, desktop + ";")
    added = parser.get("Added Associations", mime, fallback="")
    if desktop not in added.split(";"):
        parser.set("Added Associations", mime, desktop + ";" + added)
    out = io.StringIO()
    parser.write(out, space_around_delimiters=False)
    _write(mimeapps, out.getvalue().encode("utf-8"), report)


def _run(command: list[str], report: InstallReport) -> None:
    if shutil.which(command[0]) is None:
        return
    try:
        result = subprocess.run(  # noqa: S603 - fixed tools, our own paths
            command, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        report.notes.append(f"{command[0]} could not run: {exc}")
        return
    report.ran.append(" ".join(command))
    if result.returncode != 0:
        report.notes.append(f"{command[0]} failed: {result.stderr.strip()[:300]}")


def install_desktop(
    portal_cmd: list[str] | None = None,
    agent_cmd: list[str] | None = None,
    *,
    product_name: str | None = None,
    run_tools: bool = True,
) -> InstallReport:
    """Install the menu entries, icons and URL handler for this user."""
    from resources import ICONS

    if portal_cmd is None:
        portal_cmd, found_agent = program_paths()
        agent_cmd = agent_cmd or found_agent
    report = InstallReport()
    apps = _data_home() / "applications"
    icons = _data_home() / "icons" / "hicolor" / "scalable" / "apps"
    entry = desktop_entry("portal", portal_cmd, product_name)
    _write(apps / PORTAL_DESKTOP, entry.encode("utf-8"), report, 0o755)
    _write(icons / "helpbridge.svg", (ICONS / "helpbridge.svg").read_bytes(), report)
    if agent_cmd:
        entry = desktop_entry("agent", agent_cmd)
        _write(apps / AGENT_DESKTOP, entry.encode("utf-8"), report, 0o755)
        _write(
            icons / "helpbridge-agent.svg", (ICONS / "helpbridge-agent.svg").read_bytes(), report
        )
    else:
        report.notes.append("the agent console was not found; only the portal was installed")
    set_default_handler(_config_home() / "mimeapps.list", SCHEME_MIME, PORTAL_DESKTOP, report)
    if run_tools:
        _run(["update-desktop-database", str(apps)], report)
        _run(["xdg-mime", "default", PORTAL_DESKTOP, SCHEME_MIME], report)
        _run(["gtk-update-icon-cache", "-q", "-t", str(_data_home() / "icons" / "hicolor")], report)
    return report
