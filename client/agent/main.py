"""``helpbridge-agent``: the support agents' console.

    helpbridge-agent [--server URL] [--lang zh_CN|en] [--version]

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


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a.split("=", 1)[0] in ("--password", "--token") for a in args):
        print(
            "helpbridge-agent: passwords and tokens are not accepted on the command line; "
            "sign in in the window.",
            file=sys.stderr,
        )
        return 2
    opts = build_parser().parse_args(args)
    if opts.version:
        print(f"helpbridge-agent {__version__}")
        return 0
    from client.agent.app import Options, run

    return run(Options(server=opts.server, lang=opts.lang))


if __name__ == "__main__":
    sys.exit(main())
