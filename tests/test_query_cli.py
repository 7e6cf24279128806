"""`userops query`: a spec from text or a file, results as table, JSON or CSV; bad specs name
the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import cli, ok

pytestmark = pytest.mark.usefixtures("clean_environment")

SPEC = {"kind": "trends",
        "series": [{"event": "view"}, {"event": "view", "math": "unique_persons"}],
        "date_range": {"start": "2026-11-01", "end": "2026-11-03"}}  # fmt: skip


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    ok("projects", "create", "shop", "--data-dir", data)
    lines = [{"type": "track", "event": "view", "anonymousId": a, "messageId": m, "timestamp": t}
             for a, m, t in [("d1", "1", "2026-11-01T01:00:00+08:00"),
                             ("d1", "2", "2026-11-01T23:59:00+08:00"),
                             ("d2", "3", "2026-11-01T16:30:00Z"),  # the 2nd in Shanghai
                             ("d2", "4", "2026-11-05T00:00:00Z")]]  # fmt: skip
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ok("import", source, "--project", "shop", "--data-dir", data)
    return data


def test_json_output_counts_in_the_projects_time_zone(data_dir: Path) -> None:
    out = ok("query", json.dumps(SPEC), "--project", "shop", "--format", "json",
             "--data-dir", data_dir).stdout  # fmt: skip
    result = json.loads(out)
    assert result["buckets"] == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert [s["values"] for s in result["series"]] == [[2, 1, 0], [1, 1, 0]]
    assert [s["total"] for s in result["series"]] == [3, 2]


def test_spec_from_a_file_and_csv(data_dir: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = ok("query", f"@{spec}", "--project", "shop", "--format", "csv",
             "--data-dir", data_dir).stdout  # fmt: skip
    assert out.splitlines() == ["bucket,view,view", "2026-11-01,2,1", "2026-11-02,1,1",
                                "2026-11-03,0,0", "total,3,2"]  # fmt: skip


def test_table_output(data_dir: Path) -> None:
    out = ok("query", json.dumps(SPEC), "--project", "shop", "--data-dir", data_dir).stdout
    assert "2026-11-02" in out and "total" in out


@pytest.mark.parametrize(("spec", "field"), [
    ({**SPEC, "series": []}, "series"),
    ({**SPEC, "date_range": {"start": "2026-11-03", "end": "2026-11-01"}}, "date_range"),
    ({**SPEC, "interval": "minute"}, "interval"),
    ({**SPEC, "series": [{"event": "view", "filters": [{"key": "a", "operator": "gt",
                                                         "value": "x"}]}]}, "series.0.filters.0"),
    ({**SPEC, "kind": "nonsense"}, "kind"),
    ({**SPEC, "colour": "red"}, "colour"),
])  # fmt: skip
def test_bad_specs_name_the_field(data_dir: Path, spec: dict[str, object], field: str) -> None:
    result = cli("query", json.dumps(spec), "--project", "shop", "--data-dir", data_dir)
    assert result.exit_code == 2
    assert f"spec {field}" in result.output


def test_malformed_json_and_unreadable_file(data_dir: Path, tmp_path: Path) -> None:
    bad = cli("query", "{not json", "--project", "shop", "--data-dir", data_dir)
    assert bad.exit_code == 2 and "spec" in bad.output
    missing = cli("query", f"@{tmp_path / 'none.json'}", "--project", "shop",
                  "--data-dir", data_dir)  # fmt: skip
    assert missing.exit_code == 2 and "cannot read the spec" in missing.output
