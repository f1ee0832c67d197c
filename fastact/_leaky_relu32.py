"""float32 leaky_relu at the default slope 0.01 as an AVX-512 block kernel: the
arithmetic of ``kernels.rectifiers._leaky_relu`` (its scalar twin, for single
values, loop remainders, other slopes and CPUs without AVX-512), operation for
operation.

The scalar kernel is x for x > 0 and ``_core.slope_product(x, slope)`` otherwise:
x * slope, except that |x| below the bound where the exact product leaves the
normal range gives a signed zero (no underflow flag, no subnormal).  For slope
0.01 that bound is the bit pattern ``_FLUSH_BELOW_BITS`` (|x| ~ 1.2e-36), and no
product can overflow.  A block whose 16 values are all finite with |x| at or
above the bound (the usual one) takes the short path: one product and one
select, 6 vector operations per 16 values with the loads, the store and the test
instead of 10, which is what kept the kernel at 1.5 memory copies at 10^6.
A NaN is x itself where positive and x * slope where negative (quieted, with the
*invalid* flag for a signalling one), as in the scalar kernel.
"""

from __future__ import annotations

import numpy as np
from numba.extending import intrinsic

from ._avx512 import F16, I16, block_intrinsic, splat_f, splat_i

__all__ = ["leaky_relu32_block16", "SLOPE", "FLUSH_BELOW_BITS"]

#: the default slope the block kernel computes with
SLOPE = np.float32(0.01)
#: |x| bit patterns below this give a signed zero for x < 0 (slope_product's lower
#: bound for SLOPE, ``_core._slope_limits``; tests/test_leaky_relu32.py checks it)
FLUSH_BELOW_BITS = 63438849
_SIGN = -(2**31)
_ABS = 0x7FFFFFFF
_MAX_FINITE_BITS = 0x7F7FFFFF


def _emit_leaky_relu(v, b, store):
    builder = v.builder
    ab = builder.and_(b, splat_i(_ABS))
    positive = builder.icmp_signed(">", b, splat_i(0))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False``: every x finite, |x| at or above
        the flush bound."""
        g = b
        if general:
            flushed = builder.icmp_signed("<", ab, splat_i(FLUSH_BELOW_BITS))
            g = builder.select(flushed, builder.and_(b, splat_i(_SIGN)), b)
        product = builder.bitcast(builder.fmul(builder.bitcast(g, F16), splat_f(SLOPE)), I16)
        store(builder.select(positive, b, product))

    v.short_or_general(ab, FLUSH_BELOW_BITS, _MAX_FINITE_BITS, evaluate)


@intrinsic
def leaky_relu32_block16(typingctx, src, dst):
    """``dst[0:16] = leaky_relu(src[0:16], 0.01)`` for float32, as AVX-512 vector
    code (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_leaky_relu)
