"""The leaky_relu block kernels at slope 0.01, float32 and float64
(fastact/_leaky_relu_block.py): bit for bit the scalar kernel
(``kernels.rectifiers._leaky_relu``) in every loop layout and however the default
slope is passed, blocks with flushed, infinite and huge lanes among ordinary ones
as well as without them, and their flush bounds the ones ``slope_product``
derives for 0.01."""

from __future__ import annotations

import numpy as np
import pytest
import support
from numba import njit

import fastact
from fastact._core import _slope_limits
from fastact._leaky_relu_block import FLUSH_BELOW_BITS, SLOPE
from fastact.kernels.rectifiers import _leaky_relu

_BITS = {np.float32: np.uint32, np.float64: np.uint64}


@njit
def _scalar(x):
    out = np.empty_like(x)
    slope = x.dtype.type(0.01)
    for i in range(x.size):
        out[i] = _leaky_relu(x[i], slope)
    return out


# slope_product's per-dtype arguments to _slope_limits (_core._slope_product32/64)
@pytest.mark.parametrize(("dtype", "limits", "inf_bits"), [
    (np.float32, (23, 2.0**-126, 2.0**64, np.finfo(np.float32).max, 2.0**103), 0x7F800000),
    (np.float64, (52, 2.0**-1022, 2.0**128, np.finfo(np.float64).max, 2.0**970), 0x7FF0000000000000),
])
def test_flush_bound_is_slope_products(dtype, limits, inf_bits):
    name = np.dtype(dtype).name
    assert SLOPE[name] == dtype(0.01)
    mant, *bounds = limits
    lo, hi, flushed = _slope_limits(SLOPE[name], mant, *(dtype(b) for b in bounds))
    assert lo == FLUSH_BELOW_BITS[name] and flushed == 0
    assert hi > inf_bits  # no product overflows: nothing to saturate


def test_block_kernel_equals_scalar_kernel():
    # A negative signalling NaN goes through x * slope in both kernels: quieted,
    # with the *invalid* flag (the scalar kernel's behaviour, kept bit for bit).
    with np.errstate(invalid="ignore"):
        support.assert_block_equals_scalar(fastact.leaky_relu, _scalar)
        support.assert_block_equals_scalar64(fastact.leaky_relu, _scalar)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_layout_and_every_way_of_passing_the_slope(dtype):
    rng = np.random.default_rng(13)
    x = (rng.standard_normal(4099) * 4).astype(dtype)
    x[::41] = dtype(-1e-37 if dtype == np.float32 else -1e-306)  # flushed to -0 (at 0.01): the general path
    bits = _BITS[dtype]
    want = _scalar(x).view(bits)
    for start in (0, 1, 5):
        for n in (1, 15, 16, 17, 33, 4000):
            np.testing.assert_array_equal(fastact.leaky_relu(x[start:start + n]).view(bits), want[start:start + n])
    for got in (fastact.leaky_relu(x, 0.01), fastact.ufuncs.leaky_relu(x, dtype(0.01)),
                fastact.leaky_relu(np.repeat(x, 2)[::2])):
        np.testing.assert_array_equal(got.view(bits), want)
    inplace = x.copy()
    fastact.leaky_relu(inplace, out=inplace)
    np.testing.assert_array_equal(inplace.view(bits), want)
    # another slope takes the scalar kernel in the same loop
    np.testing.assert_array_equal(fastact.leaky_relu(x, 0.2), np.where(x > 0, x, x * dtype(0.2)))


@pytest.mark.parametrize(("dtype", "flushed", "huge"), [(np.float32, -1e-37, -3e38), (np.float64, -1e-307, -1e308)])
def test_blocks_with_and_without_special_lanes_agree(dtype, flushed, huge):
    huge_result = dtype(huge) * dtype(0.01)
    for outsider, result in ((flushed, -0.0), (-np.inf, -np.inf), (np.inf, np.inf), (huge, huge_result)):
        support.assert_short_and_general_paths_agree(fastact.leaky_relu, 5.0, outsider, result, dtype)
