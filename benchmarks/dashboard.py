"""Dashboard render benchmark: every page's render time on a 1M-event workspace (issue #5, AC 4).

    .venv/bin/python benchmarks/dashboard.py [--events 1000000] [--home DIR] [--repeat 3]

It generates the events with benchmarks/run.py's GENERATE query (five processes, cases of 4-12
events) into a workspace's warehouse, builds, detects and publishes it with the pipeline's own
step (`step_build_publish`), then renders each page with Streamlit's AppTest against the
published snapshot: `cold` right after clearing the caches (every snapshot read runs), `warm`
the best of --repeat reruns (cached reads, as a user clicking around sees). A first untimed pass
loads the modules and Altair's schema, which a running server has done once. The target is
under 1 s per page.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from models.settings import Settings  # noqa: E402
from warehouse.db import open_writer  # noqa: E402
from warehouse.migrate import migrate  # noqa: E402

WORKSPACE = "bench"
TARGET_SECONDS = 1.0
PAGES = [
    ("Portfolio", "views/portfolio.py", None),
    ("Process: cycle time", "views/process.py", "Cycle time"),
    ("Process: flow", "views/process.py", "Flow"),
    ("Process: quality", "views/process.py", "Quality"),
    ("Process: cases", "views/process.py", "Cases"),
    ("Task queue", "views/tasks.py", None),
    ("Flags and alerts", "views/flags.py", None),
    ("Data health", "views/health.py", None),
]


def _generator() -> str:
    """The event generator of benchmarks/run.py (imported, not copied)."""
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.GENERATE)


def build_workspace(home: Path, events: int) -> tuple[int, float]:
    """Generate, build, detect and publish; return (events, seconds)."""
    from flows.pipeline import new_summary, step_build_publish

    settings = Settings(home=home)
    started = time.perf_counter()
    con = open_writer(settings.paths(WORKSPACE).warehouse)
    try:
        migrate(con)
        con.execute("delete from events")
        con.execute(_generator(), {"cases": events // 8})
        count = con.execute("select count(*) from events").fetchall()[0][0]
    finally:
        con.close()
    print(f"generated {count:,} events in {time.perf_counter() - started:.1f} s", flush=True)

    def phase(what: str, done: int) -> None:
        print(
            f"  {what.removeprefix('phase:')} from {time.perf_counter() - started:.1f} s",
            flush=True,
        )

    step_build_publish(settings, new_summary(WORKSPACE, datetime.now(UTC)), [], phase)
    return int(count), time.perf_counter() - started


def _render(at, page: str, view: str | None) -> float:  # type: ignore[no-untyped-def]
    at.switch_page(page)
    if view is not None:
        at.session_state["process_view"] = view
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError(f"{page} ({view}) raised: {at.exception[0].value}")
    return elapsed


def measure(home: Path, repeat: int) -> list[tuple[str, float, float]]:
    """(page, cold seconds, warm seconds) for every page."""
    os.environ["OPSPULSE_HOME"] = str(home)
    os.environ["OPSPULSE_DASHBOARD_WORKSPACE"] = WORKSPACE
    import streamlit as st
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    config.set_option("server.address", "127.0.0.1")
    at = AppTest.from_file(str(REPO / "dashboards" / "app.py"), default_timeout=120)
    at.run()
    for _, page, view in PAGES:  # load modules and Altair's schema once, as a server has
        _render(at, page, view)
    results = []
    for name, page, view in PAGES:
        st.cache_data.clear()
        cold = _render(at, page, view)
        warm = min(_render(at, page, view) for _ in range(repeat))
        results.append((name, cold, warm))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--home", type=Path, help="data folder to build in (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="render an already built --home")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="opspulse-dash-bench-"))
    if not args.reuse:
        count, seconds = build_workspace(home, args.events)
        print(f"built {count:,} events in {seconds:.1f} s (generate, build, detect, publish)")
    print(f"{'page':<22} {'cold s':>8} {'warm s':>8}  target {TARGET_SECONDS:.0f} s")
    worst = 0.0
    for name, cold, warm in measure(home, args.repeat):
        worst = max(worst, cold)
        verdict = "ok" if cold <= TARGET_SECONDS else "SLOWER than target"
        print(f"{name:<22} {cold:>8.3f} {warm:>8.3f}  {verdict}")
    print(
        f"slowest cold render {worst:.3f} s: {'within' if worst <= TARGET_SECONDS else 'over'} target"
    )


if __name__ == "__main__":
    main()
