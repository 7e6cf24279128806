"""Events with the person each one belongs to now: the building block every query starts from.

Events are stamped with a person at ingestion; ``person_overrides`` has the current person of
every distinct id whose person changed since. The override wins where there is one.
"""

from __future__ import annotations

CURRENT_OVERRIDES = """
    SELECT distinct_id, argMax(person_id, version) AS person_id
    FROM person_overrides
    WHERE project_id = {project:UInt32}
    GROUP BY distinct_id
"""

RESOLVED_PERSON = "if(o.person_id != 0, o.person_id, e.person_id)"

# A FROM clause: `e` is the event, `resolved_person_id` its current person.
RESOLVED_EVENTS = f"""
    events AS e
    LEFT JOIN ({CURRENT_OVERRIDES}) AS o ON e.distinct_id = o.distinct_id
"""

# Each person's first event ever (any event): "new" persons are those first seen in a bucket.
PERSON_FIRST_SEEN = f"""
    SELECT {RESOLVED_PERSON} AS person_id, min(e.timestamp) AS first_seen
    FROM {RESOLVED_EVENTS}
    WHERE e.project_id = {{project:UInt32}}
    GROUP BY person_id
"""  # noqa: S608
