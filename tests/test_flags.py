"""Task-level flags T1-T9 (METRICS.md §5.1) on tiny warehouses, and their life cycle (§6)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest

from tests.conftest import write_jsonl
from tests.sqlkit import Built, build_events, ev, ny, simple_case, utc
from warehouse.flag_state import evaluate_flags, fingerprint

AS_OF = date(2025, 2, 12)  # a Wednesday; the instant is local midnight
DAY = timedelta(days=1)


def flags(built: Built, flag_id: str) -> list[tuple[Any, ...]]:
    """(dim, severity, observed, explanation) of one flag's rows, by dim."""
    rows = built.rows("flag_task", "dim", f"flag_id = '{flag_id}'")
    for r in rows:
        assert r["level"] == "task" and r["action"] == r["explanation"]
        assert r["route"] == ("owner+va" if flag_id == "T7" else "va")
    return [(r["dim"], r["severity"], pytest.approx(r["observed"]), r["explanation"]) for r in rows]


def opened(case: str, at: datetime, stage: str = "backlog", **extra: Any) -> dict[str, Any]:
    return ev(case, "created", at, stage, **extra)


# --- T1-T9 -----------------------------------------------------------------------------------


def test_t1_overdue_in_business_days_medium_when_late_or_client_facing() -> None:
    events = [
        opened("A", utc(2025, 2, 3), assignee="ann", client_id="acme", case_title="Logo",
               due_at=utc(2025, 2, 6)),  # Thu noon: 0.5 + Fri = 1.5 bdays
        opened("B", utc(2025, 2, 3), assignee="ann", due_at=utc(2025, 2, 8)),  # Saturday: 0
        opened("C", utc(2025, 2, 3), assignee="ann", due_at=utc(2025, 2, 10)),  # as_of itself
        opened("D", utc(2025, 1, 27), assignee="ann", due_at=utc(2025, 2, 3, 0)),  # 5 bdays
        opened("E", utc(2025, 2, 3), process="Q", due_at=utc(2025, 2, 7)),  # client-facing
        ev("F", "created", utc(2025, 2, 3), "active", due_at=utc(2025, 2, 5)),
        ev("F", "completed", utc(2025, 2, 7), "done"),  # finished late: not open
    ]  # fmt: skip
    built = build_events(
        events, as_of=date(2025, 2, 10), processes=[("Q", "standard", True, "first_done")]
    )  # as_of is a Monday
    text = (
        "'{}' for {} is {} days overdue. Ask {} to finish it or agree a new date with the client."
    )
    assert flags(built, "T1") == [
        ("A", "low", 1.5, text.format("Logo", "acme", "1.5", "ann")),
        ("D", "medium", 5.0, text.format("D", "the client", "5", "ann")),
        ("E", "medium", 0.5, text.format("E", "the client", "0.5", "the owner")),
    ]


def test_t2_unassigned_after_24h_or_in_an_active_stage() -> None:
    built = build_events(
        [
            opened("A", utc(2025, 2, 10, 12)),  # 36h old, backlog
            opened("B", utc(2025, 2, 11, 12)),  # 12h old, backlog: near miss
            opened("C", utc(2025, 2, 11, 12), "active"),  # young but active
            opened("D", utc(2025, 2, 1), assignee="ann"),  # assigned
        ],
        as_of=AS_OF,
    )
    text = "2 P tasks have no owner. Assign them at today's check-in."
    assert flags(built, "T2") == [("A", "low", 1.5, text), ("C", "low", 0.5, text)]


def test_t3_stale_after_seven_idle_days() -> None:
    built = build_events(
        [
            opened("A", utc(2025, 2, 1), "active", case_title="Site copy"),
            ev("A", "assigned", utc(2025, 2, 4, 12), assignee="ann"),  # idle 7.5 days
            opened("B", utc(2025, 2, 1), "active"),
            ev("B", "assigned", utc(2025, 2, 5, 12), assignee="ann"),  # idle 6.5: near miss
            opened("C", utc(2025, 2, 1), "waiting_on_client"),  # waiting: excluded
            opened("D", utc(2025, 2, 1)),  # never started
        ],
        as_of=AS_OF,
    )
    assert flags(built, "T3") == [
        ("A", "medium", 7.5, "'Site copy' has had no activity for 7.5 days, longer than 85% of "
                             "similar tasks take. Check whether it is blocked."),
    ]  # fmt: skip


@pytest.mark.parametrize("completions", [8, 7])
def test_t3_aging_above_p85_needs_eight_completions(completions: int) -> None:
    done = [
        e
        for i in range(completions)
        for e in simple_case(f"K{i}", utc(2025, 1, 2), utc(2025, 1, 2) + (i + 1) * DAY)
    ]
    built = build_events(
        [
            *done,
            opened("E", utc(2025, 2, 4, 12), "active"),  # age 7.5 > p85 of 1..8 days = 6.95
            ev("E", "assigned", utc(2025, 2, 11), assignee="ann"),
            opened("F", utc(2025, 2, 6), "active"),  # age 6: near miss
            ev("F", "assigned", utc(2025, 2, 11), assignee="ann"),
        ],
        as_of=AS_OF,
    )
    expected = [
        ("E", "medium", 7.5, "'E' has had no activity for 7.5 days, longer than 85% of similar "
                             "tasks take. Check whether it is blocked."),
    ]  # fmt: skip
    assert flags(built, "T3") == (expected if completions == 8 else [])
    if completions == 8:
        (row,) = built.rows("flag_task", where="flag_id = 'T3'")
        assert row["baseline"] == pytest.approx(6.95)


def test_t4_due_within_two_business_days_still_in_backlog() -> None:
    built = build_events(
        [
            opened("A", utc(2025, 2, 3), assignee="ann", due_at=utc(2025, 2, 13)),  # 1.5 bdays
            opened("B", utc(2025, 2, 3), assignee="ann", due_at=utc(2025, 2, 14, 0)),  # exactly 2
            opened("C", utc(2025, 2, 3), "active", assignee="ann", due_at=utc(2025, 2, 13)),
            opened("D", utc(2025, 2, 3), assignee="ann", due_at=utc(2025, 2, 17)),  # 3.5: miss
            opened("E", utc(2025, 2, 3), assignee="ann", due_at=utc(2025, 2, 12, 15)),  # today
        ],
        as_of=AS_OF,
    )
    assert flags(built, "T4") == [
        ("A", "low", 1.5, "'A' is due tomorrow but hasn't started."),
        ("B", "low", 2.0, "'B' is due on Fri 2025-02-14 but hasn't started."),
        ("E", "low", 0.625, "'E' is due today but hasn't started."),
    ]


def test_t5_unanswered_ticket_after_twelve_hours_high_after_twenty_four() -> None:
    s = {"process": "S"}
    built = build_events(
        [
            opened("A", utc(2025, 2, 11, 6), **s),  # 18h
            opened("B", utc(2025, 2, 10, 12), **s),  # 36h
            opened("C", utc(2025, 2, 11, 13), **s),  # 11h: near miss
            opened("D", utc(2025, 2, 10, 12), **s),
            ev("D", "commented", utc(2025, 2, 10, 14), public=True, actor="agent", **s),
            opened("E", utc(2025, 2, 10, 12)),  # not a support process
        ],
        as_of=AS_OF,
        processes=[("S", "support", True, "first_done")],
    )
    text = "2 customer messages have waited longer than 12h. Clear them today."
    assert flags(built, "T5") == [("A", "medium", 18.0, text), ("B", "high", 36.0, text)]
    assert {r["baseline"] for r in built.rows("flag_task", where="flag_id = 'T5'")} == {12.0}


def test_t5_follows_the_process_first_reply_target() -> None:
    # process.S.frt_target_hours = 8: 11h is late and 18h is more than twice the target.
    s = {"process": "S"}
    built = build_events(
        [
            opened("A", utc(2025, 2, 11, 6), **s),  # 18h
            opened("C", utc(2025, 2, 11, 13), **s),  # 11h
            opened("F", utc(2025, 2, 11, 17), **s),  # 7h: near miss
        ],
        as_of=AS_OF,
        processes=[("S", "support", True, "first_done")],
        frt_targets={"S": 8.0},
    )
    text = "2 customer messages have waited longer than 8h. Clear them today."
    assert flags(built, "T5") == [("A", "high", 18.0, text), ("C", "medium", 11.0, text)]
    assert {r["baseline"] for r in built.rows("flag_task", where="flag_id = 'T5'")} == {8.0}


def test_t6_missing_due_date_on_open_non_support_tasks() -> None:
    built = build_events(
        [
            opened("A", utc(2025, 2, 10), assignee="ann"),  # 36h, no due date
            opened("B", utc(2025, 2, 11, 12), assignee="ann"),  # 12h: near miss
            opened("C", utc(2025, 2, 10), assignee="ann", due_at=utc(2025, 3, 1)),
            opened("D", utc(2025, 2, 10), process="S"),  # support
        ],
        as_of=AS_OF,
        processes=[("S", "support", True, "first_done")],
    )
    assert flags(built, "T6") == [
        ("A", "info", 1.5, "Add due dates to 1 new tasks so delays can be spotted.")
    ]


def feedback(event_id: str, at: datetime, scale: str, score: int, **extra: Any) -> dict[str, Any]:
    return ev("A", "feedback", at, event_id=event_id, scale=scale, score=score, **extra)


def test_t7_detractor_responses_of_the_last_seven_days() -> None:
    built = build_events(
        [
            *simple_case("A", utc(2025, 2, 1), utc(2025, 2, 3)),
            feedback("r1", utc(2025, 2, 10), "csat5", 2, client_id="acme", comment="Too slow"),
            feedback("r2", utc(2025, 2, 10), "csat5", 3),  # neutral: near miss
            feedback("r3", utc(2025, 2, 5, 0), "nps10", 6),  # first instant of the 7 days
            feedback("r4", utc(2025, 2, 4, 23), "csat2", 0),  # too old: near miss
            feedback("r5", utc(2025, 2, 11), "csat2", 0, client_id="bob"),
            feedback("r6", utc(2025, 2, 11), "nps10", 7),  # passive: near miss
            feedback("r7", utc(2025, 2, 11), "csat3", 1),
        ],
        as_of=AS_OF,
    )
    assert flags(built, "T7") == [
        ("r1", "medium", 2.0, "acme rated P 2/5: 'Too slow'. Reply personally within 24h."),
        ("r3", "medium", 6.0, "The client rated P 6/10. Reply personally within 24h."),
        ("r5", "medium", 0.0, "bob rated P bad. Reply personally within 24h."),
        ("r7", "medium", 1.0, "The client rated P 1/3. Reply personally within 24h."),
    ]
    assert {r["case_id"] for r in built.rows("flag_task", where="flag_id = 'T7'")} == {"A"}


def test_t8_waiting_on_client_more_than_five_business_days() -> None:
    built = build_events(
        [
            opened("A", utc(2025, 2, 3), "active", client_id="acme", case_title="Brief"),
            ev("A", "stage_changed", utc(2025, 2, 4, 12), "waiting_on_client"),  # 5.5 bdays
            opened("B", utc(2025, 2, 3), "active"),
            ev("B", "stage_changed", utc(2025, 2, 5, 0), "waiting_on_client"),  # 5: near miss
            opened("C", utc(2025, 2, 3), "active"),
            ev("C", "stage_changed", utc(2025, 2, 3, 13), "waiting_on_client"),
            ev("C", "stage_changed", utc(2025, 2, 11), "active"),  # back with the team
        ],
        as_of=AS_OF,
    )
    assert flags(built, "T8") == [
        ("A", "low", 5.5, "acme hasn't sent the input for 'Brief' for 5.5 days. Send a friendly nudge."),
    ]  # fmt: skip


def test_t9_invoice_more_than_seven_days_late() -> None:
    inv = {"process": "Inv", "assignee": "ann"}
    built = build_events(
        [
            opened("I-1", utc(2025, 1, 20), client_id="acme", due_at=utc(2025, 2, 4, 0), **inv),
            opened("I-2", utc(2025, 1, 20), due_at=utc(2025, 2, 5, 0), **inv),  # 7 days: miss
            opened("I-3", utc(2025, 1, 2), due_at=utc(2025, 1, 20), **inv),
            ev("I-3", "completed", utc(2025, 2, 1), "done", process="Inv"),  # paid
            opened("I-4", utc(2025, 1, 2), due_at=utc(2025, 1, 20, 0)),  # not invoicing
        ],
        as_of=AS_OF,
        processes=[("Inv", "invoicing", True, "first_done")],
    )
    assert flags(built, "T9") == [
        ("I-1", "medium", 8.0, "Invoice I-1 for acme is 8 days late. Send reminder #1."),
    ]


def test_every_flag_fills_every_placeholder_in_a_new_york_workspace() -> None:
    built = build_events(
        [
            opened("A", ny(2025, 1, 27), due_at=ny(2025, 2, 3)),  # T1, T2
            opened("B", ny(2025, 2, 3), "active"),  # T2, T3, T6
            opened("C", ny(2025, 2, 3), assignee="ann", due_at=ny(2025, 2, 13)),  # T4
            opened("S1", ny(2025, 2, 10), process="S"),  # T5
            *simple_case("D", ny(2025, 2, 1), ny(2025, 2, 3)),
            feedback("r1", ny(2025, 2, 10), "csat5", 1, case_id="D"),  # T7
            opened("E", ny(2025, 1, 27), "active", assignee="ann", due_at=ny(2025, 3, 1)),
            ev("E", "stage_changed", ny(2025, 2, 3), "waiting_on_client"),  # T8
            opened("I", ny(2025, 1, 2), process="Inv", due_at=ny(2025, 1, 20)),  # T9
        ],
        as_of=AS_OF,
        tz="America/New_York",
        processes=[
            ("S", "support", True, "first_done"),
            ("Inv", "invoicing", True, "first_done"),
        ],
    )
    rows = built.rows("flag_task")
    assert {r["flag_id"] for r in rows} == {f"T{i}" for i in range(1, 10)}
    for r in rows:
        assert not re.search(r"[{}]", r["explanation"]), r
        assert r["observed"] is not None and r["severity"] in ("info", "low", "medium", "high")


# --- life cycle (METRICS.md §6) --------------------------------------------------------------

FIRST = datetime(2025, 2, 12, 6, tzinfo=UTC)


def flag_row(case: str, flag_id: str = "T1", severity: str = "low") -> dict[str, Any]:
    return {"flag_id": flag_id, "name": "n", "level": "task", "process": "P", "case_id": case,
            "dim": case, "severity": severity, "observed": 1.0, "baseline": None,
            "explanation": "x", "action": "x", "route": "va"}  # fmt: skip


def run(con: duckdb.DuckDBPyConnection, day: int, *rows: dict[str, Any]) -> dict[str, int]:
    """One evaluation on 2025-02-<day> whose flag_task holds exactly `rows`."""
    con.execute("delete from flag_task")
    for r in rows:
        con.execute(f"insert into flag_task values ({', '.join('?' * len(r))})", list(r.values()))
    return evaluate_flags(con, "w", date(2025, 2, day), FIRST + (day - 12) * DAY)


def states(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    found = con.execute(
        "select dim, status, open_runs, clean_runs, resolved_at is not null from flag_state"
    ).fetchall()
    return {r[0]: r[1:] for r in found}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    return build_events([opened("A", utc(2025, 2, 3))], as_of=AS_OF).con


def test_pending_firing_recovering_resolved(con: duckdb.DuckDBPyConnection) -> None:
    run(con, 12, flag_row("A"))
    assert states(con) == {"A": ("pending", 1, 0, False)}
    run(con, 13, flag_row("A", severity="medium"))
    assert states(con) == {"A": ("firing", 2, 0, False)}
    run(con, 14)
    assert states(con) == {"A": ("recovering", 2, 1, False)}
    run(con, 15, flag_row("A"))  # back: fires again, the clean count resets
    assert states(con) == {"A": ("firing", 3, 0, False)}
    run(con, 16)
    run(con, 17)
    assert states(con) == {"A": ("resolved", 3, 2, True)}
    run(con, 18)  # stays resolved
    assert states(con) == {"A": ("resolved", 3, 2, True)}
    (rec,) = con.execute(
        "select fingerprint, first_seen_at, last_seen_at, resolved_at, as_of, trigger "
        "from flag_state"
    ).fetchall()
    assert rec[0] == fingerprint("w", "P", "T1", "A")
    assert (rec[1], rec[2], rec[3]) == (FIRST, FIRST + 3 * DAY, FIRST + 5 * DAY)
    assert rec[4:] == (date(2025, 2, 17), "rule")  # a resolved record is left alone
    run(con, 19, flag_row("A"))  # a new occurrence starts pending again
    assert states(con) == {"A": ("pending", 1, 0, False)}


def test_a_pending_flag_that_clears_goes_silently_inactive(
    con: duckdb.DuckDBPyConnection,
) -> None:
    run(con, 12, flag_row("A"), flag_row("B"))
    run(con, 13, flag_row("A"))
    assert states(con) == {"A": ("firing", 2, 0, False)}


def test_the_same_as_of_twice_does_not_advance(con: duckdb.DuckDBPyConnection) -> None:
    assert run(con, 12, flag_row("A")) == {"pending": 1}
    assert run(con, 12, flag_row("A")) == {}
    assert states(con) == {"A": ("pending", 1, 0, False)}
    assert run(con, 11, flag_row("A")) == {}  # nor does an older one
    assert run(con, 13, flag_row("A")) == {"firing": 1}


def test_t7_and_critical_fire_on_the_first_run(con: duckdb.DuckDBPyConnection) -> None:
    run(con, 12, flag_row("r1", "T7", "medium"), flag_row("X", "O3", "critical"))
    assert states(con) == {"r1": ("firing", 1, 0, False), "X": ("firing", 1, 0, False)}


def test_detect_evaluates_the_built_flags_once_per_as_of() -> None:
    from models.settings import MaturityConfig
    from warehouse.detect import detect

    built = build_events([opened("A", utc(2025, 2, 3), due_at=utc(2025, 2, 5))], as_of=AS_OF)
    for _ in range(2):
        detect(built.con, workspace="w", as_of=AS_OF, timezone="UTC", cfg=MaturityConfig(),
               now=FIRST)  # fmt: skip
    got = built.con.execute("select flag_id, status from flag_state order by 1").fetchall()
    assert got == [("T1", "pending"), ("T2", "pending")]


# --- CLI -------------------------------------------------------------------------------------


def test_flags_command_shows_an_overdue_task_pending_then_firing(cli, tmp_path) -> None:
    task = {"process": "P", "kind": "created", "stage": "backlog", "assignee": "ann",
            "client_id": "acme", "case_title": "Logo", "due_at": "2025-03-03T17:00:00Z"}  # fmt: skip

    def imported(name: str, case: str, at: str, **extra: str) -> None:
        path = write_jsonl(tmp_path / name, [{**task, "case_id": case, "occurred_at": at, **extra}])
        assert cli("import", str(path)).code == 0

    # Due Wed 2025-01-08 17:00 UTC; as_of is the day after the last event.
    imported("a.jsonl", "A", "2025-01-08T09:00:00Z", due_at="2025-01-08T17:00:00Z")
    (row,) = cli("flags", "--format", "json").json()  # as_of 01-09: 7h late
    assert (row["id"], row["status"], row["case_id"], row["dim"]) == ("T1", "pending", "A", "A")
    assert row["observed"] == pytest.approx(7 / 24)
    imported("b.jsonl", "B", "2025-01-12T09:00:00Z")  # as_of Mon 01-13
    (row,) = cli("flags", "--format", "json").json()
    assert (row["status"], row["severity"], row["as_of"]) == ("firing", "low", "2025-01-13")
    imported("c.jsonl", "C", "2025-01-13T09:00:00Z")  # as_of Tue 01-14: > 3 bdays
    (row,) = cli("flags", "--format", "json").json()
    assert (row["status"], row["severity"], row["as_of"]) == ("firing", "medium", "2025-01-14")
    assert row["trigger"] == "rule" and row["level"] == "task" and row["workspace"] == "default"
    assert (
        row["explanation"]
        == row["action"]
        == (
            "'Logo' for acme is 3.3 days overdue. Ask ann to finish it or agree a new date with the "
            "client."
        )
    )
    assert cli("flags", "--level", "operations", "--format", "json").json() == []
    table = cli("flags").out
    assert "T1" in table and "firing" in table
    assert cli("flags", "--level", "nope").code != 0
