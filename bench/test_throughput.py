"""Throughput of every fastact kernel against its peers and the memory-copy limit.

One benchmark, parametrized over function x implementation x dtype x size x input
regime (plain str/int parameters, so ``--benchmark-group-by=param:function`` and
the JSON group cleanly).  Every implementation writes into a preallocated output
where its library allows it; PyTorch and numexpr are pinned to one thread, like
fastact (``fastact.set_num_threads(1)`` for every case here; ``test_threads``
measures all cores).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from cases import throughput_cases

import fastact
from fastact.peers import peers, regime_input


def pytest_generate_tests(metafunc):
    if "impl" in metafunc.fixturenames:
        # --full defaults to FASTACT_BENCH_FULL (bench/conftest.py)
        cases = throughput_cases(metafunc.config.getoption("--full"))
        metafunc.parametrize(("function", "impl", "dtype", "size", "regime"), cases)


@pytest.fixture(autouse=True)
def _single_thread():
    before = fastact.get_num_threads()
    fastact.set_num_threads(1)
    yield
    fastact.set_num_threads(before)


@functools.lru_cache(maxsize=8)
def _input(regime, size, dtype, seed):
    """Inputs are shared between the implementations of a case (10^7 values take
    longer to draw than to process); every implementation only reads them.
    (Not flagged read-only: torch.from_numpy warns on read-only arrays.)"""
    return regime_input(regime, size, dtype, seed=seed)


def _target(function, impl, dtype, size, regime):
    act = fastact.REGISTRY[function.removesuffix("_grad").removesuffix("_backward")]
    x = _input(regime, size, dtype, 1)
    g = _input("central", size, dtype, 2)
    out = np.empty_like(x)
    if impl == "memcpy":
        return np.copyto, (out, x)
    if impl == "fastact":
        ufunc = getattr(fastact.ufuncs, function)
        args = ((g, x) if function.endswith("_backward") else (x,)) + act.param_defaults
        return ufunc, (*args, out)
    return peers(function)[impl](x, g, out, *act.param_defaults), ()


@pytest.mark.benchmark(group="throughput", max_time=0.2, min_rounds=3, warmup=True, warmup_iterations=1)
def test_throughput(benchmark, function, impl, dtype, size, regime):
    fn, args = _target(function, impl, dtype, size, regime)
    benchmark.group = f"{function} {dtype} n={size} {regime}"
    benchmark.extra_info.update(function=function, impl=impl, dtype=dtype, size=size, regime=regime)
    with np.errstate(all="ignore"):  # peers warn on the special regime; fastact never does
        benchmark(fn, *args)
