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
from fastact._logistic_grad32 import sigmoid_grad32, tanh_grad32
from fastact._sigmoid32 import sigmoid32

_descents = support.descent_counter(sigmoid32)


_scalar_loop = support.scalar_loop(sigmoid32)


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
    support.assert_block_equals_scalar(fastact.sigmoid, _scalar_loop)


_scalar_grad_loop = support.scalar_loop(sigmoid_grad32)


def test_grad_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.sigmoid_grad, _scalar_grad_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.sigmoid_backward, _scalar_grad_loop)


def test_grad_short_path_and_general_path_agree():
    # the short path: every |x| in [2^-30, 27]
    support.assert_short_and_general_paths_agree(fastact.sigmoid_grad, 27.0, -np.inf, 0.0)


def test_grad_decreases_with_abs_x_over_every_float32():
    # sigmoid' = e / (1 + e)^2 falls as |x| grows: every float32 in [2^-30, 88] in
    # order (across the exp table's seams and the result's binades), none rising
    support.assert_non_increasing(fastact.sigmoid_grad, 2.0**-30, 88.0)


@njit(inline="always")
def _sigmoid_of_negated(x):
    return sigmoid32(-x)


_scalar_log_sigmoid_grad_loop = support.scalar_loop(_sigmoid_of_negated)


def test_log_sigmoid_grad_block_is_the_sigmoid_of_minus_x():
    # log_sigmoid' = sigmoid(-x): the sigmoid block on the sign-flipped bits
    support.assert_block_equals_scalar(fastact.log_sigmoid_grad, _scalar_log_sigmoid_grad_loop)


def test_log_sigmoid_backward_block_layouts():
    # log_sigmoid' = sigmoid(-x) is 0 at +inf: an infinite grad_out there is blocked
    support.assert_backward_block_layouts(
        fastact.log_sigmoid_backward, _scalar_log_sigmoid_grad_loop, zero_derivative_at=np.inf
    )


_scalar_sigmoid_loop = support.scalar_loop(sigmoid32)


def test_softplus_grad_at_beta_1_is_the_sigmoid_in_every_loop():
    # softplus' = sigmoid(beta x): at the default beta = 1 the sigmoid block serves
    # the loop with the defaults compiled in and the one with parameter arguments
    # where they are broadcast defaults; the scalar kernel takes the float32
    # sigmoid at beta = 1 too (per-element parameters, other CPUs)
    support.assert_block_equals_scalar(fastact.softplus_grad, _scalar_sigmoid_loop)
    x = np.arange(3, 2**32, 4099, dtype=np.uint64).astype(np.uint32).view(np.float32)
    want = _scalar_sigmoid_loop(x).view(np.uint32)
    raw = fastact.ufuncs.softplus_grad
    for got in (
        raw(x, 1.0, 20.0),  # broadcast defaults: the block
        raw(x, np.float32(1), np.float32(20)),
        raw(x, np.ones_like(x), 20.0),  # per element: the scalar kernel
        raw(x, 1.0, 30.0),  # threshold (ignored) not the default: the scalar kernel
        np.concatenate([raw(x[:-1:2], 1.0, 20.0)[:, None], raw(x[1::2], 1.0, 20.0)[:, None]], axis=1).ravel(),
    ):
        np.testing.assert_array_equal(got.view(np.uint32)[: want.size], want[: got.size])
    # another beta is still sigmoid(beta x) from the double-word quotient, accurate
    # within 1 ULP of the float64 evaluation (below the smallest normal: flushed)
    x = x[np.isfinite(x)]  # (a signalling NaN raises *invalid* in the float64 conversion)
    got = raw(x, 2.0, 20.0)
    exact = fastact.softplus_grad(x.astype(np.float64), 2.0)
    assert (np.abs(got - exact) <= np.maximum(np.spacing(got), np.finfo(np.float32).tiny)).all()


def test_softplus_backward_block_layouts():
    # softplus' = sigmoid(x) at beta = 1 is 0 at -inf: an infinite grad_out there is blocked
    support.assert_backward_block_layouts(fastact.softplus_backward, _scalar_sigmoid_loop, zero_derivative_at=-np.inf)


def test_saturated_blocks_equal_the_scalar_kernel_on_every_value():
    # blocks in which every |x| >= 21 take the saturated path (1 + e rounds to 1, no
    # division), blocks with one lane below 21 the general path: both against the
    # scalar kernel on every float32 with 21 <= |x| <= 200 and the infinities;
    # log_sigmoid' takes the same blocks on -x
    x, mixed = support.saturated_blocks32(21.0, 20.5)
    for xs in (x, mixed):
        expected = _scalar_loop(xs).view(np.uint32)
        np.testing.assert_array_equal(fastact.sigmoid(xs).view(np.uint32), expected)
        np.testing.assert_array_equal(fastact.log_sigmoid_grad(-xs).view(np.uint32), expected)
    # 1 for x >= 21; for x <= -21 the exp tail, normal down to where it flushes to +0
    assert (fastact.sigmoid(x[x > 0]) == 1.0).all()
    support.assert_flushes_from_one_threshold(fastact.sigmoid(np.sort(x[x < 0])[::-1]))


def test_saturated_derivative_blocks_equal_the_scalar_kernels_on_every_value():
    # sigmoid' from |x| = 21 on and tanh' from 10.5 on (1 + e rounds to 1 there):
    # saturated blocks skip the division, blocks with one lane below take the
    # general path; every float32 up to 200 and the infinities, both signs
    for fn, kernel, lo in ((fastact.sigmoid_grad, sigmoid_grad32, 21.0), (fastact.tanh_grad, tanh_grad32, 10.5)):
        scalar = support.scalar_loop(kernel)
        x, mixed = support.saturated_blocks32(lo, 0.9 * lo)
        for xs in (x, mixed):
            support.assert_same_bits(fn(xs), scalar(xs))
        tail = fn(np.sort(np.abs(x)))
        assert (np.diff(tail) <= 0).all()
        support.assert_flushes_from_one_threshold(tail)


def test_wide_derivative_blocks_equal_the_scalar_kernels_on_every_value():
    # blocks with every |x| up to 87 (sigmoid') or 43 (tanh'), some past the short
    # path's range and one lane at 1.5 (not saturated): the short path with the
    # floor on k (results still normal), as wide N(0, 10^2) inputs take it; every
    # float32 from the short range's end to there, both signs, and with one lane
    # just past it (the general path)
    for fn, kernel, fast_hi, wide_hi in ((fastact.sigmoid_grad, sigmoid_grad32, 27.0, 87.0),
                                         (fastact.tanh_grad, tanh_grad32, 13.5, 43.0)):
        scalar = support.scalar_loop(kernel)
        x = np.arange(np.float32(fast_hi).view(np.int32), np.float32(wide_hi).view(np.int32) + 1, dtype=np.int32)
        x = x.view(np.float32)
        x = support.scrambled(np.concatenate([x, -x]))
        x[::16] = np.float32(1.5)
        past = x.copy()
        past[1::16] = np.nextafter(np.float32(wide_hi), np.float32(np.inf))
        for xs in (x, past):
            support.assert_same_bits(fn(xs), scalar(xs))
        assert (fn(x) >= np.finfo(np.float32).tiny).all()


def test_exp_table_and_ln2_are_the_correctly_rounded_values():
    """2^(j/16) and ln 2 in float64 are literals, correctly rounded (checked here
    at 200 bits), not NumPy's exp2 and log at import: those round differently
    under NumPy's AVX-512 and AVX2 dispatch, so the tables' low parts, and with
    them the kernels' results, could have differed between machines."""
    import mpmath as mp

    from fastact import _sigmoid32 as s

    with mp.workprec(200):
        want = [float(mp.mpf(2) ** (mp.mpf(j) / 16)) for j in range(16)]
        assert s._T64.tolist() == want
        assert s._LN2_64 == float(mp.log(2))
    assert np.array_equal(s._T_HI, s._T64.astype(np.float32))
    assert np.array_equal(s._T_LO, (s._T64 - s._T_HI.astype(np.float64)).astype(np.float32))
