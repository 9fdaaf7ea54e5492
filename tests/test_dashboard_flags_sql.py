"""The task queue's and flags page's SQL readers (dashboards/data.py) against a plain pandas reading.

A snapshot with 1,300 flag records (more than FLAG_LIMIT open task flags) is written straight into
flag_state after the migrations; each filter of `data.flag_page` must keep exactly the records a
pandas filter over every record keeps, most severe first, and `data.flag_counts` must sum to the
counts pandas finds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

from dashboards import data
from dashboards.summaries import OPEN_STATUSES
from warehouse.migrate import migrate

STATUSES = [*OPEN_STATUSES, "resolved"]
SEVERITIES = ["critical", "high", "medium", "low", "info", "unrated"]  # unrated ranks as "else"
RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
TASK_FLAGS = [("T1", "Overdue task"), ("T2", "Unassigned"), ("T3", "Stale item")]
OPS_FLAGS = [("O1", "Cycle time rising"), ("O4", "Bottleneck")]
PROCESSES = ["Billing", "Hiring", "Onboarding"]
TITLES = ["Launch plan", "Invoice run", "50% off_sale's page", "Hire a designer", None]
ASSIGNEES = ["ann", "Bo Chen", "carla", None]
SEEN = datetime(2026, 1, 5, 6, tzinfo=UTC)

Record = dict[str, Any]


def _records(rng: random.Random) -> tuple[list[Record], list[Record]]:
    """Flag records and the cases they point at (some task flags point at no case)."""
    flags: list[Record] = []
    cases: dict[tuple[str, str], Record] = {}
    for i in range(1300):
        ops = i % 10 == 0
        flag_id, name = rng.choice(OPS_FLAGS if ops else TASK_FLAGS)
        process = rng.choice(PROCESSES)
        case_id = None if ops else f"C-{i:04d}"
        flags.append({
            "fingerprint": f"fp{i:05d}", "flag_id": flag_id, "name": name,
            "level": "operations" if ops else "task", "workspace": "w", "process": process,
            "case_id": case_id, "dim": f"stage {i % 7}" if ops else None,
            "severity": rng.choice(SEVERITIES), "status": rng.choice(STATUSES),
            "as_of": date(2026, 1, 5), "observed": float(i), "baseline": 1.0,
            "explanation": f"flag {i} needs a look", "action": "look", "trigger": "rule",
            "first_seen_at": SEEN - timedelta(days=i % 30), "last_seen_at": SEEN,
            "open_runs": 1, "clean_runs": 0,
        })  # fmt: skip
        if case_id and i % 13:
            cases[(process, case_id)] = {
                "process": process, "case_id": case_id, "case_title": rng.choice(TITLES),
                "assignee": rng.choice(ASSIGNEES),
            }  # fmt: skip
    return flags, list(cases.values())


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[Record]) -> None:
    cols = list(rows[0])
    con.executemany(
        f"insert into {table} ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
        [[r[c] for c in cols] for r in rows],
    )


def _snapshot(path: Path, flags: list[Record], cases: list[Record]) -> tuple[str, float]:
    with duckdb.connect(str(path)) as con:
        migrate(con)
        con.execute(
            "create table fct_cases (process varchar, case_id varchar, case_title varchar, "
            "assignee varchar, state varchar)"
        )
        _insert(con, "flag_state", flags)
        _insert(con, "fct_cases", cases)
    return str(path), path.stat().st_mtime


# The module's tests share one generated snapshot (its fixture), so one worker runs them all.
pytestmark = pytest.mark.xdist_group("dashboard-flags-sql")


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[str, float], pd.DataFrame]:
    """The snapshot's (path, mtime) and every flag record joined to its case, read plainly."""
    flags, cases = _records(random.Random(7))
    key = _snapshot(tmp_path_factory.mktemp("flags") / "warehouse.duckdb", flags, cases)
    frame = pd.DataFrame(flags).merge(pd.DataFrame(cases), how="left", on=["process", "case_id"])
    return key, frame


def _expected(frame: pd.DataFrame, keep: pd.Series) -> list[str]:
    """Fingerprints of the kept records, most severe first, then id, process, case (nulls last)."""
    rows = frame[keep].to_dict("records")
    rows.sort(
        key=lambda r: (
            RANK.get(r["severity"], 4), r["flag_id"], r["process"], r["case_id"] is None,
            r["case_id"] or "", r["dim"] or "", r["fingerprint"],
        )
    )  # fmt: skip
    return [r["fingerprint"] for r in rows]


def _open_tasks(frame: pd.DataFrame) -> pd.Series:
    return (frame["level"] == "task") & frame["status"].isin(OPEN_STATUSES)


def _hay(frame: pd.DataFrame) -> pd.Series:
    """What the task queue's search text matches: case id, title and assignee joined by spaces."""
    return frame[["case_id", "case_title", "assignee"]].fillna("").agg(" ".join, axis=1)


def test_task_queue_page_is_the_500_most_severe_open_tasks_with_the_full_total(
    everything: tuple[tuple[str, float], pd.DataFrame],
) -> None:
    key, frame = everything
    expected = _expected(frame, _open_tasks(frame))
    assert len(expected) > data.FLAG_LIMIT
    page, total = data.flag_page(*key, level="task", statuses=OPEN_STATUSES)
    assert total == len(expected)
    assert len(page) == data.FLAG_LIMIT
    assert list(page["fingerprint"]) == expected[: data.FLAG_LIMIT]
    ranks = [RANK.get(s, 4) for s in page["severity"]]
    assert ranks == sorted(ranks) and ranks[0] == 0
    # Title and assignee come from the record's case; a flag without a case still shows.
    joined = frame.set_index("fingerprint").loc[list(page["fingerprint"])]
    for column in ("case_title", "assignee"):
        assert list(page[column].fillna("-")) == list(joined[column].fillna("-"))
    assert page["case_title"].isna().any() and page["case_title"].notna().any()


FILTERS: list[tuple[str, dict[str, Any], Callable[[pd.DataFrame], pd.Series]]] = [
    ("everything", {}, lambda f: f["level"].notna()),
    ("level operations", {"level": "operations"}, lambda f: f["level"] == "operations"),
    ("level task", {"level": "task"}, lambda f: f["level"] == "task"),
    ("status firing", {"statuses": ("firing",)}, lambda f: f["status"] == "firing"),
    ("open statuses", {"statuses": OPEN_STATUSES}, lambda f: f["status"].isin(OPEN_STATUSES)),
    (
        "severity critical and unrated",
        {"severities": ("critical", "unrated")},
        lambda f: f["severity"].isin(["critical", "unrated"]),
    ),
    (
        "operations, firing, high",
        {"level": "operations", "statuses": ("firing",), "severities": ("high",)},
        lambda f: (
            (f["level"] == "operations") & (f["status"] == "firing") & (f["severity"] == "high")
        ),
    ),
    (
        "task name",
        {"level": "task", "statuses": OPEN_STATUSES, "names": ("Unassigned",)},
        lambda f: _open_tasks(f) & (f["name"] == "Unassigned"),
    ),
    (
        "two processes",
        {"level": "task", "statuses": OPEN_STATUSES, "processes": ("Billing", "Hiring")},
        lambda f: _open_tasks(f) & f["process"].isin(["Billing", "Hiring"]),
    ),
    (
        "name and process",
        {
            "level": "task",
            "statuses": OPEN_STATUSES,
            "names": ("Stale item",),
            "processes": ("Onboarding",),
        },
        lambda f: _open_tasks(f) & (f["name"] == "Stale item") & (f["process"] == "Onboarding"),
    ),
]

TEXTS = [
    "c-000",  # case ids, in another case
    "LAUNCH",  # titles, in another case
    "bo chen",  # assignees
    "2 Hire",  # across the case id and the title, as the joined text reads
    "%",  # a literal percent sign, not a wildcard
    "off_sale's",  # a literal underscore and quote
    "no-such-case-anywhere",
]


@pytest.mark.parametrize(("filters", "keep"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS])
def test_each_filter_keeps_what_a_pandas_filter_keeps(
    everything: tuple[tuple[str, float], pd.DataFrame],
    filters: dict[str, Any],
    keep: Callable[[pd.DataFrame], pd.Series],
) -> None:
    key, frame = everything
    expected = _expected(frame, keep(frame))
    page, total = data.flag_page(*key, **filters)
    assert total == len(expected)
    assert list(page["fingerprint"]) == expected[: data.FLAG_LIMIT]


@pytest.mark.parametrize("text", TEXTS)
def test_search_text_is_a_case_insensitive_literal_substring(
    everything: tuple[tuple[str, float], pd.DataFrame], text: str
) -> None:
    key, frame = everything
    hits = _hay(frame).str.contains(text, case=False, regex=False)
    expected = _expected(frame, _open_tasks(frame) & hits)
    page, total = data.flag_page(*key, level="task", statuses=OPEN_STATUSES, text=text)
    assert total == len(expected)
    assert list(page["fingerprint"]) == expected[: data.FLAG_LIMIT]
    if text != "no-such-case-anywhere":
        assert total > 0, text
    else:
        assert page.empty


def test_flag_counts_sum_to_the_counts_of_every_record(
    everything: tuple[tuple[str, float], pd.DataFrame],
) -> None:
    key, frame = everything
    counts = data.flag_counts(*key)
    assert len(counts) < len(frame) // 4  # a summary, not the records
    by_status = counts.groupby("status")["n"].sum().to_dict()
    assert by_status == frame["status"].value_counts().to_dict()
    tasks = counts[(counts["level"] == "task") & counts["status"].isin(OPEN_STATUSES)]
    assert tasks.groupby("name")["n"].sum().to_dict() == (
        frame[_open_tasks(frame)]["name"].value_counts().to_dict()
    )
    assert sorted(tasks["process"].unique()) == sorted(
        frame[_open_tasks(frame)]["process"].unique()
    )


def test_snapshot_without_flags_or_silence_columns(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert data.flag_counts(str(empty), 1.0).empty
    page, total = data.flag_page(str(empty), 1.0, level="task")
    assert page.empty and total == 0
    # A snapshot from before acknowledge and snooze (migration 006) reads them as empty.
    flags, cases = _records(random.Random(1))
    path, mtime = _snapshot(tmp_path / "old.duckdb", flags[:20], cases)
    with duckdb.connect(path) as con:
        for column in ("acknowledged_at", "snoozed_until", "snooze_reason"):
            con.execute(f"alter table flag_state drop column {column}")
    page, total = data.flag_page(path, mtime + 1)
    assert total == 20 and len(page) == 20
    assert page["acknowledged_at"].isna().all() and page["snooze_reason"].isna().all()
    assert set(data._SILENCE) <= set(page.columns)
