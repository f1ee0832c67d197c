"""The float32 silu (fastact/_silu32.py): monotone on each side of its minimum
across the exp table's seams, and the AVX-512 block kernel equal bit for bit to
its scalar twin.

The accuracy itself is certified with the other kernels (test_accuracy, and the
exhaustive ``fastact verify``).  silu falls from 0 to its minimum -0.2785 at
x0 = -1.27846 and rises everywhere else; a table-driven exp can step the wrong
way at a seam (every ln2/16) or at a binade of the result, so every float32 in
[2^-26, 20], in [-1.27, -2^-26] and in [-20, -1.29] is checked in order.
"""

from __future__ import annotations

import numpy as np
import support
from numba import njit

import fastact
from fastact._silu32 import silu32

_descents = support.descent_counter(silu32)


@njit(inline="always")
def _negated(x):
    return -silu32(x)


_descents_negated = support.descent_counter(_negated)


_scalar_loop = support.scalar_loop(silu32)


def _bits(v: float) -> int:
    return int(np.float32(v).view(np.int32))


def test_rises_over_every_float32_where_silu_rises():
    assert _descents(_bits(2.0**-26), _bits(20.0), False) == 0
    assert _descents(_bits(2.0**-26), _bits(1.27), True) == 0


def test_falls_over_every_float32_left_of_the_minimum():
    # -silu rises for x < x0: the same scan on the negated kernel
    assert _descents_negated(_bits(1.29), _bits(20.0), True) == 0
    # and the scan sees the turn: across x0 silu itself is not monotone
    assert _descents(_bits(1.0), _bits(1.5), True) > 0


def test_block_kernel_equals_scalar_kernel():
    support.assert_block_equals_scalar(fastact.silu, _scalar_loop)


def test_the_short_path_and_the_general_path_agree_at_their_edges():
    # the short path: every |x| in [2^-30, 27]; silu(1000) = 1000
    support.assert_short_and_general_paths_agree(fastact.silu, 27.0, 1000.0, 1000.0)


def test_saturated_blocks_equal_the_scalar_kernel_on_every_value():
    # blocks in which every |x| >= 21 take the saturated path (1 + e rounds to 1, no
    # division), blocks with one lane below 21 the general path:
    # both against the scalar kernel on every float32 with 21 <= |x| <= 200 and the
    # infinities; x itself for x >= 21, the negative tail flushing from one threshold
    support.assert_saturated_gate32(fastact.silu, _scalar_loop)
