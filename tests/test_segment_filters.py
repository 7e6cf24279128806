"""Saved segments and tags as filters and breakdowns of every analysis, against the brute-force
references of trends, funnel and retention.

A membership is per person, the same on every event of theirs, so the references need nothing
new: each tracked entry of the log is marked with its person's membership as an event property
(``segment:12`` = "true" or "false"), and a membership filter or breakdown becomes an event
filter or breakdown on that mark. The store is given the unmarked log; who is a member the test
decides by itself: a saved segment's definition evaluated in Python (refreshed for real, plus
rows of a refresh that never completed, which must not count), and a tag's rows written
directly (manual rows naming a distinct id, rule rows of the completed refresh, rule rows of a
refresh that never completed), the newest counted row per person winning.

Also: a tag follows its person through a merge after tagging; Shanghai's local midnight; the
query API's 400s naming the field; the kept answers' data version."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import test_funnel
import test_retention
import test_trends
from analysis_reference import (
    BASE,
    FIRST,
    LAST,
    TIMEZONES,
    Members,
    dense_log,
    ingest,
    marked,
    matches,
    new_project,
    person_traits,
    persons_of,
    send,
    some_filters,
    tracked,
    translated,
)
from userops.analysis.cache import data_version
from userops.analysis.funnel import FunnelSpec, run_funnel
from userops.analysis.lifecycle import LifecycleSpec, run_lifecycle
from userops.analysis.query import parse_spec
from userops.analysis.retention import RetentionEvent, RetentionSpec, run_retention
from userops.analysis.spec import Breakdown, DateRange, PropertyFilter
from userops.analysis.stickiness import StickinessSpec, run_stickiness
from userops.analysis.trends import EventSeries, TrendsSpec, run_trends
from userops.config import Settings, load_settings
from userops.errors import BadRequest
from userops.meta.keys import create_key
from userops.meta.models import Project, Tag
from userops.meta.segments import create_segment
from userops.runtime import Runtime
from userops.segments import parse_definition
from userops.segments.refresh import refresh
from userops.store import rows
from userops.web.server import create_app

UTC = dt.UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = BASE + dt.timedelta(days=10)  # the segment's refresh: after every event of the logs
# Members: paid twice or more, or their plan is "pro".
DEFINITION = {"or": [
    {"kind": "performed", "event": "pay", "operator": "gte", "count": 2},
    {"kind": "person", "key": "plan", "operator": "eq", "value": "pro"},
]}  # fmt: skip
TAG, EMPTY_TAG = "5", "6"  # tag 6 has no rows: nobody carries it
NEVER_DONE = 10**9  # a refresh id that never completes


@pytest.fixture(scope="module")
def opened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Runtime]]:
    """One store for the module (each example has its own project): opening one takes a
    second, and chDB opens one data path per process."""
    data_dir = tmp_path_factory.mktemp("segment-filters") / "data"
    settings = load_settings({"data_dir": str(data_dir)}, environ={})
    with Runtime.open(settings) as runtime:
        yield settings, runtime


@pytest.fixture(scope="module")
def runtime(opened: tuple[Settings, Runtime]) -> Runtime:
    return opened[1]


# -- the world: a log, a refreshed segment, tag rows, and who is a member ----------------------

def segment_reference(events: list[dict[str, Any]]) -> set[str]:
    """DEFINITION in Python."""
    roots, traits = persons_of(events), person_traits(events)
    pays: dict[str, int] = {}
    for _, entry in tracked(events):
        if entry["event"] == "pay":
            person = roots[f"device-{entry['device']}"]
            pays[person] = pays.get(person, 0) + 1
    pro = PropertyFilter(type="person", key="plan", value="pro")
    return {p for p in set(roots.values())
            if pays.get(p, 0) >= 2 or matches(pro, traits.get(p, {}))}  # fmt: skip


def saved_segment(runtime: Runtime, project: Project, name: str = "buyers") -> int:
    body = {"name": name, "definition": DEFINITION}
    return create_segment(runtime.sessions, project.id, body, None).row.id


def insert(runtime: Runtime, table: str, columns: str, values: list[tuple[Any, ...]]) -> None:
    for row in values:
        names = [f"{{v{n}:{kind}}}" for n, (_, kind) in enumerate(row)]
        sql = f"INSERT INTO {table} ({columns}) SELECT {', '.join(names)}"
        runtime.store.command(sql, {f"v{n}": value for n, (value, _) in enumerate(row)})


def tag_row(project: Project, tag: str, person: int, distinct_id: str, at: dt.datetime,
            refresh_id: int, added: bool) -> tuple[Any, ...]:  # fmt: skip
    return ((project.id, "UInt32"), (int(tag), "UInt64"), (person, "UInt64"),
            (distinct_id, "String"), (at, "DateTime64(3, 'UTC')"), (refresh_id, "UInt64"),
            (added, "Bool"))  # fmt: skip


TAG_COLUMNS = "project_id, tag_id, person_id, distinct_id, at, refresh_id, added"

# (device, added, kind): manual rows name the device's id; rule rows count only when their
# refresh completed ("rule") and not when it never did ("pending").
tag_rows = st.lists(st.tuples(st.integers(0, 3), st.booleans(),
                              st.sampled_from(["manual", "manual", "rule", "pending"])),
                    max_size=8)  # fmt: skip


TagRows = list[tuple[int, bool, str]]


def load(runtime: Runtime, timezone: str, events: list[dict[str, Any]], tags: TagRows,
         stale: set[int]) -> tuple[Project, str, Members]:  # fmt: skip
    """The log in the store, the saved segment refreshed, ``stale`` devices' persons entered by
    a refresh that never completed, the tag's rows; the segment's id and who is a member."""
    project = new_project(runtime, timezone)
    ingest(runtime, project.id, events)
    ids = test_funnel.person_ids(runtime, project, events)
    roots = persons_of(events)
    segment = saved_segment(runtime, project)
    done = refresh(runtime, project, segment, NOW)
    assert done.status == "ok", done.error
    stale_persons = {ids[roots[f"device-{d}"]] for d in stale if f"device-{d}" in roots}
    insert(runtime, "segment_changes", "project_id, segment_id, refresh_id, person_id, at, "
           "entered", [((project.id, "UInt32"), (segment, "UInt64"), (NEVER_DONE, "UInt64"),
                        (p, "UInt64"), (NOW, "DateTime64(3, 'UTC')"), (True, "Bool"))
                       for p in sorted(stale_persons)])  # fmt: skip
    carried: dict[str, bool] = {}
    written = []
    for n, (device, added, kind) in enumerate(tags):
        distinct_id = f"device-{device}"
        if distinct_id not in roots:
            continue
        root = roots[distinct_id]
        at = NOW + dt.timedelta(minutes=n)
        refresh_id = {"manual": 0, "rule": done.id, "pending": NEVER_DONE}[kind]
        written.append(tag_row(project, TAG, ids[root], distinct_id if kind == "manual" else "",
                               at, refresh_id, added))  # fmt: skip
        if kind != "pending":
            carried[root] = added
    insert(runtime, "person_tags", TAG_COLUMNS, written)
    members: Members = {
        ("segment", str(segment)): segment_reference(events),
        ("tag", TAG): {p for p, added in carried.items() if added},
        ("tag", EMPTY_TAG): set(),
    }
    return project, str(segment), members


def membership_filters(segment: str) -> st.SearchStrategy[list[PropertyFilter]]:
    fixed = st.builds(lambda type_, operator: PropertyFilter(
        type=type_, key=segment if type_ == "segment" else TAG, operator=operator),
        st.sampled_from(["segment", "tag", "tag"]),
        st.sampled_from(["is_set", "is_not_set"]))  # fmt: skip
    empty = st.builds(PropertyFilter, type=st.just("tag"), key=st.just(EMPTY_TAG),
                      operator=st.sampled_from(["is_set", "is_not_set"]))  # fmt: skip
    return st.lists(st.one_of(fixed, fixed, empty), min_size=1, max_size=2)


def membership_breakdowns(segment: str) -> st.SearchStrategy[Breakdown | None]:
    return st.one_of(
        st.none(),
        st.builds(Breakdown, type=st.just("segment"), key=st.just(segment),
                  limit=st.integers(1, 3)),
        st.builds(Breakdown, type=st.just("tag"), key=st.sampled_from([TAG, EMPTY_TAG]),
                  limit=st.integers(1, 3)),
    )  # fmt: skip


# -- trends, funnel and retention against their references ------------------------------------


def check_trends(runtime: Runtime, project: Project, events: list[dict[str, Any]],
                 spec: TrendsSpec) -> None:  # fmt: skip
    result = run_trends(runtime.store, project, spec, LAST)
    event_spec = translated(spec)
    dates = spec.date_range.dates(LAST)
    log = test_trends.Log(events, ZoneInfo(project.timezone))
    keys = None if event_spec.breakdown is None else test_trends.reference_keys(log, event_spec,
                                                                                dates)  # fmt: skip
    got = [(s.breakdown_value, s.values, s.total) for s in result.series]
    assert got == test_trends.reference(log, event_spec, dates, keys), spec
    assert all(v in ("true", "false") for v, _, _ in got if spec.breakdown is not None)


@pytest.mark.parametrize("timezone", TIMEZONES)
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data(), events=dense_log, tags=tag_rows,
       stale=st.sets(st.integers(0, 3), min_size=1, max_size=2))  # fmt: skip
def test_memberships_equal_brute_force(runtime: Runtime, timezone: str, data: st.DataObject,
                                       events: list[dict[str, Any]],
                                       tags: TagRows, stale: set[int]) -> None:  # fmt: skip
    project, segment, members = load(runtime, timezone, events, tags, stale)
    known = marked(events, members)
    everything = DateRange(start=dt.date(2026, 10, 29), end=dt.date(2026, 11, 5))
    for type_, key in members:  # who is a member, whatever the drawn spec asks below
        check_trends(runtime, project, known, TrendsSpec(
            series=[EventSeries(event=None, math="unique_persons"), EventSeries(event=None)],
            date_range=everything, breakdown=Breakdown(type=type_, key=key)))  # fmt: skip
    shared = data.draw(membership_filters(segment))
    others = data.draw(some_filters)
    breakdown = data.draw(membership_breakdowns(segment))
    first, last = data.draw(st.sampled_from([(FIRST, LAST), (LAST, LAST)]))
    dates = DateRange(start=first, end=last)

    series = [EventSeries(event="view"), EventSeries(event=None, math="unique_persons"),
              EventSeries(event="pay", math="dau", filters=data.draw(
                  st.lists(st.sampled_from(shared), max_size=1)))]  # fmt: skip
    check_trends(runtime, project, known, TrendsSpec(
        series=series, date_range=dates, filters=[*shared, *others],
        breakdown=breakdown))  # fmt: skip
    check_trends(runtime, project, known, TrendsSpec(  # one series: it ranks its own values
        series=series[1:2], date_range=dates, filters=shared, breakdown=breakdown))  # fmt: skip

    funnel = FunnelSpec.model_validate({
        "steps": [{"event": "view"}, {"event": "pay", "filters": data.draw(
            st.lists(st.sampled_from(shared), max_size=1))}], "date_range": test_funnel.RANGE,
        "window": data.draw(test_funnel.windows),
        "mode": data.draw(st.sampled_from(["ordered", "strict", "unordered"])),
        "breakdown": breakdown, "filters": [*shared, *others],
    })  # fmt: skip
    got = run_funnel(runtime.store, project, funnel)
    test_funnel.check(runtime, project, known, translated(funnel), got)

    today = LAST + dt.timedelta(days=data.draw(st.sampled_from([0, 1, 3])))
    retention = RetentionSpec(
        start=RetentionEvent(event=data.draw(st.sampled_from([None, "view"]))),
        return_event=RetentionEvent(event=None, filters=data.draw(
            st.lists(st.sampled_from(shared), max_size=1))), period="day", periods=2,
        date_range=DateRange(start=dt.date(2026, 10, 30), end=LAST), filters=shared,
        breakdown=breakdown, start_mode=data.draw(st.sampled_from(["first_time", "any_time"])),
    )  # fmt: skip
    got_retention = run_retention(runtime.store, project, retention, today)
    test_retention.check(got_retention, known, translated(retention), timezone, today)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(events=dense_log, tags=tag_rows)
def test_is_set_and_is_not_set_split_lifecycle_and_stickiness(
    runtime: Runtime, events: list[dict[str, Any]], tags: TagRows
) -> None:
    """Membership is per person: members and the rest add up to everyone, period by period."""
    project, segment, _ = load(runtime, "Asia/Shanghai", events, tags, set())
    dates = DateRange(start=FIRST, end=LAST)
    for type_, key in (("segment", segment), ("tag", TAG)):
        both = [[PropertyFilter(type=type_, key=key, operator=op)]
                for op in ("is_set", "is_not_set")]  # fmt: skip
        every = run_stickiness(runtime.store, project, StickinessSpec(date_range=dates), LAST)
        split = [run_stickiness(runtime.store, project,
                                StickinessSpec(date_range=dates, filters=f), LAST)
                 for f in both]  # fmt: skip
        assert every.total == sum(s.total for s in split)
        assert [r.persons for r in every.rows] == [sum(rs) for rs in zip(
            *([r.persons for r in s.rows] for s in split), strict=True)]  # fmt: skip
        whole = run_lifecycle(runtime.store, project, LifecycleSpec(date_range=dates), LAST)
        parts = [run_lifecycle(runtime.store, project,
                               LifecycleSpec(date_range=dates, filters=f), LAST)
                 for f in both]  # fmt: skip
        for status in ("new", "returning", "resurrecting", "dormant"):
            assert getattr(whole, status) == [a + b for a, b in zip(
                getattr(parts[0], status), getattr(parts[1], status), strict=True)]  # fmt: skip


# -- hand-made cases ---------------------------------------------------------------------------


def persons_by_id(runtime: Runtime, project: Project) -> dict[str, int]:
    found = rows(runtime.store, "SELECT distinct_id, any(person_id) FROM events "
                 "WHERE project_id = {project:UInt32} GROUP BY distinct_id",
                 {"project": project.id})  # fmt: skip
    return {str(d): int(p) for d, p in found}


def views(runtime: Runtime, project: Project, filters: list[dict[str, Any]],
          breakdown: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:  # fmt: skip
    spec = parse_spec({"kind": "trends", "date_range": {"start": "2026-11-01", "end": "2026-11-02"},
                       "series": [{"event": "view"}, {"event": "view", "math": "unique_persons"}],
                       "filters": filters, "breakdown": breakdown})  # fmt: skip
    result = run_trends(runtime.store, project, spec, dt.date(2026, 11, 2))
    return [(s.breakdown_value, s.values) for s in result.series]


def test_a_tag_follows_its_person_through_a_later_merge(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    t = dt.datetime(2026, 11, 1, 12, tzinfo=SHANGHAI)
    send(runtime, project.id, [{"anonymousId": "anon", "t": t},
                               {"userId": "u", "t": t + dt.timedelta(days=1)},
                               {"userId": "other", "t": t}], batch="one")  # fmt: skip
    before = persons_by_id(runtime, project)
    # Tagged while "anon" was a person of its own: the row names that id.
    insert(runtime, "person_tags", TAG_COLUMNS,
           [tag_row(project, TAG, before["anon"], "anon", NOW, 0, True)])  # fmt: skip
    tagged = [{"type": "tag", "key": TAG, "operator": "is_set"}]
    assert views(runtime, project, tagged) == [(None, [1.0, 0.0]), (None, [1.0, 0.0])]
    # A later batch links anon to u: u's person has both views now, and carries the tag.
    send(runtime, project.id, [{"type": "identify", "anonymousId": "anon", "userId": "u",
                                "t": t + dt.timedelta(hours=1)}], batch="two")  # fmt: skip
    assert views(runtime, project, tagged) == [(None, [1.0, 1.0]), (None, [1.0, 1.0])]
    untagged = [{"type": "tag", "key": TAG, "operator": "is_not_set"}]
    assert views(runtime, project, untagged) == [(None, [1.0, 0.0]), (None, [1.0, 0.0])]
    split = views(runtime, project, [], {"type": "tag", "key": TAG, "limit": 1})
    assert split == [("true", [1.0, 1.0]), ("false", [1.0, 0.0]),
                     ("true", [1.0, 1.0]), ("false", [1.0, 0.0])]  # fmt: skip
    # Removed later (a row naming u's id): nobody carries it.
    insert(runtime, "person_tags", TAG_COLUMNS,
           [tag_row(project, TAG, before["u"], "u", NOW + dt.timedelta(minutes=1), 0, False)])
    assert views(runtime, project, tagged) == [(None, [0.0, 0.0]), (None, [0.0, 0.0])]
    assert views(runtime, project, [], {"type": "tag", "key": TAG}) == [
        ("false", [2.0, 1.0]), ("false", [2.0, 1.0])]  # fmt: skip


def test_shanghai_midnight_splits_a_members_days(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    midnight = dt.datetime(2026, 11, 2, tzinfo=SHANGHAI)  # 16:00 UTC on the 1st
    send(runtime, project.id, [
        {"userId": "m", "t": midnight - dt.timedelta(minutes=1)},
        {"userId": "m", "t": midnight},
        {"userId": "n", "t": midnight},
        {"userId": "m", "event": "pay", "t": midnight},
        {"userId": "m", "event": "pay", "t": midnight},
    ])  # fmt: skip
    segment = saved_segment(runtime, project, "buyers")
    assert refresh(runtime, project, segment, NOW).status == "ok"
    member = [{"type": "segment", "key": str(segment), "operator": "is_set"}]
    assert views(runtime, project, member) == [(None, [1.0, 1.0]), (None, [1.0, 1.0])]
    assert views(runtime, project, [], {"type": "segment", "key": str(segment)}) == [
        ("true", [1.0, 1.0]), ("false", [0.0, 1.0]),
        ("true", [1.0, 1.0]), ("false", [0.0, 1.0])]  # fmt: skip


def test_rows_of_unfinished_refreshes_do_not_count(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    t = dt.datetime(2026, 11, 1, 12, tzinfo=SHANGHAI)
    send(runtime, project.id, [{"userId": "a", "t": t}, {"userId": "b", "t": t}])
    ids = persons_by_id(runtime, project)
    segment = saved_segment(runtime, project, "buyers")
    done = refresh(runtime, project, segment, NOW)  # nobody paid twice: no members
    insert(runtime, "segment_changes", "project_id, segment_id, refresh_id, person_id, at, entered",
           [((project.id, "UInt32"), (segment, "UInt64"), (NEVER_DONE, "UInt64"),
             (ids["a"], "UInt64"), (NOW, "DateTime64(3, 'UTC')"), (True, "Bool"))])  # fmt: skip
    insert(runtime, "person_tags", TAG_COLUMNS,
           [tag_row(project, TAG, ids["a"], "", NOW, NEVER_DONE, True),
            tag_row(project, TAG, ids["b"], "", NOW, done.id, True)])  # fmt: skip
    member = [{"type": "segment", "key": str(segment), "operator": "is_set"}]
    assert views(runtime, project, member) == [(None, [0.0, 0.0]), (None, [0.0, 0.0])]
    tagged = [{"type": "tag", "key": TAG, "operator": "is_set"}]
    assert views(runtime, project, tagged) == [(None, [1.0, 0.0]), (None, [1.0, 0.0])]


def test_membership_filters_validate_their_fields() -> None:
    base = {"kind": "trends", "date_range": {"last_days": 7}, "series": [{"event": "view"}]}
    bad = [
        ({"filters": [{"type": "segment", "key": "1", "operator": "eq", "value": "x"}]},
         "filters.0.operator"),
        ({"series": [{"event": "v", "filters": [{"type": "tag", "key": "x1",
                                                 "operator": "is_set"}]}]},
         "series.0.filters.0.key"),
        ({"filters": [{"type": "tag", "key": "1" * 19, "operator": "is_set"}]}, "filters.0.key"),
        ({"breakdown": {"type": "segment", "key": "-3"}}, "breakdown.key"),
    ]  # fmt: skip
    for change, field in bad:
        with pytest.raises(BadRequest) as caught:
            parse_spec({**base, **change})
        assert caught.value.field == field
    # A segment definition names segments by its own condition: behaviour conditions, which
    # would leave these filters unread, refuse them.
    with pytest.raises(BadRequest) as caught:
        parse_definition({"kind": "performed", "event": "pay", "filters": [
            {"type": "tag", "key": "1", "operator": "is_set"}]})  # fmt: skip
    assert caught.value.field == "filters"
    steps = [{"event": "view"}, {"event": "pay", "filters": [
        {"type": "segment", "key": "1", "operator": "is_not_set"}]}]  # fmt: skip
    with pytest.raises(BadRequest) as caught:
        parse_definition({"kind": "funnel", "step": 1,
                          "funnel": {"steps": steps, "date_range": {"last_days": 7}}})  # fmt: skip
    assert caught.value.field == "funnel"


# -- the query API -----------------------------------------------------------------------------


def test_the_query_api_refuses_unknown_segments_and_tags(
    opened: tuple[Settings, Runtime],
) -> None:
    settings, runtime = opened
    shop, other = new_project(runtime, "Asia/Shanghai"), new_project(runtime, "UTC")
    send(runtime, shop.id, [{"userId": "a", "t": dt.datetime(2026, 11, 1, tzinfo=UTC)}])
    segment = saved_segment(runtime, shop, "s")
    foreign = saved_segment(runtime, other, "s")
    with runtime.sessions.begin() as session:
        tag = Tag(project_id=shop.id, name="vip")
        session.add(tag)
        session.flush()
        tag_id = tag.id
    secret = create_key(runtime.sessions, shop.name).secret
    headers = {"Authorization": f"Bearer {secret}"}

    def ask(filters: list[dict[str, Any]], breakdown: Any = None) -> Any:
        body = {"kind": "funnel", "steps": [{"event": "view"}, {"event": "pay"}],
                "date_range": {"start": "2026-11-01", "end": "2026-11-02"},
                "filters": filters, "breakdown": breakdown}  # fmt: skip
        with TestClient(create_app(settings, runtime)) as client:
            return client.post(f"/api/projects/{shop.name}/query", json=body,
                               headers=headers)  # fmt: skip

    seg = {"type": "segment", "key": str(segment), "operator": "is_set"}
    tagged = {"type": "tag", "key": str(tag_id), "operator": "is_not_set"}
    answer = ask([seg, tagged], {"type": "tag", "key": str(tag_id)})
    assert answer.status_code == 200, answer.text
    cases = [
        ([seg, {**seg, "key": str(foreign)}], None, "filters.1.key"),
        ([tagged], {"type": "segment", "key": "999999"}, "breakdown.key"),
        ([{**tagged, "key": str(tag_id + 1000)}], None, "filters.0.key"),
        ([{**seg, "operator": "contains", "value": "x"}], None, "filters.0.operator"),
        ([{**seg, "key": "twelve"}], None, "filters.0.key"),
    ]  # fmt: skip
    for filters, breakdown, field in cases:
        answer = ask(filters, breakdown)
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == field


def test_completed_refreshes_and_tag_rows_change_the_data_version(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    send(runtime, project.id, [{"userId": "a", "t": dt.datetime(2026, 11, 1, tzinfo=UTC)}])
    segment = saved_segment(runtime, project, "s")
    versions = [data_version(runtime.store)]
    refresh(runtime, project, segment, NOW)
    versions.append(data_version(runtime.store))
    insert(runtime, "person_tags", TAG_COLUMNS, [tag_row(project, TAG, 1, "a", NOW, 0, True)])
    versions.append(data_version(runtime.store))
    assert len(set(versions)) == 3
