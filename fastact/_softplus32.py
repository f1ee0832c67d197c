"""float32 softplus and log_sigmoid, max(x, 0) + log1p(exp(-|x|)), on the float32
sigmoid's table exp and a 16-entry table log1p, within 1 ULP.

e = exp(-|x|) = 2^k E comes from ``_sigmoid32``'s table exp (E = e_hi + e_lo in
[0.97, 1.96], a double word never rounded; s = 2^max(k, -40)).  Then, with
u = 1 + e and j the top four mantissa bits of u (u = 2 rounds into j = 15),

    log1p(e) = log(1 / c_j) + log1p(r),   r = c_j u - 1 = (c_j - 1) + c_j e,
    c_j = 1 / (1 + j/16) rounded to float32,  r in [-2^-24, 1/16),

with log(1 / c_j) = L_hi + L_lo from float64 (two 16-entry tables and the c_j
table: one ``vpermps`` each on AVX-512) and log1p(r) = r + r w(r), w(r) = r Q(r),
Q a cubic (relative error 2^-31.6, ``tools/fit_poly.py``).  r is a double word:
(c_j - 1) + fl(c_j e_hi) is exact (both are multiples of the ULP of the product,
and the sum is below 1/16), and the product's FMA residual and c_j e_lo make the
low part.  Nothing cancels: L >= log(17/16) > r for j >= 1, so L + r is a
Fast2Sum, and for j = 0 (e < 1/16) c_0 = 1, L = 0 and r is e itself.

The j = 0 lanes work on the mantissa E instead of e (r = E, with w taken at the
true r = s E), and 2^k is applied last on the bit pattern: the left tail
softplus(x) = e^x (1 - e^x / 2 ...) keeps its relative accuracy down to the
smallest normal number (softplus(-87) = 1.6e-38), and flushes to +0 below it.
For x > 0 the result is |x| + log1p(e) with one TwoSum and one final rounding
(log1p(e) scaled by s: where k < -40 that is far below half an ULP of x).

|x| is clamped to [2^-30, 104]: below, softplus(x) = ln2 + x/2 rounds to
float32(ln2) either way (ln2 sits 0.03 ULP from its float); above, the result
is x (x > 0, +inf included) or the flushed +0 (x < 0, -inf included).  NaN in,
NaN out.  log_sigmoid(x) = -softplus(-x) is the same kernel with the sign bit
of the input and of the (nonzero) result flipped: its flushed tail is +0.

The block kernels branch once per 16 values: when every |x| is in [2^-30, 27]
they leave out the clamps, the floor on k, the flush and the final select.
They are the same arithmetic, operation for operation, as the scalar twins
:func:`softplus32` and :func:`log_sigmoid32`, so every layout gives bitwise the
same results.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, I16, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import (
    _LIMIT_BITS,
    _MIN_NORMAL_BITS,
    _TINY_BITS,
    emit_exp_neg_table32,
    emit_keep_x_above_limit,
    exp_neg_table32,
    keeps_x_above_limit,
)

__all__ = ["softplus32", "softplus32_block16", "log_sigmoid32", "log_sigmoid32_block16"]

_F = np.float32
_SIGN = np.int32(-(2**31))
_ABS = np.int32(0x7FFFFFFF)
_INF_BITS = 0x7F800000
# c_j = 1 / (1 + j/16) and log(1 / c_j) = _L_HI[j] + _L_LO[j]: the float64 values
# correctly rounded, literals (not NumPy's log at import, whose last bit depends on
# its SIMD dispatch: see _sigmoid32._T64; tests/test_softplus32.py checks them;
# -0.0 first, as -log(1) was)
_C = (1.0 / (1.0 + np.arange(16) / 16.0)).astype(np.float32)
_L64 = np.array([
    -0.0, 0.06062461809114455, 0.11778302820580289, 0.17185024947607866,
    0.22314353641304868, 0.27193369685719043, 0.31845370131621265, 0.36290547506291715,
    0.40546507830584244, 0.44628712498016154, 0.4855077785287985, 0.5232481363139673,
    0.5596157432319401, 0.5947071114719831, 0.6286086072683114, 0.6613985120476878,
])
_L_HI = _L64.astype(np.float32)
_L_LO = (_L64 - _L_HI.astype(np.float64)).astype(np.float32)
# log1p(r) = r + r^2 (q0 + q1 r + q2 r^2 + q3 r^3) on [0, 1/16] (tools/fit_poly.py)
_Q0 = _F(-0.49999984483732524)
_Q1 = _F(0.3333090184957748)
_Q2 = _F(-0.2488086015100365)
_Q3 = _F(0.1766585765165419)
# u = 1 + e: its bit pattern shifted right by 19 keeps the exponent and the top
# four mantissa bits, 0x7F0 + j for u in [1, 2); u = 2 (0x800) is held at 0x7FF (j = 15)
_U_SHIFT = 19
_U_ONE = 0x7F0
_U_MAX = 0x7FF
_FAST_HI_BITS = int(_F(27.0).view(np.int32))
# from |x| = 21 on e <= 7.6e-10 < 2^-30: 1 + e rounds to 1, j = 0 (saturated blocks)
_SATURATED_BITS = int(_F(21.0).view(np.int32))


@njit(**JIT_OPTIONS)
def _log1p_exp32(e_hi, e_lo, s):
    """log1p(e) for e = 2^k (e_hi + e_lo) (s = 2^max(k, -40)) as ``(y, y_lo, first)``:
    the double word y + y_lo is log1p(e) / 2^k where ``first`` (e < 1/16, j = 0) and
    log1p(e) itself elsewhere."""
    one = _F(1)
    u = fma(s, e_hi, one)
    idx = min(float_bits(u) >> np.int32(_U_SHIFT), np.int32(_U_MAX))
    first = idx == np.int32(_U_ONE)
    j = idx & np.int32(15)
    c = _C[j]
    sig = _select(first, one, s)  # the j = 0 lanes stay on the mantissa
    tau = _select(first, s, one)  # and take w at the true r = s E
    eh = sig * e_hi
    el = sig * e_lo
    p = c * eh
    r_hi = (c - one) + p  # exact
    r_lo = fma(c, el, fma(c, eh, -p))
    rr = tau * r_hi
    w = rr * fma(fma(fma(_Q3, rr, _Q2), rr, _Q1), rr, _Q0)
    l_hi = _L_HI[j]
    y = l_hi + r_hi  # Fast2Sum: L >= r (or L = 0)
    y_lo = ((l_hi - y) + r_hi) + (fma(r_hi, w, r_lo) + _L_LO[j])
    return y, y_lo, first, tau


@njit(**JIT_OPTIONS)
def softplus32(x):
    """log(1 + exp(x)) of a float32 value, within 1 ULP (the scalar twin of
    :func:`softplus32_block16`).  Every multiply-add is an explicit FMA, so FMA
    contraction cannot make the two differ."""
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    e_hi, e_lo, k, s = exp_neg_table32(cb, x)
    y, y_lo, first, tau = _log1p_exp32(e_hi, e_lo, s)
    # x < 0: log1p(e), 2^k applied on the bit pattern where the lanes took E
    nb = float_bits(y + y_lo) + (_select(first, k, np.int32(0)) << np.int32(23))
    nb = _select(nb < np.int32(_MIN_NORMAL_BITS), np.int32(0), nb)
    # x >= 0: |x| + log1p(e), one TwoSum and one rounding
    a = float_from_bits(cb, x)
    yv = tau * y
    z = a + yv
    zv = z - a
    err = (a - (z - zv)) + (yv - zv)
    pos = z + fma(tau, y_lo, err)
    rb = _select(b < np.int32(0), nb, float_bits(pos))
    # x itself above the clamp for x >= 0 (inf included), and NaN in, NaN out
    return float_from_bits(_select(keeps_x_above_limit(b, ab), b, rb), x)


@njit(**JIT_OPTIONS)
def log_sigmoid32(x):
    """-log(1 + exp(-x)) of a float32 value, within 1 ULP (the scalar twin of
    :func:`log_sigmoid32_block16`): softplus32 of -x with the result negated (a
    flushed +0 stays +0; NaN in, the same NaN out)."""
    rb = float_bits(softplus32(float_from_bits(float_bits(x) ^ _SIGN, x)))
    return float_from_bits(_select(rb == np.int32(0), rb, rb ^ _SIGN), x)


def _emit_log1p_exp(v, e_hi, e_lo, s, first_only=False):
    """:func:`_log1p_exp32` on 16 lanes; ``first_only``: every e < 2^-30 (u = 1 + e
    rounds to 1, so j = 0 in every lane): the tables' first entries as constants,
    the same operations on them (LLVM folds the exact ones), no lookup."""
    builder = v.builder
    fma = v.fma
    sel = builder.select
    one = splat_f(1.0)
    if first_only:
        first = ir.Constant(ir.VectorType(ir.IntType(1), 16), [1] * 16)
        c, l_hi, l_lo = splat_f(_C[0]), splat_f(_L_HI[0]), splat_f(_L_LO[0])
    else:
        u = fma(s, e_hi, one)
        idx = v.smin(builder.lshr(builder.bitcast(u, I16), splat_i(_U_SHIFT)), splat_i(_U_MAX))
        first = builder.icmp_signed("==", idx, splat_i(_U_ONE))
        c = v.table(_C, idx)  # vpermps reads the low 4 bits: j
        l_hi, l_lo = v.table(_L_HI, idx), v.table(_L_LO, idx)
    sig = sel(first, one, s)
    tau = sel(first, s, one)
    eh = builder.fmul(sig, e_hi)
    el = builder.fmul(sig, e_lo)
    p = builder.fmul(c, eh)
    r_hi = builder.fadd(builder.fsub(c, one), p)
    r_lo = fma(c, el, fma(c, eh, builder.fneg(p)))
    rr = builder.fmul(tau, r_hi)
    poly = fma(fma(fma(splat_f(_Q3), rr, splat_f(_Q2)), rr, splat_f(_Q1)), rr, splat_f(_Q0))
    w = builder.fmul(rr, poly)
    y = builder.fadd(l_hi, r_hi)
    y_lo = builder.fadd(builder.fadd(builder.fsub(l_hi, y), r_hi), builder.fadd(fma(r_hi, w, r_lo), l_lo))
    return y, y_lo, first, tau


def _emit_softplus(v, b, store):
    builder = v.builder
    ab = builder.and_(b, splat_i(int(_ABS)))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-30, 27]."""
        cb = v.smin(v.smax(ab, splat_i(_TINY_BITS)), splat_i(_LIMIT_BITS)) if general else ab
        e_hi, e_lo, k, s = emit_exp_neg_table32(v, cb, general)
        y, y_lo, first, tau = _emit_log1p_exp(v, e_hi, e_lo, s)
        if general:
            shift = builder.shl(builder.select(first, k.integer, splat_i(0)), splat_i(23))
            nb = builder.add(builder.bitcast(builder.fadd(y, y_lo), I16), shift)
            nb = builder.select(builder.icmp_signed("<", nb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), nb)
        else:  # normal here; 2^k by vscalefps (Exponent)
            nb = builder.bitcast(v.scalef(builder.fadd(y, y_lo), k, where=first), I16)
        a = builder.bitcast(cb, F16)
        yv = builder.fmul(tau, y)
        z = builder.fadd(a, yv)
        zv = builder.fsub(z, a)
        err = builder.fadd(builder.fsub(a, builder.fsub(z, zv)), builder.fsub(yv, zv))
        pos = builder.fadd(z, v.fma(tau, y_lo, err))
        rb = builder.select(builder.icmp_signed("<", b, splat_i(0)), nb, builder.bitcast(pos, I16))
        if general:
            rb = emit_keep_x_above_limit(v, b, ab, rb)
        store(rb)

    def saturated():
        """Every |x| >= 21, no NaN: e <= 7.6e-10, so 1 + e rounds to 1 and every lane
        is in the tables' first interval (j = 0, no lookup); for x > 0 the result
        rounds to x itself (log1p(e) is far below half an ULP of x): the general
        path's bits."""
        cb = v.smin(ab, splat_i(_LIMIT_BITS))
        e_hi, e_lo, k, s = emit_exp_neg_table32(v, cb, True)
        y, y_lo, _, _ = _emit_log1p_exp(v, e_hi, e_lo, s, first_only=True)
        nb = builder.add(builder.bitcast(builder.fadd(y, y_lo), I16), builder.shl(k.integer, splat_i(23)))
        nb = builder.select(builder.icmp_signed("<", nb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), nb)
        store(builder.select(builder.icmp_signed("<", b, splat_i(0)), nb, b))

    # Typical blocks (every |x| in [2^-30, 27]) take the short path, blocks of
    # saturated inputs the lookup-free one.
    tiers = [(_TINY_BITS, _FAST_HI_BITS, lambda: evaluate(False)), (_SATURATED_BITS, _INF_BITS, saturated)]
    v.dispatch(ab, tiers, lambda: evaluate(True))


def _emit_log_sigmoid(v, b, store):
    builder = v.builder
    sign = splat_i(int(_SIGN))

    def negated_store(rb):
        zero = builder.icmp_signed("==", rb, splat_i(0))
        store(builder.select(zero, rb, builder.xor(rb, sign)))

    _emit_softplus(v, builder.xor(b, sign), negated_store)


@intrinsic
def softplus32_block16(typingctx, src, dst):
    """``dst[0:16] = softplus(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_softplus)


@intrinsic
def log_sigmoid32_block16(typingctx, src, dst):
    """``dst[0:16] = log_sigmoid(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_log_sigmoid)
