"""float32 mish, x tanh(softplus(x)), on the float32 sigmoid's table exp: no log,
no tanh, one corrected division.

With n = e^x (e^x + 2), tanh(log1p(e^x)) = n / (n + 2).  In e = exp(-|x|) =
2^k E (``_sigmoid32``'s table exp: E = e_hi + e_lo in [0.97, 1.96], a double word
never rounded, and s = 2^max(k, -40)):

    x <  0:  mish(x) = -2^k |x| E B / (2 + s E B),   B = 2 + s E
    x >= 0:  mish(x) =       |x| B / (B + 2 s^2 E^2),  B = 1 + 2 s E

Both are one shape, |x| N / D with D = G + F H:

    x <  0:  N = E B,  F = s,       H = N,    G = 2
    x >= 0:  N = B,    F = 2 s^2,   H = E^2,  G = B

B, N, H and D are double words whose low parts are exact FMA residuals (each
high part is a sum of two floats, F H being a power of two times a float, so its
rounding error is a float); |x| N is one more, and the quotient is
``_sigmoid32.quotient32``'s corrected division, rounded once.  No term cancels:
every sum adds positive values.  2^k (x < 0) is applied last on the bit pattern,
so the left tail x e^x keeps its relative accuracy down to the smallest normal
number and flushes to +0 below it.  Where k < -40 the floored s stands in for
2^k in the sums with 1 and 2 (they move by less than 2^-15 ULP there).

Below |x| = 2^-40 the exp takes 2^-40 (tanh(softplus(x)) moves by 2^-41 of
itself: mish(x) = 0.6 x to the last bit) and |x| is scaled by 2^64 so that the
residual of |x| N stays normal (no underflow flag); the 2^-64 goes with 2^k onto
the bit pattern.  mish(-0.0) is +0.0, like every result flushed below the
smallest normal number.  Above |x| = 104, mish(x) is x (x >= 0, +inf included)
or the flushed +0 (x < 0, -inf included); NaN in, NaN out.

The block kernel branches once per 16 values: when every |x| is in [2^-40, 27]
it leaves out the clamps, the floor on k, the scaling of tiny inputs, the flush
and the final select.  :func:`mish32_block16` is the same arithmetic, operation
for operation, as :func:`mish32`, so every layout gives bitwise the same results.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, I16, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import _LIMIT_BITS, _MIN_NORMAL_BITS, emit_exp_neg_table32, exp_neg_table32

__all__ = ["mish32", "mish32_block16"]

_F = np.float32
_SIGN = np.int32(-(2**31))
_ABS = np.int32(0x7FFFFFFF)
_INF_BITS = 0x7F800000
# The exp's lower clamp, and the |x| below which |x| is scaled by 2^64
_SMALL_BITS = int(_F(2.0**-40).view(np.int32))
_SMALL_SHIFT = 64
# Up to |x| = 27 (k >= -39) and from 2^-40 on, the block kernel's common path
# leaves out the clamps, the floor on k, the scaling, the flush and the final select.
_FAST_HI_BITS = int(_F(27.0).view(np.int32))


@njit(**JIT_OPTIONS)
def _mish_quotient(a, neg, e_hi, e_lo, s):
    """|x| N / D (see the module docstring), rounded once, for a = |x| (scaled) and
    e = exp(-|x|) = 2^k (e_hi + e_lo), s = 2^max(k, -40)."""
    one = _F(1)
    two = _F(2)
    c0 = _select(neg, two, one)
    sm = _select(neg, s, s + s)
    # B = c0 + sm E: sm e_hi is exact, so the rounding error of the sum is a float
    b = fma(sm, e_hi, c0)
    b_lo = fma(sm, e_lo, fma(sm, e_hi, c0 - b))  # c0 - b is exact for b in [1, 5]
    m_hi = _select(neg, e_hi, one)
    m_lo = _select(neg, e_lo, _F(0))
    n = m_hi * b
    n_lo = fma(m_hi, b_lo, fma(m_lo, b, fma(m_hi, b, -n)))
    sq = e_hi * e_hi
    sq_lo = fma(e_hi + e_hi, e_lo, fma(e_hi, e_hi, -sq))
    f = _select(neg, s, (s + s) * s)
    h = _select(neg, n, sq)
    h_lo = _select(neg, n_lo, sq_lo)
    g = _select(neg, two, b)
    g_lo = _select(neg, _F(0), b_lo)
    # D = G + F H (G >= F H / 2 or a power of two: g - d is exact)
    d = fma(f, h, g)
    d_lo = fma(f, h_lo, fma(f, h, g - d)) + g_lo
    p = a * n
    p_lo = fma(a, n_lo, fma(a, n, -p))
    inv = one / d
    q0 = p * inv
    res = fma(-q0, d, p) + fma(-q0, d_lo, p_lo)
    return fma(inv, res, q0)


@njit(**JIT_OPTIONS)
def mish32(x):
    """x tanh(log(1 + exp(x))) of a float32 value, within 1 ULP (the scalar twin of
    :func:`mish32_block16`).  Every multiply-add is an explicit FMA, so FMA
    contraction cannot make the two differ."""
    b = float_bits(x)
    ab = b & _ABS
    neg = b < np.int32(0)
    cb = min(max(ab, np.int32(_SMALL_BITS)), np.int32(_LIMIT_BITS))
    e_hi, e_lo, k, s = exp_neg_table32(cb, x)
    small = ab < np.int32(_SMALL_BITS)
    scale = _select(small, np.int32(_SMALL_SHIFT), np.int32(0))
    ar = min(max(ab, np.int32(_MIN_NORMAL_BITS)), np.int32(_LIMIT_BITS)) + (scale << np.int32(23))
    q = _mish_quotient(float_from_bits(ar, x), neg, e_hi, e_lo, s)
    rb = float_bits(q) + ((_select(neg, k, np.int32(0)) - scale) << np.int32(23))
    rb = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb | (b & _SIGN))
    # x itself above the clamp for x >= 0 (inf included), and NaN in, NaN out
    keep = ((ab > np.int32(_LIMIT_BITS)) & (b >= np.int32(0))) | (ab > np.int32(_INF_BITS))
    return float_from_bits(_select(keep, b, rb), x)


def _emit_mish_quotient(v, a, neg, e_hi, e_lo, s):
    """:func:`_mish_quotient` on 16 lanes."""
    builder = v.builder
    fma = v.fma
    sel = builder.select
    one = splat_f(1.0)
    two = splat_f(2.0)
    zero = splat_f(0.0)
    c0 = sel(neg, two, one)
    sm = sel(neg, s, builder.fadd(s, s))
    b = fma(sm, e_hi, c0)
    b_lo = fma(sm, e_lo, fma(sm, e_hi, builder.fsub(c0, b)))
    m_hi = sel(neg, e_hi, one)
    m_lo = sel(neg, e_lo, zero)
    n = builder.fmul(m_hi, b)
    n_lo = fma(m_hi, b_lo, fma(m_lo, b, fma(m_hi, b, builder.fneg(n))))
    sq = builder.fmul(e_hi, e_hi)
    sq_lo = fma(builder.fadd(e_hi, e_hi), e_lo, fma(e_hi, e_hi, builder.fneg(sq)))
    f = sel(neg, s, builder.fmul(builder.fadd(s, s), s))
    h = sel(neg, n, sq)
    h_lo = sel(neg, n_lo, sq_lo)
    g = sel(neg, two, b)
    g_lo = sel(neg, zero, b_lo)
    d = fma(f, h, g)
    d_lo = builder.fadd(fma(f, h_lo, fma(f, h, builder.fsub(g, d))), g_lo)
    p = builder.fmul(a, n)
    p_lo = fma(a, n_lo, fma(a, n, builder.fneg(p)))
    inv = builder.fdiv(one, d)
    q0 = builder.fmul(p, inv)
    nq0 = builder.fneg(q0)
    res = builder.fadd(fma(nq0, d, p), fma(nq0, d_lo, p_lo))
    return fma(inv, res, q0)


def _emit_mish(v, b, store):
    builder = v.builder
    sign = builder.and_(b, splat_i(int(_SIGN)))
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-40, 27]."""
        if general:
            cb = v.smin(v.smax(ab, splat_i(_SMALL_BITS)), splat_i(_LIMIT_BITS))
            small = builder.icmp_signed("<", ab, splat_i(_SMALL_BITS))
            scale = builder.select(small, splat_i(_SMALL_SHIFT), splat_i(0))
            ar = builder.add(
                v.smin(v.smax(ab, splat_i(_MIN_NORMAL_BITS)), splat_i(_LIMIT_BITS)),
                builder.shl(scale, splat_i(23)),
            )
        else:
            cb = ar = ab
        e_hi, e_lo, k, s = emit_exp_neg_table32(v, cb, general)
        q = _emit_mish_quotient(v, builder.bitcast(ar, F16), neg, e_hi, e_lo, s)
        shift = builder.select(neg, k, splat_i(0))
        if general:
            shift = builder.sub(shift, scale)
        rb = builder.add(builder.bitcast(q, I16), builder.shl(shift, splat_i(23)))
        if general:
            flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
            rb = builder.select(flushed, splat_i(0), builder.or_(rb, sign))
            above = builder.and_(
                builder.icmp_signed(">", ab, splat_i(_LIMIT_BITS)), builder.icmp_signed(">=", b, splat_i(0))
            )
            keep = builder.or_(above, builder.icmp_signed(">", ab, splat_i(_INF_BITS)))
            rb = builder.select(keep, b, rb)
        else:
            rb = builder.or_(rb, sign)
        store(rb)

    # Typical blocks (every |x| in [2^-40, 27]) take the short path.
    v.short_or_general(ab, _SMALL_BITS, _FAST_HI_BITS, evaluate)


@intrinsic
def mish32_block16(typingctx, src, dst):
    """``dst[0:16] = mish(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_mish)
