"""warehouse.stats against METRICS.md §2.2 and §3: the §3.6 vectors, rule edges and hand-worked cases."""

from __future__ import annotations

import math
import random

import pytest

from warehouse.stats import (
    Signal,
    XmrLimits,
    credibly_below,
    gehan_greater,
    km_median,
    ln_cycle_time,
    mann_kendall,
    mann_whitney_greater,
    midranks,
    newcombe,
    normal_cdf,
    normal_sf,
    nps,
    p_chart,
    quantile7,
    rule_signals,
    separated_high,
    separated_low,
    spc_verdict,
    theil_sen,
    trend,
    we_signals,
    wilson,
    xmr_chart,
    xmr_limits,
)

# Centre 0 with 1, 2 and 3 sigma edges at ±1, ±2, ±3: rule tests read directly in sigma units.
UNIT = XmrLimits(
    x_bar=0.0, mr_bar=1.128, sigma=1.0, unpl=3.0, lnpl=-3.0,
    upper_1s=1.0, lower_1s=-1.0, upper_2s=2.0, lower_2s=-2.0, url=3.268 * 1.128,
)  # fmt: skip

MK_VECTOR = [10, 9.8, 9.9, 9.5, 9.6, 9.2, 9.3, 8.9, 9.0, 8.6, 8.7, 8.4]


def _rule(xs: list[float], rule: int, eval_start: int = 0) -> list[Signal]:
    return we_signals(xs, UNIT, eval_start, rules=[rule])


# §2.2 percentiles


def test_quantile7_matches_the_test_vector() -> None:
    xs = [1, 2, 3, 4, 10]
    assert [round(quantile7(xs, q), 1) for q in (0.5, 0.85, 0.95)] == [3.0, 6.4, 8.8]


def test_quantile7_sorts_and_handles_the_ends() -> None:
    xs = [10, 3, 1, 4, 2]
    assert quantile7(xs, 0.0) == 1
    assert quantile7(xs, 1.0) == 10
    assert quantile7(xs, 0.25) == 2.0
    assert quantile7([7.5], 0.85) == 7.5
    assert quantile7([1, 2], 0.5) == 1.5


@pytest.mark.parametrize(("xs", "q"), [([], 0.5), ([1.0], -0.1), ([1.0], 1.1)])
def test_quantile7_rejects_bad_input(xs: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        quantile7(xs, q)


# §3.1 XmR limits and segments


def test_xmr_limits_match_the_raw_vector() -> None:
    lim = xmr_limits([10, 50, 40, 30])
    assert lim.x_bar == 32.5
    assert lim.mr_bar == 20
    assert round(lim.unpl, 1) == 85.7
    assert round(lim.lnpl, 1) == -20.7
    assert round(lim.url, 2) == 65.36
    assert lim.sigma == pytest.approx(20 / 1.128)
    assert (round(lim.upper_1s, 2), round(lim.lower_1s, 2)) == (50.24, 14.76)
    assert (round(lim.upper_2s, 2), round(lim.lower_2s, 2)) == (67.96, -2.96)


def test_xmr_limits_floor_the_moving_range() -> None:
    lim = xmr_limits([1.0] * 6)
    assert lim.mr_bar == 0.01
    assert lim.unpl == pytest.approx(1.0266)
    assert xmr_limits([1.0] * 6, min_mr=0.05).mr_bar == 0.05
    with pytest.raises(ValueError):
        xmr_limits([1.0])


def test_ln_cycle_time_floors_short_durations() -> None:
    assert ln_cycle_time(1.0) == 0.0
    assert ln_cycle_time(0.0) == math.log(0.01)
    assert ln_cycle_time(0.001) == math.log(0.01)
    assert ln_cycle_time(math.e) == pytest.approx(1.0)


def _wiggle(n: int) -> list[float]:
    """An in-control series: alternating sides, small moving ranges, never on the centre line."""
    return [0.1 * (i % 2) for i in range(n)]


@pytest.mark.parametrize(
    ("n", "state", "baseline", "evaluation"),
    [
        (5, "learning", None, None),
        (6, "trial", range(6), range(6)),
        (27, "trial", range(27), range(27)),
        (28, "evaluation", range(0, 20), range(20, 28)),
        (30, "evaluation", range(0, 20), range(20, 30)),
        (40, "evaluation", range(0, 20), range(20, 40)),
        (55, "evaluation", range(15, 35), range(35, 55)),
    ],
)
def test_xmr_chart_segment_states(
    n: int, state: str, baseline: range | None, evaluation: range | None
) -> None:
    chart = xmr_chart(_wiggle(n))
    assert (chart.state, chart.n, chart.baseline, chart.evaluation) == (
        state, n, baseline, evaluation,
    )  # fmt: skip
    assert len(chart.points) == n
    assert [p.in_eval for p in chart.points] == [evaluation is not None and i in evaluation
                                                  for i in range(n)]  # fmt: skip


def test_xmr_chart_learning_draws_no_limits() -> None:
    chart = xmr_chart([0.0, 5.0, 0.0, 5.0, 9.0])
    assert chart.limits is None
    assert chart.signals == ()
    assert all(p.side is None and not p.mr_above_url for p in chart.points)


def test_xmr_chart_takes_limits_from_b_only() -> None:
    xs = _wiggle(20) + [3.0, 3.1] * 5  # E sits far above B
    chart = xmr_chart(xs)
    assert chart.limits == xmr_limits(xs[:20])
    assert chart.limits != xmr_limits(xs)
    assert {s.index for s in chart.signals_for(1, "upper")} == set(range(20, 30))


def test_trial_limits_judge_every_point_but_evaluation_only_e() -> None:
    base = _wiggle(20)
    base[10] = 1.0  # a spike inside what becomes B
    trial = xmr_chart(base + [0.05, 0.15] * 3 + [0.05])
    assert trial.state == "trial"
    assert Signal(10, 1, "upper") in trial.signals
    assert trial.points[10].signals == (Signal(10, 1, "upper"),)
    full = xmr_chart(base + [0.05, 0.15] * 4)
    assert full.state == "evaluation"
    assert full.limits is not None and full.limits.unpl < 1.0
    assert full.signals == ()
    assert full.points[10].signals == ()


def test_evaluation_run_straddling_b_and_e_is_not_counted() -> None:
    xs = _wiggle(13) + [0.3] * 8 + [0.0, 0.1] * 3 + [0.0]  # 7 upper in B, 1 upper opening E
    chart = xmr_chart(xs)
    assert chart.evaluation == range(20, 28)
    assert chart.limits is not None and chart.limits.x_bar < 0.3
    assert chart.signals_for(4, "upper") == ()
    assert Signal(20, 4, "upper") in we_signals(xs, chart.limits, 0)


def test_moving_range_above_url_is_marked_but_signals_nothing() -> None:
    xs = [*_wiggle(20), 0.0, 0.1, -0.2, 0.2, 0.0, 0.1, 0.0, 0.1]
    chart = xmr_chart(xs)
    assert chart.limits is not None
    jump = chart.points[23]
    assert jump.moving_range == pytest.approx(0.4)
    assert jump.moving_range > chart.limits.url
    assert [p.index for p in chart.points if p.mr_above_url] == [23]
    assert chart.signals == ()
    assert chart.points[0].moving_range is None


def test_xmr_chart_rejects_inconsistent_sizes() -> None:
    with pytest.raises(ValueError):
        xmr_chart(_wiggle(30), min_eval_points=21)
    with pytest.raises(ValueError):
        xmr_chart(_wiggle(30), min_trial_points=1)


# §3.2 Western Electric rules


def test_rule1_is_strictly_beyond_three_sigma() -> None:
    assert _rule([0.5, 3.01], 1) == [Signal(1, 1, "upper")]
    assert _rule([0.5, -3.01], 1) == [Signal(1, 1, "lower")]
    assert _rule([3.0, -3.0], 1) == []


def test_rule2_fires_on_two_of_three_beyond_two_sigma() -> None:
    assert _rule([2.5, 0.5, 2.5], 2) == [Signal(2, 2, "upper")]
    assert _rule([-2.5, 0.0, -2.1], 2) == [Signal(2, 2, "lower")]
    assert _rule([3.5, 0.5, 2.5], 2) == [
        Signal(2, 2, "upper")
    ]  # beyond 3 sigma is beyond 2 sigma too


def test_rule2_needs_its_last_point_to_meet_the_condition() -> None:
    assert _rule([2.5, 2.5, 0.5], 2) == []
    assert _rule([0.1, 2.5, 2.5, 0.5], 2) == [Signal(2, 2, "upper")]


def test_rule2_near_misses() -> None:
    assert _rule([2.0, 0.5, 2.5], 2) == []  # on the 2-sigma edge is not beyond
    assert _rule([2.5, 0.5, -2.5], 2) == []  # opposite sides do not combine
    assert _rule([2.5, 0.5, 0.5, 2.5], 2) == []  # four apart is not two of three


def test_rule2_window_must_lie_inside_e() -> None:
    xs = [2.5, 0.5, 2.5, 0.5, 0.5]
    assert _rule(xs, 2, eval_start=0) == [Signal(2, 2, "upper")]
    assert _rule(xs, 2, eval_start=1) == []


def test_rule3_fires_on_four_of_five_beyond_one_sigma() -> None:
    assert _rule([1.5, 1.5, 0.5, 1.5, 1.01], 3) == [Signal(4, 3, "upper")]
    assert _rule([-1.5, -1.5, -1.5, -0.5, -1.5], 3) == [Signal(4, 3, "lower")]


def test_rule3_needs_its_last_point_to_meet_the_condition() -> None:
    assert _rule([1.5, 1.5, 1.5, 1.5, 0.5], 3) == []


def test_rule3_near_misses() -> None:
    assert _rule([1.0, 1.5, 1.5, 0.5, 1.5], 3) == []  # the 1-sigma edge is not beyond
    assert _rule([1.5, 0.5, 0.5, 1.5, 1.5], 3) == []  # three of five
    assert _rule([1.5, 1.5, -1.5, -1.5, 1.5], 3) == []  # opposite sides do not combine


def test_rule3_window_must_lie_inside_e() -> None:
    xs = [1.5, 1.5, 1.5, 1.5, 1.5, 0.2]
    assert _rule(xs, 3, eval_start=0) == [Signal(4, 3, "upper")]
    assert _rule(xs, 3, eval_start=1) == []


def test_rule4_fires_on_eight_on_one_side() -> None:
    assert _rule([0.1] * 8, 4) == [Signal(7, 4, "upper")]
    assert _rule([-0.1] * 9, 4) == [Signal(7, 4, "lower"), Signal(8, 4, "lower")]
    assert _rule([0.1] * 7, 4) == []


def test_rule4_run_is_broken_by_a_point_on_the_centre_line() -> None:
    assert _rule([0.1] * 4 + [0.0] + [0.1] * 4, 4) == []
    assert _rule([0.1] * 4 + [1e-9] + [0.1] * 4, 4) == [
        Signal(7, 4, "upper"),
        Signal(8, 4, "upper"),
    ]


def test_rule4_opposite_sides_do_not_combine() -> None:
    assert _rule([0.1] * 4 + [-0.1] * 4, 4) == []


def test_rule4_window_must_lie_inside_e() -> None:
    xs = [0.1] * 10
    assert _rule(xs, 4, eval_start=3) == []
    assert _rule(xs, 4, eval_start=2) == [Signal(9, 4, "upper")]


def test_we_signals_report_every_rule_at_its_point_in_order() -> None:
    xs = [0.5] * 7 + [3.5]
    assert we_signals(xs, UNIT, 0) == [
        Signal(7, 1, "upper"), Signal(7, 4, "upper"),
    ]  # fmt: skip
    assert we_signals(xs, UNIT, 0, sides=["lower"]) == []


def test_rule_signals_validate_arguments() -> None:
    with pytest.raises(ValueError):
        _rule([0.1] * 8, 5)
    with pytest.raises(ValueError):
        rule_signals([], 1)


# Q4.2 verdict


def test_spc_verdict_judges_upper_rule1_and_rule4() -> None:
    base = _wiggle(20)
    one_outlier = xmr_chart([*base, 0.0, 0.1, 0.0, 1.0, 0.0, 0.1, 0.0, 0.1])
    verdict = spc_verdict(one_outlier, rule1_allowed=0)
    assert (verdict.evaluated, verdict.evaluated_points, verdict.upper_rule1) == (True, 8, 1)
    assert verdict.passed is False
    assert spc_verdict(one_outlier, rule1_allowed=1).passed is True
    shifted_up = spc_verdict(xmr_chart(base + [0.08] * 8), rule1_allowed=5)
    assert (shifted_up.upper_rule4, shifted_up.passed) == (True, False)
    shifted_down = spc_verdict(xmr_chart(base + [0.02] * 8), rule1_allowed=0)
    assert (shifted_down.lower_rule4, shifted_down.upper_rule4, shifted_down.passed) == (
        True, False, True,
    )  # fmt: skip


def test_spc_verdict_uses_trial_limits_only_from_twenty_points() -> None:
    assert spc_verdict(xmr_chart(_wiggle(19)), rule1_allowed=0).evaluated is False
    at_20 = spc_verdict(xmr_chart(_wiggle(20)), rule1_allowed=0)
    assert (at_20.evaluated, at_20.evaluated_points, at_20.passed) == (True, 20, True)
    assert spc_verdict(xmr_chart(_wiggle(5)), rule1_allowed=0).passed is None


# §3.3 Wilson and separation


@pytest.mark.parametrize(
    ("k", "n", "z", "low", "high"),
    [
        (9, 10, 1.96, 0.596, 0.982),
        (18, 20, 1.96, 0.699, 0.972),
        (7, 12, 1.96, 0.320, 0.807),
        (8, 16, 3, 0.200, 0.800),
        (15, 40, 3, 0.189, 0.607),
    ],
)
def test_wilson_matches_the_test_vectors(k: int, n: int, z: float, low: float, high: float) -> None:
    interval = wilson(k, n, z)
    assert (round(interval.low, 3), round(interval.high, 3)) == (low, high)
    assert interval.estimate == k / n


def test_wilson_stays_inside_zero_one_and_rejects_bad_counts() -> None:
    assert wilson(0, 5).low == 0.0
    assert wilson(5, 5).high == 1.0
    assert 0 < wilson(0, 5).high < 1
    for k, n in [(1, 0), (6, 5), (-1, 5)]:
        with pytest.raises(ValueError):
            wilson(k, n)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10 (95%).
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ],
)
def test_newcombe_difference_interval_matches_the_published_values(
    counts: tuple[int, int, int, int], expected: tuple[float, float]
) -> None:
    got = newcombe(*counts, z=1.959964)
    assert got.estimate == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (got.low, got.high) == pytest.approx(expected, abs=5e-5)


def test_separation_accounts_for_the_baseline_noise() -> None:
    # 6/16 now vs 6/48 before: the current Wilson bound (z=3) is .126 > .125, so comparing with
    # the base rate as if exact would call it separated; the difference interval is [-.071, .599].
    assert wilson(6, 16, 3.0).low > 6 / 48
    assert not separated_high(6, 16, 6, 48, 3.0)
    # S2's spike at full strength (15/40 vs 18/120): [.0028, .468], just separated.
    assert separated_high(15, 40, 18, 120, 3.0)
    assert not separated_high(14, 40, 18, 120, 3.0)
    # S3's CSAT drop (89/120 vs 317/360): [-.279, -.022], separated below.
    assert separated_low(89, 120, 317, 360, 3.0)
    assert not separated_low(95, 120, 317, 360, 3.0)
    assert not separated_low(317, 360, 89, 120, 3.0)
    assert credibly_below(8, 16, 0.81, 3.0)
    assert not credibly_below(8, 16, 0.80, 3.0)


def test_separation_is_strict_at_the_bound() -> None:
    # A zero rate's Wilson interval starts exactly at 0, and a full rate's ends exactly at 1.
    # Computed naively, 0/20 at z=3 and 21/21 at z=1.96 land a rounding error inside.
    assert not separated_high(0, 20, 0, 40)
    assert not separated_low(21, 21, 40, 40, 1.96)
    assert not credibly_below(21, 21, 1.0, 1.96)
    assert (wilson(0, 11).low, wilson(6, 6).high) == (0.0, 1.0)


def test_separation_gates_default_to_z_flag() -> None:
    # 12/40 vs 18/120: the difference interval starts at +.009 at z=1.96 and -.054 at z=3.
    assert separated_high(12, 40, 18, 120, 1.96)
    assert not separated_high(12, 40, 18, 120)
    assert credibly_below(15, 40, 0.55, 1.96)
    assert not credibly_below(15, 40, 0.55)


# §3.3 NPS


def test_nps_matches_the_test_vector() -> None:
    result = nps(12, 4, 20)
    assert result.score == 40
    assert (round(result.low, 1), round(result.high, 1)) == (2.1, 67.5)


def test_nps_interval_is_clipped_to_the_scale() -> None:
    assert nps(100, 0, 100).high == 100.0
    assert nps(0, 100, 100).low == -100.0
    with pytest.raises(ValueError):
        nps(12, 10, 20)


# §3.3 p-chart with Laney widening


def test_p_chart_without_widening_keeps_plain_limits() -> None:
    chart = p_chart([(10, 100)] * 6, [(18, 100), (20, 100), (1, 100)])
    assert chart.p_bar == pytest.approx(0.1)
    assert chart.sigma_z == 0.0  # no dispersion at all: sigma_z < 1 must not narrow the limits
    assert chart.widening == 1.0
    assert [round(p.ucl, 4) for p in chart.points] == [0.19] * 3
    assert [round(p.lcl, 4) for p in chart.points] == [0.01] * 3
    assert chart.signals == (Signal(1, 1, "upper"),)


def test_p_chart_laney_widens_overdispersed_limits() -> None:
    baseline = [(5, 100), (15, 100)] * 4
    chart = p_chart(baseline, [(30, 100), (40, 100)])
    # z alternates ±5/3, so mR̄(z) = 10/3 and sigma_z = (10/3)/1.128.
    assert chart.sigma_z == pytest.approx(10 / 3 / 1.128)
    assert chart.widening == chart.sigma_z
    assert chart.points[0].ucl == pytest.approx(0.1 + 3 * 0.03 * chart.widening)
    assert chart.signals == (Signal(1, 1, "upper"),)
    plain = p_chart([(10, 100)] * 8, [(30, 100), (40, 100)])
    assert plain.signals == (Signal(0, 1, "upper"), Signal(1, 1, "upper"))


def test_p_chart_rule2_on_the_unfavourable_side_only() -> None:
    # p̄ = .1, n = 100: 2 sigma = .16, 3 sigma = .19.
    base = [(10, 100)] * 6
    up = p_chart(base, [(17, 100), (12, 100), (18, 100)])
    assert up.signals == (Signal(2, 2, "upper"),)
    down = [(3, 100), (12, 100), (3, 100)]
    assert p_chart(base, down).signals == ()
    both = p_chart(base, down, sides=("upper", "lower"))
    assert both.signals == (Signal(2, 2, "lower"),)
    assert p_chart(base, [(17, 100), (12, 100), (18, 100)], rules=[1]).signals == ()


def test_p_chart_skips_small_weeks_in_both_windows() -> None:
    # p̄ = .1, n = 100: 2 sigma = .16. Counted, (0, 4) would break the rule-2 window and (4, 4)
    # would fire rule 1.
    current = [(17, 100), (12, 100), (0, 4), (18, 100), (4, 4)]
    chart = p_chart([(10, 100), (4, 4)], current)
    assert chart.p_bar == pytest.approx(0.1)
    assert chart.skipped == (2, 4)
    assert [p.index for p in chart.points] == [0, 1, 3]
    # Consecutive points skip the small week, and signals keep the input week positions.
    assert chart.signals == (Signal(3, 2, "upper"),)
    assert chart.points[2].signals == (Signal(3, 2, "upper"),)


def test_p_chart_clips_limits_to_zero_one() -> None:
    low = p_chart([(1, 10)] * 4, [(0, 5)])
    assert low.points[0].lcl == 0.0
    high = p_chart([(9, 10)] * 4, [(5, 5)])
    assert high.points[0].ucl == 1.0
    assert high.signals == ()


def test_p_chart_needs_a_usable_baseline_week() -> None:
    with pytest.raises(ValueError):
        p_chart([(1, 4)], [(1, 10)])


# §3.4 Mann-Kendall and Theil-Sen


def test_mann_kendall_matches_the_test_vector() -> None:
    result = trend(list(enumerate(MK_VECTOR)))
    assert result is not None
    assert result.s == -56
    assert round(result.var_s, 2) == 212.67
    assert round(result.z, 2) == -3.77
    assert round(result.p, 5) == 0.00016
    assert round(result.slope, 2) == -0.15
    assert result.relative_slope is not None
    assert round(abs(result.relative_slope) * 100, 1) == 1.6


def test_mann_kendall_tie_correction_by_hand() -> None:
    # S = 6 + 2 + 3 = 11; Var = (6·5·17 - 2·1·9 - 3·2·11)/18 = 426/18; Z = 10/√Var.
    result = mann_kendall([1, 1, 2, 2, 2, 3])
    assert result.s == 11
    assert result.var_s == pytest.approx(426 / 18)
    assert result.z == pytest.approx(10 / math.sqrt(426 / 18))
    assert result.p == pytest.approx(2 * (1 - normal_cdf(result.z)))
    assert round(result.p, 4) == 0.0398


def test_mann_kendall_without_trend() -> None:
    flat = mann_kendall([1, 2, 2, 1])
    assert (flat.s, flat.z, flat.p) == (0, 0.0, 1.0)
    tied = mann_kendall([3, 3, 3])
    assert (tied.var_s, tied.p) == (0.0, 1.0)


def test_trend_needs_min_points_and_orders_by_week() -> None:
    series = list(enumerate(MK_VECTOR))
    assert trend(series[:11]) is None
    assert trend(series[:11], min_points=11) is not None
    shuffled = series[:]
    random.Random(7).shuffle(shuffled)
    assert trend(shuffled) == trend(series)


def test_theil_sen_uses_the_week_index() -> None:
    gaps = [(0, 1.0), (2, 5.0), (3, 7.0), (7, 15.0)]  # y = 2w + 1 with weeks missing
    assert theil_sen(gaps) == pytest.approx(2.0)
    assert theil_sen([(0, 0.0), (1, 1.0), (2, 0.0)]) == 0.0
    # Six slopes -1, .5, 2/3, 1, 1.5, 2: an even count takes the mean of the middle two.
    assert theil_sen([(0, 0.0), (1, 1.0), (2, 3.0), (3, 2.0)]) == pytest.approx(5 / 6)
    with pytest.raises(ValueError):
        theil_sen([(1, 1.0), (1, 2.0)])


def test_normal_distribution_helpers() -> None:
    assert normal_cdf(0.0) == 0.5
    assert round(normal_cdf(1.96), 4) == 0.975
    assert normal_sf(1.96) == pytest.approx(1 - normal_cdf(1.96))
    assert 0 < normal_sf(10.0) < 1e-20


# §3.5 one-sided Mann-Whitney U


def test_midranks_average_ties() -> None:
    ranks, groups = midranks([3.0, 1.0, 3.0, 2.0])
    assert ranks == [3.5, 1.0, 3.5, 2.0]
    assert groups == [1, 1, 2]


def test_mann_whitney_by_hand_with_a_tie() -> None:
    # Ranks of 1,2,3,3,4,5 are 1,2,3.5,3.5,5,6; R_cur = 14.5, U = 14.5 - 6 = 8.5, μ = 4.5.
    # Var = 9/12·(7 - (2³-2)/30) = 5.1; z = (8.5 - 4.5 - 0.5)/√5.1.
    result = mann_whitney_greater([3, 4, 5], [1, 2, 3])
    assert result.u == 8.5
    assert result.z == pytest.approx(3.5 / math.sqrt(5.1))
    assert round(result.p, 4) == 0.0606
    assert (result.n_current, result.n_baseline) == (3, 3)


def test_mann_whitney_by_hand_without_ties() -> None:
    # U = 9 (every pair), Var = 9/12·7 = 5.25, z = 4/√5.25.
    result = mann_whitney_greater([4, 5, 6], [1, 2, 3])
    assert result.u == 9
    assert result.z == pytest.approx(4 / math.sqrt(5.25))
    assert round(result.p, 4) == 0.0404


def test_mann_whitney_is_one_sided_and_symmetric() -> None:
    a, b = [5.0, 6.0, 7.0, 8.0, 2.0], [1.0, 2.0, 3.0, 4.0]
    ab, ba = mann_whitney_greater(a, b), mann_whitney_greater(b, a)
    assert ab.u + ba.u == len(a) * len(b)
    assert ab.p < 0.05 < 0.95 < ba.p
    # The continuity correction pulls both directions toward the mean, so the z's sum to -1/sigma.
    var = len(a) * len(b) / 12 * (10 - 6 / 72)
    assert ab.z + ba.z == pytest.approx(-1 / math.sqrt(var))


def test_mann_whitney_identical_samples_show_no_evidence() -> None:
    same = mann_whitney_greater([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.u == 4.5
    assert same.z < 0
    assert same.p > 0.5
    tied = mann_whitney_greater([2.0, 2.0], [2.0, 2.0, 2.0])
    assert (tied.u, tied.z, tied.p) == (3.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        mann_whitney_greater([], [1.0])


def test_gehan_by_hand_with_a_censored_value() -> None:
    # Pooled 4, 6+ (still open), 1, 5. Scores (certainly above - certainly below): 4 -> 1 - 2,
    # 6+ -> 3 - 0 (nothing is certainly above a lower bound), 1 -> 0 - 3, 5 -> 2 - 1.
    # W = -1 + 3 = 2; Var = 2·2/(4·3)·(1 + 9 + 9 + 1) = 20/3; z = (2 - 1)/√(20/3).
    result = gehan_greater([(4.0, False), (6.0, True)], [1.0, 5.0])
    assert result.u == 3.0  # (W + n1·n2)/2
    assert result.z == pytest.approx(1 / math.sqrt(20 / 3))
    assert round(result.p, 3) == 0.349


def test_gehan_without_censoring_is_mann_whitney() -> None:
    rng = random.Random(4)
    for _ in range(20):
        cur = [round(rng.lognormvariate(0.3, 0.6), 1) for _ in range(rng.randint(3, 12))]
        base = [round(rng.lognormvariate(0, 0.6), 1) for _ in range(rng.randint(5, 30))]
        mw, gehan = mann_whitney_greater(cur, base), gehan_greater([(v, False) for v in cur], base)
        assert (gehan.u, gehan.p) == (pytest.approx(mw.u), pytest.approx(mw.p))


def test_gehan_counts_long_open_items_as_evidence() -> None:
    base = [5.0 + 0.1 * (i % 5) for i in range(20)]
    done = [(7.5, False)] * 4 + [(5.1, False)] * 4
    assert gehan_greater(done, base).p > 0.01
    assert gehan_greater(done + [(33.0, True)] * 4, base).p < 0.01
    # Items opened yesterday say almost nothing.
    assert gehan_greater(done + [(1.0, True)] * 4, base).p > 0.01


def test_kaplan_meier_median() -> None:
    assert km_median([(1.0, False), (2.0, True), (3.0, False), (4.0, False)]) == 3.0
    assert km_median([(1.0, False), (2.0, False), (3.0, False), (4.0, False)]) == 2.0
    assert km_median([(2.0, False), (2.0, False), (3.0, True)]) == 2.0
    assert km_median([(5.0, True), (6.0, True)]) == 6.0  # a lower bound
    with pytest.raises(ValueError):
        km_median([])
