"""Shared fixtures: an isolated data folder per test, offline settings, a CLI runner."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Offline, quiet, isolated: set before anything imports Prefect or Great Expectations.
_PREFECT_HOME = tempfile.mkdtemp(prefix="opspulse-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
atexit.register(shutil.rmtree, _PREFECT_HOME, True)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.pop("OPSPULSE_CONFIG", None)
# History replay rebuilds every layer once per night; tests of it turn it back on.
os.environ["OPSPULSE_ALERTS__REPLAY_NIGHTS"] = "0"

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
REAL = DATA / "real"


@dataclass
class CliResult:
    """Exit code and captured output of one in-process CLI call."""

    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh OPSPULSE_HOME, and a working directory without opspulse.toml."""
    folder = tmp_path / "home"
    monkeypatch.setenv("OPSPULSE_HOME", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


@pytest.fixture
def cli(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run `opspulse ARGS` in-process through the real entry point (main)."""
    from flows.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["opspulse", *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def write_jsonl(path: Path, rows: list[dict[str, object] | str | bytes]) -> Path:
    """Write rows (dicts as JSON, strings and bytes as they are) one per line."""
    with path.open("wb") as fh:
        for row in rows:
            if isinstance(row, dict):
                fh.write(json.dumps(row).encode())
            elif isinstance(row, str):
                fh.write(row.encode())
            else:
                fh.write(row)
            fh.write(b"\n")
    return path


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (starting one costs seconds)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
