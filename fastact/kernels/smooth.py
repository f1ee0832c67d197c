"""Smooth shrink/plus functions: tanhshrink (x - tanh x) and squareplus."""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from .. import reference as ref
from .._core import (
    _select,
    abs_clamped,
    backward_product,
    expm1_dd64,
    float_bits,
    float_from_bits,
    fma,
    is_positive,
    largest_finite,
    ldexp_signed,
    quiet_greater,
    sign_clear,
    two_sum,
)
from .._logistic64 import exp_neg64_lean, one_plus64
from .._registry import Activation, Param, register
from .._squareplus4 import (
    squareplus32,
    squareplus32_block16,
    squareplus64,
    squareplus_backward32_block16,
    squareplus_grad32,
    squareplus_grad32_block16,
    squareplus_grad64,
)
from .._tanhshrink32 import (
    tanhshrink32,
    tanhshrink32_block16,
    tanhshrink_backward32_block16,
    tanhshrink_grad32,
    tanhshrink_grad32_block16,
)
from ._common import _jit, range_blocks
from .logistic import by_dtype

# ldexp_signed is used with |k| up to 1200 for float64 (its exponent arithmetic does
# not wrap in int64 for |k| < 2000; checked against np.ldexp on normal inputs), and
# |k| <= 200 for float32.


# ================================================================================
# tanhshrink
# ================================================================================
# float32: tanhshrink32 and tanhshrink_grad32 (_tanhshrink32.py: piecewise
# polynomials in float32 arithmetic, AVX-512 block kernels).  float64, below, two
# branches that share one division, both evaluated in every lane (branch-free, so
# LLVM vectorizes them), with a = |x|:
#  - a < 1: a**3 E(u) / D(u), u = a**2, E / D from Lambert's continued fraction of
#    tanh truncated after 19 (tools/fit_tanhshrink.py: x - tanh x = x (D - N) / D
#    with D - N = u E formed in exact rational arithmetic; relative error 2**-62 on
#    [0, 1]).  E and D have positive coefficients (no cancellation); their last
#    steps 1/3 + u E1 and 1 + u D1 are double words, and so are a**3 and the
#    quotient (a residual correction), since D(u) up to 1.5 would otherwise carry
#    the rounding of u D1 (0.3 of D) into the result;
#  - a >= 1: with e = exp(-2a), tanh a = 1 - q, q = 2e / (1 + e), so a - tanh a =
#    (a - 1) + q with a - 1 exact (Sterbenz up to 2, then multiples of the ULP up
#    to 2**53) and q <= 0.24 <= the result: q's error (e's, 2**-54.4, the lean
#    double-word exp) reaches the result at most at its own size.  Beyond 2**53
#    the result rounds to x itself (a - 1 + q lies within 1 of a, less than half
#    its ULP from 2**53 on; at 2**53, a - 1 is exact).
# The quotient of the lane's branch, E / D or 2e / (1 + e), both as double words,
# is formed by one division (1 / d) and its residual.
# This replaced (2026-12-03) a minimax polynomial of 14 coefficients on [0, 0.8]
# and the exp branch beyond, with a division of its own, as double words
# throughout: 0.887 ULP at 1.3-1.5x the time of np.tanh and np.subtract.
_TS_E64 = (0.02456140350877193, 0.0004422821760283061, 2.184109511250894e-06, 1.5273493085670588e-09)
_TS_D64 = (0.47368421052631576, 0.02889576883384933, 0.00048159614723082214, 2.2681137232220826e-06,
           1.5273493085670588e-09)
# the low parts of 7/285 and 9/19, their first coefficients (2**-55.6 -> 2**-60.4)
_TS_E1_LO, _TS_D1_LO = -2.434699615406045e-20, 2.6294755846385285e-17
_THIRD64 = (1 / 3, 1.850371707708594e-17)
# a**3 is formed on a * 2**s (s = _TS_SHIFT = 300) in every lane and the result's
# bit pattern lowered by 3s in the exponent afterwards (exact), flushed to zero
# below the smallest normal number: no select, and where a**3 E / D is normal the
# bits are those of the unscaled product.  a is clamped to [_TS_LOW, 1] there
# (2**-520: below, x**3 / 3 is below the smallest normal number anyway).  Above
# _TS_HUGE (2**53) x - tanh x rounds to x; NaN and +-inf come back as x too.
#
# 2**300 (not less) keeps every residual term of the double words normal: the FMA
# residual of a square of a*2**s is a multiple of 2**(2e - 104) (e the exponent of
# a*2**s), and times a*2**s it must stay above 2**-1022, so e >= -306; and a*2**s
# <= 2**300 keeps a**3 2**3s <= 2**900 finite.  (With 2**200, e down to -320,
# x = 4.88e-157 raised the underflow flag in tanhshrink_grad.)
_TS_LOW = 2.0**-520
_TS_HUGE = 2.0**53
_TS_U_MIN = 2.0**-50
_TS_SHIFT = 300
_TS_SCALE = 2.0**300
# the rational function below, the exp branch from here on
_TS_SPLIT = 1.0
# the exp branch takes |x| clamped to 40: q = 2e/(1+e) < 2**-114 there, far below
# an ULP of |x| - 1 >= 39 (and e stays normal)
_TS_EXP_MAX = 40.0


@_jit
def _shrink_ratio64(u):
    """(E, E_lo, D, D_lo): E(u) = 1/3 + u E1(u) and D(u) = 1 + u D1(u) as double
    words, for u in [2**-100, 1] (the lanes of a >= 1 take u = 1), with 1/3 and the
    first coefficients of E1 and D1 as double words."""
    c, d = _TS_E64, _TS_D64
    e1 = fma(fma(fma(c[3], u, c[2]), u, c[1]), u, c[0])
    d1 = fma(fma(fma(fma(d[4], u, d[3]), u, d[2]), u, d[1]), u, d[0])
    t = u * e1
    e = _THIRD64[0] + t  # Fast2Sums: 1/3 > t and 1 > t2
    e_lo = ((_THIRD64[0] - e) + t) + (fma(u, e1, -t) + fma(u, _TS_E1_LO, _THIRD64[1]))
    t2 = u * d1
    dd = 1.0 + t2
    return e, e_lo, dd, ((1.0 - dd) + t2) + fma(u, _TS_D1_LO, fma(u, d1, -t2))


@_jit
def _two_e_over_one_plus_e64(a):
    """(2e, 2e_lo, 1 + e, its low part) for e = exp(-2a), a in [1, 40], from the
    lean double-word exp: e = 2**k (p + p_lo)."""
    p, p_lo, k = exp_neg64_lean(2.0 * a)
    sc = float_from_bits((k + np.int64(1023)) << np.int64(52), a)
    d, d_lo = one_plus64(sc, p, p_lo)
    return 2.0 * sc * p, 2.0 * sc * p_lo, d, d_lo


_TS_SIGN = np.int64(-(2**63))
_TS_ABS = np.int64(0x7FFFFFFFFFFFFFFF)
_TS_MIN_NORMAL_BITS = np.int64(1 << 52)
_TS_UNSCALE_BITS = np.int64((3 * _TS_SHIFT) << 52)  # times 2**-3s on the bit pattern


@_jit
def _tanhshrink_parts64(a, a1, small):
    """(bits of a**3 E / D times 2**-3s, y_big): the first on a1 (a clamped to
    [2**-520, 1]) scaled by 2**s in every lane (no select: where the unscaled
    product is normal, its bits are the same), the second (a - 1) + 2e / (1 + e)
    on a clamped to [1, 40], from one division (``small``: the lanes of the
    first)."""
    sa = a1 * _TS_SCALE
    u2 = sa * sa
    u2_lo = fma(sa, sa, -u2)
    c3 = sa * u2
    c3_lo = fma(sa, u2, -c3) + sa * u2_lo
    # u for E and D, unscaled; below 2**-50 E / D = 1/3 to working precision
    ua = max(a1, _TS_U_MIN)
    e, e_lo, d, d_lo = _shrink_ratio64(ua * ua)
    ne, ne_lo, de, de_lo = _two_e_over_one_plus_e64(min(max(a, _TS_SPLIT), _TS_EXP_MAX))
    # the lane's quotient, one division and its residual: q + q_lo
    num = _select(small, e, ne)
    num_lo = _select(small, e_lo, ne_lo)
    den = _select(small, d, de)
    den_lo = _select(small, d_lo, de_lo)
    inv = 1.0 / den
    q = num * inv
    q_lo = (fma(-q, den, num) + fma(-q, den_lo, num_lo)) * inv
    w = fma(c3, q, c3 * q_lo + c3_lo * q)
    return float_bits(w) - _TS_UNSCALE_BITS, (a - 1.0) + (q + q_lo)


@_jit
def _tanhshrink64(x):
    b = float_bits(x)
    # NaN taken as 0 by a quiet compare (no flag; a min or max on it would raise
    # *invalid*), put back at the end; +-inf goes through (a - 1 = inf, no flag)
    a = abs(_select(x != x, 0.0, x))
    small = float_bits(a) < float_bits(_TS_SPLIT)
    rs, big = _tanhshrink_parts64(a, max(min(a, _TS_SPLIT), _TS_LOW), small)
    # a >= 2**-520 is scaled to >= 2**-220, so w is normal and rs its unscaled
    # bits, below the smallest normal number's (negative, even) where it is flushed
    # to +0 (also for x = -0.0)
    rb = _select(small, rs, float_bits(big))
    rb = _select(rb < _TS_MIN_NORMAL_BITS, np.int64(0), rb | (b & _TS_SIGN))
    # NaN, +-inf and |x| > 2**53: x (its bit pattern as an integer is above 2**53's)
    return _select((b & _TS_ABS) > float_bits(_TS_HUGE), x, float_from_bits(rb, x))


# tanhshrink' = tanh(a)**2 needs no cancellation-free series, only tanh to about
# 2**-57: tanh a = -t / (2 + t), t = expm1(-2a) as a double word (expm1_dd64),
# one division and its residual, squared as a double word.  Below 2**-30
# tanh(a)**2 = a**2 to working precision (plain: the residuals of a double-word
# square could leave the normal range), 0 below 2**-511.5 (a**2 is below half the
# smallest normal number); beyond 20 it rounds to 1 (4 e**-40 < 2**-54).
_TSG_EXPM1_MIN = 2.0**-30
_TSG_EXPM1_MAX = 20.0
_TSG_ZERO = 2.0**-511.5


@_jit
def _tanh_squared64(a):
    """tanh(a)**2 for a in [2**-30, 40] (1 from 20 on): the core of
    :func:`_tanhshrink_grad64`."""
    t, t_lo = expm1_dd64(-(a + a))
    d = 2.0 + t  # t in (-1, 0): a Fast2Sum
    d_lo = ((2.0 - d) + t) + t_lo
    inv = 1.0 / d
    th = -t * inv
    th_lo = (fma(-th, d, -t) - fma(th, d_lo, t_lo)) * inv
    sq = th * th
    return sq + (fma(th, th, -sq) + 2.0 * th * th_lo)


@_jit
def _tanhshrink_grad64(x):
    a = abs(x)
    g = _tanh_squared64(abs_clamped(x, _TSG_EXPM1_MIN, _TSG_EXPM1_MAX))
    # tiny: a**2 on a clamped to [2**-511, 2**-30] (normal, no overflow), 0 below
    # 2**-511.5 (and 2**-1022 just above: within the absolute bound of the contract)
    at = abs_clamped(x, 2.0**-511, _TSG_EXPM1_MIN)
    g = _select(float_bits(a) < float_bits(_TSG_EXPM1_MIN), at * at, g)
    g = _select(float_bits(a) < float_bits(_TSG_ZERO), 0.0, g)
    return _select(x != x, x, g)


# The float64 derivative's block kernels: blocks whose every |x| lies in
# [2**-30, 40], where the clamps, the tiny-input selects and the NaN select above
# are identities, take the same operations without them (the same bits; 13% less
# time at 10^6).  From 20 to 40 (expm1_dd64's domain ends at -80) the core's
# result is 1 as at 20, where the general kernel clamps: t = -1 + t_lo with
# |t_lo| = e**-2a < 2**-57, so d = 1, tanh = 1 - 2 |t_lo| and its square rounds
# to 1 (1 - 4 |t_lo|, less than half an ULP below 1).  So N(0, 10**2) inputs (4.6%
# beyond 20, 6e-5 beyond 40) take the fast blocks too; a clamp at 20 in the fast
# kernel instead cost 5-7% of its time, and a branch between blocks of two kinds
# that alternate (a third of them) costs more than either.  Blocks whose every |x|
# lies in [20, inf] (saturated inputs) are all 1.  The forward has none: its
# blocks measured 9% slower than the plain loop with the old kernel, and with
# today's (a fast kernel for |x| in [2**-50, 2**53], without the clamps, the flush
# and the final select) 7-10% slower again at 10^5-10^7, although that fast kernel
# alone, as a plain loop, takes 0.87 of the general one: both branches stay in
# every lane and 16 lanes spill (the plain loop already reloads 33 broadcast
# constants and spills 44 times per 8 values).  With runs drivers
# (kernels._common._runs_drivers: runs of 256 values in [2**-30, 40] as one plain
# loop) tanhshrink' takes 1.91 -> 1.73 ns on N(0, 1) at 10^6, tanhshrink_backward
# 1.96 -> 1.84.  The forward with a fast kernel for [2**-50, 40] and runs: 2.51 ->
# 2.41 on N(0, 1), but 2.7 and 3.0 on the special and saturated regimes, where
# its runs fall to the block kernels: not taken.
_TSG_FAST_MAX = 40.0


@_jit
def _tanhshrink_grad64_fast(x):
    """:func:`_tanhshrink_grad64` for |x| in [2**-30, 40]."""
    return _tanh_squared64(abs(x))


@_jit
def _tanhshrink_grad64_saturated(x):
    """:func:`_tanhshrink_grad64` for |x| in [20, inf]: 1."""
    return 1.0


_TANHSHRINK_GRAD64_BLOCK, _TANHSHRINK_BACKWARD64_BLOCK = range_blocks(
    _tanhshrink_grad64_fast, _tanhshrink_grad64, _TSG_EXPM1_MIN, _TSG_FAST_MAX,
    _tanhshrink_grad64_saturated, _TSG_EXPM1_MAX, dtype="float64", fast_nonzero=True, runs=True,
)

_tanhshrink_by_dtype = by_dtype(tanhshrink32, _tanhshrink64)
_tanhshrink_grad_by_dtype = by_dtype(tanhshrink_grad32, _tanhshrink_grad64)


@_jit
def _tanhshrink(x):
    return _tanhshrink_by_dtype(x)


@_jit
def _tanhshrink_grad(x):
    return _tanhshrink_grad_by_dtype(x)


@_jit
def _tanhshrink_backward(grad_out, x):
    return backward_product(grad_out, _tanhshrink_grad(x))


def _mp_tanhshrink(mp, x):
    """x - tanh(x) with enough extra bits for the cancellation (3 |log2 x| + 20)."""
    extra = 20 if x == 0 else int(3 * abs(mp.log(abs(x), 2))) + 20
    with mp.extraprec(extra):
        return x - mp.tanh(x)


register(
    Activation(
        name="tanhshrink",
        summary="Tanhshrink, x - tanh(x).",
        formula="x - tanh(x)",
        grad_formula="tanh(x)**2",
        forward=_tanhshrink,
        grad=_tanhshrink_grad,
        backward=_tanhshrink_backward,
        reference=ref.tanhshrink,
        reference_grad=ref.tanhshrink_grad,
        mp_forward=_mp_tanhshrink,
        mp_grad=lambda mp, x: mp.tanh(x) ** 2,
        limits=(-np.inf, np.inf),
        grad_limits=(1.0, 1.0),
        notes=(
            "Stable evaluation: x - tanh(x) cancels catastrophically near 0 (it is x^3/3 -\n"
            "2x^5/15 + ...), so it is never formed as a difference.  float64: for |x| < 1\n"
            "x^3 E(x^2) / D(x^2), the Pade approximant from Lambert's continued fraction of\n"
            "tanh (tools/fit_tanhshrink.py: positive coefficients, E = (D - N) / x^2 exact),\n"
            "and from 1 on (|x| - 1) + q with q = 1 - tanh|x| = 2e / (1 + e), e = exp(-2|x|)\n"
            "(no harmful cancellation left), one shared division in double words; the derivative\n"
            "tanh(x)^2 squares tanh = -t / (2 + t), t = expm1(-2|x|), all double words.\n"
            "float32: x^2 G(|x|) (|x| < 2) or x G(|x|) (beyond),\n"
            "tanh(x)^2 = x^2 G(|x|) or G(|x|), with G a piecewise polynomial on 29 intervals\n"
            "(tools/fit_tanhshrink32.py) and the power an exact double word.  One rounding at\n"
            "the end in both.  Tiny inputs keep relative accuracy (tanhshrink(1e-10) is\n"
            "3.3e-31, not 0) down to where x^3/3 leaves the normal range; tanhshrink(-0.0)\n"
            "= +0.0, like every flushed result."
        ),
        transcendental=True,
        forward_block_f32=tanhshrink32_block16,
        grad_block_f32=tanhshrink_grad32_block16,
        backward_block_f32=tanhshrink_backward32_block16,
        grad_block_f64=_TANHSHRINK_GRAD64_BLOCK,
        backward_block_f64=_TANHSHRINK_BACKWARD64_BLOCK,
    )
)


# ================================================================================
# squareplus
# ================================================================================
def _squareplus_constants(x):
    """(|x| clamp low, |x| above which x**2 >> b, b clamp low, high, 2**-m, m, 2**-n, n,
    |x| from which b / (4 x**2) is below the smallest normal number) in the dtype of
    ``x``: |x| 2**-m and |x| 2**-n keep the quotients of the huge-|x| formulas, and
    their correction terms, normal (float32 m = 96, n = 53, float64 m = 600, n = 373).
    float32 m was 64 until 2026-12-06: b / (4 |x|)'s quotient then reached 2**-86 (b =
    2**-20, |x| near the largest float) and its correction, the residual over the
    denominator, went subnormal (*underflow* at b = 1e-9, x = 3.4028233e38); with 96
    the quotient stays in [2**-54, 2**83] and its correction normal.

    float32: |x| in [2**-20, 2**30] for the main formulas (x**2 + b and s (s + |x|)
    stay far inside the normal range), beyond b / (4 |x|) and b / (4 x**2) (relative
    error b / x**2 < 2**-40), with b in [2**-20, 2**20]; float64: [2**-60, 2**200] and
    [2**-60, 2**60].  The low |x| clamps are these times sqrt(b) (``_squareplus_parts``).
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_squareplus_constants, inline="always")
def _squareplus_constants_overload(x):
    if x == types.float32:
        f = np.float32
        c32 = (f(2.0**-20), f(2.0**30), f(2.0**-20), f(2.0**20), f(2.0**-96), 96, f(2.0**-53), 53, f(2.0**75))
        return lambda x: c32
    if x == types.float64:
        c64 = (2.0**-60, 2.0**200, 2.0**-60, 2.0**60, 2.0**-600, 600, 2.0**-373, 373, 2.0**545)
        return lambda x: c64
    return None


def _mantissa_bits(x):
    """23 or 52."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_mantissa_bits, inline="always")
def _mantissa_bits_overload(x):
    if x == types.float32:
        return lambda x: 23
    if x == types.float64:
        return lambda x: 52
    return None


@_jit
def _squareplus_parts(x, b):
    """(|x| clamped, b clamped (0 stays 0), b ok, s + s_lo = sqrt(x**2 + b), D + D_lo =
    s + |x|, huge) with every rounding error of x**2 + b, the square root and the sum
    kept."""
    T = type(x)
    xlo, xhi, blo, bhi, _, _, _, _, _ = _squareplus_constants(x)
    b_ok = ~quiet_greater(T(0), b) & (b == b)
    bc = abs_clamped(b, blo, bhi)
    bc = T(0) if b == T(0) else bc
    # The low clamps scale with sqrt(b) (b = 0 computes as the lowest b, its result
    # is relu's): x**2 + b is b (1 + (x / sqrt(b))**2), so the function of x /
    # sqrt(b) is clamped where it is at b = 1.  |x| enters squared clamped to at
    # least xlo sqrt(b), where x**2 is 2**-40 b (2**-120 b): it does not reach the
    # result (at xlo alone, 2**-20 b for float32 b = 2**-20: up to 12 ULP), and
    # linearly clamped to at least xlo**3 sqrt(b), where |x| / s is 2**-60 (2**-180)
    # and changes no result either; the correction (|x| / s) s_lo / s of that
    # quotient, about (|x| / s) (xlo**2 / 2) / s, then stays normal (2**-101 in
    # float32; unscaled, it underflowed for float32 |x| < 2**-55 at b = 2**20).
    sb = np.sqrt(max(bc, blo))
    a = abs_clamped(x, sb * (xlo * xlo * xlo), T(2) * xhi)
    a2 = max(a, sb * xlo)
    sq = a2 * a2
    v, v_lo = two_sum(sq, bc)
    v_lo = v_lo + fma(a2, a2, -sq)
    s = np.sqrt(v)
    s_lo = (fma(-s, s, v) + v_lo) / (T(2) * s)
    d, d_lo = two_sum(s, a)
    # |x| >= 2 xhi, decided on the exponent field (a is clamped to 2 xhi)
    huge = (float_bits(abs(x)) >> _mantissa_bits(x)) > (float_bits(xhi) >> _mantissa_bits(x))
    return a, bc, b_ok, s, s_lo, d, d_lo + s_lo, huge


@_jit
def _largest_clamp(x):
    """|x| clamped to [the squareplus clamp, the largest finite number] (NaN-free).

    The huge-|x| quotients are formed on it in every lane, their operands chosen
    before the division: a select between two quotients would let LLVM replace the
    clamp by |x| itself under the select's condition and evaluate the quotient on 0,
    inf or NaN in the other lanes (flags).  The upper clamp stays (|x| > the low
    clamp does not imply |x| <= max)."""
    T = type(x)
    _, xhi, _, _, _, _, _, _, _ = _squareplus_constants(x)
    return abs_clamped(x, T(2) * xhi, largest_finite(x))


@_jit
def _squareplus_generic(x, b):
    T = type(x)
    a, bc, b_ok, s, s_lo, d, d_lo, huge = _squareplus_parts(x, b)
    _, _, _, _, sm, m, _, _, _ = _squareplus_constants(x)
    hb = bc * T(0.5)
    # x >= 0: (x + sqrt(x**2 + b)) / 2; x < 0: b / (2 (sqrt(x**2 + b) - x)), no
    # cancellation; |x| beyond the clamp: b / (4 |x|), formed as (b/2) / (2 |x| 2**-m)
    # and scaled by 2**-m (no underflow; 0 at -inf)
    pos = (d + d_lo) * T(0.5)
    # (operands blended, not selected: see _squareplus_grad)
    h = T(1) if huge else T(0)
    o = T(1) - h
    den = h * (T(2) * (_largest_clamp(x) * sm)) + o * d
    den_lo = o * d_lo
    q = hb / den
    neg = ldexp_signed(q + ((fma(-q, den, hb) - q * den_lo) / den), -m if huge else 0)
    y = neg if ~sign_clear(x) else (x if huge else pos)
    # b = 0: relu (x + |x|) / 2, exactly, also for the tiny |x| the clamp moved
    y = (x if is_positive(x) else T(0)) if bc == T(0) else y
    return x if x != x else (y if b_ok else T(np.nan))


@_jit
def _squareplus_grad_generic(x, b):
    T = type(x)
    a, bc, b_ok, s, s_lo, d, d_lo, huge = _squareplus_parts(x, b)
    _, _, _, _, _, _, sn, n, gmax = _squareplus_constants(x)
    hb = bc * T(0.5)
    # x >= 0: (1 + |x| / s) / 2
    q = a / s
    q_lo = (fma(-q, s, a) - q * s_lo) / s
    h, h_err = two_sum(T(1), q)
    pos = (h + (h_err + q_lo)) * T(0.5)
    # x < 0: (1 - |x| / s) / 2 = b / (2 s (s + |x|)), the product s (s + |x|) a double
    # word; |x| beyond the clamp: b / (4 x**2) = (b/2) / (2 (|x| 2**-n)**2), scaled by
    # 2**-2n, on |x| clamped to gmax (beyond, the result is flushed to 0 anyway)
    # The operands are blended as h A + (1 - h) B with h = 1.0 or 0.0 (exact), not
    # selected: LLVM splits a product of selects into a select of products and,
    # within the huge arm, replaces the clamp of _largest_clamp by |x| (it infers
    # |x| > xhi from the condition), evaluating that arm on every lane (underflow).
    # A product with 0.0 it cannot fold away (0 * inf is not 0).
    _, xhi, _, _, _, _, _, _, _ = _squareplus_constants(x)
    big = abs_clamped(x, T(2) * xhi, gmax)
    h = T(1) if huge else T(0)
    o = T(1) - h
    p1 = h * (T(2) * (big * sn)) + o * s
    p2 = h * (big * sn) + o * d
    p = p1 * p2
    p_lo = fma(p1, p2, -p) + o * (s * d_lo + s_lo * d)
    r = hb / p
    neg = ldexp_signed(r + ((fma(-r, p, hb) - r * p_lo) / p), -2 * n if huge else 0)
    g = neg if ~sign_clear(x) else (T(1) if huge else pos)
    g = (T(1) if is_positive(x) else T(0)) if bc == T(0) else g
    return x if x != x else (g if b_ok else T(np.nan))


# At b = 4 (the default) the kernels of _squareplus4.py take over: one square root
# and two divisions (1 / s for the square root's correction and one corrected
# quotient), and AVX-512 block kernels for the float32 loops with the default
# parameters, instead of the general kernels above (three divisions, b clamped and
# checked).
_squareplus_b4 = by_dtype(squareplus32, squareplus64)
_squareplus_grad_b4 = by_dtype(squareplus_grad32, squareplus_grad64)


@_jit
def _squareplus(x, b):
    # the same bits whether b = 4 is compiled in or passed
    if b == type(x)(4):
        return _squareplus_b4(x)
    return _squareplus_generic(x, b)


@_jit
def _squareplus_grad(x, b):
    if b == type(x)(4):
        return _squareplus_grad_b4(x)
    return _squareplus_grad_generic(x, b)


@_jit
def _squareplus_backward(grad_out, x, b):
    return backward_product(grad_out, _squareplus_grad(x, b))


register(
    Activation(
        name="squareplus",
        summary="Squareplus, (x + sqrt(x**2 + b)) / 2.",
        formula="(x + sqrt(x**2 + b)) / 2",
        grad_formula="(1 + x / sqrt(x**2 + b)) / 2",
        forward=_squareplus,
        grad=_squareplus_grad,
        backward=_squareplus_backward,
        reference=ref.squareplus,
        reference_grad=ref.squareplus_grad,
        mp_forward=lambda mp, x, b: (x + mp.sqrt(x * x + b)) / 2 if x >= 0 else b / (2 * (mp.sqrt(x * x + b) - x)),
        mp_grad=lambda mp, x, b: (
            (1 + x / mp.sqrt(x * x + b)) / 2 if x >= 0 else b / (2 * mp.sqrt(x * x + b) * (mp.sqrt(x * x + b) - x))
        ),
        params=(Param("b", 4.0, "curvature near 0 (b = 0 gives relu); the default is the paper's"),),
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Stable evaluation: for x < 0 the difference x + sqrt(x^2 + b) cancels, so it\n"
            "is b / (2 (sqrt(x^2 + b) - x)) there, and the derivative b / (2 s (s - x)),\n"
            "s = sqrt(x^2 + b); x^2 + b, the square root and the sums are carried as double\n"
            "words, one rounding at the end.  At b = 4 (the default) a leaner kernel does\n"
            "the same with one square root and two divisions (AVX-512 block kernels in\n"
            "float32); |x| beyond 2^63 (float32) / 2^511 (float64) gives x, 1/|x| (flushed\n"
            "to +0 past 2^126 / 2^1022) and 1 or +0 for the derivative.  Other b: beyond\n"
            "2^30 / 2^200 x^2 would overflow, so b / (4|x|) and b / (4x^2) there.\n"
            "squareplus(0) = 1 and squareplus_grad(0) = 0.5 at b = 4.  Parameters: b >= 0;\n"
            "b = 0 gives relu exactly (derivative 0 at 0, as relu's); b is clamped to\n"
            "[2^-20, 2^20] (float32) / [2^-60, 2^60] (float64) otherwise, and a negative b\n"
            "gives NaN."
        ),
        # b / (4|x|) falls below the smallest normal number only beyond 2**126 / 2**1022
        saturation={"float32": 2.0**127, "float64": 2.0**1023},
        # no streaming stores: with them (the chunked loop) float64
        # squareplus_backward(g, x, 4.0) took 7.6 memory copies at 10^7, 3.3 without b
        stream=False,
        forward_block_f32=squareplus32_block16,  # b = 4
        grad_block_f32=squareplus_grad32_block16,
        backward_block_f32=squareplus_backward32_block16,
    )
)
