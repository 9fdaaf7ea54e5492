"""Percentiles, the normal tail, and the Mann-Kendall trend test with Theil-Sen slope (§2.2, §3.4)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

__all__ = [
    "MannKendall",
    "Trend",
    "mann_kendall",
    "normal_cdf",
    "normal_sf",
    "quantile7",
    "theil_sen",
    "trend",
]


@dataclass(frozen=True)
class MannKendall:
    """The Mann-Kendall statistic S, its tie-corrected variance, Z and two-sided p."""

    n: int
    s: int
    var_s: float
    z: float
    p: float


@dataclass(frozen=True)
class Trend:
    """A weekly series' Mann-Kendall test, Theil-Sen slope per week and median value."""

    n: int
    s: int
    var_s: float
    z: float
    p: float
    slope: float
    median: float

    @property
    def relative_slope(self) -> float | None:
        """The slope as a share of the series median (I5.2's abs(β)/median), None at median 0."""
        return self.slope / self.median if self.median else None


def quantile7(xs: Sequence[float], q: float) -> float:
    """The Hyndman-Fan type 7 quantile (DuckDB `quantile_cont`): linear between order statistics."""
    if not xs:
        raise ValueError("quantile of an empty sample")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    ordered = sorted(xs)
    h = (len(ordered) - 1) * q
    lo = math.floor(h)
    if lo + 1 >= len(ordered):
        return float(ordered[lo])
    return ordered[lo] + (h - lo) * (ordered[lo + 1] - ordered[lo])


def normal_cdf(z: float) -> float:
    """Φ(z), the standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def normal_sf(z: float) -> float:
    """1 - Φ(z), computed with erfc so small tail probabilities keep their precision."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _sign(d: float) -> int:
    return (d > 0) - (d < 0)


def mann_kendall(xs: Sequence[float]) -> MannKendall:
    """S, Var(S) with the tie-group correction, Z with continuity correction, p = 2(1-Φ(|Z|))."""
    n = len(xs)
    s = sum(_sign(xs[j] - xs[i]) for i in range(n) for j in range(i + 1, n))
    ties = sum(t * (t - 1) * (2 * t + 5) for t in Counter(xs).values())
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18
    if var_s <= 0 or s == 0:
        return MannKendall(n, s, var_s, 0.0, 1.0)
    z = (s - _sign(s)) / math.sqrt(var_s)
    return MannKendall(n, s, var_s, z, 2 * normal_sf(abs(z)))


def theil_sen(series: Sequence[tuple[float, float]]) -> float:
    """The median of pairwise slopes (x_j - x_i)/(w_j - w_i) over (week index w, value x) pairs."""
    pts = sorted(series)
    slopes = [
        (xj - xi) / (wj - wi)
        for i, (wi, xi) in enumerate(pts)
        for wj, xj in pts[i + 1 :]
        if wj != wi
    ]
    if len(slopes) < len(pts) * (len(pts) - 1) // 2:
        raise ValueError("week indexes must be distinct")
    if not slopes:
        raise ValueError("a slope needs at least two weeks")
    return median(slopes)


def trend(series: Sequence[tuple[float, float]], *, min_points: int = 12) -> Trend | None:
    """Mann-Kendall and Theil-Sen over (week index, value) points; None below `min_points`."""
    if len(series) < max(min_points, 2):
        return None
    pts = sorted(series)
    values = [x for _, x in pts]
    mk = mann_kendall(values)
    return Trend(mk.n, mk.s, mk.var_s, mk.z, mk.p, theil_sen(pts), median(values))
