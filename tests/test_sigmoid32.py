"""The float32 sigmoid (fastact/_sigmoid32.py): monotone across its table seams, and
the AVX-512 block kernel equal bit for bit to its scalar twin.

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
