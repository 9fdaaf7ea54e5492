"""The placeholder dashboard page renders processes from the published snapshot, or explains why not."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.conftest import write_jsonl

APP = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"


def test_empty_workspace_explains_itself(home) -> None:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    assert any("No data published" in i.value for i in at.info)


def test_lists_processes_from_the_snapshot(cli, tmp_path) -> None:
    at = "2025-01-01T00:00:00Z"
    write_jsonl(tmp_path / "a.jsonl", [
        {"kind": "created", "process": "Onboarding", "case_id": "A", "occurred_at": at, "stage": "backlog"},
        {"kind": "created", "process": "Content", "case_id": "B", "occurred_at": at, "stage": "active"},
    ])  # fmt: skip
    assert cli("import", str(tmp_path / "a.jsonl")).code == 0
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert sorted(frame["process"]) == ["Content", "Onboarding"]
    assert any("Data published" in c.value for c in at.caption)
