"""The float32 tanh tables (fastact/_tanh32.py): monotone, and the AVX-512 block
kernel equal bit for bit to its scalar twin.

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
from fastact._tanh32 import tanh32

_descents = support.descent_counter(tanh32)


@njit
def _scalar_loop(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = tanh32(x[i])
    return out


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
    np.testing.assert_array_equal(got_contiguous.view(np.uint32), got_strided.view(np.uint32))
    # and the scalar kernel itself, called from compiled code (a Python call would
    # pass signalling NaNs through a Python float, which quiets them)
    np.testing.assert_array_equal(_scalar_loop(x).view(np.uint32), got_contiguous.view(np.uint32))
