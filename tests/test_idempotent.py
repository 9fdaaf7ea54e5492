"""Loads are idempotent: the same file twice, overlapping files and replays change nothing (AC 3)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REAL, write_jsonl
from warehouse.db import open_snapshot


def _events(home: Path) -> list[tuple]:
    with open_snapshot(home / "default" / "published" / "warehouse.duckdb") as con:
        return con.execute(
            "select event_id, kind, process, case_id, occurred_at, stage from events order by event_id"
        ).fetchall()


def _rows(n: int, start: int = 0) -> list[dict[str, object]]:
    """Events without ids (ids are derived), including an exact repeat of one event."""
    rows: list[dict[str, object]] = []
    for i in range(start, start + n):
        rows.append({"kind": "created", "process": "P", "case_id": f"C{i}",
                     "occurred_at": f"2025-01-{1 + i % 28:02d}T09:00:00+01:00", "stage": "backlog"})  # fmt: skip
        rows.append({"kind": "completed", "process": "P", "case_id": f"C{i}",
                     "occurred_at": f"2025-02-{1 + i % 28:02d}T09:00:00+01:00", "stage": "done"})  # fmt: skip
    rows.append(dict(rows[-1]))  # a genuine exact repeat, kept as the second of its tuple
    return rows


def test_same_file_twice_changes_nothing(cli, home, tmp_path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", _rows(10))
    assert cli("import", str(path)).code == 0
    first = _events(home)
    cases_first = cli("cases", "--format", "json").json()
    copy = tmp_path / "copy-of-a.jsonl"
    copy.write_bytes(path.read_bytes())
    second = cli("import", str(copy))  # same bytes under another name: landed, not loaded again
    assert second.code == 0
    assert "imported before" in second.err
    assert cli("import", "--format", "jsonl", str(path)).code == 0
    assert _events(home) == first
    assert cli("cases", "--format", "json").json() == cases_first
    assert len(first) == 21


def test_overlapping_files_store_each_event_once(cli, home, tmp_path) -> None:
    rows = _rows(10)
    write_jsonl(tmp_path / "all.jsonl", rows)
    assert cli("import", str(tmp_path / "all.jsonl")).code == 0
    expected = _events(home)
    expected_cases = cli("cases", "--format", "json").json()

    # Fresh workspace: two files that overlap on the middle events (and both hold the repeat).
    a = write_jsonl(tmp_path / "a.jsonl", rows[:14])
    b = write_jsonl(tmp_path / "b.jsonl", rows[6:])
    assert cli("import", "--workspace", "other", str(a)).code == 0
    assert cli("import", "--workspace", "other", str(b)).code == 0
    other = home / "other" / "published" / "warehouse.duckdb"
    with open_snapshot(other) as con:
        got = con.execute(
            "select event_id, kind, process, case_id, occurred_at, stage from events order by event_id"
        ).fetchall()
    assert got == expected
    other_cases = cli("cases", "--workspace", "other", "--format", "json").json()
    for row in other_cases:
        row["workspace"] = "default"
    assert other_cases == expected_cases


def test_explicit_event_ids_are_the_key(cli, home, tmp_path) -> None:
    row = {"event_id": "evt-1", "kind": "created", "process": "P", "case_id": "C1",
           "occurred_at": "2025-01-01T09:00:00Z", "stage": "backlog"}  # fmt: skip
    moved = {**row, "stage": "active", "occurred_at": "2025-01-01T10:00:00Z"}
    write_jsonl(tmp_path / "one.jsonl", [row, row])  # in-batch duplicate id: first line wins
    result = cli("import", str(tmp_path / "one.jsonl"))
    assert "repeat an event_id" in result.err
    assert [e[5] for e in _events(home)] == ["backlog"]
    write_jsonl(tmp_path / "two.jsonl", [moved])  # a later delivery of the same id updates it
    cli("import", str(tmp_path / "two.jsonl"))
    assert [e[5] for e in _events(home)] == ["active"]


def test_xes_reimport_is_idempotent(cli, home) -> None:
    assert cli("import", str(REAL / "helpdesk.xes.gz")).code == 0
    before = _events(home)
    decompressed = Path("helpdesk.xes")
    import gzip

    decompressed.write_bytes(gzip.decompress((REAL / "helpdesk.xes.gz").read_bytes()))
    assert cli("import", "--process", "helpdesk", str(decompressed)).code == 0
    assert _events(home) == before
    assert len(before) == 21348
