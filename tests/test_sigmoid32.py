"""The float32 sigmoid (fastact/_sigmoid32.py): monotone across its table seams, and
the AVX-512 block kernel equal bit for bit to its scalar twin; the same for the
float32 derivative (fastact/_logistic_grad32.py) and its fused backward block.

The accuracy itself is certified with the other kernels (test_accuracy, and the
exhaustive ``fastact verify``).  What a table-driven exp can additionally get
wrong is the seams between table entries (every ln2/16) and between binades of
the result, so every float32 in [-20, -2^-26] and [2^-26, 20] is checked in
order: sigmoid must never step down.
"""

from __future__ import annotations

import numpy as np
import support
from numba import njit

import fastact
from fastact._logistic_grad32 import sigmoid_grad32
from fastact._sigmoid32 import sigmoid32

_descents = support.descent_counter(sigmoid32)


@njit
def _scalar_loop(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = sigmoid32(x[i])
    return out


def _bits(v: float) -> int:
    return int(np.float32(v).view(np.int32))


def test_monotone_over_every_float32_in_the_bulk():
    # from 2^-26 (below it sigmoid(x) rounds to 1/2) to 20 (beyond every seam
    # that matters: the result is 1 - e or e there), both signs
    assert _descents(_bits(2.0**-26), _bits(20.0), False) == 0
    assert _descents(_bits(2.0**-26), _bits(20.0), True) == 0


def test_the_scan_finds_a_descent():
    # the same scan on a function with one step down (at x = 1, and at x = -1 in
    # increasing x) must report exactly that one
    @njit
    def stepped(x):
        return x - np.float32(0.5) if x > np.float32(1.0) else (x + np.float32(0.5) if x < np.float32(-1.0) else x)

    scan = support.descent_counter(stepped)
    assert scan(_bits(0.5), _bits(2.0), False) == 1
    assert scan(_bits(0.5), _bits(2.0), True) == 1
    assert scan(_bits(0.5), _bits(0.9), False) == 0


def test_block_kernel_equals_scalar_kernel():
    # every 61st float32 bit pattern (70 million values: all binades, both signs,
    # NaNs and infinities), through the ufunc (the block kernel where the CPU has
    # AVX-512) and through the scalar kernel called from compiled code (a Python
    # call would pass signalling NaNs through a Python float, which quiets them)
    x = np.arange(0, 2**32, 61, dtype=np.uint64).astype(np.uint32).view(np.float32)
    got = fastact.sigmoid(x)
    np.testing.assert_array_equal(_scalar_loop(x).view(np.uint32), got.view(np.uint32))


@njit
def _scalar_grad_loop(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = sigmoid_grad32(x[i])
    return out


def test_grad_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.sigmoid_grad, _scalar_grad_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.sigmoid_backward, _scalar_grad_loop)


def test_grad_short_path_and_general_path_agree():
    # blocks with every |x| in [2^-30, 27] take the short path; one lane outside
    # sends the block down the general one: the same x must give the same bits
    rng = np.random.default_rng(10)
    inside = rng.uniform(-27, 27, 16 * 4096).astype(np.float32)
    mixed = inside.copy()
    mixed[::16] = np.float32(-np.inf)
    a, b = fastact.sigmoid_grad(inside), fastact.sigmoid_grad(mixed)
    keep = np.ones(inside.size, bool)
    keep[::16] = False
    np.testing.assert_array_equal(a[keep].view(np.uint32), b[keep].view(np.uint32))
    assert (b[::16] == 0).all()


def test_grad_decreases_with_abs_x_over_every_float32():
    # sigmoid' = e / (1 + e)^2 falls as |x| grows: every float32 in [2^-30, 88] in
    # order (across the exp table's seams and the result's binades), none rising
    lo, hi = int(np.float32(2.0**-30).view(np.int32)), int(np.float32(88.0).view(np.int32))
    step = 1 << 24
    for start in range(lo, hi, step):  # chunks overlapping by one value
        x = np.arange(start, min(start + step + 1, hi), dtype=np.int32).view(np.float32)
        assert (np.diff(fastact.sigmoid_grad(x)) <= 0).all(), start


@njit
def _scalar_log_sigmoid_grad_loop(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = sigmoid32(-x[i])
    return out


def test_log_sigmoid_grad_block_is_the_sigmoid_of_minus_x():
    # log_sigmoid' = sigmoid(-x): the sigmoid block on the sign-flipped bits
    support.assert_block_equals_scalar(fastact.log_sigmoid_grad, _scalar_log_sigmoid_grad_loop)


def test_log_sigmoid_backward_block_layouts():
    # support's check expects f'(-inf) = 0 (an infinite grad_out there is blocked);
    # log_sigmoid' is 1 at -inf, so the check runs on mirrored inputs:
    # log_sigmoid_backward(g, -x) = g * sigmoid(x), compared with the float32 sigmoid.
    # (-x of a strided x is a contiguous copy: grad_out alone is strided here.)
    def mirrored(g, x, out=None):
        if out is None:
            return fastact.log_sigmoid_backward(g, -x)
        if out is x:  # in place on x: negate in place first, then compute in place
            np.negative(x, out=x)
            return fastact.log_sigmoid_backward(g, x, out=x)
        return fastact.log_sigmoid_backward(g, -x, out=out)

    support.assert_backward_block_layouts(mirrored, _scalar_loop)
