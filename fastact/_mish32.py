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
``_sigmoid32.ratio_dw32``'s corrected division, rounded once.  No term cancels:
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
and the final select; when every |x| is at least 21 (saturated inputs) D rounds
to 2 (x < 0) or 1 and the division goes, x >= 0 giving x itself.
:func:`mish32_block16` is the same arithmetic, operation for operation, as
:func:`mish32`, so every layout gives bitwise the same results.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import (
    _LIMIT_BITS,
    _MIN_NORMAL_BITS,
    emit_exp_neg_table32,
    emit_keep_x_above_limit,
    emit_ratio_dw32,
    emit_root_offset32,
    emit_scaled_flushed32,
    exp_neg_table32,
    keeps_x_above_limit,
    ratio_dw32,
    root_offset32,
    scaled_flushed32,
)

__all__ = ["mish32", "mish32_block16", "mish_grad32", "mish_grad32_block16", "mish_backward32_block16"]

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
# from |x| = 21 on e <= 7.6e-10: the forward's D rounds to 2 or 1 (saturated blocks)
_SATURATED_BITS = int(_F(21.0).view(np.int32))

# mish' vanishes at x0 = -1.1924312145...; within 2^-3 of it the quotient below
# cancels (E's own error, about 2^-28, is amplified 1/|x - x0|-fold), and
# mish'(x0 + t) = c1 t + t^2 P(t), P of degree 5, takes over, with x0 and c1 as
# double words (tools/fit_mish_root.py: Taylor coefficients at 60 digits; the
# dropped t^8 term is below 2^-29 of the result)
MISH_X0_32 = (-1.1924312114715576, -3.0439375464652585e-09)
MISH_C1_32 = (0.2669479250907898, -1.1041255021382312e-08)
# mish'(x0 + t) = c1 t + t^2 (MISH_TAYLOR[0] + MISH_TAYLOR[1] t + ...): the Taylor
# coefficients c2.. c9 at x0, shared with the float64 kernel (kernels/softplus.py)
MISH_TAYLOR = (
    0.20473126408010586, 0.04190782104360987, -0.020271822716684245, -0.01582112656173338,
    -0.0033606849270232685, 0.0010924055409445854, 0.0009898181021289196, 0.00025412936386191073,
)
_MISH_P = MISH_TAYLOR[:6]
_X0_HI, _X0_LO = _F(MISH_X0_32[0]), _F(MISH_X0_32[1])
_C1_HI, _C1_LO = _F(MISH_C1_32[0]), _F(MISH_C1_32[1])
_LO_C1 = _F(-float(_X0_LO) * float(_C1_HI))  # x0's low part times c1
_R0, _R1, _R2, _R3, _R4, _R5 = (_F(c) for c in _MISH_P)
_ROOT_WINDOW_BITS = int(_F(2.0**-3).view(np.int32))
# at x = x0_hi itself (t = -x0_lo) the polynomial's constant -x0_lo c1 and its
# small terms would be rounded twice (1.1 ULP): mish'(x0_hi), rounded once
_AT_X0_HI = _F(8.125727868346644e-10)
_ONE_BITS = int(_F(1.0).view(np.int32))


@njit(**JIT_OPTIONS)
def _mish_terms(neg, e_hi, e_lo, s):
    """B, N and D (see the module docstring) as double words, and E^2, for e =
    exp(-|x|) = 2^k (e_hi + e_lo), s = 2^max(k, -40)."""
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
    return b, b_lo, n, n_lo, d, d_lo, sq, sq_lo


@njit(**JIT_OPTIONS)
def _mish_quotient(a, neg, e_hi, e_lo, s):
    """|x| N / D (see the module docstring), rounded once, for a = |x| (scaled) and
    e = exp(-|x|) = 2^k (e_hi + e_lo), s = 2^max(k, -40)."""
    _, _, n, n_lo, d, d_lo, _, _ = _mish_terms(neg, e_hi, e_lo, s)
    p = a * n
    return ratio_dw32(p, fma(a, n_lo, fma(a, n, -p)), d, d_lo)


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
    return float_from_bits(_select(keeps_x_above_limit(b, ab), b, rb), x)


def _emit_mish_terms(v, neg, e_hi, e_lo, s):
    """:func:`_mish_terms` on 16 lanes."""
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
    return b, b_lo, n, n_lo, d, d_lo, sq, sq_lo


def _emit_mish_quotient(v, a, neg, e_hi, e_lo, s, saturated=False):
    """:func:`_mish_quotient` on 16 lanes; ``saturated``: every |x| >= 21, where
    D rounds to 2 (x < 0) or 1 (x >= 0): 1 / D without the division."""
    builder = v.builder
    fma = v.fma
    _, _, n, n_lo, d, d_lo, _, _ = _emit_mish_terms(v, neg, e_hi, e_lo, s)
    p = builder.fmul(a, n)
    inv = builder.select(neg, splat_f(0.5), splat_f(1.0)) if saturated else None
    return emit_ratio_dw32(v, p, fma(a, n_lo, fma(a, n, builder.fneg(p))), d, d_lo, inv)


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
        if not general:  # the magnitude 2^k q is normal here; 2^k by vscalefps (Exponent)
            store(builder.or_(builder.bitcast(v.scalef(q, k, where=neg), I16), sign))
            return
        shift = builder.sub(builder.select(neg, k.integer, splat_i(0)), scale)
        rb = builder.add(builder.bitcast(q, I16), builder.shl(shift, splat_i(23)))
        flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
        rb = builder.select(flushed, splat_i(0), builder.or_(rb, sign))
        store(emit_keep_x_above_limit(v, b, ab, rb))

    def saturated():
        """Every |x| >= 21, no NaN: e <= 7.6e-10, so B rounds to 2 (x < 0) or 1 and
        D to 2 or 1: the general path's operations with 1 / D known (no
        division), and for x >= 0 the quotient rounds to |x| itself (|x| B / (B +
        2 s^2 E^2), the correction 2^-59 of it): x.  No tiny x to scale."""
        cb = v.smin(ab, splat_i(_LIMIT_BITS))
        e_hi, e_lo, k, s = emit_exp_neg_table32(v, cb, True)
        q = _emit_mish_quotient(v, builder.bitcast(cb, F16), neg, e_hi, e_lo, s, saturated=True)
        rb = builder.add(builder.bitcast(q, I16), builder.shl(builder.select(neg, k.integer, splat_i(0)), splat_i(23)))
        flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
        rb = builder.select(flushed, splat_i(0), builder.or_(rb, sign))
        store(builder.select(neg, rb, b))

    # Typical blocks (every |x| in [2^-40, 27]) take the short path, blocks of
    # saturated inputs the division-free one.
    tiers = [(_SMALL_BITS, _FAST_HI_BITS, lambda: evaluate(False)), (_SATURATED_BITS, _INF_BITS, saturated)]
    v.dispatch(ab, tiers, lambda: evaluate(True))


@intrinsic
def mish32_block16(typingctx, src, dst):
    """``dst[0:16] = mish(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_mish)


# --------------------------------------------------------------------------------
# mish'(x) = t + x (1 - t^2) sigmoid(x),  t = tanh(softplus(x)) = N / D
# --------------------------------------------------------------------------------
# In the terms above (B, D, e = 2^k E, W = 1 + e):
#
#     x <  0:  mish'(x) = 2^k E (B D - 4 |x| W) / D^2
#     x >= 0:  mish'(x) =       (B D + 4 |x| e^2 W) / D^2
#
# B D, W, E^2 W, D^2 and the bracket are double words (FMA residuals, one TwoSum),
# and the quotient is rounded once.  For x < 0 the bracket cancels next to the root
# x0 of mish', where E's own error would dominate: within 2^-3 of x0 the Taylor
# polynomial above takes over.  Below |x| = 2^-40 the kernel takes |x| = 2^-40
# (mish'(x) = 0.6 + 0.64 x rounds to float32(0.6) there, which sits 0.1 ULP from a
# rounding boundary); above 104 mish'(x) is 1 (x > 0) or the flushed +0.
@njit(**JIT_OPTIONS)
def mish_grad32(x):
    """mish'(x) of a float32 value, within 1 ULP (the scalar twin of
    :func:`mish_grad32_block16`).  Every multiply-add is an explicit FMA, so FMA
    contraction cannot make the two differ."""
    one = _F(1)
    b = float_bits(x)
    ab = b & _ABS
    neg = b < np.int32(0)
    cb = min(max(ab, np.int32(_SMALL_BITS)), np.int32(_LIMIT_BITS))
    e_hi, e_lo, k, s = exp_neg_table32(cb, x)
    a = float_from_bits(cb, x)
    bb, bb_lo, _, _, d, d_lo, sq, sq_lo = _mish_terms(neg, e_hi, e_lo, s)
    bd = bb * d
    bd_lo = fma(bb, d_lo, fma(bb_lo, d, fma(bb, d, -bd)))
    w = fma(s, e_hi, one)
    w_lo = fma(s, e_lo, fma(s, e_hi, one - w))
    ch = _select(neg, one, sq)
    cl = _select(neg, _F(0), sq_lo)
    t = ch * w
    t_lo = fma(ch, w_lo, fma(cl, w, fma(ch, w, -t)))
    a4 = a * _F(4)
    sc = _select(neg, -a4, a4 * (s * s))
    u = sc * t
    u_lo = fma(sc, t_lo, fma(sc, t, -u))
    z = bd + u
    zv = z - bd
    z_lo = ((bd - (z - zv)) + (u - zv)) + (bd_lo + u_lo)
    dd = d * d
    dd_lo = fma(d + d, d_lo, fma(d, d, -dd))
    m_hi = _select(neg, e_hi, one)
    m_lo = _select(neg, e_lo, _F(0))
    mz = m_hi * z
    mz_lo = fma(m_hi, z_lo, fma(m_lo, z, fma(m_hi, z, -mz)))
    q = ratio_dw32(mz, mz_lo, dd, dd_lo)
    rb = scaled_flushed32(float_bits(q), _select(neg, k, np.int32(0)))
    # within 2^-3 of the root: c1 t + t^2 P(t)
    dx, inside = root_offset32(x, b, ab, _X0_HI, np.int32(_ROOT_WINDOW_BITS))
    # t = dx - x0_lo = tr + tr_lo (Fast2Sum: dx is 0 or at least 2^-23); tr_lo
    # enters t^2 P as 2 tr tr_lo P (the result can sit a binade below c1 dx)
    tr = dx - _X0_LO
    tr_lo = (dx - tr) - _X0_LO
    poly = fma(fma(fma(fma(fma(_R5, tr, _R4), tr, _R3), tr, _R2), tr, _R1), tr, _R0)
    low = fma(tr_lo, (tr + tr) * poly, _LO_C1)
    near = fma(dx, _C1_HI, fma(tr, fma(tr, poly, _C1_LO), low))
    near = _select(dx == _F(0), _AT_X0_HI, near)
    rb = _select(inside, float_bits(near), rb)
    rb = _select((ab > np.int32(_LIMIT_BITS)) & (b >= np.int32(0)), np.int32(_ONE_BITS), rb)
    return float_from_bits(_select(ab > np.int32(_INF_BITS), b, rb), x)  # NaN in, NaN out


def _emit_mish_grad(v, b, store):
    builder = v.builder
    fma = v.fma
    sel = builder.select
    fneg = builder.fneg
    one = splat_f(1.0)
    zero = splat_f(0.0)
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-40, 27]."""
        cb = v.smin(v.smax(ab, splat_i(_SMALL_BITS)), splat_i(_LIMIT_BITS)) if general else ab
        e_hi, e_lo, k, s = emit_exp_neg_table32(v, cb, general)
        a = builder.bitcast(cb, F16)
        bb, bb_lo, _, _, d, d_lo, sq, sq_lo = _emit_mish_terms(v, neg, e_hi, e_lo, s)
        bd = builder.fmul(bb, d)
        bd_lo = fma(bb, d_lo, fma(bb_lo, d, fma(bb, d, fneg(bd))))
        w = fma(s, e_hi, one)
        w_lo = fma(s, e_lo, fma(s, e_hi, builder.fsub(one, w)))
        ch = sel(neg, one, sq)
        cl = sel(neg, zero, sq_lo)
        t = builder.fmul(ch, w)
        t_lo = fma(ch, w_lo, fma(cl, w, fma(ch, w, fneg(t))))
        a4 = builder.fmul(a, splat_f(4.0))
        sc = sel(neg, fneg(a4), builder.fmul(a4, builder.fmul(s, s)))
        u = builder.fmul(sc, t)
        u_lo = fma(sc, t_lo, fma(sc, t, fneg(u)))
        z = builder.fadd(bd, u)
        zv = builder.fsub(z, bd)
        z_err = builder.fadd(builder.fsub(bd, builder.fsub(z, zv)), builder.fsub(u, zv))
        z_lo = builder.fadd(z_err, builder.fadd(bd_lo, u_lo))
        dd = builder.fmul(d, d)
        dd_lo = fma(builder.fadd(d, d), d_lo, fma(d, d, fneg(dd)))
        m_hi = sel(neg, e_hi, one)
        m_lo = sel(neg, e_lo, zero)
        mz = builder.fmul(m_hi, z)
        mz_lo = fma(m_hi, z_lo, fma(m_lo, z, fma(m_hi, z, fneg(mz))))
        q = emit_ratio_dw32(v, mz, mz_lo, dd, dd_lo)
        if general:
            rb = emit_scaled_flushed32(v, builder.bitcast(q, I16), sel(neg, k.integer, splat_i(0)), general)
        else:  # normal here; 2^k by vscalefps (Exponent)
            rb = builder.bitcast(v.scalef(q, k, where=neg), I16)
        dx, inside = emit_root_offset32(v, b, ab, _X0_HI, _ROOT_WINDOW_BITS, general)
        if general:
            above = builder.and_(
                builder.icmp_signed(">", ab, splat_i(_LIMIT_BITS)), builder.icmp_signed(">=", b, splat_i(0))
            )
            rb = sel(above, splat_i(_ONE_BITS), rb)
            rb = sel(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb)

        # The polynomial only where a lane is near the root (x near x0 is negative,
        # finite and below 27, so its select can come last).
        def near_root():
            dxi = sel(inside, dx, zero) if general else dx
            tr = builder.fsub(dxi, splat_f(_X0_LO))
            tr_lo = builder.fsub(builder.fsub(dxi, tr), splat_f(_X0_LO))
            poly = splat_f(_R5)
            for c in (_R4, _R3, _R2, _R1, _R0):
                poly = fma(poly, tr, splat_f(c))
            low = fma(tr_lo, builder.fmul(builder.fadd(tr, tr), poly), splat_f(_LO_C1))
            near = fma(dxi, splat_f(_C1_HI), fma(tr, fma(tr, poly, splat_f(_C1_LO)), low))
            near = builder.select(builder.fcmp_ordered("==", dxi, zero), splat_f(_AT_X0_HI), near)
            return builder.bitcast(near, I16)

        # nonzero on the short path: |x| <= 27 keeps |mish'| above 4e-11, and it
        # vanishes only at the irrational root, whose nearest float32 its polynomial
        # keeps away from 0 (tests/test_backward_nonzero.py)
        store(v.select_where_any(inside, rb, near_root), nonzero=not general)

    v.short_or_general(ab, _SMALL_BITS, _FAST_HI_BITS, evaluate)


@intrinsic
def mish_grad32_block16(typingctx, src, dst):
    """``dst[0:16] = mish'(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_mish_grad)


@intrinsic
def mish_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * mish'(src[0:16])`` for float32 (``backward_product``),
    as AVX-512 vector code (raw pointers; ``dst`` may be either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_mish_grad)
