"""The float32 derivatives of the exponential linear units (fastact/_exp_grad32.py):
elu' and celu' at alpha = 1 and selu'.  The AVX-512 block kernels equal bit for bit
to their scalar twins in every loop layout, the short and general paths agree,
alpha = 1 gives the same bits however it is passed, and the left tail keeps its
relative accuracy.

The accuracy itself is certified with the other kernels (test_accuracy, against
mpmath, and the exhaustive ``fastact verify``).
"""

from __future__ import annotations

import numpy as np
import support

import fastact
from fastact._exp_grad32 import exp_grad32
from fastact.kernels.elu import _selu_grad32

_exp_grad_loop = support.scalar_loop(exp_grad32)
_selu_grad_loop = support.scalar_loop(_selu_grad32)


def test_block_kernels_equal_scalar_kernels():
    support.assert_block_equals_scalar(fastact.elu_grad, _exp_grad_loop)
    support.assert_block_equals_scalar(fastact.celu_grad, _exp_grad_loop)
    support.assert_block_equals_scalar(fastact.selu_grad, _selu_grad_loop)


def test_backward_block_kernels_are_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.elu_backward, _exp_grad_loop)
    support.assert_backward_block_layouts(fastact.celu_backward, _exp_grad_loop)
    support.assert_backward_block_layouts(fastact.selu_backward, _selu_grad_loop)


def test_the_kinds_of_block_agree():
    # the short kind: every |x| in [2^-30, 87] (every result normal); an infinity or
    # a value past 87 makes a block wide (the clamp at 104 and the flush), a zero (or
    # a NaN) general
    for ufunc, at_zero in ((fastact.elu_grad, 1.0), (fastact.selu_grad, fastact.selu_grad(np.float32(-0.0)))):
        for bound in (87.0, 300.0):  # short blocks, wide blocks
            support.assert_short_and_general_paths_agree(ufunc, bound, 0.0, at_zero)
        support.assert_short_and_general_paths_agree(ufunc, 87.0, -np.inf, 0.0)
        support.assert_short_and_general_paths_agree(ufunc, 87.0, -200.0, 0.0)
        support.assert_short_and_general_paths_agree(ufunc, 87.0, -88.0, 0.0)  # flushed: below 1.2e-38


def test_short_blocks_reach_the_smallest_normal_results():
    # every float32 in [-87, -80] in blocks of 16 (short blocks), and each with one
    # lane past 87 (wide blocks), against the scalar kernels: normal results down
    # to exp(-87) = 1.6e-38
    x = np.arange(np.float32(80.0).view(np.int32), np.float32(87.0).view(np.int32) + 1, dtype=np.int32)
    x = -x.view(np.float32)
    x = x[: x.size - x.size % 16]
    wide = x.copy()
    wide[::16] = -1000.0
    for ufunc, loop in ((fastact.elu_grad, _exp_grad_loop), (fastact.selu_grad, _selu_grad_loop)):
        for values in (x, wide):
            support.assert_same_bits(ufunc(values), loop(values))
        assert (ufunc(x) >= np.finfo(np.float32).tiny).all()


def test_alpha_one_gives_the_same_bits_however_it_is_passed():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(10**5) * 20).astype(np.float32)
    for name in ("elu_grad", "celu_grad"):
        want = getattr(fastact, name)(x).view(np.uint32)
        raw = getattr(fastact.ufuncs, name)
        for got in (getattr(fastact, name)(x, 1.0), raw(x, np.float32(1)), raw(x, np.ones_like(x)), _exp_grad_loop(x)):
            np.testing.assert_array_equal(np.asarray(got).view(np.uint32), want)


def test_left_tail_is_within_0_56_ulp_down_to_the_smallest_normal():
    x = -np.linspace(0.0, 104.0, 400001).astype(np.float32)
    want = np.exp(x.astype(np.float64))
    normal = want >= np.finfo(np.float32).tiny
    got = fastact.elu_grad(x)
    err = np.abs(got[normal] - want[normal]) / np.spacing(want[normal].astype(np.float32)).astype(np.float64)
    assert err.max() <= 0.56
    np.testing.assert_array_equal(got[~normal].view(np.uint32), 0)
    # selu' = scale alpha exp(x) from x = 0 down, scale above
    sa = fastact.selu_grad(np.float32(0.0)).astype(np.float64)
    assert abs(sa - 1.0507009873554805 * 1.6732632423543772) < 2.0**-24
    assert (fastact.selu_grad(-x[1:]) == np.float32(1.0507009873554805)).all()
