"""Portfolio: every granted workspace's processes, worst trends first."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards import context, data
from dashboards.summaries import portfolio_rows, sort_portfolio

__all__ = ["main"]

_COLUMNS = {
    "workspace": st.column_config.TextColumn("Workspace"),
    "process": st.column_config.TextColumn("Process"),
    "level": st.column_config.TextColumn("Maturity"),
    "confidence": st.column_config.TextColumn("Confidence"),
    "operations_flags": st.column_config.TextColumn("Operations flags (OBM)"),
    "task_flags": st.column_config.TextColumn("Task flags (VA)"),
    "cycle_time_p50_days": st.column_config.NumberColumn("Cycle time p50 (d)", format="%.1f"),
    "baseline_p50_days": st.column_config.NumberColumn("Baseline p50 (d)", format="%.1f"),
    "cycle_time_trend": st.column_config.TextColumn("Cycle-time trend"),
    "rework_trend": st.column_config.TextColumn("Rework trend"),
    "csat": st.column_config.NumberColumn("CSAT (28 d)", format="percent"),
    "as_of": st.column_config.DateColumn("As of"),
    "published": st.column_config.TextColumn("Data published"),
    "link": st.column_config.LinkColumn("Open", display_text="process page"),
}


def _collect(ctx: context.PageContext) -> tuple[pd.DataFrame, list[str]]:
    now = datetime.now(UTC)
    rows, missing = [], []
    for workspace in ctx.workspaces:
        snapshot = data.snapshot_of(ctx.settings, workspace)
        if snapshot is None:
            missing.append(workspace)
            continue
        rows += portfolio_rows(workspace, data.overview(*snapshot.key), snapshot.published_at, now)
    return sort_portfolio(pd.DataFrame(rows)), missing


def main() -> None:
    """Render the portfolio."""
    ctx = context.require()
    st.title("Portfolio")
    if not ctx.workspaces:
        context.selected_snapshot(ctx)
        return
    frame, missing = _collect(ctx)
    st.caption(
        f"{len(ctx.workspaces)} workspace(s) · each row's data age is in *Data published*; "
        "sorted worst trend first (significant rises of cycle time and rework, Mann-Kendall on "
        "the last 26 weeks), then by open flags."
    )
    for workspace in missing:
        st.info(f"**{workspace}**: no data published yet; no run has finished for it.")
    if frame.empty:
        st.info("No process has data yet: the published snapshots hold no cases.")
        return
    cols = st.columns(4)
    cols[0].metric("Processes", len(frame))
    cols[1].metric("Open operations flags", int(frame["n_operations_flags"].sum()))
    cols[2].metric("Open task flags", int(frame["n_task_flags"].sum()))
    cols[3].metric("Worsening trends", int((frame["trend_score"] > 0).sum()))
    only_flagged = st.toggle("Only processes with open operations flags or worsening trends")
    levels = st.multiselect("Maturity level", sorted(frame["level"].str[:2].unique()))
    shown = frame
    if only_flagged:
        shown = shown[(shown["n_operations_flags"] > 0) | (shown["trend_score"] > 0)]
    if levels:
        shown = shown[shown["level"].str[:2].isin(levels)]
    if shown.empty:
        st.info("No process matches these filters.")
        return
    st.dataframe(shown[list(_COLUMNS)], hide_index=True, width="stretch", column_config=_COLUMNS)


main()
