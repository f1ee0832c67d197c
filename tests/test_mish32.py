"""The float32 mish (fastact/_mish32.py): the AVX-512 block kernel equal bit for bit
to its scalar twin in every loop layout, its short and general paths in agreement,
and its tails and tiny inputs.

The accuracy itself is certified with the other kernels (test_accuracy, against
mpmath, and the exhaustive ``fastact verify``).
"""

from __future__ import annotations

import numpy as np
import support

import fastact
from fastact._mish32 import mish32

_scalar_loop = support.scalar_loop(mish32)


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.mish, _scalar_loop)


def test_the_short_path_and_the_general_path_agree():
    # the short path: every |x| in [2^-40, 27]; an infinity, a tiny value or a value
    # past 27 sends a block down the general one
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, np.inf, np.inf)
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, -np.inf, 0.0)
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, 1e-30, np.float32(1e-30) * np.float32(0.6))
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, 50.0, 50.0)


def test_tiny_inputs_are_three_fifths_of_x_rounded_once():
    # tanh(softplus(0)) = tanh(ln 2) = 3/5; below 2^-40 mish(x) = 0.6 x to the last
    # bit, x scaled by 2^64 inside so that nothing underflows, flushed to +0 below
    # the smallest normal number
    x = np.exp2(np.arange(-125.0, -40.0, 0.37)).astype(np.float32)
    for s in (x, -x):
        want = (s.astype(np.float64) * 0.6).astype(np.float32)
        np.testing.assert_array_equal(fastact.mish(s), want)
    sub = np.array([1e-45, -1e-45, 1e-39, -1e-39, 0.0, -0.0, np.finfo(np.float32).tiny], np.float32)
    got = fastact.mish(sub)
    np.testing.assert_array_equal(got.view(np.uint32), np.zeros(sub.size, np.uint32))


def test_left_tail_keeps_relative_accuracy_down_to_the_smallest_normal():
    # mish(x) = x e^x (1 + O(e^x)) there; every result within 0.6 ULP of float64
    x = -np.linspace(20.0, 87.0, 100003).astype(np.float32)
    want = x.astype(np.float64) * np.tanh(np.log1p(np.exp(x.astype(np.float64))))
    normal = np.abs(want) >= np.finfo(np.float32).tiny
    got = fastact.mish(x)
    assert normal.sum() > 90000
    err = np.abs(got[normal].astype(np.float64) - want[normal]) / np.spacing(np.abs(got[normal]))
    assert err.max() <= 0.6
    assert (got[~normal] == 0).all() and not np.signbit(got[~normal]).any()
