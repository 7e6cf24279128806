"""Tags across both stores: the metadata store's ``tags`` row and the event store's rows.

A rule tag is published from its segment at once when it is created or moved to another
segment (``userops.tags.publish.republish``), holding the refresh lock so that no refresh of
any segment runs meanwhile. Manual changes are refused on a rule tag (``Conflict``): its
holders are its segment's members, and the next refresh would undo them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from userops.errors import Conflict
from userops.meta import tags as meta
from userops.meta.models import Tag
from userops.runtime import Runtime
from userops.segments import refresh
from userops.tags import store as tagged
from userops.tags.publish import republish

log = logging.getLogger(__name__)


def _republished(runtime: Runtime, row: Tag, segment_id: int) -> None:
    # The refresh module's lock: a refresh diffs against the holders this rewrites.
    with refresh._ONE_AT_A_TIME:
        try:
            republish(runtime.store, row.project_id, row.id, segment_id)
        except Exception:  # the tag is saved: the segment's next refresh publishes it
            log.warning("could not publish tag %s from segment %s now", row.id, segment_id,
                        exc_info=True)  # fmt: skip


def holders_count(runtime: Runtime, project_id: int, tag_id: int) -> int:
    return tagged.holder_counts(runtime.store, project_id).get(tag_id, 0)


def tag_json(runtime: Runtime, row: Tag) -> dict[str, Any]:
    return meta.tag_json(row, holders_count(runtime, row.project_id, row.id))


def list_tags(runtime: Runtime, project_id: int) -> list[dict[str, Any]]:
    found = meta.list_tags(runtime.sessions, project_id)
    counts = tagged.holder_counts(runtime.store, project_id) if found else {}
    return [meta.tag_json(row, counts.get(row.id, 0)) for row in found]


def create_tag(runtime: Runtime, project_id: int, body: Any,
               user_id: int | None) -> dict[str, Any]:  # fmt: skip
    """The new tag; a rule tag's holders are its segment's members at once. Should publishing
    fail, the tag is saved and its segment's next refresh publishes it."""
    row = meta.create_tag(runtime.sessions, project_id, body, user_id)
    if row.segment_id is not None:
        _republished(runtime, row, row.segment_id)
    return tag_json(runtime, row)


def update_tag(runtime: Runtime, project_id: int, tag_id: int, body: Any) -> dict[str, Any]:
    row, moved = meta.update_tag(runtime.sessions, project_id, tag_id, body)
    if moved is not None:
        _republished(runtime, row, moved)
    return tag_json(runtime, row)


def delete_tag(runtime: Runtime, project_id: int, tag_id: int) -> None:
    meta.delete_tag(runtime.sessions, project_id, tag_id)
    tagged.forget(runtime.store, project_id, tag_id)


def manual_tag(runtime: Runtime, project_id: int, tag_id: int) -> Tag:
    """The tag, if persons may be given it by hand; ``Conflict`` for a rule tag."""
    row = meta.get_tag(runtime.sessions, project_id, tag_id)
    if row.kind == "rule":
        raise Conflict(f"tag {tag_id} ({row.name!r}) is a rule tag: its holders are segment "
                       f"{row.segment_id}'s members, change the segment instead",
                       field="tag_id")  # fmt: skip
    return row


def change_persons(runtime: Runtime, project_id: int, tag_id: int, add: Sequence[int],
                   remove: Sequence[int]) -> dict[str, Any]:  # fmt: skip
    manual_tag(runtime, project_id, tag_id)
    changed = tagged.change(runtime.sessions, runtime.store, project_id, tag_id, add, remove)
    return {"added": changed.added, "removed": changed.removed, "unknown": changed.unknown}


def change_by_segment(runtime: Runtime, project_id: int, tag_id: int, segment_id: int,
                      add: bool) -> dict[str, Any]:  # fmt: skip
    manual_tag(runtime, project_id, tag_id)
    with runtime.sessions() as session:
        meta.check_segment(session, project_id, segment_id)
    n = tagged.change_by_segment(runtime.sessions, runtime.store, project_id, tag_id,
                                 segment_id, add)  # fmt: skip
    return {"added": n} if add else {"removed": n}
