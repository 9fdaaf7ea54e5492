"""The README documents every metric and every metric_ SQL file (issue #3, AC 4)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from tests.conftest import REPO
from tests.sqlkit import build_events, simple_case, utc
from warehouse.metrics import metric_tables


def _metrics_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## Metrics\n")
    end = text.index("\n## ", start + 5)
    return text[start:end]


def test_every_metric_a_build_produces_is_documented() -> None:
    events = simple_case("A", utc(2025, 2, 3), utc(2025, 2, 5))
    built = build_events(
        events, as_of=date(2025, 3, 1), processes=[("P", "support", True, "first_done")]
    )
    produced = set()
    for name, _ in metric_tables():
        produced |= {
            r[0] for r in built.con.execute(f"select distinct metric from {name}").fetchall()
        }
    assert len(produced) >= 40
    documented = set(re.findall(r"`([a-z0-9_]+)`", _metrics_section()))
    missing = sorted(produced - documented)
    assert not missing, f"metrics without documentation in README.md: {missing}"


def test_every_metric_sql_file_has_a_heading() -> None:
    section = _metrics_section()
    for sql in (REPO / "warehouse" / "sql" / "metrics").glob("*.sql"):
        assert re.search(rf"^### .*\b{sql.stem}\b", section, re.M), (
            f"README has no heading for {sql.stem}"
        )


def test_readme_commands_exist() -> None:
    from flows.cli import app

    text = (REPO / "README.md").read_text(encoding="utf-8")
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    for command in re.findall(r"^\| `opspulse ([a-z]+)", text, re.M):
        assert command in names, (
            f"README documents `opspulse {command}` but the CLI has no such command"
        )
    assert Path(REPO / ".ci" / "run").exists()
