"""Threads: fastact and PyTorch on one thread and on every core.

The headline comparisons (test_throughput) are single-thread for everyone; this
group shows what a user with all cores gets: fastact with ``set_num_threads(1)``
and with every core, PyTorch pinned to one thread and with every core, at 10^3
(where threading must cost nothing) and 10^7.
"""

from __future__ import annotations

import importlib.util
import os

import numba
import numpy as np
import pytest

import fastact
from fastact.peers import peer_table, regime_input

_SIZE = 10_000_000
_CORES = os.cpu_count() or 1
_POOL = numba.config.NUMBA_NUM_THREADS  # fastact's threads come from Numba's pool
_IMPLS = ("fastact-1-thread", f"fastact-{_POOL}-threads") + (
    ("torch-1-thread", f"torch-{_CORES}-threads") if importlib.util.find_spec("torch") else ()
)  # PyTorch's rows only where it is installed
_CASES = [
    (name, impl, dtype)
    for act in fastact.REGISTRY.values()
    if act.transcendental
    for name in (act.name, act.name + "_backward")
    for impl in _IMPLS
    for dtype in ("float32", "float64")
]


def _threads(impl: str) -> int:
    if impl.endswith("-1-thread"):
        return 1
    return _POOL if impl.startswith("fastact") else _CORES


@pytest.mark.parametrize("size", [1000, _SIZE])
@pytest.mark.parametrize(("function", "impl", "dtype"), _CASES)
@pytest.mark.benchmark(group="threads", max_time=0.25, min_rounds=5)
def test_threads(benchmark, function, impl, dtype, size):
    x = regime_input("central", size, dtype, seed=1)
    g = regime_input("central", size, dtype, seed=2)
    out = np.empty_like(x)
    benchmark.group = f"threads {function} {dtype} n={size}"
    benchmark.extra_info.update(function=function, impl=impl, dtype=dtype, size=size, regime="central",
                                threads=_threads(impl))
    act = fastact.REGISTRY[function.removesuffix("_backward")]
    if impl.startswith("fastact"):
        fn = getattr(fastact.ufuncs, function)
        args = ((g, x) if function.endswith("_backward") else (x,)) + act.param_defaults
        previous = fastact.get_num_threads()
        fastact.set_num_threads(_threads(impl))
        try:
            benchmark(fn, *args, out=out)
        finally:
            fastact.set_num_threads(previous)
        return
    import torch

    # built before the thread setting: building the table pins PyTorch to one thread
    make = peer_table("torch")[function]
    previous = torch.get_num_threads()
    torch.set_num_threads(_threads(impl))
    try:
        # the same PyTorch calls as the single-thread comparison (fastact.peers)
        benchmark(make(x, g, out, *act.param_defaults))
    finally:
        torch.set_num_threads(previous)
