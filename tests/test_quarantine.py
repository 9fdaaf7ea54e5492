"""Bad input of every kind is quarantined with a readable reason; good rows load (issue #2, AC 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_jsonl


def good(n: int, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "kind": "stage_changed",
        "process": "Onboarding",
        "case_id": f"C{n}",
        "occurred_at": f"2025-03-0{1 + n % 9}T10:00:00Z",
        "stage": "active",
    }
    row.update(extra)
    return row


# (line content, substring the quarantine reason must contain)
BAD: list[tuple[object, str]] = [
    ('{"kind": "created", "process": "Onboarding"', "not valid JSON"),
    ("[1, 2, 3]", "not a JSON object"),
    (b'{"kind": "created", "case_id": "\xff\xfe", "process": "x"}', "not valid UTF-8"),
    (good(1, case_id=["a", "b"]), "case_id must be a string"),
    (good(2, public="yes"), "public must be true or false"),
    (good(3, attributes=[1]), "attributes must be a JSON object"),
    (good(4, occurred_at="2025-03-01T10:00:00"), "has no UTC offset"),
    (good(5, occurred_at="yesterday"), "not an ISO 8601 timestamp"),
    (good(6, occurred_at=12345), "occurred_at must be an ISO 8601 string"),
    (good(7, stage="qa"), "stage 'qa' is not one of"),
    (good(8, kind="deleted"), "kind 'deleted' is not one of"),
    (
        {"process": "Onboarding", "case_id": "C9", "occurred_at": "2025-03-01T10:00:00Z"},
        "kind is missing",
    ),
    (
        {"kind": "created", "case_id": "C10", "occurred_at": "2025-03-01T10:00:00Z"},
        "process is missing",
    ),
    (
        {"kind": "created", "process": "Onboarding", "occurred_at": "2025-03-01T10:00:00Z"},
        "case_id is missing",
    ),
    (good(11, occurred_at=None), "occurred_at is missing"),
    (good(12, occurred_at="1969-12-31T23:59:59Z"), "is before 1970-01-01"),
    (good(13, occurred_at="2999-01-01T00:00:00Z"), "day(s) in the future"),
    (good(14, kind="feedback", scale="csat5", score=9), "outside the csat5 scale 1-5"),
    (good(15, kind="feedback", scale="nps10", score=11), "outside the nps10 scale 0-10"),
    (good(16, kind="feedback", scale="stars", score=3), "scale 'stars' is not one of"),
    (good(17, kind="feedback", scale="csat5", score=4.5), "score must be a whole number"),
    (good(18, kind="feedback", scale="csat5"), "feedback has no score"),
    (good(19, due_at="2025-03-01T10:00:00"), "due_at"),
    (good(20, comment="x" * (1024 * 1024 + 10)), "longer than"),
]


@pytest.fixture
def mixed_file(tmp_path: Path) -> tuple[Path, dict[int, str], int]:
    rows: list[object] = []
    expected: dict[int, str] = {}
    n_good = 0
    for index, (bad, reason) in enumerate(BAD):
        rows.append(good(100 + index))
        n_good += 1
        rows.append(bad)
        expected[len(rows)] = reason
    rows.append(good(999, kind="feedback", scale="csat2", score=0, process=None, case_id=None))
    n_good += 1
    return write_jsonl(tmp_path / "mixed.jsonl", rows), expected, n_good  # type: ignore[arg-type]


def test_every_bad_line_is_quarantined_with_its_reason(cli, mixed_file) -> None:
    path, expected, n_good = mixed_file
    result = cli("import", str(path))
    assert result.code == 0, result.err
    assert "Traceback" not in result.err + result.out
    assert f"{len(expected)} rows quarantined, see `opspulse quarantine list`" in result.err
    listed = cli("quarantine", "list", "--format", "json").json()
    assert {row["line"]: row["reason"] for row in listed}.keys() == expected.keys()
    for row in listed:
        assert expected[row["line"]] in row["reason"], (row["line"], row["reason"])
        assert row["landing_file"].endswith("mixed.jsonl")
        assert row["raw"] is not None and len(row["raw"]) <= 1024
    cases = cli("cases", "--format", "json").json()
    assert (
        sum(c["n_events"] for c in cases) == n_good - 1
    )  # the case-less feedback is no case event


def test_a_file_with_no_good_row_exits_1_with_one_sentence(cli, tmp_path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", ["not json", "[1]"])
    result = cli("import", str(path))
    assert result.code == 1
    assert result.err.strip().startswith("error: no row could be loaded")
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err


def test_unknown_keys_are_kept_in_attributes_with_a_warning(cli, tmp_path) -> None:
    path = write_jsonl(tmp_path / "extra.jsonl", [good(1, priority="high", attributes={"a": 1})])
    result = cli("import", str(path))
    assert result.code == 0
    assert "unknown top-level keys" in result.err
    from warehouse.db import open_snapshot

    with open_snapshot(Path("home/default/published/warehouse.duckdb")) as con:
        (attributes,) = con.execute("select attributes from events").fetchone()
    assert '"priority":"high"' in attributes.replace(" ", "") and '"a":1' in attributes.replace(
        " ", ""
    )


def test_replay_loads_rows_fixed_by_a_status_map(cli, tmp_path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [good(1), good(2, stage="qa")])
    assert cli("import", str(path)).code == 0
    assert len(cli("quarantine", "list", "--format", "json").json()) == 1
    Path("opspulse.toml").write_text('[processes.Onboarding.status_map]\nqa = "review"\n')
    replay = cli("quarantine", "replay")
    assert replay.code == 0, replay.err
    assert cli("quarantine", "list", "--format", "json").json() == []
    assert len(cli("quarantine", "list", "--all", "--format", "json").json()) == 1
    cases = {c["case_id"]: c for c in cli("cases", "--format", "json").json()}
    assert set(cases) == {"C1", "C2"}
