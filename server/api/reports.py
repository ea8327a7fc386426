"""Supervisor reports (``/api/v1/reports``): the dashboard, CSV exports of
its tables, and conversation quality review (rubrics and scores).

Reading needs ``reports.read``; CSV also ``export``; rubrics and scoring
``conversations.score`` (supervisors hold all but ``export`` by default).
A reader whose ticket scope is their groups sees their groups' tickets and
agents only. ``group`` and ``agent`` (ids, repeatable) narrow the whole
report to those groups' or agents' tickets and conversations
(:func:`server.reports.narrow`); unknown ids are refused with 422, ids
outside a group-limited reader's groups with 403 (audited). ``from``/``to``
are ISO times; without an offset (or a bare date) they are wall-clock times
in ``tz``. Each CSV export is recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select

from protocol import reports as wire
from protocol.models import ErrorBody, ErrorCode
from server import audit, models, reports, tickets
from server.auth import Db
from server.db import Database
from server.errors import ApiProblem
from server.permissions import Permission, Staff

router = APIRouter(prefix="/reports", tags=["reports"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody},
    422: {"model": ErrorBody},
}

MAX_FILTER_VALUES = 50


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


Reader = Annotated[Staff, Permission("reports.read")]
Exporter = Annotated[Staff, Permission("reports.read", "export", audit_as="report.export")]
Reviewer = Annotated[Staff, Permission("conversations.score")]
FilterValues = Annotated[list[str] | None, Query()]
FilterIds = Annotated[list[int] | None, Query()]


def _values(name: str, values: list[str] | None) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(v.strip() for v in values or [] if len(v) <= 100))
    if len(cleaned) > MAX_FILTER_VALUES:
        raise ApiProblem(
            422, ErrorCode.invalid_request, f"at most {MAX_FILTER_VALUES} values for {name}"
        )
    return cleaned


def _ids(name: str, values: list[int] | None) -> tuple[int, ...]:
    cleaned = tuple(dict.fromkeys(values or []))
    if len(cleaned) > MAX_FILTER_VALUES:
        raise ApiProblem(
            422, ErrorCode.invalid_request, f"at most {MAX_FILTER_VALUES} values for {name}"
        )
    return cleaned


def report_query(
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    tz: Annotated[str, Query(min_length=1, max_length=64)] = "UTC",
    bucket: wire.Bucket = wire.Bucket.day,
    product: FilterValues = None,
    module: FilterValues = None,
    version: FilterValues = None,
    category: FilterValues = None,
    group: FilterIds = None,
    agent: FilterIds = None,
    top: Annotated[int, Query(ge=1, le=100)] = 10,
) -> reports.Query:
    filters = reports.Filters(
        product=_values("product", product),
        module=_values("module", module),
        version=_values("version", version),
        category=_values("category", category),
        group=_ids("group", group),
        agent=_ids("agent", agent),
    )
    return reports.make_query(start, end, tz, bucket, filters, top)


def _scoped(request: Request, staff: Staff, q: reports.Query) -> reports.Query:
    """``q`` limited to what the reader may see and to the group and agent
    filters; a group or agent outside the reader's groups is refused (403)
    and the refusal audited like the routes' permission checks."""
    database = _database(request)
    with database.session() as s:
        reader = reports.scope_for(s, staff.access)
        try:
            filters = reports.narrow(s, q.filters, reader)
        except ApiProblem as exc:
            if exc.status == 403:
                agent = staff.agent
                audit.record_now(
                    database,
                    "permission.denied",
                    actor_type="agent",
                    actor_id=agent.id,
                    actor_name=agent.email,
                    target=f"{request.method} {request.url.path}",
                    outcome="denied",
                    source=audit.source_of(request),
                    reason=exc.message,
                    group=",".join(map(str, q.filters.group)),
                    agent=",".join(map(str, q.filters.agent)),
                )
            raise
    return replace(q, filters=filters)


ReportQuery = Annotated[reports.Query, Depends(report_query)]


def _board(request: Request, q: reports.Query) -> wire.Dashboard:
    database = _database(request)
    at = tickets.now()
    # Rollups whose SLA deadlines have passed are brought up to date first
    # (a short write); the report itself only reads.
    with database.session() as s:
        reports.settle(s, at)
    with database.session(serialize=False) as s:
        return reports.dashboard(s, q, at)


@router.get("/dashboard", response_model=wire.Dashboard, responses=_ERRORS)
def dashboard(request: Request, staff: Reader, q: ReportQuery) -> wire.Dashboard:
    """Every metric of the period: overall, per agent, per group, volume over
    time and the top products, modules, versions and categories."""
    return _board(request, _scoped(request, staff, q))


@router.get("/{name}.csv", response_class=Response, responses=_ERRORS)
def export(name: wire.ReportTable, request: Request, staff: Exporter, q: ReportQuery) -> Response:
    """One table of the dashboard (or the period's quality scores) as CSV:
    UTF-8 with a byte-order mark; cells that a spreadsheet would run as a
    formula start with an apostrophe."""
    database = _database(request)
    agent = staff.agent
    q = _scoped(request, staff, q)
    if name == wire.ReportTable.scores:
        with database.session(serialize=False) as s:
            rows = list(reports.iter_scores(s, q))
    else:
        rows = reports.table_rows(_board(request, q), name)
    body = reports.to_csv(reports.columns(name), rows)
    filters = q.filters.wire()
    with database.session() as s:
        audit.record(
            s,
            "report.export",
            actor_type="agent",
            actor_id=agent.id,
            actor_name=agent.email,
            target=name.value,
            source=audit.source_of(request),
            rows=len(rows),
            start=q.start.isoformat(),
            end=q.end.isoformat(),
            filters=filters.model_dump_json(exclude_defaults=True),
        )
    stamp = f"{q.start.astimezone(q.tz):%Y%m%d}-{q.end.astimezone(q.tz):%Y%m%d}"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="helpbridge-{name.value}-{stamp}.csv"'
        },
    )


# --- conversation quality review ------------------------------------------------------------


def _audit_rubric(
    request: Request, db: Db, staff: Staff, action: str, rubric: models.QualityRubric
) -> None:
    agent = staff.agent
    audit.record(
        db,
        action,
        actor_type="agent",
        actor_id=agent.id,
        actor_name=agent.email,
        target=f"rubric {rubric.id}",
        source=audit.source_of(request),
        name=rubric.name,
    )


@router.get("/quality/rubrics", response_model=wire.RubricList, responses=_ERRORS)
def list_rubrics(staff: Reader, db: Db, include_inactive: bool = False) -> wire.RubricList:
    stmt = select(models.QualityRubric).order_by(models.QualityRubric.name, models.QualityRubric.id)
    if not include_inactive:
        stmt = stmt.where(models.QualityRubric.active.is_(True))
    return wire.RubricList(rubrics=[reports.rubric_out(db, r) for r in db.scalars(stmt)])


@router.post("/quality/rubrics", response_model=wire.Rubric, status_code=201, responses=_ERRORS)
def create_rubric(body: wire.RubricIn, request: Request, staff: Reviewer, db: Db) -> wire.Rubric:
    rubric = reports.create_rubric(db, body, staff.agent)
    _audit_rubric(request, db, staff, "quality.rubric_create", rubric)
    return reports.rubric_out(db, rubric)


@router.get("/quality/rubrics/{rubric_id}", response_model=wire.Rubric, responses=_ERRORS)
def get_rubric(rubric_id: int, staff: Reader, db: Db) -> wire.Rubric:
    return reports.rubric_out(db, reports.get_rubric(db, rubric_id))


@router.put("/quality/rubrics/{rubric_id}", response_model=wire.Rubric, responses=_ERRORS)
def update_rubric(
    rubric_id: int, body: wire.RubricIn, request: Request, staff: Reviewer, db: Db
) -> wire.Rubric:
    """Rename, describe, (de)activate; criteria change only while unused."""
    rubric = reports.get_rubric(db, rubric_id)
    reports.update_rubric(db, rubric, body)
    _audit_rubric(request, db, staff, "quality.rubric_update", rubric)
    return reports.rubric_out(db, rubric)


@router.delete("/quality/rubrics/{rubric_id}", status_code=204, responses=_ERRORS)
def delete_rubric(rubric_id: int, request: Request, staff: Reviewer, db: Db) -> Response:
    """Only a rubric nothing was scored with; deactivate the others."""
    rubric = reports.get_rubric(db, rubric_id)
    reports.delete_rubric(db, rubric)
    _audit_rubric(request, db, staff, "quality.rubric_delete", rubric)
    return Response(status_code=204)


@router.put(
    "/quality/conversations/{conversation_id}/score",
    response_model=wire.QualityScore,
    responses=_ERRORS,
)
def score_conversation(
    conversation_id: int, body: wire.ScoreIn, response: Response, staff: Reviewer, db: Db
) -> wire.QualityScore:
    """Score a closed conversation against a rubric: 201 the first time,
    200 when the reviewer revises their score."""
    scope = reports.scope_for(db, staff.access)
    row, created = reports.score_conversation(db, conversation_id, body, staff.agent, scope)
    response.status_code = 201 if created else 200
    return reports.score_out(db, row)


@router.get("/quality/scores", response_model=wire.QualityScoreList, responses=_ERRORS)
def list_scores(
    staff: Reader,
    db: Db,
    conversation_id: int | None = None,
    agent_id: int | None = None,
    reviewer_id: int | None = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> wire.QualityScoreList:
    """Scores, newest first; ``from``/``to`` bound when the conversation started."""
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise ApiProblem(
                422, ErrorCode.invalid_request, f"{name} needs a time zone offset (or Z)"
            )
    stmt = reports.score_query(
        conversation_id=conversation_id,
        agent_id=agent_id,
        reviewer_id=reviewer_id,
        start=start,
        end=end,
        scope=reports.scope_for(db, staff.access),
    )
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(models.QualityScore.updated_at.desc(), models.QualityScore.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return wire.QualityScoreList(
        scores=reports.scores_out(db, rows), total=total, page=page, per_page=per_page
    )
