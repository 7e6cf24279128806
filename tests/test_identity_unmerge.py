"""Merges and their undo, by example: who ends up with which ids, events, traits and first touch.

The story: device 1 browses anonymously (``anon-1``); on device 2 the user signed up (``anon-2``
identified as ``user-1``) and used the product; then device 1 logs in as ``user-1``. That merges
the two persons; undoing the merge must give both back exactly as they were.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import select

from userops.analysis.resolved import RESOLVED_EVENTS, RESOLVED_PERSON
from userops.errors import Conflict, NotFound
from userops.identity.profile import fold_traits, load_profile
from userops.identity.repository import merge_history, person_ids, person_of, unmerge
from userops.ingest.pipeline import Ingestor
from userops.ingest.rows import message_columns
from userops.meta.models import IdentityLink, Merge, Person, Project
from userops.meta.projects import create_project
from userops.runtime import Runtime
from userops.schema.events import SegmentMessage, message_from_dict
from userops.store import rows

T0 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)


def msg(
    message_id: str,
    minute: int,
    type: str = "track",
    anon: str | None = None,
    user: str | None = None,
    **fields: Any,
) -> SegmentMessage:
    record: dict[str, Any] = {
        "type": type,
        "event": "clicked" if type == "track" else None,
        "anonymousId": anon,
        "userId": user,
        "messageId": message_id,
        "timestamp": T0 + dt.timedelta(minutes=minute),
        **fields,
    }
    return message_from_dict({k: v for k, v in record.items() if v is not None})


def ingest(
    runtime: Runtime,
    project: Project,
    messages: list[SegmentMessage],
    ingestor: Ingestor | None = None,
    traits_once: dict[str, str] | None = None,
) -> Ingestor:
    ingestor = ingestor or Ingestor(runtime.sessions, runtime.store, project.id)
    table = message_columns(messages, project.id, T0 + dt.timedelta(days=1))
    if traits_once:  # rows.py leaves traits_once empty; set it as a $set_once would
        column = [traits_once.get(m.messageId or "", "") for m in messages]
        index = table.column_names.index("traits_once")
        table = table.set_column(index, "traits_once", pa.array(column, pa.string()))
    ingestor.ingest(table)
    return ingestor


def resolved(runtime: Runtime, project_id: int) -> dict[str, int]:
    found = rows(
        runtime.store,
        f"SELECT e.message_id, {RESOLVED_PERSON} FROM {RESOLVED_EVENTS} "  # noqa: S608
        "WHERE e.project_id = {project:UInt32}",
        {"project": project_id},
    )
    return {str(m): int(p) for m, p in found}


DEVICE_1 = [  # anonymous browsing; an anonymous identify sets a trait
    msg("d1-page", 10, "page", anon="anon-1", context={"campaign": {"source": "wechat"}}),
    msg("d1-identify", 11, "identify", anon="anon-1", traits={"lang": "zh", "plan": "trial"}),
    msg("d1-click", 12, anon="anon-1"),
]
DEVICE_2 = [  # sign-up on another device; first campaign of all, from the page URL
    msg("d2-page", 1, "page", anon="anon-2",
        context={"page": {"url": "https://shop.example/?utm_source=baidu&utm_medium=cpc"}}),
    msg("d2-signup", 2, "identify", anon="anon-2", user="user-1",
        traits={"plan": "free", "name": "Li"}),
    msg("d2-upgrade", 20, "identify", user="user-1", traits={"plan": "pro"}),
    msg("d2-order", 21, user="user-1", event="order_completed"),
]  # fmt: skip
LOGIN = [msg("d1-login", 30, "identify", anon="anon-1", user="user-1", traits={"email": "li@x"})]
ONCE = {"d2-signup": '{"signup_source":"app"}', "d2-upgrade": '{"signup_source":"web"}',
        "d1-identify": '{"first_device":"d1"}'}  # fmt: skip


@pytest.fixture
def merged(runtime: Runtime, project: Project) -> dict[str, Any]:
    """Device 1 and device 2 ingested as two persons, then the login that merges them."""
    ingestor = ingest(runtime, project, DEVICE_1, traits_once=ONCE)
    # device 2's events arrive later but happened earlier
    ingest(runtime, project, DEVICE_2, ingestor, traits_once=ONCE)
    before = resolved(runtime, project.id)
    device_1 = before["d1-page"]
    device_2 = before["d2-order"]
    ingest(runtime, project, LOGIN, ingestor)
    return {"device_1": device_1, "device_2": device_2, "before": before, "ingestor": ingestor}


def only_merge(runtime: Runtime, project_id: int) -> Merge:
    with runtime.sessions() as session:
        [merge] = session.scalars(select(Merge).where(Merge.project_id == project_id)).all()
        return merge


def test_two_persons_before_the_login(merged: dict[str, Any]) -> None:
    before = merged["before"]
    assert merged["device_1"] != merged["device_2"]
    assert {before[m.messageId or ""] for m in DEVICE_1} == {merged["device_1"]}
    assert {before[m.messageId or ""] for m in DEVICE_2} == {merged["device_2"]}


def test_login_merges_every_event_into_the_older_person(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    after = resolved(runtime, project.id)
    assert len(after) == len(DEVICE_1) + len(DEVICE_2) + len(LOGIN)
    assert set(after.values()) == {merged["device_1"]}  # the lower number survives
    assert person_ids(runtime.sessions, project.id, merged["device_1"]) == [
        "anon-1", "anon-2", "user-1",
    ]  # fmt: skip
    assert person_ids(runtime.sessions, project.id, merged["device_2"]) == []
    # the absorbed person's number still finds the person holding its ids
    assert person_of(runtime.sessions, project.id, str(merged["device_2"])) == merged["device_1"]
    assert person_of(runtime.sessions, project.id, "anon-2") == merged["device_1"]


def test_merge_history_records_when_which_ids_and_message(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    merge = only_merge(runtime, project.id)
    assert (merge.survivor_id, merge.absorbed_id) == (merged["device_1"], merged["device_2"])
    assert merge.absorbed_anchor == "user-1"
    assert sorted(merge.moved_ids) == ["anon-2", "user-1"]
    assert (merge.kind, merge.message_id) == ("identify", "d1-login")
    assert merge.undone_at is None
    now = dt.datetime.now(dt.UTC)
    created = merge.created_at.replace(tzinfo=merge.created_at.tzinfo or dt.UTC)
    assert now - dt.timedelta(minutes=5) < created <= now
    for person in (merged["device_1"], merged["device_2"]):
        assert [m.id for m in merge_history(runtime.sessions, project.id, person)] == [merge.id]
    with runtime.sessions() as session:
        link = session.get(IdentityLink, merge.link_id)
        absorbed = session.get(Person, merge.absorbed_id)
        assert link is not None and absorbed is not None
        assert (link.id_a, link.id_b, link.message_id) == ("anon-1", "user-1", "d1-login")
        assert absorbed.merged_into == merge.survivor_id


def test_unmerge_restores_the_absorbed_person_and_its_events(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    merge = only_merge(runtime, project.id)
    undone, moved = unmerge(runtime.sessions, runtime.store, project.id, merge.id)
    assert undone.id == merge.id
    assert moved == {"anon-2", "user-1"}
    device_1, device_2 = merged["device_1"], merged["device_2"]
    assert person_ids(runtime.sessions, project.id, device_1) == ["anon-1"]
    assert person_ids(runtime.sessions, project.id, device_2) == ["anon-2", "user-1"]
    after = resolved(runtime, project.id)
    assert {after[m.messageId or ""] for m in DEVICE_1} == {device_1}
    # the login identify was sent by user-1 (its distinct id), so it goes with user-1
    assert {after[m.messageId or ""] for m in DEVICE_2 + LOGIN} == {device_2}
    assert person_of(runtime.sessions, project.id, str(device_2)) == device_2
    [history] = merge_history(runtime.sessions, project.id, device_2)
    assert history.undone_at is not None
    with runtime.sessions() as session:
        person = session.get(Person, device_2)
        link = session.get(IdentityLink, merge.link_id)
        assert person is not None and person.merged_into is None
        assert link is not None and link.undone_at is not None


def test_events_after_the_unmerge_follow_the_split(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    unmerge(runtime.sessions, runtime.store, project.id, only_merge(runtime, project.id).id)
    later = [
        msg("late-1", 40, anon="anon-1", user="user-1"),  # same pair again: the undo stands
        msg("late-2", 41, anon="anon-1"),
        msg("late-3", 42, "identify", anon="anon-3", user="user-1"),  # user-1's new device
    ]
    ingest(runtime, project, later, merged["ingestor"])  # the ingestor from before the undo
    after = resolved(runtime, project.id)
    assert after["late-1"] == after["late-3"] == merged["device_2"]
    assert after["late-2"] == merged["device_1"]
    assert person_ids(runtime.sessions, project.id, merged["device_2"]) == [
        "anon-2", "anon-3", "user-1",
    ]  # fmt: skip


def test_unmerge_twice_conflicts_and_unknown_merge_is_not_found(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    merge = only_merge(runtime, project.id)
    unmerge(runtime.sessions, runtime.store, project.id, merge.id)
    with pytest.raises(Conflict, match="already undone"):
        unmerge(runtime.sessions, runtime.store, project.id, merge.id)
    with pytest.raises(NotFound) as missing:
        unmerge(runtime.sessions, runtime.store, project.id, merge.id + 1000)
    assert missing.value.field == "merge_id"
    other = create_project(runtime.sessions, "other", "UTC")
    with pytest.raises(NotFound):  # a merge of another project is not this project's
        unmerge(runtime.sessions, runtime.store, other.id, merge.id)


def test_unmerge_refused_while_a_second_link_joins_the_sides(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    # an alias call later says device 1 and device 2 are one person too
    ingest(runtime, project, [msg("tie", 31, "alias", previousId="anon-1", userId="anon-2")],
           merged["ingestor"])  # fmt: skip
    merge = only_merge(runtime, project.id)
    events = resolved(runtime, project.id)
    ids = person_ids(runtime.sessions, project.id, merged["device_1"])
    with pytest.raises(Conflict) as refused:
        unmerge(runtime.sessions, runtime.store, project.id, merge.id)
    assert "anon-1-anon-2" in refused.value.message  # names the link that still joins them
    assert resolved(runtime, project.id) == events
    assert set(events.values()) == {merged["device_1"]}
    assert person_ids(runtime.sessions, project.id, merged["device_1"]) == ids
    with runtime.sessions() as session:
        assert session.get(Merge, merge.id).undone_at is None  # type: ignore[union-attr]
        links = session.scalars(select(IdentityLink).where(IdentityLink.project_id == project.id))
        assert all(link.undone_at is None for link in links)


def test_traits_fold_in_time_order_and_split_with_the_unmerge(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    device_1, device_2 = merged["device_1"], merged["device_2"]
    whole = load_profile(runtime.sessions, runtime.store, project.id, device_1)
    assert whole.traits == {
        "lang": "zh",  # device 1's anonymous identify (minute 11)
        "plan": "pro",  # minute 20 overwrites free (minute 2) and trial (minute 11)
        "name": "Li",
        "email": "li@x",
        "signup_source": "app",  # traits_once: the first one (minute 2) is kept
        "first_device": "d1",
    }
    assert whole.event_count == 8
    merge = only_merge(runtime, project.id)
    unmerge(runtime.sessions, runtime.store, project.id, merge.id)
    one = load_profile(runtime.sessions, runtime.store, project.id, device_1)
    two = load_profile(runtime.sessions, runtime.store, project.id, device_2)
    assert one.traits == {"lang": "zh", "plan": "trial", "first_device": "d1"}
    assert two.traits == {"plan": "pro", "name": "Li", "email": "li@x", "signup_source": "app"}
    assert (one.event_count, two.event_count) == (3, 5)
    assert one.distinct_ids == ["anon-1"] and two.distinct_ids == ["anon-2", "user-1"]


def test_fold_traits_set_overwrites_and_set_once_keeps_first() -> None:
    assert fold_traits(
        [('{"a":1}', '{"o":1}'), ("", '{"o":2,"p":3}'), ('{"a":2,"o":9}', "")]
    ) == {"a": 2, "o": 9, "p": 3}


def test_first_touch_is_the_earliest_event_with_a_campaign(
    runtime: Runtime, project: Project, merged: dict[str, Any]
) -> None:
    device_1, device_2 = merged["device_1"], merged["device_2"]
    whole = load_profile(runtime.sessions, runtime.store, project.id, device_1)
    # baidu (minute 1, from the URL) though ingested after wechat (minute 10)
    assert whole.first_touch["initial_utm_source"] == "baidu"
    assert whole.first_touch["initial_utm_medium"] == "cpc"
    assert whole.first_seen == T0 + dt.timedelta(minutes=1)
    unmerge(runtime.sessions, runtime.store, project.id, only_merge(runtime, project.id).id)
    one = load_profile(runtime.sessions, runtime.store, project.id, device_1)
    two = load_profile(runtime.sessions, runtime.store, project.id, device_2)
    assert one.first_touch["initial_utm_source"] == "wechat"
    assert one.first_touch["initial_touch_at"] == (T0 + dt.timedelta(minutes=10)).isoformat()
    assert two.first_touch["initial_utm_source"] == "baidu"


def test_chained_merges_undo_in_either_order(runtime: Runtime, project: Project) -> None:
    """A survivor absorbed in turn: its merge is undone where its ids are now."""
    ingestor = ingest(runtime, project, [
        msg("s1", 0, anon="a0"), msg("s2", 1, user="u0"), msg("s3", 2, anon="a1"),
        msg("m1", 3, "identify", anon="a1", user="u0"),  # u0's person absorbs a1's
        msg("m2", 4, "identify", anon="a0", user="u0"),  # a0's person absorbs u0's
    ])  # fmt: skip
    with runtime.sessions() as session:
        m1, m2 = session.scalars(select(Merge).order_by(Merge.id)).all()
    p0, pu, p1 = m2.survivor_id, m1.survivor_id, m1.absorbed_id
    assert m2.absorbed_id == pu and p0 < pu < p1
    assert set(resolved(runtime, project.id).values()) == {p0}
    assert person_of(runtime.sessions, project.id, str(p1)) == p0  # not pu, which is empty
    _, moved = unmerge(runtime.sessions, runtime.store, project.id, m1.id)
    assert moved == {"a1"}
    now = resolved(runtime, project.id)
    assert (now["s1"], now["s2"], now["s3"]) == (p0, p0, p1)
    assert person_ids(runtime.sessions, project.id, p0) == ["a0", "u0"]
    _, moved = unmerge(runtime.sessions, runtime.store, project.id, m2.id)
    assert moved == {"u0"}
    now = resolved(runtime, project.id)
    assert (now["s1"], now["s2"], now["s3"]) == (p0, pu, p1)
    ingest(runtime, project, [msg("s4", 5, anon="a1", user="u0")], ingestor)  # undone: stays
    assert resolved(runtime, project.id)["s4"] == pu
    assert person_ids(runtime.sessions, project.id, p1) == ["a1"]


def test_absorbed_number_follows_ids_after_the_later_merge_is_undone(
    runtime: Runtime, project: Project
) -> None:
    ingest(runtime, project, [
        msg("s1", 0, anon="a0"), msg("s2", 1, user="u0"), msg("s3", 2, anon="a1"),
        msg("m1", 3, "identify", anon="a1", user="u0"),
        msg("m2", 4, "identify", anon="a0", user="u0"),
    ])  # fmt: skip
    with runtime.sessions() as session:
        m1, m2 = session.scalars(select(Merge).order_by(Merge.id)).all()
    _, moved = unmerge(runtime.sessions, runtime.store, project.id, m2.id)
    assert moved == {"u0", "a1"}  # a1 came to u0's person by m1, so it goes back with it
    now = resolved(runtime, project.id)
    assert now["s2"] == now["s3"] == m2.absorbed_id != now["s1"]
    # a1's first person (absorbed by m1) is found where a1 is now
    assert person_of(runtime.sessions, project.id, str(m1.absorbed_id)) == m2.absorbed_id
    with runtime.sessions() as session:
        absorbed = session.get(Person, m1.absorbed_id)
        assert absorbed is not None and absorbed.merged_into == m2.absorbed_id


def test_projects_never_see_each_others_persons_or_events(runtime: Runtime) -> None:
    shop = create_project(runtime.sessions, "shop-a", "Asia/Shanghai")
    blog = create_project(runtime.sessions, "blog-b", "UTC")
    # Both ingestors exist before either writes: person numbers are shared by all projects.
    shop_in = Ingestor(runtime.sessions, runtime.store, shop.id)
    blog_in = Ingestor(runtime.sessions, runtime.store, blog.id)
    same = [msg("x1", 0, anon="anon-1"), msg("x2", 1, "identify", anon="anon-1", user="user-1")]
    ingest(runtime, shop, same, shop_in)
    ingest(runtime, blog, [*same, msg("x3", 2, user="user-2"),
                           msg("x4", 3, "alias", previousId="user-2", userId="user-1")],
           blog_in)  # fmt: skip
    shop_events, blog_events = resolved(runtime, shop.id), resolved(runtime, blog.id)
    assert set(shop_events) == {"x1", "x2"}  # same messageIds, not deduplicated across projects
    assert set(blog_events) == {"x1", "x2", "x3", "x4"}
    assert len(set(shop_events.values())) == len(set(blog_events.values())) == 1
    shop_person = person_of(runtime.sessions, shop.id, "user-1")
    blog_person = person_of(runtime.sessions, blog.id, "user-1")
    assert shop_person != blog_person
    assert person_ids(runtime.sessions, shop.id, shop_person) == ["anon-1", "user-1"]
    assert person_ids(runtime.sessions, blog.id, blog_person) == ["anon-1", "user-1", "user-2"]
    assert person_ids(runtime.sessions, shop.id, blog_person) == []
    with pytest.raises(NotFound):
        person_of(runtime.sessions, shop.id, "user-2")
    with pytest.raises(NotFound):  # another project's person number
        person_of(runtime.sessions, shop.id, str(blog_person))
    profile = load_profile(runtime.sessions, runtime.store, shop.id, shop_person)
    assert profile.event_count == 2
    [blog_merge] = merge_history(runtime.sessions, blog.id, blog_person)
    assert merge_history(runtime.sessions, shop.id, blog_person) == []
    with pytest.raises(NotFound):
        unmerge(runtime.sessions, runtime.store, shop.id, blog_merge.id)
    unmerge(runtime.sessions, runtime.store, blog.id, blog_merge.id)
    assert resolved(runtime, shop.id) == shop_events  # the shop is untouched


def test_person_numbers_taken_meanwhile_are_resolved_again(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another project's writer takes the numbers between our check and our commit."""
    import userops.ingest.pipeline as pipeline

    shop = create_project(runtime.sessions, "shop-a", "UTC")
    blog = create_project(runtime.sessions, "blog-b", "UTC")
    shop_in = Ingestor(runtime.sessions, runtime.store, shop.id)
    blog_in = Ingestor(runtime.sessions, runtime.store, blog.id)
    ingest(runtime, shop, [msg("x1", 0, anon="anon-1")], shop_in)
    monkeypatch.setattr(pipeline, "last_person_id", lambda _sessions: 0)  # the race, forced
    ingest(runtime, blog, [msg("x1", 0, anon="anon-1"), msg("x2", 1, user="user-1")], blog_in)
    shop_person = person_of(runtime.sessions, shop.id, "anon-1")
    blog_persons = {person_of(runtime.sessions, blog.id, i) for i in ("anon-1", "user-1")}
    assert len(blog_persons) == 2 and shop_person not in blog_persons
    assert set(resolved(runtime, blog.id).values()) == blog_persons


def test_a_failed_batch_leaves_no_half_applied_graph(
    runtime: Runtime, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import userops.ingest.pipeline as pipeline

    ingestor = ingest(runtime, project, [msg("x1", 0, anon="anon-1")])
    batch = [msg("x2", 1, "identify", anon="anon-1", user="user-1"), msg("x3", 2, anon="anon-2")]
    real_persist = pipeline.persist

    def broken(*args: Any) -> None:
        raise OSError("metadata store went away")

    monkeypatch.setattr(pipeline, "persist", broken)
    with pytest.raises(OSError):
        ingest(runtime, project, batch, ingestor)
    monkeypatch.setattr(pipeline, "persist", real_persist)
    ingest(runtime, project, batch, ingestor)  # the log hands the batch over again
    person = person_of(runtime.sessions, project.id, "user-1")
    assert person_ids(runtime.sessions, project.id, person) == ["anon-1", "user-1"]
    assert person_ids(runtime.sessions, project.id, person_of(runtime.sessions, project.id,
                                                              "anon-2")) == ["anon-2"]  # fmt: skip
    events = resolved(runtime, project.id)
    assert events["x1"] == events["x2"] == person != events["x3"]
