"""Saved insights and dashboards over REST: any member of the project reads them, analysts and
admins write them. The rules (spec checked by ``parse_spec``, tiles of the project's own insights
only, a deleted insight leaving every dashboard) live in ``userops.meta.insights``.

    GET    /api/projects/{project}/insights              [Insight], last updated first
    POST   /api/projects/{project}/insights              {"name", "description"?, "spec"} -> 201
    GET    /api/projects/{project}/insights/{id}         Insight
    PUT    /api/projects/{project}/insights/{id}         any of name, description, spec
    DELETE /api/projects/{project}/insights/{id}         204; its tiles leave every dashboard
    GET    /api/projects/{project}/dashboards            [{"id", "name", "description",
                                                          "tile_count", "updated_at"}]
    POST   /api/projects/{project}/dashboards            {"name", "description"?, "tiles",
                                                          "date_range"?} -> 201
    GET|PUT|DELETE /api/projects/{project}/dashboards/{id}

A dashboard answers ``{"id", "name", "description", "tiles": [{"insight_id", "x", "y", "w", "h",
"insight"}], "date_range", "created_at", "updated_at"}``. ``date_range`` is an analysis date
range (``{"last_days"}`` or ``{"start", "end"}``) shown on every tile, or null for each tile's
own; a PUT with ``"date_range": null`` clears it, one without it keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from userops.api.access import Access, project_access
from userops.api.resources import in_thread, json_body, path_id
from userops.meta import insights
from userops.runtime import Runtime

Reader = Annotated[Access, Depends(project_access("viewer"))]
Writer = Annotated[Access, Depends(project_access("analyst"))]


def insights_router(runtime: Callable[[], Runtime]) -> APIRouter:
    router = APIRouter(tags=["insights"])
    base = "/api/projects/{project}/insights"

    @router.get(base, summary="Saved insights, last updated first")
    def list_insights(access: Reader) -> list[dict[str, Any]]:
        return [v.to_json() for v in insights.list_insights(runtime().sessions, access.project.id)]

    @router.post(base, status_code=201, summary="Save an analysis spec under a name")
    async def create_insight(request: Request, access: Writer) -> dict[str, Any]:
        """Body: ``{"name", "description"?, "spec"}``; a bad spec is a 400 naming
        ``spec.<its path>``."""
        body = await json_body(request)
        view = await in_thread(insights.create_insight, runtime().sessions, access.project.id,
                               body, access.principal.user_id)  # fmt: skip
        return view.to_json()

    @router.get(base + "/{insight_id}", summary="One saved insight")
    def get_insight(insight_id: str, access: Reader) -> dict[str, Any]:
        number = path_id(insight_id, "insight_id", "insight")
        return insights.get_insight(runtime().sessions, access.project.id, number).to_json()

    @router.put(base + "/{insight_id}", summary="Change an insight (fields left out are kept)")
    async def update_insight(insight_id: str, request: Request, access: Writer) -> dict[str, Any]:
        number = path_id(insight_id, "insight_id", "insight")
        body = await json_body(request)
        view = await in_thread(insights.update_insight, runtime().sessions, access.project.id,
                               number, body)  # fmt: skip
        return view.to_json()

    @router.delete(base + "/{insight_id}", status_code=204,
                   summary="Delete an insight and its tiles on every dashboard")  # fmt: skip
    def delete_insight(insight_id: str, access: Writer) -> Response:
        number = path_id(insight_id, "insight_id", "insight")
        insights.delete_insight(runtime().sessions, access.project.id, number)
        return Response(status_code=204)

    boards = "/api/projects/{project}/dashboards"

    @router.get(boards, summary="Dashboards, last updated first")
    def list_dashboards(access: Reader) -> list[dict[str, Any]]:
        return insights.list_dashboards(runtime().sessions, access.project.id)

    @router.post(boards, status_code=201, summary="Create a dashboard of saved insights")
    async def create_dashboard(request: Request, access: Writer) -> dict[str, Any]:
        """Body: ``{"name", "description"?, "tiles": [{"insight_id", "x", "y", "w", "h"}],
        "date_range"?}``; a bad range is a 400 naming ``date_range.<its field>``."""
        body = await json_body(request)
        return await in_thread(insights.create_dashboard, runtime().sessions,
                               access.project.id, body)  # fmt: skip

    @router.get(boards + "/{dashboard_id}", summary="A dashboard with each tile's insight")
    def get_dashboard(dashboard_id: str, access: Reader) -> dict[str, Any]:
        number = path_id(dashboard_id, "dashboard_id", "dashboard")
        return insights.get_dashboard(runtime().sessions, access.project.id, number)

    @router.put(boards + "/{dashboard_id}", summary="Change a dashboard (fields left out are "
                "kept; tiles, when given, replace the old ones)")  # fmt: skip
    async def update_dashboard(
        dashboard_id: str, request: Request, access: Writer
    ) -> dict[str, Any]:
        number = path_id(dashboard_id, "dashboard_id", "dashboard")
        body = await json_body(request)
        return await in_thread(insights.update_dashboard, runtime().sessions,
                               access.project.id, number, body)  # fmt: skip

    @router.delete(boards + "/{dashboard_id}", status_code=204, summary="Delete a dashboard")
    def delete_dashboard(dashboard_id: str, access: Writer) -> Response:
        number = path_id(dashboard_id, "dashboard_id", "dashboard")
        insights.delete_dashboard(runtime().sessions, access.project.id, number)
        return Response(status_code=204)

    return router
