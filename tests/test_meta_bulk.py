"""Driver-level bulk inserts store exactly what SQLAlchemy's own inserts store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from userops.identity.repository import PERSONS
from userops.meta.bulk import insert_rows
from userops.meta.models import Person, Project
from userops.runtime import Runtime


def test_bulk_rows_read_back_like_orm_rows(runtime: Runtime, project: Project) -> None:
    moment = dt.datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=dt.UTC)
    with runtime.sessions.begin() as session:
        insert_rows(session, PERSONS, ["id"], [(101,), (102,)],
                    {"project_id": project.id, "created_at": moment})  # fmt: skip
        session.add(Person(id=103, project_id=project.id, created_at=moment))
    with runtime.sessions() as session:
        got = session.execute(select(Person.id, Person.created_at).order_by(Person.id)).all()
        stored = session.execute(text("SELECT created_at FROM persons ORDER BY id")).scalars().all()
    assert got == [(101, moment), (102, moment), (103, moment)]
    assert len(set(stored)) == 1  # the same text (SQLite) or value (PostgreSQL) either way
