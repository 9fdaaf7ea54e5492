"""The seed sweep of METRICS.md §7: each scenario over many seeds, counted against the rule that
every must-raise check holds in at least 18 of 20 seeds and every must-not flag fires in at most 2.

    .venv/bin/python -m tests.scenario_sweep [--seeds 20] [--first-seed 0] [--scenarios S1 ...]
                                             [--jobs 2] [--out .opspulse/sweep]

Each (scenario, seed) is imported with the real loader and replayed night by night (as in
tests/test_scenario_flags.py), on the Tuesday and Wednesday of every week inside its must-raise
window (and every night of S1's whole window and of S3's first four weeks, whose escalations count
14 days of evaluations) and of every fourth week from 16 to 52 (a night costs about a second, so
the sweep samples the year more sparsely than the single-seed test). Results are kept per (scenario, seed) in --out,
so an interrupted sweep resumes; the table at the end counts them. Beside each result, a trace
(`S1-<seed>.trace.json`) keeps every active flag record (status, severity, trigger, sub-rules) and
each process's maturity per night, to explain a count. Exit status 1 when a row breaks the rule.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tests.scenario_nights import (
    FRT_TARGETS,
    O_FLAGS,
    OWNER,
    PROCESSES,
    SEED,
    NightLog,
    evaluation_nights,
    fired,
    week_night,
    within,
)

RAISE_MIN, NOT_MAX, SEEDS = 18, 2, 20


@dataclass(frozen=True)
class Check:
    """One row of the sweep: a must-raise check (holds) or a must-not flag (fired)."""

    label: str
    must: str  # "raise" or "not"
    test: Callable[[NightLog], bool]


def _raise(label: str, test: Callable[[NightLog], bool]) -> Check:
    return Check(label, "raise", test)


def _not(process: str, flag: str, *, sub: str | None = None) -> Check:
    name = f"{flag}({sub})" if sub else flag
    return Check(f"{process}: {name}", "not", lambda log: bool(fired(log, flag, process, sub=sub)))


def _level(process: str, week_no: int, level: int, confidence: str) -> Callable[[NightLog], bool]:
    def test(log: NightLog) -> bool:
        nights = [n for n in log.maturity if (n - week_night(1, 0)).days // 7 + 1 <= week_no]
        if not nights:
            return False
        m = log.maturity[max(nights)].get(process)
        return m is not None and (m["level"], m["confidence"]) == (level, confidence)

    return test


def _no_escalation(log: NightLog) -> bool:
    return any(v[2] == "escalation" for flags in log.states.values() for v in flags.values())


def checks(name: str) -> list[Check]:
    """The §7 table's rows for one scenario, plus every companion's O-flags as must-not."""
    p, companions = PROCESSES[name][0], PROCESSES[name][1:]
    rows: list[Check]
    if name == "S1":
        rows = [
            _raise("O1 high (33-40)", lambda g: within(fired(g, "O1", p, severity="high"), 33, 40)),
            _raise(
                "O4 high on Access setup (33-40)",
                lambda g: within(fired(g, "O4", p, dim="Access setup", severity="high"), 33, 40),
            ),
            _raise(
                "O7 via (c) (33-40)",
                lambda g: within(fired(g, "O7", p, dim=OWNER, sub="c"), 33, 40),
            ),
            _raise(
                "T3 escalated into O4 Access setup (32-40)",
                lambda g: within(fired(g, "O4", p, dim="Access setup", sub="escalation"), 32, 40),
            ),
            *(_not(p, f) for f in ("O2", "O3", "O5", "O6", "O11", "O12", "O13", "O14")),
            _not(p, "O7", sub="a"),
        ]
    elif name == "S2":
        rows = [
            _raise("O2 (23-28)", lambda g: within(fired(g, "O2", p), 23, 28)),
            _raise("O3 (24-30)", lambda g: within(fired(g, "O3", p), 24, 30)),
            *(_not(p, f) for f in ("O4", "O6", "O7", "O8", "O10", "O11", "O12", "O13", "O14")),
        ]
    elif name == "S3":
        rows = [
            _raise(
                "O11 critical (42-45)",
                lambda g: within(fired(g, "O11", p, severity="critical"), 42, 45),
            ),
            _raise("O3 (41-46)", lambda g: within(fired(g, "O3", p), 41, 46)),
            _raise("T5 escalated into O11", lambda g: bool(fired(g, "O11", p, sub="escalation"))),
            *(_not(p, f) for f in ("O2", "O6", "O7", "O10", "O12", "O13", "O14")),
        ]
    elif name == "S4":
        rows = [
            _raise("L5 high at week 36", _level(p, 36, 5, "high")),
            *(_not(p, f) for f in O_FLAGS),
        ]
    elif name == "S5":
        rows = [
            _raise("L1 low at week 52", _level(p, 52, 1, "low")),
            _raise("O6 firing by the last run", lambda g: 52 in fired(g, "O6", p)),
            *(_not(p, f) for f in O_FLAGS if f != "O6"),
        ]
    elif name == "S6":
        rows = [
            _raise("L4 high at week 52", _level(p, 52, 4, "high")),
            *(_not(p, f) for f in O_FLAGS),
            Check("no escalation", "not", _no_escalation),
        ]
    else:  # S7: every process is noise only
        rows = [
            _raise(
                "T1 at least once",
                lambda g: any(k[0] == "T1" for f in g.states.values() for k in f),
            ),
            *(_not(q, f) for q in (p, *companions) for f in O_FLAGS),
            Check("no escalation", "not", _no_escalation),
        ]
        companions = ()
    return rows + [_not(q, f) for q in companions for f in O_FLAGS]


# Weeks of nightly evaluation at the start of the must-raise window. S1's escalation counts the
# T3 items of 14 days of nightly runs, and its owner's backlog can build late in the window: with
# Tuesdays and Wednesdays only, an item stale from Thursday to Monday was never recorded, and the
# sweep missed escalations a nightly run makes (seeds 12 and 17 at 20 seeds).
NIGHTLY_WEEKS = {"S1": 9, "S3": 4}


def sweep_nights(name: str) -> list[date]:
    return evaluation_nights(name, range(16, 53, 4), nightly_weeks=NIGHTLY_WEEKS.get(name, 0))


def run_one(name: str, seed: int) -> tuple[dict[str, bool], dict[str, object]]:
    """Replay one scenario at one seed: each check's outcome (raise: held; not: fired), and the
    night log (every active flag record and each process's maturity, per night) to explain it."""
    from tests.scenario_nights import night_states

    with tempfile.TemporaryDirectory(prefix=f"opspulse-sweep-{name}-") as folder:
        log = night_states(name, seed, sweep_nights(name), Path(folder), FRT_TARGETS.get(name))
    trace = {
        str(night): {
            "flags": sorted([*key, *value] for key, value in log.states[night].items()),
            "maturity": {
                p: [m["level"], m["confidence"], m["criteria"]]
                for p, m in log.maturity.get(night, {}).items()
            },
        }
        for night in sorted(log.states)
    }
    return {c.label: c.test(log) for c in checks(name)}, trace


def _worker(name: str, seed: int, out: Path) -> tuple[str, int, float]:
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):  # the import's summary table, 140 times
        result, trace = run_one(name, seed)
    (out / f"{name}-{seed}.trace.json").write_text(json.dumps(trace, default=str))
    (out / f"{name}-{seed}.json").write_text(json.dumps(result, indent=1))
    return name, seed, time.monotonic() - started


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    """Set environment variables for the block (an existing value wins: a caller's own home)."""
    added = [k for k in values if k not in os.environ]
    os.environ.update({k: values[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def tally(out: Path, names: list[str], seeds: list[int]) -> tuple[list[str], bool]:
    """The table of counts over the finished seeds, and whether every row meets the rule."""
    lines, ok = [], True
    for name in names:
        done = [
            json.loads(f.read_text()) for s in seeds if (f := out / f"{name}-{s}.json").exists()
        ]
        if not done:
            continue
        n = len(done)
        lines.append(f"{name} ({n} seeds)")
        for c in checks(name):
            k = sum(1 for r in done if r.get(c.label))
            if c.must == "raise":
                need = -(-RAISE_MIN * n // SEEDS)  # 18 of 20, scaled to the seeds run
                good = k >= need
                lines.append(f"  {'ok ' if good else 'NO '} raise {k:>2}/{n}  {c.label}")
            else:
                good = k <= NOT_MAX * n // SEEDS
                if k or not good:
                    lines.append(f"  {'ok ' if good else 'NO '} fired {k:>2}/{n}  {c.label}")
            ok &= good
    return lines, ok


def seed_list(count: int, first: int = 0) -> list[int]:
    """The sweep's seeds: §7's seed and the ones after it, or (first > 0) a held-out block that
    no rule was tuned on, to check that a count is not an artefact of the seeds it was tuned on."""
    return [SEED + first + k for k in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--first-seed", type=int, default=0, help="offset of the first seed")
    parser.add_argument("--scenarios", nargs="+", default=sorted(PROCESSES))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(".opspulse/sweep"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = seed_list(args.seeds, args.first_seed)
    todo = [
        (n, s) for s in seeds for n in args.scenarios if not (args.out / f"{n}-{s}.json").exists()
    ]
    # Longest first (a run's cost follows its nights), so that no long run is left for the end
    # while the other worker idles.
    todo.sort(key=lambda job: -len(sweep_nights(job[0])))
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    started = time.monotonic()
    print(f"sweep: {len(todo)} scenario runs to do in {args.out}", file=sys.stderr, flush=True)
    # One Prefect home for every worker (they inherit the environment), removed at the end.
    with (
        tempfile.TemporaryDirectory(prefix="opspulse-sweep-prefect-") as prefect_home,
        _env(PREFECT_HOME=prefect_home),
        ProcessPoolExecutor(max_workers=args.jobs) as pool,
    ):
        futures = [pool.submit(_worker, n, s, args.out) for n, s in todo]
        for k, future in enumerate(as_completed(futures), 1):
            name, seed, seconds = future.result()
            minutes = (time.monotonic() - started) / 60
            print(f"[{k}/{len(todo)}] {name} seed {seed} in {seconds:.0f} s ({minutes:.1f} min "
                  "since the start)", file=sys.stderr, flush=True)  # fmt: skip
    lines, ok = tally(args.out, args.scenarios, seeds)
    print("\n".join(lines))
    print(f"sweep: {'every row meets' if ok else 'a row breaks'} the 18-of-20 / 2-of-20 rule")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
