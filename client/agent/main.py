"""``helpbridge-agent``: the support agents' console.

    helpbridge-agent [--server URL] [--lang zh_CN|en] [--version]
    helpbridge-agent vnc-bridge --session ID [--listen 127.0.0.1:5901] [--allow-remote]

``vnc-bridge`` serves an accepted remote-assist session as a plain VNC (RFB)
port for any VNC viewer, signed in with the console's stored sign-in (OS
keyring). It listens on this computer only unless ``--allow-remote`` is given.

Passwords are typed into the sign-in dialog only; there is no flag for one
(any program on the computer can read another program's arguments).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from client import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpbridge-agent",
        description="HelpBridge agent console: ticket queue, live chat, customer context.",
        allow_abbrev=False,
    )
    parser.add_argument("--server", metavar="URL", help="help service address (http or https)")
    parser.add_argument(
        "--lang", metavar="LOCALE", help="user interface language: zh_CN or en (default: system)"
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def build_bridge_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpbridge-agent vnc-bridge",
        description="Serve a remote-assist session as a VNC port for any VNC viewer.",
        allow_abbrev=False,
    )
    parser.add_argument("--session", metavar="ID", type=int, required=True, help="session id")
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        default="127.0.0.1:5901",
        help="address to listen on (default 127.0.0.1:5901, this computer only)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --listen address (anyone who reaches it sees the screen)",
    )
    parser.add_argument(
        "--server", metavar="URL", help="help service address (default: the console's)"
    )
    return parser


def vnc_bridge(args: Sequence[str]) -> int:
    """``helpbridge-agent vnc-bridge``: runs until Ctrl+C or the session ends."""
    import asyncio
    import logging

    from client.core.assist.bridge import VncBridge, is_loopback, parse_listen

    opts = build_bridge_parser().parse_args(list(args))
    try:
        host, port = parse_listen(opts.listen)
    except ValueError as exc:
        print(f"helpbridge-agent: --listen: {exc}", file=sys.stderr)
        return 2
    if not is_loopback(host):
        if not opts.allow_remote:
            print(
                f"helpbridge-agent: refusing to listen on {host}: other computers could watch "
                "the customer's screen without signing in. Use a loopback address, or add "
                "--allow-remote if you really mean it.",
                file=sys.stderr,
            )
            return 2
        print(
            f"helpbridge-agent: WARNING: listening on {host}:{port}; anyone who can reach it "
            "sees (and, with control, uses) the customer's screen, unencrypted.",
            file=sys.stderr,
        )
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from client.agent.session import AgentBackend, ConsoleSettings
    from client.core.api import ApiError
    from client.ui.settings import normalize_server_url

    settings = ConsoleSettings()
    url = normalize_server_url(opts.server) if opts.server else settings.server_url
    if not url:
        print(f"helpbridge-agent: not an http(s) address: {opts.server!r}", file=sys.stderr)
        return 2
    backend = AgentBackend(url)
    try:
        session = backend.restore(settings.email)
    except ApiError as exc:
        print(f"helpbridge-agent: cannot sign in: {exc.message}", file=sys.stderr)
        return 1
    if session is None:
        print("helpbridge-agent: no stored sign-in; sign in in the console first.", file=sys.stderr)
        return 1
    api = backend.api
    try:
        current = api.assist_session(opts.session)
    except ApiError as exc:
        print(f"helpbridge-agent: session {opts.session}: {exc.message}", file=sys.stderr)
        return 1
    if not current.status.live:
        print(
            f"helpbridge-agent: session {opts.session} is {current.status.value}, not live.",
            file=sys.stderr,
        )
        return 1

    def token() -> str:
        return api.current_access_token() or api.renewed_access_token()

    announced: list[str] = []

    def on_change(what: str) -> None:
        if what == "listening" and not announced and bridge.address is not None:
            announced.append(what)
            h, p = bridge.address
            print(f"VNC bridge ready: connect a VNC viewer to {h}::{p} (Ctrl+C stops)", flush=True)

    bridge = VncBridge(url, opts.session, token, host=host, port=port, on_change=on_change)

    try:
        asyncio.run(bridge.serve())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"helpbridge-agent: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    if bridge.stop_reason:
        print(f"helpbridge-agent: the session is over ({bridge.stop_reason}).", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a.split("=", 1)[0] in ("--password", "--token") for a in args):
        print(
            "helpbridge-agent: passwords and tokens are not accepted on the command line; "
            "sign in in the window.",
            file=sys.stderr,
        )
        return 2
    if args[:1] == ["vnc-bridge"]:
        return vnc_bridge(args[1:])
    opts = build_parser().parse_args(args)
    if opts.version:
        print(f"helpbridge-agent {__version__}")
        return 0
    from client.agent.app import Options, run

    return run(Options(server=opts.server, lang=opts.lang))


if __name__ == "__main__":
    sys.exit(main())
