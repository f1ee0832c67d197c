"""hard_silu, x relu6(x + 3) / 6, as AVX-512 block kernels, float32 and float64:
the arithmetic of ``kernels.rectifiers._hard_silu`` (their scalar twin, for single
values, loop remainders and CPUs without AVX-512), operation for operation.

hard_silu(x) = x h with h = hard_sigmoid(x) = clamp((x + 3) / 6, 0, 1): x + 3 =
s + s_err (Fast2Sum, exact for |x| <= 3), its product by 1/6 = c + c_lo rounded
once, then x h rounded once: within 1.5 ULP (1.492 over every float32; PyTorch's
x * min(max(x + 3, 0), 6) / 6 rounds three times and reaches 1.91).  The scalar
kernel clamps |x| to [2^-60, 3] on its bit pattern and puts the sign back (h is
then in [0, 1] by itself; below 2^-60 the result is x / 2, formed on the bit
pattern and flushed to a signed zero where subnormal), and returns x itself from 3
on and for NaN.  A block whose 16 values are all finite with |x| >= 2^-60 (the
usual one) takes the short path on x itself and clamps h instead (vmaxps,
vminps): x h is x from 3 on (h = 1) and x h + 0 is +0 from -3 down (h = 0), the
scalar kernel's bits, with no select: 9 vector operations from the load to the
store.  The compensated form t (t + 3) / 6 (the product a double word, 0.500 ULP)
took 13 and 1.13x PyTorch's time at 10^6 float32, where the data sit in the L3
cache and the operations count; this one 0.91x (median of 5 runs, one thread).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numba.extending import intrinsic

from ._avx512 import block_intrinsic

__all__ = ["hard_silu32_block16", "hard_silu64_block16", "SIXTH", "SIXTH_LO"]

#: 1/6 = SIXTH + SIXTH_LO per dtype (the rounding and its error), also the
#: constants of the scalar kernels (kernels.rectifiers._SIXTH, _SIXTH_LO)
SIXTH = {"float32": np.float32(1 / 6), "float64": np.float64(1 / 6)}
SIXTH_LO = {dt: type(c)(float(Fraction(1, 6) - Fraction(float(c)))) for dt, c in SIXTH.items()}

_TINY = 2.0**-60  # below: x / 2
#: per dtype: the float type, |x| below which x / 2 is subnormal (flushed), the
#: exponent's unit in the bit pattern, the largest finite bit pattern
_GEOMETRY = {
    "float32": (np.float32, np.int32, 2.0**-125, 1 << 23, 0x7F7FFFFF),
    "float64": (np.float64, np.int64, 2.0**-1021, 1 << 52, 0x7FEFFFFFFFFFFFFF),
}


def _bits(dtype: str, value: float) -> int:
    float_type, int_type = _GEOMETRY[dtype][:2]
    return int(float_type(value).view(int_type))


def _emit_hard_silu(v, b, store):
    builder = v.builder
    fma = v.fma
    _, _, half_normal, one_exponent, max_finite_bits = _GEOMETRY[v.dtype]
    tiny_bits, three_bits = _bits(v.dtype, _TINY), _bits(v.dtype, 3.0)
    three = v.splat_f(3.0)
    ab = builder.and_(b, v.splat_i(v.ABS))
    sign = builder.and_(b, v.splat_i(v.SIGN))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False``: every x finite, |x| >= 2^-60."""
        if general:
            tb = v.smin(v.smax(ab, v.splat_i(tiny_bits)), v.splat_i(three_bits))
            t = builder.bitcast(builder.or_(tb, sign), v.F)
        else:
            t = builder.bitcast(b, v.F)  # x itself: h is clamped below instead
        s = builder.fadd(t, three)
        s_err = builder.fadd(builder.fsub(three, s), t)
        c = v.splat_f(SIXTH[v.dtype])
        h = fma(s, c, fma(s, v.splat_f(SIXTH_LO[v.dtype]), builder.fmul(s_err, c)))
        if not general:
            # h = hard_sigmoid(x): 1 from x = 3 on (x h = x) and +0 from -3 down
            # (x h + 0 = +0); the selects are vmaxps / vminps (no NaN here)
            zero, one = v.splat_f(0.0), v.splat_f(1.0)
            h = builder.select(builder.fcmp_ordered("<", h, zero), zero, h)
            h = builder.select(builder.fcmp_ordered(">", h, one), one, h)
            store(builder.bitcast(fma(t, h, v.splat_f(0.0)), v.I))
            return
        rb = builder.bitcast(fma(t, h, v.splat_f(0.0)), v.I)
        half = builder.select(builder.icmp_signed("<", ab, v.splat_i(_bits(v.dtype, half_normal))), sign,
                              builder.sub(b, v.splat_i(one_exponent)))
        rb = builder.select(builder.icmp_signed("<", ab, v.splat_i(tiny_bits)), half, rb)
        # x itself from 3 on (x > 0: bits order like x) and for NaN
        keep = builder.or_(builder.icmp_signed(">=", b, v.splat_i(three_bits)),
                           builder.icmp_signed(">", ab, v.splat_i(v.INF_BITS)))
        store(builder.select(keep, b, rb))

    v.short_or_general(ab, tiny_bits, max_finite_bits, evaluate)


@intrinsic
def hard_silu32_block16(typingctx, src, dst):
    """``dst[0:16] = hard_silu(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_hard_silu, "float32")


@intrinsic
def hard_silu64_block16(typingctx, src, dst):
    """``dst[0:16] = hard_silu(src[0:16])`` for float64, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_hard_silu, "float64")
