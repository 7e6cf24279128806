"""Rule tags: a saved segment publishes a tag, and its members carry it.

Two moments write a rule tag's rows (``distinct_id`` '', by person id as segments are):

- each refresh of the segment (``publish_refresh``, a step of ``userops.segments.refresh``
  before it completes): the difference between the members as of that refresh and the tag's
  current holders, under the refresh's id, so the rows count exactly when the refresh does;
  a refresh that fails leaves the holders as they were;
- the tag's creation and a move to another segment (``republish``): the segment's completed
  membership at once, under refresh id 0. Not under the segment's last refresh's id: after a
  move the old segment may be deleted, and its refreshes' rows with it (uncounted), so every
  person with a row of the tag gets a fresh one saying whether they hold it, and the holders
  no longer depend on any refresh but the new segment's next ones.

Callers hold the refresh lock while republishing (``userops.tags.saved``), so a refresh never
diffs against holders that a republish is changing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from userops.analysis.memberships import segment_members, tag_holders
from userops.analysis.resolved import CURRENT_OVERRIDES
from userops.meta.tags import rule_tags
from userops.store import EventStore
from userops.tags.store import stamp

COLUMNS = "project_id, tag_id, person_id, distinct_id, at, refresh_id, added"

# Persons are numbered from 1, so 0 is the side of the full join that has no row.
PUBLISH = f"""
    INSERT INTO person_tags ({COLUMNS})
    SELECT {{project:UInt32}}, {{tg_tag:UInt64}}, if(n.person != 0, n.person, c.person), '',
           {{tg_at:DateTime64(3, 'UTC')}}, {{seg_refresh:UInt64}}, n.person != 0
    FROM ({segment_members("{seg_segment:UInt64}", "{seg_refresh:UInt64}")}) AS n
    FULL OUTER JOIN ({tag_holders("{tg_tag:UInt64}")}) AS c ON n.person = c.person
    WHERE (n.person = 0) != (c.person = 0)
    SETTINGS join_use_nulls = 0
"""  # noqa: S608

# Everyone with a row of the tag, as resolved now, and the segment's members.
_EVERYONE = f"""
    SELECT person FROM ({segment_members("{seg_segment:UInt64}")})
    UNION DISTINCT
    SELECT if(o.person_id != 0, o.person_id, t.person_id) AS person
    FROM person_tags AS t
    LEFT JOIN ({CURRENT_OVERRIDES}) AS o ON t.distinct_id = o.distinct_id
    WHERE t.project_id = {{project:UInt32}} AND t.tag_id = {{tg_tag:UInt64}}
"""  # noqa: S608

REPUBLISH = f"""
    INSERT INTO person_tags ({COLUMNS})
    SELECT {{project:UInt32}}, {{tg_tag:UInt64}}, e.person, '', {{tg_at:DateTime64(3, 'UTC')}},
           0, m.person != 0
    FROM ({_EVERYONE}) AS e
    LEFT JOIN ({segment_members("{seg_segment:UInt64}")}) AS m ON e.person = m.person
    SETTINGS join_use_nulls = 0
"""  # noqa: S608


def publish_refresh(sessions: sessionmaker[Session], store: EventStore, project_id: int,
                    segment_id: int, refresh_id: int) -> None:  # fmt: skip
    """Write the segment's rule tags' changes under the running refresh ``refresh_id``."""
    for tag_id in rule_tags(sessions, project_id, segment_id):
        store.command(PUBLISH, {"project": project_id, "tg_tag": tag_id, "tg_at": stamp(),
                                "seg_segment": segment_id, "seg_refresh": refresh_id})


def republish(store: EventStore, project_id: int, tag_id: int, segment_id: int) -> None:
    """Make the tag's holders the segment's members as of its completed refreshes."""
    store.command(REPUBLISH, {"project": project_id, "tg_tag": tag_id, "tg_at": stamp(),
                              "seg_segment": segment_id})  # fmt: skip
