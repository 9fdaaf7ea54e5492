"""The dashboard's pre-aggregations (metric_dash_*.sql) on tiny event tables, with exact rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.sqlkit import build_events, ev, simple_case, utc

DAY = timedelta(days=1)


def approx(value: float) -> object:
    return pytest.approx(value, rel=1e-9, abs=1e-9)


def test_metric_dash_weekly_flow_rework_and_csat_per_iso_week() -> None:
    t = utc(2025, 2, 3)  # a Monday
    built = build_events(
        [
            *simple_case("A", t, t + 2 * DAY),
            ev("B", "created", t, "active"),
            ev("B", "stage_changed", t + DAY, "review"),
            ev("B", "stage_changed", t + 2 * DAY, "active"),  # back from review: one revision round
            ev("B", "completed", t + 3 * DAY, "done"),
            *simple_case("C", t + 7 * DAY, t + 11 * DAY),
            ev("A", "feedback", t + 3 * DAY, scale="csat5", score=5),
            ev("B", "feedback", t + 9 * DAY, scale="csat5", score=2),
        ],
        as_of=date(2025, 3, 1),
    )
    rows = built.rows("metric_dash_weekly", "week_start")
    got = [
        (r["week_start"], r["iso_week"], r["completed"], r["n_cycle_time"], r["cycle_time_p50_days"],
         r["cycle_time_p85_days"], r["reworked"], r["rework_rate"], r["revision_rounds_mean"],
         r["csat_responses"], r["csat_positive"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        (date(2025, 2, 3), "2025-W06", 2, 2, approx(2.5), approx(2.85), 1, approx(0.5), approx(1.0), 1, 1),
        (date(2025, 2, 10), "2025-W07", 1, 1, approx(4.0), approx(4.0), 0, approx(0.0), None, 1, 0),
    ]  # fmt: skip


def test_metric_dash_stage_dwell_shares_by_exit_and_todays_queue() -> None:
    t = utc(2025, 2, 10)
    built = build_events(
        [
            ev("A", "created", t, "backlog"),
            ev("A", "stage_changed", t + DAY, "active"),
            ev("A", "stage_changed", t + 3 * DAY, "review"),
            ev("A", "completed", t + 4 * DAY, "done"),
            ev("B", "created", t, "active"),
            ev("B", "stage_changed", t + 2 * DAY, "review"),  # still in review at as_of
        ],
        as_of=date(2025, 3, 1),
    )
    rows = built.rows("metric_dash_stage_dwell", "window_name, stage")
    got = [
        (r["window_name"], r["stage"], r["visits"], r["dwell_p50_days"], r["dwell_total_days"],
         r["dwell_share"], r["queue"])
        for r in rows
    ]  # fmt: skip
    assert got == [
        ("current", "active", 2, approx(2.0), approx(4.0), approx(0.8), 0),
        ("current", "backlog", 1, approx(1.0), approx(1.0), None, 0),
        ("current", "review", 1, approx(1.0), approx(1.0), approx(0.2), 1),
        ("maturity", "active", 2, approx(2.0), approx(4.0), approx(0.8), None),
        ("maturity", "backlog", 1, approx(1.0), approx(1.0), None, None),
        ("maturity", "review", 1, approx(1.0), approx(1.0), approx(0.2), None),
    ]


def test_metric_dash_cfd_counts_items_per_stage_class_at_each_week_end() -> None:
    t = utc(2025, 2, 10)  # a Monday; as_of falls on the Wednesday of the next week
    built = build_events(
        [
            ev("A", "created", t, "backlog"),
            ev("A", "stage_changed", t + DAY, "active"),
            ev("A", "completed", t + 3 * DAY, "done"),
            ev("B", "created", t + 2 * DAY, "active"),
            ev("C", "created", t + 8 * DAY, "backlog"),
        ],
        as_of=date(2025, 2, 19),
    )
    rows = built.rows("metric_dash_cfd", "week_start, stage_class")
    assert [(r["week_start"], r["sampled_at"], r["stage_class"], r["items"]) for r in rows] == [
        (date(2025, 2, 10), utc(2025, 2, 17, 0), "active", 1),
        (date(2025, 2, 10), utc(2025, 2, 17, 0), "backlog", 0),
        (date(2025, 2, 10), utc(2025, 2, 17, 0), "done", 1),
        (date(2025, 2, 17), utc(2025, 2, 19, 0), "active", 1),
        (date(2025, 2, 17), utc(2025, 2, 19, 0), "backlog", 1),
        (date(2025, 2, 17), utc(2025, 2, 19, 0), "done", 1),
    ]


def test_metric_dash_aging_open_items_with_stage_age_and_idle_days() -> None:
    built = build_events(
        [
            ev("A", "created", utc(2025, 2, 20), "active", assignee="ann"),
            ev("A", "stage_changed", utc(2025, 2, 25), "review"),
            ev("B", "created", utc(2025, 2, 27), "backlog"),
            *simple_case("C", utc(2025, 2, 20), utc(2025, 2, 22)),
            ev("D", "created", utc(2025, 3, 2), "active"),  # after as_of
        ],
        as_of=date(2025, 3, 1),
    )
    rows = built.rows("metric_dash_aging", "case_id")
    got = [(r["case_id"], r["assignee"], r["stage"], r["age_days"], r["idle_days"]) for r in rows]
    assert got == [
        ("A", "ann", "review", approx(8.5), approx(3.5)),
        ("B", None, "backlog", None, approx(1.5)),
    ]
