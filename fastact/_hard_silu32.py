"""float32 hard_silu, x relu6(x + 3) / 6, as an AVX-512 block kernel: the arithmetic
of ``kernels.rectifiers._hard_silu`` (its scalar twin, for single values, loop
remainders and CPUs without AVX-512), operation for operation.

On the clipped t = clamp(x, -3, 3): t + 3 = s + s_err (Fast2Sum, exact), the
product t (s + s_err) = p_hi + p_lo (an FMA residual) and its product by
1/6 = c + c_lo, rounded once.  The scalar kernel clamps |x| to [2^-60, 3] on its
bit pattern and puts the sign back (below 2^-60 the result is x / 2, formed on the
bit pattern and flushed to a signed zero where subnormal), and returns x itself
from 3 on and for NaN.  A block whose 16 values are all finite with |x| >= 2^-60
(the usual one) takes the short path: the clamp as two float compares (the same
t there), no tiny or NaN case: 14 vector operations instead of 23, which is what
the function costs against PyTorch's three roundings (x * min(max(x + 3, 0), 6)
/ 6, up to 1.91 ULP; ours: one rounding of the exact t (t + 3), 0.5 ULP and a hair).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numba.extending import intrinsic

from ._avx512 import F16, I16, block_intrinsic, splat_f, splat_i

__all__ = ["hard_silu32_block16", "SIXTH32", "SIXTH_LO32"]

_F = np.float32
_SIGN = -(2**31)
_ABS = 0x7FFFFFFF
_INF_BITS = 0x7F800000
_MAX_FINITE_BITS = 0x7F7FFFFF
_ONE_EXPONENT = 1 << 23
_TINY_BITS = int(_F(2.0**-60).view(np.int32))  # below: x / 2
_HALF_NORMAL_BITS = int(_F(2.0**-125).view(np.int32))  # below: x / 2 is subnormal (flushed)
_THREE_BITS = int(_F(3.0).view(np.int32))
#: 1/6 = SIXTH32 + SIXTH_LO32 (float32 rounding and its error), also the float32
#: constants of the scalar kernels (kernels.rectifiers._SIXTH, _SIXTH_LO)
SIXTH32 = _F(1 / 6)
SIXTH_LO32 = _F(float(Fraction(1, 6) - Fraction(float(SIXTH32))))


def _emit_hard_silu(v, b, store):
    builder = v.builder
    fma = v.fma
    three = splat_f(3.0)
    ab = builder.and_(b, splat_i(_ABS))
    sign = builder.and_(b, splat_i(_SIGN))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False``: every x finite, |x| >= 2^-60."""
        if general:
            tb = v.smin(v.smax(ab, splat_i(_TINY_BITS)), splat_i(_THREE_BITS))
            t = builder.bitcast(builder.or_(tb, sign), F16)
        else:
            x = builder.bitcast(b, F16)
            t = builder.select(builder.fcmp_ordered(">", x, three), three, x)
            t = builder.select(builder.fcmp_ordered("<", t, splat_f(-3.0)), splat_f(-3.0), t)
        s = builder.fadd(t, three)
        s_err = builder.fadd(builder.fsub(three, s), t)
        p_hi = builder.fmul(t, s)
        p_lo = fma(t, s_err, fma(t, s, builder.fneg(p_hi)))
        c = splat_f(SIXTH32)
        inner = fma(p_hi, c, fma(p_hi, splat_f(SIXTH_LO32), builder.fmul(p_lo, c)))
        rb = builder.bitcast(inner, I16)
        keep = builder.icmp_signed(">=", b, splat_i(_THREE_BITS))  # x >= 3 (x > 0: bits order like x)
        if general:
            half = builder.select(builder.icmp_signed("<", ab, splat_i(_HALF_NORMAL_BITS)), sign,
                                  builder.sub(b, splat_i(_ONE_EXPONENT)))
            rb = builder.select(builder.icmp_signed("<", ab, splat_i(_TINY_BITS)), half, rb)
            keep = builder.or_(keep, builder.icmp_signed(">", ab, splat_i(_INF_BITS)))
        store(builder.select(keep, b, rb))

    v.short_or_general(ab, _TINY_BITS, _MAX_FINITE_BITS, evaluate)


@intrinsic
def hard_silu32_block16(typingctx, src, dst):
    """``dst[0:16] = hard_silu(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_hard_silu)
