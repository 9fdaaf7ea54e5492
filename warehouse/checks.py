"""Great Expectations suite on a pandas frame of each staged batch; failing rows get a reason."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from models.events import KINDS, SCALES, STAGES

__all__ = ["CHECK_COLUMNS", "Check", "check_frame", "suite_checks"]

# Columns of _parsed that the suite reads.
CHECK_COLUMNS = ("kind", "process", "case_id", "occurred_at", "stage", "scale", "score", "due_at")
_FLOOR = pd.Timestamp("1970-01-01", tz="UTC")
_DUE_CEILING = pd.Timestamp("2200-01-01", tz="UTC")
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One expectation, and how to word a failing row's reason."""

    name: str
    kind: str
    kwargs: dict[str, Any]
    reason: Callable[[pd.Series], str]


def _score_reason(scale: str, low: int, high: int) -> Callable[[pd.Series], str]:
    def reason(row: pd.Series) -> str:
        return f"score {row['score']} is outside the {scale} scale {low}-{high}"

    return reason


def suite_checks(now: datetime, future_days: float) -> list[Check]:
    """The canonical-event expectations (DESIGN.md §3 and §2 rule 7)."""
    ceiling = pd.Timestamp(now + timedelta(days=future_days))
    task = {"row_condition": 'kind!="feedback"', "condition_parser": "pandas"}
    feedback = {"row_condition": 'kind=="feedback"', "condition_parser": "pandas"}
    checks = [
        Check("kind_present", "not_null", {"column": "kind"}, lambda r: "kind is missing"),
        Check(
            "kind_known",
            "in_set",
            {"column": "kind", "value_set": list(KINDS)},
            lambda r: f"kind {r['kind']!r} is not one of {', '.join(KINDS)}",
        ),
        Check(
            "occurred_present",
            "not_null",
            {"column": "occurred_at"},
            lambda r: "occurred_at is missing",
        ),
        Check(
            "occurred_after_1970",
            "between",
            {"column": "occurred_at", "min_value": _FLOOR},
            lambda r: f"occurred_at {r['occurred_at'].isoformat()} is before 1970-01-01",
        ),
        Check(
            "occurred_not_future",
            "between",
            {"column": "occurred_at", "max_value": ceiling},
            lambda r: (
                f"occurred_at {r['occurred_at'].isoformat()} is more than {future_days:g} "
                "day(s) in the future; check the clock or time zone of the source"
            ),
        ),
        Check(
            "process_present",
            "not_null",
            {"column": "process", **task},
            lambda r: (
                f"process is missing (required for kind {r['kind']!r}); add it or pass --process"
            ),
        ),
        Check(
            "case_present",
            "not_null",
            {"column": "case_id", **task},
            lambda r: f"case_id is missing (required for kind {r['kind']!r})",
        ),
        Check(
            "stage_known",
            "in_set",
            {"column": "stage", "value_set": list(STAGES)},
            lambda r: (
                f"stage {r['stage']!r} is not one of {', '.join(STAGES)}; map it in "
                "opspulse.toml [processes.<name>.status_map] and run `opspulse quarantine replay`"
            ),
        ),
        Check(
            "due_in_range",
            "between",
            {"column": "due_at", "min_value": _FLOOR, "max_value": _DUE_CEILING},
            lambda r: f"due_at {r['due_at'].isoformat()} is before 1970 or after 2200",
        ),
        Check(
            "scale_present",
            "not_null",
            {"column": "scale", **feedback},
            lambda r: "feedback has no scale",
        ),
        Check(
            "scale_known",
            "in_set",
            {"column": "scale", "value_set": list(SCALES)},
            lambda r: f"scale {r['scale']!r} is not one of {', '.join(SCALES)}",
        ),
        Check(
            "score_present",
            "not_null",
            {"column": "score", **feedback},
            lambda r: "feedback has no score",
        ),
    ]
    for scale, (low, high) in SCALES.items():
        checks.append(
            Check(
                f"score_in_{scale}",
                "between",
                {
                    "column": "score",
                    "min_value": low,
                    "max_value": high,
                    "row_condition": f'scale=="{scale}"',
                    "condition_parser": "pandas",
                },
                _score_reason(scale, low, high),
            )
        )
    return checks


def _expectation(check: Check) -> Any:
    import great_expectations as gx

    expectations: Any = gx.expectations
    classes = {
        "not_null": expectations.ExpectColumnValuesToNotBeNull,
        "in_set": expectations.ExpectColumnValuesToBeInSet,
        "between": expectations.ExpectColumnValuesToBeBetween,
    }
    return classes[check.kind](**check.kwargs, meta={"check": check.name})


_CONTEXTS: dict[Path, Any] = {}


def _context(docs_root: Path) -> Any:
    """A file-backed GX context under the workspace, so Data Docs are written there."""
    if docs_root not in _CONTEXTS:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        docs_root.mkdir(parents=True, exist_ok=True)
        ctx = gx.get_context(mode="file", project_root_dir=str(docs_root))
        ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
        _CONTEXTS[docs_root] = ctx
    return _CONTEXTS[docs_root]


def _checkpoint(ctx: Any, checks: list[Check]) -> tuple[Any, Any]:
    """The checkpoint (SUMMARY results, Data Docs action) and its batch definition."""
    import great_expectations as gx

    try:
        source = ctx.data_sources.get("staged")
    except (KeyError, ValueError):
        source = ctx.data_sources.add_pandas("staged")
    try:
        asset = source.get_asset("events")
    except LookupError:
        asset = source.add_dataframe_asset("events")
    try:
        batch = asset.get_batch_definition("batch")
    except (KeyError, LookupError):
        batch = asset.add_batch_definition_whole_dataframe("batch")
    suite = gx.ExpectationSuite(
        name="canonical_events", expectations=[_expectation(c) for c in checks]
    )
    suite = ctx.suites.add_or_update(suite)
    definition = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(data=batch, suite=suite, name="canonical_events")
    )
    checkpoint_module: Any = gx.checkpoint
    checkpoint = gx.Checkpoint(
        name="load",
        validation_definitions=[definition],
        actions=[checkpoint_module.UpdateDataDocsAction(name="data_docs")],
        result_format={"result_format": "SUMMARY"},
    )
    return ctx.checkpoints.add_or_update(checkpoint), batch


def check_frame(
    frame: pd.DataFrame, *, docs_root: Path, now: datetime, future_days: float
) -> dict[int, str]:
    """Validate the frame; return {row position: reason} for every row that fails a check."""
    if frame.empty:
        return {}
    checks = suite_checks(now, future_days)
    frame = frame.reset_index(drop=True)
    checkpoint, batch_definition = _checkpoint(_context(docs_root), checks)
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    by_name = {c.name: c for c in checks}
    failed = [
        by_name[outcome.expectation_config.meta["check"]]
        for run in result.run_results.values()
        for outcome in run.results
        if not outcome.success
    ]
    if not failed:
        return {}
    # SUMMARY lists only a sample of failing rows; ask for every one, for the failed checks only.
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    reasons: dict[int, list[str]] = {}
    for check in failed:
        detail = batch.validate(_expectation(check), result_format={"result_format": "COMPLETE"})
        for index in detail.result.get("unexpected_index_list") or []:
            reasons.setdefault(int(index), []).append(check.reason(frame.iloc[int(index)]))
    return {index: "; ".join(texts) for index, texts in reasons.items()}
