"""Text to search tokens, shared by the index and the query parser.

SQLite's FTS5 cannot be given a tokenizer from Python, so text is
pre-tokenized here into space-separated tokens that FTS5's ``unicode61``
tokenizer then keeps as they are:

* Latin (and other space-delimited scripts') words become one lower-case
  token each, with accents removed (``Café`` -> ``cafe``); letters and digits
  stay together (``v2`` is one token, ``LP-1043`` is ``lp`` and ``1043``).
* Runs of CJK characters (Han, kana, Hangul) have no spaces to split on, so
  each run becomes its overlapping bigrams, in order, followed by its single
  characters. A two-character query is then one bigram token, a longer
  phrase is a phrase of consecutive bigrams, and a one-character query is a
  unigram token; FTS5's own trigram tokenizer can find neither of the short
  ones.

The same function tokenizes documents and queries, so both always agree.
``TOKENIZER_VERSION`` changes whenever the output for some text could; the
index is rebuilt when the stored version differs, because removing a
document from a contentless FTS5 table needs exactly the tokens it was
indexed with.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from hashlib import blake2b
from operator import add

TOKENIZER_VERSION = f"3/{unicodedata.unidata_version}"

# Han (with extensions and compatibility ideographs), kana, Hangul.
_CJK = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_CJK_RUN = f"[{_CJK}]+"
_WORD = rf"(?:(?![{_CJK}])[^\W_])+"
_TOKEN_RE = re.compile(f"({_CJK_RUN})|({_WORD})")
_CJK_ONLY_RE = re.compile(f"^{_CJK_RUN}$")

MAX_TOKEN_CHARS = 64
"""Longer words are cut: nobody searches for them and FTS5 keeps them whole."""


def normalize(text: str) -> str:
    """Width- and case-folded text (NFKC, then ``casefold``)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


@dataclass(frozen=True, slots=True)
class Term:
    """A word or a run of CJK characters of a query, normalized;
    ``start``/``end`` are offsets into the normalized query."""

    text: str
    cjk: bool
    start: int
    end: int


def terms(normalized: str) -> list[Term]:
    """The words and CJK runs of already ``normalize``-d text, in order."""
    out: list[Term] = []
    for m in _TOKEN_RE.finditer(normalized):
        cjk_run, word = m.group(1), m.group(2)
        if cjk_run:
            out.append(Term(cjk_run, True, m.start(), m.end()))
        else:
            w = _strip_accents(word)[:MAX_TOKEN_CHARS]
            if w:
                out.append(Term(w, False, m.start(), m.end()))
    return out


def cjk_bigrams(run: str) -> list[str]:
    """``"数据库"`` -> ``["数据", "据库"]``."""
    return list(map(add, run[:-1], run[1:]))


def index_tokens(text: str) -> str:
    """The space-separated token stream FTS5 indexes for ``text``."""
    parts: list[str] = []
    for m in _TOKEN_RE.finditer(normalize(text)):
        cjk_run, word = m.group(1), m.group(2)
        if cjk_run:
            if len(cjk_run) > 1:
                # Bigrams first and contiguous, so that a phrase of bigrams
                # matches exactly where the characters are consecutive.
                parts.append(" ".join(map(add, cjk_run[:-1], cjk_run[1:])))
            parts.append(" ".join(cjk_run))
        else:
            w = _strip_accents(word)[:MAX_TOKEN_CHARS]
            if w:
                parts.append(w)
    return " ".join(parts)


def is_cjk(text: str) -> bool:
    return bool(_CJK_ONLY_RE.match(text))


def meta_token(kind: str, value: str) -> str:
    """A filter token (``kind`` is one letter) for the ``meta`` column: a
    hash, so any product or category name becomes one token. It starts with
    "_", which FTS5 is told is a token character but which never survives
    this module's tokenizing, so no query text can ever match it."""
    return "_" + kind + blake2b(value.encode("utf-8"), digest_size=8).hexdigest()


DRAFT_TOKEN = "_draft"
