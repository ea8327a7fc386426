"""read_identity_stdin and peek_claims: clear errors, never a hang."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import jwt
import pytest

from client.core.identity import IdentityError, peek_claims, read_identity_stdin

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def make_token(**claims: Any) -> str:
    payload = {"sub": "cust-001", "name": "Li Wei", **claims}
    payload.setdefault("exp", datetime.now(UTC) + timedelta(hours=1))
    return jwt.encode(payload, SECRET, algorithm="HS256", headers={"kid": "demo"})


@pytest.fixture
def pipe() -> Iterator[tuple[IO[bytes], int]]:
    """A real OS pipe: (read end as a file object, write end fd)."""
    r, w = os.pipe()
    pipe_inode = os.fstat(w).st_ino
    reader = os.fdopen(r, "rb", buffering=0)
    yield reader, w
    reader.close()
    # Some tests close the write end themselves; the number may since have
    # been given to another file (other threads open sockets): close it only
    # if it is still this pipe.
    with contextlib.suppress(OSError):
        if os.fstat(w).st_ino == pipe_inode:
            os.close(w)


def test_reads_one_line_from_a_pipe(pipe: tuple[IO[bytes], int]) -> None:
    reader, w = pipe
    token = make_token()
    os.write(w, token.encode() + b"\n")
    # The host may keep its end open: the newline is enough.
    assert read_identity_stdin(reader, timeout_s=2) == token


def test_reads_token_without_newline_at_eof(pipe: tuple[IO[bytes], int]) -> None:
    reader, w = pipe
    token = make_token()
    os.write(w, b"  " + token.encode() + b"\r")
    os.close(w)
    assert read_identity_stdin(reader, timeout_s=2) == token


def test_token_arriving_in_pieces(pipe: tuple[IO[bytes], int]) -> None:
    reader, w = pipe
    token = make_token()

    def writer() -> None:
        for i in range(0, len(token), 20):
            os.write(w, token[i : i + 20].encode())
            time.sleep(0.01)
        os.write(w, b"\n")

    thread = threading.Thread(target=writer)
    thread.start()
    assert read_identity_stdin(reader, timeout_s=5) == token
    thread.join()


def test_silent_pipe_times_out(pipe: tuple[IO[bytes], int]) -> None:
    reader, _w = pipe
    started = time.monotonic()
    with pytest.raises(IdentityError, match=r"within 0\.3 s"):
        read_identity_stdin(reader, timeout_s=0.3)
    assert time.monotonic() - started < 2


def test_partial_line_without_newline_times_out(pipe: tuple[IO[bytes], int]) -> None:
    reader, w = pipe
    os.write(w, make_token().encode())  # no newline, pipe left open
    with pytest.raises(IdentityError, match="newline"):
        read_identity_stdin(reader, timeout_s=0.3)


def test_empty_stdin(pipe: tuple[IO[bytes], int]) -> None:
    reader, w = pipe
    os.close(w)
    with pytest.raises(IdentityError, match="empty"):
        read_identity_stdin(reader, timeout_s=2)


def test_dev_null_is_empty() -> None:
    with open(os.devnull, "rb") as null, pytest.raises(IdentityError, match="empty"):
        read_identity_stdin(null, timeout_s=2)


def test_regular_file(tmp_path: Any) -> None:
    token = make_token()
    path = tmp_path / "token.txt"
    path.write_text(token + "\n")
    with path.open() as fh:
        assert read_identity_stdin(fh, timeout_s=2) == token


def test_terminal_is_refused_at_once() -> None:
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "rb", buffering=0, closefd=False) as tty:
            started = time.monotonic()
            with pytest.raises(IdentityError, match="terminal"):
                read_identity_stdin(tty, timeout_s=5)
            assert time.monotonic() - started < 1
    finally:
        os.close(master)
        os.close(slave)


def test_stream_without_fileno_uses_a_thread() -> None:
    token = make_token()
    assert read_identity_stdin(io.StringIO(token + "\nmore\n"), timeout_s=2) == token
    with pytest.raises(IdentityError, match="empty"):
        read_identity_stdin(io.StringIO(""), timeout_s=2)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not a token\n", "not a signed JWT"),
        (b"a.b\n", "not a signed JWT"),
        (b"a.b.c.d\n", "not a signed JWT"),
        (b"e30.e30.\n", "not a signed JWT"),  # alg=none style, empty signature
        (b"!!!.e30.sig\n", "not a signed JWT"),
        (b"bm90anNvbg.e30.c2ln\n", "header"),  # header is not JSON
        (b"e30.e30.c2ln\n", "algorithm"),  # header {} has no alg
        (b"\xff\xfe\xfd\n", "UTF-8"),
        (b"A" * 9000 + b"\n", "longer than 8192"),
        (b"A" * 20000, "longer than 8192"),
    ],
)
def test_malformed_tokens(pipe: tuple[IO[bytes], int], data: bytes, message: str) -> None:
    reader, w = pipe

    def writer() -> None:
        os.write(w, data)
        os.close(w)

    thread = threading.Thread(target=writer)
    thread.start()
    with pytest.raises(IdentityError, match=message):
        read_identity_stdin(reader, timeout_s=2)
    thread.join()


def test_closed_stream() -> None:
    stream = io.StringIO("x")
    stream.close()
    with pytest.raises(IdentityError, match="no standard input"):
        read_identity_stdin(stream)


def test_peek_claims_does_not_verify() -> None:
    expired = make_token(exp=datetime.now(UTC) - timedelta(days=1))
    claims = peek_claims(expired)
    assert claims["sub"] == "cust-001"
    assert claims["name"] == "Li Wei"
    assert isinstance(claims["exp"], int)
    forged = jwt.encode({"sub": "x"}, "another-secret-another-secret-123", algorithm="HS256")
    assert peek_claims(forged)["sub"] == "x"


def test_peek_claims_rejects_garbage() -> None:
    with pytest.raises(IdentityError):
        peek_claims("abc")
    not_json_claims = "eyJhbGciOiJIUzI1NiJ9.bm90anNvbg.c2ln"
    with pytest.raises(IdentityError, match="claims"):
        peek_claims(not_json_claims)


def test_reading_the_identity_does_not_load_jwt_or_cryptography() -> None:
    """The portal reads the host's token at every start; PyJWT would load
    cryptography (megabytes resident) only to look at the header."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import io, sys\n"
        "from client.core.identity import read_identity_stdin, IdentityError\n"
        "token = sys.argv[1]\n"
        "assert read_identity_stdin(io.StringIO(token + '\\n'), timeout_s=5) == token\n"
        "try:\n"
        "    read_identity_stdin(io.StringIO('e30.e30.c2ln\\n'), timeout_s=5)\n"
        "except IdentityError as exc:\n"
        "    assert 'algorithm' in str(exc)\n"
        "print(sorted(m for m in ('jwt', 'cryptography') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, make_token()],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "token",
    ["eyJhbGciOiJIUzI1NiJ9.e30.c2lnA", "W10.e30.c2ln", "eyJhbGciOiJIUzI1NiJ9"[:-1] + ".e30.c2ln"],
    ids=["segment-of-4n+1", "header-is-a-list", "header-cut"],
)
def test_unusable_header_is_refused_like_before(token: str) -> None:
    with pytest.raises(IdentityError, match="header"):
        read_identity_stdin(io.StringIO(token + "\n"), timeout_s=2)
