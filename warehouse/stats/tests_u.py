"""The one-sided Mann-Whitney U test (current > baseline) used by O1 and O4 (§3.5)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from warehouse.stats.trend import normal_sf

__all__ = ["MannWhitney", "mann_whitney_greater", "midranks"]


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
