"""Administrators: the audit log (read and export; never edit)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, func, select

from server import audit, models
from server.auth import Db
from server.csvtext import safe_cell
from server.permissions import Permission, Staff

router = APIRouter(prefix="/admin", tags=["administration"])


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    at: datetime
    actor_type: str
    actor_id: int | None
    actor_name: str
    action: str
    target: str
    outcome: str
    source: str
    detail: dict[str, str]


class AuditPage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[AuditEntryOut]
    total: int
    page: int
    per_page: int


def _filtered(
    action: str | None,
    actor: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[models.AuditEntry]:
    stmt = select(models.AuditEntry)
    if action:
        stmt = stmt.where(models.AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        stmt = stmt.where(models.AuditEntry.actor_name.contains(actor, autoescape=True))
    if outcome:
        stmt = stmt.where(models.AuditEntry.outcome == outcome)
    if since:
        stmt = stmt.where(models.AuditEntry.at >= since)
    if until:
        stmt = stmt.where(models.AuditEntry.at < until)
    return stmt


def _out(e: models.AuditEntry) -> AuditEntryOut:
    return AuditEntryOut(
        id=e.id,
        at=e.at,
        actor_type=e.actor_type,
        actor_id=e.actor_id,
        actor_name=e.actor_name,
        action=e.action,
        target=e.target,
        outcome=e.outcome,
        source=e.source,
        detail=dict(e.detail or {}),
    )


Filter = Annotated[str | None, Query(max_length=100)]


@router.get("/audit", response_model=AuditPage)
def audit_log(
    staff: Annotated[Staff, Permission("audit.read")],
    db: Db,
    action: Filter = None,
    actor: Filter = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|denied|failed)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    stmt = _filtered(action, actor, outcome, since, until)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(models.AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return AuditPage(entries=[_out(e) for e in rows], total=total, page=page, per_page=per_page)


@router.get("/audit.csv", response_class=Response)
def export_audit_log(
    request: Request,
    staff: Annotated[Staff, Permission("audit.read", "export", audit_as="audit.export")],
    db: Db,
    action: Filter = None,
    actor: Filter = None,
    outcome: Annotated[str | None, Query(pattern="^(ok|denied|failed)$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    agent = staff.agent
    rows = db.scalars(
        _filtered(action, actor, outcome, since, until).order_by(models.AuditEntry.id)
    ).all()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(
        [
            "id",
            "at",
            "actor_type",
            "actor_id",
            "actor_name",
            "action",
            "target",
            "outcome",
            "source",
            "detail",
        ]
    )
    for e in rows:
        writer.writerow(
            [
                e.id,
                e.at.isoformat(),
                e.actor_type,
                e.actor_id or "",
                safe_cell(e.actor_name),
                e.action,
                safe_cell(e.target),
                e.outcome,
                safe_cell(e.source),
                safe_cell(json.dumps(e.detail or {}, ensure_ascii=False)),
            ]
        )
    audit.record(
        db,
        "audit.export",
        actor_type="agent",
        actor_id=agent.id,
        actor_name=agent.email,
        source=audit.source_of(request),
        rows=len(rows),
    )
    return Response(
        "\ufeff" + buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="helpbridge-audit.csv"'},
    )
