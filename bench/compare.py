"""Core performance table: every fastact kernel against the fastest peer, one run.

Usage:  python bench/compare.py [--sizes 1000000,10000000]
                                [--dtypes float32,float64] [--names sigmoid,tanh]

--names takes registry names (``silu``: silu, silu_grad and silu_backward) or
public ones (``silu_grad``: that function alone).

Single thread for everyone (PyTorch is pinned to one thread).  For each public
function (forward, _grad, _backward), dtype and size: fastact's best time, the
fastest installed peer (numpy-reference, numpy-best, scipy, torch), measured in
interleaved rounds (fastact, peers and the copy alternate), their ratio
(< 1.0 means fastact is faster) and fastact's time as a multiple of a memory copy
of the same array (np.copyto: the physical limit).  Then the call overhead on a
1-element array against np.tanh's.  Ratios, never absolute times, are the claim.
"""

from __future__ import annotations

import argparse
import os
import platform

os.environ.setdefault("FASTACT_NUM_THREADS", "1")  # single thread (set_num_threads for more)

import numpy as np  # noqa: E402

import fastact as fa  # noqa: E402
from fastact._timing import best_time, best_times  # noqa: E402
from fastact.peers import peers  # noqa: E402


def _inputs(n: int, dtype: str):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    return x, g, np.empty_like(x)


def _selected(names: str, error) -> list[tuple]:
    """``(activation, public name)`` for each row group of ``--names``."""
    owner = {name: act for act in fa.REGISTRY.values() for name in act.public_names}
    chosen = []
    for name in names.split(","):
        if name in fa.REGISTRY:
            chosen += [(fa.REGISTRY[name], public) for public in fa.REGISTRY[name].public_names]
        elif name in owner:
            chosen.append((owner[name], name))
        else:
            error(f"--names: {name!r} is neither a registry name ({', '.join(fa.REGISTRY)}) nor a public one")
    return chosen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--names", default=",".join(fa.REGISTRY))
    ap.add_argument("--budget", type=float, default=0.5, help="seconds per measurement")
    a = ap.parse_args(argv)
    chosen = _selected(a.names, ap.error)
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, single thread")
    header = f"{'kernel':22} {'dtype':8} {'n':>9} {'best peer':>16} {'fastact/peer':>12} {'fastact/memcpy':>14}"
    print(header)
    worst = 0.0
    for act, name in chosen:
        fn = getattr(fa.ufuncs, name)
        for dtype in a.dtypes.split(","):
            for n in map(int, a.sizes.split(",")):
                x, g, out = _inputs(n, dtype)
                args = ((g, x) if name.endswith("_backward") else (x,)) + act.param_defaults
                contenders = {peer: make(x, g, out, *act.param_defaults) for peer, make in peers(name).items()}
                contenders["fastact"] = lambda: fn(*args, out=out)
                contenders["memcpy"] = lambda: np.copyto(out, x)
                times = best_times(contenders, a.budget * len(contenders))
                t_fa, t_copy = times.pop("fastact"), times.pop("memcpy")
                best = min(times, key=times.get)
                ratio = t_fa / times[best]
                worst = max(worst, ratio)
                print(f"{name:22} {dtype:8} {n:>9} {best:>16} {ratio:>12.2f} {t_fa / t_copy:>14.2f}", flush=True)
    x1 = np.ones(1)
    o1 = np.empty(1)
    t_tanh = best_time(lambda: np.tanh(x1, out=o1), 0.2)
    print("\n# call overhead on 1 element, relative to np.tanh(x, out=o)")
    for name in ("sigmoid", "tanh", "relu", "leaky_relu"):
        fn = getattr(fa, name)
        print(f"{name:22} {best_time(lambda: fn(x1, out=o1), 0.2) / t_tanh:6.2f}x")
    print(f"\nworst fastact/best-peer ratio: {worst:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
