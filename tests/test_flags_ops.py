"""Operations flags O1-O14 (METRICS.md §5.2), escalation (§5.3), inhibition and history replay
(§6), on small hand-made warehouses."""

from __future__ import annotations

from datetime import date, timedelta

from pytest import approx

from tests.sqlkit import build_events, ev, utc

DAY = timedelta(days=1)


def test_flag_status_visits_split_moves_within_a_stage_class_and_keep_the_holder() -> None:
    built = build_events(
        [
            ev("A", "created", utc(2025, 2, 3), "backlog", original_status="New", assignee="ann"),
            ev("A", "stage_changed", utc(2025, 2, 4), "active", original_status="Kickoff"),
            ev("A", "stage_changed", utc(2025, 2, 5), "active", original_status="Access setup"),
            ev("A", "assigned", utc(2025, 2, 5, 13), assignee="olivia"),
            ev("A", "commented", utc(2025, 2, 6), actor="olivia"),
            ev("A", "stage_changed", utc(2025, 2, 8), "active", original_status="Access setup"),
            ev("A", "assigned", utc(2025, 2, 9), assignee="bob"),
            ev("A", "stage_changed", utc(2025, 2, 9, 18), "review", original_status="Check"),
            ev("B", "created", utc(2025, 2, 3), "active"),
        ],
        as_of=date(2025, 3, 1),
    )
    visits = built.rows("flag_status_visits", "case_id, visit_no")
    assert [
        (v["case_id"], v["visit_no"], v["stage"], v["stage_class"], v["dwell_days"], v["holder"])
        for v in visits
    ] == [
        ("A", 1, "New", "backlog", approx(1.0), "ann"),
        ("A", 2, "Kickoff", "active", approx(1.0), "ann"),
        # The same status twice in a row is one visit; the holder is the one at its end.
        ("A", 3, "Access setup", "active", approx(4.25), "bob"),
        ("A", 4, "Check", "review", None, "bob"),
        ("B", 1, "active", "active", None, None),
    ]
