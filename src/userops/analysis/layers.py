"""A project's people settings (用户分层设置): how its persons are layered, kept as JSON in
``Project.people_settings`` and used by the daily refresh (``userops.analysis.daily``) and
``POST .../computed-properties/refresh`` (whose body may override them for one run):

    stages  the lifecycle stages' thresholds (``userops.analysis.stages.StageConfig``)
    rfm     the RFM window, value event and value property (``userops.analysis.rfm.RfmConfig``)
    tier    the value tier's metric and core percentile (``TierConfig``, ``userops.analysis.tiers``)

Stored as ``PeopleSettings.stored()`` dumps it; ``{}`` (a project never set) means every default.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.rfm import RfmConfig
from userops.analysis.stages import StageConfig
from userops.errors import NotFound
from userops.meta.models import Project
from userops.schema.bodies import parsed_body

log = logging.getLogger(__name__)

# The numeric computed properties a value tier can rank persons by.
TierMetric = Literal[
    "$revenue", "$revenue_30d", "$orders", "$events", "$events_30d", "$active_days_30d",
    "$rfm_monetary",
]  # fmt: skip
TIER_METRICS: tuple[str, ...] = get_args(TierMetric)


class TierConfig(BaseModel):
    """Core persons: those at or above the ``core_percentile``-th percentile of ``metric``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    metric: TierMetric = "$revenue"
    core_percentile: Annotated[int, Field(ge=1, le=99)] = 80


class PeopleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    stages: StageConfig = StageConfig()
    rfm: RfmConfig = RfmConfig()
    tier: TierConfig = TierConfig()

    @classmethod
    def parse(cls, body: object) -> PeopleSettings:
        """The settings, or ``BadRequest`` naming the first bad field (``stages.churn_days``)."""
        return parsed_body(cls, body)

    def stored(self) -> dict[str, Any]:
        """The JSON the project keeps and the API answers (RFM's fixed ``bins`` left out)."""
        return self.model_dump(exclude={"rfm": {"bins"}})


def people_settings(project: Project) -> PeopleSettings:
    """The project's settings; a stored value no longer valid (written by an older version)
    falls back to the defaults rather than stopping the daily refresh."""
    try:
        return PeopleSettings.model_validate(project.people_settings or {})
    except ValueError:
        log.warning("project %s: stored people settings are invalid; using the defaults",
                    project.id)  # fmt: skip
        return PeopleSettings()


def save_people_settings(sessions: sessionmaker[Session], project_id: int,
                         settings: PeopleSettings) -> PeopleSettings:  # fmt: skip
    with sessions.begin() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise NotFound(f"project {project_id} no longer exists", field="project")
        project.people_settings = settings.stored()
    return settings
