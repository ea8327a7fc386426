"""Timeline rich text: everything from the service is escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from client.agent.timeline import (
    AGENT_BG,
    CUSTOMER_BG,
    NOTE_BG,
    ArticleRef,
    Entry,
    FileRef,
    escape_text,
    timeline_html,
)

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def render(*entries: Entry) -> str:
    return timeline_html(entries, lambda d: d.strftime("%H:%M"), lambda n: f"{n} B")


def test_customer_markup_is_escaped() -> None:
    hostile = '<script>alert(1)</script><a href="javascript:x">click</a><img src=http://x/>'
    html = render(Entry("customer", "<b>Eve</b>", hostile, WHEN))
    assert "<script>" not in html and "<img" not in html
    assert re.findall(r"<a\s", html) == []  # the customer's link stays text
    assert "&lt;script&gt;" in html and "&lt;b&gt;Eve&lt;/b&gt;" in html


def test_only_own_links_are_made() -> None:
    html = render(
        Entry(
            "bot",
            "Bot",
            "Try these",
            WHEN,
            files=(FileRef(7, 'a"b<c>.txt', 12),),
            articles=(ArticleRef(3, "Export <guide>"),),
        )
    )
    assert re.findall(r'<a href="([^"]*)"', html) == ["attachment:7", "article:3"]
    assert "a&quot;b&lt;c&gt;.txt" in html and "Export &lt;guide&gt;" in html


def test_sides_and_notes_look_different() -> None:
    html = render(
        Entry("customer", "Li", "hi", WHEN),
        Entry("agent", "Zhang", "hello", WHEN),
        Entry("note", "Zhang", "secret", WHEN, label="Internal note"),
        Entry("system", "Zhang", "", WHEN, label="Status: New → Open"),
    )
    assert (
        f'align="left" width="78%" cellspacing="0" cellpadding="9" bgcolor="{CUSTOMER_BG}"' in html
    )
    assert f'bgcolor="{AGENT_BG}"' in html
    assert f'bgcolor="{NOTE_BG}"' in html and "<b>Internal note</b>" in html
    assert '<p align="center"' in html and "Status: New → Open" in html


def test_line_breaks_and_spaces_survive() -> None:
    assert escape_text("a\r\nb\nc") == "a<br>b<br>c"
    assert escape_text("x  y") == "x&nbsp; y"
