"""What a search query means: its units, their FTS5 expression and the
patterns that highlight them.

A query is an AND of *units*:

* a CJK run: one character or a bigram is one token; a longer run is the
  phrase of its bigrams (relaxed to an AND of the bigrams when the phrase
  finds nothing);
* an English (or other space-delimited) word: words of one or two letters
  must match exactly. The last word of the query is being typed, so it
  matches as a prefix ("invo" finds "invoice"), after a light suffix fold
  ("invoices" -> "invoice", "configured" -> "configur"). Earlier words are
  complete: they match their inflections ("print" finds "prints",
  "printed", "printing", not "printer"), or as prefixes when the index has
  none. The index expands both to indexed words;
* a compound: words joined by punctuation without spaces (``LP-1043``,
  ``v2.3``) must appear in that order.

Everything the user typed ends up inside double-quoted FTS5 strings made of
tokenizer output (letters, digits, CJK), so no query text is ever read as
FTS5 syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from string import ascii_lowercase

from server.kb._tokens import Term, cjk_bigrams, is_cjk, normalize, terms

MAX_UNITS = 12
"""Units beyond this are ignored (a pasted paragraph is not a query)."""

PREFIX_MIN = 3
"""Words shorter than this match exactly, not as prefixes."""

STOPWORDS = frozenset(
    """a an and are as at be by can do does for from how i if in is it its me my
    no not of on or our so than that the then this to via was we what when where
    which who why will with you your""".split()  # noqa: SIM905
)
"""Dropped from a query that has other units: nobody means them."""

_COMPOUND_GLUE = re.compile(r"[-./_:#+@]{1,2}")


@dataclass
class Unit:
    """One AND-ed part of a query."""

    kind: str  # "cjk" | "word" | "prefix" | "family" | "compound"
    text: str  # normalized: the CJK run, the word, the prefix, or tokens joined by " "
    surface: str = ""  # word/prefix: the word as typed (normalized)
    relaxed: bool = False  # cjk: AND of bigrams instead of the phrase
    tokens: list[str] = field(default_factory=list)  # compound
    # Filled from the index's vocabulary (``search_terms``):
    df: dict[str, int] = field(default_factory=dict)  # exact tokens -> documents
    expansions: list[str] | None = None  # prefix/family: the indexed words it stands for
    native_prefix: bool = False  # prefix: too many expansions, let FTS5 expand

    def exact_tokens(self) -> list[str]:
        """Tokens that must each be in a matching document."""
        if self.kind == "cjk":
            return [self.text] if len(self.text) <= 2 else cjk_bigrams(self.text)
        if self.kind == "word":
            return [self.text]
        if self.kind == "compound":
            last = self.tokens[-1]
            return self.tokens[:-1] + ([last] if len(last) < PREFIX_MIN else [])
        return []

    @property
    def dead(self) -> bool:
        """Known to match nothing in the index."""
        if self.kind in ("prefix", "family"):
            return not self.native_prefix and self.expansions == []
        return any(self.df.get(t, 1) == 0 for t in self.exact_tokens())

    def cost(self) -> tuple[int, int]:
        """(FTS5 phrases, documents their doclists hold): what bm25 pays for
        this unit before ranking a single row."""
        if self.kind in ("prefix", "family"):
            n = 1 if self.native_prefix else len(self.expansions or [])
            return n, sum(self.df.get(e, 0) for e in self.expansions or [])
        toks = self.exact_tokens()
        docs = sum(self.df.get(t, 0) for t in toks)
        if self.kind == "cjk" and self.relaxed:
            return len(set(toks)), docs
        return 1, docs

    def fts(self) -> str:
        """This unit as an FTS5 expression."""
        if self.kind == "cjk":
            if len(self.text) <= 2:
                return _q(self.text)
            grams = cjk_bigrams(self.text)
            if self.relaxed:
                return "(" + " AND ".join(_q(g) for g in dict.fromkeys(grams)) + ")"
            return _q(" ".join(grams))
        if self.kind == "word":
            return _q(self.text)
        if self.kind == "compound":
            last = self.tokens[-1]
            star = "*" if len(last) >= PREFIX_MIN else ""
            return _q(" ".join(self.tokens)) + star
        if self.native_prefix or self.expansions is None:
            return _q(self.text) + "*"
        if not self.expansions:
            # Only reached when another unit is being corrected; matches nothing.
            return _q(self.text)
        if len(self.expansions) == 1:
            return _q(self.expansions[0])
        return "(" + " OR ".join(_q(e) for e in self.expansions) + ")"

    def like_patterns(self) -> list[list[str]]:
        """For the LIKE fallback: an AND of ORs of patterns over the token
        stream ``" tok tok ... "``."""
        if self.kind == "cjk":
            if len(self.text) <= 2:
                return [[f"% {self.text} %"]]
            grams = cjk_bigrams(self.text)
            if self.relaxed:
                return [[f"% {g} %"] for g in dict.fromkeys(grams)]
            return [[f"% {' '.join(grams)} %"]]
        if self.kind == "word":
            return [[f"% {self.text} %"]]
        if self.kind == "compound":
            joined = " ".join(self.tokens)
            end = "%" if len(self.tokens[-1]) >= PREFIX_MIN else " %"
            return [[f"% {joined}{end}"]]
        if self.native_prefix or not self.expansions:
            return [[f"% {self.text}%"]]
        return [[f"% {e} %" for e in self.expansions]]

    def needle(self) -> tuple[str, str]:
        """(regex for this unit in ``fold``-ed text, how to check a match:
        "any", "word" (whole word) or "prefix" (start of a word, which the
        highlight then covers))."""
        if self.kind == "cjk":
            if self.relaxed:
                grams = dict.fromkeys(cjk_bigrams(self.text))
                return "|".join(re.escape(g) for g in grams), "any"
            return re.escape(self.text), "any"
        if self.kind == "word":
            return re.escape(self.text), "word"
        if self.kind == "compound":
            body = r"[\W_]{1,3}".join(re.escape(t) for t in self.tokens)
            return body, "prefix" if len(self.tokens[-1]) >= PREFIX_MIN else "word"
        if self.kind == "family" and self.expansions:
            return "|".join(
                re.escape(e) for e in sorted(self.expansions, key=len, reverse=True)
            ), "word"
        return re.escape(self.text), "prefix"


def _q(s: str) -> str:
    return f'"{s}"'


def _fold_table() -> dict[int, str]:
    """Lower-case accented and full-width letters and digits -> their ASCII
    base ("é" -> "e", "ｓ" -> "s"): one character for one, so offsets hold."""
    table: dict[int, str] = {}
    for lo, hi in _FOLDABLE_RANGES:
        for cp in range(lo, hi + 1):
            c = chr(cp)
            base = "".join(
                ch for ch in unicodedata.normalize("NFKD", c) if not unicodedata.combining(ch)
            ).casefold()
            if len(base) == 1 and base.isascii() and base.isalnum() and base != c:
                table[cp] = base
    return table


_FOLDABLE_RANGES = (
    (0x00C0, 0x024F),
    (0x1E00, 0x1EFF),
    (0xFF10, 0xFF19),
    (0xFF21, 0xFF3A),
    (0xFF41, 0xFF5A),
)
_FOLDABLE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _FOLDABLE_RANGES) + "]")
_FOLD_TABLE = _fold_table()


def fold(text: str) -> str:
    """``text`` lower-cased, accents and full width removed, with exactly
    its length: match offsets in the result are offsets in ``text``."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
    if _FOLDABLE.search(low):
        low = low.translate(_FOLD_TABLE)
    return low


def light_stem(word: str) -> str:
    """Strip a common English inflection. The result is used as a prefix, so
    "invoices" and "invoiced" both find "invoice", and "configured" finds
    "configuration". Plural stems keep three letters ("taxes" -> "tax"),
    verb stems four ("filing" must not become "fil" and find "filter")."""
    if len(word) < 5 or not (word.isascii() and word.isalpha()):
        return word
    if word.endswith(("ies", "ied")):
        stem, shortest = word[:-3], 4
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        stem, shortest = word[:-2], PREFIX_MIN
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        stem, shortest = word[:-1], PREFIX_MIN
    elif word.endswith("ing"):
        stem, shortest = _undouble(word[:-3]), 4
    elif word.endswith("ed"):
        stem, shortest = _undouble(word[:-2]), 4
    else:
        return word
    return stem if len(stem) >= shortest else word


def _undouble(stem: str) -> str:
    if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "aeioulsz":
        return stem[:-1]
    return stem


def plan(query: str) -> list[Unit]:
    """The units of ``query`` (not yet expanded against the index)."""
    normalized = normalize(query)
    found = terms(normalized)
    groups: list[list[Term]] = []
    for t in found:
        prev = groups[-1][-1] if groups else None
        if (
            prev is not None
            and not prev.cjk
            and not t.cjk
            and _COMPOUND_GLUE.fullmatch(normalized[prev.end : t.start])
        ):
            groups[-1].append(t)
        else:
            groups.append([t])
    units: list[Unit] = []
    for i, g in enumerate(groups):
        if len(g) > 1:
            toks = [t.text for t in g]
            units.append(Unit("compound", " ".join(toks), tokens=toks))
        elif g[0].cjk:
            units.append(Unit("cjk", g[0].text))
        elif len(g[0].text) < PREFIX_MIN:
            units.append(Unit("word", g[0].text, surface=g[0].text))
        else:
            typing = i == len(groups) - 1 and g[0].end == len(normalized)
            units.append(word_unit(g[0].text, typing=typing))
    if any(not _is_stopword(u) for u in units):
        units = [u for u in units if not _is_stopword(u)]
    seen: set[tuple[str, str]] = set()
    out: list[Unit] = []
    for u in units:
        if (u.kind, u.text) not in seen:
            seen.add((u.kind, u.text))
            out.append(u)
    return out[:MAX_UNITS]


def word_unit(word: str, *, typing: bool) -> Unit:
    """The unit of a word of PREFIX_MIN or more letters: a prefix if the user
    is still typing it, else its inflections."""
    return Unit("prefix" if typing else "family", light_stem(word), surface=word)


_INFLECTION = "(?:e|y)?(?:s|es|d|ed|ing|ies|ied)?"


def family_base(word: str) -> str:
    """The prefix shared by a word's inflections ("invoice" -> "invoic")."""
    stem = light_stem(word)
    return stem[:-1] if len(stem) > PREFIX_MIN and stem[-1] in "ey" else stem


def in_family(word: str, base: str, candidate: str) -> bool:
    """Whether ``candidate`` is an inflection of ``word`` (of ``family_base``
    ``base``): base + optional e/y + optional s/es/d/ed/ing/ies/ied, with a
    doubled final consonant allowed ("stop" -> "stopped")."""
    if candidate == word:
        return True
    if not candidate.startswith(base):
        return False
    rest = candidate[len(base) :]
    if rest[:1] == base[-1:] and rest[1:2] in ("e", "i"):
        rest = rest[1:]
    return re.fullmatch(_INFLECTION, rest) is not None


def _is_stopword(u: Unit) -> bool:
    return u.kind in ("word", "prefix", "family") and u.surface in STOPWORDS


def fts_expression(units: list[Unit]) -> str:
    return " AND ".join(u.fts() for u in units)


class Highlighter:
    """Finds the units of a query in text (as offsets)."""

    def __init__(self, units: list[Unit]) -> None:
        needles = [u.needle() for u in units]
        self._modes = {f"u{i}": mode for i, (_, mode) in enumerate(needles)}
        self._regex = _compile(tuple(n for n, _ in needles))

    def find(self, text: str, limit: int) -> list[tuple[int, int, str]]:
        """Up to ``limit`` (start, end, unit) matches in ``text``."""
        out: list[tuple[int, int, str]] = []
        folded = fold(text)
        n = len(folded)
        for m in self._regex.finditer(folded):
            start, end, group = m.start(), m.end(), m.lastgroup or ""
            mode = self._modes.get(group, "any")
            if mode != "any":
                # Boundaries are checked here, not in the regex: a character
                # class for "letter or digit but not CJK" takes Python's
                # regex compiler milliseconds for every query.
                if start > 0 and _wordish(folded[start - 1]):
                    continue
                if mode == "word" and end < n and _wordish(folded[end]):
                    continue
                while end < n and _wordish(folded[end]):
                    end += 1
            if end > start:
                out.append((start, end, group))
                if len(out) >= limit:
                    break
        return out


def _wordish(c: str) -> bool:
    """A letter or digit of a space-delimited script."""
    return c.isalnum() and not is_cjk(c)


@lru_cache(maxsize=256)
def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    parts = [f"(?P<u{i}>{p})" for i, p in enumerate(patterns)]
    parts.sort(key=len, reverse=True)  # longer alternatives first
    return re.compile("|".join(parts))


def edits1(word: str) -> set[str]:
    """All strings one deletion, transposition, substitution or insertion
    (a-z) away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in ascii_lowercase}
    inserts = {a + c + b for a, b in splits for c in ascii_lowercase}
    out = deletes | transposes | replaces | inserts
    out.discard(word)
    return out
