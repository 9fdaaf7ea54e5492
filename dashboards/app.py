"""opspulse dashboard entry point: login, workspace choice and navigation over the page files.

Every page reads only published snapshots (never the live warehouse) and writes nothing but
acknowledge/snooze request files for the next run.
"""

from __future__ import annotations

import streamlit as st

from dashboards import auth, context, data
from models.errors import OpspulseError
from models.settings import Settings, load_settings

PAGES = (
    ("views/portfolio.py", "Portfolio", ":material/dashboard:", "portfolio"),
    ("views/process.py", "Process", ":material/timeline:", "process"),
    ("views/tasks.py", "Task queue", ":material/checklist:", "tasks"),
    ("views/flags.py", "Flags and alerts", ":material/flag:", "flags"),
    ("views/health.py", "Data health", ":material/monitor_heart:", "health"),
)


def _choose_workspace(settings: Settings, granted: list[str]) -> str | None:
    """The sidebar's workspace: ?ws= on arrival, else the one `opspulse dashboard` was given."""
    if not granted:
        return None
    wanted = st.query_params.get("ws")
    if "workspace" not in st.session_state or (wanted and wanted != st.session_state.workspace):
        start = wanted if wanted in granted else settings.dashboard_workspace
        st.session_state.workspace = start if start in granted else granted[0]
    if st.session_state.workspace not in granted:
        st.session_state.workspace = granted[0]
    choice = st.sidebar.selectbox("Workspace", granted, key="workspace")
    if wanted and wanted not in granted:
        st.sidebar.warning(f"Workspace {wanted!r} is not available to you.")
    return str(choice)


def _sidebar_user(user: auth.User) -> None:
    if user.via == "local":
        return
    st.sidebar.caption(f"Logged in as **{user.name}**")
    if user.via == "oidc":
        st.sidebar.button("Log out", on_click=st.logout)
    else:
        st.sidebar.button("Log out", on_click=auth.log_out)


def main() -> None:
    """Log the visitor in, then run the chosen page with the shared context."""
    st.set_page_config(page_title="opspulse", layout="wide")
    try:
        settings = load_settings()
    except OpspulseError as exc:
        st.error(str(exc))
        return
    address = st.get_option("server.address")
    user = auth.current_user(settings.dashboard, address)
    if user is None:
        # The login stands in for the start page, so after logging in the same URL is the portfolio.
        login = st.Page(
            lambda: auth.login_page(settings.dashboard, address),
            title="Log in",
            url_path="portfolio",
        )
        st.navigation([login], position="hidden").run()
        return
    granted = user.visible(data.workspaces(settings))
    workspace = _choose_workspace(settings, granted)
    context.store(context.PageContext(settings, user, tuple(granted), workspace))
    pages = [
        st.Page(path, title=title, icon=icon, url_path=url, default=i == 0)
        for i, (path, title, icon, url) in enumerate(PAGES)
    ]
    page = st.navigation(pages)
    _sidebar_user(user)
    page.run()


main()
