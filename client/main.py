"""``helpbridge``: the customer portal's command line.

    helpbridge [--server URL] [--identity-stdin] [--lang zh_CN|en] [--minimized]
               [--version] [--install-desktop] [helpbridge://URL]
    helpbridge demo [...]

The host application passes the customer's identity token on standard input
(``--identity-stdin``), never on the command line: any program on the
computer can read another program's arguments. Flags that would carry a
token are refused with an explanation.

Nothing Qt is imported until it is needed, so ``--version`` and errors in the
arguments answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from client import __version__

REFUSED_FLAGS = ("--identity", "--token", "--jwt", "--access-token", "--refresh-token")

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpbridge",
        description="HelpBridge customer help portal.",
        # No abbreviations: "--identity" must not silently mean "--identity-stdin".
        allow_abbrev=False,
        epilog="Use 'helpbridge demo' to try it with a local demo service.",
    )
    parser.add_argument("--server", metavar="URL", help="help service address (http or https)")
    parser.add_argument(
        "--identity-stdin",
        action="store_true",
        help="read the customer's signed identity token (one line) from standard input",
    )
    parser.add_argument(
        "--request-stdin",
        action="store_true",
        help="read one host request as a JSON line from standard input "
        '(e.g. {"open": "ticket", "context": {...}, "identity": "<token>"}; see docs/embedding.md)',
    )
    parser.add_argument(
        "--lang", metavar="LOCALE", help="user interface language: zh_CN or en (default: system)"
    )
    parser.add_argument("--minimized", action="store_true", help="start in the tray (or minimized)")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--install-desktop",
        action="store_true",
        help="Linux: add HelpBridge to this user's application menu and make it the handler "
        "of helpbridge:// links (~/.local/share), then exit",
    )
    parser.add_argument(
        "url",
        nargs="?",
        metavar="helpbridge://...",
        help="what to open, e.g. helpbridge://search?q=invoice or helpbridge://article/12",
    )
    return parser


def refused_flag(argv: Sequence[str]) -> str | None:
    """The first argument that tries to pass a token on the command line."""
    for arg in argv:
        if arg == "--":
            break
        name = arg.split("=", 1)[0]
        if name in REFUSED_FLAGS:
            return name
    return None


def _error(message: str) -> int:
    print(f"helpbridge: {message}", file=sys.stderr)
    return EXIT_USAGE


def _install_desktop() -> int:
    if not sys.platform.startswith("linux"):
        return _error(
            "--install-desktop is for Linux; on Windows and macOS the installer registers "
            "HelpBridge (see docs/packaging.md)"
        )
    from client.core.branding import load_branding
    from client.core.desktop import install_desktop

    branding = load_branding().branding
    try:
        report = install_desktop(product_name=branding.product_name)
    except OSError as exc:
        return _error(f"cannot install the desktop entries: {exc}")
    for path in report.written:
        print(f"wrote {path}")
    for command in report.ran:
        print(f"ran {command}")
    for note in report.notes:
        print(f"note: {note}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["demo"]:
        from client.demo import run as run_demo

        return int(run_demo(args[1:]) or 0)

    flag = refused_flag(args)
    if flag is not None:
        return _error(
            f"{flag} is not accepted: a token on the command line can be read by other "
            "programs on this computer. The host application must write the token to "
            "standard input and pass --identity-stdin instead."
        )
    opts = build_parser().parse_args(args)
    if opts.version:
        print(f"helpbridge {__version__}")
        return 0
    if opts.install_desktop:
        return _install_desktop()
    if opts.lang is not None and not opts.lang.strip():
        return _error("--lang needs a language, e.g. zh_CN or en")

    from client.ui.app import Options

    options = Options(server=opts.server, lang=opts.lang, minimized=opts.minimized)
    if opts.request_stdin and (opts.identity_stdin or opts.url):
        return _error("--request-stdin carries the whole request: give it alone")
    if opts.request_stdin:
        from client.core.identity import IdentityError, read_request_stdin

        try:
            host_request = read_request_stdin()
        except IdentityError as exc:
            return _error(str(exc))
        options.identity = host_request.identity
        host_request = host_request.model_copy(update={"identity": None})
        options.request = host_request
        options.request_payload = host_request.model_dump(exclude_none=True)
    elif opts.url:
        from protocol.host import HostRequestError, parse_help_url

        try:
            request = parse_help_url(opts.url)
        except HostRequestError as exc:
            return _error(f"cannot open {opts.url!r}: {exc}")
        options.request = request
        options.request_payload = request.model_dump(exclude_none=True, exclude_defaults=False)
    else:
        options.request_payload = {"open": "home"}

    if opts.identity_stdin:
        from client.core.identity import IdentityError, read_identity_stdin

        try:
            options.identity = read_identity_stdin()
        except IdentityError as exc:
            # Still open the portal (the articles need no sign-in) and say why.
            options.identity_error = str(exc)
            print(f"helpbridge: {exc}", file=sys.stderr)

    from client.ui.app import run

    return run(options)


if __name__ == "__main__":
    sys.exit(main())
