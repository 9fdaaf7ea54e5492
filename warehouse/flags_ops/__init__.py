"""Operations-level flags O1-O14 (METRICS.md §5.2) with escalation (§5.3), judged per process."""

from __future__ import annotations

from warehouse.flags_ops.core import Ctx, Finding, ProcessInfo, SubState
from warehouse.flags_ops.delivery import (
    o6_no_process,
    o7_owner,
    o8_handoffs,
    o9_deadlines,
    o11_support,
    o12_planning,
    o14_payments,
)
from warehouse.flags_ops.escalation import Instance, escalate
from warehouse.flags_ops.quality import o2_rework, o3_satisfaction, o13_feedback_coverage
from warehouse.flags_ops.timing import (
    o1_cycle_time,
    o4_bottleneck,
    o5_unpredictable,
    o10_wip_growth,
    visit_owners,
)

__all__ = ["Ctx", "Finding", "Instance", "ProcessInfo", "SubState", "operations_findings"]

# O5 and O10 stay quiet while the flag that explains them pends or fires (Appendix A). O2 is
# added for O10: rework loops keep items in progress longer, so a rework spike (S2) grows WIP.
SUPPRESSED_BY = {"O5": ("O1",), "O10": ("O1", "O2", "O11")}


def _suppress(findings: list[Finding], active: set[tuple[str, str | None]]) -> None:
    opened = {(f.flag_id, f.process) for f in findings if f.is_open}
    for f in findings:
        for other in SUPPRESSED_BY.get(f.flag_id, ()):
            if (other, f.process) in opened or (other, f.process) in active:
                f.subs = {k: ("hold" if s == "open" else s) for k, s in f.subs.items()}


def operations_findings(
    ctx: Ctx, instances: list[Instance], active: set[tuple[str, str | None]]
) -> list[Finding]:
    """Every O-flag verdict of the workspace at ctx.as_of.

    `instances` are this evaluation's task-flag instances (for escalation); `active` holds the
    (flag_id, process) pairs pending or firing before this evaluation (for suppression).
    """
    findings: list[Finding] = []
    visits = visit_owners(ctx)
    for process in sorted(ctx.processes):
        findings += [
            o1_cycle_time(ctx, process),
            o2_rework(ctx, process),
            o3_satisfaction(ctx, process),
            o5_unpredictable(ctx, process),
            o6_no_process(ctx, process),
            o8_handoffs(ctx, process),
            o9_deadlines(ctx, process),
            o10_wip_growth(ctx, process),
            o12_planning(ctx, process),
        ]
        findings += o4_bottleneck(ctx, process, visits.get(process, []))
        findings += o7_owner(ctx, process, visits.get(process, []))
        findings += [
            f
            for f in (
                o11_support(ctx, process),
                o13_feedback_coverage(ctx, process),
                o14_payments(ctx, process),
            )
            if f is not None
        ]
    escalate(ctx, instances, findings)
    _suppress(findings, active)
    return findings
