"""Scaling table: fastact on every core against one thread, PyTorch with all threads,
and a Dask cluster pipeline.  One run, interleaved timing; ratios only.

Usage:  python bench/scaling.py [--size 10000000] [--small 1000] [--dask-size 100000000] [--no-dask]

1. For every public function and dtype at ``--size``: single-thread time / all-cores
   time (the parallel speed-up; target >= 1.7x for the exp-based kernels on 2
   cores), and fastact all cores against PyTorch with all threads (< 1.0: fastact
   faster).
2. At ``--small`` elements: fastact with all cores enabled against one thread
   (the threshold keeps small calls on the calling thread: ratio ~1.00).
3. Dask: a ``LocalCluster(processes=True, n_workers=2)``, a float32 array of
   ``--dask-size`` elements persisted on the workers, then
   ``fastact.sigmoid(x).sum()`` against ``(1 / (1 + da.exp(-x))).sum()``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numba
import numpy as np

import fastact as fa
from fastact._timing import best_times
from fastact.peers import peers


def _inputs(n: int, dtype: str):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 4).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    return x, g, np.empty_like(x)


def threads_table(size: int, small: int, budget: float) -> None:
    pool = numba.config.NUMBA_NUM_THREADS
    torch_all = None
    try:
        import torch

        torch_all = os.cpu_count() or 1
    except ImportError:
        pass
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, fastact threads {pool} "
          f"({numba.threading_layer() if _layer_started() else 'layer not started'}), "
          f"torch threads {torch_all}")
    print(f"{'kernel':22} {'dtype':8} {'1-thread/all n=' + str(size):>22} {'fastact/torch-all':>18} "
          f"{'all/1-thread n=' + str(small):>22}")
    worst_exp_speedup, worst_small = float("inf"), 0.0
    for act in fa.REGISTRY.values():
        for name in act.public_names:
            fn = getattr(fa.ufuncs, name)
            for dtype in ("float32", "float64"):
                row = {}
                for n in (size, small):
                    x, g, out = _inputs(n, dtype)
                    args = ((g, x) if name.endswith("_backward") else (x,)) + act.param_defaults

                    # small arrays: many calls per sample, so that the timer and
                    # the thread setting are not what is measured
                    reps = max(1, 100_000 // n)

                    def one(args=args, out=out, reps=reps):
                        fa.set_num_threads(1)
                        for _ in range(reps):
                            fn(*args, out=out)

                    def every(args=args, out=out, reps=reps):
                        fa.set_num_threads(pool)
                        for _ in range(reps):
                            fn(*args, out=out)

                    contenders = {"one": one, "all": every}
                    if n == size and torch_all and "torch" in peers(name):
                        make = peers(name)["torch"](x, g, out, *act.param_defaults)

                        def torch_call(make=make):
                            torch.set_num_threads(torch_all)
                            make()

                        contenders["torch"] = torch_call
                    # rounds bounded by the budget, not by a count: a 1000-element
                    # case needs hundreds of rounds before its minimum settles
                    t = best_times(contenders, budget * len(contenders), max_rounds=2000)
                    row[n] = t
                fa.set_num_threads(pool)
                speedup = row[size]["one"] / row[size]["all"]
                vs_torch = row[size]["all"] / row[size]["torch"] if "torch" in row[size] else float("nan")
                small_ratio = row[small]["all"] / row[small]["one"]
                if act.transcendental:
                    worst_exp_speedup = min(worst_exp_speedup, speedup)
                worst_small = max(worst_small, small_ratio)
                print(f"{name:22} {dtype:8} {speedup:>22.2f} {vs_torch:>18.2f} {small_ratio:>22.2f}", flush=True)
    print(f"\nworst parallel speed-up of an exp-based kernel: {worst_exp_speedup:.2f}x; "
          f"worst small-array ratio (all/1-thread): {worst_small:.2f}")


def _layer_started() -> bool:
    try:
        numba.threading_layer()
        return True
    except ValueError:
        return False


def dask_table(size: int, repeats: int) -> None:
    import dask.array as da
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        x = (da.random.default_rng(0).standard_normal(size, chunks=size // 16).astype(np.float32) * 4).persist()
        client.compute(fa.sigmoid(x[:1000]).sum()).result()  # workers import fastact, load its kernels
        pipelines = {
            "fastact.sigmoid(x).sum()": lambda: fa.sigmoid(x).sum(),
            "(1 / (1 + da.exp(-x))).sum()": lambda: (1 / (1 + da.exp(-x))).sum(),
        }
        best = {k: float("inf") for k in pipelines}
        for _ in range(repeats):  # interleaved
            for label, build in pipelines.items():
                t0 = time.perf_counter()
                client.compute(build()).result()
                best[label] = min(best[label], time.perf_counter() - t0)
    base = best["(1 / (1 + da.exp(-x))).sum()"]
    print(f"\n# Dask LocalCluster(processes=True, n_workers=2, threads_per_worker=1), float32 n={size}, "
          f"persisted; best of {repeats}")
    for label, t in best.items():
        print(f"{label:32} {t / base:6.2f}  (relative to the NumPy formula)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=10_000_000)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--budget", type=float, default=1.0, help="seconds per contender and case")
    ap.add_argument("--dask-size", type=int, default=100_000_000)
    ap.add_argument("--dask-repeats", type=int, default=5)
    ap.add_argument("--no-dask", action="store_true")
    a = ap.parse_args(argv)
    fa.ufuncs.build_all()
    fa.sigmoid(np.ones(1 << 20, np.float32))  # start the threading layer
    threads_table(a.size, a.small, a.budget)
    if not a.no_dask:
        dask_table(a.dask_size, a.dask_repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
