"""``helpbridge demo``: try the portal against a local demo service.

1. start ``helpbridge-server --demo`` on a loopback port with its own data
   directory (per user, kept between runs so the demo keeps its tickets);
2. sign a customer identity token with the demo key, the way an ISV's
   backend would;
3. start the portal with ``--identity-stdin`` and write the token to its
   standard input, exactly as a host application does;
4. when the portal exits (or on Ctrl+C), stop the service.

``--no-portal`` only does 1 and 2 and prints how to use the token, for
headless checks and for trying the command line by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from client.core import paths
from client.core.api import ApiClient, ApiError
from client.core.identity import IdentityError, check_token_shape

__all__ = ["run"]

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
DEMO_IDENTITY = [
    "--kid", "demo",
    "--sub", "demo-customer-001",
    "--name", "Li Wei",
    "--email", "li.wei@example.com",
    "--company", "Contoso Trading Ltd.",
    "--tier", "vip",
    "--product", "LedgerPro",
    "--product-version", "6.2.1",
    "--ttl", "2h",
]  # fmt: skip


class DemoError(Exception):
    """A step of the demo failed; the message says which and why."""


def say(message: str) -> None:
    print(f"HelpBridge demo: {message}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="helpbridge demo",
        description="Start a local demo service and open the portal signed in as a demo customer.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="demo service data directory (default: demo-server in the portal's data folder)",
    )
    parser.add_argument(
        "--port", type=int, help="port for the service (default: the last one used, else any)"
    )
    parser.add_argument(
        "--no-portal",
        action="store_true",
        help="only start the service and print a signed identity token; Ctrl+C stops it",
    )
    parser.add_argument("--lang", choices=["zh_CN", "en"], help="portal language")
    return parser


FROZEN_MESSAGE = (
    "the demo starts a local HelpBridge service, which is not part of this installed "
    "program (it only contains the portal).\n"
    "To try HelpBridge with demo data, install the Python package and run its demo:\n"
    "  python3 -m venv hb && hb/bin/pip install helpbridge && hb/bin/helpbridge demo\n"
    "or point this program at a running service:\n"
    "  helpbridge-server --demo            (on the service machine)\n"
    '  echo "$TOKEN" | helpbridge --server http://HOST:8765 --identity-stdin'
)


def run(argv: list[str]) -> int:
    """Run the demo; returns the process exit code."""
    if argv[:1] == ["demo"]:
        argv = argv[1:]
    args = _parser().parse_args(argv)
    if getattr(sys, "frozen", False):
        # A frozen portal has no Python to run ``-m server`` with.
        print(f"helpbridge demo: {FROZEN_MESSAGE}", file=sys.stderr)
        return 2
    if args.port is not None and not 0 <= args.port <= 65535:
        print("helpbridge demo: --port must be between 0 and 65535", file=sys.stderr)
        return 2
    data_dir: Path = (args.data_dir or paths.data_dir() / "demo-server").expanduser().resolve()
    server: subprocess.Popen[bytes] | None = None
    portal: subprocess.Popen[bytes] | None = None
    with _sigterm_as_interrupt():
        try:
            try:
                data_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DemoError(f"cannot create {data_dir}: {exc.strerror}") from None
            say(f"starting the demo service (data in {data_dir}) ...")
            server, url = _start_service(data_dir, args.port)
            say(f"service on {url}")
            token = _sign_identity(data_dir)
            if args.no_portal:
                _print_usage(url, token)
                server.wait()
                say("the service stopped")
                return 1
            say("starting the portal as demo customer Li Wei ...")
            portal = _start_portal(url, token, args.lang)
            code = portal.wait()
            say(f"portal closed (exit code {code}); stopping the service")
            return code
        except DemoError as exc:
            print(f"HelpBridge demo: {exc}", file=sys.stderr, flush=True)
            return 1
        except KeyboardInterrupt:
            say("interrupted; stopping")
            return 130
        finally:
            _stop(portal, "portal")
            _stop(server, "service")


# --- service ------------------------------------------------------------------


def _start_service(data_dir: Path, port: int | None) -> tuple[subprocess.Popen[bytes], str]:
    """Start the service, preferring the port of the last run.

    The same address each time keeps one keyring entry and one offline cache
    for the demo instead of a new one per random port.
    """
    remembered = data_dir / "demo-port"
    candidates: list[int]
    if port is not None:
        candidates = [port]
    else:
        last = _read_port(remembered)
        candidates = [last, 0] if last else [0]
    error: DemoError | None = None
    for candidate in candidates:
        try:
            server, bound = _launch_service(data_dir, candidate)
        except DemoError as exc:
            error = exc
            continue
        with contextlib.suppress(OSError):
            remembered.write_text(str(bound))
        return server, f"http://127.0.0.1:{bound}"
    assert error is not None
    raise error


def _read_port(path: Path) -> int | None:
    try:
        value = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return value if 1024 <= value <= 65535 else None


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _launch_service(data_dir: Path, port: int) -> tuple[subprocess.Popen[bytes], int]:
    port_file = data_dir / "service.port"
    port_file.unlink(missing_ok=True)
    log_path = data_dir / "server.log"
    command = [
        sys.executable, "-m", "server", "--demo",
        "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir), "--port-file", str(port_file),
    ]  # fmt: skip
    with log_path.open("ab") as log:
        # Argument lists of our own interpreter and fixed flags, no shell.
        server = subprocess.Popen(  # noqa: S603
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=_child_env()
        )
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    bound: int | None = None
    try:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise DemoError(
                    f"the service exited with code {server.returncode}\n"
                    f"{_tail(log_path)}\n(full log: {log_path})"
                )
            if bound is None:
                bound = _read_port(port_file) if port_file.exists() else None
            if bound is not None:
                try:
                    ApiClient(f"http://127.0.0.1:{bound}", timeout=2).health()
                except ApiError as exc:
                    if exc.code == "incompatible_server":
                        raise DemoError(exc.message) from None
                else:
                    return server, bound
            time.sleep(0.1)
    except BaseException:
        _stop(server, "service")
        raise
    _stop(server, "service")
    raise DemoError(
        f"the service did not become ready within {STARTUP_TIMEOUT_S:g} s (log: {log_path})"
    )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("  | " + line for line in text.splitlines()[-lines:])


def _sign_identity(data_dir: Path) -> str:
    command = [
        sys.executable, "-m", "server", "sign-identity",
        "--data-dir", str(data_dir), *DEMO_IDENTITY,
    ]  # fmt: skip
    try:
        result = subprocess.run(  # noqa: S603  (fixed argument list, no shell)
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            env=_child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DemoError("signing the demo identity took more than 60 s") from None
    if result.returncode != 0:
        raise DemoError(f"signing the demo identity failed: {result.stderr.strip()}")
    lines = result.stdout.strip().splitlines()
    token = lines[-1].strip() if lines else ""
    try:
        check_token_shape(token)
    except IdentityError as exc:
        raise DemoError(f"sign-identity printed no usable token ({exc})") from None
    return token


def _print_usage(url: str, token: str) -> None:
    say("a demo customer identity token, valid for 2 hours:")
    print(token, flush=True)
    say("open the portal with it (the token goes on standard input, never as an argument):")
    print(f'  echo "$TOKEN" | helpbridge --server {url} --identity-stdin', flush=True)
    say("press Ctrl+C to stop the service")


# --- portal -------------------------------------------------------------------


def _start_portal(url: str, token: str, lang: str | None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "client", "--server", url, "--identity-stdin"]
    if lang:
        command += ["--lang", lang]
    try:
        portal = subprocess.Popen(  # noqa: S603  (fixed argument list, no shell)
            command, stdin=subprocess.PIPE, env=_child_env()
        )
    except OSError as exc:
        raise DemoError(f"cannot start the portal: {exc.strerror}") from None
    assert portal.stdin is not None
    try:
        portal.stdin.write(token.encode("ascii") + b"\n")
        portal.stdin.close()
    except OSError:
        pass  # It exited at once; its exit code and messages tell why.
    return portal


# --- process handling -----------------------------------------------------------


def _stop(proc: subprocess.Popen[bytes] | None, name: str) -> None:
    """Ask a child to stop, then insist; never leaves it running."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        say(f"the {name} did not stop within {STOP_TIMEOUT_S:g} s; killing it")
        proc.kill()
        proc.wait()
    except KeyboardInterrupt:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the demo like Ctrl+C does, so the children are stopped too."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
