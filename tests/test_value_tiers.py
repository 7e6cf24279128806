"""Value tiers (core vs mass persons): a hand-made fixture with known thresholds (ties at the
threshold, zero and negative values, a percentile where floats would round the rank wrong), a
brute-force check of the rule in ``userops.analysis.tiers``'s docstring, a later refresh with
another metric, reading them like traits, and their listing by the definitions API.

The metrics are read from ``person_stats`` and ``person_rfm`` rows written here directly: what
the tiers do with them is under test, not how those tables are computed (test_computed_properties
and test_rfm)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis_reference import new_project
from userops.analysis.definitions import computed_properties
from userops.analysis.layers import TIER_METRICS, TierConfig
from userops.analysis.person_stats import stats_columns
from userops.analysis.tiers import SOURCES, refresh_tiers, tier_summary
from userops.meta.models import Project
from userops.runtime import Runtime
from userops.store import rows

pytestmark = pytest.mark.usefixtures("clean_environment")

NOW = dt.datetime(2026, 11, 2, 12, tzinfo=dt.UTC)


def put_stats(runtime: Runtime, project: Project, values: Mapping[int, float],
              column: str = "revenue") -> None:  # fmt: skip
    """A person_stats row per person with ``column`` set to its value (the rest default)."""
    params = {"project": project.id, "at": NOW - dt.timedelta(hours=1),
              "persons": list(values), "values": list(values.values())}  # fmt: skip
    runtime.store.command(
        f"INSERT INTO person_stats (project_id, person_id, refreshed_at, {column}) "  # noqa: S608
        "SELECT {project:UInt32}, x.1, {at:DateTime64(3, 'UTC')}, x.2 "
        "FROM (SELECT arrayJoin(arrayZip({persons:Array(UInt64)}, {values:Array(Float64)})) AS x)",
        params,
    )


def tiers_of(runtime: Runtime, project: Project) -> dict[int, tuple[str, float]]:
    """Each tiered person's ($value_tier, $value_tier_metric_value), read as Scope reads them."""
    found = rows(
        runtime.store,
        f"SELECT person_id, c0, c1 FROM ({stats_columns(['$value_tier', '$value_tier_metric_value'])})"  # noqa: E501, S608
        " WHERE c0 != ''",
        {"project": project.id},
    )
    return {int(person): (tier.strip('"'), float(value)) for person, tier, value in found}


def expected(values: dict[int, float], percentile: int) -> tuple[float | None, dict[int, str]]:
    """The docstring's rule, read literally: the threshold and each person's tier."""
    positive = sorted(v for v in values.values() if v > 0)
    if not positive:
        return None, dict.fromkeys(values, "mass")
    threshold = positive[len(positive) * percentile // 100]  # v_k, k = floor(n p / 100) + 1
    return threshold, {p: "core" if v >= threshold else "mass" for p, v in values.items()}


# -- the hand-made fixture ---------------------------------------------------------------------

# Positive values 10 20 30 40 50 50 50 90 (n = 8); three who never ordered (0); a refund (-5).
REVENUE = {1: 0, 2: 0, 3: 0, 4: 10, 5: 20, 6: 30, 7: 40, 8: 50, 9: 50, 10: 50, 11: 90, 12: -5}


@pytest.mark.parametrize(("percentile", "threshold", "core"), [
    # k = floor(8 * 80 / 100) + 1 = 7: v_7 = 50, shared by v_5 and v_6, all three core
    (80, 50, {8, 9, 10, 11}),
    (50, 50, {8, 9, 10, 11}),  # k = 5
    (37, 30, {6, 7, 8, 9, 10, 11}),  # k = floor(2.96) + 1 = 3
    (99, 90, {11}),  # k = 8: the top value alone
    (1, 10, {4, 5, 6, 7, 8, 9, 10, 11}),  # k = 1: every positive value
])  # fmt: skip
def test_hand_made_fixture(runtime: Runtime, percentile: int, threshold: float,
                           core: set[int]) -> None:  # fmt: skip
    project = new_project(runtime, "Asia/Shanghai")
    put_stats(runtime, project, REVENUE)
    config = TierConfig(metric="$revenue", core_percentile=percentile)
    assert refresh_tiers(runtime.store, project, config, NOW) == 12
    assert tiers_of(runtime, project) == {
        p: ("core" if p in core else "mass", float(v)) for p, v in REVENUE.items()}
    summary = tier_summary(runtime.store, project.id, TierConfig())
    core_value = sum(REVENUE[p] for p in core)
    total = sum(REVENUE.values())
    assert summary == {
        "metric": "$revenue", "core_percentile": percentile, "threshold": threshold,
        "refreshed_at": NOW,
        "tiers": [
            {"tier": "core", "persons": len(core), "value": core_value,
             "share": core_value / total},
            {"tier": "mass", "persons": 12 - len(core), "value": total - core_value,
             "share": (total - core_value) / total},
        ],
    }  # fmt: skip


def test_the_rank_is_computed_in_integers(runtime: Runtime) -> None:
    """Values 1..100 at p = 29: k = 29 + 1, the threshold 30. In floats 0.29 * 100 is
    28.999999999999996, which would make it 29."""
    project = new_project(runtime, "Asia/Shanghai")
    put_stats(runtime, project, {n: n for n in range(1, 101)}, "orders")
    refresh_tiers(runtime.store, project, TierConfig(metric="$orders", core_percentile=29), NOW)
    got = tiers_of(runtime, project)
    assert {p for p, (tier, _) in got.items() if tier == "core"} == set(range(30, 101))
    assert tier_summary(runtime.store, project.id, TierConfig())["threshold"] == 30


def test_a_refresh_that_fails_before_its_record_is_never_read(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its rows are written, its record is not: readers keep the previous refresh's tiers."""
    from userops.analysis import tiers

    project = new_project(runtime, "Asia/Shanghai")
    put_stats(runtime, project, REVENUE)
    refresh_tiers(runtime.store, project, TierConfig(core_percentile=80), NOW)
    before = tiers_of(runtime, project), tier_summary(runtime.store, project.id, TierConfig())

    def fail(*_: object, **__: object) -> None:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(tiers, "mark_completed", fail)
    later = NOW + dt.timedelta(days=1)
    with pytest.raises(RuntimeError):
        refresh_tiers(runtime.store, project, TierConfig(core_percentile=1), later)
    assert rows(runtime.store, "SELECT count() FROM person_tiers WHERE project_id = "
                "{project:UInt32} AND refreshed_at = {at:DateTime64(3, 'UTC')}",
                {"project": project.id, "at": later})[0][0] == 12  # fmt: skip
    assert (tiers_of(runtime, project),
            tier_summary(runtime.store, project.id, TierConfig())) == before  # fmt: skip


def test_no_positive_value_makes_everyone_mass(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    put_stats(runtime, project, {1: 0, 2: 0})
    assert refresh_tiers(runtime.store, project, TierConfig(), NOW) == 2
    assert tiers_of(runtime, project) == {1: ("mass", 0), 2: ("mass", 0)}
    summary = tier_summary(runtime.store, project.id, TierConfig())
    assert summary["threshold"] is None
    assert [(t["persons"], t["share"]) for t in summary["tiers"]] == [(0, 0), (2, 0)]


def test_before_any_refresh_the_settings_answer(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    config = TierConfig(metric="$events_30d", core_percentile=90)
    summary = tier_summary(runtime.store, project.id, config)
    assert summary == {"metric": "$events_30d", "core_percentile": 90, "threshold": None,
                       "refreshed_at": None,
                       "tiers": [{"tier": "core", "persons": 0, "value": 0, "share": 0},
                                 {"tier": "mass", "persons": 0, "value": 0,
                                  "share": 0}]}  # fmt: skip


def test_a_later_refresh_by_rfm_monetary_replaces_the_tiers(runtime: Runtime) -> None:
    """Persons RFM did not score (an empty group) have no $rfm_monetary, so no tier: the
    earlier refresh's rows of them go."""
    project = new_project(runtime, "Asia/Shanghai")
    put_stats(runtime, project, REVENUE)
    refresh_tiers(runtime.store, project, TierConfig(), NOW)
    runtime.store.command(
        "INSERT INTO person_rfm (project_id, person_id, refreshed_at, monetary, rfm_group) "
        "VALUES ({project:UInt32}, 4, {at:DateTime64(3, 'UTC')}, 7.5, 'important_value'), "
        "({project:UInt32}, 5, {at:DateTime64(3, 'UTC')}, 2.5, 'general_value'), "
        "({project:UInt32}, 6, {at:DateTime64(3, 'UTC')}, 100, '')",
        {"project": project.id, "at": NOW},
    )
    later = NOW + dt.timedelta(minutes=1)
    config = TierConfig(metric="$rfm_monetary", core_percentile=50)
    assert refresh_tiers(runtime.store, project, config, later) == 2
    assert tiers_of(runtime, project) == {4: ("core", 7.5), 5: ("mass", 2.5)}
    summary = tier_summary(runtime.store, project.id, TierConfig())
    assert (summary["metric"], summary["threshold"], summary["refreshed_at"]) == (
        "$rfm_monetary", 7.5, later)


def test_every_metric_has_a_source() -> None:
    assert set(SOURCES) == set(TIER_METRICS)


def test_listed_by_the_definitions_api(runtime: Runtime) -> None:
    project = new_project(runtime, "Asia/Shanghai")
    put_stats(runtime, project, REVENUE)
    refresh_tiers(runtime.store, project, TierConfig(), NOW)
    found = {d.name: d for d in computed_properties(runtime.store, project.id)}
    tier = found["$value_tier"]
    assert (tier.type, tier.count, sorted(tier.examples)) == ("string", 12, ["core", "mass"])
    assert (found["$value_tier_metric_value"].type, found["$value_tier_metric_value"].count) == (
        "number", 12)
    assert tier.last_seen.replace(tzinfo=dt.UTC) == NOW


# -- brute force -------------------------------------------------------------------------------

# Few distinct values, so that ties at the threshold are common; zeros and negatives take no
# part in the ranking.
value = st.sampled_from([-1.5, 0, 0, 0.1, 0.2, 0.3, 1, 2, 2, 3.5, 10, 1e9])


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(value, min_size=0, max_size=40), percentile=st.integers(1, 99))
def test_tiers_equal_the_rule_read_literally(runtime: Runtime, values: list[float],
                                             percentile: int) -> None:  # fmt: skip
    project = new_project(runtime, "America/New_York")
    by_person = {n + 1: v for n, v in enumerate(values)}
    if by_person:
        put_stats(runtime, project, by_person, "revenue_30d")
    config = TierConfig(metric="$revenue_30d", core_percentile=percentile)
    assert refresh_tiers(runtime.store, project, config, NOW) == len(values)
    threshold, want = expected(by_person, percentile)
    assert tiers_of(runtime, project) == {p: (want[p], v) for p, v in by_person.items()}
    summary: dict[str, Any] = tier_summary(runtime.store, project.id, config)
    assert summary["threshold"] == threshold
    core = [v for p, v in by_person.items() if want[p] == "core"]
    positive = [v for v in by_person.values() if v > 0]
    assert len(core) >= len(positive) - len(positive) * percentile // 100
    assert [t["persons"] for t in summary["tiers"]] == [len(core), len(values) - len(core)]
