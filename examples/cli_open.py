"""Open HelpBridge from any program: a plain command-line example.

What a host application does when the customer presses F1 or "Help":

1. get a fresh identity token from the vendor backend (here: signed locally
   with examples/sign_token.py, standing in for that backend call);
2. start ``helpbridge --request-stdin`` and write ONE JSON line to its
   standard input: what to open, the host's context, and the token;
3. close stdin. If a portal is already running for this user and service,
   the new process hands the request to it and exits 0; otherwise it opens
   the portal. Exit status 2 and a message on stderr: the line was refused.

The token never appears on a command line (other local users could read
it there) nor in a ``helpbridge://`` URL.

    export HELPBRIDGE_IDENTITY_KID=... HELPBRIDGE_IDENTITY_SECRET=...
    python examples/cli_open.py --server https://help.example.com \\
        --customer cust-42 --name "Li Wei" --topic "打印发票" \\
        --context module=Invoicing --context error_code=LP-1043
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sign_token import secret_from_env, sign_identity


def portal_command() -> list[str]:
    """``$HELPBRIDGE_PROGRAM`` (split like a shell would), ``helpbridge`` on
    PATH, or this Python's ``-m client`` (a development checkout)."""
    configured = os.environ.get("HELPBRIDGE_PROGRAM", "").strip()
    if configured:
        return shlex.split(configured)
    found = shutil.which("helpbridge")
    return [found] if found else [sys.executable, "-m", "client"]


def build_request(
    *, topic: str = "", open_view: str = "", context: dict[str, str], identity: str | None
) -> dict[str, object]:
    """The one JSON line (protocol/host.py, docs/embedding.md section 2)."""
    request: dict[str, object] = {"open": open_view or ("search" if topic else "home")}
    if topic:
        request["query"] = topic
    if context:
        request["context"] = context
    if identity:
        request["identity"] = identity
    return request


def open_help(server: str, request: dict[str, object], timeout_s: float = 10) -> int:
    """Start the portal with the request on stdin; its exit status when it
    handed the request over, or 0 once it is running as the portal itself."""
    line = json.dumps(request, ensure_ascii=False) + "\n"
    proc = subprocess.Popen(  # noqa: S603 - fixed program, no shell
        [*portal_command(), "--request-stdin", "--server", server],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(line.encode("utf-8"))
    proc.stdin.close()
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return 0  # no portal was running: this process is the portal now
    error = proc.stderr.read().decode("utf-8", "replace").strip()
    if code != 0:
        print(f"cli_open: HelpBridge refused the request ({code}): {error}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Open HelpBridge on a topic, signed in.")
    parser.add_argument("--server", required=True, help="the HelpBridge service URL")
    parser.add_argument("--customer", required=True, help="your customer id (the token's sub)")
    parser.add_argument("--name", default="")
    parser.add_argument("--topic", default="", help="what to search for")
    parser.add_argument("--open", dest="open_view", choices=["home", "search", "ticket", "chat"])
    parser.add_argument(
        "--context", action="append", default=[], metavar="KEY=VALUE", help="host context"
    )
    args = parser.parse_args(argv)
    context: dict[str, str] = {}
    for item in args.context:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"--context wants KEY=VALUE, not {item!r}")
        context[key] = value
    kid, secret = secret_from_env()
    token = sign_identity(secret, kid, sub=args.customer, name=args.name)
    request = build_request(
        topic=args.topic, open_view=args.open_view or "", context=context, identity=token
    )
    return open_help(args.server, request)


if __name__ == "__main__":
    sys.exit(main())
