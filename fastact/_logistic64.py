"""float64 silu, x sigmoid(x), and its derivative on a table-driven double-word exp: the float32 kernels'
scheme (``_sigmoid32``, ``_silu32``) in float64.

The generic gated kernel (``kernels.gated``: exp as a double word p 2^k, then e and
its low part each scaled to their value, a general corrected quotient and the
scale applied to the quotient) took 115 vector instructions per 8 values, 2.3x
PyTorch's silu.  Here, as in float32, with a = |x| clamped to [2^-60, 745]:

    exp(-a) = 2^k (p + p_lo)            (p in [0.957, 1.92], a double word)
    x >= 0:  a / (1 + e)
    x <  0:  -2^k a p / (1 + e)          (a p as a double word)

where 1 + e enters as fma(s, p, 1) with s = 2^max(k, -60) (exact: below 2^-60, e
vanishes in 1 + e whichever scale it gets) and its exact rounding error, and the
quotient takes one residual correction; 2^k goes on last on the bit pattern, so
the negative tail keeps its relative accuracy down to the smallest normal number
(silu(-700) = -6.9e-302), flushed to +0 below it.  Below |x| = 2^-60 silu(x)
rounds to x/2 (+-0 where that is subnormal); above 745 it is x (x >= 0) or the
flushed +0.

The exp (:func:`exp_neg64_table`) reduces by ln2/8 onto a table of 2^(j/8) (one
``vpermpd`` per zmm half for each of its two words), so that |r| <= ln2/16 and
a degree-7 polynomial suffices and the roundings of r and of r + r^2 Q weigh
2^-58 each: 2^-56.4 relative at worst measured, in 15 floating-point operations
per 8 values.  Until 2026-12-05 silu and silu' took ``exp_neg64_lean`` (the
reduction by ln2, |r| <= 0.35, the degree-9 Q of ``_core`` and two rounding
terms left out of p_lo: 2^-54.4, 23 operations): the short path's loop took 70
floating-point operations per 16 values where it takes 54, silu 1.14x its time
now (0.883 -> 0.563 ULP over 10^7 samples) and silu' 1.10x (1.144 -> 0.599; its
worst inputs near x = -1.04, where 1 + x u cancels, 1.53 -> 0.62).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import backward_block_intrinsic, block_intrinsic
from ._core import _E64, _LN2_HI64, _LN2_LO64, _LOG2E, _SHIFT64, JIT_OPTIONS, _select, float_bits, float_from_bits, fma

__all__ = [
    "exp_neg64", "one_plus64", "exp_neg64_lean", "exp_neg64_table", "emit_exp_neg64_table", "quotient_parts64",
    "silu64", "silu_grad64_off_root",
    "silu64_block16", "silu_grad64_blocks",
    "near_root_grad64_blocks", "emit_exp_neg64", "emit_gate_quotient64", "gate64", "emit_gate64",
    "reciprocal_one_plus64", "gate_grad64", "emit_reciprocal_one_plus64", "emit_gate_grad64", "emit_two_sum",
    "emit_ldexp_signed64", "emit_ldexp_flush64",
]

_ABS = np.int64(0x7FFFFFFFFFFFFFFF)
_SIGN = np.int64(-(2**63))
_INF_BITS = 0x7FF0000000000000
_MIN_NORMAL_BITS = 0x0010000000000000
# |x| below 2^-1021: x / 2 is subnormal, flushed to a signed zero
_HALF_NORMAL_BITS = 0x0020000000000000
_ONE_EXPONENT = 1 << 52
_TINY_BITS = int(np.float64(2.0**-60).view(np.int64))
_LIMIT_BITS = int(np.float64(745.0).view(np.int64))
_SHIFT_BITS = int(np.float64(_SHIFT64).view(np.int64))
_E_FLOOR = -60  # e enters 1 + e as 2^max(k, -60) p
# silu' also takes |x| e with that scale: from 2^-70 on (|x| <= 745) it is below
# 2^-59 of the result, whichever scale it gets
_E_FLOOR_GRAD = -70


@njit(**JIT_OPTIONS)
def _reduced_neg64(a):
    """The shared first steps of :func:`exp_neg64` and :func:`exp_neg64_lean`: -a =
    k ln2 + r + r_lo by Cody-Waite (r_hi exact, r_lo the rounding of r), and the
    polynomial q with exp(r) = 1 + r + r^2 q: ``(r, r_lo, r2, q, k)``."""
    t = fma(-a, _LOG2E, _SHIFT64)
    kf = t - _SHIFT64
    k = float_bits(t) - np.int64(_SHIFT_BITS)
    r_hi = fma(-kf, _LN2_HI64, -a)  # exact (Cody-Waite)
    c = kf * _LN2_LO64
    r = r_hi - c
    r_lo = (r_hi - r) - c
    r2 = r * r
    r4 = r2 * r2
    e = _E64
    # Every multiply-add an explicit FMA (the block kernels repeat them one for one);
    # c, used twice, is a product LLVM does not contract.
    q = fma(r4, fma(r4, fma(r, e[9], e[8]), fma(r2, fma(r, e[7], e[6]), fma(r, e[5], e[4]))),
            fma(r2, fma(r, e[3], e[2]), fma(r, e[1], e[0])))
    return r, r_lo, r2, q, k


@njit(**JIT_OPTIONS)
def exp_neg64(a, a_lo):
    """exp(-(a + a_lo)) = 2^k (p + p_lo) for a in [2^-60, 745] and |a_lo| at most
    an ULP of a (the low part of a double-word argument; 0.0 for none, which LLVM
    folds away): ``(p, p_lo, k)``, p in [0.70, 1.42] and p_lo its low part (relative
    error about 2^-57)."""
    r, r_lo, r2, q, k = _reduced_neg64(a)
    r_lo = r_lo - a_lo
    w = r2 * q  # used twice: LLVM does not contract it
    s = r + w
    s_lo = (r - s) + w  # Fast2Sum: |r| >= |w|
    p = 1.0 + s
    return p, ((1.0 - p) + s) + fma(r_lo, p, s_lo), k  # exp(r + r_lo) ~ exp(r) (1 + r_lo)


@njit(**JIT_OPTIONS)
def exp_neg64_lean(a):
    """exp(-a) = 2^k (p + p_lo) as :func:`exp_neg64` (a_lo = 0) with two terms of
    p_lo left out: the rounding of r + r^2 q (at most 2^-55, |r| <= 0.35) and
    r_lo (p - 1) (2^-56.3); relative error about 2^-54.4 instead of 2^-57, three
    operations fewer.  Table-free, for loops that LLVM vectorizes itself
    (float64 tanhshrink), where a table lookup would become a gather; the block
    kernels of silu and silu' take :func:`exp_neg64_table`."""
    r, r_lo, r2, q, k = _reduced_neg64(a)
    s = fma(r2, q, r)
    p = 1.0 + s
    return p, r_lo + ((1.0 - p) + s), k


# exp(-a) on a table of 2^(j/8) for silu and silu': -a = (8k + j) ln2/8 + r with
# |r| <= ln2/16 (n = 8k + j from one FMA, as in _core's exp, with ln2/8 split
# Cody-Waite), exp(r) = 1 + r + r^2 Q(r), Q of degree 5 (relative error 2^-58.3,
# tools/fit_poly.py), and 2^(j/8) = _EXP8_HI[j] + _EXP8_LO[j]
_EIGHT_LOG2E = 8.0 * _LOG2E
_LN2_HI_8 = _LN2_HI64 / 8.0  # n ln2_hi/8 exact for |n| < 2^21
_LN2_LO_8 = _LN2_LO64 / 8.0
_EXP8_Q = (0.5000000000000296, 0.16666666666663724, 0.04166666657007392, 0.008333333371131728,
           0.001388978067143176, 0.00019840565606625465)
_EXP8_HI = np.array([
    1.0, 1.0905077326652577, 1.189207115002721, 1.2968395546510096,
    1.4142135623730951, 1.5422108254079407, 1.681792830507429, 1.8340080864093424,
])
_EXP8_LO = np.array([
    0.0, -3.046782079812471e-17, 3.982015231465646e-17, 2.5382502794888315e-17,
    -9.667293313452913e-17, 7.949834809697621e-17, 8.199010020581497e-17, 3.283107224245627e-17,
])


@njit(**JIT_OPTIONS)
def exp_neg64_table(a):
    """exp(-a) = 2^k (p + p_lo) for a in [2^-60, 745]: ``(p, p_lo, k)``, p in
    [0.957, 1.92] and p_lo its low part, relative error below 2^-56 (r rounded
    once: |r| <= ln2/16 makes its rounding 2^-58 of exp, where the table-free
    :func:`exp_neg64` keeps it apart; s = r + r^2 Q rounded, 2^-58; the table's low
    part times s left out, 2^-57.5; the fit's 2^-58.3).  p = t (1 + s) for the
    table's t = 2^(j/8): t - p is exact (Sterbenz) and fma(t, s, t - p) the
    product's rounding error.  15 floating-point operations where :func:`exp_neg64`
    takes 23 (the degree-9 Q of the reduction by ln2, |r| <= 0.35)."""
    t = fma(-a, _EIGHT_LOG2E, _SHIFT64)
    kf = t - _SHIFT64
    n = float_bits(t) - np.int64(_SHIFT_BITS)
    r = fma(-kf, _LN2_HI_8, -a)  # exact (Cody-Waite)
    r = fma(-kf, _LN2_LO_8, r)
    e = _EXP8_Q
    # Q by Estrin's scheme: the same five FMAs as Horner's, three of them
    # independent, so that the exp's chain is two FMAs shorter (silu' 4% faster
    # on AVX2, docs/how-it-is-fast.md)
    r2 = r * r
    q = fma(r2, fma(r2, fma(r, e[5], e[4]), fma(r, e[3], e[2])), fma(r, e[1], e[0]))
    s = fma(r2, q, r)
    j = n & np.int64(7)
    hi = _EXP8_HI[j]
    p = fma(hi, s, hi)
    return p, fma(hi, s, hi - p) + _EXP8_LO[j], n >> np.int64(3)


@njit(**JIT_OPTIONS)
def one_plus64(sc, p, p_lo):
    """1 + sc (p + p_lo) as a double word (d, d_lo): 1 + sc p rounded once (fma),
    its rounding error and sc p_lo (the first step of :func:`quotient_parts64` and
    :func:`reciprocal_one_plus64`)."""
    d = fma(sc, p, 1.0)
    return d, fma(sc, p_lo, fma(sc, p, 1.0 - d))


@njit(**JIT_OPTIONS)
def quotient_parts64(num, num_lo, p, p_lo, sc):
    """The first steps of (num + num_lo) / (1 + sc (p + p_lo)): 1 + sc p as
    fma(sc, p, 1) and its exact rounding error d_lo, one division: ``(inv, q0,
    res)``, 1 / d, (num / d) rounded and its residual, so that the quotient is the
    double word q0 + res / d (the scalar half of :func:`_emit_quotient_parts64`)."""
    d, d_lo = one_plus64(sc, p, p_lo)
    inv = 1.0 / d
    q0 = num * inv
    return inv, q0, fma(-q0, d, num) + fma(-q0, d_lo, num_lo)


@njit(**JIT_OPTIONS)
def _gate_quotient64(m, m_lo, a, p, p_lo, sc):
    """a (m + m_lo) / (1 + sc (p + p_lo)), rounded once: the quotient of m + m_lo
    as a double word q0 + res / d (:func:`quotient_parts64`), then times a in one
    FMA, a q0 + res (a / d): a comes last and off the division's chain (one
    multiply-add fewer than forming a (m + m_lo) first).  a may carry x's sign."""
    inv, q0, res = quotient_parts64(m, m_lo, p, p_lo, sc)
    return fma(a, q0, res * (a * inv))


@njit(**JIT_OPTIONS)
def gate64(x, b, ab, a, p, p_lo, k, sc, keep_above_bits):
    """x sigmoid(v) = |x| / (1 + e) (x >= 0) or -2^k |x| p / (1 + e) (x < 0) from
    a = |x| (clamped), e = exp(-v) = 2^k (p + p_lo) and sc = 2^max(k, -60): one
    corrected quotient times |x| (:func:`_gate_quotient64`), 2^k applied last (flushed to
    +0 below the smallest normal number).  Below |x| = 2^-60 the result is x / 2
    (a signed zero where subnormal); x itself for x >= 0 above the float with bit
    pattern ``keep_above_bits`` (inf included) and for NaN.  ``b``, ``ab``: the bit
    patterns of x and |x|.  silu (v = |x|) and gelu_tanh (``_gelu_tanh64``) share it."""
    neg = b < np.int64(0)
    m_hi = _select(neg, p, 1.0)
    m_lo = _select(neg, p_lo, 0.0)
    q = _gate_quotient64(m_hi, m_lo, a, p, p_lo, sc)
    rb = float_bits(q) + (_select(neg, k, np.int64(0)) << np.int64(52))
    rb = _select(rb < np.int64(_MIN_NORMAL_BITS), np.int64(0), rb | (b & _SIGN))
    half = _select(ab < np.int64(_HALF_NORMAL_BITS), b & _SIGN, b - np.int64(_ONE_EXPONENT))
    rb = _select(ab < np.int64(_TINY_BITS), half, rb)
    keep = ((ab > np.int64(keep_above_bits)) & (b >= np.int64(0))) | (ab > np.int64(_INF_BITS))
    return float_from_bits(_select(keep, b, rb), x)


@njit(**JIT_OPTIONS)
def _silu_prologue(x, floor):
    """The bit patterns of x and |x|, a = |x| clamped to [2^-60, 745], exp(-a) = 2^k
    (p + p_lo) (:func:`exp_neg64_table`) and the scale 2^max(k, floor)
    for sums with 1 (silu and silu')."""
    b = float_bits(x)
    ab = b & _ABS
    a = float_from_bits(min(max(ab, np.int64(_TINY_BITS)), np.int64(_LIMIT_BITS)), x)
    p, p_lo, k = exp_neg64_table(a)
    sc = float_from_bits((max(k, np.int64(floor)) + np.int64(1023)) << np.int64(52), x)
    return b, ab, a, p, p_lo, k, sc


@njit(**JIT_OPTIONS)
def silu64(x):
    """x / (1 + exp(-x)) of a float64 value, within 1 ULP (0.569 over 10^7 samples),
    on :func:`exp_neg64_table`."""
    b, ab, a, p, p_lo, k, sc = _silu_prologue(x, _E_FLOOR)
    return gate64(x, b, ab, a, p, p_lo, k, sc, _LIMIT_BITS)


@njit(**JIT_OPTIONS)
def silu_grad64_off_root(x):
    """silu'(x) = sigmoid(x) (1 + x (1 - sigmoid(x))) of a float64 value, within 2 ULP
    (0.69 at worst measured, just outside the window) away from the root x0 =
    -1.2785 of silu' (the caller replaces it within 1/32 of x0, where 1 - |x| u
    cancels), on :func:`exp_neg64_table`.  With
    u = 1 / (1 + e) as a double word (one division and its exact residual), one
    formula P (1 + x Q) for both signs:
    u (1 + x e u) for x >= 0 (x e u at most 0.28) and 2^k p u (1 + x u) for x < 0,
    each factor a double word, 2^k applied last (the float32 kernel's
    ``_silu32.gate_grad32``)."""
    one = 1.0
    b, ab, a, p, p_lo, k, sc = _silu_prologue(x, _E_FLOOR_GRAD)
    u, u_lo = reciprocal_one_plus64(sc, p, p_lo)
    # one formula for both signs, P (1 + x Q) on selected double words (as the
    # float32 gate_grad32): x >= 0: P = u, Q = e u; x < 0: P = p u (2^k after),
    # Q = u.  e u is 1 - (u + u_lo): 1 - u exact (Sterbenz, u in [1/2, 1]) and
    # -u_lo, two multiplies fewer than sc (p u) and its low part, and off the
    # product's chain (4-5% of silu''s time; the results equal those of sc p u on
    # 3e7 samples of x >= 0: either double word is far within the final rounding).
    # xs: x with |x| clamped (the sign of x on a)
    xs = float_from_bits(float_bits(a) | (b & _SIGN), x)
    neg = b < np.int64(0)
    pu = p * u
    pu_lo = fma(p, u, -pu) + fma(p, u_lo, p_lo * u)
    q = _select(neg, u, one - u)
    q_lo = _select(neg, u_lo, -u_lo)
    bq = xs * q
    c = one + bq  # exact for x < 0 (Sterbenz for bq in [-2, -0.5], and beyond as 1 - |bq| is)
    c_lo = fma(xs, q_lo, ((one - c) + bq) + fma(xs, q, -bq))  # Fast2Sum for |bq| <= 1/2
    m = _select(neg, pu, u)
    m_lo = _select(neg, pu_lo, u_lo)
    mb = float_bits(fma(m, c, fma(m, c_lo, m_lo * c)))
    rb = (mb & _ABS) + (_select(neg, k, np.int64(0)) << np.int64(52))
    rb = _select(rb < np.int64(_MIN_NORMAL_BITS), np.int64(0), rb | (mb & _SIGN))
    return float_from_bits(_select(ab > np.int64(_INF_BITS), b, rb), x)  # NaN in, NaN out


@njit(**JIT_OPTIONS)
def reciprocal_one_plus64(sc, p, p_lo):
    """u + u_lo = 1 / (1 + sc (p + p_lo)) as a double word: 1 + sc p rounded once
    (fma) and its exact error, one division and its exact residual."""
    one = 1.0
    d, d_lo = one_plus64(sc, p, p_lo)
    u = one / d
    return u, u * fma(-u, d_lo, fma(-u, d, one))


@njit(**JIT_OPTIONS)
def gate_grad64(x, b, ab, p, p_lo, k, u, u_lo, be, c, c_lo):
    """The derivative of x sigmoid(v) (v >= 0 of the sign of x) off its root, from
    e = exp(-v) = 2^k (p + p_lo), u + u_lo = 1 / (1 + e), be = b e and c + c_lo =
    1 - b u (b = |x| v'): u + b e u^2 for x >= 0 and 2^k p u (1 - b u) for x < 0,
    each factor a double word, 2^k applied last (flushed to +0 below the smallest
    normal number); NaN in, NaN out.  ``b``, ``ab``: the bit patterns of x and |x|.
    silu' (b = |x|) and gelu_tanh' (``_gelu_tanh64``) share it."""
    uu = fma(u, u, (u + u) * u_lo)
    pos = u + fma(be, uu, u_lo)
    pu = p * u
    pu_lo = fma(p, u, -pu) + fma(p, u_lo, p_lo * u)
    mb = float_bits(fma(pu, c, fma(pu, c_lo, pu_lo * c)))
    rb = (mb & _ABS) + (k << np.int64(52))
    rb = _select(rb < np.int64(_MIN_NORMAL_BITS), np.int64(0), rb | (mb & _SIGN))
    rb = _select(b < np.int64(0), rb, float_bits(pos))
    return float_from_bits(_select(ab > np.int64(_INF_BITS), b, rb), x)  # NaN in, NaN out


# --------------------------------------------------------------------------------
# AVX-512 block kernels: the scalar kernels above on 16 lanes (<16 x double>, two
# zmm halves), operation for operation, so every layout gives the same bits.
# --------------------------------------------------------------------------------
# Blocks whose 16 |x| all lie in [2^-60, 40] (k >= -58: above both floors on k,
# no result to flush, no NaN or infinity) take a short path without the clamp,
# the floor on k and the final selects: about a quarter of the float64 silu's
# time (measured on the scalar kernel with and without them, N(0, 4^2) data).
_FAST_BITS = int(np.float64(40.0).view(np.int64))
# from |x| = 38 on e = exp(-|x|) <= 3.2e-17 and sc p <= max(e, 2^-60 p) < 2^-53:
# 1 + sc p rounds to 1
_SATURATED_BITS = int(np.float64(38.0).view(np.int64))


def emit_exp_neg64(v, a, a_lo=None):
    """:func:`exp_neg64` on 16 lanes: ``(p, p_lo, k)`` (``a_lo=None``: a_lo = 0)."""
    builder = v.builder
    fma_, f = v.fma, v.splat_f
    fmul, fadd, fsub = builder.fmul, builder.fadd, builder.fsub
    na = builder.fneg(a)
    t = fma_(na, f(_LOG2E), f(_SHIFT64))
    kf = fsub(t, f(_SHIFT64))
    k = builder.sub(builder.bitcast(t, v.I), v.splat_i(_SHIFT_BITS))
    r_hi = fma_(builder.fneg(kf), f(_LN2_HI64), na)
    c = fmul(kf, f(_LN2_LO64))
    r = fsub(r_hi, c)
    r_lo = fsub(fsub(r_hi, r), c)
    if a_lo is not None:
        r_lo = fsub(r_lo, a_lo)
    r2 = fmul(r, r)
    r4 = fmul(r2, r2)
    e = [f(c) for c in _E64]
    q = fma_(r4, fma_(r4, fma_(r, e[9], e[8]), fma_(r2, fma_(r, e[7], e[6]), fma_(r, e[5], e[4]))),
             fma_(r2, fma_(r, e[3], e[2]), fma_(r, e[1], e[0])))
    one = f(1.0)
    w = fmul(r2, q)
    s = fadd(r, w)
    s_lo = fadd(fsub(r, s), w)
    p = fadd(one, s)
    return p, fadd(fadd(fsub(one, p), s), fma_(r_lo, p, s_lo)), k


def emit_exp_neg64_table(v, a):
    """:func:`exp_neg64_table` on 16 lanes: ``(p, p_lo, k)``, the table's two
    lookups one ``vpermpd`` per zmm half each (``Lanes.table8``, on n's low
    bits)."""
    builder = v.builder
    fma_, f = v.fma, v.splat_f
    na = builder.fneg(a)
    t = fma_(na, f(_EIGHT_LOG2E), f(_SHIFT64))
    kf = builder.fsub(t, f(_SHIFT64))
    n = builder.sub(builder.bitcast(t, v.I), v.splat_i(_SHIFT_BITS))
    nkf = builder.fneg(kf)
    r = fma_(nkf, f(_LN2_LO_8), fma_(nkf, f(_LN2_HI_8), na))
    e = [f(c) for c in _EXP8_Q]
    r2 = builder.fmul(r, r)
    q = fma_(r2, fma_(r2, fma_(r, e[5], e[4]), fma_(r, e[3], e[2])), fma_(r, e[1], e[0]))
    s = fma_(r2, q, r)
    hi = v.table8(_EXP8_HI, n)
    p = fma_(hi, s, hi)
    p_lo = builder.fadd(fma_(hi, s, builder.fsub(hi, p)), v.table8(_EXP8_LO, n))
    return p, p_lo, builder.ashr(n, v.splat_i(3))


def emit_two_sum(v, a, b):
    """``_core.two_sum(a, b)`` on 16 lanes: ``(s, e)``."""
    builder = v.builder
    s = builder.fadd(a, b)
    bb = builder.fsub(s, a)
    return s, builder.fadd(builder.fsub(a, builder.fsub(s, bb)), builder.fsub(b, bb))


def emit_ldexp_flush64(v, p, k, flush=True):
    """``_core.ldexp_flush(p, k)`` on 16 lanes: the bit pattern of p plus k in the
    exponent field, +0 below the smallest normal number.  ``flush=False`` where the
    result is known to be normal (a block kernel's short path): the sum alone."""
    builder = v.builder
    bits = builder.add(builder.bitcast(p, v.I), builder.shl(k, v.splat_i(52)))
    if flush:
        bits = builder.select(builder.icmp_signed(">=", bits, v.splat_i(_MIN_NORMAL_BITS)), bits, v.splat_i(0))
    return builder.bitcast(bits, v.F)


def emit_ldexp_signed64(v, p, k, down_finite=False):
    """``_core.ldexp_signed(p, k)`` on 16 lanes (its codegen, step for step).
    ``down_finite=True`` for finite p and k <= 0: the same bits, without the
    overflow and special-value steps (only the flush to a signed zero remains)."""
    builder = v.builder
    i = v.splat_i
    bits = builder.bitcast(p, v.I)
    sign = builder.and_(bits, i(_SIGN))
    mag = builder.and_(bits, i(_ABS))
    shift = builder.shl(k, i(52))
    new = builder.add(mag, shift)
    if down_finite:
        under = builder.icmp_signed("<", mag, builder.sub(i(_ONE_EXPONENT), shift))
        new = builder.select(under, i(0), new)
    else:
        up = builder.icmp_signed(">", k, i(0))
        over = builder.icmp_signed(">", mag, builder.sub(i(_INF_BITS), builder.select(up, shift, i(0))))
        under = builder.icmp_signed("<", mag, builder.sub(i(_ONE_EXPONENT), builder.select(up, i(0), shift)))
        special = builder.icmp_signed(">=", mag, i(_INF_BITS))
        new = builder.select(under, i(0), new)
        new = builder.select(over, i(_INF_BITS), new)
        new = builder.select(special, mag, new)
    return builder.bitcast(builder.or_(new, sign), v.F)


def _emit_quotient_parts64(v, num, num_lo, p, p_lo, sc, d_is_one=False):
    """:func:`quotient_parts64` on 16 lanes: ``(inv, q0, res)``.  ``d_is_one``: for
    lanes where 1 + sc p rounds to 1 (sc p < 2^-53), the same operations with d and
    1 / d the constant 1, which LLVM folds (no division)."""
    builder = v.builder
    fma_, one = v.fma, v.splat_f(1.0)
    d = one if d_is_one else fma_(sc, p, one)
    d_lo = fma_(sc, p_lo, fma_(sc, p, builder.fsub(one, d)))
    inv = one if d_is_one else builder.fdiv(one, d)
    q0 = builder.fmul(num, inv)
    nq0 = builder.fneg(q0)
    return inv, q0, builder.fadd(fma_(nq0, d, num), fma_(nq0, d_lo, num_lo))


def emit_gate_quotient64(v, m, m_lo, a, p, p_lo, sc, d_is_one=False):
    """:func:`_gate_quotient64` on 16 lanes (``d_is_one``: see
    :func:`_emit_quotient_parts64`)."""
    inv, q0, res = _emit_quotient_parts64(v, m, m_lo, p, p_lo, sc, d_is_one)
    return v.fma(a, q0, v.builder.fmul(res, v.builder.fmul(a, inv)))


def _emit_prologue(v, b, general, floor):
    """|x| (clamped in the general path), exp(-|x|) = 2^k (p + p_lo) and the scale
    sc = 2^max(k, floor) (the floor only in the general path)."""
    builder = v.builder
    ab = builder.and_(b, v.splat_i(v.ABS))
    cb = v.smin(v.smax(ab, v.splat_i(_TINY_BITS)), v.splat_i(_LIMIT_BITS)) if general else ab
    a = builder.bitcast(cb, v.F)
    p, p_lo, k = emit_exp_neg64_table(v, a)
    ks = v.smax(k, v.splat_i(floor)) if general else k
    sc = builder.bitcast(builder.shl(builder.add(ks, v.splat_i(1023)), v.splat_i(52)), v.F)
    return ab, a, p, p_lo, k, sc


def emit_gate64(v, b, store, prologue, fast_bits, keep_above_bits, saturated_bits=None):
    """:func:`gate64` on 16 lanes, after ``prologue(lanes, bits, general)`` -> (a, p,
    p_lo, k, sc); blocks with every |x| in [2^-60, the float with bit pattern
    ``fast_bits``] take the short path (no flush, no tiny or kept lane).  With
    ``saturated_bits``: of the others, blocks whose every |x| lies from there to inf
    (NaN excluded), where the prologue's sc p < 2^-53 (1 + sc p rounds to 1), take
    the general path's operations with the division by 1 folded away and without
    the tiny lanes' select (the same bits)."""
    builder = v.builder
    ab = builder.and_(b, v.splat_i(v.ABS))
    sign = builder.and_(b, v.splat_i(_SIGN))

    def evaluate(general, saturated=False):
        a, p, p_lo, k, sc = prologue(v, b, general)
        neg = builder.icmp_signed("<", b, v.splat_i(0))
        m_hi = builder.select(neg, p, v.splat_f(1.0))
        m_lo = builder.select(neg, p_lo, v.splat_f(0.0))
        # the short path takes x itself for a = |x| (unclamped there): the same
        # bits with the sign from the FMA, and 2^k added to the signed pattern
        # (normal results)
        q = emit_gate_quotient64(v, m_hi, m_lo, a if general else builder.bitcast(b, v.F), p, p_lo, sc, saturated)
        scale = builder.shl(builder.select(neg, k, v.splat_i(0)), v.splat_i(52))
        rb = builder.add(builder.bitcast(q, v.I), scale)
        if not general:
            store(rb)
            return
        rb = builder.select(builder.icmp_signed("<", rb, v.splat_i(_MIN_NORMAL_BITS)), v.splat_i(0),
                            builder.or_(rb, sign))
        if not saturated:  # no tiny lane in a saturated block
            half = builder.select(builder.icmp_signed("<", ab, v.splat_i(_HALF_NORMAL_BITS)), sign,
                                  builder.sub(b, v.splat_i(_ONE_EXPONENT)))
            rb = builder.select(builder.icmp_signed("<", ab, v.splat_i(_TINY_BITS)), half, rb)
        above = builder.and_(builder.icmp_signed(">", ab, v.splat_i(keep_above_bits)),
                             builder.icmp_signed(">=", b, v.splat_i(0)))
        keep = above if saturated else builder.or_(above, builder.icmp_signed(">", ab, v.splat_i(_INF_BITS)))
        store(builder.select(keep, b, rb))

    tiers = [(_TINY_BITS, fast_bits, lambda: evaluate(False))]
    if saturated_bits is not None:
        tiers.append((saturated_bits, _INF_BITS, lambda: evaluate(True, saturated=True)))
    v.dispatch(ab, tiers, lambda: evaluate(True))


def _silu_prologue64(v, b, general):
    _, a, p, p_lo, k, sc = _emit_prologue(v, b, general, _E_FLOOR)
    return a, p, p_lo, k, sc


def _emit_silu64(v, b, store):
    emit_gate64(v, b, store, _silu_prologue64, _FAST_BITS, _LIMIT_BITS, _SATURATED_BITS)


@intrinsic
def silu64_block16(typingctx, src, dst):
    """``dst[0:16] = silu64(src[0:16])``, as AVX-512 vector code (raw pointers,
    which may be equal)."""
    return block_intrinsic(src, dst, _emit_silu64, "float64")


def emit_reciprocal_one_plus64(v, sc, p, p_lo):
    """:func:`reciprocal_one_plus64` on 16 lanes: ``(u, u_lo)``."""
    builder = v.builder
    fma_, one = v.fma, v.splat_f(1.0)
    d = fma_(sc, p, one)
    d_lo = fma_(sc, p_lo, fma_(sc, p, builder.fsub(one, d)))
    u = builder.fdiv(one, d)
    nu = builder.fneg(u)
    return u, builder.fmul(u, fma_(nu, d_lo, fma_(nu, d, one)))


def emit_gate_grad64(v, b, ab, p, p_lo, k, u, u_lo, be, c, c_lo, general):
    """:func:`gate_grad64` on 16 lanes (its bit pattern); ``general=False``: every lane
    off the root's window is normal, so the exponent is raised on the signed
    pattern, and there is no NaN (lanes in the window are replaced by the caller)."""
    builder = v.builder
    fma_ = v.fma
    fmul, fadd, fneg = builder.fmul, builder.fadd, builder.fneg
    uu = fma_(u, u, fmul(fadd(u, u), u_lo))
    pos = fadd(u, fma_(be, uu, u_lo))
    pu = fmul(p, u)
    pu_lo = fadd(fma_(p, u, fneg(pu)), fma_(p, u_lo, fmul(p_lo, u)))
    mb = builder.bitcast(fma_(pu, c, fma_(pu, c_lo, fmul(pu_lo, c))), v.I)
    scale = builder.shl(k, v.splat_i(52))
    if general:
        rb = builder.add(builder.and_(mb, v.splat_i(v.ABS)), scale)
        rb = builder.select(builder.icmp_signed("<", rb, v.splat_i(_MIN_NORMAL_BITS)), v.splat_i(0),
                            builder.or_(rb, builder.and_(mb, v.splat_i(_SIGN))))
    else:
        rb = builder.add(mb, scale)
    rb = builder.select(builder.icmp_signed("<", b, v.splat_i(0)), rb, builder.bitcast(pos, v.I))
    if general:
        rb = builder.select(builder.icmp_signed(">", ab, v.splat_i(_INF_BITS)), b, rb)
    return rb


def _emit_silu_grad_off_root64(v, b, general):
    """The bit pattern of :func:`silu_grad64_off_root` on 16 lanes."""
    builder = v.builder
    fma_ = v.fma
    fmul, fsub, fneg = builder.fmul, builder.fsub, builder.fneg
    fadd, select = builder.fadd, builder.select
    one = v.splat_f(1.0)
    ab, a, p, p_lo, k, sc = _emit_prologue(v, b, general, _E_FLOOR_GRAD)
    u, u_lo = emit_reciprocal_one_plus64(v, sc, p, p_lo)
    # x itself on the short path (|x| unclamped there)
    xs = builder.bitcast(builder.or_(builder.bitcast(a, v.I), builder.and_(b, v.splat_i(_SIGN))), v.F) \
        if general else builder.bitcast(b, v.F)
    neg = builder.icmp_signed("<", b, v.splat_i(0))
    pu = fmul(p, u)
    pu_lo = fadd(fma_(p, u, fneg(pu)), fma_(p, u_lo, fmul(p_lo, u)))
    q = select(neg, u, fsub(one, u))
    q_lo = select(neg, u_lo, fneg(u_lo))
    bq = fmul(xs, q)
    c = fadd(one, bq)
    c_lo = fma_(xs, q_lo, fadd(fadd(fsub(one, c), bq), fma_(xs, q, fneg(bq))))
    m = select(neg, pu, u)
    m_lo = select(neg, pu_lo, u_lo)
    mb = builder.bitcast(fma_(m, c, fma_(m, c_lo, fmul(m_lo, c))), v.I)
    scale = builder.shl(select(neg, k, v.splat_i(0)), v.splat_i(52))
    if not general:  # normal results, no NaN: the exponent raised on the signed pattern
        return builder.add(mb, scale)
    rb = builder.add(builder.and_(mb, v.splat_i(v.ABS)), scale)
    rb = select(builder.icmp_signed("<", rb, v.splat_i(_MIN_NORMAL_BITS)), v.splat_i(0),
                builder.or_(rb, builder.and_(mb, v.splat_i(_SIGN))))
    return select(builder.icmp_signed(">", ab, v.splat_i(_INF_BITS)), b, rb)


def near_root_grad64_blocks(off_root, fast_bits, root, lead, coef, half_width):
    """The float64 block kernels ``(grad, backward)`` of a gated derivative with a
    root x0: off the root's window ``off_root(lanes, bits, general)`` (the bit
    pattern of the scalar kernel's off-root part), within it (|x - x0| <=
    ``half_width``) the polynomial of ``kernels.gated._near_root`` on the float64
    constants ``root`` = (hi, lo), ``lead`` = (P(0), its low part) and ``coef`` (the
    rest of P), built only for blocks with a lane in the window.  Blocks with every
    |x| in [2^-60, the float with bit pattern ``fast_bits``] take the short path."""
    hi, lo = root
    c0, c0_lo = lead
    half_width_bits = int(np.float64(half_width).view(np.int64))

    def emit(v, b, store):
        builder = v.builder
        fma_, f = v.fma, v.splat_f
        ab = builder.and_(b, v.splat_i(v.ABS))

        def evaluate(general):
            rb = off_root(v, b, general)
            d = builder.fsub(builder.bitcast(b, v.F), f(hi))
            inside = builder.icmp_signed("<=", builder.and_(builder.bitcast(d, v.I), v.splat_i(v.ABS)),
                                         v.splat_i(half_width_bits))

            def near_root():
                # off the window t is 0 (the scalar kernel's select), so that nothing
                # overflows; in the short path the bounded |x| keeps the polynomial finite
                dc = builder.select(inside, d, f(0.0)) if general else d
                t = builder.fsub(dc, f(lo))
                acc = f(coef[-1])
                for c in reversed(coef[:-1]):
                    acc = fma_(acc, t, f(c))
                near = fma_(dc, f(c0), fma_(t, fma_(t, acc, f(c0_lo)), f(-(lo * c0))))
                return builder.bitcast(near, v.I)

            # nonzero on the short path: the results there are normal (nothing is
            # flushed) and the derivative vanishes only at the irrational x0; at the
            # float64 nearest it, x0's low part alone keeps t P(t) away from 0
            store(v.select_where_any(inside, rb, near_root), nonzero=not general)

        v.short_or_general(ab, _TINY_BITS, fast_bits, evaluate)

    @intrinsic
    def grad64_block16(typingctx, src, dst):
        """``dst[0:16] = f'(src[0:16])`` for float64, as AVX-512 vector code."""
        return block_intrinsic(src, dst, emit, "float64")

    @intrinsic
    def backward64_block16(typingctx, grad, src, dst):
        """``dst[0:16] = grad[0:16] * f'(src[0:16])`` for float64 (``backward_product``)."""
        return backward_block_intrinsic(grad, src, dst, emit, "float64")

    return grad64_block16, backward64_block16


def silu_grad64_blocks(root, lead, coef, half_width):
    """The block kernels ``(grad, backward)`` of float64 silu': off the root's window
    :func:`silu_grad64_off_root`, within it the fitted polynomial
    (:func:`near_root_grad64_blocks`)."""
    return near_root_grad64_blocks(_emit_silu_grad_off_root64, _FAST_BITS, root, lead, coef, half_width)
