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


# An ISO 4217 code: three capital letters (CNY, USD, EUR ...).
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# The longest event or property name an analysis setting may name (the events table's limit).
MAX_SETTING_NAME = 200


def update_project(
    sessions: sessionmaker[Session],
    name: str,
    *,
    timezone: str | None = None,
    order_event: str | None = None,
    revenue_property: str | None = None,
    currency: str | None = None,
    store_client_ip: bool | None = None,
) -> Project:
    """Change a project's settings; an argument left as None keeps its value."""
    if timezone is not None:
        _check_timezone(timezone)
    for field, value in (("order_event", order_event), ("revenue_property", revenue_property)):
        if value is not None and not 0 < len(value.strip()) <= MAX_SETTING_NAME:
            raise BadRequest(f"{field}: give a name of 1-{MAX_SETTING_NAME} characters",
                             field=field)  # fmt: skip
    if currency is not None and not CURRENCY_PATTERN.fullmatch(currency):
        raise BadRequest(f"currency {currency!r}: use an ISO 4217 code such as CNY or USD",
                         field="currency")  # fmt: skip
    changes: dict[str, str | bool | None] = {
        "timezone": timezone,
        "order_event": order_event.strip() if order_event else None,
        "revenue_property": revenue_property.strip() if revenue_property else None,
        "currency": currency,
        "store_client_ip": store_client_ip,
    }
    with sessions.begin() as session:
        project = session.scalar(select(Project).where(Project.name == name))
        if project is None:
            get_project(sessions, name)  # raises NotFound naming the known projects
        assert project is not None
        for field, change in changes.items():
            if change is not None:
                setattr(project, field, change)
    return project
