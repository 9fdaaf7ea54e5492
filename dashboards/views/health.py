"""Data health: last runs, source freshness, quarantine counts and reasons, Data Docs."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards import charts, context, data
from dashboards.summaries import STALE_AFTER_HOURS

__all__ = ["main"]

_FAIL_RUNS = 2  # sources.fail_runs (METRICS.md §6)
_DOCS = ("gx", "uncommitted", "data_docs", "local_site", "index.html")


def _source_freshness(sources: pd.DataFrame) -> pd.DataFrame:
    now = datetime.now(UTC)

    def verdict(row: pd.Series) -> str:
        if row["last_auth_error"] or row["consecutive_failures"] >= _FAIL_RUNS:
            return "failing"
        if pd.isna(row["last_success_at"]):
            return "never"
        hours = (now - row["last_success_at"]).total_seconds() / 3600
        return "stale" if hours > STALE_AFTER_HOURS else "fresh"

    return sources.assign(freshness=sources.apply(verdict, axis=1))


def main() -> None:
    """Render data health."""
    ctx = context.require()
    st.title("Data health")
    snapshot = context.selected_snapshot(ctx)
    if snapshot is None:
        return
    frames = data.health(*snapshot.key)
    context.freshness(snapshot, frames["build"])
    st.subheader("Last runs")
    if frames["runs"].empty:
        st.info("No run recorded in this snapshot.")
    else:
        st.dataframe(frames["runs"], hide_index=True, width="stretch")
    st.subheader("Sources")
    if frames["sources"].empty:
        st.info("No connected sources: this workspace is fed by imported files only "
                "(freshness = when the data was published, above).")  # fmt: skip
    else:
        st.dataframe(_source_freshness(frames["sources"]), hide_index=True, width="stretch")
    st.subheader("Quarantine")
    quarantine = frames["quarantine"]
    if quarantine.empty:
        st.success("No rows in quarantine: every imported row passed validation.")
    else:
        st.metric("Rows in quarantine", int(quarantine["n"].sum()))
        st.altair_chart(charts.quarantine_chart(quarantine), width="stretch")
        st.dataframe(quarantine, hide_index=True, width="stretch")
        st.caption(
            "`opspulse quarantine list` shows each row; `opspulse quarantine replay` retries them."
        )
    if not frames["warnings"].empty:
        st.subheader("Data-quality warnings")
        st.dataframe(frames["warnings"], hide_index=True, width="stretch")
    st.subheader("Landed files")
    if frames["files"].empty:
        st.info("No landed file loaded yet.")
    else:
        st.dataframe(frames["files"], hide_index=True, width="stretch")
    docs = ctx.settings.paths(snapshot.workspace).gx.joinpath(*_DOCS)
    st.subheader("Data Docs")
    if docs.exists():
        st.markdown(f"Great Expectations Data Docs: [{docs}]({docs.resolve().as_uri()}) "
                    "(open on the machine that runs opspulse).")  # fmt: skip
    else:
        st.info("No Data Docs yet: they are written by the first run that validates a file.")


main()
