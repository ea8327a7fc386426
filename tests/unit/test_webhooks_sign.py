"""Webhook signatures, target checks and options, without a service; and the
verification snippet in docs/administration.md, run as receivers would."""

from __future__ import annotations

import ipaddress
import re
import time
from pathlib import Path
from typing import Any

import pytest

from server.webhooks import TargetRefused, WebhookOptions, check_url, parse_duration, sign, verify

REPO = Path(__file__).resolve().parents[2]
SECRET = "whsec_test_secret_0123456789"
BODY = b'{"event":"ticket.created","id":"e1"}'


def test_signature_matches_an_independent_implementation() -> None:
    # printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac <secret>
    assert sign(SECRET, 1_700_000_000, BODY) == (
        "sha256=6dd57cc37dcac67713042a0361b295041dd6bd835090544660639768fe05fd19"
    )


def test_verify_refuses_tampering_other_secrets_and_old_timestamps() -> None:
    now = time.time()
    ts = int(now)
    good = sign(SECRET, ts, BODY)
    assert verify(SECRET, str(ts), BODY, good, now=now)
    assert not verify(SECRET, str(ts), BODY + b" ", good, now=now)
    assert not verify("another secret of some length", str(ts), BODY, good, now=now)
    assert not verify(SECRET, str(ts + 1), BODY, good, now=now)  # the timestamp is signed
    assert not verify(SECRET, str(ts), BODY, good, now=now + 301)  # a replay, later
    assert not verify(SECRET, "yesterday", BODY, good, now=now)
    assert not verify(SECRET, str(ts), BODY, good.upper(), now=now)


def _doc_snippet() -> Any:
    text = (REPO / "docs" / "administration.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0], "administration.md", "exec"), namespace)
    return namespace["verify_helpbridge"]


def test_the_documented_receiver_check_accepts_our_requests_only() -> None:
    verify_helpbridge = _doc_snippet()
    ts = str(int(time.time()))
    headers = {
        "X-HelpBridge-Timestamp": ts,
        "X-HelpBridge-Signature": sign(SECRET, int(ts), BODY),
    }
    assert verify_helpbridge(SECRET, headers, BODY) is True
    assert verify_helpbridge(SECRET, headers, BODY.replace(b"e1", b"e2")) is False
    assert (
        verify_helpbridge(SECRET, {**headers, "X-HelpBridge-Timestamp": "1700000000"}, BODY)
        is False
    )
    assert verify_helpbridge(SECRET, {}, BODY) is False


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.com/hook", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("http:///nohost", "no host"),
        ("https://user:pw@93.184.216.34/", "credentials"),
        ("http://127.0.0.1:8080/", "private, loopback or reserved"),
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.10/", "private"),
        ("http://169.254.169.254/latest/meta-data", "private"),  # cloud metadata
        ("http://[::1]/", "private"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://0.0.0.0/", "private"),
        ("http://localhost:9/", "private"),
        ("http://93.184.216.34:99999/", "not a URL"),
        ("https://example.com/" + "x" * 2000, "longer than"),
    ],
)
def test_targets_refused(url: str, why: str) -> None:
    with pytest.raises(TargetRefused, match=why):
        check_url(url, WebhookOptions())


def test_public_targets_and_allowed_private_networks() -> None:
    assert (
        check_url(" https://93.184.216.34/hook ", WebhookOptions()) == "https://93.184.216.34/hook"
    )
    options = WebhookOptions(allow_networks=(ipaddress.ip_network("10.20.0.0/16"),))
    assert check_url("http://10.20.5.6:8000/crm", options)
    with pytest.raises(TargetRefused):
        check_url("http://10.21.0.1/", options)


def test_options_from_the_environment() -> None:
    default = WebhookOptions.from_env({})
    assert default.retry_delays == (10, 60, 300, 1800, 7200) and default.timeout == 10
    o = WebhookOptions.from_env(
        {
            "HELPBRIDGE_WEBHOOK_RETRY_DELAYS": "250ms, 1s,2m",
            "HELPBRIDGE_WEBHOOK_TIMEOUT": "3",
            "HELPBRIDGE_WEBHOOK_ALLOW_NETWORKS": "127.0.0.0/8, 10.0.0.0/8",
        }
    )
    assert o.retry_delays == (0.25, 1, 120) and o.timeout == 3
    assert [str(n) for n in o.allow_networks] == ["127.0.0.0/8", "10.0.0.0/8"]
    for bad in (
        {"HELPBRIDGE_WEBHOOK_RETRY_DELAYS": "soon"},
        {"HELPBRIDGE_WEBHOOK_TIMEOUT": "0"},
        {"HELPBRIDGE_WEBHOOK_ALLOW_NETWORKS": "the office"},
    ):
        with pytest.raises(ValueError):
            WebhookOptions.from_env(bad)
    assert parse_duration("2h") == 7200
