"""squareplus at the default b = 4 and its derivative, float32 and float64: one
square root and two divisions per value, every rounding error but the last one
kept.

With a = |x| and s = sqrt(x^2 + 4) (float32 figures; float64 in brackets):

    squareplus(x)  = (a + s) / 2                 x >= 0
                   = 2 / (s + a)                 x <  0   (no cancellation)
    squareplus'(x) = (s + a) / (2 s)             x >= 0
                   = 2 / (s (s + a))             x <  0

x^2 + 4 is a double word (the square's FMA residual and a Fast2Sum), so
s + s_lo = sqrt(x^2 + 4) to about 2^-48 [2^-106], with s_lo = (x^2 + 4 - s^2) /
(2 s).  (1 / s there comes from a division: a bit-pattern estimate with one
Newton step took as long in float32 and longer in float64, and its 2^-8.6
relative error cost 0.008 ULP.)  s >= a (the square root of a rounded square is
a again, and x^2 + 4 only adds), so s + a is a Fast2Sum, and d + d_lo = s + a +
s_lo.  The quotients are ``ratio_dw32``'s: one division, its residual and one
correction.  Exhaustive float32 errors: see ``reports/verify-exhaustive.json``.

Ranges.  The square is formed on |x| raised to
2^-20 [2^-60] (x^2 is then below 2^-42 [2^-122] of 4 and changes no result), and a
itself is raised to 2^-40 [2^-120], where every result is 1 or 1/2 as it is for
smaller |x|: a subnormal a would enter d_lo and the quotient's FMAs, and Intel cores
take a microcode assist for every vector instruction with a subnormal operand
(3.7-5.8x the kernels' time on subnormal inputs, Rocket Lake); |x|
is clamped to 2^63 [2^511], where s (s + a) still fits.  Beyond it,
squareplus(x) is x (x > 0) or 1 / |x| (x < 0: the next term is 2^-126 [2^-1022]
relative), flushed to +0 beyond 2^126 [2^1022] (+0 at -inf), and squareplus'(x)
is 1 (x > 0) or below the smallest normal number (+0).  The derivative's x < 0
quotient is formed as 8 / (s (s + a)) and scaled by 1/4 (exact), so that 1 / d
stays normal up to the clamp.  NaN in, NaN out.

The float64 kernels are the same scalar code (``_scalar_kernels``), which LLVM
vectorizes in the ufunc loops.  The float32 block kernels branch once per 16
values: when every |x| is in [2^-20, 2^63] they leave out the clamps and the
final selects.  They are the same arithmetic,
operation for operation, as the scalar twins :func:`squareplus32` and
:func:`squareplus_grad32`, so every layout gives bitwise the same results.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import emit_ratio_dw32, ratio_dw32

__all__ = [
    "squareplus32", "squareplus32_block16", "squareplus_grad32", "squareplus_grad32_block16",
    "squareplus_backward32_block16", "squareplus64", "squareplus_grad64",
]

_F = np.float32
_ABS = np.int32(0x7FFFFFFF)
_INF_BITS = 0x7F800000
# float32: |x| squared from here on, clamped here, and 1 / |x| flushed beyond here
# (the scalar kernels and the block kernels' emitters take these)
_SQUARE_LO, _TOP, _FLUSH = 2.0**-20, 2.0**63, 2.0**126
_SQUARE_LO_BITS = int(_F(_SQUARE_LO).view(np.int32))
#: |x| raised to the square of _SQUARE_LO: no subnormal operand (see Ranges)
_A_FLOOR_BITS = int(_F(_SQUARE_LO**2).view(np.int32))
_TOP_BITS = int(_F(_TOP).view(np.int32))
_FLUSH_BITS = int(_F(_FLUSH).view(np.int32))


def _scalar_kernels(F, Int, square_lo, top, flush):
    """The scalar kernels for float type ``F`` (bit patterns of type ``Int``): |x| is
    squared from ``square_lo`` on, clamped to ``top`` and 1 / |x| flushed beyond
    ``flush``."""
    mag = Int(np.iinfo(Int).max)
    inf_bits = Int(np.array(np.inf, F).view(Int))
    floor_bits = Int(np.array(square_lo**2, F).view(Int))
    square_lo = F(square_lo)
    top_bits = Int(np.array(top, F).view(Int))
    flush_bits = Int(np.array(flush, F).view(Int))

    @njit(**JIT_OPTIONS)
    def root_parts(ab, x):
        """(a, s, s_lo, d, d_lo) for the bit pattern ``ab`` of |x|: a = |x| clamped to
        ``top`` (and raised to ``square_lo`` squared), s + s_lo = sqrt(a^2 + 4) and
        d + d_lo = s + a + s_lo."""
        four = F(4)
        a = float_from_bits(min(max(ab, floor_bits), top_bits), x)
        a2 = max(a, square_lo)
        sq = a2 * a2
        sq_lo = fma(a2, a2, -sq)
        big = max(sq, four)
        small = min(sq, four)
        v = big + small
        v_lo = ((big - v) + small) + sq_lo
        s = np.sqrt(v)
        res = fma(-s, s, v) + v_lo
        r = F(1) / s
        s_lo = (res * F(0.5)) * r
        d = s + a
        d_lo = ((s - d) + a) + s_lo
        return a, s, s_lo, d, d_lo

    @njit(**JIT_OPTIONS)
    def squareplus(x):
        """(x + sqrt(x^2 + 4)) / 2."""
        b = float_bits(x)
        ab = b & mag
        neg = b < Int(0)
        a, s, s_lo, d, d_lo = root_parts(ab, x)
        pos = (d + d_lo) * F(0.5)
        # x < 0: 2 / (d + d_lo); beyond ``top``, 1 / |x| (|x| clamped to ``flush``)
        beyond = ab > top_bits
        den = _select(beyond, float_from_bits(min(ab, flush_bits), x), d)
        den_lo = _select(beyond, F(0), d_lo)
        num = _select(beyond, F(1), F(2))
        q = ratio_dw32(num, F(0), den, den_lo)
        rb = _select(neg, float_bits(q), float_bits(pos))
        rb = _select(neg & (ab > flush_bits), Int(0), rb)
        # x itself beyond ``top`` (x > 0, +inf included), and NaN in, NaN out
        keep = (beyond & (b >= Int(0))) | (ab > inf_bits)
        return float_from_bits(_select(keep, b, rb), x)

    @njit(**JIT_OPTIONS)
    def squareplus_grad(x):
        """(1 + x / sqrt(x^2 + 4)) / 2."""
        b = float_bits(x)
        ab = b & mag
        neg = b < Int(0)
        a, s, s_lo, d, d_lo = root_parts(ab, x)
        # 4 times the derivative: x >= 0: (d + d_lo) / (s/2 + s_lo/2); x < 0:
        # 2 / ((s/4) (d + d_lo) + s_lo/4 d), the product a double word
        s4 = s * F(0.25)
        p = s4 * d
        p_lo = fma(s4, d, -p) + fma(s4, d_lo, (s_lo * F(0.25)) * d)
        num = _select(neg, F(2), d)
        num_lo = _select(neg, F(0), d_lo)
        den = _select(neg, p, s * F(0.5))
        den_lo = _select(neg, p_lo, s_lo * F(0.5))
        g = ratio_dw32(num, num_lo, den, den_lo) * F(0.25)
        rb = _select(neg & (ab > top_bits), Int(0), float_bits(g))  # below the smallest normal
        return float_from_bits(_select(ab > inf_bits, b, rb), x)  # NaN in, NaN out

    return squareplus, squareplus_grad


squareplus32, squareplus_grad32 = _scalar_kernels(np.float32, np.int32, _SQUARE_LO, _TOP, _FLUSH)
squareplus32.__doc__ = """(x + sqrt(x^2 + 4)) / 2 of a float32 value (the scalar twin of
:func:`squareplus32_block16`)."""
squareplus_grad32.__doc__ = """(1 + x / sqrt(x^2 + 4)) / 2 of a float32 value (the scalar
twin of :func:`squareplus_grad32_block16`)."""
# float64: the square from 2^-60 on, the clamp at 2^511 (s (s + a) < 2^1023)
squareplus64, squareplus_grad64 = _scalar_kernels(
    np.float64, np.int64, 2.0**-60, 2.0**511, 2.0**1022
)


def _emit_root_parts(v, ab, general):
    """:func:`_root_parts32` on 16 lanes (``general=False``: |x| in [2^-20, 2^63])."""
    builder = v.builder
    fma = v.fma
    four = splat_f(4.0)
    a = builder.bitcast(v.smin(v.smax(ab, splat_i(_A_FLOOR_BITS)), splat_i(_TOP_BITS)) if general else ab, F16)
    a2 = builder.select(builder.fcmp_ordered(">", a, splat_f(_SQUARE_LO)), a, splat_f(_SQUARE_LO)) if general else a
    sq = builder.fmul(a2, a2)
    sq_lo = fma(a2, a2, builder.fneg(sq))
    above = builder.fcmp_ordered(">", sq, four)
    big = builder.select(above, sq, four)
    small = builder.select(above, four, sq)
    s_v = builder.fadd(big, small)
    v_lo = builder.fadd(builder.fadd(builder.fsub(big, s_v), small), sq_lo)
    s = v.sqrt(s_v)
    res = builder.fadd(fma(builder.fneg(s), s, s_v), v_lo)
    r = builder.fdiv(splat_f(1.0), s)
    s_lo = builder.fmul(builder.fmul(res, splat_f(0.5)), r)
    d = builder.fadd(s, a)
    d_lo = builder.fadd(builder.fadd(builder.fsub(s, d), a), s_lo)
    return a, s, s_lo, d, d_lo


# --------------------------------------------------------------------------------
# squareplus
# --------------------------------------------------------------------------------
def _emit_squareplus(v, b, store):
    builder = v.builder
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))

    def evaluate(general):
        a, s, s_lo, d, d_lo = _emit_root_parts(v, ab, general)
        pos = builder.fmul(builder.fadd(d, d_lo), splat_f(0.5))
        if general:
            beyond = builder.icmp_signed(">", ab, splat_i(_TOP_BITS))
            den = builder.select(beyond, builder.bitcast(v.smin(ab, splat_i(_FLUSH_BITS)), F16), d)
            den_lo = builder.select(beyond, splat_f(0.0), d_lo)
            num = builder.select(beyond, splat_f(1.0), splat_f(2.0))
        else:
            den, den_lo, num = d, d_lo, splat_f(2.0)
        q = emit_ratio_dw32(v, num, splat_f(0.0), den, den_lo)
        rb = builder.select(neg, builder.bitcast(q, I16), builder.bitcast(pos, I16))
        if general:
            flushed = builder.and_(neg, builder.icmp_signed(">", ab, splat_i(_FLUSH_BITS)))
            rb = builder.select(flushed, splat_i(0), rb)
            keep = builder.or_(
                builder.and_(beyond, builder.not_(neg)), builder.icmp_signed(">", ab, splat_i(_INF_BITS))
            )
            rb = builder.select(keep, b, rb)
        store(rb)

    v.short_or_general(ab, _SQUARE_LO_BITS, _TOP_BITS, evaluate)


@intrinsic
def squareplus32_block16(typingctx, src, dst):
    """``dst[0:16] = squareplus(src[0:16])`` (b = 4) for float32, as AVX-512 vector
    code (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_squareplus)


# --------------------------------------------------------------------------------
# squareplus'
# --------------------------------------------------------------------------------
def _emit_squareplus_grad(v, b, store):
    builder = v.builder
    fma = v.fma
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))

    def evaluate(general):
        a, s, s_lo, d, d_lo = _emit_root_parts(v, ab, general)
        s4 = builder.fmul(s, splat_f(0.25))
        p = builder.fmul(s4, d)
        p_lo = builder.fadd(
            fma(s4, d, builder.fneg(p)), fma(s4, d_lo, builder.fmul(builder.fmul(s_lo, splat_f(0.25)), d))
        )
        num = builder.select(neg, splat_f(2.0), d)
        num_lo = builder.select(neg, splat_f(0.0), d_lo)
        den = builder.select(neg, p, builder.fmul(s, splat_f(0.5)))
        den_lo = builder.select(neg, p_lo, builder.fmul(s_lo, splat_f(0.5)))
        g = builder.fmul(emit_ratio_dw32(v, num, num_lo, den, den_lo), splat_f(0.25))
        rb = builder.bitcast(g, I16)
        if general:
            flushed = builder.and_(neg, builder.icmp_signed(">", ab, splat_i(_TOP_BITS)))
            rb = builder.select(flushed, splat_i(0), rb)
            rb = builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb)
        store(rb, nonzero=not general)  # short path: squareplus'(x) >= about 1 / x^2 >= 2^-126

    v.short_or_general(ab, _SQUARE_LO_BITS, _TOP_BITS, evaluate)


@intrinsic
def squareplus_grad32_block16(typingctx, src, dst):
    """``dst[0:16] = squareplus'(src[0:16])`` (b = 4) for float32, as AVX-512 vector
    code (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_squareplus_grad)


@intrinsic
def squareplus_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * squareplus'(src[0:16])`` (b = 4) for float32
    (``backward_product``), as AVX-512 vector code (raw pointers; ``dst`` may be
    either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_squareplus_grad)
