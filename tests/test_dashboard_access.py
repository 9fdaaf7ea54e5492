"""Dashboard login and grants, publishing while the dashboard is open, and acknowledge/snooze
requests from the page to the next run (issue #5, AC 3)."""

# ruff: noqa: F811  (fixtures imported from other test modules are redefined as parameters)
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from dashboards.auth import check_password, hash_password, verify_login
from flows.requests import apply_requests
from models.settings import DashboardConfig, Settings
from tests.conftest import write_jsonl
from tests.test_dashboard import APP, open_app, run_ok, texts  # noqa: F401  (a fixture)
from tests.test_dashboard_seed import copy_home, seed_home  # noqa: F401  (a fixture)
from warehouse.db import open_snapshot, open_writer
from warehouse.migrate import migrate
from warehouse.publish import publish


@pytest.fixture(autouse=True)
def _served_locally():
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "opspulse.toml"
    path.write_text(
        "[dashboard.users.alice]\n"
        f'password = "{hash_password("alice-secret", iterations=1000)}"\n'
        'workspaces = ["acme"]\n'
        "[dashboard.users.bob]\n"
        'password = "bob-secret"\n'
        'workspaces = ["*"]\n'
    )
    return path


def _processes(home: Path, workspace: str) -> set[str]:
    path = home / workspace / "published" / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("select distinct process from fct_cases").fetchall()}


def _log_in(at: AppTest, user: str, password: str) -> AppTest:
    at.text_input[0].input(user)
    at.text_input[1].input(password)
    at.button[0].click()
    return run_ok(at)


# --- passwords --------------------------------------------------------------------------------


def test_passwords_plain_and_hashed_in_constant_time_compare() -> None:
    stored = hash_password("s3cret", iterations=1000)
    assert stored.startswith("pbkdf2_sha256$1000$")
    from pydantic import SecretStr

    assert check_password("s3cret", SecretStr(stored))
    assert not check_password("s3cret!", SecretStr(stored))
    assert check_password("plain", SecretStr("plain"))
    assert not check_password("plain", None)
    shared = DashboardConfig(password=SecretStr("team"))
    assert verify_login(shared, "owner", "team").grants == ("*",)
    assert verify_login(shared, "owner", "nope") is None
    assert verify_login(shared, "mallory", "team") is None


# --- login and grants -------------------------------------------------------------------------


def test_login_is_required_and_a_user_sees_only_granted_workspaces(
    seed_home: Path, tmp_path: Path, open_app
) -> None:
    at = run_ok(open_app(seed_home, "acme", _config(tmp_path)))
    assert not at.dataframe and "Log in" in [b.label for b in at.button]
    _log_in(at, "alice", "wrong")
    assert any("Wrong user or password" in e.value for e in at.error)
    assert not at.dataframe
    _log_in(at, "alice", "alice-secret")
    portfolio = at.dataframe[0].value
    assert set(portfolio["workspace"]) == {"acme"}
    launch_processes = _processes(seed_home, "launch") - _processes(seed_home, "acme")
    assert launch_processes  # the other workspace has processes acme does not
    # Asking for the other workspace by URL does not show it, on any page.
    for page in (
        "views/portfolio.py",
        "views/process.py",
        "views/tasks.py",
        "views/flags.py",
        "views/health.py",
    ):
        at.switch_page(page)
        at.query_params["ws"] = "launch"
        run_ok(at)
        seen = texts(at)
        assert "launch" not in [
            o for s in at.selectbox if s.label == "Workspace" for o in s.options
        ]
        assert not any(p in seen for p in launch_processes), page
        assert "Workspace **acme**" in seen or page == "views/portfolio.py"


def test_shared_password_user_sees_every_workspace(
    seed_home: Path, tmp_path: Path, open_app, monkeypatch
) -> None:
    monkeypatch.setenv("OPSPULSE_DASHBOARD__PASSWORD", "team-pass")
    at = run_ok(open_app(seed_home))
    _log_in(at, "owner", "team-pass")
    assert set(at.dataframe[0].value["workspace"]) == {"acme", "launch"}
    logout = next(b for b in at.sidebar.button if b.label == "Log out")
    logout.click()
    run_ok(at)
    assert not at.dataframe


def test_beyond_localhost_without_login_shows_no_data(seed_home: Path, open_app) -> None:
    config.set_option("server.address", "0.0.0.0")
    at = run_ok(open_app(seed_home))
    assert any("listens beyond 127.0.0.1" in e.value for e in at.error)
    assert not at.dataframe and not at.metric


def test_cli_refuses_to_bind_beyond_localhost_without_login(cli) -> None:
    result = cli("dashboard", "--host", "0.0.0.0", "--port", "8599")
    assert result.code == 2
    assert "without a login" in result.err and len(result.err.strip().splitlines()) == 1


# --- a run publishes while the dashboard is open ----------------------------------------------


def test_a_run_publishes_while_the_dashboard_reads(
    seed_home: Path, tmp_path: Path, open_app
) -> None:
    from flows.ingest import land_imports
    from flows.pipeline import run_pipeline

    home = copy_home(seed_home, tmp_path / "home")
    at = run_ok(open_app(home, "acme"))
    assert "Hiring" not in set(at.dataframe[0].value["process"])
    snapshot = home / "acme" / "published" / "warehouse.duckdb"
    reader = open_snapshot(snapshot)  # a dashboard read in flight during the publish
    day = "2026-01-05T10:00:00Z"
    write_jsonl(tmp_path / "hiring.jsonl", [
        {"kind": "created", "process": "Hiring", "case_id": f"H{i}", "occurred_at": day, "stage": "active"}
        for i in range(3)
    ])  # fmt: skip
    settings = Settings(home=home)
    land_imports(
        [tmp_path / "hiring.jsonl"],
        settings.paths("acme").landing,
        "jsonl",
        None,
        datetime.now(UTC),
    )
    run_pipeline(settings, "acme", lock_timeout=5)
    assert reader.execute("select count(*) from fct_cases where process = 'Hiring'").fetchall() == [
        (0,)
    ]
    reader.close()
    run_ok(at)
    assert "Hiring" in set(at.dataframe[0].value["process"])


# --- acknowledge and snooze -------------------------------------------------------------------


def _flags_page(open_app, home: Path) -> AppTest:
    at = run_ok(open_app(home, "acme"))
    at.switch_page("views/flags.py")
    return run_ok(at)


def _apply_and_publish(home: Path) -> list:
    settings = Settings(home=home)
    paths = settings.paths("acme")
    con = open_writer(paths.warehouse)
    migrate(con)
    outcomes = apply_requests(con, settings, "acme")
    publish(con, paths.warehouse, paths.snapshot)
    return outcomes


def test_acknowledge_and_snooze_go_through_a_request_file_to_the_next_run(
    seed_home: Path, tmp_path: Path, open_app
) -> None:
    home = copy_home(seed_home, tmp_path / "home")
    at = _flags_page(open_app, home)
    picked = at.dataframe[0].value.iloc[0]
    at.button(key="ack").click()
    run_ok(at)
    assert any("next run applies it" in s.value for s in at.success)
    at.number_input[0].set_value(200)  # clamped by the widget: at most 90
    at.text_input[0].input("client on holiday")
    submit = next(b for b in at.button if b.label == "Snooze")
    submit.click()
    run_ok(at)
    folder = home / "acme" / "requests"
    written = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    assert [r["action"] for r in written] == ["acknowledge", "snooze"]
    assert {r["fingerprint"] for r in written} == {picked["fingerprint"]}
    assert written[1]["days"] <= 90 and written[1]["reason"] == "client on holiday"
    assert "Requests waiting for the next run" in texts(at)
    # The snapshot is untouched until a run applies the requests.
    outcomes = _apply_and_publish(home)
    assert [o.outcome for o in outcomes] == ["applied", "applied"]
    assert not list(folder.glob("*.json")) and len(list((folder / "done").glob("*.json"))) == 2
    run_ok(at)
    row = at.dataframe[0].value.set_index("fingerprint").loc[picked["fingerprint"]]
    assert "acknowledged by local" in row["silenced"] and "client on holiday" in row["silenced"]


def test_snooze_without_reason_is_refused_on_the_page(
    seed_home: Path, tmp_path: Path, open_app
) -> None:
    home = copy_home(seed_home, tmp_path / "home")
    at = _flags_page(open_app, home)
    next(b for b in at.button if b.label == "Snooze").click()
    run_ok(at)
    assert any("needs a reason" in e.value for e in at.error)
    assert not list((home / "acme" / "requests").glob("*.json"))


def test_apply_requests_rejects_bad_requests_and_is_idempotent(
    seed_home: Path, tmp_path: Path
) -> None:
    from dashboards.actions import write_request

    home = copy_home(seed_home, tmp_path / "home")
    settings = Settings(home=home)
    folder = settings.paths("acme").requests
    with open_snapshot(settings.paths("acme").snapshot) as con:
        fp, severity = con.execute(
            "select fingerprint, severity from flag_state limit 1"
        ).fetchall()[0]
    at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    write_request(folder, workspace="acme", fingerprint=fp, action="snooze", user="ann", days=10,
                  reason="waiting on a contractor", now=at)  # fmt: skip
    write_request(
        folder, workspace="acme", fingerprint="0" * 64, action="acknowledge", user="ann", now=at
    )
    write_request(
        folder, workspace="launch", fingerprint=fp, action="acknowledge", user="ann", now=at
    )
    (folder / "broken.json").write_text("{not json")
    (folder / "too-long.json").write_text(json.dumps({
        "id": "a" * 32, "workspace": "acme", "fingerprint": fp, "action": "snooze", "user": "ann",
        "requested_at": at.isoformat(), "days": 91, "reason": "x"}))  # fmt: skip
    outcomes = {o.file: o for o in _apply_and_publish(home)}
    applied = [o for o in outcomes.values() if o.outcome == "applied"]
    assert len(applied) == 1 and applied[0].detail.startswith("snoozed until 2026-01-11 09:00")
    rejected = {f: o.detail for f, o in outcomes.items() if o.outcome == "rejected"}
    assert len(rejected) == 4
    assert any("no flag with this fingerprint" in d for d in rejected.values())
    assert any("workspace 'launch'" in d for d in rejected.values())
    assert any("1 to 90 days" in d for d in rejected.values())
    assert len(list((folder / "rejected").iterdir())) == 4
    with open_snapshot(settings.paths("acme").snapshot) as con:
        row = con.execute("select snoozed_until, snoozed_by, snooze_reason, snoozed_severity from flag_state "
                          "where fingerprint = ?", [fp]).fetchall()[0]  # fmt: skip
        logged = con.execute(
            "select outcome, count(*) from flag_requests group by all order by 1"
        ).fetchall()
    assert row == (at + timedelta(days=10), "ann", "waiting on a contractor", severity)
    assert logged == [("applied", 1), ("rejected", 4)]
    # The same request again (say the run died before filing it) changes nothing.
    (folder / "done").joinpath(next(iter((folder / "done").iterdir())).name).rename(
        folder / "again.json"
    )
    again = _apply_and_publish(home)
    assert [(o.outcome, o.detail) for o in again] == [
        ("applied", "already applied by an earlier run")
    ]
