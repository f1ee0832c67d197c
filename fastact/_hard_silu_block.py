"""hard_silu, x relu6(x + 3) / 6, as AVX-512 block kernels, float32 and float64:
the arithmetic of ``kernels.rectifiers._hard_silu`` (their scalar twin, for single
values, loop remainders and CPUs without AVX-512), operation for operation.

On the clipped t = clamp(x, -3, 3): t + 3 = s + s_err (Fast2Sum, exact), the
product t (s + s_err) = p_hi + p_lo (an FMA residual) and its product by
1/6 = c + c_lo, rounded once.  The scalar kernel clamps |x| to [2^-60, 3] on its
bit pattern and puts the sign back (below 2^-60 the result is x / 2, formed on the
bit pattern and flushed to a signed zero where subnormal), and returns x itself
from 3 on and for NaN.  A block whose 16 values all have |x| in [2^-60, 2^100]
(the usual one) takes the short path: no tiny or NaN case, and no select for
x >= 3 either: t is only clamped below, s = t + 3 is clamped to 6 and its error
taken against min(t, 3), so that there x 6 / 6 comes out as x itself; in float32
13 vector operations instead of 23 (14 with the select), which is what the
function costs against PyTorch's three roundings (x * min(max(x + 3, 0), 6) / 6,
up to 1.91 ULP; ours: one rounding of the exact t (t + 3), 0.5 ULP and a hair).
Rounding the product before the scaling (12 operations) reached
1.0000000075 ULP, beyond the 1 ULP certified for every float32 forward kernel,
and x times a rounded hard_sigmoid(x) (9) was not monotone: both measured and
dropped (docs/how-it-is-fast.md).
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
_SHORT_MAX = 2.0**100  # the short path's largest |x|
#: per dtype: the float type, |x| below which x / 2 is subnormal (flushed), the
#: exponent's unit in the bit pattern
_GEOMETRY = {
    "float32": (np.float32, np.int32, 2.0**-125, 1 << 23),
    "float64": (np.float64, np.int64, 2.0**-1021, 1 << 52),
}


def _bits(dtype: str, value: float) -> int:
    float_type, int_type = _GEOMETRY[dtype][:2]
    return int(float_type(value).view(int_type))


def _emit_hard_silu(v, b, store):
    builder = v.builder
    fma = v.fma
    _, _, half_normal, one_exponent = _GEOMETRY[v.dtype]
    tiny_bits, three_bits = _bits(v.dtype, _TINY), _bits(v.dtype, 3.0)
    three = v.splat_f(3.0)
    ab = builder.and_(b, v.splat_i(v.ABS))
    sign = builder.and_(b, v.splat_i(v.SIGN))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False``: every |x| in [2^-60, 2^100]."""
        if general:
            tb = v.smin(v.smax(ab, v.splat_i(tiny_bits)), v.splat_i(three_bits))
            t = builder.bitcast(builder.or_(tb, sign), v.F)
            s = builder.fadd(t, three)
            s_err = builder.fadd(builder.fsub(three, s), t)
        else:
            # t = max(x, -3) only, s = min(t + 3, 6): from x = 3 on, t (s + s_err) / 6
            # is x (6) / 6, whose exact value x the rounding returns (6x stays finite
            # below 2^100), so no select for x >= 3.  s + s_err = t + 3 where s is
            # not clamped, 6 where it is: s_err = (3 - s) + min(t, 3) in both cases
            # (the same bits as the general path, which clamps t to 3 and selects x).
            x = builder.bitcast(b, v.F)
            t = builder.select(builder.fcmp_ordered("<", x, v.splat_f(-3.0)), v.splat_f(-3.0), x)
            s = builder.fadd(t, three)
            s = builder.select(builder.fcmp_ordered(">", s, v.splat_f(6.0)), v.splat_f(6.0), s)
            t3 = builder.select(builder.fcmp_ordered(">", t, three), three, t)
            s_err = builder.fadd(builder.fsub(three, s), t3)
        p_hi = builder.fmul(t, s)
        p_lo = fma(t, s_err, fma(t, s, builder.fneg(p_hi)))
        c = v.splat_f(SIXTH[v.dtype])
        inner = fma(p_hi, c, fma(p_hi, v.splat_f(SIXTH_LO[v.dtype]), builder.fmul(p_lo, c)))
        rb = builder.bitcast(inner, v.I)
        if not general:
            store(rb)
            return
        keep = builder.icmp_signed(">=", b, v.splat_i(three_bits))  # x >= 3 (x > 0: bits order like x)
        half = builder.select(builder.icmp_signed("<", ab, v.splat_i(_bits(v.dtype, half_normal))), sign,
                              builder.sub(b, v.splat_i(one_exponent)))
        rb = builder.select(builder.icmp_signed("<", ab, v.splat_i(tiny_bits)), half, rb)
        keep = builder.or_(keep, builder.icmp_signed(">", ab, v.splat_i(v.INF_BITS)))
        store(builder.select(keep, b, rb))

    v.short_or_general(ab, tiny_bits, _bits(v.dtype, _SHORT_MAX), evaluate)


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
