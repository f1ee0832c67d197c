"""Threads: fastact against PyTorch with one thread and with every core.

The headline comparisons (test_throughput) are single-thread for everyone; this
group shows what a user with all cores gets.  fastact's kernels run on one thread
until its parallel variant lands; PyTorch is measured pinned to 1 thread and with
all threads.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastact
from fastact.peers import regime_input

_SIZE = 10_000_000
_CORES = os.cpu_count() or 1
_CASES = [
    (name, impl, dtype)
    for act in fastact.REGISTRY.values()
    if act.transcendental
    for name in (act.name, act.name + "_backward")
    for impl in ("fastact", "torch-1-thread", f"torch-{_CORES}-threads")
    for dtype in ("float32", "float64")
]


@pytest.mark.parametrize("size", [1000, _SIZE])
@pytest.mark.parametrize(("function", "impl", "dtype"), _CASES)
@pytest.mark.benchmark(group="threads", max_time=0.25, min_rounds=5)
def test_threads(benchmark, function, impl, dtype, size):
    x = regime_input("central", size, dtype, seed=1)
    g = regime_input("central", size, dtype, seed=2)
    out = np.empty_like(x)
    benchmark.group = f"threads {function} {dtype} n={size}"
    benchmark.extra_info.update(function=function, impl=impl, dtype=dtype, size=size, regime="central")
    if impl == "fastact":
        fn = getattr(fastact.ufuncs, function)
        args = (g, x) if function.endswith("_backward") else (x,)
        benchmark(fn, *args, out=out)
        return
    torch = pytest.importorskip("torch")
    threads = 1 if impl == "torch-1-thread" else _CORES
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        tx, tg, to = torch.from_numpy(x), torch.from_numpy(g), torch.from_numpy(out)
        forward = {"sigmoid": torch.sigmoid, "tanh": torch.tanh}[function.removesuffix("_backward")]
        if function.endswith("_backward"):
            back = {"sigmoid": torch.ops.aten.sigmoid_backward, "tanh": torch.ops.aten.tanh_backward}[
                function.removesuffix("_backward")
            ]
            buf = torch.empty_like(tx)
            benchmark(lambda: back.grad_input(tg, forward(tx, out=buf), grad_input=to))
        else:
            benchmark(forward, tx, out=to)
    finally:
        torch.set_num_threads(previous)
