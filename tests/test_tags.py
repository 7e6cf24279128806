"""Tags on real stores (chDB, SQLite): manual changes against a plain reference (a set per tag,
changed one operation at a time), a tag following its person through a merge and its undo,
rule tags across refreshes (entering, leaving, a refresh that fails half-way changing nothing),
tags given to a whole segment, a rule tag moved to another segment, deleted tags and segments
that publish one."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from analysis_reference import module_runtime, new_project, person_number, send, track
from userops.analysis.memberships import tag_holders
from userops.errors import BadRequest, Conflict, NotFound
from userops.identity.repository import unmerge
from userops.meta import segments as saved_segments
from userops.meta.models import Merge, Project
from userops.runtime import Runtime
from userops.schema.times import iso
from userops.segments.refresh import current_members, forget, refresh
from userops.store import EventStore, rows, scalar
from userops.store.embedded import StoreError
from userops.tags import saved, store
from userops.tags.profile import person_segments, person_tags

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.datetime(2026, 5, 1, 12, tzinfo=SHANGHAI)
PAID = {"kind": "performed", "event": "pay", "window": {"last_days": 2}}


runtime = module_runtime("tags-store")


def holders(runtime: Runtime, project: Project, tag: int) -> list[int]:
    """The holders three ways, which must agree: the page reader, the analyses' subquery, and
    the count of every tag at once."""
    listed = store.holders(runtime.store, project.id, tag)
    analysed = sorted(int(p) for (p,) in rows(
        runtime.store, f"SELECT person FROM ({tag_holders('{t:UInt64}')})",  # noqa: S608
        {"project": project.id, "t": tag}))  # fmt: skip
    assert listed == analysed
    assert store.holder_counts(runtime.store, project.id).get(tag, 0) == len(listed)
    return listed


def tag_rows(runtime: Runtime, project: Project, tag: int) -> int:
    return int(scalar(runtime.store, "SELECT count() FROM person_tags WHERE project_id = "
                      "{project:UInt32} AND tag_id = {t:UInt64}",
                      {"project": project.id, "t": tag}))  # fmt: skip


def new_tag(runtime: Runtime, project: Project, name: str, **extra: Any) -> int:
    return int(saved.create_tag(runtime, project.id, {"name": name, **extra}, None)["id"])


def new_segment(runtime: Runtime, project: Project, name: str, definition: Any) -> int:
    body = {"name": name, "definition": definition}
    return saved_segments.create_segment(runtime.sessions, project.id, body, None).row.id


def test_manual_changes_match_a_reference(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    users = [f"u{n}" for n in range(6)]
    send(runtime, project.id, [track(u, "view", DAY) for u in users])
    persons = [person_number(runtime, project, u) for u in users]
    tag = new_tag(runtime, project, "vip", color="#f5222d")
    other = new_tag(runtime, project, "other")
    unknown = [max(persons) + 1000]
    held: set[int] = set()
    written = 0
    rng = random.Random(7)
    for _ in range(25):
        add = rng.sample(persons, rng.randint(0, 4)) + rng.sample(unknown, rng.randint(0, 1))
        remove = [p for p in rng.sample(persons, rng.randint(0, 3)) if p not in add]
        add += add[:1]  # repeated in one call: counted once
        got = saved.change_persons(runtime, project.id, tag, add, remove)
        want_added = {p for p in add if p in persons} - held
        want_removed = {p for p in remove} & held
        held = (held | want_added) - want_removed
        written += len(want_added) + len(want_removed)
        assert got == {"added": len(want_added), "removed": len(want_removed),
                       "unknown": [p for p in dict.fromkeys(add + remove) if p in unknown]}
        assert holders(runtime, project, tag) == sorted(held)
        # Only changes are written: the newest row per person decides.
        assert tag_rows(runtime, project, tag) == written
    assert holders(runtime, project, other) == []
    for person in persons:
        found = person_tags(runtime, project.id, person)
        assert [t["name"] for t in found] == (["vip"] if person in held else [])
        assert all(t["color"] == "#f5222d" and t["kind"] == "manual" for t in found)
    listed = {t["id"]: t["persons"] for t in saved.list_tags(runtime, project.id)}
    assert listed == {tag: len(held), other: 0}


def test_add_and_remove_in_the_same_millisecond_keep_their_order(runtime: Runtime) -> None:
    project = new_project(runtime, "UTC")
    send(runtime, project.id, [track("a", "view", DAY)])
    a = person_number(runtime, project, "a")
    tag = new_tag(runtime, project, "fast")
    for _ in range(10):
        assert saved.change_persons(runtime, project.id, tag, [a], [])["added"] == 1
        assert saved.change_persons(runtime, project.id, tag, [], [a])["removed"] == 1
    assert holders(runtime, project, tag) == []
    moments = rows(runtime.store, "SELECT at FROM person_tags WHERE project_id = "
                   "{project:UInt32} ORDER BY at", {"project": project.id})  # fmt: skip
    assert len({m for (m,) in moments}) == 20


def only_merge(runtime: Runtime, project: Project) -> Merge:
    with runtime.sessions() as session:
        [merge] = session.scalars(select(Merge).where(Merge.project_id == project.id)).all()
        return merge


def test_a_tag_follows_its_person_through_a_merge_and_its_undo(runtime: Runtime) -> None:
    project = new_project(runtime, "UTC")
    send(runtime, project.id, [{"type": "track", "anonymousId": "d1", "event": "view", "t": DAY},
                               track("u", "view", DAY)])  # fmt: skip
    device, user = person_number(runtime, project, "d1"), person_number(runtime, project, "u")
    tag, both = new_tag(runtime, project, "buyer"), new_tag(runtime, project, "both")
    saved.change_persons(runtime, project.id, tag, [user], [])
    saved.change_persons(runtime, project.id, both, [user, device], [])
    send(runtime, project.id, [{"type": "identify", "anonymousId": "d1", "userId": "u",
                                "t": DAY + dt.timedelta(minutes=5)}], batch="merge")  # fmt: skip
    merge = only_merge(runtime, project)
    survivor, absorbed = merge.survivor_id, merge.absorbed_id
    assert {survivor, absorbed} == {device, user}
    # One person now: the tag went along with the ids.
    assert holders(runtime, project, tag) == [survivor]
    assert holders(runtime, project, both) == [survivor]
    assert [t["id"] for t in person_tags(runtime, project.id, survivor)] == [both, tag]  # by name
    # The absorbed number holds no ids: it is unknown, nothing written.
    assert saved.change_persons(runtime, project.id, tag, [absorbed], []) == {
        "added": 0, "removed": 0, "unknown": [absorbed]}  # fmt: skip
    # Adding it again to the survivor changes nothing.
    assert saved.change_persons(runtime, project.id, tag, [survivor], [])["added"] == 0
    unmerge(runtime.sessions, runtime.store, project.id, merge.id)
    assert holders(runtime, project, tag) == [user]
    assert holders(runtime, project, both) == sorted([device, user])


def test_a_tag_given_after_a_merge_stays_with_the_survivor_when_it_is_undone(
    runtime: Runtime,
) -> None:
    """The survivor also holds the absorbed person's ids; the tag's row must name one of the
    survivor's own, or undoing the merge would carry the tag to the absorbed person. The user id
    "a-user" sorts before the device's "z-device", whoever survives."""
    project = new_project(runtime, "UTC")
    send(runtime, project.id, [{"type": "track", "anonymousId": "z-device", "event": "view",
                                "t": DAY}, track("a-user", "view", DAY)])  # fmt: skip
    send(runtime, project.id, [{"type": "identify", "anonymousId": "z-device",
                                "userId": "a-user", "t": DAY + dt.timedelta(minutes=5)}],
         batch="merge")  # fmt: skip
    merge = only_merge(runtime, project)
    tag = new_tag(runtime, project, "after")
    assert saved.change_persons(runtime, project.id, tag, [merge.survivor_id], [])["added"] == 1
    assert holders(runtime, project, tag) == [merge.survivor_id]
    unmerge(runtime.sessions, runtime.store, project.id, merge.id)
    assert holders(runtime, project, tag) == [merge.survivor_id]


def refreshed(runtime: Runtime, project: Project, segment: int, now: dt.datetime) -> list[int]:
    record = refresh(runtime, project, segment, now)
    assert record.status == "ok", record.error
    return current_members(runtime.store, project.id, segment)


def test_a_rule_tag_follows_its_segment_across_refreshes(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    segment = new_segment(runtime, project, "paid lately", PAID)
    days = [DAY + dt.timedelta(days=n) for n in range(6)]
    send(runtime, project.id, [track("a", "pay", days[0]), track("b", "view", days[0])])
    members = refreshed(runtime, project, segment, days[0] + dt.timedelta(hours=6))
    assert len(members) == 1
    tag = new_tag(runtime, project, "paying", segment_id=segment)
    # Published at once from the completed membership.
    assert holders(runtime, project, tag) == members
    [view] = saved.list_tags(runtime, project.id)
    assert (view["kind"], view["segment_id"], view["persons"]) == ("rule", segment, 1)
    arrivals = {1: [track("b", "pay", days[1]), track("c", "view", days[1])], 2: [], 3: [],
                4: [track("a", "pay", days[4])], 5: [track("c", "pay", days[5])]}
    sizes = []
    for n in range(1, 6):
        if arrivals[n]:
            send(runtime, project.id, arrivals[n], batch=f"d{n}-")
        members = refreshed(runtime, project, segment, days[n] + dt.timedelta(hours=6))
        assert holders(runtime, project, tag) == members
        sizes.append(len(members))
    assert sizes == [2, 1, 0, 1, 2]  # entered, left, came back
    a = person_number(runtime, project, "a")
    [mine] = person_tags(runtime, project.id, a)
    assert (mine["id"], mine["kind"]) == (tag, "rule")
    [member] = person_segments(runtime, project.id, a)
    assert member == {"id": segment, "name": "paid lately",
                      "since": iso(days[4] + dt.timedelta(hours=6))}
    # Rule tags are their segment's: no manual changes.
    with pytest.raises(Conflict, match="rule tag"):
        saved.change_persons(runtime, project.id, tag, [a], [])
    with pytest.raises(Conflict, match="rule tag"):
        saved.change_by_segment(runtime, project.id, tag, segment, False)
    # Nor can the segment go while it publishes the tag.
    with pytest.raises(Conflict, match="paying"):
        saved_segments.delete_segment(runtime.sessions, project.id, segment)


def test_a_failed_refresh_leaves_the_rule_tag_as_it_was(runtime: Runtime,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [track("a", "pay", DAY), track("b", "view", DAY)])
    segment = new_segment(runtime, project, "payers", {"kind": "performed", "event": "pay"})
    tag = new_tag(runtime, project, "payer", segment_id=segment)
    assert holders(runtime, project, tag) == []  # never refreshed: nobody yet
    first = refreshed(runtime, project, segment, DAY + dt.timedelta(hours=1))
    a, b = person_number(runtime, project, "a"), person_number(runtime, project, "b")
    assert first == [a] and holders(runtime, project, tag) == [a]
    send(runtime, project.id, [track("b", "pay", DAY)], batch="x")
    events: EventStore = runtime.store
    real = events.command

    def half_written(sql: str, params: Any = None) -> None:
        real(sql, params)  # the tag's rows go in, then the store fails before completing
        if "INSERT INTO person_tags" in sql:
            raise StoreError("event store (chDB): connection lost")

    monkeypatch.setattr(events, "command", half_written)
    failed = refresh(runtime, project, segment, DAY + dt.timedelta(hours=2))
    monkeypatch.undo()
    assert failed.status == "failed"
    assert tag_rows(runtime, project, tag) == 2  # a's from the first refresh, b's unread
    assert holders(runtime, project, tag) == [a]
    assert refreshed(runtime, project, segment, DAY + dt.timedelta(hours=3)) == sorted([a, b])
    assert holders(runtime, project, tag) == sorted([a, b])


def test_a_whole_segment_at_once(runtime: Runtime) -> None:
    project = new_project(runtime, "UTC")
    send(runtime, project.id, [track(f"u{n}", "pay" if n % 2 else "view", DAY)
                               for n in range(8)])  # fmt: skip
    segment = new_segment(runtime, project, "payers", {"kind": "performed", "event": "pay"})
    members = refreshed(runtime, project, segment, DAY + dt.timedelta(hours=1))
    outsider = person_number(runtime, project, "u0")
    tag = new_tag(runtime, project, "campaign")
    saved.change_persons(runtime, project.id, tag, [members[0], outsider], [])
    assert saved.change_by_segment(runtime, project.id, tag, segment, True) == {
        "added": len(members) - 1}  # fmt: skip
    assert holders(runtime, project, tag) == sorted([*members, outsider])
    assert saved.change_by_segment(runtime, project.id, tag, segment, True) == {"added": 0}
    assert saved.change_by_segment(runtime, project.id, tag, segment, False) == {
        "removed": len(members)}  # fmt: skip
    assert holders(runtime, project, tag) == [outsider]
    with pytest.raises(BadRequest, match="segment_id"):
        saved.change_by_segment(runtime, project.id, tag, segment + 1000, True)


def test_moving_a_rule_tag_and_deleting_tags(runtime: Runtime) -> None:
    project = new_project(runtime, "UTC")
    send(runtime, project.id, [track("a", "pay", DAY), track("b", "view", DAY),
                               track("c", "pay", DAY), track("c", "view", DAY)])  # fmt: skip
    payers = new_segment(runtime, project, "payers", {"kind": "performed", "event": "pay"})
    viewers = new_segment(runtime, project, "viewers", {"kind": "performed", "event": "view"})
    now = DAY + dt.timedelta(hours=1)
    paying, viewing = refreshed(runtime, project, payers, now), refreshed(runtime, project,
                                                                         viewers, now)
    tag = new_tag(runtime, project, "moving", segment_id=payers)
    assert holders(runtime, project, tag) == paying
    # Another refresh of payers under the tag, so it holds rows of payers' refreshes.
    send(runtime, project.id, [track("d", "pay", DAY)], batch="d")
    paying = refreshed(runtime, project, payers, now + dt.timedelta(minutes=1))
    assert holders(runtime, project, tag) == paying and len(paying) == 3
    # A manual tag becomes a rule tag too, keeping nothing of its hand-given holders.
    hand = new_tag(runtime, project, "hand")
    saved.change_persons(runtime, project.id, hand, [person_number(runtime, project, "a")], [])
    moved = saved.update_tag(runtime, project.id, hand, {"segment_id": viewers})
    assert (moved["kind"], moved["persons"]) == ("rule", len(viewing))
    assert holders(runtime, project, hand) == viewing
    view = saved.update_tag(runtime, project.id, tag, {"segment_id": viewers, "color": "blue"})
    assert (view["segment_id"], view["color"], view["persons"]) == (viewers, "blue", 2)
    assert holders(runtime, project, tag) == viewing
    # payers publishes nothing now: it may go, and its refreshes' rows with it.
    saved_segments.delete_segment(runtime.sessions, project.id, payers)
    forget(runtime.store, project.id, payers)
    assert holders(runtime, project, tag) == viewing
    with pytest.raises(BadRequest, match="segment_id"):
        saved.update_tag(runtime, project.id, tag, {"segment_id": None})
    with pytest.raises(BadRequest, match="segment_id"):
        saved.update_tag(runtime, project.id, tag, {"segment_id": payers})
    saved.delete_tag(runtime, project.id, tag)
    assert tag_rows(runtime, project, tag) == 0
    with pytest.raises(NotFound):
        saved.update_tag(runtime, project.id, tag, {"name": "x"})
    saved.delete_tag(runtime, project.id, hand)
    # With no tag left on it, viewers may be deleted too.
    saved_segments.delete_segment(runtime.sessions, project.id, viewers)


def test_a_rule_tag_that_cannot_be_published_at_once_is_saved_and_published_later(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    segment = new_segment(runtime, project, "payers", PAID)
    send(runtime, project.id, [track("a", "pay", DAY)])
    members = refreshed(runtime, project, segment, DAY + dt.timedelta(hours=1))

    def fail(*_: object) -> None:
        raise RuntimeError("the event store went away")

    monkeypatch.setattr(saved, "republish", fail)
    tag = new_tag(runtime, project, "payer", segment_id=segment)  # saved, no error
    assert holders(runtime, project, tag) == []
    monkeypatch.undo()
    assert refreshed(runtime, project, segment, DAY + dt.timedelta(hours=2)) == members
    assert holders(runtime, project, tag) == members
