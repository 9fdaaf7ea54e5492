"""The dashboard's pure pieces: trends on the METRICS.md §3.6 vector, portfolio order, silences."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from dashboards.summaries import level_text, silence_text, sort_portfolio, weekly_trend

# METRICS.md §3.6: MK on this series gives S -56, p 0.00016, beta -0.15/week (1.6% of the median).
SPEC = [10, 9.8, 9.9, 9.5, 9.6, 9.2, 9.3, 8.9, 9.0, 8.6, 8.7, 8.4]
AS_OF = date(2025, 6, 4)  # a Wednesday: the last complete week starts on Monday 2025-05-26


def _weekly(values: list[float], column: str = "cycle_time_p50_days") -> pd.DataFrame:
    monday = AS_OF - timedelta(days=AS_OF.weekday())
    weeks = [monday - timedelta(weeks=len(values) - i) for i in range(len(values))]
    return pd.DataFrame({"week_start": weeks, column: values, "n_cycle_time": [5] * len(values)})


def test_weekly_trend_reproduces_the_spec_vector() -> None:
    trend = weekly_trend(
        _weekly(SPEC), "cycle_time_p50_days", AS_OF, relative=True, bad_when_up=True
    )
    assert trend is not None
    assert trend.p == pytest.approx(0.00016, abs=0.00001)
    assert trend.slope == pytest.approx(-0.15 / 9.25 * 100, rel=1e-6)  # % of the median per week
    assert trend.better and not trend.worse
    assert trend.text("%") == "↓ 1.6%/wk better (p=0.000)"
    rising = weekly_trend(
        _weekly(SPEC[::-1]), "cycle_time_p50_days", AS_OF, relative=True, bad_when_up=True
    )
    assert rising is not None and rising.worse and rising.text("%").startswith("↑ 1.6%/wk worse")


def test_weekly_trend_needs_twelve_weeks_of_three_items() -> None:
    frame = _weekly(SPEC)
    frame.loc[0, "n_cycle_time"] = 2  # one week too thin: 11 points left
    assert (
        weekly_trend(frame, "cycle_time_p50_days", AS_OF, relative=True, bad_when_up=True) is None
    )
    # The current, incomplete week does not count either.
    later = _weekly(SPEC[1:])
    assert weekly_trend(later, "cycle_time_p50_days", AS_OF - timedelta(weeks=1), relative=True,
                        bad_when_up=True) is None  # fmt: skip


def test_rework_trend_is_in_points_per_week() -> None:
    rates = [0.10 + 0.01 * i for i in range(12)]
    trend = weekly_trend(
        _weekly(rates, "rework_rate"), "rework_rate", AS_OF, relative=False, bad_when_up=True
    )
    assert trend is not None and trend.worse
    assert trend.slope == pytest.approx(1.0)


def test_portfolio_order_puts_the_worst_trend_first() -> None:
    frame = pd.DataFrame({
        "workspace": ["a", "a", "b", "b"], "process": ["P", "Q", "R", "S"],
        "trend_score": [0.0, 2.5, 0.0, 7.0], "n_operations_flags": [3, 0, 1, 0], "n_task_flags": [0, 0, 9, 0],
    })  # fmt: skip
    assert list(sort_portfolio(frame)["process"]) == ["S", "Q", "P", "R"]


def test_level_text_follows_the_rubric_display() -> None:
    assert level_text(2, 67) == "L2 (67% of the way to L3)"
    assert level_text(5, 100) == "L5"
    assert level_text(None, 0) == "not enough data"
    assert level_text(float("nan"), 0) == "not enough data"


def _flag(**extra: object) -> dict[str, object]:
    seen = datetime(2026, 1, 1, tzinfo=UTC)
    return {"severity": "medium", "first_seen_at": seen, "acknowledged_at": None, "acknowledged_by": None,
            "acknowledged_severity": None, "snoozed_until": None, "snoozed_by": None, "snooze_reason": None,
            "snoozed_severity": None, **extra}  # fmt: skip


def test_silence_holds_for_the_episode_until_severity_rises_or_critical() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    acked = {"acknowledged_at": datetime(2026, 1, 2, tzinfo=UTC), "acknowledged_by": "ann",
             "acknowledged_severity": "medium"}  # fmt: skip
    assert silence_text(_flag(**acked), now) == "acknowledged by ann on 2026-01-02"
    assert (
        silence_text(_flag(**acked, severity="high"), now) == ""
    )  # rose above the acknowledged one
    old_episode = {**acked, "acknowledged_at": datetime(2025, 12, 1, tzinfo=UTC)}
    assert silence_text(_flag(**old_episode), now) == ""  # acknowledged before this episode began
    snoozed = {"snoozed_until": datetime(2026, 1, 15, tzinfo=UTC), "snoozed_by": "bo",
               "snooze_reason": "on leave", "snoozed_severity": "medium"}  # fmt: skip
    assert silence_text(_flag(**snoozed), now) == "snoozed until 2026-01-15 by bo: on leave"
    assert silence_text(_flag(**snoozed), datetime(2026, 1, 16, tzinfo=UTC)) == ""  # expired
    assert silence_text(_flag(**snoozed, severity="critical"), now) == ""  # critical breaks it
    assert silence_text(_flag(snoozed_until=pd.NaT), now) == ""
