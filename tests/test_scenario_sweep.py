"""The seed sweep's counting (the replays themselves run in `make sweep`)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.scenario_nights import WINDOWS, week_night
from tests.scenario_sweep import SEED, checks, seed_list, sweep_nights, tally


def _write(out: Path, results: list[dict[str, bool]]) -> list[int]:
    seeds = [SEED + k for k in range(len(results))]
    for seed, result in zip(seeds, results, strict=True):
        (out / f"S6-{seed}.json").write_text(json.dumps(result))
    return seeds


def test_tally_applies_18_of_20_and_2_of_20(tmp_path: Path) -> None:
    level, noisy = "L4 high at week 52", "Knowledge base: O2"
    assert {level, noisy} <= {c.label for c in checks("S6")}
    results = [{level: k < 18, noisy: k < 2} for k in range(20)]
    lines, ok = tally(tmp_path, ["S6"], _write(tmp_path, results))
    assert ok and f"  ok  raise 18/20  {level}" in lines and f"  ok  fired  2/20  {noisy}" in lines
    results = [{level: k < 17, noisy: k < 3} for k in range(20)]
    lines, ok = tally(tmp_path, ["S6"], _write(tmp_path, results))
    assert (
        not ok and f"  NO  raise 17/20  {level}" in lines and f"  NO  fired  3/20  {noisy}" in lines
    )


def test_sweep_nights_cover_every_must_raise_window() -> None:
    for name, (first, last) in WINDOWS.items():
        nights = set(sweep_nights(name))
        assert {week_night(w, d) for w in range(first, last + 1) for d in (1, 2)} <= nights
    s1, s3 = set(sweep_nights("S1")), set(sweep_nights("S3"))
    # Nightly through S1's whole window (its owner's backlog can build in the last weeks), and
    # through S3's first four weeks.
    assert {week_night(w, d) for w in range(32, 41) for d in range(7)} <= s1
    assert week_night(44, 4) in s3 and week_night(45, 4) not in s3


def test_seed_list_starts_at_the_scenario_seed_or_a_held_out_block() -> None:
    assert seed_list(20) == [SEED + k for k in range(20)]
    held_out = seed_list(20, 20)
    assert (
        held_out[0] == SEED + 20 and len(held_out) == 20 and not set(held_out) & set(seed_list(20))
    )
