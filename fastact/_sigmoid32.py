"""float32 sigmoid within 1 ULP: a table-driven exp kept as a double word, one
corrected division, and an AVX-512 block kernel.

The generic sigmoid (``kernels._sigmoid_generic``, still used for float64) rounds
e = exp(-|x|) to one float and then divides: the two roundings add up to 1.50
float32 ULPs for x < 0, where
sigmoid(x) = e/(1+e) inherits e's relative error in full.  Here e is never rounded:

    -|x| = k ln2 + (j/16) ln2 + r,   |r| <= ln2/32,   j in 0..15
    exp(-|x|) = 2^k * (T_hi[j] + E_lo),   E_lo = T_hi[j] q + T_lo[j],   q = expm1(r)

with T_hi + T_lo = 2^(j/16) to about 2^-48 (two 16-entry float32 tables, one
``vpermps`` each on AVX-512) and q = r + r^2 (c2 + c3 r) (relative minimax error
1.6e-9 on the reduced range, ``tools/fit_poly.py``).  The reduction is exact up to
the last FMA: with kf = n/16 = k + j/16, ln2 is split so that kf * LN2_HI is
exact, and -|x| - kf * LN2_HI is then exact too (a multiple of 2^-28 below 2^-5).  |r| <= 0.0217 keeps
every rounding inside E_lo below 2^-29 relative, so E = T_hi + E_lo carries e to
about 0.05 ULP; it is renormalized (Fast2Sum) into E_hi + E_lo' with E_lo' below
half an ULP of E_hi, the form the corrected division needs.

The quotient is then a double-word ratio (``_core.ratio_dd``):

    x >= 0:  1 / (1 + e)
    x <  0:  2^k * E / (1 + e)        (E = e * 2^-k in [0.97, 1.96])

computed on E rather than e so that nothing is ever subnormal; the result is
scaled by 2^k on its bit pattern (exact) and flushed to zero below the smallest
normal, like every other fastact kernel.  In the denominator e is built from
2^max(k, -40): below 2^-39, 1 + e is 1 to far beyond float32 precision (the
result moves by less than 2^-15 ULP), and the floor keeps every product with e's
low part (which can be as small as 2^-71 E) out of the subnormal range.

The block kernel branches once per 16 values: when every |x| is in [2^-30, 27]
(k >= -39: no NaN or infinity, nothing to flush, e above its floor) it leaves out
both clamps, the floor on k, the flush and the NaN select, and applies 2^k with
``vscalefps`` (exact on normal numbers; one instruction where the bit pattern
takes a shift, a mask and an add); other blocks take the general path.  Both give
the same bits.

Exhaustive float32 error: 0.568 ULP, none above 1 (``fastact verify --exhaustive
--functions sigmoid``, ``reports/verify-exhaustive.json``).  :func:`sigmoid32_block16` is the same
arithmetic, operation for operation, as :func:`sigmoid32`, so every layout gives
bitwise the same results.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, HAVE_BLOCK_KERNEL, I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma

__all__ = [
    "sigmoid32", "sigmoid32_block16", "sigmoid_of_negated32_block16", "sigmoid_of_negated_backward32_block16",
    "sigmoid_product32_block16",
    "exp_table_parts32", "emit_exp_table_parts32", "exp_neg_parts32", "emit_exp_neg_parts32", "one_plus32",
    "emit_one_plus32", "emit_exp_neg_scaled32", "emit_one_plus_scaled32",
    "exp_table32", "emit_exp_table32", "exp_neg_table32", "emit_exp_neg_table32",
    "ratio_dw32", "emit_ratio_dw32", "keeps_x_above_limit", "emit_keep_x_above_limit",
    "scaled_flushed32", "emit_scaled_flushed32", "Exponent", "emit_pow2", "root_offset32", "emit_root_offset32",
    "HAVE_BLOCK_KERNEL",
]

_F = np.float32
# |x| is clamped to [2^-30, 104]: below, sigmoid(x) rounds to 1/2 and r*r could
# underflow; above, the result is 0 or 1 (and inf/NaN get a finite stand-in).
_TINY_BITS = int(_F(2.0**-30).view(np.int32))
_LIMIT_BITS = int(_F(104.0).view(np.int32))
# Rounding -|x| / ln2 to a multiple kf = n/16 of 1/16 by adding 1.5 * 2^19 (n then
# sits in the low mantissa bits of the sum); n = 16 k + j, and floor(kf) = k, the
# form ``vscalefps`` takes.  (The same rounding as -|x| * 16/ln2 + 1.5 * 2^23, all
# scaled by 2^-4: the float32 constant 1/ln2 is that of 16/ln2 over 16.)
_SHIFT = _F(786432.0)
_SHIFT_BITS = int(_SHIFT.view(np.int32))
# ln 2 in float64, correctly rounded: a literal, as the table below, because
# NumPy's float64 log and exp2 round differently under its AVX-512 and AVX2
# dispatch, and a constant computed with them at import could differ in its last
# bit between machines, and with it the kernels' results (tests/test_sigmoid32.py
# checks both against mpmath)
_LN2_64 = 0.6931471805599453
_INV_LN2 = _F(_F(16.0 / _LN2_64) / _F(16))
# ln2 = _LN2_HI + _LN2_LO; the high part has 12 significant bits, so kf * _LN2_HI
# is exact for every multiple kf of 1/16 with |kf| <= 150 (|x| <= 104).
_LN2_HI = _F(np.round(_LN2_64 * 2.0**12) / 2.0**12)
_LN2_LO = _F(_LN2_64 - float(_LN2_HI))
# expm1(r) ~ r + r^2 (c2 + c3 r) on |r| <= 1.0002 ln2/32 (tools/fit_poly.py)
_C2 = _F(0.5000161638581165)
_C3 = _F(0.16666718480749948)
# 2^(j/16) = _T_HI[j] + _T_LO[j]: the float64 values correctly rounded (within 2^-53)
_T64 = np.array([
    1.0, 1.0442737824274138, 1.0905077326652577, 1.1387886347566916,
    1.189207115002721, 1.241857812073484, 1.2968395546510096, 1.3542555469368927,
    1.4142135623730951, 1.4768261459394993, 1.5422108254079407, 1.6104903319492543,
    1.681792830507429, 1.7562521603732995, 1.8340080864093424, 1.9152065613971474,
])
_T_HI = _T64.astype(np.float32)
_T_LO = (_T64 - _T_HI.astype(np.float64)).astype(np.float32)
_E_FLOOR = -40  # e enters the denominator as 2^max(k, -40) * E
# Up to |x| = 27 (k >= -39): k is above the floor, no result is flushed, and x is
# neither NaN nor infinite, so the block kernel's common path drops those steps.
_FAST_BITS = int(_F(27.0).view(np.int32))
_MIN_NORMAL_BITS = 0x00800000
# From |x| = 21 on e = exp(-|x|) <= 7.6e-10 (below 2^-30): 1 + e rounds to 1, and
# blocks whose every |x| is there skip the division (the saturated path).
_SAT_LO_BITS = int(_F(21.0).view(np.int32))


@njit(**JIT_OPTIONS)
def exp_table_parts32(y, y_lo):
    """exp(y + y_lo) = 2^k (t_hi + p) for y in [-104, -2^-61] and |y_lo| <= 2^-20 |y|
    (a double-word exponent; -0.0 when there is none, which LLVM folds away):
    t_hi = 2^(j/16) rounded (in [1, 2)) and |p| < 0.045 t_hi, not renormalized.  The
    scalar half of :func:`emit_exp_table_parts32`, operation for operation."""
    t = fma(y, _INV_LN2, _SHIFT)
    kf = t - _SHIFT  # n/16
    n = float_bits(t) - np.int32(_SHIFT_BITS)
    r = fma(-kf, _LN2_HI, y)  # exact
    r = fma(-kf, _LN2_LO, r) + y_lo  # y_lo's rounding here: below 2^-30
    j = n & np.int32(15)
    k = n >> np.int32(4)
    t_hi = _T_HI[j]
    r2 = r * r
    q = fma(r2, fma(_C3, r, _C2), r)
    p = fma(t_hi, q, _T_LO[j])  # exp(y) / 2^k = t_hi + p, |p| < 0.045 t_hi
    return t_hi, p, k


@njit(**JIT_OPTIONS)
def exp_table32(y, y_lo):
    """exp(y + y_lo) for y in [-104, -2^-61] and |y_lo| <= 2^-20 |y| (a double-word
    exponent; -0.0 when there is none, which LLVM folds away), as ``2^k (e_hi + e_lo)``
    with ``e_hi + e_lo`` in [0.97, 1.96] a renormalized double word.  The scalar half
    of :func:`emit_exp_table32`, operation for operation."""
    t_hi, p, k = exp_table_parts32(y, y_lo)
    e_hi = t_hi + p  # renormalized (Fast2Sum): e_lo is below half an ULP of e_hi
    e_lo = (t_hi - e_hi) + p
    return e_hi, e_lo, k


@njit(**JIT_OPTIONS)
def exp_neg_parts32(cb, x):
    """exp(-|x|) = 2^k (t_hi + p) (:func:`exp_table_parts32`) for the clamped bit
    pattern ``cb`` of |x| (in [2^-30, 104]), and ``s = 2^max(k, -40)``, the scale for
    sums with 1.  The scalar half of :func:`emit_exp_neg_parts32`."""
    t_hi, p, k = exp_table_parts32(-float_from_bits(cb, x), _F(-0.0))
    s = float_from_bits((max(k, np.int32(_E_FLOOR)) + np.int32(127)) << np.int32(23), x)
    return t_hi, p, k, s


@njit(**JIT_OPTIONS)
def exp_neg_table32(cb, x):
    """exp(-|x|) for the clamped bit pattern ``cb`` of |x| (in [2^-30, 104]), as
    ``2^k (e_hi + e_lo)`` with ``e_hi + e_lo`` in [0.97, 1.96] (a renormalized double
    word), and ``s = 2^max(k, -40)``, the scale for sums with 1.  The scalar half of
    :func:`emit_exp_neg_table32`, operation for operation."""
    t_hi, p, k, s = exp_neg_parts32(cb, x)
    e_hi = t_hi + p  # renormalized (Fast2Sum): e_lo is below half an ULP of e_hi
    e_lo = (t_hi - e_hi) + p
    return e_hi, e_lo, k, s


@njit(**JIT_OPTIONS)
def one_plus32(t_hi, p, s):
    """1 + s (t_hi + p) as a double word ``(d, d_lo)``: d = fma(s, e_hi, 1) with
    e_hi = t_hi + p (the sum 1 + s e_hi rounded once), and d_lo its error rounded
    once.  The inner fma(s, t_hi, 1 - d) is exact (1 - d is, and its sum with s t_hi
    is a multiple of s 2^-23 below 2^24 of them), so d_lo is the one rounding of
    1 + s (t_hi + p) - d: the same bits as fma(s, e_lo, fma(s, e_hi, 1 - d)) from
    the renormalized e_hi + e_lo, two operations fewer.  The scalar half of
    :func:`emit_one_plus32`."""
    one = _F(1)
    d = fma(s, t_hi + p, one)
    return d, fma(s, p, fma(s, t_hi, one - d))


@njit(**JIT_OPTIONS)
def ratio_dw32(n, n_lo, d, d_lo):
    """(n + n_lo) / (d + d_lo) of two float32 double words, rounded once: one
    division, its residual and one correction (the scalar half of
    :func:`emit_ratio_dw32`)."""
    inv = _F(1) / d
    q0 = n * inv
    res = fma(-q0, d, n) + fma(-q0, d_lo, n_lo)
    return fma(inv, res, q0)


@njit(**JIT_OPTIONS)
def keeps_x_above_limit(b, ab):
    """Whether a gate-like kernel returns x itself: x > 104 (+inf included), where
    its result is x, and NaN (``b``, ``ab``: the bit patterns of x and |x|)."""
    return ((ab > np.int32(_LIMIT_BITS)) & (b >= np.int32(0))) | (ab > np.int32(0x7F800000))


@njit(**JIT_OPTIONS)
def sigmoid32(x):
    """1 / (1 + exp(-x)) of a float32 value, within 1 ULP (the scalar twin of
    :func:`sigmoid32_block16`)."""
    one = _F(1)
    b = float_bits(x)
    ab = b & np.int32(0x7FFFFFFF)
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    t_hi, p, k, s = exp_neg_parts32(cb, x)
    d, d_lo = one_plus32(t_hi, p, s)
    neg = b < np.int32(0)
    # x < 0: the numerator E = e_hi + e_lo, renormalized; d_lo does not need e_lo,
    # so its add takes the select as a zero-masked operation on AVX-512
    e_hi = t_hi + p
    q = ratio_dw32(_select(neg, e_hi, one), _select(neg, (t_hi - e_hi) + p, _F(0)), d, d_lo)
    rb = float_bits(q) + (_select(neg, k, np.int32(0)) << np.int32(23))
    rb = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb)
    return _select(ab > np.int32(0x7F800000), x, float_from_bits(rb, x))  # NaN in, NaN out


@njit(**JIT_OPTIONS)
def scaled_flushed32(mb, k):
    """The bit pattern of m 2^k, ``mb`` the bit pattern of a normal m of either
    sign: the exponent raised on the bit pattern (exact), +0 below the smallest
    normal number (the scalar half of :func:`emit_scaled_flushed32`)."""
    rb = (mb & np.int32(0x7FFFFFFF)) + (k << np.int32(23))
    return _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb | (mb & np.int32(-(2**31))))


@njit(**JIT_OPTIONS)
def root_offset32(x, b, ab, root_hi, window_bits):
    """``(x - root_hi, inside)`` for a derivative's near-root polynomial: inside when
    |x - root_hi| <= the float with bit pattern ``window_bits``, and 0 outside (so
    nothing overflows).  x - root_hi is formed on a NaN-free stand-in (a signaling
    NaN would raise *invalid*); ``b``, ``ab``: the bit patterns of x and |x|."""
    dx = float_from_bits(_select(ab > np.int32(0x7F800000), np.int32(0), b), x) - root_hi
    inside = (float_bits(dx) & np.int32(0x7FFFFFFF)) <= window_bits
    return _select(inside, dx, _F(0)), inside


class Exponent(NamedTuple):
    """An exponent k on 16 lanes in the two forms the emitters use: ``integer``
    (<16 x i32>, for bit-pattern arithmetic) and ``real``, a float32 vector whose
    floor is k (the exp's kf = n/16, free), for ``Lanes.scalef``: one operation
    where applying 2^k on the bit pattern takes a shift, a mask and an add.
    ``scalef`` takes both: AVX2 builds the power 2^k from the integer form (two
    operations, where from the real one it took a floor, a conversion and a
    select for subnormal powers).  LLVM drops whichever form a kernel does not
    use."""

    integer: ir.Value
    real: ir.Value

    def at_least(self, v, floor: int) -> Exponent:
        """max(k, floor), an integer floor, in both forms (on ``v``, a ``Lanes``)."""
        builder = v.builder
        low = splat_f(float(floor))
        return Exponent(v.smax(self.integer, splat_i(floor)),
                        builder.select(builder.fcmp_ordered(">", self.real, low), self.real, low))

    def plus(self, v, offset: int) -> Exponent:
        """k + offset, an integer offset, in both forms."""
        builder = v.builder
        return Exponent(builder.add(self.integer, splat_i(offset)), builder.fadd(self.real, splat_f(offset)))


def emit_pow2(v, k, floor=None):
    """2^k (an :class:`Exponent`) as float32, or 2^max(k, floor) (an integer floor):
    one ``vscalefps`` (and a ``vmaxps``); the result must be normal."""
    return v.scalef(splat_f(1.0), k if floor is None else k.at_least(v, floor))


def emit_exp_table_parts32(v, y, y_lo=None, doubled=False):
    """:func:`exp_table_parts32` on 16 lanes: ``(t_hi, p, k)``, k an :class:`Exponent`;
    ``y_lo=None``: no low part.  ``doubled``: the parts of exp(2y) (no ``y_lo``),
    the same bits as from the argument 2y, with the doubling folded into the
    constants (every scaling by 2 exact): r and q come out halved, and p takes
    2 t_hi (an add, off the critical path) instead of an integer add on the input."""
    builder = v.builder
    fma = v.fma
    c = 2.0 if doubled else 1.0
    t = fma(y, splat_f(_INV_LN2 * c), splat_f(_SHIFT))
    kf = builder.fsub(t, splat_f(_SHIFT))
    n = builder.sub(builder.bitcast(t, I16), splat_i(_SHIFT_BITS))
    nkf = builder.fneg(kf)
    r = fma(nkf, splat_f(_LN2_HI / c), y)
    r = fma(nkf, splat_f(_LN2_LO / c), r)
    if y_lo is not None:
        r = builder.fadd(r, y_lo)
    k = Exponent(builder.ashr(n, splat_i(4)), kf)
    t_hi = v.table(_T_HI, n)  # vpermps reads the low 4 bits of n: j
    r2 = builder.fmul(r, r)
    q = fma(r2, fma(splat_f(_C3 * c * c), r, splat_f(_C2 * c)), r)
    p = fma(builder.fadd(t_hi, t_hi) if doubled else t_hi, q, v.table(_T_LO, n))
    return t_hi, p, k


def emit_exp_table32(v, y, y_lo=None):
    """:func:`exp_table32` on 16 lanes: ``(e_hi, e_lo, k)``; ``y_lo=None``: no low part."""
    builder = v.builder
    t_hi, p, k = emit_exp_table_parts32(v, y, y_lo)
    e_hi = builder.fadd(t_hi, p)
    e_lo = builder.fadd(builder.fsub(t_hi, e_hi), p)
    return e_hi, e_lo, k


def emit_exp_neg_parts32(v, cb, general, doubled=False):
    """:func:`exp_neg_parts32` on 16 lanes: ``(t_hi, p, k, s)``, k an :class:`Exponent`;
    ``general=False`` leaves out the floor on k (every |x| <= 27: k >= -39 anyway);
    ``doubled``: the parts of exp(-2|x|) (:func:`emit_exp_table_parts32`)."""
    builder = v.builder
    t_hi, p, k = emit_exp_table_parts32(v, builder.fneg(builder.bitcast(cb, F16)), doubled=doubled)
    return t_hi, p, k, emit_pow2(v, k, _E_FLOOR if general else None)


def emit_exp_neg_scaled32(v, ab, doubled=False, k_offset=0):
    """For blocks whose every |x| (bit patterns ``ab``) keeps k >= -39: the parts
    (2^(k + k_offset) t_hi, 2^(k + k_offset) p) of 2^k_offset exp(-|x|) (of exp(-2|x|)
    if ``doubled``), each scaled by one ``vscalefps``: exact for t_hi, and for p
    unless it falls below the normal range, where its rounding (below 2^-149) cannot
    move any sum it enters (:func:`emit_one_plus_scaled32`, a numerator's renormalization).
    With the scale inside the parts, 1 + e takes adds instead of FMAs and a
    quotient with e in its numerator needs no 2^k after (the FMA pipes are what
    bounds these kernels)."""
    builder = v.builder
    t_hi, p, k = emit_exp_table_parts32(v, builder.fneg(builder.bitcast(ab, F16)), doubled=doubled)
    k = k.plus(v, k_offset) if k_offset else k
    return v.scalef(t_hi, k), v.scalef(p, k)


def emit_one_plus_scaled32(v, ts, ps, unit=1.0):
    """unit + ts + ps as a double word ``(d, d_lo)`` from the scaled parts of
    :func:`emit_exp_neg_scaled32` (unit a power of 2 with ts <= 2 unit): the bits of
    :func:`one_plus32` (times unit) with every FMA an add, since s t_hi and s p are
    already formed: d = unit + (ts + ps) rounded once, d_lo = (ts + (unit - d)) + ps
    (the inner sum exact, as in :func:`one_plus32`)."""
    builder = v.builder
    one = splat_f(unit)
    d = builder.fadd(one, builder.fadd(ts, ps))
    return d, builder.fadd(builder.fadd(ts, builder.fsub(one, d)), ps)


def emit_exp_neg_table32(v, cb, general):
    """:func:`exp_neg_table32` on 16 lanes: ``(e_hi, e_lo, k, s)``; ``general=False``
    leaves out the floor on k (every |x| <= 27: k >= -39 anyway)."""
    builder = v.builder
    t_hi, p, k, s = emit_exp_neg_parts32(v, cb, general)
    e_hi = builder.fadd(t_hi, p)
    e_lo = builder.fadd(builder.fsub(t_hi, e_hi), p)
    return e_hi, e_lo, k, s


def emit_one_plus32(v, t_hi, p, s, unit=1.0):
    """:func:`one_plus32` on 16 lanes; ``unit`` (a power of 2) in place of 1 gives
    unit (1 + (s / unit) e), the same double word scaled by unit, exactly."""
    builder = v.builder
    one = splat_f(unit)
    d = v.fma(s, builder.fadd(t_hi, p), one)
    return d, v.fma(s, p, v.fma(s, t_hi, builder.fsub(one, d)))


def emit_ratio_dw32(v, n, n_lo, d, d_lo, inv=None):
    """:func:`ratio_dw32` on 16 lanes; ``inv``: 1 / d where it is known without a
    division (d a power of two in every lane: the same value, so the same bits)."""
    builder = v.builder
    inv = builder.fdiv(splat_f(1.0), d) if inv is None else inv
    q0 = builder.fmul(n, inv)
    nq0 = builder.fneg(q0)
    res = builder.fadd(v.fma(nq0, d, n), v.fma(nq0, d_lo, n_lo))
    return v.fma(inv, res, q0)


def emit_scaled_flushed32(v, mb, k, general):
    """:func:`scaled_flushed32` on 16 lanes; ``general=False``: every result is known
    to be normal, so the exponent is raised on the signed pattern directly."""
    builder = v.builder
    scale = builder.shl(k, splat_i(23))
    if not general:
        return builder.add(mb, scale)  # normal, so the sign bit is untouched
    rb = builder.add(builder.and_(mb, splat_i(0x7FFFFFFF)), scale)
    flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
    return builder.select(flushed, splat_i(0), builder.or_(rb, builder.and_(mb, splat_i(-(2**31)))))


def emit_root_offset32(v, b, ab, root_hi, window_bits, general):
    """:func:`root_offset32` on 16 lanes, x - root_hi not yet zeroed outside the
    window (the near-root branch does that); ``general=False``: no NaN lanes."""
    builder = v.builder
    nan_free = builder.select(builder.icmp_signed(">", ab, splat_i(0x7F800000)), splat_i(0), b) if general else b
    dx = builder.fsub(builder.bitcast(nan_free, F16), splat_f(root_hi))
    inside = builder.icmp_signed(
        "<=", builder.and_(builder.bitcast(dx, I16), splat_i(0x7FFFFFFF)), splat_i(window_bits)
    )
    return dx, inside


def emit_keep_x_above_limit(v, b, ab, rb):
    """``rb`` with x's own bit pattern ``b`` where :func:`keeps_x_above_limit`."""
    builder = v.builder
    above = builder.and_(builder.icmp_signed(">", ab, splat_i(_LIMIT_BITS)), builder.icmp_signed(">=", b, splat_i(0)))
    keep = builder.or_(above, builder.icmp_signed(">", ab, splat_i(0x7F800000)))
    return builder.select(keep, b, rb)


def _emit_sigmoid(v, b, store):
    builder = v.builder
    one = splat_f(1.0)

    def evaluate(ab, general):
        """The kernel on 16 lanes; ``general=False`` leaves out the clamp and the
        selects that are identities when every |x| <= 27 (no NaN or inf, no result
        to flush, k above the floor)."""
        neg = builder.icmp_signed("<", b, splat_i(0))
        if not general:
            # e's parts carry 2^k (k >= -39 here): 1 + e in adds, and the x < 0
            # quotient 2^k E / (1 + e) comes out scaled.  The same bits as the
            # general path (and sigmoid32), whose results are normal here too.
            t_hi, p = emit_exp_neg_scaled32(v, ab)
            d, d_lo = emit_one_plus_scaled32(v, t_hi, p)
        else:
            cb = v.smin(v.smax(ab, splat_i(_TINY_BITS)), splat_i(_LIMIT_BITS))
            t_hi, p, k, s = emit_exp_neg_parts32(v, cb, general)
            d, d_lo = emit_one_plus32(v, t_hi, p, s)
        e_hi = builder.fadd(t_hi, p)
        e_lo = builder.fadd(builder.fsub(t_hi, e_hi), p)
        q = emit_ratio_dw32(v, builder.select(neg, e_hi, one), builder.select(neg, e_lo, splat_f(0.0)), d, d_lo)
        if not general:  # sigmoid(x) >= sigmoid(-27): normal and nonzero
            store(builder.bitcast(q, I16), nonzero=True)
            return
        scale = builder.shl(builder.select(neg, k.integer, splat_i(0)), splat_i(23))
        rb = builder.add(builder.bitcast(q, I16), scale)
        rb = builder.select(builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), rb)
        store(builder.select(builder.icmp_signed(">", ab, splat_i(0x7F800000)), b, rb))

    def saturated(ab):
        """Every |x| >= 21 (infinities included, NaN not): e <= 7.6e-10, so 1 + e
        rounds to d = 1 and the general path's quotient is its numerator plus
        the residual term, no division: 1 for x >= 0 (1 - d_lo rounds to 1),
        2^k (e_hi + (e_lo - e_hi d_lo)) for x < 0, flushed to +0 below normal.
        The same bits as the general path."""
        cb = v.smin(ab, splat_i(_LIMIT_BITS))
        t_hi, p, k, s = emit_exp_neg_parts32(v, cb, True)
        _, d_lo = emit_one_plus32(v, t_hi, p, s)
        e_hi = builder.fadd(t_hi, p)
        e_lo = builder.fadd(builder.fsub(t_hi, e_hi), p)
        q = builder.fadd(v.fma(builder.fneg(e_hi), d_lo, e_lo), e_hi)
        rb = builder.add(builder.bitcast(q, I16), builder.shl(k.integer, splat_i(23)))
        rb = builder.select(builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), rb)
        store(builder.select(builder.icmp_signed("<", b, splat_i(0)), rb, builder.bitcast(one, I16)))

    ab = builder.and_(b, splat_i(0x7FFFFFFF))
    # Typical blocks (every |x| in [2^-30, 27]) skip 7 of the 44 vector instructions;
    # blocks of saturated inputs (every |x| >= 21) the division too.
    tiers = [(_TINY_BITS, _FAST_BITS, lambda: evaluate(ab, False)), (_SAT_LO_BITS, v.INF_BITS, lambda: saturated(ab))]
    v.dispatch(ab, tiers, lambda: evaluate(ab, True))


@intrinsic
def sigmoid32_block16(typingctx, src, dst):
    """``dst[0:16] = sigmoid(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_sigmoid)


def _emit_sigmoid_of_negated(v, b, store):
    """sigmoid(-x): the sign bit flipped, then the kernel above (as ``sigmoid32(-x)``)."""
    _emit_sigmoid(v, v.builder.xor(b, splat_i(-(2**31))), store)


@intrinsic
def sigmoid_of_negated32_block16(typingctx, src, dst):
    """``dst[0:16] = sigmoid(-src[0:16])`` for float32 (log_sigmoid's derivative), as
    AVX-512 vector code (raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_sigmoid_of_negated)


@intrinsic
def sigmoid_of_negated_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * sigmoid(-src[0:16])`` for float32
    (``backward_product``), as AVX-512 vector code (``dst`` may be either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_sigmoid_of_negated)


@intrinsic
def sigmoid_product32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * sigmoid(src[0:16])`` for float32 (``backward_product``;
    softplus's fused backward at beta = 1), as AVX-512 vector code (``dst`` may be
    either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_sigmoid)
