"""XmR control charts on ln(cycle time) and the Western Electric rules (METRICS.md §3.1-§3.2)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import fmean
from typing import Literal

__all__ = [
    "RULES",
    "SIDES",
    "ChartState",
    "Mark",
    "Side",
    "Signal",
    "SpcVerdict",
    "XmrChart",
    "XmrLimits",
    "XmrPoint",
    "ln_cycle_time",
    "mark_point",
    "rule_signals",
    "spc_verdict",
    "we_signals",
    "xmr_chart",
    "xmr_limits",
]

Side = Literal["upper", "lower"]
ChartState = Literal["learning", "trial", "evaluation"]
SIDES: tuple[Side, ...] = ("upper", "lower")
RULES: tuple[int, ...] = (1, 2, 3, 4)

# Rule -> (window length, points needed in it, sigma bands a point must be beyond), §3.2.
_RULE_SHAPES: dict[int, tuple[int, int, int]] = {
    1: (1, 1, 3),
    2: (3, 2, 2),
    3: (5, 4, 1),
    4: (8, 8, 0),
}

# Wheeler's constants exactly as §3.1 writes them (2.66 = 3/d2, 0.887 = 1/d2, 3.268 = D4).
_D2 = 1.128
_NPL = 2.66
_ZONE_1S = 0.887
_ZONE_2S = 1.773
_URL = 3.268


@dataclass(frozen=True, order=True)
class Signal:
    """A Western Electric rule firing at the last point of its window, on one side."""

    index: int
    rule: int
    side: Side


@dataclass(frozen=True)
class Mark:
    """Where one point sits: its side of the centre line and how many sigma edges it is beyond."""

    side: Side | None
    depth: int

    def meets(self, side: Side, depth: int) -> bool:
        """Whether the point is on `side` and strictly beyond `depth` sigma edges there."""
        return self.side == side and self.depth >= depth


@dataclass(frozen=True)
class XmrLimits:
    """Natural process limits, zone edges and the moving-range limit of one XmR segment."""

    x_bar: float
    mr_bar: float
    sigma: float
    unpl: float
    lnpl: float
    upper_1s: float
    lower_1s: float
    upper_2s: float
    lower_2s: float
    url: float

    def mark(self, x: float) -> Mark:
        """Classify one value against these limits."""
        up = (self.upper_1s, self.upper_2s, self.unpl)
        down = (self.lower_1s, self.lower_2s, self.lnpl)
        return mark_point(x, self.x_bar, up, down)


@dataclass(frozen=True)
class XmrPoint:
    """One chart point: its value, moving range and the signals that end on it."""

    index: int
    x: float
    moving_range: float | None
    side: Side | None
    in_eval: bool
    mr_above_url: bool
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class XmrChart:
    """An XmR chart in one of the §3.1 states, with the baseline B and evaluation segment E."""

    state: ChartState
    n: int
    limits: XmrLimits | None
    baseline: range | None
    evaluation: range | None
    points: tuple[XmrPoint, ...]
    signals: tuple[Signal, ...]

    def signals_for(self, rule: int, side: Side) -> tuple[Signal, ...]:
        """The chart's signals of one rule on one side."""
        return tuple(s for s in self.signals if s.rule == rule and s.side == side)


@dataclass(frozen=True)
class SpcVerdict:
    """Q4.2 on one chart: whether it was judged, and the upper signals that decide it."""

    evaluated: bool
    evaluated_points: int
    upper_rule1: int
    upper_rule4: bool
    lower_rule4: bool
    passed: bool | None
    unit: str = "items"  # what a chart point is: "items", or "weeks" for weekly subgroups


def ln_cycle_time(cycle_time_days: float, floor_days: float = 0.01) -> float:
    """The chart value of one cycle time: ln of the days, floored as §2.3 says."""
    return math.log(max(cycle_time_days, floor_days))


def mark_point(x: float, centre: float, up: Sequence[float], down: Sequence[float]) -> Mark:
    """Classify `x` against a centre line and its 1, 2 and 3 sigma edges; "beyond" is strict."""
    if x > centre:
        return Mark("upper", sum(x > edge for edge in up))
    if x < centre:
        return Mark("lower", sum(x < edge for edge in down))
    return Mark(None, 0)


def xmr_limits(xs: Sequence[float], *, min_mr: float = 0.01) -> XmrLimits:
    """X̄, mR̄ (floored at `min_mr`) and the limits derived from them over one segment."""
    if len(xs) < 2:
        raise ValueError("XmR limits need at least two points")
    x_bar = fmean(xs)
    mr_bar = max(fmean(abs(b - a) for a, b in pairwise(xs)), min_mr)
    return XmrLimits(
        x_bar=x_bar,
        mr_bar=mr_bar,
        sigma=mr_bar / _D2,
        unpl=x_bar + _NPL * mr_bar,
        lnpl=x_bar - _NPL * mr_bar,
        upper_1s=x_bar + _ZONE_1S * mr_bar,
        lower_1s=x_bar - _ZONE_1S * mr_bar,
        upper_2s=x_bar + _ZONE_2S * mr_bar,
        lower_2s=x_bar - _ZONE_2S * mr_bar,
        url=_URL * mr_bar,
    )


def rule_signals(
    marks: Sequence[Mark],
    start: int,
    *,
    rules: Iterable[int] = RULES,
    sides: Iterable[Side] = SIDES,
) -> list[Signal]:
    """Signals of the given rules over points `start`..end, with every window inside that range."""
    if not 0 <= start <= len(marks):
        raise ValueError(f"start {start} is outside 0..{len(marks)}")
    wanted = sorted(set(rules))
    if unknown := set(wanted) - set(_RULE_SHAPES):
        raise ValueError(f"unknown Western Electric rules {sorted(unknown)}")
    chosen = tuple(sides)
    return [
        Signal(i, rule, side)
        for i in range(start, len(marks))
        for rule in wanted
        for side in chosen
        if _fires(marks, start, i, rule, side)
    ]


def _fires(marks: Sequence[Mark], start: int, last: int, rule: int, side: Side) -> bool:
    width, needed, depth = _RULE_SHAPES[rule]
    first = last - width + 1
    if first < start or not marks[last].meets(side, depth):
        return False
    return sum(m.meets(side, depth) for m in marks[first : last + 1]) >= needed


def we_signals(
    xs: Sequence[float],
    limits: XmrLimits,
    eval_start: int,
    *,
    rules: Iterable[int] = RULES,
    sides: Iterable[Side] = SIDES,
) -> list[Signal]:
    """Western Electric signals of `xs` against `limits`, judging only points from `eval_start`."""
    return rule_signals([limits.mark(x) for x in xs], eval_start, rules=rules, sides=sides)


def _segments(
    n: int, min_trial_points: int, eval_points: int, baseline_points: int, min_eval_points: int
) -> tuple[ChartState, range | None, range | None]:
    if n < min_trial_points:
        return "learning", None, None
    if n < baseline_points + min_eval_points:
        return "trial", range(n), range(n)
    e = min(eval_points, n - baseline_points)
    return "evaluation", range(n - e - baseline_points, n - e), range(n - e, n)


def _check_sizes(
    min_trial_points: int, eval_points: int, baseline_points: int, min_eval_points: int
) -> None:
    if min_trial_points < 2 or baseline_points < 2:
        raise ValueError("limits need segments of at least two points")
    if not 1 <= min_eval_points <= eval_points:
        raise ValueError("need 1 <= min_eval_points <= eval_points")


def _points(
    xs: Sequence[float], limits: XmrLimits | None, evaluation: range | None, signals: list[Signal]
) -> tuple[XmrPoint, ...]:
    by_index: dict[int, list[Signal]] = {}
    for s in signals:
        by_index.setdefault(s.index, []).append(s)
    points = []
    for i, x in enumerate(xs):
        mr = abs(x - xs[i - 1]) if i else None
        above = limits is not None and mr is not None and mr > limits.url
        side = limits.mark(x).side if limits else None
        in_eval = evaluation is not None and i in evaluation
        points.append(XmrPoint(i, x, mr, side, in_eval, above, tuple(by_index.get(i, ()))))
    return tuple(points)


def xmr_chart(
    ln_ct: Sequence[float],
    *,
    min_trial_points: int = 6,
    eval_points: int = 20,
    baseline_points: int = 20,
    min_eval_points: int = 8,
    min_mr: float = 0.01,
) -> XmrChart:
    """The §3.1 chart: learning, trial limits over all points, or limits from B judging only E."""
    _check_sizes(min_trial_points, eval_points, baseline_points, min_eval_points)
    xs = list(ln_ct)
    state, baseline, evaluation = _segments(
        len(xs), min_trial_points, eval_points, baseline_points, min_eval_points
    )
    if baseline is None or evaluation is None:
        return XmrChart(state, len(xs), None, None, None, _points(xs, None, None, []), ())
    limits = xmr_limits(xs[baseline.start : baseline.stop], min_mr=min_mr)
    signals = we_signals(xs, limits, evaluation.start)
    points = _points(xs, limits, evaluation, signals)
    return XmrChart(state, len(xs), limits, baseline, evaluation, points, tuple(signals))


def spc_verdict(
    chart: XmrChart, *, rule1_allowed: int, min_trial_points: int = 20, unit: str = "items"
) -> SpcVerdict:
    """Q4.2 on a chart: at most `rule1_allowed` upper rule-1 points and no upper rule-4 run.

    Trial limits count only once the chart has `min_trial_points` points (§3.1); a lower
    rule-4 run is reported separately because I5.1 treats it as a favourable shift.
    """
    judged = chart.state == "evaluation" or (chart.state == "trial" and chart.n >= min_trial_points)
    if not judged or chart.evaluation is None:
        return SpcVerdict(False, 0, 0, False, False, None)
    upper_rule1 = len(chart.signals_for(1, "upper"))
    upper_rule4 = bool(chart.signals_for(4, "upper"))
    lower_rule4 = bool(chart.signals_for(4, "lower"))
    passed = upper_rule1 <= rule1_allowed and not upper_rule4
    return SpcVerdict(
        True, len(chart.evaluation), upper_rule1, upper_rule4, lower_rule4, passed, unit
    )
