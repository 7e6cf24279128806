"""What a first look at the console's Segments, Layers and Tags screens should find in the demo
project: its people refreshed (computed properties, RFM, value tiers, lifecycle stages), a few
segments an operator would save first, refreshed, and a rule tag published by one of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from userops.analysis.daily import refresh_people
from userops.meta.models import Project, Segment
from userops.meta.segments import create_segment
from userops.runtime import Runtime
from userops.segments.refresh import refresh
from userops.tags.saved import create_tag

# name, description, definition: over the demo's events (userops.demo.funnel and .session).
SEGMENTS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("高价值用户", "30 天内下单 2 次以上且消费满 500 / two orders and 500 spent in 30 days",
     {"and": [
         {"kind": "performed", "event": "order_completed", "operator": "gte", "count": 2,
          "window": {"last_days": 30}},
         {"kind": "aggregate", "event": "order_completed", "property": "revenue", "math": "sum",
          "operator": "gte", "value": 500, "window": {"last_days": 30}}]}),
    ("加购未下单", "7 天内加购但未下单 / added to cart in 7 days, no order since",
     {"and": [
         {"kind": "performed", "event": "add_to_cart", "window": {"last_days": 7}},
         {"kind": "not_performed", "event": "order_completed", "window": {"last_days": 7}}]}),
    ("沉默风险用户", "生命周期阶段为沉默 / lifecycle stage silent (at risk)",
     {"kind": "person", "key": "$lifecycle_stage", "operator": "eq", "value": "silent"}),
)  # fmt: skip
RULE_TAG = ("VIP", "#d4380d", 0)  # name, color, the segment (by place in SEGMENTS) publishing it


def seed_layers(runtime: Runtime, project: Project) -> list[int]:
    """Refresh the project's people and, in a project without segments yet, save and refresh
    the segments and publish the tag; the new segments' ids."""
    refresh_people(runtime, project)
    with runtime.sessions() as session:
        if session.scalar(select(Segment.id).where(Segment.project_id == project.id).limit(1)):
            return []  # the demo loaded again: the operator's segments are left as they are
    ids = []
    for name, description, definition in SEGMENTS:
        saved = create_segment(runtime.sessions, project.id, {
            "name": name, "description": description, "definition": definition}, None)
        refresh(runtime, project, saved.row.id)
        ids.append(saved.row.id)
    name, color, publisher = RULE_TAG
    create_tag(runtime, project.id, {"name": name, "color": color,
                                     "segment_id": ids[publisher]}, None)  # fmt: skip
    return ids
