"""Projects: one data directory holds many, each with its own time zone, write key and events."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from userops.config import check_timezone
from userops.errors import BadRequest, Conflict, NotFound
from userops.meta.models import Project

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise BadRequest(
            f"project name {name!r}: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit",
            field="name",
        )


def _check_timezone(timezone: str) -> None:
    try:
        check_timezone(timezone)
    except ValueError as exc:
        raise BadRequest(str(exc), field="timezone") from None


def create_project(sessions: sessionmaker[Session], name: str, timezone: str) -> Project:
    _check_name(name)
    _check_timezone(timezone)
    project = Project(name=name, timezone=timezone, write_key=secrets.token_urlsafe(24))
    with sessions.begin() as session:
        session.add(project)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"project {name!r} already exists", field="name") from None
    return project


def list_projects(sessions: sessionmaker[Session]) -> list[Project]:
    with sessions() as session:
        return list(session.scalars(select(Project).order_by(Project.name)))


def get_project(sessions: sessionmaker[Session], name: str) -> Project:
    with sessions() as session:
        project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        known = ", ".join(p.name for p in list_projects(sessions)) or "none yet"
        raise NotFound(
            f"unknown project {name!r} (projects: {known}; create one with "
            f"`userops projects create NAME`)",
            field="project",
        )
    return project


def project_by_write_key(sessions: sessionmaker[Session], write_key: str) -> Project | None:
    with sessions() as session:
        return session.scalar(select(Project).where(Project.write_key == write_key))
