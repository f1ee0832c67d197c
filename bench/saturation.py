"""Saturation does not cost speed: each fastact kernel's throughput per input regime,
relative to the central N(0,1) regime, measured in interleaved rounds.

Usage:  python bench/saturation.py [--size 1000000] [--budget 1.0]

The kernels are branch-free, so only hardware effects could make a regime slower:
subnormal operands (microcode assists) or slow NaN paths.  The exception: the
block kernels branch once per 16 values, and blocks holding any value outside
their short path's range take a general path (the float32 sigmoid's: |x| > 27,
NaN or infinity, 6 more vector instructions of 44); blocks of saturated inputs
only (|x| >= 21) skip the division in the float32 sigmoid and silu (sigmoid:
0.87, 0.90 and 0.86 of central for wide, saturated and special inputs).  Interleaving the four
regimes round by round keeps a shared machine's slow phases from being read as
a regime effect.  Target: every ratio >= 0.85.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("FASTACT_NUM_THREADS", "1")  # single thread (set_num_threads for more)

import numpy as np  # noqa: E402

import fastact  # noqa: E402
from fastact._timing import best_times  # noqa: E402
from fastact.peers import REGIMES, regime_input  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per kernel and dtype")
    a = ap.parse_args(argv)
    print(f"{'kernel':22} {'dtype':8} " + " ".join(f"{r:>10}" for r in REGIMES[1:]))
    worst = float("inf")
    for act in fastact.REGISTRY.values():
        for name in act.public_names:
            fn = getattr(fastact.ufuncs, name)
            for dtype in ("float32", "float64"):
                g = regime_input("central", a.size, dtype, seed=2)
                out = np.empty(a.size, dtype)
                calls = {}
                for regime in REGIMES:
                    x = regime_input(regime, a.size, dtype, seed=1)
                    args = ((g, x) if name.endswith("_backward") else (x,)) + act.param_defaults
                    calls[regime] = lambda args=args: fn(*args, out=out)
                t = best_times(calls, a.budget)
                ratios = [t["central"] / t[r] for r in REGIMES[1:]]
                worst = min(worst, *ratios)
                print(f"{name:22} {dtype:8} " + " ".join(f"{v:>10.2f}" for v in ratios), flush=True)
    print(f"\nlowest throughput ratio to central: {worst:.2f} (target >= 0.85)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
