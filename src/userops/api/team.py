"""Projects, their settings and write keys, their members, and personal API keys, for the console.

Every route takes its caller from ``userops.api.access``; the role each needs is in its
``project_access`` dependency (the access-matrix test holds the same table).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session, sessionmaker

from userops.api.access import (
    Access,
    Principal,
    instance_owner,
    meta_sessions,
    principal,
    project_access,
    role_for,
)
from userops.api.auth import moment, user_json
from userops.api.resources import path_id
from userops.errors import NotFound
from userops.meta.keys import create_key
from userops.meta.models import ApiKey, Project, User, utcnow
from userops.meta.projects import create_project, update_project
from userops.meta.users import (
    Role,
    add_member,
    at_least,
    change_role,
    check_role,
    create_user,
    get_user,
    list_members,
    projects_of,
    remove_member,
    user_by_email,
)

Admin = Annotated[Access, Depends(project_access("admin"))]
Member = Annotated[Access, Depends(project_access("viewer"))]


class NewProject(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    timezone: str


class SettingsChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str | None = None
    currency: str | None = None
    order_event: str | None = None
    revenue_property: str | None = None
    store_client_ip: bool | None = None


class NewMember(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    role: str
    name: str | None = None
    password: str | None = None


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""


def summary(project: Project, role: Role) -> dict[str, Any]:
    return {"name": project.name, "timezone": project.timezone, "role": role,
            "currency": project.currency, "order_event": project.order_event,
            "revenue_property": project.revenue_property}  # fmt: skip


def settings_json(project: Project, role: Role) -> dict[str, Any]:
    return {**summary(project, role), "store_client_ip": project.store_client_ip,
            "write_key": project.write_key if role == "admin" else None}  # fmt: skip


def visible_projects(sessions: sessionmaker[Session], who: Principal) -> list[tuple[Project, Role]]:
    if who.kind == "local":
        with sessions() as session:
            return [(p, "admin") for p in session.scalars(select(Project).order_by(Project.name))]
    if who.key is not None:  # a key sees its own project only, with the role it acts with
        with sessions() as session:
            project = session.get(Project, who.key.project_id)
        role = role_for(sessions, who, project) if project is not None else None
        return [(project, role)] if project is not None and role is not None else []
    assert who.user is not None
    return projects_of(sessions, who.user)


def forget_write_keys(request: Request) -> None:
    # The intake caches write key -> project (and store_client_ip) for speed; a rotation or a
    # settings change must not wait for a restart.
    ingestion = getattr(request.app.state, "ingestion", None)
    if ingestion is not None:
        ingestion.intake.forget_keys()


def key_json(key: ApiKey, email: str | None) -> dict[str, Any]:
    return {"id": key.id, "name": key.name, "prefix": key.prefix,
            "created_at": moment(key.created_at), "last_used_at": moment(key.last_used_at),
            "revoked_at": moment(key.revoked_at), "user_email": email}  # fmt: skip


def _projects(router: APIRouter) -> None:
    @router.get("/api/projects", summary="The projects the caller sees, with its role in each")
    def projects(request: Request,
                 who: Annotated[Principal, Depends(principal)]) -> list[dict[str, Any]]:
        return [summary(p, role) for p, role in visible_projects(meta_sessions(request), who)]

    @router.post("/api/projects", status_code=201, summary="Create a project (the owner only)")
    def new_project(request: Request, body: NewProject,
                    who: Annotated[Principal, Depends(instance_owner)]) -> dict[str, Any]:
        sessions = meta_sessions(request)
        project = create_project(sessions, body.name, body.timezone)
        if who.user is not None:  # listed as the project's first admin
            add_member(sessions, project.id, who.user.id, "admin")
        return settings_json(project, "admin")

    @router.get("/api/projects/{project}", summary="A project's settings")
    def settings(access: Member) -> dict[str, Any]:
        return settings_json(access.project, access.role)

    @router.patch("/api/projects/{project}", summary="Change a project's settings (admin)")
    def change(request: Request, body: SettingsChange, access: Admin) -> dict[str, Any]:
        changed = update_project(meta_sessions(request), access.project.name,
                                 **body.model_dump(exclude_unset=True))  # fmt: skip
        forget_write_keys(request)
        return settings_json(changed, access.role)

    @router.post("/api/projects/{project}/write-key", summary="Rotate the write key (admin)")
    def rotate(request: Request, access: Admin) -> dict[str, str]:
        new_key = secrets.token_urlsafe(24)
        with meta_sessions(request).begin() as session:
            project = session.get(Project, access.project.id)
            assert project is not None
            project.write_key = new_key
        forget_write_keys(request)
        return {"write_key": new_key}


def _members(router: APIRouter) -> None:
    @router.get("/api/projects/{project}/members", summary="The project's members")
    def members(request: Request, access: Member) -> list[dict[str, Any]]:
        listed = list_members(meta_sessions(request), access.project.id)
        return [{"user": user_json(user), "role": role} for user, role in listed]

    @router.post("/api/projects/{project}/members", status_code=201,
                 summary="Add a user, or create one with name and password (admin)")
    def add(request: Request, body: NewMember, access: Admin) -> dict[str, Any]:
        sessions = meta_sessions(request)
        role = check_role(body.role)
        user = user_by_email(sessions, body.email)
        if user is None:
            if body.name is None or body.password is None:
                raise NotFound(f"no user with email {body.email.strip()!r}: give name and "
                               "password to create one", field="email")  # fmt: skip
            user = create_user(sessions, body.email, body.name, body.password)
        add_member(sessions, access.project.id, user.id, role)
        return {"user": user_json(user), "role": role}

    @router.patch("/api/projects/{project}/members/{user_id}", summary="Change a role (admin)")
    def change(request: Request, user_id: str, body: RoleChange,
               access: Admin) -> dict[str, Any]:  # fmt: skip
        sessions = meta_sessions(request)
        number = path_id(user_id, "user_id", "member")
        membership = change_role(sessions, access.project.id, number, body.role)
        return {"user": user_json(get_user(sessions, number)), "role": membership.role}

    @router.delete("/api/projects/{project}/members/{user_id}", status_code=204,
                   summary="Remove a member (admin)")  # fmt: skip
    def remove(request: Request, user_id: str, access: Admin) -> Response:
        number = path_id(user_id, "user_id", "member")
        remove_member(meta_sessions(request), access.project.id, number)
        return Response(status_code=204)


def _own_keys(who: Principal) -> ColumnElement[bool]:
    """The keys a caller below admin may list and revoke: its user's; a key with no user (made
    by the CLI) only itself."""
    if who.user_id is not None:
        return ApiKey.user_id == who.user_id
    return ApiKey.id == (who.key.id if who.key is not None else -1)


def _keys(router: APIRouter) -> None:
    @router.get("/api/projects/{project}/keys",
                summary="Your API keys of the project (an admin: all of them)")  # fmt: skip
    def keys(request: Request, access: Member) -> list[dict[str, Any]]:
        query = (select(ApiKey, User.email).outerjoin(User, User.id == ApiKey.user_id)
                 .where(ApiKey.project_id == access.project.id).order_by(ApiKey.id))  # fmt: skip
        if access.role != "admin":
            query = query.where(_own_keys(access.principal))
        with meta_sessions(request)() as session:
            return [key_json(key, email) for key, email in session.execute(query)]

    @router.post("/api/projects/{project}/keys", status_code=201,
                 summary="Create a personal API key; its secret is shown this once")  # fmt: skip
    def new_key(request: Request, body: NewKey, access: Member) -> dict[str, Any]:
        created = create_key(meta_sessions(request), access.project.name, body.name,
                             user_id=access.principal.user_id)  # fmt: skip
        return {"id": created.key.id, "name": created.key.name, "prefix": created.key.prefix,
                "secret": created.secret}  # fmt: skip

    @router.delete("/api/projects/{project}/keys/{key_id}", status_code=204,
                   summary="Revoke an API key (your own; an admin: any of the project)")
    def revoke(request: Request, key_id: str, access: Member) -> Response:
        number = path_id(key_id, "key_id", "API key")
        with meta_sessions(request).begin() as session:
            key = session.scalar(select(ApiKey).where(
                ApiKey.id == number, ApiKey.project_id == access.project.id,
                true() if at_least(access.role, "admin") else _own_keys(access.principal)))
            if key is None:
                raise NotFound(f"no API key {key_id!r} of yours in this project",
                               field="key_id")  # fmt: skip
            if key.revoked_at is None:
                key.revoked_at = utcnow()
        return Response(status_code=204)


def team_router() -> APIRouter:
    router = APIRouter(tags=["team"])
    _projects(router)
    _members(router)
    _keys(router)
    return router
