"""Asana CSV export import: detection, per-row events, date conventions, bad rows, end to end."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.formats import FORMATS, Record, detect_format, read_records
from flows.ingest import IMPORT_FORMATS
from tests.conftest import DATA

EXPORT = DATA / "asana_export.csv"
HEADER = (
    "Task ID,Created At,Completed At,Last Modified,Name,Section/Column,Assignee,Assignee Email,"
    "Start Date,Due Date,Tags,Notes,Projects,Parent task\n"
)


def _records(path: Path, process: str | None = None, limit: int = 1 << 20) -> list[Record]:
    return list(read_records(path, "asana-csv", process, limit))


def _docs(records: list[Record]) -> list[dict[str, Any]]:
    return [json.loads(r.doc) for r in records if r.doc is not None]


def _write(tmp_path: Path, rows: str, name: str = "tasks.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_the_format_is_offered_and_detected_by_header_despite_the_csv_extension(tmp_path) -> None:
    assert "asana-csv" in FORMATS and "asana-csv" in IMPORT_FORMATS
    assert detect_format(EXPORT) == "asana-csv"
    zipped = tmp_path / "tasks.csv.gz"
    zipped.write_bytes(gzip.compress(EXPORT.read_bytes()))
    assert detect_format(zipped) == "asana-csv"
    no_ext = tmp_path / "tasks_export"
    no_ext.write_bytes(b"\xef\xbb\xbf" + EXPORT.read_bytes())
    assert detect_format(no_ext) == "asana-csv"
    plain = tmp_path / "log.csv"
    plain.write_text("case:concept:name,concept:name,time:timestamp\nc1,A,2026-09-01T00:00:00Z\n")
    assert detect_format(plain) == "csv"
    half = tmp_path / "half.csv"
    half.write_text("Task ID,Created At,Name\n1,2026-09-01,x\n")
    assert detect_format(half) == "csv"


def test_a_finished_task_is_created_then_completed_at_midnight_utc() -> None:
    records = _records(EXPORT)
    created, completed = (json.loads(r.doc) for r in records if r.line == 2)
    attributes = {
        "ingest_path": "import", "import_format": "asana-csv", "date_precision": "day",
        "asana_task_id": "1208123400000001", "section": "Done", "projects": "Client onboarding",
        "start_date": "2026-09-02", "last_modified": "2026-09-12", "tags": ["VIP", "Retail"],
    }  # fmt: skip
    common = {
        "process": "Client onboarding", "case_id": "asana:task:1208123400000001",
        "source": "asana", "case_title": "Onboard Acme Bakery (2 sites)", "attributes": attributes,
    }  # fmt: skip
    # In the Done section now, so not at creation: the created event claims no stage.
    assert created == {
        **common, "event_id": _sha("asana:task:1208123400000001"), "kind": "created",
        "occurred_at": "2026-09-01T00:00:00.000Z", "stage": None, "original_status": None,
        "assignee": "Noor Haddad", "due_at": "2026-09-10",
    }  # fmt: skip
    assert completed == {
        **common, "event_id": _sha("asana:syn:1208123400000001:completed:done:1789171200"),
        "kind": "completed", "occurred_at": "2026-09-12T00:00:00.000Z", "stage": "done",
        "original_status": "Done",
    }  # fmt: skip


def test_every_row_gives_its_events_and_bad_rows_give_reasons() -> None:
    records = _records(EXPORT)
    events = [(r.line, d["kind"], d["stage"], d["occurred_at"][:10]) for r in records
              if r.doc for d in [json.loads(r.doc)]]  # fmt: skip
    assert events == [
        (2, "created", None, "2026-09-01"), (2, "completed", "done", "2026-09-12"),
        (3, "created", "waiting_on_client", "2026-09-03"),  # "Client review", still open
        (5, "created", "active", "2026-09-05"), (5, "completed", "done", "2026-09-06"),
        (6, "created", None, "2026-09-08"), (6, "cancelled", "cancelled", "2026-09-09"),
        (7, "created", "backlog", "2026-09-10"),
        (8, "created", None, "2026-09-11"), (8, "completed", "done", "2026-09-28"),
    ]  # fmt: skip
    errors = [(r.line, r.error) for r in records if r.error]
    assert errors == [
        (9, "Task ID is empty"),
        (10, "Created At '12/09/2026' is not a date (YYYY-MM-DD)"),
        (11, "Completed At is before Created At"),
    ]
    assert all(r.raw for r in records if r.error)


def test_multi_line_notes_subtasks_and_several_projects() -> None:
    docs = {(d["case_id"], d["kind"]): d for d in _docs(_records(EXPORT))}
    birch = docs[("asana:task:1208123400000002", "created")]
    assert (birch["original_status"], birch["assignee"], birch["due_at"]) == (
        "Client review", "Sam Ode", "2026-09-25",
    )  # fmt: skip
    assert "Notes" not in json.dumps(birch)  # notes are free text: not copied into events
    pack = docs[("asana:task:1208123400000003", "created")]
    assert pack["attributes"]["parent_task"] == "Onboard Acme Bakery (2 sites)"
    dune = docs[("asana:task:1208123400000005", "created")]
    assert dune["process"] == "Client onboarding"  # the first of "Client onboarding, Marketing"
    assert dune["attributes"]["projects"] == "Client onboarding, Marketing"


def test_the_process_option_wins_over_projects() -> None:
    assert {d["process"] for d in _docs(_records(EXPORT, process="Onboarding"))} == {"Onboarding"}


def test_an_open_task_in_a_finished_section_ends_at_last_modified(tmp_path) -> None:
    path = _write(tmp_path, "7,2026-09-11,,,No date known,Won't do,,,,,,,P,\n")
    created, cancelled = _docs(_records(path))
    assert (created["stage"], cancelled["kind"], cancelled["stage"]) == (
        None,
        "cancelled",
        "cancelled",
    )
    assert cancelled["occurred_at"] == created["occurred_at"]  # no Last Modified: the only date


def test_timestamps_with_offsets_are_kept_and_naive_ones_rejected(tmp_path) -> None:
    rows = (
        "1,2026-09-01T14:30:00+02:00,2026-09-02T09:00:00Z,,A,Doing,,,,2026-09-05T17:00:00Z,,,P,\n"
        "2,2026-09-01 14:30:00,,,B,Doing,,,,,,,P,\n"
        "3,2026-09-01,,,C,Doing,,,,2026-02-30,,,P,\n"
        "4,2026-09-01,,,D,Doing,,,,,,,,\n"
        "5,2026-09-01,,,E,Doing,,,\n"
        "abc,2026-09-01,,,F,Doing,,,,,,,P,\n"
    )
    records = _records(_write(tmp_path, rows))
    created, completed = _docs(records)
    assert (created["occurred_at"], created["due_at"]) == (
        "2026-09-01T12:30:00.000Z", "2026-09-05T17:00:00.000Z",
    )  # fmt: skip
    assert completed["occurred_at"] == "2026-09-02T09:00:00.000Z"
    assert [(r.line, r.error) for r in records if r.error] == [
        (3, "Created At '2026-09-01 14:30:00' has no UTC offset; Asana writes YYYY-MM-DD"),
        (4, "Due Date '2026-02-30' is not a date (YYYY-MM-DD)"),
        (5, "no process: the row has no Projects value; pass --process"),
        (6, "row has 9 fields but the header has 14"),
        (7, "Task ID 'abc' is not an Asana task id (digits)"),
    ]


def test_a_file_without_the_asana_columns_is_one_error_record(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("Task ID,Name\n1,A\n")
    (record,) = _records(path)
    assert record.line == 1 and "lacks Created At, Completed At" in (record.error or "")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert _records(empty) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(cells=st.lists(st.lists(st.text(max_size=12), min_size=0, max_size=16), max_size=5))
def test_garbled_rows_never_crash_the_reader(tmp_path, cells) -> None:
    path = tmp_path / "fuzz.csv"
    body = "\n".join(",".join(json.dumps(c) for c in row) for row in cells)
    path.write_text(HEADER + body, encoding="utf-8", errors="surrogatepass")
    for record in _records(path):
        assert (record.doc is None) != (record.error is None)
        if record.doc is not None:
            assert json.loads(record.doc)["case_id"].startswith("asana:task:")


def test_opspulse_import_loads_the_export_and_shows_its_cases(cli) -> None:
    result = cli("import", str(EXPORT))
    assert result.code == 0, result.err
    assert "3 rows quarantined" in result.err
    cases = {c["case_id"]: c for c in cli("cases", "--format", "json").json()}
    assert len(cases) == 6
    acme = cases["asana:task:1208123400000001"]
    assert (acme["process"], acme["state"], acme["assignee"]) == (
        "Client onboarding", "completed", "Noor Haddad",
    )  # fmt: skip
    assert acme["lead_time_days"] == 11.0 and acme["on_time"] is False
    assert cases["asana:task:1208123400000002"]["state"] == "open"
    assert cases["asana:task:1208123400000004"]["state"] == "cancelled"
    assert cases["asana:task:1208123400000006"]["state"] == "completed"
    quarantine = cli("quarantine", "list", "--format", "json").json()
    assert sorted(q["line"] for q in quarantine) == [9, 10, 11]
    again = cli("import", "--format", "asana-csv", "--process", "Onboarding", str(EXPORT))
    assert again.code == 0, again.err
    after = cli("cases", "--format", "json").json()
    # Same event ids: the events are stored once, now under the new process.
    assert len(after) == 6 and {c["process"] for c in after} == {"Onboarding"}
