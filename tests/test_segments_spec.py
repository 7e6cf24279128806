"""Segment definitions refused with the field named by its JSON path: each kind of mistake, the
size limits, references to unknown segments, cycles (the chain named), and the JSON shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from userops.errors import BadRequest
from userops.segments import definition_json, expand, parse_definition
from userops.segments.references import Branch, ResolvedIds
from userops.segments.spec import MAX_CONDITIONS, MAX_DEPTH, MAX_EXPANDED, MAX_IDS, MAX_WIDTH

PAY = {"kind": "performed", "event": "pay"}
FUNNEL = {"steps": [{"event": "view"}, {"event": "pay"}], "date_range": {"last_days": 7}}


def refused(definition: Any) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        parse_definition(definition)
    return caught.value


@pytest.mark.parametrize(("definition", "field", "words"), [
    ({"and": []}, "and", "at least 1 item"),
    ({"or": [PAY, {"or": []}]}, "or.1.or", "at least 1 item"),
    ({"and": [PAY] * (MAX_WIDTH + 1)}, "and", f"at most {MAX_WIDTH} items"),
    ({"not": [PAY]}, "not", "a node is"),
    ({"and": [PAY, 7]}, "and.1", "a node is"),
    ({"kind": "performd", "event": "pay"}, "(definition)", "kind is one of"),
    ({"event": "pay"}, "(definition)", "a node is"),
    ({"and": [PAY], "or": [PAY]}, "or", "Extra inputs"),
    ({"and": [{**PAY, "count": -1}]}, "and.0.count", "greater than or equal to 0"),
    ({"and": [{"not": {**PAY, "operator": "ge"}}]}, "and.0.not.operator", "'gte'"),
    ({**PAY, "colour": "red"}, "colour", "Extra inputs"),
    ({**PAY, "event": ""}, "event", "at least 1 character"),
    ({**PAY, "window": {"last_days": 0}}, "window.last_days", "greater than or equal to 1"),
    ({**PAY, "window": {"last_days": 3661}}, "window.last_days", "less than or equal to 3660"),
    ({**PAY, "window": {"start": "2026-03-02", "end": "2026-03-01"}}, "window",
     "start is after end"),
    ({**PAY, "window": {"start": "2020-01-01", "end": "2030-12-31"}}, "window",
     "at most 3660 days"),
    ({**PAY, "window": {"start": "1900-01-01", "end": "1900-01-02"}}, "window.start",
     "greater than or equal to 1971-01-01"),
    ({**PAY, "filters": [{"key": "a", "operator": "like", "value": "x"}]},
     "filters.0.operator", "'contains'"),
    ({**PAY, "filters": [{"key": "a", "operator": "regex", "value": "(?=x)"}]}, "filters.0",
     "lookaround"),
    ({"kind": "person", "key": "plan", "operator": "in", "value": []}, "(definition)",
     "non-empty list"),
    ({"or": [{"kind": "person", "key": "plan", "operator": "gt", "value": "x"}]}, "or.0",
     "needs a number"),
    ({"kind": "person", "key": "plan", "type": "event", "operator": "is_set"}, "type",
     "'person'"),
    ({"kind": "first_performed", "event": "signup"}, "window", "Field required"),
    ({"kind": "aggregate", "event": "pay", "value": 5}, "property", "Field required"),
    ({"kind": "aggregate", "event": "pay", "property": "revenue", "math": "median",
      "value": 5}, "math", "'sum'"),
    ({"kind": "aggregate", "event": "pay", "property": "revenue", "value": "lots"}, "value",
     "valid number"),
    ({"kind": "funnel", "funnel": FUNNEL, "step": 2}, "step", "the last step is 1"),
    ({"kind": "funnel", "funnel": FUNNEL, "step": 0, "status": "dropped"}, "status",
     "no one drops before the first step"),
    ({"kind": "funnel", "funnel": {**FUNNEL, "breakdown": {"key": "a"}}, "step": 1},
     "funnel.breakdown", "None"),
    ({"kind": "funnel", "funnel": {**FUNNEL, "window": {"value": 91, "unit": "day"}},
      "step": 1}, "funnel.window", "longer than 90 days"),
    ({"kind": "funnel", "funnel": {**FUNNEL, "steps": [{"event": "view"}]}, "step": 0},
     "funnel.steps", "at least 2 items"),
    ({"kind": "segment", "id": 0}, "id", "greater than or equal to 1"),
    ({"kind": "persons", "ids": [1, -2]}, "ids.1", "greater than or equal to 1"),
    ({"kind": "persons", "ids": [1] * (MAX_IDS + 1)}, "ids", f"at most {MAX_IDS} items"),
])  # fmt: skip
def test_bad_definitions_name_the_field(definition: Any, field: str, words: str) -> None:
    error = refused(definition)
    assert error.field == field
    assert words in error.message
    assert error.status == 400


def test_json_text_is_read_too_and_its_errors_named_the_same() -> None:
    assert parse_definition(json.dumps({"not": PAY})) == parse_definition({"not": PAY})
    with pytest.raises(BadRequest) as caught:
        parse_definition(json.dumps({"not": {**PAY, "count": "many"}}))
    assert caught.value.field == "not.count"
    with pytest.raises(BadRequest) as caught:
        parse_definition(b"{not json")
    assert caught.value.field == "(definition)"


def nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = PAY
    for _ in range(depth):
        node = {"not": node}
    return node


def test_depth_and_size_limits() -> None:
    parse_definition(nested(MAX_DEPTH))
    error = refused(nested(MAX_DEPTH + 1))
    assert error.field == ".".join(["not"] * (MAX_DEPTH + 1))
    assert f"deeper than {MAX_DEPTH}" in error.message
    wide = {"and": [{"or": [PAY] * MAX_WIDTH} for _ in range(MAX_CONDITIONS // MAX_WIDTH)]}
    parse_definition(wide)
    error = refused({"and": [*wide["and"], PAY]})
    assert error.field == f"and.{MAX_CONDITIONS // MAX_WIDTH}"
    assert f"more than {MAX_CONDITIONS} conditions" in error.message


def test_the_json_shape_round_trips() -> None:
    definition = {"and": [
        {"kind": "performed", "event": "order_completed", "count": 2,
         "window": {"last_days": 30}},
        {"not": {"kind": "person", "key": "plan", "operator": "in", "value": ["free", "trial"]}},
        {"or": [{"kind": "funnel", "funnel": FUNNEL, "step": 1, "status": "dropped"},
                {"kind": "segment", "id": 3}, {"kind": "persons", "ids": [5, 8]}]},
    ]}  # fmt: skip
    parsed = parse_definition(definition)
    assert parse_definition(definition_json(parsed)) == parsed
    assert definition_json(parsed)["and"][0] == definition["and"][0]


# -- references to other segments -----------------------------------------------------------


def test_references_are_inlined_or_become_id_lists() -> None:
    resolver = {1: {"or": [PAY, {"kind": "segment", "id": 2}]}, 2: [7, 9]}.get
    expanded = expand(parse_definition({"not": {"kind": "segment", "id": 1}}), resolver)
    assert isinstance(expanded, Branch) and expanded.op == "not"
    inner = expanded.children[0]
    assert isinstance(inner, Branch) and inner.op == "or"
    assert inner.children[1] == ResolvedIds(2, (7, 9))


@pytest.mark.parametrize(("segments", "root", "field", "chain"), [
    ({1: {"kind": "segment", "id": 1}}, None, "id", "1 -> 1"),
    ({1: {"and": [PAY, {"kind": "segment", "id": 2}]}, 2: {"not": {"kind": "segment", "id": 1}}},
     None, "id", "1 -> 2 -> 1"),
    # the definition being edited is segment 5 and refers back to itself through 1
    ({1: {"kind": "segment", "id": 5}}, 5, "id", "5 -> 1 -> 5"),
    # a cycle further down the chain: named from where the definition enters it
    ({1: {"kind": "segment", "id": 2}, 2: {"kind": "segment", "id": 3},
      3: {"or": [PAY, {"kind": "segment", "id": 2}]}}, None, "id", "1 -> 2 -> 3 -> 2"),
])  # fmt: skip
def test_cycles_are_refused_naming_the_chain(segments: dict[int, Any], root: int | None,
                                             field: str, chain: str) -> None:  # fmt: skip
    with pytest.raises(BadRequest) as caught:
        expand(parse_definition({"kind": "segment", "id": 1}), segments.get, root)
    assert caught.value.field == field
    assert caught.value.message.endswith(f"segments refer to each other in a cycle: {chain}")


def test_the_path_is_the_reference_in_the_definition_being_compiled() -> None:
    segments = {1: {"kind": "segment", "id": 2}, 2: {"kind": "segment", "id": 1}}
    definition = parse_definition({"and": [PAY, {"or": [PAY, {"kind": "segment", "id": 1}]}]})
    with pytest.raises(BadRequest) as caught:
        expand(definition, segments.get)
    assert caught.value.field == "and.1.or.1.id"
    assert "1 -> 2 -> 1" in caught.value.message


def test_a_segment_used_twice_is_no_cycle() -> None:
    segments = {1: PAY, 2: {"and": [{"kind": "segment", "id": 1}, {"kind": "segment", "id": 1}]}}
    expand(parse_definition({"or": [{"kind": "segment", "id": 1},
                                    {"kind": "segment", "id": 2}]}), segments.get)  # fmt: skip


def test_unknown_and_broken_segments() -> None:
    definition = parse_definition({"or": [PAY, {"kind": "segment", "id": 4}]})
    with pytest.raises(BadRequest) as caught:
        expand(definition, {}.get)
    assert (caught.value.field, caught.value.message) == (
        "or.1.id",
        "definition or.1.id: segment 4 does not exist",
    )
    with pytest.raises(BadRequest, match="segment 4 does not exist"):
        expand(definition)  # no resolver: no segment to refer to
    with pytest.raises(BadRequest) as caught:
        expand(definition, {4: {"and": [{**PAY, "count": -3}]}}.get)
    assert caught.value.field == "or.1.id"
    assert "segment 4's definition and.0.count: Input should be greater" in caught.value.message


def test_referenced_segments_count_towards_the_size_limit() -> None:
    # Each level refers twice to the one below: 2^9 conditions once inlined.
    segments: dict[int, Any] = {1: PAY}
    for n in range(2, 11):
        segments[n] = {"and": [{"kind": "segment", "id": n - 1}] * 2}
    expand(parse_definition({"kind": "segment", "id": 8}), segments.get)  # 128
    with pytest.raises(BadRequest) as caught:
        expand(parse_definition({"not": {"kind": "segment", "id": 10}}), segments.get)
    assert caught.value.field == "not"
    assert f"more than {MAX_EXPANDED} conditions" in caught.value.message
