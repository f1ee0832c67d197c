"""The hard_silu block kernels, float32 and float64 (fastact/_hard_silu_block.py):
bit for bit the scalar kernel (``kernels.rectifiers._hard_silu``) in every loop
layout, their short and general paths in agreement, and monotone on each piece
over every float32.  The accuracy itself is certified with the other kernels
(test_accuracy, and ``fastact verify``)."""

from __future__ import annotations

import numpy as np
import pytest
import support
from numba import njit

import fastact
from fastact.kernels.rectifiers import _hard_silu

_scalar = support.scalar_loop(_hard_silu)
_BITS = {np.float32: np.uint32, np.float64: np.uint64}
# the scalar kernel is the block kernels' bits (the tests below), so scanning it
# scans them
_descents = support.descent_counter(_hard_silu)


@njit(inline="always")
def _negated(x):
    return -_hard_silu(x)


_descents_negated = support.descent_counter(_negated)


def _bits(v: float) -> int:
    return int(np.float32(v).view(np.int32))


def test_piecewise_monotone_over_every_float32():
    # rising from the minimum at -1.5 on (x itself from 3 on), falling from -3 to
    # it (0 below -3).  A form that multiplies x by a rounded hard_sigmoid(x)
    # (1.49 ULP, 9 vector operations instead of 14) was not: 690641 descents on
    # [-1.5, 0].
    assert _descents(0, _bits(20.0), False) == 0
    assert _descents(0, _bits(1.5), True) == 0
    assert _descents_negated(_bits(1.5), _bits(20.0), True) == 0
    # and the scan sees the turn at -1.5
    assert _descents(_bits(1.0), _bits(2.0), True) > 0


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.hard_silu, _scalar)


def test_float64_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar64(fastact.hard_silu, _scalar, flag_free=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_layout_gives_the_same_bits(dtype):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal(4099) * 4).astype(dtype)
    x[::37] = dtype(1e-30)  # tiny values: the general path
    bits = _BITS[dtype]
    want = _scalar(x).view(bits)
    for start in (0, 1, 5):
        for n in (1, 15, 16, 17, 33, 4000):
            np.testing.assert_array_equal(fastact.hard_silu(x[start:start + n]).view(bits), want[start:start + n])
    np.testing.assert_array_equal(fastact.hard_silu(np.repeat(x, 2)[::2]).view(bits), want)
    inplace = x.copy()
    fastact.hard_silu(inplace, out=inplace)
    np.testing.assert_array_equal(inplace.view(bits), want)


@pytest.mark.parametrize(("dtype", "underflow"), [(np.float32, -1e-40), (np.float64, -1e-310)])
def test_the_short_path_and_the_general_path_agree(dtype, underflow):
    # the short path: every x finite with |x| >= 2^-60; a tiny value, an infinity or
    # a NaN sends a block down the general one
    for outsider, result in ((1e-30, 5e-31), (underflow, -0.0), (np.inf, np.inf), (-np.inf, 0.0)):
        support.assert_short_and_general_paths_agree(fastact.hard_silu, 5.0, outsider, result, dtype)
    mixed = np.array([np.nan] + [1.5] * 15, dtype)
    out = fastact.hard_silu(mixed)
    assert np.isnan(out[0]) and (out[1:] == fastact.hard_silu(np.full(16, 1.5, dtype))[1:]).all()
