"""Flags and alerts: open, pending and resolved flags with evidence; acknowledge and snooze."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import actions, context, data
from dashboards.data import Snapshot
from dashboards.summaries import OPEN_STATUSES, silence_text

__all__ = ["main"]

_STATUSES = [*OPEN_STATUSES, "resolved"]
_COLUMNS = ["id", "name", "level", "process", "case_id", "dim", "severity", "status", "observed",
            "baseline", "explanation", "trigger", "first_seen_at", "last_seen_at", "open_runs",
            "silenced", "fingerprint"]  # fmt: skip


ROW_LIMIT = 500  # rows drawn at once: a 1M-event workspace can hold 100k+ task flags


def _label(row: dict[str, Any]) -> str:
    where = row["case_id"] or row["dim"] or ""
    return f"{row['id']} {row['name']} · {row['process']} {where} · {row['status']}".strip()


def _filters(flags: pd.DataFrame) -> pd.DataFrame:
    cols = st.columns([1, 2, 2])
    level = cols[0].radio("Level", ["all", "operations", "task"], horizontal=True, key="flag_level")
    statuses = cols[1].multiselect(
        "Status", _STATUSES, default=list(OPEN_STATUSES), key="flag_statuses"
    )
    severities = cols[2].multiselect(
        "Severity", ["critical", "high", "medium", "low", "info"], key="flag_severities"
    )
    shown = flags
    if level != "all":
        shown = shown[shown["level"] == level]
    if statuses:
        shown = shown[shown["status"].isin(statuses)]
    if severities:
        shown = shown[shown["severity"].isin(severities)]
    return shown


def _act(snapshot: Snapshot, row: dict[str, Any], user: str) -> None:
    folder = context.require().settings.paths(snapshot.workspace).requests
    st.markdown(f"**{row['id']} {row['name']}** · {row['severity']} · {row['status']}")
    st.write(row["explanation"])
    if row["action"] and row["action"] != row["explanation"]:
        st.info(str(row["action"]))
    st.caption(
        f"observed {row['observed']}, baseline {row['baseline']} · trigger {row['trigger']} · "
        f"first seen {row['first_seen_at']:%Y-%m-%d}, last seen {row['last_seen_at']:%Y-%m-%d}, "
        f"{row['open_runs']} run(s) open"
    )
    if row["silenced"]:
        st.caption(f"Now {row['silenced']}.")
    if st.button("Acknowledge", key="ack"):
        actions.write_request(folder, workspace=snapshot.workspace, fingerprint=row["fingerprint"],
                              action="acknowledge", user=user)  # fmt: skip
        st.success("Acknowledgement saved; the next run applies it.")
    with st.form("snooze"):
        days = st.number_input(
            "Snooze for days", min_value=1, max_value=actions.SNOOZE_MAX_DAYS,
            value=actions.SNOOZE_DEFAULT_DAYS, step=1,
        )  # fmt: skip
        reason = st.text_input("Reason (required)")
        if st.form_submit_button("Snooze"):
            if not reason.strip():
                st.error("A snooze needs a reason.")
            else:
                actions.write_request(folder, workspace=snapshot.workspace, action="snooze",
                                      fingerprint=row["fingerprint"], user=user, days=int(days),
                                      reason=reason)  # fmt: skip
                st.success(f"Snooze for {int(days)} days saved; the next run applies it.")


def _pending(snapshot: Snapshot) -> None:
    folder = context.require().settings.paths(snapshot.workspace).requests
    waiting = actions.pending_requests(folder)
    if waiting:
        st.markdown("**Requests waiting for the next run**")
        columns = ["requested_at", "action", "fingerprint", "user", "days", "reason"]
        frame = pd.DataFrame(waiting).reindex(columns=columns)
        st.dataframe(frame, hide_index=True, width="stretch")


def main() -> None:
    """Render flags and alerts."""
    ctx = context.require()
    st.title("Flags and alerts")
    snapshot = context.selected_snapshot(ctx)
    if snapshot is None:
        return
    context.freshness(snapshot, data.overview(*snapshot.key)["build"])
    flags = data.flags(*snapshot.key)
    if flags.empty:
        st.success(
            "No flags recorded: every evaluation so far found nothing that needs attention "
            "(flags appear after the first run that detects one)."
        )
        _pending(snapshot)
        return
    counts = flags.groupby("status").size()
    st.markdown(" · ".join(f"**{counts.get(s, 0)}** {s}" for s in _STATUSES))
    shown = _filters(flags)
    if shown.empty:
        st.info("No flag matches these filters.")
    else:
        total = len(shown)
        shown = shown.head(ROW_LIMIT)  # a list a person reads; filters narrow the rest
        now = datetime.now(UTC)
        shown = shown.assign(silenced=[silence_text(r, now) for r in shown.to_dict("records")])
        more = f" (the first {ROW_LIMIT}; filter to see others)" if total > ROW_LIMIT else ""
        st.caption(f"{total} flag(s), most severe first{more}.")
        st.dataframe(shown[_COLUMNS], hide_index=True, width="stretch")
        records = shown.to_dict("records")
        labels = [_label(r) for r in records]
        picked = st.selectbox("Flag", range(len(records)), format_func=labels.__getitem__)
        _act(snapshot, records[int(picked or 0)], ctx.user.name)
    _pending(snapshot)


main()
