"""Who is in a saved segment and who carries a tag now, as SQL over the event store alone.

Analyses read only the event store, so whether a segment's refresh completed is recorded there
too (``segment_refreshes_done``, its last step); the metadata store keeps the refreshes'
records for people to read. Both subqueries yield one column, ``person``, the person ids as the
analyses resolve identities:

- a segment's members are by person id as of its refreshes (a person merged away since leaves
  at the next refresh; ``userops.segments.refresh``);
- a tag's holders are resolved through ``person_overrides`` like events: a tag row names one of
  the person's distinct ids when it was written, so a tag follows its person through merges and
  their undoing. Manual rows (refresh 0) count at once; a rule tag's rows count once the
  segment refresh that published them completed. The newest row per person wins.

Placeholders are the caller's: ``{project:UInt32}`` and a segment's or tag's id parameter.
"""

from __future__ import annotations

from userops.analysis.resolved import CURRENT_OVERRIDES


def done_refreshes(segment: str) -> str:
    """The segment's completed refreshes' ids (``segment``: its id's placeholder)."""
    return ("SELECT refresh_id FROM segment_refreshes_done "  # noqa: S608
            f"WHERE project_id = {{project:UInt32}} AND segment_id = {segment}")  # fmt: skip


def segment_members(segment: str, also: str | None = None) -> str:
    """The segment's members as of its completed refreshes, and of the refresh ``also`` (a
    placeholder) when given: a running refresh counting what it wrote before it completes."""
    counted = f"refresh_id IN ({done_refreshes(segment)})"
    if also is not None:
        counted = f"({counted} OR refresh_id = {also})"
    return f"""
        SELECT person_id AS person FROM segment_changes
        WHERE project_id = {{project:UInt32}} AND segment_id = {segment} AND {counted}
        GROUP BY person_id
        HAVING argMax(entered, refresh_id)
    """  # noqa: S608


def tag_holders(tag: str) -> str:
    """The persons who carry the tag now (``tag``: its id's placeholder)."""
    return f"""
        SELECT if(o.person_id != 0, o.person_id, t.person_id) AS person
        FROM person_tags AS t
        LEFT JOIN ({CURRENT_OVERRIDES}) AS o ON t.distinct_id = o.distinct_id
        WHERE t.project_id = {{project:UInt32}} AND t.tag_id = {tag}
          AND (t.refresh_id = 0 OR t.refresh_id IN (
              SELECT refresh_id FROM segment_refreshes_done WHERE project_id = {{project:UInt32}}))
        GROUP BY person
        HAVING argMax(t.added, (t.at, t.refresh_id))
    """  # noqa: S608
