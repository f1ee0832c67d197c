"""No kernel computes with subnormal operands where it can avoid them.

A multiply, FMA or square root with a subnormal operand or result costs Intel
cores a microcode assist for every vector instruction concerned (on the Rocket
Lake machine 44-52x the time of a plain multiply; additions and comparisons take
none).  AMD's Zen cores handle most of them in hardware, so that a kernel can be
fast on one machine and 8-70x slower on some inputs on the other.  Found with
``tools/band_probe.py`` (2026-12-04): a subnormal entry in float32 tanhshrink's
tables (8x on |x| < 1/8), and subnormal inputs reaching products in silu' (73x),
hard_silu' (13x), selu (7x) and squareplus (3.7-5.8x), and elu with alpha != 1
(7x, in its chain_rule).

Two checks: no lookup table holds a subnormal number (exact, on any machine, in
every run), and every public function takes about as long on subnormal inputs as
on tiny normal ones (which go through the same general path of each block
kernel).  The second compares wall times, so it never gates CI (``timing``
marker: ``pytest -m timing``, on the machine in question).  On a machine without
assists it holds trivially; on the Intel one it failed for each of the kernels
above as they were (ratios 4.1-67; 3 is far above the noise of interleaved
minimum times).  Products that underflow by their meaning (a backward
kernel's grad_out times a derivative in the far tails, IEEE's gradual underflow)
are not inputs of this kind and not measured here.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np
import pytest
import support

import fastact
from fastact._timing import best_times

N = 1 << 14
#: slowest admissible time on subnormal inputs, over the time on tiny normal ones
RATIO = 3.0


def _fastact_modules():
    yield fastact
    for info in pkgutil.walk_packages(fastact.__path__, "fastact."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


def test_no_lookup_table_holds_a_subnormal_number():
    tables = 0
    found = []
    for module in _fastact_modules():
        for name, value in vars(module).items():
            if not (isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size > 1):
                continue
            tables += 1
            bad = (value != 0) & (np.abs(value) < np.finfo(value.dtype).tiny)
            found += [f"{module.__name__}.{name}[{i}] = {value.flat[i]!r}" for i in np.flatnonzero(bad)]
    assert tables > 30  # the float32 kernels' coefficient tables were seen
    assert not found, found


def _inputs(dtype):
    rng = np.random.default_rng(3)
    sign = np.where(rng.random(N) < 0.5, -1.0, 1.0)
    subnormal = (np.finfo(dtype).tiny * rng.uniform(2.0**-20, 1.0, N) * sign).astype(dtype)
    tiny_normal = (np.ldexp(rng.uniform(1.0, 2.0, N), -100) * sign).astype(dtype)
    assert np.all(np.abs(subnormal) < np.finfo(dtype).tiny) and np.all(subnormal != 0)
    return subnormal, tiny_normal


def _doubled(params: tuple) -> tuple:
    """Other parameters than the defaults (other kernels: elu's alpha != 1 takes
    chain_rule, squareplus's b != 4 the general kernel): each doubled, 0 made 1."""
    return tuple(2 * p if p != 0 else 1.0 for p in params)


@pytest.mark.timing
@pytest.mark.parametrize("params", ["defaults", "doubled"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_subnormal_inputs_cost_about_what_tiny_normal_ones_do(dtype, params):
    subnormal, tiny_normal = _inputs(dtype)
    g = np.full(N, 1.5, dtype)
    out = np.empty(N, dtype)
    slow = []
    for act in support.RECORDS:
        if params == "doubled" and not act.param_defaults:
            continue
        for kind in support.KINDS:
            fn = support.public_function(act, kind)
            params_ = act.param_defaults if params == "defaults" else _doubled(act.param_defaults)

            def call(x, fn=fn, kind=kind, params=params_):
                args = (g, x) if kind == "backward" else (x,)
                return lambda: fn(*args, *params, out=out)

            with np.errstate(all="ignore"):
                times = best_times({"subnormal": call(subnormal), "normal": call(tiny_normal)}, 0.05)
            ratio = times["subnormal"] / times["normal"]
            if ratio > RATIO:
                slow.append(f"{support.public_name(act, kind)}{params_}: {ratio:.1f}x")
    assert not slow, slow
