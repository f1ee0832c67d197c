"""The float32 leaky_relu block kernel at slope 0.01 (fastact/_leaky_relu32.py): bit
for bit the scalar kernel (``kernels.rectifiers._leaky_relu``) in every loop
layout and however the default slope is passed, its short and general paths in
agreement, and its flush bound the one ``slope_product`` derives for 0.01."""

from __future__ import annotations

import numpy as np
import support
from numba import njit

import fastact
from fastact._core import _slope_limits
from fastact._leaky_relu32 import FLUSH_BELOW_BITS, SLOPE
from fastact.kernels.rectifiers import _leaky_relu


@njit
def _scalar(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = _leaky_relu(x[i], np.float32(0.01))
    return out


def test_flush_bound_is_slope_products():
    f = np.float32
    lo, hi, flushed = _slope_limits(SLOPE, 23, f(2.0**-126), f(2.0**64), f(np.finfo(f).max), f(2.0**103))
    assert lo == FLUSH_BELOW_BITS and flushed == 0
    assert hi > 0x7F800000  # no product overflows: nothing to saturate


def test_block_kernel_equals_scalar_kernel():
    # A negative signalling NaN goes through x * slope in both kernels: quieted,
    # with the *invalid* flag (the scalar kernel's behaviour, kept bit for bit).
    with np.errstate(invalid="ignore"):
        support.assert_block_equals_scalar(fastact.leaky_relu, _scalar)


def test_every_layout_and_every_way_of_passing_the_slope():
    rng = np.random.default_rng(13)
    x = (rng.standard_normal(4099) * 4).astype(np.float32)
    x[::41] = np.float32(-1e-37)  # flushed to -0: the general path
    want = _scalar(x).view(np.uint32)
    for start in (0, 1, 5):
        for n in (1, 15, 16, 17, 33, 4000):
            np.testing.assert_array_equal(fastact.leaky_relu(x[start:start + n]).view(np.uint32),
                                          want[start:start + n])
    for got in (fastact.leaky_relu(x, 0.01), fastact.ufuncs.leaky_relu(x, np.float32(0.01)),
                fastact.leaky_relu(np.repeat(x, 2)[::2])):
        np.testing.assert_array_equal(got.view(np.uint32), want)
    inplace = x.copy()
    fastact.leaky_relu(inplace, out=inplace)
    np.testing.assert_array_equal(inplace.view(np.uint32), want)
    # another slope takes the scalar kernel in the same loop
    np.testing.assert_array_equal(fastact.leaky_relu(x, 0.2), np.where(x > 0, x, x * np.float32(0.2)))


def test_the_short_path_and_the_general_path_agree():
    for outsider, result in ((-1e-37, -0.0), (-np.inf, -np.inf), (np.inf, np.inf), (-3e38, -3e36)):
        support.assert_short_and_general_paths_agree(fastact.leaky_relu, 5.0, outsider, result)
