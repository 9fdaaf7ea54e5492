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


def _label(row: dict[str, Any]) -> str:
    where = row["case_id"] or row["dim"] or ""
    return f"{row['id']} {row['name']} · {row['process']} {where} · {row['status']}".strip()


def _filters(snapshot: Snapshot) -> tuple[pd.DataFrame, int]:
    """The filter widgets, and the first rows of the flags they keep with how many they keep."""
    cols = st.columns([1, 2, 2])
    level = cols[0].radio("Level", ["all", "operations", "task"], horizontal=True, key="flag_level")
    statuses = cols[1].multiselect(
        "Status", _STATUSES, default=list(OPEN_STATUSES), key="flag_statuses"
    )
    severities = cols[2].multiselect(
        "Severity", ["critical", "high", "medium", "low", "info"], key="flag_severities"
    )
    return data.flag_page(
        *snapshot.key, level=None if level == "all" else level, statuses=tuple(statuses),
        severities=tuple(severities),
    )  # fmt: skip


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
    counts = data.flag_counts(*snapshot.key)
    if counts.empty:
        st.success(
            "No flags recorded: every evaluation so far found nothing that needs attention "
            "(flags appear after the first run that detects one)."
        )
        _pending(snapshot)
        return
    by_status = counts.groupby("status")["n"].sum()
    st.markdown(" · ".join(f"**{by_status.get(s, 0)}** {s}" for s in _STATUSES))
    shown, total = _filters(snapshot)
    if not total:
        st.info("No flag matches these filters.")
    else:
        # A list a person reads: the first FLAG_LIMIT rows, and filters narrow the rest.
        now = datetime.now(UTC)
        shown = shown.assign(silenced=[silence_text(r, now) for r in shown.to_dict("records")])
        limit = data.FLAG_LIMIT
        more = f" (the first {limit}; filter to see others)" if total > limit else ""
        st.caption(f"{total} flag(s), most severe first{more}.")
        st.dataframe(shown[_COLUMNS], hide_index=True, width="stretch")
        records = shown.to_dict("records")
        labels = [_label(r) for r in records]
        picked = st.selectbox("Flag", range(len(records)), format_func=labels.__getitem__)
        _act(snapshot, records[int(picked or 0)], ctx.user.name)
    _pending(snapshot)


main()
