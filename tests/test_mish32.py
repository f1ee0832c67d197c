"""The float32 mish and mish' (fastact/_mish32.py): the AVX-512 block kernels equal
bit for bit to their scalar twins in every loop layout, their short and general
paths in agreement, the tails and tiny inputs, and the near-root polynomial of
mish' in agreement with the general formula at the edges of its window.

The accuracy itself is certified with the other kernels (test_accuracy, against
mpmath, and the exhaustive ``fastact verify``).
"""

from __future__ import annotations

import numpy as np
import support

import fastact
from fastact._mish32 import mish32, mish_grad32

_scalar_loop = support.scalar_loop(mish32)
_scalar_grad_loop = support.scalar_loop(mish_grad32)


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.mish, _scalar_loop)


def test_grad_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.mish_grad, _scalar_grad_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.mish_backward, _scalar_grad_loop)


def test_the_short_path_and_the_general_path_agree():
    # the short path: every |x| in [2^-40, 27]; an infinity, a tiny value or a value
    # past 27 sends a block down the general one
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, np.inf, np.inf)
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, -np.inf, 0.0)
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, 1e-30, np.float32(1e-30) * np.float32(0.6))
    support.assert_short_and_general_paths_agree(fastact.mish, 27.0, 50.0, 50.0)
    support.assert_short_and_general_paths_agree(fastact.mish_grad, 27.0, np.inf, 1.0)
    support.assert_short_and_general_paths_agree(fastact.mish_grad, 27.0, -np.inf, 0.0)
    support.assert_short_and_general_paths_agree(fastact.mish_grad, 27.0, 1e-30, np.float32(0.6))


def test_grad_root_branch_and_the_general_formula_give_the_same_bits():
    # the near-root polynomial runs only in blocks with a lane within 2^-3 of x0:
    # the other lanes of a block must not notice which way it went
    rng = np.random.default_rng(8)
    far = rng.uniform(-10, 10, 16 * 4096).astype(np.float32)
    far[(far > -1.33) & (far < -1.05)] = np.float32(2.0)  # no lane near the root
    near = far.copy()
    near[1::16] = rng.uniform(-1.31, -1.07, 4096).astype(np.float32)  # one per block
    a, c = fastact.mish_grad(near), fastact.mish_grad(far)
    keep = np.ones(near.size, bool)
    keep[1::16] = False
    support.assert_same_bits(a[keep], c[keep])


def test_grad_near_the_root_and_at_the_window_edges_is_within_0_7_ulp():
    # the polynomial inside |x - x0| <= 2^-3 and the quotient outside, against the
    # float64 kernel (within 1 float64 ULP); x0 itself: mish'(float32(x0)) = 8.1e-10
    x0 = -1.1924312145154952
    xs = [np.float32(x0) + np.arange(-4096, 4097, dtype=np.float32) * np.spacing(np.float32(x0))]
    for edge in (x0 - 2.0**-3, x0 + 2.0**-3):
        xs.append(np.float32(edge) + np.arange(-4096, 4097, dtype=np.float32) * np.spacing(np.float32(edge)))
    xs.append(np.linspace(-1.7, -0.7, 200001).astype(np.float32))
    x = np.concatenate(xs)
    got = fastact.mish_grad(x).astype(np.float64)
    want = fastact.mish_grad(x.astype(np.float64))
    assert (np.abs(got - want) <= 0.7 * np.spacing(np.abs(want).astype(np.float32))).all()


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


def test_saturated_blocks_equal_the_scalar_kernel_on_every_value():
    # blocks in which every |x| >= 21 take the saturated path (D rounds to 2 or 1,
    # no division), blocks with one lane below 21 the general path:
    # both against the scalar kernel on every float32 with 21 <= |x| <= 200 and the
    # infinities; x itself for x >= 21, the negative tail flushing from one threshold
    support.assert_saturated_gate32(fastact.mish, _scalar_loop)
