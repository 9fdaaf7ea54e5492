"""The one-sided Mann-Whitney U test (current > baseline) used by O1 and O4 (§3.5), and its
generalisation to right-censored values (Gehan) with the Kaplan-Meier median, for O1's change arm."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from warehouse.stats.trend import normal_sf

__all__ = ["MannWhitney", "gehan_greater", "km_median", "mann_whitney_greater", "midranks"]


@dataclass(frozen=True)
class MannWhitney:
    """U of the current sample, its continuity-corrected z and the one-sided p (current > baseline)."""

    u: float
    z: float
    p: float
    n_current: int
    n_baseline: int


def midranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """1-based ranks of `values` with ties given their mean rank, and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    groups: list[int] = []
    start = 0
    while start < len(order):
        stop = start
        while stop + 1 < len(order) and values[order[stop + 1]] == values[order[start]]:
            stop += 1
        for i in order[start : stop + 1]:
            ranks[i] = (start + stop) / 2 + 1
        groups.append(stop - start + 1)
        start = stop + 1
    return ranks, groups


def mann_whitney_greater(current: Sequence[float], baseline: Sequence[float]) -> MannWhitney:
    """Mann-Whitney U for current > baseline: normal approximation, tie and continuity corrected.

    When every value is tied the variance is zero and there is no evidence either way, so z is 0
    and p is 1.
    """
    n1, n2 = len(current), len(baseline)
    if not n1 or not n2:
        raise ValueError("both samples need at least one value")
    ranks, groups = midranks([*current, *baseline])
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    total = n1 + n2
    ties = sum(t**3 - t for t in groups)
    var_u = n1 * n2 / 12 * ((total + 1) - ties / (total * (total - 1))) if total > 1 else 0.0
    if var_u <= 0:
        return MannWhitney(u, 0.0, 1.0, n1, n2)
    # The 0.5 continuity correction moves U toward the mean, against the alternative.
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var_u)
    return MannWhitney(u, z, normal_sf(z), n1, n2)


def gehan_greater(current: Sequence[tuple[float, bool]], baseline: Sequence[float]) -> MannWhitney:
    """Gehan's generalised Wilcoxon test for current > baseline, when some current values are
    right-censored: `(value, censored)`, where a censored value is a lower bound (an item still
    open has a cycle time of at least its age). Each (current, baseline) pair scores +1 when the
    current value is certainly the larger, -1 when certainly the smaller and 0 when censoring hides
    the order; the variance is Mantel's permutation variance. Without censoring the statistic is
    2U - n1*n2 and, with a continuity correction of 1, p equals `mann_whitney_greater`'s.

    `u` reports the statistic's U-scale equivalent ((W + n1*n2) / 2).
    """
    n1, n2 = len(current), len(baseline)
    if not n1 or not n2:
        raise ValueError("both samples need at least one value")
    pooled = [*current, *((float(v), False) for v in baseline)]
    total = n1 + n2
    scores = []
    for value, censored in pooled:
        above = sum(1 for v, c in pooled if not c and value > v)  # certainly larger than these
        below = 0 if censored else sum(1 for v, _ in pooled if value < v)
        scores.append(above - below)
    w = sum(scores[:n1])
    var_w = n1 * n2 / (total * (total - 1)) * sum(s * s for s in scores) if total > 1 else 0.0
    if var_w <= 0:
        return MannWhitney((w + n1 * n2) / 2, 0.0, 1.0, n1, n2)
    z = (w - 1) / math.sqrt(var_w)
    return MannWhitney((w + n1 * n2) / 2, z, normal_sf(z), n1, n2)


def km_median(values: Sequence[tuple[float, bool]]) -> float:
    """The Kaplan-Meier median of `(value, censored)` pairs: the smallest value at which the
    estimated share still above it falls to one half; the largest value (a lower bound) when
    censoring keeps it above one half."""
    if not values:
        raise ValueError("need at least one value")
    ordered = sorted(values)
    survival, at_risk, i = 1.0, len(ordered), 0
    while i < len(ordered):
        value = ordered[i][0]
        same = [c for v, c in ordered[i:] if v == value]
        events = sum(1 for c in same if not c)
        survival *= 1 - events / at_risk
        if events and survival <= 0.5:
            return value
        at_risk -= len(same)
        i += len(same)
    return ordered[-1][0]
