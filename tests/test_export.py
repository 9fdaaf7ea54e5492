"""`opspulse export` writes XES, CSV and Parquet; XES and CSV re-import to the same cases (AC 6)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import duckdb
import pytest

from tests.conftest import REAL, write_jsonl


def _cases(cli, workspace: str) -> list[dict]:
    rows = cli("cases", "--workspace", workspace, "--format", "json").json()
    for row in rows:
        row.pop("workspace")
    return rows


@pytest.mark.parametrize("fmt, name", [("xes", "out.xes.gz"), ("csv", "out.csv")])
def test_real_log_round_trips(cli, tmp_path, fmt, name) -> None:
    assert cli("import", str(REAL / "receipt.csv")).code == 0
    out = tmp_path / name
    result = cli("export", "--format", fmt, "--out", str(out))
    assert result.code == 0, result.err
    assert "wrote 8,577 events" in result.out
    assert cli("import", "--workspace", "back", str(out)).code == 0
    assert _cases(cli, "back") == _cases(cli, "default")


def test_xes_is_well_formed_with_opspulse_attributes(cli, tmp_path) -> None:
    rows = [
        {"kind": "created", "process": "Onboarding", "case_id": "A&B <1>", "occurred_at": "2025-01-06T09:00:00-05:00",
         "stage": "backlog", "original_status": "New", "assignee": "Ann", "due_at": "2025-01-10",
         "attributes": {"checklist_total": 5, "client_facing": True}},
        {"kind": "completed", "process": "Onboarding", "case_id": "A&B <1>", "occurred_at": "2025-01-08T09:00:00-05:00",
         "stage": "done", "original_status": "Done \"ok\"", "actor": "Ann"},
        {"kind": "feedback", "process": "Onboarding", "case_id": "A&B <1>", "occurred_at": "2025-01-09T09:00:00-05:00",
         "scale": "csat5", "score": 5},
    ]  # fmt: skip
    write_jsonl(tmp_path / "s.jsonl", rows)
    assert cli("import", str(tmp_path / "s.jsonl")).code == 0
    out = tmp_path / "s.xes"
    assert cli("export", "--format", "xes", "--out", str(out)).code == 0
    root = ET.parse(out).getroot()
    ns = "{http://www.xes-standard.org/}"
    traces = root.findall(f"{ns}trace")
    assert len(traces) == 1
    events = traces[0].findall(f"{ns}event")
    assert len(events) == 3
    keys = {a.get("key"): a.get("value") for a in events[0]}
    assert keys["opspulse:kind"] == "created" and keys["opspulse:stage"] == "backlog"
    assert keys["concept:name"] == "New" and keys["opspulse:assignee"] == "Ann"
    assert events[0].find(f"{ns}int[@key='checklist_total']").get("value") == "5"
    assert cli("import", "--workspace", "back", str(out)).code == 0
    assert _cases(cli, "back") == _cases(cli, "default")


def test_parquet_export_has_every_event(cli, tmp_path) -> None:
    assert cli("import", str(REAL / "helpdesk.xes.gz")).code == 0
    out = tmp_path / "events.parquet"
    assert cli("export", "--format", "parquet", "--out", str(out)).code == 0
    n, cases = duckdb.execute(f"select count(*), count(distinct case_id) from '{out}'").fetchall()[
        0
    ]
    assert (n, cases) == (21348, 4580)
