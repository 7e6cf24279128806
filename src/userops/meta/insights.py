"""Saved insights (an analysis spec under a name) and dashboards (grids of saved insights).

A spec is checked with ``userops.analysis.query.parse_spec`` before it is saved, and saved as it
was sent (not with today's defaults filled in, so a later default applies to it too). A tile may
only show an insight of the dashboard's own project; deleting an insight takes its tiles off
every dashboard, in the same transaction. A dashboard's ``date_range`` (an analysis
``DateRange``) replaces every tile's own range when set; null leaves each tile its own. Bad input
is ``BadRequest`` naming the field as a JSON path: ``name``, ``spec.steps[2].event``,
``tiles[0].insight_id``, ``date_range.last_days``.

Updates are partial: a field left out keeps its value (a ``date_range`` of null clears it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.query import parse_spec
from userops.analysis.spec import DateRange
from userops.errors import BadRequest, NotFound
from userops.meta.models import Dashboard, SavedInsight, User, utcnow
from userops.schema.bodies import json_path, parsed_body
from userops.schema.times import iso

MAX_NAME = 200
MAX_DESCRIPTION = 10_000
MAX_TILES = 100
GRID = 100  # tile positions and sizes are grid cells; the console's grid is far smaller


def _check_spec(spec: Any) -> str:
    """The spec's kind, or BadRequest naming ``spec.<its bad field>``."""
    if not isinstance(spec, dict):
        raise BadRequest("spec: give an analysis spec (a JSON object with a kind)", field="spec")
    try:
        parsed = parse_spec(spec)
    except BadRequest as exc:
        where = exc.field or ""
        path = json_path(where.split(".") if where and where != "(spec)" else [], "spec")
        detail = exc.message.split(": ", 1)[-1]
        raise BadRequest(f"{path}: {detail}", field=path) from None
    return str(parsed.kind)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION)]


class _Named(_Strict):
    name: Name | None = None
    description: Description | None = None

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give a name")
        return value.strip() if value is not None else None


class InsightInput(_Named):
    spec: dict[str, Any] | None = None


Cell = Annotated[int, Field(ge=0, lt=GRID, strict=True)]
Size = Annotated[int, Field(ge=1, le=GRID, strict=True)]


class Tile(_Strict):
    insight_id: Annotated[int, Field(strict=True)]
    x: Cell = 0
    y: Annotated[int, Field(ge=0, le=100 * GRID, strict=True)] = 0
    w: Size = 6
    h: Size = 4


class DashboardInput(_Named):
    tiles: Annotated[list[Tile], Field(max_length=MAX_TILES)] | None = None
    date_range: DateRange | None = None

    def range_json(self) -> dict[str, Any] | None:
        """The range as stored: only the fields of its form (``last_days``, or start/end)."""
        if self.date_range is None:
            return None
        return self.date_range.model_dump(mode="json", exclude_none=True)


M = TypeVar("M", bound=BaseModel)


# --- insights --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InsightView:
    """An insight as the API shows it (``created_by`` is the author's email)."""

    row: SavedInsight
    created_by: str | None

    def to_json(self) -> dict[str, Any]:
        row = self.row
        return {"id": row.id, "name": row.name, "description": row.description,
                "kind": row.kind, "spec": row.spec, "created_at": iso(row.created_at),
                "updated_at": iso(row.updated_at), "created_by": self.created_by}  # fmt: skip


def author_emails(session: Session, authors: Iterable[int | None]) -> dict[int, str]:
    """The email of each author id given (``created_by`` columns), in one query."""
    wanted = {author for author in authors if author is not None}
    found = session.execute(select(User.id, User.email).where(User.id.in_(wanted)))
    return {user_id: email for user_id, email in found}


def _views(session: Session, rows: Sequence[SavedInsight]) -> list[InsightView]:
    emails = author_emails(session, (row.created_by for row in rows))
    return [InsightView(row, emails.get(row.created_by) if row.created_by else None)
            for row in rows]  # fmt: skip


def _insight(session: Session, project_id: int, insight_id: int) -> SavedInsight:
    row = session.get(SavedInsight, insight_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"no insight {insight_id} in this project", field="insight_id")
    return row


def list_insights(sessions: sessionmaker[Session], project_id: int) -> list[InsightView]:
    with sessions() as session:
        found = session.scalars(
            select(SavedInsight)
            .where(SavedInsight.project_id == project_id)
            .order_by(SavedInsight.updated_at.desc(), SavedInsight.id.desc())
        ).all()
        return _views(session, found)


def get_insight(sessions: sessionmaker[Session], project_id: int, insight_id: int) -> InsightView:
    with sessions() as session:
        return _views(session, [_insight(session, project_id, insight_id)])[0]


def create_insight(
    sessions: sessionmaker[Session], project_id: int, body: Any, user_id: int | None
) -> InsightView:
    given = parsed_body(InsightInput, body)
    if given.name is None:
        raise BadRequest("name: give a name", field="name")
    if given.spec is None:
        raise BadRequest("spec: give an analysis spec", field="spec")
    kind = _check_spec(given.spec)
    now = utcnow()
    with sessions.begin() as session:
        row = SavedInsight(project_id=project_id, name=given.name,
                           description=given.description or "", kind=kind, spec=given.spec,
                           created_by=user_id, created_at=now, updated_at=now)  # fmt: skip
        session.add(row)
        session.flush()
        return _views(session, [row])[0]


def update_insight(
    sessions: sessionmaker[Session], project_id: int, insight_id: int, body: Any
) -> InsightView:
    given = parsed_body(InsightInput, body)
    kind = _check_spec(given.spec) if given.spec is not None else None
    with sessions.begin() as session:
        row = _insight(session, project_id, insight_id)
        if given.name is not None:
            row.name = given.name
        if given.description is not None:
            row.description = given.description
        if given.spec is not None and kind is not None:
            row.spec, row.kind = given.spec, kind
        row.updated_at = utcnow()
        session.flush()
        return _views(session, [row])[0]


def delete_insight(sessions: sessionmaker[Session], project_id: int, insight_id: int) -> None:
    """Delete the insight and its tiles on every dashboard of the project."""
    with sessions.begin() as session:
        session.delete(_insight(session, project_id, insight_id))
        for board in session.scalars(select(Dashboard).where(Dashboard.project_id == project_id)):
            kept = [t for t in board.tiles if t.get("insight_id") != insight_id]
            if len(kept) != len(board.tiles):
                board.tiles = kept  # a new list: SQLAlchemy sees JSON changes by assignment
                board.updated_at = utcnow()


# --- dashboards ------------------------------------------------------------------------------


def _dashboard(session: Session, project_id: int, dashboard_id: int) -> Dashboard:
    row = session.get(Dashboard, dashboard_id)
    if row is None or row.project_id != project_id:
        raise NotFound(f"no dashboard {dashboard_id} in this project", field="dashboard_id")
    return row


def _check_tiles(session: Session, project_id: int, tiles: list[Tile]) -> list[dict[str, int]]:
    wanted = {tile.insight_id for tile in tiles}
    known = set(
        session.scalars(
            select(SavedInsight.id).where(
                SavedInsight.project_id == project_id, SavedInsight.id.in_(wanted)
            )
        )
    )
    for n, tile in enumerate(tiles):
        if tile.insight_id not in known:
            raise BadRequest(f"tiles[{n}].insight_id: no insight {tile.insight_id} in this "
                             "project", field=f"tiles[{n}].insight_id")  # fmt: skip
    return [tile.model_dump() for tile in tiles]


def dashboard_json(session: Session, row: Dashboard) -> dict[str, Any]:
    """A dashboard with each tile's insight."""
    ids = [tile["insight_id"] for tile in row.tiles]
    found = session.scalars(select(SavedInsight).where(SavedInsight.id.in_(ids))).all()
    views = {view.row.id: view.to_json() for view in _views(session, found)}
    tiles = [{**tile, "insight": views[tile["insight_id"]]} for tile in row.tiles
             if tile["insight_id"] in views]  # fmt: skip
    return {"id": row.id, "name": row.name, "description": row.description, "tiles": tiles,
            "date_range": row.date_range, "created_at": iso(row.created_at),
            "updated_at": iso(row.updated_at)}  # fmt: skip


def list_dashboards(sessions: sessionmaker[Session], project_id: int) -> list[dict[str, Any]]:
    with sessions() as session:
        found = session.scalars(
            select(Dashboard)
            .where(Dashboard.project_id == project_id)
            .order_by(Dashboard.updated_at.desc(), Dashboard.id.desc())
        )
        return [{"id": row.id, "name": row.name, "description": row.description,
                 "tile_count": len(row.tiles), "updated_at": iso(row.updated_at)}
                for row in found]  # fmt: skip


def get_dashboard(
    sessions: sessionmaker[Session], project_id: int, dashboard_id: int
) -> dict[str, Any]:
    with sessions() as session:
        return dashboard_json(session, _dashboard(session, project_id, dashboard_id))


def create_dashboard(sessions: sessionmaker[Session], project_id: int, body: Any) -> dict[str, Any]:
    given = parsed_body(DashboardInput, body)
    if given.name is None:
        raise BadRequest("name: give a name", field="name")
    now = utcnow()
    with sessions.begin() as session:
        row = Dashboard(project_id=project_id, name=given.name,
                        description=given.description or "",
                        tiles=_check_tiles(session, project_id, given.tiles or []),
                        date_range=given.range_json(), created_at=now,
                        updated_at=now)  # fmt: skip
        session.add(row)
        session.flush()
        return dashboard_json(session, row)


def update_dashboard(
    sessions: sessionmaker[Session], project_id: int, dashboard_id: int, body: Any
) -> dict[str, Any]:
    given = parsed_body(DashboardInput, body)
    with sessions.begin() as session:
        row = _dashboard(session, project_id, dashboard_id)
        if given.name is not None:
            row.name = given.name
        if given.description is not None:
            row.description = given.description
        if given.tiles is not None:
            row.tiles = _check_tiles(session, project_id, given.tiles)
        if "date_range" in given.model_fields_set:  # sent as null: back to each tile's own
            row.date_range = given.range_json()
        row.updated_at = utcnow()
        session.flush()
        return dashboard_json(session, row)


def delete_dashboard(sessions: sessionmaker[Session], project_id: int, dashboard_id: int) -> None:
    with sessions.begin() as session:
        session.delete(_dashboard(session, project_id, dashboard_id))
