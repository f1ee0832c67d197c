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


def interleaved_samples(
    fns: dict[str, Callable[[], object]], budget: float = 1.0, max_rounds: int = 60, min_rounds: int = 3
) -> dict[str, list[float]]:
    """Wall times in seconds of each of ``fns``, measured in interleaved rounds.

    Every function is called once to warm up (JIT, page faults, lazy imports), then
    timed once; the number of rounds is chosen from those times so that the whole
    measurement takes about ``budget`` seconds (``min_rounds`` to ``max_rounds``).
    One call of every function per round, round after round: a shared machine's
    slow phases then hit every contender alike instead of whichever happened to
    be measured at the time, which is what makes the ratios between them fair.
    Returns ``1 + rounds`` samples per function.
    """
    samples: dict[str, list[float]] = {}
    for name, fn in fns.items():
        fn()
        t0 = time.perf_counter()
        fn()
        samples[name] = [time.perf_counter() - t0]
    once = sum(ts[0] for ts in samples.values())
    rounds = max(min_rounds, min(max_rounds, int(budget / max(once, 1e-7))))
    # Each round starts one contender later: a call that leaves something behind
    # (numexpr's and PyTorch's worker threads spin for a while after returning,
    # on a core that may share the caller's physical core) then disturbs every
    # contender in turn, not always the one that happens to follow it.
    items = list(fns.items())
    for r in range(rounds):
        for name, fn in items[r % len(items):] + items[: r % len(items)]:
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return samples


def best_times(fns: dict[str, Callable[[], object]], budget: float = 1.0, max_rounds: int = 60) -> dict[str, float]:
    """Minimum wall time of each of ``fns``, measured in interleaved rounds
    (:func:`interleaved_samples`)."""
    return {name: min(ts) for name, ts in interleaved_samples(fns, budget, max_rounds).items()}
