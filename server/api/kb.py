"""Knowledge base: search, browse by category, read, and agents' CRUD."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select

from protocol import models as wire
from protocol.models import MAX_QUERY_CHARS, ErrorCode, Locale
from server import models
from server.auth import Db, MaybePrincipal
from server.errors import ApiProblem
from server.kb.search import SearchIndex
from server.kb.text import plain_text
from server.permissions import Permission, Staff

router = APIRouter(prefix="/kb", tags=["knowledge base"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": wire.ErrorBody}}


def _search_index(request: Request) -> SearchIndex:
    index: SearchIndex = request.app.state.search
    return index


def _can_see_drafts(principal: MaybePrincipal) -> bool:
    return principal is not None and principal.agent is not None


def article_out(a: models.Article) -> wire.Article:
    return wire.Article(
        id=a.id,
        slug=a.slug,
        locale=a.locale,
        title=a.title,
        body=a.body,
        category=a.category,
        tags=list(a.tags or []),
        product=a.product,
        published=a.published,
        updated_at=a.updated_at,
    )


@router.get("/search", response_model=wire.SearchResults)
def search(
    request: Request,
    principal: MaybePrincipal,
    db: Db,
    q: Annotated[str, Query(max_length=20_000)] = "",
    locale: Locale | None = None,
    product: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=50)] = 10,
    drafts: bool = False,
) -> wire.SearchResults:
    """Ranked search with highlighted snippets. An empty query with a category
    (or product) filter lists that category, newest first."""
    include_drafts = drafts and _can_see_drafts(principal)
    q = q[:MAX_QUERY_CHARS]
    if not q.strip() and (category or product):
        return _browse(db, q, locale, product, category, page, per_page, include_drafts)
    return _search_index(request).search(
        q,
        locale=locale,
        product=product or None,
        category=category or None,
        page=page,
        per_page=per_page,
        include_unpublished=include_drafts,
    )


def _browse(
    db: Db,
    q: str,
    locale: str | None,
    product: str | None,
    category: str | None,
    page: int,
    per_page: int,
    include_drafts: bool,
) -> wire.SearchResults:
    stmt = select(models.Article)
    if not include_drafts:
        stmt = stmt.where(models.Article.published.is_(True))
    if locale:
        stmt = stmt.where(models.Article.locale == locale)
    if product:
        stmt = stmt.where(models.Article.product == product)
    if category:
        stmt = stmt.where(models.Article.category == category)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(models.Article.updated_at.desc(), models.Article.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    hits = []
    for a in rows:
        text = plain_text(a.body)
        snippet = text[:160].rstrip() + ("…" if len(text) > 160 else "")
        hits.append(
            wire.SearchHit(
                id=a.id,
                locale=a.locale,
                title=a.title,
                snippet=snippet,
                category=a.category,
                product=a.product,
                tags=list(a.tags or []),
                updated_at=a.updated_at,
                score=0.0,
            )
        )
    return wire.SearchResults(query=q, total=total, page=page, per_page=per_page, results=hits)


@router.get("/categories", response_model=wire.CategoryList)
def categories(db: Db, locale: Locale | None = None) -> wire.CategoryList:
    stmt = (
        select(models.Article.category, models.Article.locale, func.count())
        .where(models.Article.published.is_(True), models.Article.category != "")
        .group_by(models.Article.category, models.Article.locale)
        .order_by(models.Article.locale, models.Article.category)
    )
    if locale:
        stmt = stmt.where(models.Article.locale == locale)
    return wire.CategoryList(
        categories=[
            wire.Category(name=name, locale=loc, count=count)
            for name, loc, count in db.execute(stmt).all()
        ]
    )


def _get_article(db: Db, article_id: int, include_drafts: bool) -> models.Article:
    article = db.get(models.Article, article_id)
    if article is None or (not article.published and not include_drafts):
        raise ApiProblem(404, ErrorCode.not_found, f"no article {article_id}")
    return article


@router.get("/articles/{article_id}", response_model=wire.Article, responses=_NOT_FOUND)
def get_article(article_id: int, principal: MaybePrincipal, db: Db) -> wire.Article:
    return article_out(_get_article(db, article_id, _can_see_drafts(principal)))


Editor = Annotated[Staff, Permission("kb.edit")]


@router.post("/articles", response_model=wire.Article, status_code=201)
def create_article(body: wire.ArticleIn, request: Request, staff: Editor, db: Db) -> wire.Article:
    if body.slug and db.scalar(
        select(models.Article).where(
            models.Article.slug == body.slug, models.Article.locale == body.locale
        )
    ):
        raise ApiProblem(409, ErrorCode.conflict, f"slug {body.slug!r} exists in {body.locale}")
    article = models.Article(author_id=staff.agent.id, **body.model_dump())
    db.add(article)
    db.flush()
    _search_index(request).index_article(db, article)
    return article_out(article)


@router.put("/articles/{article_id}", response_model=wire.Article, responses=_NOT_FOUND)
def update_article(
    article_id: int, body: wire.ArticleUpdate, request: Request, staff: Editor, db: Db
) -> wire.Article:
    article = _get_article(db, article_id, include_drafts=True)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise ApiProblem(422, ErrorCode.invalid_request, f"{name}: may not be null")
        setattr(article, name, value)
    db.flush()
    _search_index(request).index_article(db, article)
    return article_out(article)


@router.delete("/articles/{article_id}", status_code=204, responses=_NOT_FOUND)
def delete_article(article_id: int, request: Request, staff: Editor, db: Db) -> Response:
    article = _get_article(db, article_id, include_drafts=True)
    _search_index(request).remove_article(db, article.id)
    db.delete(article)
    return Response(status_code=204)
