"""Pure DataFrame -> Altair chart builders for the dashboard pages.

Channels are typed objects (`alt.X("f", type=...)`) and colours come from scales over data
columns, never shorthand strings or `alt.condition` dicts: Altair turns those into schema
objects through `from_dict`, which costs tens of milliseconds per chart.
"""

from __future__ import annotations

import math
from typing import Any, Final, Literal

import altair as alt
import pandas as pd

from warehouse import stats

__all__ = [
    "STAGE_ORDER",
    "aging_chart",
    "cfd_chart",
    "dwell_chart",
    "interval_chart",
    "quarantine_chart",
    "rework_chart",
    "scatter_chart",
    "throughput_chart",
    "wip_chart",
    "xmr_chart",
    "xmr_frames",
]

STAGE_ORDER = ["backlog", "active", "review", "waiting_on_client", "done", "cancelled"]
_RULE_NAMES = {1: "rule 1: beyond 3 sigma", 2: "rule 2: 2 of 3 beyond 2 sigma",
               3: "rule 3: 4 of 5 beyond 1 sigma", 4: "rule 4: 8 on one side"}  # fmt: skip
_BLUE, _RED, _GREY, _GREEN, _ORANGE = "#1f77b4", "#d62728", "#bbbbbb", "#2ca02c", "#ff7f0e"
Kind = Literal["quantitative", "nominal", "temporal"]
_Q: Final = "quantitative"
_N: Final = "nominal"
_T: Final = "temporal"
ChartLike = alt.Chart | alt.LayerChart | alt.FacetChart


def _sized(chart: Any, height: int) -> ChartLike:
    """The chart at a fixed height (Altair's `properties` is untyped)."""
    sized: ChartLike = chart.properties(height=height)
    return sized


def _tip(field: str, kind: Kind = _N, fmt: str | None = None) -> alt.Tooltip:
    return alt.Tooltip(field, type=kind, format=fmt) if fmt else alt.Tooltip(field, type=kind)


def _flag_colour(field: str, title: str, domain: list[str]) -> alt.Color:
    """Blue for the first value of `domain`, red for the second."""
    return alt.Color(
        field, type=_N, title=title, scale=alt.Scale(domain=domain, range=[_BLUE, _RED])
    )


def xmr_frames(points: pd.DataFrame) -> tuple[stats.XmrChart, pd.DataFrame, pd.DataFrame]:
    """The §3.1 chart of ln cycle time, its points (days, signal) and its limit lines (days)."""
    chart = stats.xmr_chart([stats.ln_cycle_time(float(v)) for v in points["cycle_time_days"]])
    frame = points.reset_index(drop=True).copy()
    frame["n"] = range(1, len(frame) + 1)
    baseline = chart.baseline or range(0)
    frame["segment"] = [
        "evaluation" if p.in_eval else ("baseline" if p.index in baseline else "history")
        for p in chart.points
    ]
    frame["signal"] = [
        ", ".join(f"{s.side} {_RULE_NAMES[s.rule]}" for s in p.signals) or "none"
        for p in chart.points
    ]
    frame["marked"] = ["signal" if s != "none" else "no signal" for s in frame["signal"]]
    lines = pd.DataFrame()
    if chart.limits is not None:
        lim = chart.limits
        names = ["centre", "upper limit (UNPL)", "lower limit (LNPL)", "+2 sigma", "-2 sigma",
                 "+1 sigma", "-1 sigma"]  # fmt: skip
        values = [lim.x_bar, lim.unpl, lim.lnpl, lim.upper_2s, lim.lower_2s, lim.upper_1s,
                  lim.lower_1s]  # fmt: skip
        kinds = ["centre", "limit", "limit", "zone", "zone", "zone", "zone"]
        lines = pd.DataFrame({"line": names, "days": [math.exp(v) for v in values], "kind": kinds})
    return chart, frame, lines


def xmr_chart(frame: pd.DataFrame, lines: pd.DataFrame) -> ChartLike:
    """Individuals chart: cycle time on a log axis, natural limits and zones, signals in red."""
    x = alt.X("n", type=_Q, title="completion (oldest to newest)")
    y = alt.Y("cycle_time_days", type=_Q, scale=alt.Scale(type="log"), title="cycle time (days)")
    base = alt.Chart(frame).encode(x=x, y=y)
    line = base.mark_line(color="#7f8c8d", strokeWidth=1)
    dots = base.mark_circle(size=45).encode(
        color=_flag_colour("marked", "point", ["no signal", "signal"]),
        tooltip=[_tip("case_id"), _tip("case_title"), _tip("completed_at", _T),
                 _tip("cycle_time_days", _Q, ".1f"), _tip("segment"), _tip("signal")],
    )  # fmt: skip
    if lines.empty:
        return _sized(alt.layer(line, dots), 320)
    rules = alt.Chart(lines).mark_rule().encode(
        y=alt.Y("days", type=_Q),
        color=alt.Color("kind", type=_N, title="line", scale=alt.Scale(
            domain=["centre", "limit", "zone"], range=[_GREEN, _RED, _GREY])),
        tooltip=[_tip("line"), _tip("days", _Q, ".2f")],
    )  # fmt: skip
    return _sized(alt.layer(line, dots, rules).resolve_scale(color="independent"), 320)


def _percentile_lines(percentiles: dict[str, float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"percentile": f"{k} {v:.1f} d", "days": v}
            for k, v in percentiles.items()
            if v is not None
        ]
    )


def scatter_chart(points: pd.DataFrame, percentiles: dict[str, float | None]) -> ChartLike:
    """Cycle time of each completion by finish date, with p50/p85/p95 lines."""
    frame = points.assign(kind=points["rework"].map({0: "first pass", 1: "rework"}))
    dots = alt.Chart(frame).mark_circle(size=30, opacity=0.6).encode(
        x=alt.X("completed_at", type=_T, title="completed"),
        y=alt.Y("cycle_time_days", type=_Q, title="cycle time (days)"),
        color=alt.Color("kind", type=_N, title="item", scale=alt.Scale(
            domain=["first pass", "rework"], range=[_BLUE, _ORANGE])),
        tooltip=[_tip("case_id"), _tip("case_title"), _tip("assignee"), _tip("cycle_time_days", _Q, ".1f")],
    )  # fmt: skip
    lines = _percentile_lines(percentiles)
    if lines.empty:
        return _sized(alt.layer(dots), 320)
    rules = (
        alt.Chart(lines)
        .mark_rule(strokeDash=[6, 3], strokeWidth=2)
        .encode(
            y=alt.Y("days", type=_Q),
            strokeDash=alt.StrokeDash("percentile", type=_N, title="percentile"),
            tooltip=[_tip("percentile")],
        )
    )
    return _sized(alt.layer(dots, rules), 320)


def throughput_chart(weekly: pd.DataFrame) -> ChartLike:
    """Completions per ISO week."""
    return _sized(alt.Chart(weekly).mark_bar().encode(
        x=alt.X("week_start", type=_T, title="week"),
        y=alt.Y("completions", type=_Q, title="completed per week"),
        tooltip=[_tip("iso_week"), _tip("completions", _Q)],
    ), 220)  # fmt: skip


def wip_chart(daily: pd.DataFrame) -> ChartLike:
    """Items in progress at the end of each day."""
    return _sized(alt.Chart(daily).mark_line().encode(
        x=alt.X("day", type=_T, title="day"),
        y=alt.Y("wip", type=_Q, title="work in progress"),
        tooltip=[_tip("day", _T), _tip("wip", _Q)],
    ), 220)  # fmt: skip


def cfd_chart(cfd: pd.DataFrame) -> ChartLike:
    """Cumulative flow: items per stage class at each week's end, stacked (done at the bottom)."""
    order = {s: i for i, s in enumerate(reversed(STAGE_ORDER))}
    frame = cfd.assign(band=cfd["stage_class"].map(order))
    return _sized(alt.Chart(frame).mark_area().encode(
        x=alt.X("week_start", type=_T, title="week"),
        y=alt.Y("items", type=_Q, stack="zero", title="items"),
        color=alt.Color("stage_class", type=_N, title="stage", scale=alt.Scale(domain=STAGE_ORDER)),
        order=alt.Order("band", type=_Q),
        tooltip=[_tip("week_start", _T), _tip("stage_class"), _tip("items", _Q)],
    ), 300)  # fmt: skip


def aging_chart(aging: pd.DataFrame, p85: float | None) -> ChartLike:
    """Age of each open item by its current stage, against the p85 cycle time."""
    limit = math.inf if p85 is None else p85
    frame = aging.assign(
        over=["older than p85" if a > limit else "within p85" for a in aging["age_days"]]
    )
    dots = alt.Chart(frame).mark_circle(size=60).encode(
        x=alt.X("stage", type=_N, title="current stage"),
        y=alt.Y("age_days", type=_Q, title="age (days)"),
        color=_flag_colour("over", "age", ["within p85", "older than p85"]),
        tooltip=[_tip("case_id"), _tip("case_title"), _tip("assignee"), _tip("age_days", _Q, ".1f")],
    )  # fmt: skip
    lines = _percentile_lines({"p85 cycle time": p85})
    if lines.empty:
        return _sized(alt.layer(dots), 300)
    rule = (
        alt.Chart(lines)
        .mark_rule(color=_RED, strokeDash=[6, 3])
        .encode(y=alt.Y("days", type=_Q), tooltip=[_tip("percentile")])
    )
    return _sized(alt.layer(dots, rule), 300)


def rework_chart(weekly: pd.DataFrame) -> ChartLike:
    """Weekly rework rate (bars) and mean revision rounds (line), on independent axes."""
    x = alt.X("week_start", type=_T, title="week")
    bars = alt.Chart(weekly).mark_bar(opacity=0.5, color=_ORANGE).encode(
        x=x, y=alt.Y("rework_rate", type=_Q, title="rework rate", axis=alt.Axis(format="%")),
        tooltip=[_tip("iso_week"), _tip("rework_rate", _Q, ".0%"), _tip("completed", _Q)],
    )  # fmt: skip
    line = alt.Chart(weekly).mark_line(point=True, color=_BLUE).encode(
        x=x, y=alt.Y("revision_rounds_mean", type=_Q, title="revision rounds (mean)"),
        tooltip=[_tip("iso_week"), _tip("revision_rounds_mean", _Q, ".2f")],
    )  # fmt: skip
    return _sized(alt.layer(bars, line).resolve_scale(y="independent"), 260)


def interval_chart(rows: pd.DataFrame, title: str, fmt: str) -> ChartLike:
    """A value per window with its interval (low..high) as an error bar."""
    x = alt.X("window_name", type=_N, title="window", sort=None)
    bars = (
        alt.Chart(rows)
        .mark_rule(strokeWidth=2)
        .encode(
            x=x, y=alt.Y("low", type=_Q, title=title, axis=alt.Axis(format=fmt)), y2=alt.Y2("high")
        )
    )
    dots = alt.Chart(rows).mark_point(filled=True, size=80).encode(
        x=x, y=alt.Y("value", type=_Q),
        tooltip=[_tip("window_name"), _tip("value", _Q, fmt), _tip("low", _Q, fmt),
                 _tip("high", _Q, fmt), _tip("n", _Q)],
    )  # fmt: skip
    return _sized(alt.layer(bars, dots), 220)


def dwell_chart(dwell: pd.DataFrame, bottleneck: str | None) -> ChartLike:
    """Share of non-backlog dwell per stage in the current window; the bottleneck in red."""
    frame = dwell.assign(
        role=["bottleneck" if s == bottleneck else "stage" for s in dwell["stage"]]
    )
    return _sized(alt.Chart(frame).mark_bar().encode(
        y=alt.Y("stage", type=_N, sort="-x", title="stage"),
        x=alt.X("dwell_share", type=_Q, title="share of working and waiting time",
                axis=alt.Axis(format="%")),
        color=_flag_colour("role", "", ["stage", "bottleneck"]),
        tooltip=[_tip("stage"), _tip("stage_class"), _tip("visits", _Q), _tip("dwell_p50_days", _Q, ".1f"),
                 _tip("dwell_p85_days", _Q, ".1f"), _tip("dwell_share", _Q, ".0%"), _tip("queue", _Q)],
    ), 40 + 28 * len(dwell))  # fmt: skip


def quarantine_chart(counts: pd.DataFrame) -> ChartLike:
    """Open quarantine rows per reason."""
    return _sized(alt.Chart(counts).mark_bar(color=_RED).encode(
        y=alt.Y("reason", type=_N, sort="-x", title=None),
        x=alt.X("n", type=_Q, title="rows"),
        tooltip=[_tip("reason"), _tip("n", _Q)],
    ), 40 + 28 * len(counts))  # fmt: skip
