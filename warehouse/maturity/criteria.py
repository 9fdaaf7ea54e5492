"""Rubric criteria of METRICS.md §4 levels 2-4: one function per level over the evidence row."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models.settings import MaturityConfig
from warehouse import stats

__all__ = ["Criterion", "fmt_value", "level2", "level3", "level4", "share"]


@dataclass
class Criterion:
    """One rubric line: whether it applies, passes, the observed value and the threshold."""

    id: str
    level: int
    name: str
    applicable: bool
    passed: bool | None
    value: float | None
    threshold: str
    soft: bool = False
    unit: str = "share"  # share (shown as %), count, ratio

    def line(self) -> str:
        mark = "-" if not self.applicable else ("✓" if self.passed else "✗")
        shown = "n/a" if self.value is None else fmt_value(self.value, self.unit)
        return f"{mark} {self.id} {self.name}: {shown} (needs {self.threshold})"


def fmt_value(value: float, unit: str = "share") -> str:
    if unit == "share":
        return f"{value:.0%}"
    return f"{value:.0f}" if unit == "count" else f"{value:.2f}"


def share(k: int | None, n: int | None) -> float | None:
    return None if not n else (k or 0) / n


def _crit(cid: str, level: int, name: str, value: float | None, op: str, threshold: float,
          *, applicable: bool = True, soft: bool = False, unit: str = "share") -> Criterion:  # fmt: skip
    shown = f"{op}{fmt_value(threshold, unit)}"
    if not applicable or value is None:
        return Criterion(cid, level, name, False, None, value, shown, soft, unit)
    passed = value >= threshold if op == "≥" else value <= threshold
    return Criterion(cid, level, name, True, passed, value, shown, soft, unit)


def _m23(stale: int, open_items: int, max_share: float) -> Criterion:
    """M2.3 fails only when the stale share is credibly above the maximum (the Wilson lower
    bound at spc.z exceeds it). A process has a handful of open items, so the bare share moves
    in steps of 20-25%: one forgotten item in four is 25% and would drop a healthy process to
    level 1 (README: where opspulse departs from METRICS.md)."""
    crit = _crit("M2.3", 2, "open items stale for 14+ days", share(stale, open_items), "≤", max_share,
                 applicable=bool(open_items))  # fmt: skip
    if crit.applicable:
        crit.passed = stats.wilson(stale, open_items, stats.Z_DISPLAY).low <= max_share
        crit.threshold = f"≤{fmt_value(max_share)} beyond chance"
    return crit


def level2(e: dict[str, Any], cfg: MaturityConfig, support_target: bool) -> list[Criterion]:
    support = e["process_type"] == "support"
    due = (1.0 if support_target else 0.0) if support else share(e["with_due"], e["completed"])
    owned = share(e["with_assignee"], e["completed"])
    return [
        _crit("M2.1", 2, "completed items with an owner at finish", owned, "≥", cfg.m21_min),
        _crit("M2.2", 2, "SLA target configured" if support else "completed items with a due date", due, "≥",
              1.0 if support else cfg.m22_min),
        _m23(e["n_stale"] or 0, e["n_open"] or 0, cfg.m23_max),
        _crit("M2.4", 2, "completed items with 2+ stage events", share(e["multi_step"], e["completed"]), "≥",
              cfg.m24_min),
    ]  # fmt: skip


def level3(e: dict[str, Any], cfg: MaturityConfig) -> list[Criterion]:
    template = share(e["templated"], e["completed"]) or 0.0
    hps = share(e["happy_path_cases"], e["completed"]) or 0.0
    # D3.1 passes on either arm; report the arm that is closer to passing.
    d31 = _crit(
        "D3.1",
        3,
        "template share or happy-path share",
        max(template, hps),
        "≥",
        min(cfg.template_min, cfg.hps_min),
    )
    d31.passed = template >= cfg.template_min or hps >= cfg.hps_min
    d31.threshold = f"template ≥{cfg.template_min:.0%} or HPS ≥{cfg.hps_min:.0%}"
    coverage = share(e["cases_covering"], e["completed"]) if (e["n_canonical"] or 0) >= 2 else 0.0
    checklist_items = share(e["with_checklist"], e["completed"]) or 0.0
    return [
        d31,
        _crit("D3.2", 3, "cases visiting every canonical stage", coverage, "≥", cfg.d32_min),
        _crit("D3.3", 3, "mean checklist completion", e["checklist_mean"], "≥", cfg.d33_min,
              applicable=checklist_items >= 0.2),
        # Stages carry no owner_role yet, so D3.4 cannot be judged.
        _crit("D3.4", 3, "owner-role handoffs picked up within 1 business day", None, "≥", 0.7,
              applicable=False, soft=True),
    ]  # fmt: skip


def level4(
    e: dict[str, Any], cfg: MaturityConfig, spc: stats.SpcVerdict | None, has_target: bool
) -> list[Criterion]:
    ratio = e["ct_p85"] / e["ct_p50"] if e["ct_p50"] else None
    if e["client_facing"]:
        q44 = _crit(
            "Q4.4",
            4,
            "feedback coverage",
            share(e["covered"], e["client_facing_done"]),
            "≥",
            cfg.fc_min,
        )
    else:
        q44 = _crit(
            "Q4.4",
            4,
            "cases with a review stage",
            share(e["visited_review"], e["completed"]),
            "≥",
            0.5,
        )
    q42 = Criterion(
        "Q4.2",
        4,
        "no unusual slow points on the cycle-time chart",
        False,
        None,
        None,
        "no upper rule-1/4 signal",
    )
    if spc is not None and spc.evaluated:
        q42 = Criterion(
            "Q4.2",
            4,
            q42.name,
            True,
            spc.passed,
            float(spc.upper_rule1),
            q42.threshold,
            unit="count",
        )
    return [
        _crit(
            "Q4.1",
            4,
            "completions in the window",
            float(e["completed"]),
            "≥",
            cfg.q41_min,
            unit="count",
        ),
        q42,
        _crit("Q4.3", 4, "cycle-time p85/p50", ratio, "≤", cfg.q43_max, unit="ratio"),
        q44,
        Criterion(
            "Q4.5",
            4,
            "an owner target or SLA is configured",
            True,
            has_target,
            float(has_target),
            "yes",
            soft=True,
            unit="count",
        ),
    ]
