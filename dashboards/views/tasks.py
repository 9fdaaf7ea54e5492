"""Task queue: the open task-level flags as the VA's work list, filterable, linked to their cases."""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from dashboards import context, data
from dashboards.summaries import OPEN_STATUSES

__all__ = ["main"]

_COLUMNS = {
    "name": st.column_config.TextColumn("To do"),
    "severity": st.column_config.TextColumn("Severity"),
    "process": st.column_config.TextColumn("Process"),
    "case_id": st.column_config.TextColumn("Case"),
    "case_title": st.column_config.TextColumn("Title"),
    "assignee": st.column_config.TextColumn("Assignee"),
    "action": st.column_config.TextColumn("Next action", width="large"),
    "status": st.column_config.TextColumn("Status"),
    "first_seen_at": st.column_config.DatetimeColumn("Since", format="YYYY-MM-DD"),
    "link": st.column_config.LinkColumn("Open", display_text="case"),
}


def _links(frame: pd.DataFrame, workspace: str) -> list[str]:
    return [
        "process?" + urlencode({"ws": workspace, "process": p, "case": c})
        for p, c in zip(frame["process"], frame["case_id"].fillna(""), strict=True)
    ]


def main() -> None:
    """Render the task queue."""
    ctx = context.require()
    st.title("Task queue")
    snapshot = context.selected_snapshot(ctx)
    if snapshot is None:
        return
    context.freshness(snapshot, data.overview(*snapshot.key)["build"])
    counts = data.flag_counts(*snapshot.key)
    tasks = (
        counts[(counts["level"] == "task") & counts["status"].isin(OPEN_STATUSES)]
        if not counts.empty
        else counts
    )
    if tasks.empty:
        st.success(
            "Nothing in the queue: no open task flag (overdue, unassigned, stale, waiting on "
            "client, unanswered, detractor) at this snapshot's evaluation."
        )
        return
    by_name = tasks.groupby("name")["n"].sum().sort_values(ascending=False)
    st.markdown(" · ".join(f"**{n}** {name}" for name, n in by_name.items()))
    cols = st.columns(3)
    kinds = cols[0].multiselect("Flag", sorted(tasks["name"].unique()), key="task_kinds")
    processes = cols[1].multiselect(
        "Process", sorted(tasks["process"].dropna().unique()), key="task_processes"
    )
    text = cols[2].text_input("Search case, title or assignee", key="task_text")
    shown, total = data.flag_page(
        *snapshot.key, level="task", statuses=OPEN_STATUSES, names=tuple(kinds),
        processes=tuple(processes), text=text or None,
    )  # fmt: skip
    if not total:
        st.info("No task matches these filters.")
        return
    # A work list a person reads: the first FLAG_LIMIT rows, and filters narrow the rest.
    shown = shown.assign(link=_links(shown, snapshot.workspace))
    more = (
        f" (the first {data.FLAG_LIMIT}; filter to see others)" if total > data.FLAG_LIMIT else ""
    )
    st.caption(f"{total} of {by_name.sum()} open task(s), most severe first{more}.")
    st.dataframe(shown[list(_COLUMNS)], hide_index=True, width="stretch", column_config=_COLUMNS)


main()
