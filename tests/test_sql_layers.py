"""Every SQL layer file on tiny event tables, with exact expected rows (issue #3, AC 1 and 2)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from models.settings import MetricsConfig
from tests.sqlkit import build_events, ev, ny, simple_case, utc
from warehouse.build import build
from warehouse.metrics import metric_params

DAY = timedelta(days=1)


def approx(value: float, rel: float = 1e-9) -> object:
    return pytest.approx(value, rel=rel, abs=1e-9)


def wilson(k: int, n: int, z: float) -> tuple[float, float]:
    """Independent Wilson interval (METRICS.md §3.3)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return centre - half, centre + half


# --- staging ---------------------------------------------------------------------------------


def test_stg_events_moves_reopens_and_connector_stage_precedence() -> None:
    built = build_events(
        [
            ev("A", "created", utc(2025, 2, 3), "active"),
            ev("A", "stage_changed", utc(2025, 2, 4), "review"),
            ev("A", "stage_changed", utc(2025, 2, 5), "active"),
            ev("A", "completed", utc(2025, 2, 6), "done"),
            ev("A", "reopened", utc(2025, 2, 7), "active"),
            # A connector's name-table guess ("review") loses to the workspace status map (done).
            ev("K", "created", utc(2025, 2, 3), "backlog", source="asana", original_status="Todo"),
            ev(
                "K",
                "stage_changed",
                utc(2025, 2, 4),
                "review",
                source="asana",
                original_status="Shipped",
            ),
        ],
        as_of=date(2025, 3, 1),
        status_map=[("P", "Shipped", "done")],
    )
    a = built.rows("stg_events", "seq", "case_id = 'A'")
    assert [r["stage_after"] for r in a] == ["active", "review", "active", "done", "active"]
    assert [r["is_backward"] for r in a] == [False, False, True, False, False]
    assert [r["is_revision"] for r in a] == [False, False, True, False, False]
    assert [r["is_reopen_from_done"] for r in a] == [False, False, False, False, True]
    k = built.rows("stg_events", "seq", "case_id = 'K'")
    assert [r["stage_after"] for r in k] == ["backlog", "done"]


STAGE_COLUMNS = (
    "seq",
    "stage_set",
    "stage_before",
    "stage_after",
    "from_eff",
    "is_move",
    "is_enter",
    "is_backward",
    "is_revision",
    "is_done_entry",
)


def test_stg_process_mode_staged_generic_mapped_and_chain() -> None:
    built = build_events(
        [
            ev("A", "created", utc(2025, 2, 3), "active"),  # S: its events carry stages
            ev("B", "stage_changed", utc(2025, 2, 3), None, process="G", original_status="Check"),
            ev("C", "stage_changed", utc(2025, 2, 3), None, process="M", original_status="Doing"),
            {"kind": "feedback", "occurred_at": utc(2025, 2, 4), "process": "F", "case_id": "X",
             "stage": "done"},  # feedback only: no task events, no row
        ],
        as_of=date(2025, 3, 1),
        status_map=[("M", "Doing", "active")],
        ct_start=[("G", 1, "created")],
    )  # fmt: skip
    assert built.rows("stg_process_mode", "process") == [
        {"process": "G", "is_staged": False, "has_chain": True},
        {"process": "M", "is_staged": True, "has_chain": False},
        {"process": "P", "is_staged": True, "has_chain": False},
    ]


def test_stg_event_stages_is_a_view_with_the_moves_stg_events_widens() -> None:
    built = build_events(
        [
            ev("S", "stage_changed", utc(2025, 2, 3), "backlog"),
            ev("S", "created", utc(2025, 2, 4), "active"),  # not the first event: does not move
            ev("S", "assigned", utc(2025, 2, 4, 13), assignee="ann"),
            ev("S", "stage_changed", utc(2025, 2, 5), "review"),
            ev("S", "stage_changed", utc(2025, 2, 6), "waiting_on_client"),
            ev("S", "stage_changed", utc(2025, 2, 7), "active"),  # back from review, via waiting
            ev("S", "completed", utc(2025, 2, 8), "done"),
        ],
        as_of=date(2025, 3, 1),
    )
    rows = built.rows("stg_event_stages", "seq")
    assert [tuple(r[c] for c in STAGE_COLUMNS) for r in rows] == [
        (1, "backlog", None, "backlog", None, False, True, False, False, False),
        (2, None, "backlog", "backlog", "backlog", False, False, False, False, False),
        (3, None, "backlog", "backlog", "backlog", False, False, False, False, False),
        (4, "review", "backlog", "review", "backlog", True, True, False, False, False),
        (5, "waiting_on_client", "review", "waiting_on_client", "review", True, True, False, False, False),
        (6, "active", "waiting_on_client", "active", "review", True, True, True, True, False),
        (7, "done", "active", "done", "active", True, True, False, False, True),
    ]  # fmt: skip
    assert [r["sets_assignee"] for r in rows] == [False, False, True, False, False, False, False]
    assert [r["is_created_event"] for r in rows] == [False, True, False, False, False, False, False]
    assert [r["assignee_before"] for r in rows][3:5] == [{"v": "ann"}, {"v": "ann"}]
    wide = built.rows("stg_events", "seq")
    assert [{c: r[c] for c in STAGE_COLUMNS} for r in wide] == [
        {c: r[c] for c in STAGE_COLUMNS} for r in rows
    ]
    assert [r["assignee"] for r in wide] == [None, None, "ann", None, None, None, None]
    kinds = built.con.execute(
        "select table_name, table_type from information_schema.tables"
        " where table_name in ('stg_event_stages', 'stg_events') order by 1"
    ).fetchall()
    assert kinds == [("stg_event_stages", "VIEW"), ("stg_events", "BASE TABLE")]


def test_a_created_event_moves_the_case_only_as_its_first_event() -> None:
    # Two created events at one instant (a webhook and an import): only the first in event order
    # sets the stage; the second, though not later in time, does not send the case back.
    built = build_events(
        [
            ev("T", "created", utc(2025, 2, 3), "active"),
            ev("T", "created", utc(2025, 2, 3), "backlog"),
            ev("T", "completed", utc(2025, 2, 4), "done"),
        ],
        as_of=date(2025, 3, 1),
    )
    rows = built.rows("stg_event_stages", "seq")
    assert [(r["stage_set"], r["stage_before"], r["stage_after"]) for r in rows] == [
        ("active", None, "active"), (None, "active", "active"), ("done", "active", "done"),
    ]  # fmt: skip
    case = built.rows("fct_case_flow")[0]
    assert (case["rework"], case["backward_moves"], case["created_at"]) == (0, 0, utc(2025, 2, 3))


# --- facts -----------------------------------------------------------------------------------


def test_fct_case_points_and_a_configured_start_chain() -> None:
    events = [
        ev("A", "created", utc(2025, 2, 3), "backlog"),
        ev("A", "assigned", utc(2025, 2, 4), assignee="ann"),
        ev("A", "stage_changed", utc(2025, 2, 5), "active", original_status="Doing"),
        ev("A", "stage_changed", utc(2025, 2, 7), "review", original_status="Check"),
        ev("A", "completed", utc(2025, 2, 9), "done"),
    ]
    built = build_events(events, as_of=date(2025, 3, 1), ct_start=[("P", 1, "created")])
    points = {r["token"]: r["point_at"] for r in built.rows("fct_case_points")}
    assert points == {
        "created": utc(2025, 2, 3),
        "first_assigned": utc(2025, 2, 4),
        "first_enter:started": utc(2025, 2, 5),
        "first_exit:backlog": utc(2025, 2, 5),
        "first_enter:backlog": utc(2025, 2, 3),
        "first_enter:active": utc(2025, 2, 5),
        "first_enter:Doing": utc(2025, 2, 5),
        "first_enter:review": utc(2025, 2, 7),
        "first_enter:Check": utc(2025, 2, 7),
        "first_enter:done": utc(2025, 2, 9),
    }
    chained = build_events(
        events,
        as_of=date(2025, 3, 1),
        ct_start=[("P", 1, "first_enter:review"), ("P", 2, "created")],
    )
    (case,) = chained.rows("fct_cases")
    assert case["start_basis"] == "first_enter:review" and case["cycle_time_days"] == approx(2.0)
    # first_done: time in done before a reopen is not cycle time.
    reopened = [
        *events,
        ev("A", "reopened", utc(2025, 2, 10), "active"),
        ev("A", "completed", utc(2025, 2, 12), "done"),
    ]
    first = build_events(
        reopened, as_of=date(2025, 3, 1), processes=[("P", "standard", False, "first_done")]
    )
    last = build_events(reopened, as_of=date(2025, 3, 1))
    assert first.rows("fct_cases")[0]["completed_at"] == utc(2025, 2, 9)
    assert last.rows("fct_cases")[0]["completed_at"] == utc(2025, 2, 12)


def test_fct_case_flow_generic_rework_and_a_start_chain() -> None:
    built = build_events(
        [
            # A generic log (no stages anywhere in process G): rework when an activity repeats,
            # and events without an activity count as one activity.
            ev("G1", "stage_changed", utc(2025, 2, 3), process="G", original_status="Open"),
            ev("G1", "stage_changed", utc(2025, 2, 4), process="G", original_status="Check"),
            ev("G1", "stage_changed", utc(2025, 2, 5), process="G", original_status="Open"),
            ev("G2", "stage_changed", utc(2025, 2, 3), process="G", original_status="Open"),
            ev("G2", "commented", utc(2025, 2, 4), process="G"),
            ev("G2", "commented", utc(2025, 2, 6), process="G"),
            ev("G3", "stage_changed", utc(2025, 2, 3), process="G", original_status="Open"),
            ev("G3", "commented", utc(2025, 2, 4), process="G"),
            # Process P starts at first_enter:Doing, else at creation (not for open items).
            ev("C1", "created", utc(2025, 2, 3), "backlog"),
            ev("C1", "stage_changed", utc(2025, 2, 4), "active", original_status="Doing"),
            ev("C1", "completed", utc(2025, 2, 6), "done"),
            ev("C2", "created", utc(2025, 2, 3), "backlog"),
            ev("C2", "completed", utc(2025, 2, 7), "done"),
            ev("C3", "created", utc(2025, 2, 3), "backlog"),
        ],
        as_of=date(2025, 3, 1),
        ct_start=[("P", 1, "first_enter:Doing"), ("P", 2, "created")],
    )
    flow = {r["case_id"]: r for r in built.rows("fct_case_flow")}
    assert {c: (r["state"], r["is_staged"], r["start_basis"], r["rework"]) for c, r in flow.items()} == {
        "G1": ("completed", False, "first_event", 1),
        "G2": ("completed", False, "first_event", 1),
        "G3": ("completed", False, "first_event", 0),
        "C1": ("completed", True, "first_enter:Doing", 0),
        "C2": ("completed", True, "created", 0),
        "C3": ("open", True, None, 0),
    }  # fmt: skip
    assert flow["G2"]["lead_time_days"] == approx(3.0) and flow["G2"]["backward_moves"] is None
    assert (flow["C1"]["started_at"], flow["C1"]["cycle_time_days"]) == (
        utc(2025, 2, 4),
        approx(2.0),
    )
    assert (flow["C2"]["started_at"], flow["C2"]["cycle_time_days"]) == (
        utc(2025, 2, 3),
        approx(4.0),
    )
    assert flow["C3"]["started_at"] is None and flow["G1"]["start_points"] is None
    points = {(r["case_id"], r["token"]): r["point_at"] for r in built.rows("fct_case_points")}
    assert points == {
        ("C1", "created"): utc(2025, 2, 3),
        ("C1", "first_enter:backlog"): utc(2025, 2, 3),
        ("C1", "first_exit:backlog"): utc(2025, 2, 4),
        ("C1", "first_enter:started"): utc(2025, 2, 4),
        ("C1", "first_enter:active"): utc(2025, 2, 4),
        ("C1", "first_enter:Doing"): utc(2025, 2, 4),
        ("C1", "first_enter:done"): utc(2025, 2, 6),
        ("C2", "created"): utc(2025, 2, 3),
        ("C2", "first_enter:backlog"): utc(2025, 2, 3),
        ("C2", "first_exit:backlog"): utc(2025, 2, 7),
        ("C2", "first_enter:started"): utc(2025, 2, 7),
        ("C2", "first_enter:done"): utc(2025, 2, 7),
        ("C3", "created"): utc(2025, 2, 3),
        ("C3", "first_enter:backlog"): utc(2025, 2, 3),
    }
    # fct_cases carries the flow columns unchanged.
    shared = [c for c in flow["C1"] if c != "start_points"]
    for case in built.rows("fct_cases"):
        assert {c: case[c] for c in shared} == {c: flow[case["case_id"]][c] for c in shared}


def test_fct_cases_practice_fields_business_days_and_variant() -> None:
    built = build_events(
        [
            # Friday 2025-03-07 12:00 New York to Tuesday 2025-03-11 12:00, across the DST change.
            ev(
                "A",
                "created",
                ny(2025, 3, 7),
                "active",
                original_status="Draft",
                template="t1",
                attributes='{"checklist_total": 10, "client_facing": true}',
            ),
            ev(
                "A",
                "commented",
                ny(2025, 3, 7, 14),
                public=True,
                actor="ann",
                attributes='{"actor_role": "va"}',
            ),
            ev("A", "stage_changed", ny(2025, 3, 10), "review", original_status="Edit"),
            ev("A", "stage_changed", ny(2025, 3, 10, 13), "active", original_status="Draft"),
            ev(
                "A",
                "completed",
                ny(2025, 3, 11),
                "done",
                original_status="Published",
                attributes='{"checklist_checked": 8}',
            ),
        ],
        as_of=date(2025, 3, 12),
        tz="America/New_York",
        holidays=[date(2025, 3, 10)],
    )
    (case,) = built.rows("fct_cases")
    assert case["lead_time_days"] == approx((4 * 24 - 1) / 24)  # a 23-hour Sunday
    # Business days: Fri 12:00-24:00 (0.5) + Tue 00:00-12:00 (0.5); Monday is a holiday.
    assert case["lead_time_bdays"] == approx(1.0)
    assert case["template"] == "t1" and case["checklist_completion"] == approx(0.8)
    assert case["client_facing"] is True and case["first_reply_hours"] == approx(2.0)
    assert case["variant"] == "Draft > Edit > done"
    assert (case["rework"], case["revision_rounds"], case["visited_review"]) == (1, 1, True)


def test_fct_stage_visits_censor_the_open_visit() -> None:
    built = build_events(
        [
            ev("A", "created", utc(2025, 2, 3), "backlog"),
            ev("A", "stage_changed", utc(2025, 2, 4), "active", original_status="Doing"),
            ev("A", "stage_changed", utc(2025, 2, 6), "review"),
            ev("A", "completed", utc(2025, 2, 7), "done"),
            ev("B", "created", utc(2025, 2, 3), "active"),
        ],
        as_of=date(2025, 3, 1),
    )
    visits = built.rows("fct_stage_visits", "case_id, entered_at")
    assert [
        (v["case_id"], v["stage"], v["stage_class"], v["dwell_days"], v["dwell_in_cycle_days"])
        for v in visits
    ] == [
        ("A", "backlog", "backlog", approx(1.0), approx(0.0)),
        ("A", "Doing", "active", approx(2.0), approx(2.0)),
        ("A", "review", "review", approx(1.0), approx(1.0)),
        ("A", "done", "done", None, approx(0.0)),
        ("B", "active", "active", None, None),
    ]


def test_fct_handoffs_in_business_days() -> None:
    built = build_events(
        [
            ev("A", "created", ny(2025, 3, 7, 16), "active", assignee="ann"),
            ev("A", "assigned", ny(2025, 3, 7, 17), assignee="bob"),
            ev("A", "commented", ny(2025, 3, 8, 9), actor="ann"),  # not the new assignee
            ev("A", "commented", ny(2025, 3, 10, 9), actor="bob"),
            ev("A", "assigned", ny(2025, 3, 10, 10), assignee="cy"),
        ],
        as_of=date(2025, 3, 12),
        tz="America/New_York",
    )
    rows = built.rows("fct_handoffs", "handed_at")
    assert [(r["from_assignee"], r["to_assignee"]) for r in rows] == [("ann", "bob"), ("bob", "cy")]
    assert rows[0]["handoff_bdays"] == approx(16 / 24)  # Fri 17-24h + Mon 0-9h
    assert rows[1]["picked_at"] is None and rows[1]["handoff_bdays"] is None
    m = built.metric("metric_handoffs", "P", "current", "handoff_delay_p50_bdays")
    assert (m["value"], m["n"]) == (approx(16 / 24), 1)
    assert built.metric("metric_handoffs", "P", "current", "handoff_unmatched")["value"] == 1


def test_fct_feedback_links_and_groups() -> None:
    built = build_events(
        [
            *simple_case("A", utc(2025, 2, 1), utc(2025, 2, 3)),
            ev("A", "feedback", utc(2025, 2, 5), scale="csat5", score=4),
            ev("A", "feedback", utc(2025, 3, 20), scale="csat5", score=2),  # 45 days after finish
            {
                "kind": "feedback",
                "process": None,
                "case_id": None,
                "occurred_at": utc(2025, 2, 6),
                "scale": "nps10",
                "score": 6,
            },
        ],
        as_of=date(2025, 4, 1),
    )
    rows = built.rows("fct_feedback", "responded_at")
    assert [
        (r["process"], r["instrument"], r["is_positive"], r["nps_group"], r["is_linked"])
        for r in rows
    ] == [
        ("P", "csat", True, None, True),
        ("(workspace)", "nps", None, "detractor", False),
        ("P", "csat", False, None, False),
    ]


# --- metrics ---------------------------------------------------------------------------------


def test_metric_flow_quantile_vector_windows_and_throughput() -> None:
    created = utc(2025, 2, 10)
    events = [
        e
        for i, d in enumerate([1, 2, 3, 4, 10])
        for e in simple_case(f"C{i}", created, created + d * DAY)
    ]
    events += [
        ev("X", "created", created, "active"), ev("X", "cancelled", created + DAY, "cancelled"),
        ev("O", "created", created, "active"),
        ev("D", "created", created + DAY, "done"),
    ]  # fmt: skip
    built = build_events(events, as_of=date(2025, 3, 1))
    get = lambda w, m: built.metric("metric_flow", "P", w, m)  # noqa: E731
    assert [get("current", f"cycle_time_p{q}_days")["value"] for q in (50, 85, 95)] == [
        approx(3.0),
        approx(6.4),
        approx(8.8),
    ]
    assert get("current", "cycle_time_p50_days")["n"] == 5
    assert get("current", "cycle_time_mean_days")["value"] == approx(4.0)
    assert get("current", "cycle_time_cv")["value"] == approx(12.5**0.5 / 4)
    assert get("current", "cycle_time_p85_p50")["value"] == approx(6.4 / 3)
    assert (get("current", "completed")["value"], get("current", "completed")["n"]) == (
        6,
        6,
    )  # created-done counts
    assert get("current", "throughput_per_week")["value"] == approx(6 / 4)
    assert get("current", "cancel_rate")["value"] == approx(1 / 7)
    assert get("all", "throughput_per_week")["value"] == approx(6 / (18.5 / 7))
    baseline = get("baseline", "lead_time_p50_days")
    assert (baseline["value"], baseline["n"]) == (None, 0)
    assert get("baseline", "throughput_per_week")["value"] == 0


def test_metric_quality_rework_and_revision_rounds() -> None:
    t = utc(2025, 2, 10)
    built = build_events(
        [
            ev("A", "created", t, "active"),
            ev("A", "stage_changed", t + DAY, "review"),
            ev("A", "stage_changed", t + 2 * DAY, "active"),
            ev("A", "stage_changed", t + 3 * DAY, "review"),
            ev("A", "completed", t + 4 * DAY, "done"),
            ev("B", "created", t, "active"),
            ev("B", "completed", t + DAY, "done"),
            ev("B", "reopened", t + 2 * DAY, "active"),
            ev("B", "completed", t + 3 * DAY, "done"),
            ev("C", "created", t, "active"),
            ev("C", "stage_changed", t + DAY, "review"),
            ev("C", "completed", t + 2 * DAY, "done"),
            ev("D", "created", t, "active"),
            ev("D", "stage_changed", t + DAY, "review"),
            ev("D", "completed", t + 2 * DAY, "done"),
        ],
        as_of=date(2025, 3, 1),
    )
    get = lambda m: built.metric("metric_quality", "P", "current", m)  # noqa: E731
    assert (get("rework_rate")["value"], get("rework_rate")["n"]) == (approx(0.5), 4)
    assert get("first_pass_yield")["value"] == approx(0.5)
    assert (get("revision_rounds_mean")["value"], get("revision_rounds_mean")["n"]) == (
        approx(1 / 3),
        3,
    )
    assert (
        get("revision_rounds_reworked_mean")["value"],
        get("revision_rounds_reworked_mean")["n"],
    ) == (approx(1.0), 1)


def test_metric_delivery_on_time_coverage_and_churn() -> None:
    t = utc(2025, 2, 10)
    built = build_events(
        [
            ev("A", "created", t, "active", due_at=t + 5 * DAY),
            ev("A", "due_changed", t + DAY, due_at=t + 6 * DAY),
            ev("A", "due_changed", t + 2 * DAY, due_at=t + 7 * DAY),
            ev("A", "completed", t + 3 * DAY, "done"),
            ev("B", "created", t, "active"),
            ev("B", "due_changed", t + DAY, due_at=t + 2 * DAY),
            ev("B", "completed", t + 3 * DAY, "done"),
            *simple_case("C", t, t + DAY),
        ],
        as_of=date(2025, 3, 1),
    )
    get = lambda m: built.metric("metric_delivery", "P", "current", m)  # noqa: E731
    on_time = get("on_time_rate")
    assert (on_time["value"], on_time["n"]) == (approx(0.5), 2)
    low, high = wilson(1, 2, 1.96)
    assert (on_time["low"], on_time["high"]) == (approx(low), approx(high))
    assert get("due_date_coverage")["value"] == approx(2 / 3)
    assert get("due_churn_mean")["value"] == approx(
        2 / 3
    )  # A moved twice, B's first due is no move
    assert get("due_churn_2plus_share")["value"] == approx(1 / 3)


def test_metric_wip_daily_across_dst_and_age() -> None:
    built = build_events(
        [
            ev("X", "created", ny(2025, 3, 7, 10), "backlog"),
            ev("X", "stage_changed", ny(2025, 3, 8, 10), "active"),
            ev("X", "completed", ny(2025, 3, 11, 10), "done"),
            ev("Y", "created", ny(2025, 3, 9, 10), "active"),
        ],
        as_of=date(2025, 3, 12),
        tz="America/New_York",
    )
    daily = [(r["day"], r["wip"]) for r in built.rows("metric_wip_daily", "day")]
    assert daily == [
        (date(2025, 3, 7), 0), (date(2025, 3, 8), 1), (date(2025, 3, 9), 2),
        (date(2025, 3, 10), 2), (date(2025, 3, 11), 1),
    ]  # fmt: skip
    get = lambda m: built.metric("metric_wip", "P", "current", m)  # noqa: E731
    assert (get("wip")["value"], get("wip_mean")["value"], get("wip_mean")["n"]) == (
        1,
        approx(1.2),
        5,
    )
    # Y started 2025-03-09 10:00 EDT; the sample is 2025-03-11 23:59:59 EDT.
    assert get("work_item_age_p85_days")["value"] == approx(2 + (14 * 3600 - 1) / 86400)


def test_metric_wip_daily_first_pass_leaves_out_items_once_sent_back() -> None:
    built = build_events(
        [
            ev("X", "created", ny(2025, 3, 3, 10), "active"),
            ev("X", "stage_changed", ny(2025, 3, 4, 10), "review"),
            ev("X", "stage_changed", ny(2025, 3, 5, 10), "active"),  # back from review
            ev("Y", "created", ny(2025, 3, 3, 10), "active"),
            ev("Y", "completed", ny(2025, 3, 4, 10), "done"),
            ev("Y", "reopened", ny(2025, 3, 6, 10), "active"),  # reopened from done
            ev("Z", "created", ny(2025, 3, 4, 10), "active"),
        ],
        as_of=date(2025, 3, 8),
        tz="America/New_York",
    )
    daily = [
        (r["day"], r["wip"], r["first_pass_wip"]) for r in built.rows("metric_wip_daily", "day")
    ]
    assert daily == [
        (date(2025, 3, 3), 2, 2), (date(2025, 3, 4), 2, 2),  # Y done, Z started
        (date(2025, 3, 5), 2, 1),  # X went back
        (date(2025, 3, 6), 3, 1), (date(2025, 3, 7), 3, 1),  # Y reopened
    ]  # fmt: skip


def test_metric_throughput_weekly_iso_weeks_and_empty_weeks() -> None:
    built = build_events(
        [
            *simple_case("A", ny(2024, 12, 27), ny(2024, 12, 29, 23, 30)),  # Sunday: 2024-W52
            *simple_case("B", ny(2024, 12, 27), ny(2024, 12, 30, 0, 30)),  # Monday: 2025-W01
            *simple_case("C", ny(2025, 1, 15), ny(2025, 1, 20)),  # 2025-W04 after two empty weeks
        ],
        as_of=date(2025, 1, 21),
        tz="America/New_York",
    )
    weeks = [
        (r["iso_week"], r["completions"])
        for r in built.rows("metric_throughput_weekly", "week_start")
    ]
    assert weeks == [
        ("2024-W52", 1),
        ("2025-W01", 1),
        ("2025-W02", 0),
        ("2025-W03", 0),
        ("2025-W04", 1),
    ]


def test_metric_efficiency_flow_efficiency_and_wait_share() -> None:
    t = utc(2025, 2, 10)
    built = build_events(
        [
            ev("A", "created", t, "backlog"),
            ev("A", "stage_changed", t + DAY, "active"),
            ev("A", "stage_changed", t + 3 * DAY, "review"),
            ev("A", "stage_changed", t + 4 * DAY, "active"),
            ev("A", "completed", t + 6 * DAY, "done"),
        ],
        as_of=date(2025, 3, 1),
    )
    assert built.metric("metric_efficiency", "P", "current", "flow_efficiency")["value"] == approx(
        0.8
    )
    assert built.metric("metric_efficiency", "P", "current", "wait_share")["value"] == approx(0.2)


def test_metric_feedback_wilson_nps_vector_ces_and_coverage() -> None:
    t = utc(2025, 2, 10)
    events = [*simple_case("A", t, t + DAY), *simple_case("B", t, t + DAY)]
    scores = [5, 5, 5, 4, 4, 4, 4, 5, 5, 2]  # 9 of 10 positive
    events += [ev("A", "feedback", t + 3 * DAY, scale="csat5", score=s) for s in scores]
    nps = [10] * 12 + [3] * 4 + [8] * 4
    events += [
        {
            "kind": "feedback",
            "process": None,
            "case_id": None,
            "occurred_at": t + 2 * DAY,
            "scale": "nps10",
            "score": s,
        }
        for s in nps
    ]
    events += [ev("B", "feedback", t + 2 * DAY, scale="ces7", score=s) for s in (5, 6, 3)]
    built = build_events(
        events,
        as_of=date(2025, 3, 1),
        processes=[("P", "standard", True, "first_done_after_last_reopen")],
    )
    csat = built.metric("metric_feedback", "P", "current", "csat")
    assert (csat["value"], csat["n"], round(csat["low"], 3), round(csat["high"], 3)) == (
        approx(0.9),
        10,
        0.596,
        0.982,
    )
    score = built.metric("metric_feedback", "(workspace)", "current", "nps")
    assert (score["value"], round(score["low"], 1), round(score["high"], 1)) == (
        approx(40.0),
        2.1,
        67.5,
    )
    assert built.metric("metric_feedback", "P", "current", "ces_mean")["value"] == approx(14 / 3)
    assert built.metric("metric_feedback", "P", "current", "ces_agree_rate")["value"] == approx(
        2 / 3
    )
    assert built.metric("metric_feedback", "P", "current", "feedback_responses")["value"] == 13
    coverage = built.metric("metric_feedback", "P", "current", "feedback_coverage")
    assert (coverage["value"], coverage["n"]) == (approx(1.0), 2)  # B is rated by its CES response


def test_wilson_vectors_at_z3() -> None:
    built = build_events([], as_of=date(2025, 3, 1), config=MetricsConfig(z=3.0))
    got = built.con.execute(
        "select round(wilson_low(8, 16, 3), 3), round(wilson_high(8, 16, 3), 3), "
        "round(wilson_low(15, 40, 3), 3), round(wilson_high(15, 40, 3), 3), "
        "round(wilson_low(18, 20, 1.96), 3), round(wilson_high(18, 20, 1.96), 3)"
    ).fetchall()[0]
    assert got == (0.2, 0.8, 0.189, 0.607, 0.699, 0.972)


def test_metric_variants_happy_path() -> None:
    t = utc(2025, 2, 10)

    def case(name: str, steps: list[tuple[str, str]]) -> list[dict]:
        out = [ev(name, "created", t, steps[0][1], original_status=steps[0][0])]
        out += [
            ev(name, "stage_changed", t + (i + 1) * DAY, s, original_status=o)
            for i, (o, s) in enumerate(steps[1:])
        ]
        return [*out, ev(name, "completed", t + 9 * DAY, "done", original_status="Done")]

    ab = [("A", "active"), ("B", "review")]
    built = build_events(
        case("1", ab)
        + case("2", ab)
        + case("3", ab)
        + case("4", [("A", "active"), ("C", "review")])
        + case("5", [*ab, ("A", "active"), ("B", "review")]),
        as_of=date(2025, 3, 1),
    )
    assert built.metric("metric_variants", "P", "current", "variant_count")["value"] == 2
    hps = built.metric("metric_variants", "P", "current", "happy_path_share")
    assert (hps["value"], hps["n"]) == (approx(0.8), 5)


def test_metric_people_top1_and_bus_factor() -> None:
    t = utc(2025, 2, 10)
    people = ["ann", "ann", "ann", "bob", "bob", "cy"]
    events = [e for i, p in enumerate(people) for e in simple_case(f"C{i}", t, t + DAY, assignee=p)]
    built = build_events(events, as_of=date(2025, 3, 1))
    assert built.metric("metric_people", "P", "current", "top1_share")["value"] == approx(0.5)
    assert built.metric("metric_people", "P", "current", "bus_factor")["value"] == 1
    built2 = build_events(
        events, as_of=date(2025, 3, 1), config=MetricsConfig(bus_factor_share=0.6)
    )
    assert built2.metric("metric_people", "P", "current", "bus_factor")["value"] == 2


def test_metric_practice_template_and_checklist() -> None:
    t = utc(2025, 2, 10)
    built = build_events(
        [
            *simple_case(
                "A",
                t,
                t + DAY,
                template="tpl",
                attributes='{"checklist_total": 10, "checklist_checked": 8}',
            ),
            *simple_case(
                "B",
                t,
                t + DAY,
                template="tpl",
                attributes='{"checklist_total": 5, "checklist_checked": 5}',
            ),
            *simple_case("C", t, t + DAY),
        ],
        as_of=date(2025, 3, 1),
    )
    assert built.metric("metric_practice", "P", "current", "template_share")["value"] == approx(
        2 / 3
    )
    checklist = built.metric("metric_practice", "P", "current", "checklist_completion")
    assert (checklist["value"], checklist["n"]) == (approx(0.9), 2)


def test_metric_support_first_reply() -> None:
    t = utc(2025, 2, 10)
    built = build_events(
        [
            ev("T1", "created", t, "backlog"),
            ev(
                "T1",
                "commented",
                t + timedelta(hours=1),
                public=True,
                attributes='{"actor_role": "client"}',
            ),
            ev(
                "T1",
                "commented",
                t + timedelta(hours=2),
                public=True,
                attributes='{"actor_role": "agent"}',
            ),
            ev("T2", "created", t, "backlog"),
            ev("T2", "commented", t + timedelta(hours=3), public=False),
            ev("T2", "commented", t + timedelta(hours=4), public=True),
        ],
        as_of=date(2025, 3, 1),
        processes=[("P", "support", True, "first_done_after_last_reopen")],
    )
    frt = built.metric("metric_support", "P", "current", "first_reply_hours_p50")
    assert (frt["value"], frt["n"]) == (approx(3.0), 2)


def test_every_sql_file_has_a_unit_test() -> None:
    root = Path(__file__).resolve().parent.parent / "warehouse" / "sql"
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py"))
    for layer in ("staging", "facts", "metrics", "flags"):
        for sql in (root / layer).glob("*.sql"):
            assert f'"{sql.stem}"' in tests, f"{layer}/{sql.name} has no unit test"


def test_stg_calendar_business_seconds_across_dst_and_holidays() -> None:
    built = build_events(
        simple_case("A", ny(2025, 3, 7), ny(2025, 3, 11)),
        as_of=date(2025, 3, 12),
        tz="America/New_York",
        holidays=[date(2025, 3, 10)],
    )
    days = {
        r["day"]: r
        for r in built.rows("stg_calendar", "day", "day between '2025-03-06' and '2025-03-12'")
    }
    sunday = days[date(2025, 3, 9)]
    assert (sunday["day_end"] - sunday["day_start"]).total_seconds() == 23 * 3600  # DST starts
    assert [days[date(2025, 3, d)]["is_business"] for d in range(6, 13)] == [
        True,
        True,
        False,
        False,
        False,
        True,
        True,
    ]
    before = [days[date(2025, 3, d)]["business_seconds_before"] for d in range(6, 13)]
    assert [b - before[0] for b in before] == [0, 86400, 172800, 172800, 172800, 172800, 259200]


def test_build_replaces_a_table_that_became_a_view_and_back() -> None:
    built = build_events(simple_case("A", utc(2025, 2, 3), utc(2025, 2, 5)), as_of=date(2025, 3, 1))
    con = built.con
    params = metric_params(con, "UTC", MetricsConfig(), date(2025, 3, 1))
    # A warehouse built before stg_event_stages was a view, and one whose view became a table.
    con.execute("drop view stg_event_stages")
    con.execute("create table stg_event_stages as select 1 as old")
    con.execute("drop table fct_case_flow")
    con.execute("create view fct_case_flow as select 1 as old")
    build(con, params)
    kinds = con.execute(
        "select table_name, table_type from information_schema.tables"
        " where table_name in ('stg_event_stages', 'fct_case_flow') order by 1"
    ).fetchall()
    assert kinds == [("fct_case_flow", "BASE TABLE"), ("stg_event_stages", "VIEW")]
    assert [r["case_id"] for r in built.rows("fct_case_flow")] == ["A"]
