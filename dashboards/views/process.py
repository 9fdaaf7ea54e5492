"""Process: maturity explanation, control chart, flow, aging, rework, satisfaction, dwell, cases."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboards import charts, context, data
from dashboards.data import Frames, Snapshot
from dashboards.summaries import level_text, metric_value

__all__ = ["main"]

# Views render on demand: each chart costs Altair tens of milliseconds to serialise.
VIEWS = ("Cycle time", "Flow", "Quality", "Cases")


def _pick_process(snapshot: Snapshot) -> str | None:
    overview = data.overview(*snapshot.key)
    names = sorted(overview["processes"]["process"]) if not overview["processes"].empty else []
    if not names:
        st.info(
            "The snapshot has no cases yet: every imported row may be in quarantine "
            "(see Data health)."
        )
        return None
    wanted = st.query_params.get("process")
    if wanted in names and st.session_state.get("process_arrived") != wanted:
        st.session_state.process = wanted
        st.session_state.process_arrived = wanted
    if st.session_state.get("process") not in names:
        st.session_state.process = names[0]
    return str(st.selectbox("Process", names, key="process"))


def _maturity(frames: Frames) -> None:
    if frames["maturity"].empty:
        st.info("No maturity assessment in this snapshot: the workspace has no as_of yet.")
        return
    m = frames["maturity"].iloc[0]
    cols = st.columns(4)
    cols[0].metric("Maturity", level_text(m["level"], m["subscore"]).split(" ")[0])
    cols[1].metric("Sub-score", f"{int(m['subscore'])}%")
    cols[2].metric("Confidence", str(m["confidence"]).replace("_", " "))
    cols[3].metric(
        "Completions", int(m["completions"]), help=f"in the last {m['window_days']} days"
    )
    st.markdown(f"**{str(m['explanation']).splitlines()[0]}**")
    st.info(str(m["next_step"]))
    criteria = pd.DataFrame(m["criteria"] or [])
    if criteria.empty:
        return
    criteria["result"] = criteria.apply(
        lambda c: "n/a" if not c["applicable"] else ("✓ pass" if c["passed"] else "✗ fail"), axis=1
    )
    passing = criteria[criteria["result"] == "✓ pass"]
    failing = criteria[criteria["result"] == "✗ fail"]
    st.caption(f"{len(passing)} criteria pass, {len(failing)} fail")
    st.dataframe(
        criteria[["id", "name", "result", "value", "threshold"]],
        hide_index=True, width="stretch", height=38 + 35 * len(criteria),
        column_config={"value": st.column_config.NumberColumn(format="%.3g")},
    )  # fmt: skip


def _control_chart(frames: Frames) -> None:
    st.subheader("Cycle time: XmR chart")
    points = frames["xmr"]
    if points.empty:
        st.info("No completed items with a cycle time in the last year: nothing to chart.")
        return
    chart, frame, lines = charts.xmr_frames(points)
    if chart.state == "learning":
        st.caption(f"Learning: {chart.n} points, limits appear after 6 completions.")
    elif chart.state == "trial":
        st.caption(f"Trial limits from all {chart.n} points (METRICS.md §3.1).")
    else:
        st.caption(
            f"Limits from the 20 completions before the last {len(chart.evaluation or [])}, "
            f"which are judged; the chart shows the last {chart.n} completions of the year."
        )
    st.altair_chart(charts.xmr_chart(frame, lines), width="stretch")
    signalled = frame[frame["signal"] != "none"]
    st.caption(f"{len(signalled)} rule signal(s) in the evaluated points.")
    if not signalled.empty:
        st.dataframe(
            signalled[["case_id", "case_title", "completed_at", "cycle_time_days", "signal"]],
            hide_index=True, width="stretch",
        )  # fmt: skip


def _scatter(frames: Frames, process: str, days: int) -> None:
    st.subheader("Cycle-time scatter")
    metrics = frames["metrics"]
    pct = {
        f"p{q}": metric_value(metrics, process, "maturity", f"cycle_time_p{q}_days")
        for q in (50, 85, 95)
    }
    if frames["scatter"].empty:
        st.info(f"No completions in the last {days} days.")
        return
    st.caption(
        f"Completions of the last {days} days"
        + (f" (the latest {data.SCATTER_LIMIT})" if len(frames["scatter"]) >= data.SCATTER_LIMIT else "")
        + " · " + ", ".join(f"{k} {v:.1f} d" for k, v in pct.items() if v is not None)
    )  # fmt: skip
    st.altair_chart(charts.scatter_chart(frames["scatter"], pct), width="stretch")


def _flow(frames: Frames) -> None:
    st.subheader("Throughput and work in progress")
    if frames["throughput"].empty:
        st.info("No weeks with data yet.")
        return
    left, right = st.columns(2)
    left.altair_chart(charts.throughput_chart(frames["throughput"]), width="stretch")
    if frames["wip"].empty:
        right.info("WIP needs stages: this is a generic event log without stage classes.")
    else:
        right.altair_chart(charts.wip_chart(frames["wip"]), width="stretch")
    st.markdown("**Cumulative flow**")
    if frames["cfd"].empty:
        st.info("Cumulative flow needs stages: this is a generic event log without stage classes.")
    else:
        st.altair_chart(charts.cfd_chart(frames["cfd"]), width="stretch")


def _aging(frames: Frames, process: str) -> None:
    st.subheader("Aging work in progress")
    p85 = metric_value(frames["metrics"], process, "maturity", "cycle_time_p85_days")
    aging = frames["aging"]
    started = aging[aging["age_days"].notna()] if not aging.empty else aging
    if started.empty:
        st.info("No open, started items at as_of: nothing is aging.")
        return
    over = int((started["age_days"] > p85).sum()) if p85 is not None else 0
    st.caption(
        f"{len(started)} open items; {over} older than the p85 cycle time"
        + (f" ({p85:.1f} d)" if p85 is not None else " (not known yet)")
    )
    st.altair_chart(charts.aging_chart(started, p85), width="stretch")


def _rework(frames: Frames, process: str) -> None:
    st.subheader("Rework and revision rounds")
    weekly = frames["weekly"]
    done = weekly[weekly["completed"] > 0] if not weekly.empty else weekly
    if done.empty:
        st.info("No completions yet, so no rework to show.")
        return
    rate = metric_value(frames["metrics"], process, "current", "rework_rate")
    rounds = metric_value(frames["metrics"], process, "current", "revision_rounds_mean")
    cols = st.columns(2)
    cols[0].metric("Rework rate (28 d)", "n/a" if rate is None else f"{rate:.0%}")
    cols[1].metric("Revision rounds (28 d)", "n/a" if rounds is None else f"{rounds:.2f}")
    st.altair_chart(charts.rework_chart(done.tail(52)), width="stretch")


def _feedback(frames: Frames, process: str) -> None:
    st.subheader("Customer satisfaction")
    metrics = frames["metrics"]
    windows = ["current", "baseline", "maturity"]
    shown = False
    for metric, title, fmt in (("csat", "CSAT", ".0%"), ("nps", "NPS", ".0f")):
        rows = metrics[(metrics["metric"] == metric) & metrics["window_name"].isin(windows)]
        rows = rows[rows["value"].notna()] if not rows.empty else rows
        if rows.empty:
            continue
        shown = True
        current = metric_value(metrics, process, "current", metric)
        head = "n/a" if current is None else format(current, fmt)
        n = rows[rows["window_name"] == "current"]["n"]
        st.markdown(f"**{title}** now {head} (n={int(n.iloc[0]) if len(n) else 0}), 95% intervals")
        st.altair_chart(charts.interval_chart(rows, title, fmt), width="stretch")
    if not shown:
        st.info("No CSAT or NPS responses linked to this process in these windows.")


def _dwell(frames: Frames) -> None:
    st.subheader("Stage dwell and bottleneck")
    dwell = frames["dwell"]
    current = (
        dwell[(dwell["window_name"] == "current") & dwell["dwell_share"].notna()]
        if not dwell.empty
        else dwell
    )
    if current.empty:
        st.info("No stage visits closed in the last 28 days (or the log has no stages).")
        return
    candidates = current[~current["stage_class"].isin(["waiting_on_client"])]
    top = candidates.sort_values("dwell_share", ascending=False).head(1)
    bottleneck = str(top["stage"].iloc[0]) if not top.empty else None
    if bottleneck is not None:
        share = float(top["dwell_share"].iloc[0])
        st.markdown(
            f"Bottleneck: **{bottleneck}** holds {share:.0%} of the working and waiting time "
            f"(median visit {float(top['dwell_p50_days'].iloc[0]):.1f} d, "
            f"{int(top['queue'].fillna(0).iloc[0])} items there now)."
        )
    st.altair_chart(charts.dwell_chart(current, bottleneck), width="stretch")


def _cases(snapshot: Snapshot, process: str) -> None:
    st.subheader("Cases")
    left, right = st.columns([1, 2])
    state = left.selectbox("State", ["all", "open", "completed", "cancelled"], key="case_state")
    text = right.text_input("Search id, title, assignee or client", key="case_text")
    frame = data.cases(*snapshot.key, process, None if state == "all" else state, text or None)
    if frame.empty:
        st.info("No case matches these filters.")
        return
    st.caption(f"{len(frame)} case(s) shown (newest first, at most {data.CASE_LIMIT}).")
    st.dataframe(frame, hide_index=True, width="stretch")
    wanted = st.query_params.get("case")
    ids = list(frame["case_id"])
    if wanted and wanted not in ids:
        ids = [wanted, *ids]
    case = st.selectbox(
        "Case", ids, index=ids.index(wanted) if wanted in ids else 0, key=f"case_pick_{wanted}"
    )
    events = data.case_events(*snapshot.key, process, str(case))
    if events.empty:
        st.info(f"No events for case {case} in {process}.")
        return
    st.markdown(f"**Events of {case}**")
    st.dataframe(events, hide_index=True, width="stretch")


def main() -> None:
    """Render the process page."""
    ctx = context.require()
    st.title("Process")
    snapshot = context.selected_snapshot(ctx)
    if snapshot is None:
        return
    process = _pick_process(snapshot)
    if process is None:
        return
    settings = ctx.settings
    frames = data.process_view(
        *snapshot.key, process, settings.maturity.lookback_days, settings.metrics.maturity_days
    )
    context.freshness(snapshot, frames["build"])
    _maturity(frames)
    if st.query_params.get("case") and "process_view" not in st.session_state:
        st.session_state.process_view = "Cases"
    view = st.radio("View", VIEWS, horizontal=True, key="process_view")
    if view == "Cycle time":
        _control_chart(frames)
        _scatter(frames, process, settings.metrics.maturity_days)
    elif view == "Flow":
        _flow(frames)
        _aging(frames, process)
    elif view == "Quality":
        _rework(frames, process)
        _feedback(frames, process)
        _dwell(frames)
    else:
        _cases(snapshot, process)


main()
