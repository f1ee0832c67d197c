"""The float64 gelu and gelu' block kernels (``kernels._common.range_blocks`` over
``kernels.gated._gelu_f64_fast`` / ``_gelu_f64_kernel`` and
``_gelu_grad_f64_fast`` / ``_gelu_grad_f64_kernel``): blocks of 16 whose every
|x| lies in [2^-60, 26] take the fast kernels (no clamp, no flush, no tiny, huge
or NaN select, one scaling for both signs, and in the fused backward the plain
product), the others the general ones; every layout must give the scalar
kernels' bits, with no floating-point flag, and the range test must send exactly
those blocks down the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest
import support

import fastact
from fastact.kernels.gated import _gelu_f64_kernel, _gelu_grad_f64_kernel

_forward = support.scalar_loop(_gelu_f64_kernel)
_grad = support.scalar_loop(_gelu_grad_f64_kernel)
_LO, _HI = 2.0**-60, 26.0
_CASES = [(fastact.gelu, _forward), (fastact.gelu_grad, _grad)]


@pytest.mark.parametrize(("ufunc", "scalar"), _CASES)
def test_block_kernels_equal_scalar_kernels(ufunc, scalar):
    support.assert_block_equals_scalar64(ufunc, scalar, flag_free=True)


@pytest.mark.parametrize(("ufunc", "scalar"), _CASES)
def test_fast_blocks_equal_scalar_kernels(ufunc, scalar):
    # values that fill whole blocks inside the fast range: N(0, 4^2) (the
    # benchmarks' inputs), every binade of the range, and the window around gelu''s
    # root x0 = -0.7518, where the fast kernel of gelu' takes the polynomial
    rng = np.random.default_rng(12)
    binades = support.magnitudes(rng, 2.0**-60, _HI, 1_000_000) * rng.choice([-1.0, 1.0], 1_000_000)
    root = rng.uniform(-0.7518 - 0.3, -0.7518 + 0.3, 200_000)
    x = np.concatenate([rng.standard_normal(1_000_000) * 4, binades, root])
    x = x[np.abs(x) <= _HI]
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(ufunc(x).view(np.uint64), scalar(x).view(np.uint64))


def test_backward_block_in_every_layout():
    # gelu' is 0 at -inf (flushed): an infinite grad_out is blocked there
    support.assert_backward_block_layouts(fastact.gelu_backward, _grad, -np.inf, np.float64)


def test_the_edges_of_the_fast_range_agree_with_the_scalar_kernels():
    # the bounds of the fast range, their neighbours on both sides, and the values
    # where the general kernels clamp or flush, each in a block of its own and
    # among ordinary values
    edges = np.array([_LO, _HI, 37.0, 38.5, 40.0, np.finfo(np.float64).max])
    with np.errstate(over="ignore"):  # the largest finite value's neighbour is inf
        x = np.concatenate([edges, np.nextafter(edges, 0.0), np.nextafter(edges, np.inf)])
    x = np.concatenate([x, -x, [0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0, -0.7517915246935645]])
    blocks = np.repeat(x, 16)
    mixed = np.tile(np.linspace(-3.0, 3.0, 16), x.size)
    mixed[::16] = x
    g = np.linspace(-2.0, 2.0, blocks.size)
    for values in (blocks, mixed):
        for ufunc, scalar in _CASES:
            np.testing.assert_array_equal(ufunc(values).view(np.uint64), scalar(values).view(np.uint64))
        with np.errstate(invalid="ignore"):  # NaN * g where x is NaN, in both
            want = g * _grad(values)
        np.testing.assert_array_equal(fastact.gelu_backward(g, values).view(np.uint64), want.view(np.uint64))


@pytest.mark.parametrize(("ufunc", "outsider", "result"), [
    (fastact.gelu, 0.0, 0.0), (fastact.gelu, 40.0, 40.0), (fastact.gelu, -40.0, 0.0),
    (fastact.gelu_grad, 0.0, 0.5), (fastact.gelu_grad, np.inf, 1.0), (fastact.gelu_grad, -40.0, 0.0),
])  # fmt: skip
def test_the_fast_path_and_the_general_path_agree(ufunc, outsider, result):
    support.assert_short_and_general_paths_agree(ufunc, _HI, outsider, result, np.float64)


def test_the_range_test_sees_every_lane():
    support.assert_range_test_sees_every_lane(_LO, _HI, np.float64)
