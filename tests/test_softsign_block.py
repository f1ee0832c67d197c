"""The softsign block kernels (``kernels._common.range_blocks`` over
``kernels.softsign._softsign_fast`` / ``_softsign`` and ``_softsign_grad_fast`` /
``_softsign_grad``, float32 and float64): blocks of 16 whose every |x| lies in
[2^-60, 2^60] take the fast kernels (no clamp, no flush, no tiny or NaN select,
and in the fused backward the plain product), the others the general ones; every
layout must give the scalar kernels' bits, with no floating-point flag, and the
range test must send exactly those blocks down the fast path.
"""

from __future__ import annotations

import numpy as np
import pytest
import support

import fastact
from fastact.kernels.softsign import _softsign, _softsign_grad

_forward = support.scalar_loop(_softsign)
_grad = support.scalar_loop(_softsign_grad)
_BITS = {np.float32: np.uint32, np.float64: np.uint64}
_LO, _HI = 2.0**-60, 2.0**60


@pytest.mark.parametrize(("ufunc", "scalar"), [(fastact.softsign, _forward), (fastact.softsign_grad, _grad)])
def test_float32_block_kernels_equal_scalar_kernels(ufunc, scalar):
    with np.errstate(invalid="ignore"):  # signalling NaNs raise it, in both (IEEE 754)
        support.assert_block_equals_scalar(ufunc, scalar)


@pytest.mark.parametrize("ufunc", [fastact.softsign, fastact.softsign_grad])
def test_float32_blocks_raise_no_flag(ufunc):
    x = np.arange(3, 2**32, 127, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = x[~np.isnan(x)]
    with np.errstate(all="raise"):
        ufunc(x)


@pytest.mark.parametrize(("ufunc", "scalar"), [(fastact.softsign, _forward), (fastact.softsign_grad, _grad)])
def test_float64_block_kernels_equal_scalar_kernels(ufunc, scalar):
    support.assert_block_equals_scalar64(ufunc, scalar, flag_free=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backward_block_in_every_layout(dtype):
    # the derivative is 0 at -inf (flushed): an infinite grad_out is blocked there
    support.assert_backward_block_layouts(fastact.softsign_backward, _grad, -np.inf, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_edges_of_the_fast_range_agree_with_the_scalar_kernels(dtype):
    # the bounds of the fast range, their neighbours on both sides, and the values
    # where the general kernels clamp or flush, each in a block of its own and
    # among ordinary values
    big = 2.0**63 if dtype == np.float32 else 2.0**511
    edges = np.array([_LO, _HI, 2.0**100, big, np.finfo(dtype).max], dtype=dtype)
    with np.errstate(over="ignore"):
        x = np.concatenate([edges, np.nextafter(edges, dtype(0)), np.nextafter(edges, dtype(np.inf))])
    x = np.concatenate([x, -x, dtype([0.0, -0.0, np.nan, 1.0, -1.0])])
    blocks = np.repeat(x, 16)
    mixed = np.tile(np.linspace(-3.0, 3.0, 16, dtype=dtype), x.size)
    mixed[::16] = x
    g = np.linspace(-2.0, 2.0, blocks.size).astype(dtype)
    for values in (blocks, mixed):
        for ufunc, scalar in ((fastact.softsign, _forward), (fastact.softsign_grad, _grad)):
            np.testing.assert_array_equal(ufunc(values).view(_BITS[dtype]), scalar(values).view(_BITS[dtype]))
        with np.errstate(invalid="ignore"):  # NaN * g where x is NaN, in both
            want = g * _grad(values)
        np.testing.assert_array_equal(fastact.softsign_backward(g, values).view(_BITS[dtype]),
                                      want.view(_BITS[dtype]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("ufunc", "outsider", "result"), [
    (fastact.softsign, 0.0, 0.0),
    (fastact.softsign, 2.0**61, 1.0),
    (fastact.softsign_grad, 1e-30, 1.0),
    (fastact.softsign_grad, -np.inf, 0.0),
])  # fmt: skip
def test_the_fast_path_and_the_general_path_agree(ufunc, outsider, result, dtype):
    support.assert_short_and_general_paths_agree(ufunc, 40.0, outsider, dtype(result), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_range_test_sees_every_lane(dtype):
    support.assert_range_test_sees_every_lane(_LO, _HI, dtype)
