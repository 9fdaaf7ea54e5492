"""The command line contract (DESIGN.md §5): demo, errors in one sentence, exit codes, formats."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import date

from flows.demo import demo_start
from tests.conftest import REPO, write_jsonl


def test_demo_headless_reports_at_least_four_processes(cli) -> None:
    result = cli("demo", "--no-dashboard", "--seed", "7")
    assert result.code == 0, result.err
    assert "quarantined" not in result.err
    assert "0 quarantined" in result.out
    cases = cli("cases", "--format", "json").json()
    processes = {c["process"] for c in cases}
    assert len(processes) >= 4
    states = {c["state"] for c in cases}
    assert states == {"open", "completed", "cancelled"}
    assert any(c["rework"] for c in cases) and any(c["on_time"] is False for c in cases)
    assert any(c["revision_rounds"] for c in cases)
    levels = cli("maturity", "--format", "json").json()
    assert {m["process"] for m in levels} == processes
    for m in levels:
        assert {
            "workspace",
            "process",
            "level",
            "subscore",
            "confidence",
            "explanation",
            "next_step",
            "criteria",
        } <= set(m)
        assert m["confidence"] in {"high", "medium", "low", "not_enough_data"} and m["next_step"]
        assert all(
            {"id", "applicable", "passed", "value", "threshold"} <= set(c) for c in m["criteria"]
        )
    assert len({m["level"] for m in levels}) >= 2  # the injected problems spread the levels
    metrics = cli("metrics", "--window", "current", "--format", "json").json()
    assert {m["window"] for m in metrics} == {"current"} and len(
        {m["metric"] for m in metrics}
    ) >= 40


def test_demo_history_ends_before_today() -> None:
    start = demo_start(52, date(2026, 11, 25))
    assert start.weekday() == 0
    assert start == date(2025, 11, 24)


def test_errors_are_one_sentence_without_traceback(cli, tmp_path) -> None:
    cases = [
        (("import", str(tmp_path / "missing.jsonl")), 2, "does not exist"),
        (("cases",), 2, "no published data"),
        (("cases", "--format", "xml"), 2, "--format 'xml' is not one of"),
        (("import", "--format", "pdf", str(tmp_path)), 2, "unknown format 'pdf'"),
        (("cases", "--workspace", "../etc"), 2, "is not allowed"),
        (("nonsense",), 2, "No such command"),
    ]
    for args, code, text in cases:
        result = cli(*args)
        assert result.code == code, (args, result.err)
        assert text in result.err, (args, result.err)
        assert "Traceback" not in result.err
        assert len(result.err.strip().splitlines()) == 1, result.err


def test_bad_config_is_a_usage_error(cli, tmp_path) -> None:
    (tmp_path / "opspulse.toml").write_text('timezone = "Mars/Olympus"\n')
    result = cli("doctor")
    assert result.code == 2 and "timezone" in result.err and "Traceback" not in result.err
    (tmp_path / "opspulse.toml").write_text("timezone = \n")
    result = cli("doctor")
    assert result.code == 2 and "not valid TOML" in result.err


def test_env_overrides_config(cli, tmp_path, monkeypatch) -> None:
    from models.settings import load_settings

    (tmp_path / "opspulse.toml").write_text(
        'timezone = "Europe/Rome"\n[alerts]\nchannels = ["json://a"]\n'
    )
    monkeypatch.setenv("OPSPULSE_ALERTS__CHANNELS", '["mailto://ops@example.com"]')
    settings = load_settings()
    assert settings.timezone == "Europe/Rome"
    assert settings.alerts.channels == ["mailto://ops@example.com"]


def test_cases_csv_and_json_have_the_same_columns(cli, tmp_path) -> None:
    write_jsonl(tmp_path / "a.jsonl", [{"kind": "created", "process": "P", "case_id": "A",
                                        "occurred_at": "2025-01-01T00:00:00+02:00", "stage": "backlog"}])  # fmt: skip
    assert cli("import", str(tmp_path / "a.jsonl")).code == 0
    rows = list(csv.DictReader(io.StringIO(cli("cases", "--format", "csv").out)))
    (as_json,) = cli("cases", "--format", "json").json()
    assert list(rows[0]) == list(as_json)
    assert as_json["created_at"] == "2024-12-31T22:00:00Z"
    assert as_json["lead_time_days"] is None and rows[0]["lead_time_days"] == ""


def test_console_script_runs_as_a_program(home) -> None:
    env = {**os.environ, "OPSPULSE_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "flows", "--help"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0
    for command in (
        "demo",
        "import",
        "run",
        "cases",
        "export",
        "quarantine",
        "doctor",
        "dashboard",
    ):
        assert command in done.stdout


def test_demo_can_generate_one_scenario(cli) -> None:
    result = cli("demo", "--no-dashboard", "--scenario", "s5", "--seed", "3")
    assert result.code == 0, result.err
    processes = {c["process"] for c in cli("cases", "--format", "json").json()}
    assert "Launch prep" in processes
    assert cli("demo", "--no-dashboard", "--scenario", "S9").code == 2


def test_a_configured_first_reply_target_drives_t5(cli, tmp_path) -> None:
    (tmp_path / "opspulse.toml").write_text(
        '[processes.Support]\ntype = "support"\nfrt_target_hours = 4\n'
    )
    write_jsonl(tmp_path / "t.jsonl", [
        {"kind": "created", "process": "Support", "case_id": "T1", "stage": "backlog",
         "occurred_at": "2025-03-03T09:00:00+00:00"},
        {"kind": "commented", "process": "Support", "case_id": "T2", "actor": "a",
         "occurred_at": "2025-03-03T09:00:00+00:00"},
    ])  # fmt: skip
    assert cli("import", str(tmp_path / "t.jsonl")).code == 0
    flags = cli("flags", "--level", "task", "--format", "json").json()
    t5 = [f for f in flags if f["id"] == "T5"]
    assert t5 and all("longer than 4h" in f["explanation"] for f in t5)
