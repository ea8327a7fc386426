"""Import a folder of Markdown articles with YAML front matter.

Format (see resources/kb for examples)::

    ---
    slug: invoice-void
    locale: en
    title: How to void an invoice
    category: Invoices
    product: LedgerPro
    tags: [invoice, void]
    published: true
    ---
    # How to void an invoice
    ...

An article is matched by (slug, locale): importing again updates it in place,
so an import is safe to repeat. A file that cannot be read is reported and
skipped; the others are imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select

from protocol import models as wire
from server import models
from server.db import Database
from server.kb.search import SearchIndex


class FrontMatterError(ValueError):
    pass


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.errors)} failed"
        )


def parse_article(text: str, *, default_slug: str) -> wire.ArticleIn:
    text = text.lstrip("\ufeff")
    if not text.startswith("---"):
        raise FrontMatterError("no front matter (the file must start with a '---' line)")
    lines = text.splitlines(keepends=True)
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise FrontMatterError("front matter is not closed by a '---' line")
    try:
        meta: Any = yaml.safe_load("".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        raise FrontMatterError(f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise FrontMatterError("front matter must be a mapping of keys to values")
    meta.setdefault("slug", default_slug)
    if isinstance(meta.get("tags"), str):
        meta["tags"] = [t.strip() for t in meta["tags"].split(",") if t.strip()]
    meta["body"] = "".join(lines[end + 1 :]).strip() + "\n"
    try:
        return wire.ArticleIn.model_validate(meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FrontMatterError(f"{where}: {first.get('msg')}") from exc


def import_directory(db: Database, index: SearchIndex, folder: Path) -> ImportReport:
    report = ImportReport()
    if not folder.is_dir():
        report.errors.append(f"{folder}: not a folder")
        return report
    for path in sorted(folder.rglob("*.md")):
        try:
            article_in = parse_article(path.read_text(encoding="utf-8"), default_slug=path.stem)
        except (OSError, UnicodeDecodeError, FrontMatterError) as exc:
            report.errors.append(f"{path}: {exc}")
            continue
        with db.session() as s:
            existing = s.scalar(
                select(models.Article).where(
                    models.Article.slug == article_in.slug,
                    models.Article.locale == article_in.locale,
                )
            )
            values = article_in.model_dump()
            if existing is None:
                article = models.Article(**values)
                s.add(article)
                s.flush()
                index.index_article(s, article)
                report.created += 1
            elif any(getattr(existing, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(existing, k, v)
                s.flush()
                index.index_article(s, existing)
                report.updated += 1
            else:
                report.unchanged += 1
    return report
