"""float32 silu, x * sigmoid(x), within 1 ULP at the speed of the float32 sigmoid.

The same table-driven exp as ``_sigmoid32`` (exp(-|x|) = 2^k (E_hi + E_lo), a
double word, never rounded) and the same corrected division; only the numerator
changes:

    x >= 0:  |x| / (1 + e)
    x <  0:  -2^k |x| E / (1 + e)        (E = e * 2^-k in [0.97, 1.96])

|x| E is kept as a double word (an FMA residual and |x| E_lo), so the quotient is
rounded once; 2^k is applied last on the bit pattern, so the negative tail keeps
its relative accuracy down to the smallest normal number (silu(-90) = -7.3e-38),
and results below it flush to +0 like every fastact kernel.  Below |x| = 2^-30
silu(x) rounds to x / 2 (the next term, x^2 / 4, is below a quarter ULP), formed
on the bit pattern (+-0 where x / 2 is subnormal); above 104 it is x (x >= 0) or
the flushed +0 (x < 0).

The generic kernel (``kernels.gated._silu``, still used for float64) builds e
from a double-word exp and a general double-word quotient: twice the time of
this one in float32, for the same accuracy.  :func:`silu32_block16` is the same
arithmetic as :func:`silu32`, operation for operation, so every layout gives
bitwise the same results.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

from ._avx512 import BLOCK, F16, I16, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import (
    _LIMIT_BITS,
    _MIN_NORMAL_BITS,
    _TINY_BITS,
    emit_exp_neg_table32,
    emit_quotient32,
    exp_neg_table32,
    quotient32,
)

__all__ = ["silu32", "silu32_block16"]

_F = np.float32
_SIGN = np.int32(-(2**31))
_ABS = np.int32(0x7FFFFFFF)
_INF_BITS = 0x7F800000
# |x| below 2^-125: x / 2 is subnormal, flushed to a signed zero
_HALF_NORMAL_BITS = 0x01000000
_ONE_EXPONENT = 1 << 23
# Up to |x| = 27 (k >= -39) and from 2^-30 on, the block kernel's common path
# leaves out the clamps, the floor on k, the flush and the three final selects.
_FAST_LO_BITS = _TINY_BITS
_FAST_HI_BITS = int(_F(27.0).view(np.int32))


@njit(**JIT_OPTIONS)
def silu32(x):
    """x / (1 + exp(-x)) of a float32 value, within 1 ULP (the scalar twin of
    :func:`silu32_block16`)."""
    one = _F(1)
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    a = float_from_bits(cb, x)  # |x|, clamped to [2^-30, 104]
    e_hi, e_lo, k, s = exp_neg_table32(cb, x)
    neg = b < np.int32(0)
    m_hi = _select(neg, e_hi, one)
    m_lo = _select(neg, e_lo, _F(0))
    num_hi = a * m_hi
    num_lo = fma(a, m_hi, -num_hi) + a * m_lo
    q = quotient32(num_hi, num_lo, e_hi, e_lo, s)
    rb = float_bits(q) + (_select(neg, k, np.int32(0)) << np.int32(23))
    rb = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb | (b & _SIGN))
    half = _select(ab < np.int32(_HALF_NORMAL_BITS), b & _SIGN, b - np.int32(_ONE_EXPONENT))
    rb = _select(ab < np.int32(_TINY_BITS), half, rb)
    # x itself above the clamp for x >= 0 (inf included), and NaN in, NaN out
    keep = ((ab > np.int32(_LIMIT_BITS)) & (b >= np.int32(0))) | (ab > np.int32(_INF_BITS))
    return float_from_bits(_select(keep, b, rb), x)


def _emit_silu(v, b, store):
    builder = v.builder
    fma = v.fma
    one = splat_f(1.0)
    zero = splat_f(0.0)
    sign = builder.and_(b, splat_i(int(_SIGN)))
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-30, 27]."""
        cb = v.smin(v.smax(ab, splat_i(_TINY_BITS)), splat_i(_LIMIT_BITS)) if general else ab
        a = builder.bitcast(cb, F16)
        e_hi, e_lo, k, s = emit_exp_neg_table32(v, cb, general)
        m_hi = builder.select(neg, e_hi, one)
        m_lo = builder.select(neg, e_lo, zero)
        num_hi = builder.fmul(a, m_hi)
        num_lo = builder.fadd(fma(a, m_hi, builder.fneg(num_hi)), builder.fmul(a, m_lo))
        q = emit_quotient32(v, num_hi, num_lo, e_hi, e_lo, s)
        scale = builder.shl(builder.select(neg, k, splat_i(0)), splat_i(23))
        rb = builder.add(builder.bitcast(q, I16), scale)
        if general:
            flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
            rb = builder.select(flushed, splat_i(0), builder.or_(rb, sign))
            small = builder.icmp_signed("<", ab, splat_i(_HALF_NORMAL_BITS))
            half = builder.select(small, sign, builder.sub(b, splat_i(_ONE_EXPONENT)))
            rb = builder.select(builder.icmp_signed("<", ab, splat_i(_TINY_BITS)), half, rb)
            above = builder.and_(
                builder.icmp_signed(">", ab, splat_i(_LIMIT_BITS)), builder.icmp_signed(">=", b, splat_i(0))
            )
            keep = builder.or_(above, builder.icmp_signed(">", ab, splat_i(_INF_BITS)))
            rb = builder.select(keep, b, rb)
        else:
            rb = builder.or_(rb, sign)
        store(rb)

    # Typical blocks (every |x| in [2^-30, 27]) take the short path; one unsigned
    # compare tests both ends.
    offset = builder.sub(ab, splat_i(_FAST_LO_BITS))
    outside = builder.icmp_unsigned(">", offset, splat_i(_FAST_HI_BITS - _FAST_LO_BITS))
    beyond = builder.bitcast(outside, ir.IntType(BLOCK))
    with builder.if_else(builder.icmp_unsigned("!=", beyond, ir.Constant(ir.IntType(BLOCK), 0))) as (rare, common):
        with rare:
            evaluate(general=True)
        with common:
            evaluate(general=False)


@intrinsic
def silu32_block16(typingctx, src, dst):
    """``dst[0:16] = silu(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_silu)
