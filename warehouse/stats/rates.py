"""Rates and their intervals: Wilson, separation, NPS adjusted-Wald and Laney p-charts (§3.3)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from statistics import fmean

from warehouse.stats.spc import Mark, Side, Signal, mark_point, rule_signals

__all__ = [
    "Z_DISPLAY",
    "Z_FLAG",
    "Interval",
    "Nps",
    "PChart",
    "PChartPoint",
    "credibly_below",
    "laney_sigma_z",
    "newcombe",
    "nps",
    "p_chart",
    "separated_high",
    "separated_low",
    "wilson",
]

# The Conventions defaults: `spc.z` for displayed intervals, `spc.z_flag` for flag gates.
Z_DISPLAY = 1.96
Z_FLAG = 3.0
_D2 = 1.128


@dataclass(frozen=True)
class Interval:
    """A point estimate with the low and high ends of its interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Nps:
    """An NPS score on -100..100 with its adjusted-Wald interval."""

    score: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class PChartPoint:
    """One current week on a p-chart: its rate, (widened) sigma, limits and signals."""

    index: int
    k: int
    n: int
    p: float
    sigma: float
    lcl: float
    ucl: float
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class PChart:
    """A p-chart of the current weeks against the baseline p̄, with Laney's sigma_z."""

    p_bar: float
    sigma_z: float | None
    widening: float
    points: tuple[PChartPoint, ...]
    skipped: tuple[int, ...]
    signals: tuple[Signal, ...]


def _check_counts(k: int, n: int) -> None:
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n and n > 0, got k={k}, n={n}")


def wilson(k: int, n: int, z: float = Z_DISPLAY) -> Interval:
    """The Wilson score interval for k successes of n; the estimate is k/n."""
    _check_counts(k, n)
    p = k / n
    shrink = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / shrink
    # At k = 0 (k = n) the bound is exactly 0 (1); rounding would leave it just inside, and a
    # zero rate would then look separated above a zero base.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Interval(p, low, high)


def newcombe(k_cur: int, n_cur: int, k_base: int, n_base: int, z: float = Z_DISPLAY) -> Interval:
    """Newcombe's hybrid score interval for p_cur - p_base, built from the two Wilson intervals.

    Both rates are estimates: comparing the current interval with the base rate as if it were
    exact (METRICS.md §3.3) ignores the base's own noise, which at a few items a week makes a
    healthy process look separated in a few percent of windows, and nightly re-testing turns that
    into most years. The difference interval accounts for both.
    """
    cur, base = wilson(k_cur, n_cur, z), wilson(k_base, n_base, z)
    d = cur.estimate - base.estimate
    low = d - math.hypot(cur.estimate - cur.low, base.high - base.estimate)
    high = d + math.hypot(cur.high - cur.estimate, base.estimate - base.low)
    return Interval(d, max(-1.0, low), min(1.0, high))


def separated_high(k_cur: int, n_cur: int, k_base: int, n_base: int, z: float = Z_FLAG) -> bool:
    """Whether a bad-when-high current rate is separated above the base: the difference
    interval lies above 0."""
    return newcombe(k_cur, n_cur, k_base, n_base, z).low > 0


def separated_low(k_cur: int, n_cur: int, k_base: int, n_base: int, z: float = Z_FLAG) -> bool:
    """Whether a bad-when-low current rate is separated below the base: the difference interval
    lies below 0."""
    return newcombe(k_cur, n_cur, k_base, n_base, z).high < 0


def credibly_below(k: int, n: int, floor: float, z: float = Z_FLAG) -> bool:
    """Whether a rate is credibly below a floor: U(cur) < floor."""
    return wilson(k, n, z).high < floor


def nps(promoters: int, detractors: int, n: int, z: float = Z_DISPLAY) -> Nps:
    """NPS = 100(P-D)/n with the adjusted-Wald interval, clipped to the scale's -100..100."""
    _check_counts(promoters + detractors, n)
    if min(promoters, detractors) < 0:
        raise ValueError("promoter and detractor counts cannot be negative")
    n_adj = n + 3
    p_adj = (promoters + 0.75) / n_adj
    d_adj = (detractors + 0.75) / n_adj
    half = z * math.sqrt((p_adj + d_adj - (p_adj - d_adj) ** 2) / n_adj)
    low = max(-100.0, 100 * (p_adj - d_adj - half))
    high = min(100.0, 100 * (p_adj - d_adj + half))
    return Nps(100 * (promoters - detractors) / n, low, high, n)


def _kept(weeks: Sequence[tuple[int, int]], min_week_n: int) -> list[tuple[int, int, int]]:
    for k, n in weeks:
        if n > 0:
            _check_counts(k, n)
    return [(i, k, n) for i, (k, n) in enumerate(weeks) if n >= min_week_n]


def _sigma(p_bar: float, n: int) -> float:
    return math.sqrt(p_bar * (1 - p_bar) / n)


def laney_sigma_z(weeks: Sequence[tuple[int, int]], p_bar: float) -> float | None:
    """Laney's sigma_z = mR̄(z)/1.128 over the weeks' z-scores; None when it cannot be estimated."""
    if len(weeks) < 2 or p_bar in (0.0, 1.0):
        return None
    zs = [(k / n - p_bar) / _sigma(p_bar, n) for k, n in weeks]
    return fmean(abs(b - a) for a, b in pairwise(zs)) / _D2


def _week_point(
    index: int, k: int, n: int, p_bar: float, widening: float
) -> tuple[PChartPoint, Mark]:
    sigma = widening * _sigma(p_bar, n)
    p = k / n
    up = [p_bar + j * sigma for j in (1, 2, 3)]
    down = [p_bar - j * sigma for j in (1, 2, 3)]
    point = PChartPoint(index, k, n, p, sigma, max(0.0, down[2]), min(1.0, up[2]), ())
    # Unclipped edges judge the same as clipped ones: a rate never lies outside [0, 1].
    return point, mark_point(p, p_bar, up, down)


def p_chart(
    baseline_weeks: Sequence[tuple[int, int]],
    current_weeks: Sequence[tuple[int, int]],
    *,
    min_week_n: int = 5,
    rules: Iterable[int] = (1, 2),
    sides: Iterable[Side] = ("upper",),
) -> PChart:
    """A p-chart of weekly (k, n) rates with Laney widening and rule signals on the chosen sides."""
    if min_week_n < 1:
        raise ValueError("min_week_n must be at least 1")
    base = [(k, n) for _, k, n in _kept(baseline_weeks, min_week_n)]
    if not base:
        raise ValueError(f"no baseline week has n >= {min_week_n}")
    p_bar = sum(k for k, _ in base) / sum(n for _, n in base)
    sigma_z = laney_sigma_z(base, p_bar)
    # Laney widens over-dispersed charts but never narrows them (§3.3).
    widening = max(1.0, sigma_z) if sigma_z is not None else 1.0
    kept = _kept(current_weeks, min_week_n)
    made = [_week_point(i, k, n, p_bar, widening) for i, k, n in kept]
    found = rule_signals([m for _, m in made], 0, rules=rules, sides=sides)
    signals = tuple(Signal(kept[s.index][0], s.rule, s.side) for s in found)
    points = tuple(
        replace(p, signals=tuple(s for s in signals if s.index == p.index)) for p, _ in made
    )
    skipped = tuple(i for i, (_, n) in enumerate(current_weeks) if n < min_week_n)
    return PChart(p_bar, sigma_z, widening, points, skipped, signals)
