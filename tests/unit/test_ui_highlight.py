"""Highlight offsets become escaped rich text; service text is never markup."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from client.ui.highlight import highlight_html, merge_spans

OPEN, CLOSE = "<b>", "</b>"


def hl(text: str, spans: list[tuple[int, int]]) -> str:
    return highlight_html(text, spans, open_tag=OPEN, close_tag=CLOSE)


def test_wraps_spans() -> None:
    assert hl("Issue an invoice", [(9, 16)]) == "Issue an <b>invoice</b>"


def test_cjk_offsets_are_characters() -> None:
    text = "如何开具增值税发票"
    assert hl(text, [(7, 9)]) == "如何开具增值税<b>发票</b>"


def test_markup_in_text_is_escaped_before_wrapping() -> None:
    text = "<img src=x onerror=alert(1)> & <b>bold</b>"
    out = hl(text, [(0, 4)])
    assert out.startswith("<b>&lt;img</b>")
    assert "<img" not in out
    assert "&amp;" in out
    assert "&lt;b&gt;bold&lt;/b&gt;" in out


def test_overlapping_touching_and_bad_spans() -> None:
    assert merge_spans(
        [(5, 8), (0, 2), (1, 3), (3, 4), (7, 12), (-5, 0), (9, 9), (20, 30)], 10
    ) == [
        (0, 4),
        (5, 10),
    ]
    assert hl("abc", [(2, 1), (5, 9)]) == "abc"


def test_default_tags_mark_spans_visibly() -> None:
    out = highlight_html("pay slip", [(0, 3)])
    assert "background-color" in out and out.endswith(" slip")


@given(
    st.text(max_size=60),
    st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=6),
)
def test_plain_text_survives_any_spans(text: str, spans: list[tuple[int, int]]) -> None:
    import html

    out = hl(text, spans)
    # Removing the highlight tags and unescaping gives the original text back,
    # and no other tag can appear.
    stripped = out.replace(OPEN, "").replace(CLOSE, "")
    assert html.unescape(stripped) == text
    assert "<" not in stripped
