"""The float64 sigmoid' and tanh' block kernels (``kernels._common.range_blocks``
over ``kernels.logistic._sigmoid_grad_fast64`` / ``_sigmoid_grad_generic`` and
``_tanh_grad_fast64`` / ``_tanh_grad_generic``): blocks of 16 whose every |x| lies
in [2^-60, 40] (sigmoid') or [2^-60, 20] (tanh') take the fast kernels (no clamp,
no flush, no NaN select, and in the fused backward the plain product), the others
the generic ones; every layout must give the scalar kernels' bits, with no
floating-point flag, and the range test must send exactly those blocks down the
fast path.
"""

from __future__ import annotations

import numpy as np
import pytest
import support

import fastact
from fastact.kernels.logistic import _sigmoid_grad_generic, _tanh_grad_generic

_sigmoid_grad = support.scalar_loop(_sigmoid_grad_generic)
_tanh_grad = support.scalar_loop(_tanh_grad_generic)
# (grad ufunc, backward ufunc, scalar twin, upper bound of the fast range)
_CASES = {
    "sigmoid": (fastact.sigmoid_grad, fastact.sigmoid_backward, _sigmoid_grad, 40.0),
    "tanh": (fastact.tanh_grad, fastact.tanh_backward, _tanh_grad, 20.0),
}


@pytest.mark.parametrize("name", _CASES)
def test_block_kernel_equals_scalar_kernel(name):
    grad, _, scalar, _ = _CASES[name]
    support.assert_block_equals_scalar64(grad, scalar, flag_free=True)


@pytest.mark.parametrize("name", _CASES)
def test_backward_block_in_every_layout(name):
    _, backward, scalar, _ = _CASES[name]
    # the derivative is 0 at -inf (flushed): an infinite grad_out is blocked there
    support.assert_backward_block_layouts(backward, scalar, -np.inf, np.float64)


@pytest.mark.parametrize("name", _CASES)
def test_the_edges_of_the_fast_range_agree_with_the_scalar_kernel(name):
    grad, backward, scalar, hi = _CASES[name]
    # the bounds of the fast range, their neighbours on both sides, and the values
    # where the generic kernels clamp or flush, each in a block of its own and
    # among ordinary values
    edges = np.array([2.0**-60, hi, 373.0, 745.0, 746.0, np.finfo(np.float64).max])
    with np.errstate(over="ignore"):  # the largest finite value's neighbour is inf
        x = np.concatenate([edges, np.nextafter(edges, 0.0), np.nextafter(edges, np.inf)])
    x = np.concatenate([x, -x, [0.0, -0.0, np.nan, np.inf, -np.inf, 1.0, -1.0]])
    blocks = np.repeat(x, 16)
    mixed = np.tile(np.linspace(-3.0, 3.0, 16), x.size)
    mixed[::16] = x
    g = np.linspace(-2.0, 2.0, blocks.size)
    for values in (blocks, mixed):
        want = scalar(values)
        np.testing.assert_array_equal(grad(values).view(np.uint64), want.view(np.uint64))
        with np.errstate(invalid="ignore"):  # NaN * g where x is NaN, in both
            product = g * want
        np.testing.assert_array_equal(backward(g, values).view(np.uint64), product.view(np.uint64))


@pytest.mark.parametrize(("name", "outsider", "result"), [
    ("sigmoid", 0.0, 0.25), ("tanh", 0.0, 1.0),  # the derivative at 0
    ("sigmoid", 800.0, 0.0), ("tanh", 800.0, 0.0), ("sigmoid", np.inf, 0.0), ("tanh", np.inf, 0.0),
])  # fmt: skip
def test_the_fast_path_and_the_general_path_agree(name, outsider, result):
    grad, _, _, hi = _CASES[name]
    support.assert_short_and_general_paths_agree(grad, hi, outsider, result, np.float64)


@pytest.mark.parametrize("name", _CASES)
def test_the_range_test_sees_every_lane(name):
    support.assert_range_test_sees_every_lane(2.0**-60, _CASES[name][3], np.float64)
