"""The chat bot: knowledge-base suggestions and its few fixed lines.

The bot answers a customer's message with up to three articles found by
the service's own search, in the language of what they wrote (any CJK
ideograph means Chinese) and for their product when that finds anything.
"""

from __future__ import annotations

import re

from protocol.models import SearchHit
from protocol.realtime import ArticleRef
from server.kb._query import STOPWORDS
from server.kb.search import SearchIndex

MAX_ARTICLES = 3
_MAX_WORDS = 8
_WORD = re.compile(r"[^\W_]+")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")

_LINES: dict[str, dict[str, str]] = {
    "ask": {"en": "Did this solve it?", "zh_CN": "这些文章解决您的问题了吗？"},
    "nothing": {
        "en": "I couldn't find an article about that. Let me get you a person.",
        "zh_CN": "没有找到相关文章，正在为您转接人工客服。",
    },
    "queued": {
        "en": "Connecting you to a person…",
        "zh_CN": "正在为您转接人工客服…",
    },
    "helped": {
        "en": "Glad that helped! Write again any time.",
        "zh_CN": "很高兴能帮到您！有问题随时再来。",
    },
    "joined": {"en": "{name} joined the chat.", "zh_CN": "{name} 已加入对话。"},
    "transferred": {"en": "{name} is taking over.", "zh_CN": "{name} 将继续为您服务。"},
    "closed": {"en": "The chat was closed.", "zh_CN": "对话已结束。"},
    "unavailable": {
        "en": (
            "No one is available right now — we've turned this into ticket #{number}; "
            "we'll reply there."
        ),
        "zh_CN": "目前没有客服有空——我们已将此对话转为工单 #{number}，会在工单中回复您。",
    },
    "ticket": {
        "en": "We've turned this chat into ticket #{number}; we'll reply there.",
        "zh_CN": "我们已将此对话转为工单 #{number}，会在工单中回复您。",
    },
}


def locale_of(text: str) -> str:
    """``zh_CN`` when the text has any CJK ideograph, else ``en``."""
    return "zh_CN" if _CJK.search(text) else "en"


def line(key: str, locale: str, **values: object) -> str:
    table = _LINES[key]
    return table.get(locale, table["en"]).format(**values)


def _ref(hit: SearchHit) -> ArticleRef:
    return ArticleRef(id=hit.id, title=hit.title, snippet=hit.snippet)


def suggest(index: SearchIndex, text: str, locale: str, product: str) -> list[ArticleRef]:
    """Up to three articles for what the customer wrote: for their product
    first, any product when that finds nothing.

    Search matches every word of a query, which suits a search box; people
    chatting write sentences ("cheque printing is misaligned"), so when the
    whole text finds nothing the articles matching most of its words win."""
    attempts = [product, ""] if product else [""]
    for prod in attempts:
        found = index.search(text, locale=locale, product=prod or None, per_page=MAX_ARTICLES)
        if found.results:
            return [_ref(hit) for hit in found.results[:MAX_ARTICLES]]
    for prod in attempts:
        refs = _any_words(index, text, locale, prod)
        if refs:
            return refs
    return []


def _any_words(index: SearchIndex, text: str, locale: str, product: str) -> list[ArticleRef]:
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    words = [w for w in words if w not in STOPWORDS and (len(w) > 2 or _CJK.match(w))]
    # The longest words say the most; a pasted paragraph is not searched word by word.
    words = sorted(words, key=len, reverse=True)[:_MAX_WORDS]
    tally: dict[int, tuple[int, float, SearchHit]] = {}
    for word in words:
        for hit in index.search(word, locale=locale, product=product or None, per_page=5).results:
            count, score, _ = tally.get(hit.id, (0, 0.0, hit))
            tally[hit.id] = (count + 1, score + hit.score, hit)
    best = sorted(tally.values(), key=lambda t: (-t[0], -t[1], t[2].id))
    return [_ref(hit) for _, _, hit in best[:MAX_ARTICLES]]
