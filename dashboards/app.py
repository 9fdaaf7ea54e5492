"""opspulse dashboard entry point: reads only the published snapshot of a workspace.

A first page listing processes; the full dashboard (portfolio, process, task queue, flags,
data health) builds on it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from models.errors import OpspulseError
from models.settings import load_settings
from warehouse import queries
from warehouse.db import open_snapshot


@st.cache_data(show_spinner=False)
def _processes(snapshot: str, mtime: float) -> pd.DataFrame:
    """Process summary of a snapshot; cached on the snapshot's path and mtime."""
    with open_snapshot(Path(snapshot)) as con:
        return pd.DataFrame(queries.process_summary(con))


def main() -> None:
    """Render the processes page."""
    st.set_page_config(page_title="opspulse", layout="wide")
    st.title("opspulse")
    try:
        settings = load_settings()
        workspace = settings.dashboard_workspace
        st.caption(f"Workspace **{workspace}**")
        snapshot = settings.paths(workspace).snapshot
    except OpspulseError as exc:
        st.error(str(exc))
        return
    if not snapshot.exists():
        st.info(
            "No data published for this workspace yet. Import an event log with "
            "`opspulse import FILE` or run `opspulse demo`."
        )
        return
    mtime = snapshot.stat().st_mtime
    published = datetime.fromtimestamp(mtime, UTC)
    st.caption(f"Data published {published:%Y-%m-%d %H:%M} UTC")
    frame = _processes(str(snapshot), mtime)
    if frame.empty:
        st.info("The snapshot has no cases yet: every imported row may be in quarantine.")
        return
    st.subheader("Processes")
    st.dataframe(frame, hide_index=True, width="stretch")


main()
