"""The served dashboard in a real browser (issue #5, AC 2): `opspulse dashboard` on 127.0.0.1,
Debian chromium driven by Playwright, screenshots in tests/artifacts/screenshots/.

Playwright never downloads a browser here: it launches the system chromium by path. `make test`
installs it (`make browser`) when /usr/bin/chromium is missing.
"""

# ruff: noqa: F811  (the seed fixture is imported from another test module)
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, write_jsonl
from tests.test_dashboard_seed import copy_home, seed_home  # noqa: F401  (a fixture)

pytestmark = pytest.mark.browser
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
START_SECONDS = 60
WAIT_MS = 30_000


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "Debian chromium is not installed, so the browser test cannot run: use `make test`, "
            "whose `browser` step runs `apt-get install -y --no-install-recommends chromium`"
        )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextmanager
def served(home: Path, workspace: str, log: Path) -> Iterator[int]:
    """`opspulse dashboard` on a free port of 127.0.0.1; stopped (with its Streamlit child) after."""
    port = _free_port()
    env = {**os.environ, "OPSPULSE_HOME": str(home)}
    env.pop("OPSPULSE_CONFIG", None)
    opspulse = Path(sys.executable).with_name("opspulse")
    command = [str(opspulse), "dashboard", "--port", str(port), "--workspace", workspace]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=home, start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + START_SECONDS
            while not _healthy(port):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the dashboard did not start: {log.read_text()[-2000:]}")
                time.sleep(0.3)
            yield port
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)


def _processes(home: Path, workspace: str) -> int:
    path = home / workspace / "published" / "warehouse.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        return int(con.execute("select count(distinct process) from fct_cases").fetchall()[0][0])


def _publish_new_process(home: Path, tmp_path: Path) -> None:
    from flows.ingest import land_imports
    from flows.pipeline import run_pipeline
    from models.settings import Settings

    rows = [{"kind": "created", "process": "Hiring", "case_id": f"H{i}",
             "occurred_at": "2026-01-05T10:00:00Z", "stage": "active"} for i in range(3)]  # fmt: skip
    write_jsonl(tmp_path / "hiring.jsonl", rows)
    settings = Settings(home=home)
    land_imports([tmp_path / "hiring.jsonl"], settings.paths("launch").landing, "jsonl", None,
                 datetime.now(UTC))  # fmt: skip
    run_pipeline(settings, "launch", lock_timeout=5)


def test_dashboard_in_chromium_portfolio_and_process_pages(seed_home: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = _chromium()
    home = copy_home(seed_home, tmp_path / "home")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    expected = _processes(home, "acme") + _processes(home, "launch")
    with served(home, "acme", tmp_path / "server.log") as port, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 2400})
            page.set_default_timeout(WAIT_MS)
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("heading", name="Portfolio").wait_for()
            page.locator('[data-testid="stDataFrame"]').first.wait_for()
            page.get_by_text("Open task flags").wait_for()
            page.screenshot(path=str(SCREENSHOTS / "portfolio.png"), full_page=True)
            metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
            assert ["Processes", str(expected)] in [m.split() for m in metrics], metrics

            page.goto(f"http://127.0.0.1:{port}/process?ws=acme&process=Client%20onboarding")
            page.get_by_role("heading", name="Cycle time: XmR chart").wait_for()
            charts = page.locator(
                '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
            )
            charts.nth(1).wait_for()  # the XmR chart and the scatter have drawn
            page.get_by_text("Cycle-time scatter").wait_for()
            page.screenshot(path=str(SCREENSHOTS / "process.png"), full_page=True)
            body = page.inner_text("body")
            assert "Client onboarding is" in body and "Next step:" in body
            assert "rule signal(s) in the evaluated points" in body

            # A run publishes while the dashboard is open; a reload shows the new snapshot.
            _publish_new_process(home, tmp_path)
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_text("Open task flags").wait_for()
            page.wait_for_function(
                "n => [...document.querySelectorAll('[data-testid=stMetric]')]"
                ".some(m => m.innerText.trim().split(/\\s+/).join(' ') === 'Processes ' + n)",
                arg=str(expected + 1),
            )
        finally:
            browser.close()
    assert (SCREENSHOTS / "portfolio.png").stat().st_size > 10_000
    assert (SCREENSHOTS / "process.png").stat().st_size > 10_000
