"""Escalation (METRICS.md §5.3): a task flag raised on many items of one process in 14 days points
to the process, so it opens (or joins) the matching operations flag."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from warehouse.flags_ops.core import Ctx, Finding

__all__ = ["Instance", "escalate"]

WINDOW_DAYS = 14
STALE_DAYS = 7  # T3's idle arm (warehouse/sql/flags/flag_task.sql)
MIN_INSTANCES = 3
MIN_SHARE = 0.30
# T-flag -> (O-flag, its name, its base severity, dim). T3 picks O4 or O10 by the modal stage;
# T7 -> O3(d) is O3's own burst rule, which already counts distinct detractors in 14 days.
TARGETS = {
    "T1": ("O9", "Systemic missed deadlines", "medium", None),
    "T3": ("O4", "Bottleneck stage", "medium", None),
    "T5": ("O11", "Support responsiveness", "high", None),
    "T8": ("O8", "Handoff delay", "medium", "client"),
    "T9": ("O14", "Late-payment pattern", "medium", None),
}
T_NAMES = {"T1": "overdue task", "T3": "stale task", "T5": "unanswered ticket",
           "T8": "wait on a client", "T9": "overdue invoice"}  # fmt: skip


@dataclass(frozen=True)
class Instance:
    """A task flag raised on one item at one evaluation."""

    flag_id: str
    process: str
    case_id: str
    stage: str | None


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _eligible(ctx: Ctx) -> dict[str, int]:
    """Items open at any time in the last 14 days, per process."""
    rows = ctx.rows(
        "select process, count(*) from fct_cases where created_at < $end "
        "and coalesce(completed_at, cancelled_at, $end) >= $start group by 1",
        {"start": ctx.ago(WINDOW_DAYS), "end": ctx.end},
    )
    return {str(r[0]): int(r[1]) for r in rows}


def _eligible_t3(ctx: Ctx) -> dict[str, int]:
    """Items T3 could have flagged in the last 14 days, per process: started, and open at some
    time in the window while old enough to be stale (7 days) or aging (past the p85 cycle time
    T3 uses). A request still in intake, or two days into its work, cannot be stale."""
    start, end = ctx.ago(WINDOW_DAYS), ctx.end
    rows = ctx.rows(
        "select c.process, c.started_at, coalesce(c.completed_at, c.cancelled_at, $end), "
        "p.value from fct_cases c left join metric_flow p on p.process = c.process "
        "and p.window_name = 'maturity' and p.metric = 'cycle_time_p85_days' and p.n >= 8 "
        "where c.started_at < $end and coalesce(c.completed_at, c.cancelled_at, $end) >= $start",
        {"start": start, "end": end},
    )
    counts: dict[str, int] = {}
    for process, started, ended, p85 in rows:
        old_enough = started + timedelta(days=min(STALE_DAYS, p85 or STALE_DAYS))
        if max(start, old_enough) < min(ended, end):
            counts[str(process)] = counts.get(str(process), 0) + 1
    return counts


def _recent(ctx: Ctx, current: list[Instance]) -> list[Instance]:
    """Task-flag instances present in the window: earlier evaluations plus this one, oldest
    first, so that an item flagged in several stages counts under its latest (the same data
    always gives the same stage: without the order, the database's row order chose)."""
    rows = ctx.rows(
        "select flag_id, process, case_id, stage from flag_history "
        "where workspace = $ws and level = 'task' and present and as_of > $since and as_of < $as_of "
        "group by all order by max(as_of), flag_id, process, case_id, stage nulls first",
        {"ws": ctx.workspace, "since": ctx.as_of - timedelta(days=WINDOW_DAYS), "as_of": ctx.as_of},
    )
    earlier = [Instance(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]
    return [*earlier, *current]


def escalate(ctx: Ctx, current: list[Instance], findings: list[Finding]) -> None:
    """Add an `escalation` sub-rule to the mapped O-flag of every process (merging or adding)."""
    by_key: dict[tuple[str, str], dict[str, Instance]] = {}
    for inst in _recent(ctx, current):
        if inst.flag_id in TARGETS:
            by_key.setdefault((inst.flag_id, inst.process), {})[inst.case_id] = inst
    if not by_key:
        return
    eligible = _eligible(ctx)
    stale_eligible = _eligible_t3(ctx) if any(f == "T3" for f, _ in by_key) else {}
    for (flag_id, process), items in sorted(by_key.items()):
        k, n = len(items), (stale_eligible if flag_id == "T3" else eligible).get(process, 0)
        holds = k >= MIN_INSTANCES and n > 0 and k / n > MIN_SHARE
        target, name, severity, dim = TARGETS[flag_id]
        if flag_id == "T3":
            stage, count = Counter(i.stage for i in items.values()).most_common(1)[0]
            if stage is not None and count >= 0.5 * k:
                dim = stage
            else:
                target, name, severity = "O10", "WIP growth", "medium"
        sentence = (
            f"This is the {_ordinal(k)} {T_NAMES[flag_id]} in {process} in two weeks. "
            "The pattern points to the process, not the person."
        )
        match = next(
            (f for f in findings if (f.flag_id, f.process, f.dim) == (target, process, dim)), None
        )
        # Aging items in one stage of a small process can be a third of those open by chance
        # (~15% age past p85 by construction); T3 names a bottleneck only when the stage's own
        # visits are slower than its baseline by O4's own test (median >= 1.25x, p < .0005) or it
        # is new, and WIP growth only when WIP is above its baseline (none: no growth). S2's
        # rework spike makes its review stage 1.4x slower at p ~ .005: O2's finding, not O4's.
        holds = holds and (match is None or match.corroborated)
        if match is None:
            if not holds:
                continue
            match = Finding(
                target,
                name,
                process,
                {},
                severity=severity,
                dim=dim,
                explanation=f"{k} of {n} {process} items open in the last two weeks had this problem.",
            )
            findings.append(match)
        match.subs["escalation"] = "open" if holds else "close"
        if holds:
            match.trigger = "escalation"
            match.explanation = f"{match.explanation} {sentence}".strip()
