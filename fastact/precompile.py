"""Compile ahead of time: every ufunc's loops into Numba's on-disk cache, on every core.

A process builds an activation's ufuncs the first time it touches one (a few
seconds each from a cold cache, minutes for all of them); later processes load
them from Numba's cache in well under a second.  ``fastact compile`` pays the
first cost once, where it suits the user: in a container image's build step, after
``pip install`` on a cluster's shared file system, before a benchmark.  The
activations are compiled in ``jobs`` spawned processes at once, the longest first,
each writing its loops into the cache that every later process reads (the same
one: ``$NUMBA_CACHE_DIR`` if set, else ``__pycache__`` beside the package where
that is writable, else Numba's user-wide cache directory).
"""

from __future__ import annotations

import concurrent.futures
import math
import multiprocessing
import os
import pathlib
import time
from collections.abc import Callable, Iterable

#: seconds to compile each activation's loops, one after another in one process on
#: a cold cache (2-core Zen 3 VM, 2026-12-01); only their order matters, the longest
#: first, so that no core is left with one of them at the end while the others idle
COMPILE_SECONDS = {
    "celu": 90, "squareplus": 78, "softplus": 67, "elu": 45, "gelu": 42, "selu": 27, "tanhshrink": 21,
    "leaky_relu": 19, "mish": 16, "softshrink": 13, "hard_tanh": 12, "tanh": 11, "hardshrink": 11,
    "sigmoid": 11, "silu": 11, "threshold": 9, "gelu_tanh": 9, "softsign": 8, "log_sigmoid": 8,
    "hard_silu": 6, "hard_sigmoid": 5, "relu6": 4, "relu": 4,
}


def activation_of(name: str) -> str:
    """The registry name of a public name (``sigmoid``, ``sigmoid_grad``) or of an
    alias (``swish``, ``logsigmoid_grad``)."""
    from ._registry import REGISTRY
    from .ufuncs import _OWNER

    if name in _OWNER:
        return _OWNER[name]
    for suffix in ("", "_grad", "_backward"):  # an alias takes the suffixes too
        base = name.removesuffix(suffix) if suffix else name
        for act in REGISTRY.values():
            if base in act.aliases:
                return act.name
    raise ValueError(f"fastact has no function {name!r}")


def longest_first(activations: Iterable[str]) -> list[str]:
    """``activations`` in the order to compile them on several cores: by
    :data:`COMPILE_SECONDS`, longest first, new ones (not in it) before all."""
    return sorted(activations, key=lambda name: -COMPILE_SECONDS.get(name, math.inf))


def cache_location() -> str:
    """Where this process's Numba cache for fastact's loops lives (in words)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    here = pathlib.Path(__file__).resolve().parent
    if os.access(here, os.W_OK):
        return f"{here}/__pycache__ (and kernels/__pycache__)"
    return "Numba's user-wide cache directory (~/.cache/numba on Linux)"


def compile_activation(name: str) -> float:
    """Build every ufunc of one activation (compiling its loops into the cache where
    they are not there yet); the seconds it took."""
    from . import ufuncs
    from ._registry import REGISTRY

    start = time.perf_counter()
    for public in REGISTRY[name].public_names:
        ufuncs.public(public)
    return time.perf_counter() - start


def precompile(functions: Iterable[str] | None = None, jobs: int | None = None,
               progress: Callable[[str, float], None] | None = None) -> dict[str, float]:
    """Compile the ufuncs of ``functions`` (public names, aliases or activations;
    default: every activation) into Numba's cache in ``jobs`` processes at once
    (default: every core; 1: in this process).  ``progress(activation, seconds)``
    is called as each one is done.  Returns the seconds each took, by activation."""
    from ._registry import REGISTRY

    names = list(REGISTRY) if functions is None else list(dict.fromkeys(activation_of(f) for f in functions))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(names)))
    seconds: dict[str, float] = {}
    if jobs == 1:
        for name in names:
            seconds[name] = compile_activation(name)
            if progress:
                progress(name, seconds[name])
        return seconds
    # spawned, not forked: this process may already run Numba threads
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = {pool.submit(compile_activation, name): name for name in longest_first(names)}
        for done in concurrent.futures.as_completed(futures):
            seconds[futures[done]] = done.result()
            if progress:
                progress(futures[done], seconds[futures[done]])
    return seconds


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="fastact compile", description=__doc__.split("\n\n")[0])
    ap.add_argument("--functions", help="comma-separated names (default: every activation)")
    ap.add_argument("--jobs", type=int, help="processes compiling at once (default: every core; 1: this one)")
    a = ap.parse_args(argv)
    functions = a.functions.split(",") if a.functions else None
    for name in functions or ():
        try:
            activation_of(name)
        except ValueError as error:
            ap.error(str(error))
    start = time.perf_counter()
    done = precompile(functions, a.jobs, lambda name, s: print(f"{name:14} {s:6.1f} s", flush=True))
    print(f"{len(done)} activations in {time.perf_counter() - start:.1f} s; Numba's cache: {cache_location()}")
    return 0
