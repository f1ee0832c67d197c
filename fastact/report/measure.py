"""The report's own benchmark: a small, interleaved measurement in pytest-benchmark's JSON shape.

``fastact bench`` (the pytest-benchmark suite) takes several minutes even in its
quick mode; ``fastact report --quick`` takes about four on two cores (252 s for
the 23 activations, figures included, on the 2-core development machine),
accuracy analysis included.  This module measures the same cases over fewer
rounds, with every implementation of a case timed in interleaved rounds
(:func:`fastact._timing.interleaved_samples`), and writes records that
:func:`fastact.benchdata.parse` reads exactly like the suite's:
``extra_info`` function/impl/dtype/size/regime, ``stats`` min/median/...

What is measured (for every public function of the registry, float32 and float64):

* every size of ``sizes``, ``central`` regime: fastact, the memory copy and every
  installed peer (the NumPy reference only up to 10^6: it is 10-30x slower than
  the rest and 10^6 shows it);
* at 10^6 (or the largest size), fastact on the other input regimes too, in the same interleaved rounds;
* thread scaling (group ``threads ...``), like ``bench/test_threads.py``: fastact
  and PyTorch with one thread and with every core, at 10^3 and the largest size.

Everything except the thread-scaling groups runs fastact on one thread
(``fastact.set_num_threads(1)``), like the peers.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable

import numpy as np

from ..environment import machine_info, now

QUICK_SIZES = (1_000, 10_000, 100_000, 1_000_000, 10_000_000)
#: the NumPy reference is not timed above this size (10-30x slower than the rest)
REFERENCE_MAX_SIZE = 1_000_000
#: fastact on every input regime at this size
REGIME_SIZE = 1_000_000


def _stats(samples: list[float]) -> dict:
    q = statistics.quantiles(samples, n=4) if len(samples) > 1 else [samples[0]] * 3
    mean = statistics.fmean(samples)
    return {
        "min": min(samples),
        "max": max(samples),
        "mean": mean,
        "stddev": statistics.stdev(samples) if len(samples) > 1 else 0.0,
        "median": statistics.median(samples),
        "q1": q[0],
        "q3": q[2],
        "iqr": q[2] - q[0],
        "rounds": len(samples),
        "iterations": 1,
        "total": math.fsum(samples),
        "ops": 1.0 / mean,
    }


def _record(group: str, function: str, impl: str, dtype: str, size: int, regime: str, samples, options) -> dict:
    params = {"function": function, "impl": impl, "dtype": dtype, "size": size, "regime": regime}
    param = f"{function}-{impl}-{dtype}-{size}-{regime}"
    return {
        "group": group,
        "name": f"report_quick[{param}]",
        "fullname": f"fastact.report.measure::report_quick[{param}]",
        "params": params,
        "param": param,
        "extra_info": dict(params),
        "options": options,
        "stats": _stats(samples),
    }


class _Inputs:
    """Input arrays shared by every implementation of a case (drawing 10^7 values
    takes longer than processing them); only the current size is kept."""

    def __init__(self) -> None:
        self._key = None
        self._cache: dict = {}

    def get(self, regime: str, size: int, dtype: str, seed: int) -> np.ndarray:
        from fastact.peers import regime_input

        if self._key != (size, dtype):
            self._key, self._cache = (size, dtype), {}
        k = (regime, seed)
        if k not in self._cache:
            self._cache[k] = regime_input(regime, size, dtype, seed=seed)
        return self._cache[k]


def plan(sizes=QUICK_SIZES, dtypes=("float32", "float64"), functions=None, peer_names=None, threads=True) -> list:
    """The groups to measure: ``(kind, function, dtype, size)`` with kind ``"throughput"``
    or ``"threads"``.  ``functions`` (public names) and ``peer_names`` restrict the plan."""
    import fastact

    public = [n for act in fastact.REGISTRY.values() for n in act.public_names]
    if functions is not None:
        public = [n for n in public if n in functions]
    groups = [("throughput", f, dt, n) for dt in dtypes for n in sorted(sizes) for f in public]
    if threads:
        for act in fastact.REGISTRY.values():
            if act.transcendental:
                for f in (act.name, act.name + "_backward"):
                    if f in public:
                        groups += [("threads", f, dt, n) for dt in dtypes for n in sorted({min(sizes), max(sizes)})]
    return groups


def _contenders(function: str, dtype: str, size: int, inputs: _Inputs, peer_names, regime_size: int
                ) -> dict[tuple, Callable]:
    """(impl, regime) -> a call computing ``function`` into a preallocated output."""
    import fastact
    from fastact.peers import REGIMES, peers

    act = next(a for a in fastact.REGISTRY.values() if function in a.public_names)
    ufunc = getattr(fastact.ufuncs, function)
    g = inputs.get("central", size, dtype, 2)
    out = np.empty(size, dtype)
    calls: dict[tuple, Callable] = {}
    regimes = REGIMES if size == regime_size else ("central",)
    for regime in regimes:
        x = inputs.get(regime, size, dtype, 1)
        args = ((g, x) if function.endswith("_backward") else (x,)) + act.param_defaults
        calls["fastact", regime] = lambda args=args: ufunc(*args, out=out)
    x = inputs.get("central", size, dtype, 1)
    calls["memcpy", "central"] = lambda: np.copyto(out, x)
    for peer, make in peers(function).items():
        if peer_names is not None and peer not in peer_names:
            continue
        if peer == "numpy-reference" and size > REFERENCE_MAX_SIZE:
            continue
        calls[peer, "central"] = make(x, g, out, *act.param_defaults)
    return calls


def _thread_contenders(function: str, dtype: str, size: int, inputs: _Inputs, torch_too: bool
                       ) -> list[tuple[int, dict[str, Callable]]]:
    """fastact and PyTorch with one thread and with every core computing ``function``,
    as ``(PyTorch thread count, contenders to interleave)``.  fastact's thread count
    is set by each call (a word in memory); PyTorch's is process-wide and changing it
    rebuilds its pool, so each PyTorch count is measured in rounds of its own."""
    import numba

    import fastact

    act = next(a for a in fastact.REGISTRY.values() if function in a.public_names)
    ufunc = getattr(fastact.ufuncs, function)
    x, g = inputs.get("central", size, dtype, 1), inputs.get("central", size, dtype, 2)
    out = np.empty_like(x)
    args = ((g, x) if function.endswith("_backward") else (x,)) + act.param_defaults
    pool = numba.config.NUMBA_NUM_THREADS  # fastact's threads come from Numba's pool

    def fastact_call(n: int) -> Callable:
        def call():
            fastact.set_num_threads(n)
            ufunc(*args, out=out)
        return call

    first = {"fastact-1-thread": fastact_call(1)}
    if pool > 1:
        first[f"fastact-{pool}-threads"] = fastact_call(pool)
    if not torch_too:
        return [(1, first)]
    from fastact.peers import peer_table

    # the same PyTorch calls as the single-thread comparison and bench/test_threads.py
    make = peer_table("torch").get(function)
    if make is None:
        return [(1, first)]
    call = make(x, g, out, *act.param_defaults)
    cores = os.cpu_count() or 1
    groups = [(1, first | {"torch-1-thread": call})]
    if cores > 1:
        groups.append((cores, {f"torch-{cores}-threads": call}))
    return groups


def run(
    sizes=QUICK_SIZES,
    dtypes=("float32", "float64"),
    functions=None,
    peer_names=None,
    threads: bool = True,
    budget: float = 0.05,
    min_rounds: int = 2,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Measure the :func:`plan` and return pytest-benchmark-shaped JSON (a dict).

    ``budget``: seconds per group (at least ``min_rounds`` interleaved rounds after a
    warm-up call and a timed call, so ``min_rounds + 1`` samples per contender).
    ``progress(label)`` is called after each group.
    """
    import importlib.util

    import fastact
    from fastact._timing import interleaved_samples

    groups = plan(sizes, dtypes, functions, peer_names, threads)
    torch_too = importlib.util.find_spec("torch") is not None and (peer_names is None or "torch" in peer_names)
    options = {"timer": "perf_counter", "warmup": 1, "min_rounds": min_rounds + 1, "max_time": budget,
               "interleaved": True}
    inputs = _Inputs()
    records = []
    regime_size = REGIME_SIZE if REGIME_SIZE in sizes else max(sizes)
    fastact_threads = fastact.get_num_threads()
    torch_threads = None
    if torch_too:
        import torch

        torch_threads = torch.get_num_threads()
    try:
        for kind, function, dtype, size in groups:
            if kind == "throughput":
                fastact.set_num_threads(1)
                if torch_too:
                    torch.set_num_threads(1)
                calls = _contenders(function, dtype, size, inputs, peer_names, regime_size)
                with np.errstate(all="ignore"):  # peers warn on the special regime; fastact never does
                    samples = interleaved_samples(calls, budget, min_rounds=min_rounds)
                for (impl, regime), ts in samples.items():
                    group = f"{function} {dtype} n={size} {regime}"
                    records.append(_record(group, function, impl, dtype, size, regime, ts, options))
            else:
                for n_threads, calls in _thread_contenders(function, dtype, size, inputs, torch_too):
                    if torch_too:
                        torch.set_num_threads(n_threads)
                    samples = interleaved_samples(calls, budget, min_rounds=min_rounds)
                    for impl, ts in samples.items():
                        group = f"threads {function} {dtype} n={size}"
                        records.append(_record(group, function, impl, dtype, size, "central", ts, options))
            if progress:
                progress(f"{function} {dtype} n={size}")
    finally:
        fastact.set_num_threads(fastact_threads)
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
    return {
        "machine_info": machine_info(),
        "commit_info": {},
        "benchmarks": records,
        "datetime": now(),
        "version": "fastact.report.measure/1",
    }
