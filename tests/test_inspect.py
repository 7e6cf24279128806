"""Looking at data: `userops events`, `persons show|unmerge`, and the deterministic `demo`.

Commands run in-process through typer's CliRunner; the store is opened here only between commands.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from cli_helpers import cli, ok
from userops.analysis.memberships import tag_holders
from userops.config import load_settings
from userops.demo.layers import SEGMENTS
from userops.meta.models import Segment, Tag
from userops.meta.projects import get_project
from userops.runtime import Runtime
from userops.segments import members, parse_definition
from userops.segments.refresh import current_members
from userops.store import rows

# Device B is identified as u1; later u1 signs in on device A (a merge); anon-c stays alone.
MESSAGES: list[dict[str, Any]] = [
    {"type": "track", "event": "product_viewed", "anonymousId": "anon-b", "messageId": "e1",
     "timestamp": "2026-10-30T02:00:00Z", "properties": {"sku": "A1"}},
    {"type": "identify", "userId": "u1", "anonymousId": "anon-b", "messageId": "e2",
     "timestamp": "2026-10-30T02:05:00Z", "traits": {"name": "李雷", "plan": "pro"}},
    {"type": "track", "event": "order_completed", "userId": "u1", "messageId": "e3",
     "timestamp": "2026-10-30T03:00:00Z", "properties": {"revenue": 99.5}},
    {"type": "track", "event": "product_viewed", "anonymousId": "anon-a", "messageId": "e4",
     "timestamp": "2026-11-01T10:00:00Z", "properties": {"sku": "B2"}},
    {"type": "page", "name": "首页", "anonymousId": "anon-a", "messageId": "e5",
     "timestamp": "2026-11-01T16:30:00Z",
     "context": {"campaign": {"source": "wechat", "medium": "social", "name": "cny"}}},
    {"type": "identify", "userId": "u1", "anonymousId": "anon-a", "messageId": "e6",
     "timestamp": "2026-11-01T17:00:00Z", "traits": {"plan": "max"}},
    {"type": "track", "event": "[/]", "anonymousId": "anon-c", "messageId": "e7",
     "timestamp": "2026-11-01T15:59:59Z", "properties": {"x": "[bold]y[/bold]"}},
    {"type": "track", "event": "app_opened", "anonymousId": "anon-c", "messageId": "e8",
     "timestamp": "2026-11-02T16:00:00Z"},
    {"type": "alias", "previousId": "crm-9", "userId": "u1", "messageId": "e9",
     "timestamp": "2026-11-02T01:00:00Z"},
]  # fmt: skip
# (local time in Asia/Shanghai, event, distinct id), newest first.
SHANGHAI = [
    ("2026-11-03 00:00:00", "app_opened", "anon-c"),
    ("2026-11-02 09:00:00", "$create_alias", "u1"),
    ("2026-11-02 01:00:00", "$identify", "u1"),
    ("2026-11-02 00:30:00", "$pageview", "anon-a"),
    ("2026-11-01 23:59:59", "[/]", "anon-c"),
    ("2026-11-01 18:00:00", "product_viewed", "anon-a"),
    ("2026-10-30 11:00:00", "order_completed", "u1"),
    ("2026-10-30 10:05:00", "$identify", "u1"),
    ("2026-10-30 10:00:00", "product_viewed", "anon-b"),
]


pytestmark = pytest.mark.usefixtures("clean_environment")



@pytest.fixture
def shop(data_dir: Path, tmp_path: Path) -> Path:
    """Project `shop` (Asia/Shanghai) holding MESSAGES."""
    source = tmp_path / "source.jsonl"
    source.write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in MESSAGES))
    ok("projects", "create", "shop", "--timezone", "Asia/Shanghai", "--data-dir", data_dir)
    ok("import", source, "--project", "shop", "--data-dir", data_dir)
    return data_dir


def events(data_dir: Path, *args: object, project: str = "shop") -> list[tuple[str, ...]]:
    """`userops events` rows as (local time, event, distinct id, person, properties)."""
    result = ok("events", "--project", project, *args, "--data-dir", data_dir)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("newest first, times in ")
    assert lines[1].split() == ["time", "event", "distinct", "id", "person", "properties"]
    parsed = []
    for line in lines[2:]:
        cells = re.split(r"\s{2,}", line.strip(), maxsplit=4)
        parsed.append(tuple(cells) + ("",) * (5 - len(cells)))
    return parsed


def test_events_newest_first_in_the_project_time_zone(shop: Path, tmp_path: Path) -> None:
    found = events(shop, "--limit", 5)
    assert [row[:3] for row in found] == SHANGHAI[:5]
    # User input is shown as it is, never read as markup.
    assert found[4][4] == '{"x":"[bold]y[/bold]"}'
    everything = events(shop)
    assert [row[:3] for row in everything] == SHANGHAI

    # The same events in a New York project: other local times, other day boundaries.
    ok("projects", "create", "ny", "--timezone", "America/New_York", "--data-dir", shop)
    ok("import", tmp_path / "source.jsonl", "--project", "ny", "--data-dir", shop)
    newest = events(shop, "--limit", 2, project="ny")
    assert [row[:2] for row in newest] == [
        ("2026-11-02 11:00:00", "app_opened"),  # EST (UTC-5) after 2026-11-01 02:00
        ("2026-11-01 20:00:00", "$create_alias"),
    ]
    oldest = events(shop, project="ny")[-1]
    assert oldest[:2] == ("2026-10-29 22:00:00", "product_viewed")  # EDT (UTC-4) before


def test_events_of_one_person_by_any_of_its_ids(shop: Path) -> None:
    u1 = [row for row in SHANGHAI if row[2] != "anon-c"]
    for any_id in ("anon-a", "anon-b", "u1", "crm-9"):
        found = events(shop, "--person", any_id)
        # Events sent before identify, on either device, belong to the person.
        assert [row[:3] for row in found] == u1, any_id
        assert len({row[3] for row in found}) == 1
    person = found[0][3]
    assert [row[:3] for row in events(shop, "--person", person)] == u1
    assert [row[:3] for row in events(shop, "--person", "anon-c")] == [
        row for row in SHANGHAI if row[2] == "anon-c"
    ]
    assert [row[:3] for row in events(shop, "--person", "u1", "--limit", 1)] == u1[:1]

    result = cli("events", "--project", "shop", "--person", "nobody", "--data-dir", shop)
    assert result.exit_code == 2 and "nobody" in result.stderr, result.output


def show(data_dir: Path, person: str) -> str:
    return ok("persons", "show", person, "--project", "shop", "--data-dir", data_dir).stdout


def test_persons_show_and_unmerge(shop: Path) -> None:
    shown = show(shop, "anon-a")
    assert re.search(r"^person \d+  events: 7  first seen: 2026-10-30 10:00:00  "
                     r"last seen: 2026-11-02 09:00:00", shown, re.M), shown  # fmt: skip
    assert "ids: anon-a, anon-b, crm-9, u1\n" in shown
    # Traits folded in time order (plan: pro, then max), and the first touch.
    assert "  name: 李雷\n" in shown and "  plan: max\n" in shown
    assert "  initial_utm_source: wechat\n" in shown
    merge = re.search(r"merge #(\d+) .* identify: person (\d+) into person (\d+), "
                      r"ids moved: anon-a; message e6; active", shown)  # fmt: skip
    assert merge, shown
    merge_id, absorbed, survivor = merge.groups()
    assert show(shop, survivor) == shown  # by number, the same person
    assert show(shop, absorbed) == shown  # an absorbed number leads to whoever holds its ids

    undone = ok("persons", "unmerge", merge_id, "--project", "shop", "--data-dir", shop).stdout
    assert f"merge #{merge_id} undone: person {absorbed} is back with anon-a" in undone

    device = show(shop, "anon-a")
    assert device.startswith(f"person {absorbed}  events: 2  first seen: 2026-11-01 18:00:00")
    assert "ids: anon-a\n" in device
    assert "  name:" not in device and "  plan:" not in device
    assert re.search(rf"merge #{merge_id} .*message e6; undone \d{{4}}-", device), device
    user = show(shop, "u1")
    assert user.startswith(f"person {survivor}  events: 5  first seen: 2026-10-30 10:00:00")
    # e6 (plan: max) was sent as u1, so it stays with u1.
    assert "ids: anon-b, crm-9, u1\n" in user and "  plan: max\n" in user
    assert [row[2] for row in events(shop, "--person", "anon-a")] == ["anon-a", "anon-a"]
    assert {row[3] for row in events(shop, "--person", "anon-a")} == {absorbed}

    again = cli("persons", "unmerge", merge_id, "--project", "shop", "--data-dir", shop)
    assert again.exit_code != 0 and "Traceback" not in again.output
    missing = cli("persons", "show", "nobody", "--project", "shop", "--data-dir", shop)
    assert missing.exit_code == 2 and "nobody" in missing.stderr


def test_demo_is_deterministic(tmp_path: Path) -> None:
    exports = []
    for run in ("one", "two"):
        data_dir = tmp_path / run
        demo = ["demo", "--project", "d", "--users", 60, "--days", 10, "--seed", 1]
        loaded = ok(*demo, "--data-dir", data_dir).stdout
        # Summary: read, imported, duplicates, rejected; every generated message is valid.
        summary = re.search(r"│ ([\d,]+)\s+│ ([\d,]+)\s+│ (\d+)\s+│ (\d+)\s+│", loaded)
        assert summary, loaded
        read, imported, duplicates, rejected = summary.groups()
        assert read == imported and (duplicates, rejected) == ("0", "0"), loaded
        out = tmp_path / f"{run}.jsonl"
        ok("export", out, "--project", "d", "--data-dir", data_dir)
        lines = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
        for line in lines:
            del line["receivedAt"]  # the time of the import
        exports.append(lines)
    assert exports[0] == exports[1]
    assert len(exports[0]) > 300

    settings = load_settings({"data_dir": str(tmp_path / "one")}, environ={})
    with Runtime.open(settings) as runtime:
        project = get_project(runtime.sessions, "d")
        sources, orders, revenue = rows(
            runtime.store,
            "SELECT uniqExactIf(utm_source, utm_source != ''), countIf(event = 'order_completed'),"
            " sumIf(JSONExtractFloat(properties, 'revenue'), event = 'order_completed')"
            " FROM events WHERE project_id = {p:UInt32}",
            {"p": project.id},
        )[0]
    assert project.timezone == "Asia/Shanghai"
    assert sources >= 5
    assert orders > 0 and revenue > 0


def test_demo_saves_segments_and_a_rule_tag_once(tmp_path: Path) -> None:
    """The demo's segments hold exactly the persons their definitions select now, the rule tag
    exactly the first one's members; loading the demo again adds no second set."""
    demo = ["demo", "--project", "d", "--users", 300, "--days", 30, "--data-dir", tmp_path]
    assert "3 segments saved" in ok(*demo).stdout
    settings = load_settings({"data_dir": str(tmp_path)}, environ={})
    with Runtime.open(settings) as runtime:
        project = get_project(runtime.sessions, "d")
        with runtime.sessions() as session:
            saved = session.scalars(select(Segment).where(Segment.project_id == project.id)
                                    .order_by(Segment.id)).all()  # fmt: skip
            [vip] = session.scalars(select(Tag).where(Tag.project_id == project.id)).all()
        assert [s.name for s in saved] == [name for name, _, _ in SEGMENTS]
        for segment in saved:
            now = members(runtime.store, project, parse_definition(segment.definition))
            assert current_members(runtime.store, project.id, segment.id) == now
            assert segment.size == len(now)
        assert sum(s.size or 0 for s in saved) > 0  # the demo's data fills some of them
        holders = rows(runtime.store, f"SELECT person FROM ({tag_holders('{t:UInt64}')}) "  # noqa: S608
                       "ORDER BY person", {"project": project.id, "t": vip.id})  # fmt: skip
        assert [p for (p,) in holders] == current_members(runtime.store, project.id,
                                                          vip.segment_id)  # fmt: skip
        stages = rows(runtime.store, "SELECT count() FROM person_stages WHERE project_id = "
                      "{p:UInt32}", {"p": project.id})[0][0]  # fmt: skip
        assert stages > 0
    again = ok(*demo).stdout
    assert "segments saved" not in again
    with Runtime.open(settings) as runtime, runtime.sessions() as session:
        assert len(session.scalars(select(Segment)).all()) == 3
