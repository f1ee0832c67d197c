"""The float32 tanh tables (fastact/_tanh32.py): monotone, and the AVX-512 block
kernel equal bit for bit to its scalar twin; the same for the float32 derivative
(fastact/_logistic_grad32.py) and its fused backward block.

The accuracy itself is certified with the other kernels (test_accuracy, and the
exhaustive ``fastact verify``); what a piecewise polynomial can additionally get
wrong is the seams: a step down where one interval's polynomial hands over to the
next, or a dip below 1 after the first rounded 1.  So every float32 in [0, 12] is
checked in order.
"""

from __future__ import annotations

import numpy as np
import support
from numba import njit

import fastact
from fastact._logistic_grad32 import tanh_grad32
from fastact._tanh32 import tanh32

_descents = support.descent_counter(tanh32)


_scalar_loop = support.scalar_loop(tanh32)


def _bits(v: float) -> int:
    return int(np.float32(v).view(np.int32))


def test_monotone_over_every_float32_up_to_saturation():
    assert _descents(0, _bits(12.0), False) == 0


def test_the_scan_finds_a_descent():
    # the same scan on a function with one step down (at x = 1) must report it,
    # and none on a stretch without it
    @njit
    def stepped(x):
        return x - np.float32(0.5) if x > np.float32(1.0) else x

    scan = support.descent_counter(stepped)
    assert scan(_bits(0.5), _bits(2.0), False) == 1
    assert scan(_bits(0.5), _bits(1.0), False) == 0


def test_block_kernel_equals_scalar_kernel():
    # every 61st float32 bit pattern (70 million values: all binades, both signs,
    # NaNs and infinities): contiguous arrays take the block kernel where the CPU
    # has AVX-512, a stride-2 view the scalar loop
    x = np.arange(0, 2**32, 61, dtype=np.uint64).astype(np.uint32).view(np.float32)
    spread = np.empty(2 * x.size, np.float32)
    spread[::2] = x
    got_contiguous = fastact.tanh(x)
    got_strided = fastact.tanh(spread[::2])
    support.assert_same_bits(got_contiguous, got_strided)
    # and the scalar kernel itself, called from compiled code
    support.assert_same_bits(_scalar_loop(x), got_contiguous)


_scalar_grad_loop = support.scalar_loop(tanh_grad32)


def test_grad_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.tanh_grad, _scalar_grad_loop)


def test_backward_block_kernel_is_grad_out_times_the_scalar_derivative():
    support.assert_backward_block_layouts(fastact.tanh_backward, _scalar_grad_loop)


def test_grad_short_path_and_general_path_agree():
    # the short path: every |x| in [2^-31, 13.5]
    support.assert_short_and_general_paths_agree(fastact.tanh_grad, 13.5, np.inf, 0.0)


def test_grad_decreases_with_abs_x_over_every_float32():
    # tanh' = 4 e / (1 + e)^2 falls as |x| grows: every float32 in [2^-31, 44] in
    # order (across the exp table's seams and the result's binades), none rising
    support.assert_non_increasing(fastact.tanh_grad, 2.0**-31, 44.0)
