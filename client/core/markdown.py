"""Knowledge-base Markdown to HTML that is safe to show in a QTextBrowser.

Articles come from the vendor's service, but the portal still treats them as
untrusted text:

* raw HTML is off (``html=False``), so ``<script>``, ``<style>``,
  ``<iframe>`` and event-handler attributes come out as visible, escaped
  text;
* links pass markdown-it's ``validateLink``, which refuses ``javascript:``,
  ``vbscript:``, ``file:`` and ``data:`` targets (the link then stays plain
  text); the UI opens the remaining ones in the system browser;
* images are replaced by their alt text, so displaying an article never
  fetches anything from the network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdurl import decode as _mdurl_decode

__all__ = ["render_markdown"]

_ALLOWED_LINK_SCHEMES = ("http:", "https:", "mailto:")
# RFC 3986 scheme syntax; a colon after "/", "?" or "#" is not a scheme.
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:")


def _image_as_alt_text(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    """Render ``![alt](src)`` as its escaped alt text, never an ``<img>``."""
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    if not alt:
        return ""
    # renderInlineAsText returns raw text; escape it like any other text node.
    return f'<span class="image-alt">[{escapeHtml(alt)}]</span>'


def _validate_link(url: str) -> bool:
    """Allow web and mail links and relative links; refuse every other scheme.

    markdown-it's default only blocks a short list (javascript, vbscript, file,
    data); an allow-list also keeps out things like ``ms-settings:`` or
    ``smb:`` that the system would happily open.
    """
    candidate = _mdurl_decode(url).strip().lower()
    # Strip control characters and whitespace browsers ignore inside schemes.
    candidate = "".join(ch for ch in candidate if ch > " ")
    if not _SCHEME.match(candidate):
        return True  # relative link or fragment: the UI resolves it
    return candidate.startswith(_ALLOWED_LINK_SCHEMES)


def _build() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    md.validateLink = _validate_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_alt_text)
    return md


_MD = _build()


def render_markdown(md: str) -> str:
    """Convert article Markdown to an HTML fragment with no active content."""
    env: dict[str, Any] = {}
    html: str = _MD.render(md, env)
    return html
