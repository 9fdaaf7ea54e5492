"""What every page shares: the settings, the logged-in user, the granted and selected workspaces."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from dashboards.auth import User
from dashboards.data import Snapshot, snapshot_of
from dashboards.summaries import age_text
from models.settings import Settings

__all__ = ["PageContext", "freshness", "require", "selected_snapshot", "store"]

_KEY = "opspulse.context"


@dataclass(frozen=True)
class PageContext:
    """The settings, user, granted workspaces and the workspace chosen in the sidebar."""

    settings: Settings
    user: User
    workspaces: tuple[str, ...]
    workspace: str | None


def store(context: PageContext) -> None:
    """Hand the context from the entry script to the page it runs."""
    st.session_state[_KEY] = context


def require() -> PageContext:
    """The context the entry script stored; stops a page that was reached without it."""
    context = st.session_state.get(_KEY)
    if not isinstance(context, PageContext):
        st.error("Open the dashboard from its start page (`opspulse dashboard`).")
        st.stop()
    return context


def selected_snapshot(context: PageContext) -> Snapshot | None:
    """The chosen workspace's snapshot; None after explaining why there is none."""
    if context.workspace is None:
        st.info(_no_workspace_text(context))
        return None
    snapshot = snapshot_of(context.settings, context.workspace)
    if snapshot is None:
        st.info(
            f"No data published for workspace **{context.workspace}** yet: no run has finished. "
            "Import an event log with `opspulse import FILE --workspace "
            f"{context.workspace}` or run `opspulse demo`."
        )
    return snapshot


def _no_workspace_text(context: PageContext) -> str:
    if context.user.via != "local":
        return f"No workspace is granted to {context.user.name}; ask an administrator."
    return (
        f"No workspaces under {context.settings.home} yet. Import an event log with "
        "`opspulse import FILE` or run `opspulse demo`."
    )


def freshness(snapshot: Snapshot, build: pd.DataFrame) -> None:
    """The caption every page shows: as_of, when it was published, and how long ago."""
    now = datetime.now(UTC)
    published = f"published {snapshot.published_at:%Y-%m-%d %H:%M} UTC, {age_text(snapshot.published_at, now)}"
    if build.empty:
        st.caption(f"Workspace **{snapshot.workspace}** · data {published}")
        return
    as_of = pd.Timestamp(build["as_of"].iloc[0]).date() if build["as_of"].notna().all() else None
    window = f"metrics as of {as_of}" if as_of else "no events yet"
    st.caption(f"Workspace **{snapshot.workspace}** · {window} · data {published}")
