"""The two real logs import and `cases` matches an independent pandas computation (issue #2, AC 2)."""

from __future__ import annotations

import gzip
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


@pytest.fixture(scope="module")
def real_cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    import json
    import os
    import subprocess
    import sys

    home = tmp_path_factory.mktemp("real") / "home"
    env = {**os.environ, "OPSPULSE_HOME": str(home)}
    exe = [sys.executable, "-m", "flows"]
    done = subprocess.run([*exe, "import", str(REAL / "helpdesk.xes.gz"), str(REAL / "receipt.csv")],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    shown = subprocess.run(
        [*exe, "cases", "--format", "json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert shown.returncode == 0, shown.stderr
    frame = pd.DataFrame(json.loads(shown.stdout))
    return {name: part.set_index("case_id") for name, part in frame.groupby("process")}


@pytest.mark.parametrize(
    ("process", "reader", "file", "n_cases", "p50", "p85", "n_rework"),
    [
        ("helpdesk", _xes_frame, "helpdesk.xes.gz", 4580, 39.86, 50.05, 1240),
        ("receipt", _csv_frame, "receipt.csv", 1434, 0.0332, 11.08, 91),
    ],
)
def test_cases_match_independent_computation(
    real_cases: dict[str, pd.DataFrame], process, reader, file, n_cases, p50, p85, n_rework
) -> None:
    got = real_cases[process]
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
