"""Measure, per ufunc loop, the array size from which several threads pay off.

For every fastact ufunc and dtype, time the loop on one thread and on all of
Numba's threads (the parallel path forced on), in interleaved rounds, at sizes
2^10 ... 2^22.  The threshold is the smallest measured size from which the parallel
call is at least ``--gain`` times faster at that size and every larger one.
Writes ``fastact/parallel_thresholds.json``, which the loops read when they are
built.  Run on a quiet machine:

    python tools/parallel_threshold.py [--gain 1.1] [--budget 0.04]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np

import fastact
from fastact import _parallel
from fastact._registry import LOOP_RECORDS
from fastact._timing import best_times

SIZES = [2**k for k in range(10, 23)]
#: never below this: waking a second thread costs a few microseconds on a quiet
#: machine but far more when the other core is busy, and below ~16k elements
#: (~5-20 us of work) that risk buys little
FLOOR = 2**14


def _args(ufunc: np.ufunc, dtype: str, size: int, params: tuple) -> tuple:
    rng = np.random.default_rng(size)
    arrays = [(rng.standard_normal(size) * 4).astype(dtype) for _ in range(ufunc.nin - len(params))]
    return (*arrays, *(np.dtype(dtype).type(p) for p in params))


def _threshold(speedups: list[float], gain: float) -> int:
    """The smallest size (at least FLOOR) whose speed-up, and the next size's, reach ``gain``.

    Two sizes in a row, because one noisy round on a shared machine can fake or
    hide a gain; larger sizes are not required to keep it (a pause of the other
    core during one measurement is not a property of the kernel).
    """
    for i, size in enumerate(SIZES[:-1]):
        if size >= FLOOR and speedups[i] >= gain and speedups[i + 1] >= gain:
            return size
    return SIZES[-1] * 4


def measure(gain: float, budget: float) -> dict[str, dict]:
    fastact.ufuncs.build_all()
    pool = numba.config.NUMBA_NUM_THREADS
    results = {}
    for act in fastact.REGISTRY.values():
        for name in act.public_names:
            ufunc = getattr(fastact.ufuncs, name)
            for dtype in ("float32", "float64"):
                speedups = []
                for size in SIZES:
                    args = _args(ufunc, dtype, size, act.param_defaults)
                    out = np.empty(size, dtype)

                    def single(ufunc=ufunc, args=args, out=out):
                        _parallel._STATE[0] = 1
                        ufunc(*args, out=out)

                    def parallel(ufunc=ufunc, args=args, out=out):
                        _parallel._STATE[0] = pool
                        ufunc(*args, out=out)

                    t = best_times({"single": single, "parallel": parallel}, budget)
                    speedups.append(t["single"] / t["parallel"])
                threshold = _threshold(speedups, gain)
                results[f"{name}/{dtype}"] = {
                    "threshold": threshold if threshold is not None else SIZES[-1] * 4,
                    "speedup": {str(s): round(v, 3) for s, v in zip(SIZES, speedups, strict=True)},
                }
                print(f"{name:24} {dtype:8} threshold {results[f'{name}/{dtype}']['threshold']:>9}  "
                      + " ".join(f"{v:.2f}" for v in speedups), flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gain", type=float, default=1.1, help="speed-up the parallel call must reach")
    ap.add_argument("--budget", type=float, default=0.04, help="seconds of timing per size")
    ap.add_argument("--out", default=str(Path(_parallel.__file__).with_name("parallel_thresholds.json")))
    a = ap.parse_args()
    fastact.ufuncs.build_all()
    for record in LOOP_RECORDS.values():
        _parallel.set_threshold(record, 1)  # only the thread count decides below
    saved = _parallel._STATE[0]
    try:
        results = measure(a.gain, a.budget)
    finally:
        _parallel._STATE[0] = saved
    doc = {
        "method": (f"smallest size 2^k >= {FLOOR} at which {numba.config.NUMBA_NUM_THREADS} threads are >= "
                   f"{a.gain}x faster than 1, at that size and the next; tools/parallel_threshold.py"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "thresholds": {key: r["threshold"] for key, r in results.items()},
        "speedups": {key: r["speedup"] for key, r in results.items()},
    }
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
