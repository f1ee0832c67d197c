"""Best-of-N wall-clock timing shared by ``python -m fastact`` and ``bench/compare.py``."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(fn: Callable[[], object], budget: float = 0.5, max_reps: int = 50) -> float:
    """Minimum wall time of ``fn()`` in seconds, after one warm-up call.

    The minimum is the least noisy estimator of the uncontended cost; the number of
    repetitions adapts so that one measurement takes about ``budget`` seconds.
    """
    fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    reps = max(3, min(max_reps, int(budget / max(once, 1e-7))))
    best = once
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def best_times(fns: dict[str, Callable[[], object]], budget: float = 1.0, max_rounds: int = 60) -> dict[str, float]:
    """Minimum wall time of each of ``fns``, measured in interleaved rounds.

    One call of every function per round, round after round: a shared machine's
    slow phases then hit every contender alike instead of whichever happened to
    be measured at the time, which is what makes the ratios between them fair.
    """
    once = {name: best_time(fn, budget=0, max_reps=1) for name, fn in fns.items()}
    rounds = max(3, min(max_rounds, int(budget / max(sum(once.values()), 1e-7))))
    best = dict(once)
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best
