"""Canonical models are strict and timezone-aware; settings read TOML under the environment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError

from models.errors import UsageError
from models.events import Event, FeedbackEvent, TaskEvent
from models.settings import load_settings, validate_workspace_name

EVENT = TypeAdapter(Event)


def test_task_event_is_strict_and_converted_to_utc() -> None:
    event = EVENT.validate_python({
        "kind": "created", "process": "P", "case_id": "C1",
        "occurred_at": datetime(2025, 1, 1, 9, tzinfo=timezone(timedelta(hours=2))),
    })  # fmt: skip
    assert isinstance(event, TaskEvent)
    assert (
        event.occurred_at == datetime(2025, 1, 1, 7, tzinfo=UTC) and event.occurred_at.tzinfo is UTC
    )
    with pytest.raises(ValidationError):
        event.kind = "completed"  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"kind": "created", "process": "P", "case_id": "C", "occurred_at": datetime(2025, 1, 1)}, "no UTC offset"),
        ({"kind": "created", "process": "P", "case_id": "C", "occurred_at": datetime(2025, 1, 1, tzinfo=UTC),
          "stage": "qa"}, "stage"),
        ({"kind": "created", "process": "P", "case_id": "C", "occurred_at": datetime(2025, 1, 1, tzinfo=UTC),
          "priority": 1}, "Extra inputs"),
        ({"kind": "feedback", "occurred_at": datetime(2025, 1, 1, tzinfo=UTC), "scale": "nps10", "score": 11},
         "outside the nps10 scale"),
        ({"kind": "created", "case_id": "C", "occurred_at": datetime(2025, 1, 1, tzinfo=UTC)}, "process"),
    ],
)  # fmt: skip
def test_invalid_events_are_rejected(payload, message) -> None:
    with pytest.raises(ValidationError, match=message):
        EVENT.validate_python(payload)


def test_feedback_needs_no_case() -> None:
    event = EVENT.validate_python(
        {
            "kind": "feedback",
            "occurred_at": datetime(2025, 1, 1, tzinfo=UTC),
            "scale": "csat2",
            "score": 0,
        }
    )
    assert isinstance(event, FeedbackEvent) and event.case_id is None


def test_settings_layering(tmp_path, monkeypatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('timezone = "Europe/Rome"\n[workspace.acme]\ntimezone = "Asia/Tokyo"\n')
    monkeypatch.setenv("OPSPULSE_CONFIG", str(config))
    monkeypatch.setenv("OPSPULSE_HOME", str(tmp_path / "h"))
    settings = load_settings()
    assert settings.workspace_timezone("acme") == "Asia/Tokyo"
    assert settings.workspace_timezone("other") == "Europe/Rome"
    assert (
        settings.paths("acme").snapshot
        == tmp_path / "h" / "acme" / "published" / "warehouse.duckdb"
    )
    monkeypatch.setenv("OPSPULSE_TIMEZONE", "UTC")
    assert load_settings().timezone == "UTC"


def test_settings_errors_name_the_file_and_key(tmp_path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[processes.P]\nstatus_map = { Doing = "busy" }\n')
    with pytest.raises(
        UsageError, match=r"c.toml: setting 'processes.P.status_map.Doing' is invalid"
    ):
        load_settings(config)
    with pytest.raises(UsageError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize("name", ["..", "a/b", "", "x" * 70, "-lead"])
def test_workspace_names_must_be_safe_folder_names(name) -> None:
    with pytest.raises(UsageError):
        validate_workspace_name(name)
