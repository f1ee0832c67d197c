"""leaky_relu at the default slope 0.01 as AVX-512 block kernels, float32 and
float64: the arithmetic of ``kernels.rectifiers._leaky_relu`` (their scalar twin,
for single values, loop remainders, other slopes and CPUs without AVX-512),
operation for operation.

The scalar kernel is x for x > 0 and ``_core.slope_product(x, slope)`` otherwise:
x * slope, except that |x| below the bound where the exact product leaves the
normal range gives a signed zero (no underflow flag, no subnormal).  For slope
0.01 that bound is the bit pattern ``FLUSH_BELOW_BITS[dtype]`` (|x| ~ 1.2e-36 in
float32, 2.2e-306 in float64), and no product can overflow.  Every block takes
one path, without a branch: the flush is one compare and one masked and (the
sign kept), the product one multiply, the result one select; the float64 scalar
loop LLVM vectorizes takes 15 operations per 8 values (two compares, a mask
merge and two selects for the flush and the saturation test that slope_product
needs for an arbitrary slope).  A short path without the flush, behind a range
test per block, saved nothing (the test costs what the flush does) and cost a
mispredicted branch per block that holds a tiny value, a NaN or an infinity:
at 10^6, one thread, the single path takes 0.96x (float32) and 0.99x (float64)
of its time on N(0, 4^2) inputs.  A NaN is x itself where positive and
x * slope where negative (quieted, with the *invalid* flag for a signalling
one), as in the scalar kernel.
"""

from __future__ import annotations

import numpy as np
from numba.extending import intrinsic

from ._avx512 import block_intrinsic

__all__ = ["leaky_relu32_block16", "leaky_relu64_block16", "SLOPE", "FLUSH_BELOW_BITS"]

#: the default slope the block kernels compute with, per dtype
SLOPE = {"float32": np.float32(0.01), "float64": np.float64(0.01)}
#: |x| bit patterns below this give a signed zero for x < 0 (slope_product's lower
#: bound for SLOPE, ``_core._slope_limits``; tests/test_leaky_relu_block.py checks it)
FLUSH_BELOW_BITS = {"float32": 63438849, "float64": 34058472181989376}


def _emit_leaky_relu(v, b, store):
    builder = v.builder
    flush_bits = FLUSH_BELOW_BITS[v.dtype]
    ab = builder.and_(b, v.splat_i(v.ABS))
    positive = builder.icmp_signed(">", b, v.splat_i(0))

    flushed = builder.icmp_signed("<", ab, v.splat_i(flush_bits))
    g = builder.select(flushed, builder.and_(b, v.splat_i(v.SIGN)), b)
    product = builder.bitcast(builder.fmul(builder.bitcast(g, v.F), v.splat_f(SLOPE[v.dtype])), v.I)
    store(builder.select(positive, b, product))


@intrinsic
def leaky_relu32_block16(typingctx, src, dst):
    """``dst[0:16] = leaky_relu(src[0:16], 0.01)`` for float32, as AVX-512 vector
    code (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_leaky_relu, "float32")


@intrinsic
def leaky_relu64_block16(typingctx, src, dst):
    """``dst[0:16] = leaky_relu(src[0:16], 0.01)`` for float64, as AVX-512 vector
    code (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_leaky_relu, "float64")
