"""The two real logs import and `cases` matches an independent pandas computation (issue #2, AC 2)."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REAL

XES_NS = "{http://www.xes-standard.org/}"


def _xes_frame(path: Path) -> pd.DataFrame:
    """Independent reading of an XES log with ElementTree (not the product's expat reader)."""
    rows = []
    with gzip.open(path) as fh:
        for _, trace in ET.iterparse(fh):
            if trace.tag != f"{XES_NS}trace":
                continue
            case = next(a.get("value") for a in trace if a.get("key") == "concept:name")
            for event in trace.iter(f"{XES_NS}event"):
                attrs = {a.get("key"): a.get("value") for a in event}
                rows.append((case, attrs["concept:name"], attrs["time:timestamp"]))
            trace.clear()
    frame = pd.DataFrame(rows, columns=["case", "activity", "ts"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    return frame


def _csv_frame(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path)
    frame = raw.rename(
        columns={"case:concept:name": "case", "concept:name": "activity", "time:timestamp": "ts"}
    )[["case", "activity", "ts"]]
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    return frame


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """Generic-log case figures: duration first -> last event, rework = a repeated activity."""
    grouped = frame.groupby("case")
    duration = (grouped["ts"].max() - grouped["ts"].min()).dt.total_seconds() / 86400
    repeats = frame.groupby(["case", "activity"]).size().groupby("case").max()
    return pd.DataFrame(
        {"lead": duration, "rework": (repeats >= 2).astype(int), "n": grouped.size()}
    )


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "flows", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


# The module's tests share one import of each log (its fixture), so one worker runs them all.
pytestmark = pytest.mark.xdist_group("real-logs")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Each real log imported into its own workspace (with the default history replay): its cases,
    its `metrics --window all`, its maturity and its flags."""
    env = {
        **os.environ,
        "OPSPULSE_HOME": str(tmp_path_factory.mktemp("real") / "home"),
        "OPSPULSE_ALERTS__REPLAY_NIGHTS": "28",
    }
    out: dict[str, dict[str, object]] = {}
    for name, file in (("helpdesk", "helpdesk.xes.gz"), ("receipt", "receipt.csv")):
        _cli(env, "import", "--workspace", name, str(REAL / file))
        cases = pd.DataFrame(
            json.loads(_cli(env, "cases", "--workspace", name, "--format", "json"))
        )
        metrics = json.loads(
            _cli(env, "metrics", "--workspace", name, "--window", "all", "--format", "json")
        )
        out[name] = {
            "cases": cases.set_index("case_id"),
            "metrics": {m["metric"]: m for m in metrics},
            "maturity": json.loads(_cli(env, "maturity", "--workspace", name, "--format", "json")),
            "flags": json.loads(
                _cli(env, "flags", "--workspace", name, "--all", "--format", "json")
            ),
        }
    return out


@pytest.mark.parametrize(
    ("process", "reader", "file", "n_cases", "p50", "p85", "n_rework"),
    [
        ("helpdesk", _xes_frame, "helpdesk.xes.gz", 4580, 39.86, 50.05, 1240),
        ("receipt", _csv_frame, "receipt.csv", 1434, 0.0332, 11.08, 91),
    ],
)
def test_cases_match_independent_computation(
    real, process, reader, file, n_cases, p50, p85, n_rework
) -> None:
    got = real[process]["cases"]
    expected = _expected(reader(REAL / file))
    # The independent computation agrees with the published figures ...
    assert len(expected) == n_cases
    assert np.quantile(expected["lead"], 0.5) == pytest.approx(p50, abs=0.005)
    assert np.quantile(expected["lead"], 0.85) == pytest.approx(p85, abs=0.005)
    assert int(expected["rework"].sum()) == n_rework
    # ... and the product agrees with it case by case.
    assert len(got) == n_cases
    assert set(got.index) == set(expected.index.astype(str))
    joined = got.join(expected.add_prefix("exp_"), how="inner")
    assert len(joined) == n_cases
    assert np.allclose(joined["lead_time_days"], joined["exp_lead"], atol=1e-6)
    assert (joined["rework"] == joined["exp_rework"]).all()
    assert (joined["n_events"] == joined["exp_n"]).all()
    assert np.quantile(got["lead_time_days"], 0.5) == pytest.approx(p50, abs=0.005)
    assert np.quantile(got["lead_time_days"], 0.85) == pytest.approx(p85, abs=0.005)
    assert int(got["rework"].sum()) == n_rework
    assert (got["state"] == "completed").all()
    assert (got["cycle_time_days"] == got["lead_time_days"]).all()
    assert got["on_time"].isna().all()


@pytest.mark.parametrize(("process", "reader", "file"), [
    ("helpdesk", _xes_frame, "helpdesk.xes.gz"),
    ("receipt", _csv_frame, "receipt.csv"),
])  # fmt: skip
def test_metrics_all_window_match_pandas(real, process, reader, file) -> None:
    """METRICS.md §2.2 on the real logs, recomputed independently with pandas (issue #3, AC 3)."""
    frame = reader(REAL / file)
    frame["order"] = range(len(frame))
    metrics = real[process]["metrics"]
    expected = _expected(frame)
    for q in (50, 85, 95):
        expected_q = np.quantile(expected["lead"], q / 100)
        assert metrics[f"lead_time_p{q}_days"]["value"] == pytest.approx(expected_q, abs=1e-6)
    assert metrics["lead_time_mean_days"]["value"] == pytest.approx(
        expected["lead"].mean(), abs=1e-6
    )
    assert metrics["rework_rate"]["value"] == pytest.approx(expected["rework"].mean(), abs=1e-12)
    assert metrics["completed"]["value"] == len(expected)
    # Throughput over [first event, as_of): as_of = UTC midnight after the last event's day.
    as_of = frame["ts"].max().floor("D") + pd.Timedelta(days=1)
    weeks = (as_of - frame["ts"].min()).total_seconds() / 86400 / 7
    assert metrics["throughput_per_week"]["value"] == pytest.approx(len(expected) / weeks, rel=1e-9)
    assert metrics["throughput_per_week"]["as_of"] == as_of.date().isoformat()
    # Variants: the full activity sequence ordered by (time, input order).
    ordered = frame.sort_values(["case", "ts", "order"], kind="stable")
    variants = ordered.groupby("case")["activity"].agg(" > ".join).value_counts()
    assert metrics["variant_count"]["value"] == len(variants)
    assert metrics["happy_path_share"]["value"] == pytest.approx(
        variants.iloc[0] / len(expected), abs=1e-12
    )


@pytest.mark.parametrize("process", ["helpdesk", "receipt"])
def test_maturity_and_flags_explain_every_process(real, process) -> None:
    """Issue #4 AC 4: every process gets a maturity explanation and a next step (even when the
    answer is "not enough data"), and every flag an explanation with its numbers filled in."""
    maturity = real[process]["maturity"]
    assert {m["process"] for m in maturity} == {process}
    for m in maturity:
        assert m["explanation"] and m["next_step"], m
        assert not re.search(r"[{}]", m["explanation"] + m["next_step"]), m
        if m["level"] is None:
            assert m["confidence"] == "not_enough_data" and "too few" in m["explanation"]
        else:
            assert 1 <= m["level"] <= 5 and m["criteria"], m
    for f in real[process]["flags"]:
        assert f["explanation"] and not re.search(r"[{}]|n/a", f["explanation"]), f
        assert f["status"] in ("pending", "firing", "recovering", "resolved", "insufficient_data")
