"""Every dashboard page on a seeded demo snapshot (issue #5, AC 1 and 3), through Streamlit's AppTest.

Expected numbers come from the snapshot itself (SQL in the test, or warehouse.stats on the same
rows), never from the dashboard's own readers.
"""

# ruff: noqa: F811  (fixtures imported from other test modules are redefined as parameters)
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from tests.conftest import write_jsonl
from tests.test_dashboard_seed import copy_home, seed_home  # noqa: F401  (a fixture)
from warehouse import stats

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"
OPEN = ("pending", "firing", "recovering", "insufficient_data")


@pytest.fixture(autouse=True)
def _served_locally():
    """AppTest runs as `opspulse dashboard` serves: bound to 127.0.0.1."""
    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)


@pytest.fixture
def open_app(monkeypatch: pytest.MonkeyPatch):
    def make(home: Path, workspace: str = "acme", config_file: Path | None = None) -> AppTest:
        monkeypatch.setenv("OPSPULSE_HOME", str(home))
        monkeypatch.setenv("OPSPULSE_DASHBOARD_WORKSPACE", workspace)
        if config_file:
            monkeypatch.setenv("OPSPULSE_CONFIG", str(config_file))
        return AppTest.from_file(str(APP), default_timeout=60)

    return make


def sql(home: Path, workspace: str, query: str, params: list[Any] | None = None) -> pd.DataFrame:
    with duckdb.connect(
        str(home / workspace / "published" / "warehouse.duckdb"), read_only=True
    ) as con:
        return con.execute(query, params or []).df()


def texts(at: AppTest) -> str:
    """Every visible text of a run, dataframes included, for 'is it on the page' checks."""
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "error",
                                  "success", "warning") for e in getattr(at, kind)]  # fmt: skip
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [d.value.to_csv() for d in at.dataframe]
    return "\n".join(str(p) for p in parts)


def charts(at: AppTest) -> list[tuple[dict[str, Any], list[pd.DataFrame]]]:
    """(spec, datasets) of every Vega-Lite chart of a run."""
    found = []
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        frames = [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in proto.datasets]
        found.append((json.loads(proto.spec), frames))
    return found


def run_ok(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# --- portfolio --------------------------------------------------------------------------------


def test_portfolio_lists_every_workspace_process_with_level_flags_and_worst_trend_first(
    seed_home: Path, open_app
) -> None:
    at = run_ok(open_app(seed_home))
    table = at.dataframe[0].value
    for workspace in ("acme", "launch"):
        maturity = sql(seed_home, workspace, "select process, level, subscore from maturity")
        mine = table[table["workspace"] == workspace].set_index("process")
        assert sorted(mine.index) == sorted(maturity["process"])
        for m in maturity.itertuples():
            lvl = None if pd.isna(m.level) else int(m.level)
            expected = (
                "not enough data" if lvl is None
                else f"L{lvl}" + ("" if lvl == 5 else f" ({m.subscore}% of the way to L{lvl + 1})")
            )  # fmt: skip
            assert mine.loc[m.process, "level"] == expected
        p50 = sql(seed_home, workspace, "select process, value from metric_flow where "
                  "window_name = 'current' and metric = 'cycle_time_p50_days'")  # fmt: skip
        for r in p50.itertuples():
            got = mine.loc[r.process, "cycle_time_p50_days"]
            assert (pd.isna(got) and pd.isna(r.value)) or got == pytest.approx(r.value)
    flags = sum(
        len(sql(seed_home, w, "select * from flag_state where level = 'task' and status in ?", [list(OPEN)]))
        for w in ("acme", "launch")
    )  # fmt: skip
    assert {m.label: m.value for m in at.metric}["Open task flags"] == str(flags)
    assert "fresh" in texts(at) and "no data published yet" in texts(at)
    # Worst trends first (tests/test_dashboard_units.py pins trend and order on spec vectors).
    worse = [
        "worse" in a or "worse" in b
        for a, b in zip(table["cycle_time_trend"], table["rework_trend"], strict=True)
    ]
    assert worse == sorted(worse, reverse=True)
    assert table["link"].str.startswith("process?ws=").all()


def test_portfolio_filters_narrow_the_rows(seed_home: Path, open_app) -> None:
    at = run_ok(open_app(seed_home))
    everything = at.dataframe[0].value
    at.multiselect[0].select("L1").run()
    assert not at.exception
    only_l1 = at.dataframe[0].value
    assert 0 < len(only_l1) < len(everything)
    assert only_l1["level"].str.startswith("L1").all()
    at.multiselect[0].unselect("L1").run()
    at.toggle[0].set_value(True).run()
    flagged = at.dataframe[0].value if at.dataframe else pd.DataFrame()
    expected = everything[everything["cycle_time_trend"].str.contains("worse")
                          | everything["rework_trend"].str.contains("worse")
                          | (everything["operations_flags"] != "none")]  # fmt: skip
    assert sorted(flagged["process"]) == sorted(expected["process"])


def test_empty_data_folder_explains_itself(home: Path, open_app) -> None:
    at = run_ok(open_app(home))
    assert any("No workspaces under" in i.value for i in at.info)


def test_lists_processes_of_a_fresh_import(cli, tmp_path, open_app, home) -> None:
    at_ = "2025-01-01T00:00:00Z"
    write_jsonl(tmp_path / "a.jsonl", [
        {"kind": "created", "process": "Onboarding", "case_id": "A", "occurred_at": at_, "stage": "backlog"},
        {"kind": "created", "process": "Content", "case_id": "B", "occurred_at": at_, "stage": "active"},
    ])  # fmt: skip
    assert cli("import", str(tmp_path / "a.jsonl")).code == 0
    at = run_ok(open_app(home, "default"))
    assert sorted(at.dataframe[0].value["process"]) == ["Content", "Onboarding"]
    assert "published" in texts(at)


# --- process ----------------------------------------------------------------------------------


def _process_page(open_app, home: Path, process: str, workspace: str = "acme") -> AppTest:
    at = run_ok(open_app(home, workspace))
    at.switch_page("views/process.py")
    at.query_params["process"] = process
    return run_ok(at)


def test_process_page_explains_maturity_with_passing_and_failing_criteria(
    seed_home: Path, open_app
) -> None:
    at = _process_page(open_app, seed_home, "Client onboarding")
    m = sql(seed_home, "acme", "select * from maturity where process = 'Client onboarding'").iloc[0]
    metrics = {x.label: x.value for x in at.metric}
    assert metrics["Maturity"] == f"L{int(m.level)}"
    assert metrics["Completions"] == str(m.completions)
    criteria = json.loads(m.criteria)
    table = at.dataframe[0].value
    assert list(table["id"]) == [c["id"] for c in criteria]
    assert (table["result"] == "✓ pass").sum() == sum(
        1 for c in criteria if c["applicable"] and c["passed"]
    )
    assert (table["result"] == "✗ fail").sum() == sum(
        1 for c in criteria if c["applicable"] and c["passed"] is False
    )
    assert m.next_step in texts(at)
    assert "metrics as of" in texts(at) and "published" in texts(at)


def test_process_xmr_chart_matches_the_whole_year_chart(seed_home: Path, open_app) -> None:
    at = _process_page(open_app, seed_home, "Content production")
    as_of, tz = sql(seed_home, "acme", "select as_of, timezone from build_info").iloc[0]
    series = sql(seed_home, "acme", "select cycle_time_days from fct_cases where process = 'Content production' "
                 "and state = 'completed' and cycle_time_days is not null and completed_at >= "
                 "timezone(?, ?::timestamp) - interval 365 day and completed_at < timezone(?, ?::timestamp) "
                 "order by completed_at, case_id", [tz, as_of, tz, as_of])  # fmt: skip
    whole = stats.xmr_chart([stats.ln_cycle_time(v) for v in series["cycle_time_days"]])
    assert whole.state == "evaluation" and whole.limits is not None
    spec, frames = charts(at)[0]
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    lines = next(f for f in frames if "line" in f.columns).set_index("line")["days"]
    assert lines["upper limit (UNPL)"] == pytest.approx(math.exp(whole.limits.unpl))
    assert lines["centre"] == pytest.approx(math.exp(whole.limits.x_bar))
    points = next(f for f in frames if "signal" in f.columns)
    assert (points["signal"] != "none").sum() == len({s.index for s in whole.signals})
    assert f"{len({s.index for s in whole.signals})} rule signal(s)" in texts(at)
    _, scatter_frames = charts(at)[1]
    p = sql(seed_home, "acme", "select metric, value from metric_flow where process = 'Content production' "
            "and window_name = 'maturity' and metric like 'cycle_time_p%_days'")  # fmt: skip
    p = p.set_index("metric")["value"]
    rules = next(f for f in scatter_frames if "percentile" in f.columns)
    assert sorted(rules["days"]) == pytest.approx(
        sorted(p[[f"cycle_time_p{q}_days" for q in (50, 85, 95)]])
    )


def test_process_flow_quality_and_cases_views(seed_home: Path, open_app) -> None:
    at = _process_page(open_app, seed_home, "Client onboarding")
    at.radio(key="process_view").set_value("Flow").run()
    assert not at.exception
    found = charts(at)
    assert len(found) == 4  # throughput, WIP, cumulative flow, aging
    cfd = next(
        f for _, fs in found for f in fs if "stage_class" in f.columns and "items" in f.columns
    )
    last = cfd[cfd["week_start"] == cfd["week_start"].max()].set_index("stage_class")["items"]
    done = sql(
        seed_home,
        "acme",
        "select count(*) as n from fct_cases where process = 'Client onboarding' and state = 'completed'",
    )
    assert last["done"] == done["n"].iloc[0]
    open_items = sql(
        seed_home,
        "acme",
        "select count(*) as n from metric_dash_aging where process = 'Client onboarding' and age_days is not null",
    )
    assert f"{open_items['n'].iloc[0]} open items" in texts(at)
    at.radio(key="process_view").set_value("Quality").run()
    assert not at.exception
    dwell = sql(seed_home, "acme", "select stage, dwell_share from metric_dash_stage_dwell "
                "where process = 'Client onboarding' and window_name = 'current' and stage_class "
                "not in ('backlog', 'waiting_on_client') order by dwell_share desc limit 1")  # fmt: skip
    assert (
        f"Bottleneck: **{dwell['stage'].iloc[0]}** holds {dwell['dwell_share'].iloc[0]:.0%}"
        in texts(at)
    )
    assert "CSAT" in texts(at)
    at.radio(key="process_view").set_value("Cases").run()
    cases = at.dataframe[-2].value
    total = sql(
        seed_home, "acme", "select count(*) as n from fct_cases where process = 'Client onboarding'"
    )["n"].iloc[0]
    assert len(cases) == min(total, 500)
    at.selectbox(key="case_state").select("open").run()
    opened = at.dataframe[-2].value
    assert set(opened["state"]) == {"open"}
    target = opened["case_id"].iloc[0]
    at.text_input(key="case_text").input(target).run()
    assert list(at.dataframe[-2].value["case_id"]) == [target]
    events = sql(
        seed_home,
        "acme",
        "select kind from events where process = 'Client onboarding' and case_id = ?",
        [target],
    )
    assert len(at.dataframe[-1].value) == len(events)


def test_case_link_opens_the_case(seed_home: Path, open_app) -> None:
    case = sql(
        seed_home,
        "acme",
        "select case_id from fct_cases where process = 'Invoicing' order by case_id limit 1",
    )["case_id"].iloc[0]
    at = run_ok(open_app(seed_home))
    at.switch_page("views/process.py")
    at.query_params.update({"process": "Invoicing", "case": case})
    run_ok(at)
    assert f"Events of {case}" in texts(at)


def test_workspace_without_snapshot_explains_on_every_page(seed_home: Path, open_app) -> None:
    at = run_ok(open_app(seed_home, "fresh"))
    for page in ("views/process.py", "views/tasks.py", "views/flags.py", "views/health.py"):
        at.switch_page(page)
        run_ok(at)
        assert any("No data published for workspace **fresh**" in i.value for i in at.info), page


# --- task queue and flags ---------------------------------------------------------------------


def test_task_queue_lists_open_task_flags_and_filters(seed_home: Path, open_app) -> None:
    at = run_ok(open_app(seed_home, "launch"))
    at.switch_page("views/tasks.py")
    run_ok(at)
    expected = sql(
        seed_home,
        "launch",
        "select name, case_id from flag_state where level = 'task' and status in ?",
        [list(OPEN)],
    )
    table = at.dataframe[0].value
    assert sorted(table["case_id"]) == sorted(expected["case_id"])
    assert all(f"case={c}" in link for c, link in zip(table["case_id"], table["link"], strict=True))
    kind = expected["name"].value_counts().index[-1]
    at.multiselect(key="task_kinds").select(kind).run()
    assert set(at.dataframe[0].value["name"]) == {kind}
    assert len(at.dataframe[0].value) == (expected["name"] == kind).sum()
    at.text_input(key="task_text").input("no-such-case-anywhere").run()
    assert any("No task matches" in i.value for i in at.info)


def test_flags_page_shows_evidence_and_filters_by_status(seed_home: Path, open_app) -> None:
    at = run_ok(open_app(seed_home, "acme"))
    at.switch_page("views/flags.py")
    run_ok(at)
    all_flags = sql(seed_home, "acme", "select status, flag_id from flag_state")
    table = at.dataframe[0].value
    assert len(table) == all_flags["status"].isin(OPEN).sum()
    assert table["explanation"].str.len().gt(0).all()
    firing = (all_flags["status"] == "firing").sum()
    at.multiselect(key="flag_statuses").set_value(["firing"]).run()
    assert len(at.dataframe[0].value) == firing
    at.radio(key="flag_level").set_value("operations").run()
    ops = len(
        all_flags[all_flags["flag_id"].str.startswith("O") & (all_flags["status"] == "firing")]
    )
    assert (len(at.dataframe[0].value) if at.dataframe else 0) == ops
