"""float64 gelu_tanh, x sigmoid(v) with v = 2 sqrt(2/pi) (x + 0.044715 x^3), and its
derivative on the lean double-word exp of ``_logistic64`` (float64 silu's scheme),
with AVX-512 block kernels.

With a = |x| clamped to [2^-60, 24] and v = C a (1 + K a^2), b = |x| v'(x) = C a
(1 + 3K a^2) (C = 2 sqrt(2/pi), K = 0.044715; C, K and 3K as double words, v and
b as double words: the tail's exp(-v) multiplies v's rounding error by v, up to
745):

    exp(-v) = 2^k (p + p_lo)              (``exp_neg64`` with v's low part)
    gelu_tanh(x)  = a / (1 + e)                 x >= 0
                  = -2^k a p / (1 + e)          x < 0
    gelu_tanh'(x) = u + b e u^2                 x >= 0
                  = 2^k p u (1 - b u)           x < 0     (u = 1 / (1 + e), a double word)

one corrected division each, 2^k applied last on the bit pattern (the negative
tail keeps its relative accuracy down to the smallest normal number, flushed to
+0 below it).  1 - b u cancels next to the derivative's root x0 = -0.75246, where
``kernels.gated`` takes its fitted polynomial.  Below |x| = 2^-60 gelu_tanh(x)
rounds to x / 2 (flushed where subnormal) and the derivative to 1/2; from 24 on
it is x and 1 (x > 0) or +0 (x < 0); v is clamped to 745 (exp(-v) is below the
smallest subnormal from there).  It replaces the generic gated kernel (exp and e
each scaled to their value, a general double-word quotient), 1.11 / 1.22 / 1.28
of PyTorch at 10^6 (forward / grad / backward).
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import block_intrinsic
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._logistic64 import (
    emit_exp_neg64,
    emit_gate64,
    emit_gate_grad64,
    emit_reciprocal_one_plus64,
    exp_neg64,
    gate64,
    gate_grad64,
    reciprocal_one_plus64,
)

__all__ = ["gelu_tanh64", "gelu_tanh_grad64_off_root", "gelu_tanh64_block16", "emit_gelu_tanh_grad64_off_root",
           "FAST_BITS", "C_TEXT", "K_TEXT", "split"]

C_TEXT = "1.59576912160573071175383238201355011984883318345"  # 2 sqrt(2/pi)
K_TEXT = "0.044715"


def split(value: str, dtype):
    """A decimal constant as ``(hi, lo)`` in ``dtype`` (hi rounded, lo its error)."""
    with localcontext() as ctx:
        ctx.prec = 60
        v = Decimal(value)
        hi = dtype(float(v))
        return hi, dtype(float(v - Decimal(float(hi))))


_C_HI, _C_LO = split(C_TEXT, np.float64)
_K_HI, _K_LO = split(K_TEXT, np.float64)
_K3_HI, _K3_LO = split("0.134145", np.float64)

_ABS = np.int64(0x7FFFFFFFFFFFFFFF)
_SIGN = np.int64(-(2**63))
_INF_BITS = 0x7FF0000000000000
_MIN_NORMAL_BITS = 0x0010000000000000
_HALF_NORMAL_BITS = 0x0020000000000000  # |x| below 2^-1021: x / 2 is subnormal
_ONE_EXPONENT = 1 << 52
_TINY_BITS = int(np.float64(2.0**-60).view(np.int64))
_HIGH_BITS = int(np.float64(24.0).view(np.int64))  # v(24) = 1025: exp(-v) is 0
_V_LIMIT = 745.0
_E_FLOOR = -60  # e enters 1 + e as 2^max(k, -60) p
# the derivative's b e term: b <= 2^12 (b(24) = 3000), so from 2^-80 on it is
# below 2^-60 of the result whichever scale it gets
_E_FLOOR_GRAD = -80
# Blocks whose 16 |x| all lie in [2^-60, 20] (v <= 603: nothing to clamp, no result
# to flush, no NaN or infinity) take the short path; the floor on k stays (k
# reaches -870 there)
_FAST_BITS = int(np.float64(20.0).view(np.int64))
# from |x| = 8 on v >= 49: e = exp(-v) and sc p (<= max(e, 2^-60 p)) are below 2^-53,
# 1 + sc p rounds to 1 (emit_gate64's saturated blocks)
_SATURATED_BITS = int(np.float64(8.0).view(np.int64))


@njit(**JIT_OPTIONS)
def _dw_times(hi, lo, w, w_lo):
    """(hi + lo) (w + w_lo) as a double word (lo * w_lo dropped)."""
    h = hi * w
    return h, fma(hi, w, -h) + fma(hi, w_lo, lo * w)


@njit(**JIT_OPTIONS)
def _c_a_one_plus(a, w, w_lo, k_hi, k_lo):
    """C a (1 + k a^2) as a double word, from w + w_lo = a^2 exact."""
    kw, kw_lo = _dw_times(k_hi, k_lo, w, w_lo)
    s = 1.0 + kw  # a TwoSum: kw reaches 77
    bb = s - 1.0
    s_lo = ((1.0 - (s - bb)) + (kw - bb)) + kw_lo
    xs = a * s
    xs_lo = fma(a, s_lo, fma(a, s, -xs))
    return _dw_times(_C_HI, _C_LO, xs, xs_lo)


@njit(**JIT_OPTIONS)
def _prologue(x, floor):
    """|x| clamped to [2^-60, 24], v + v_lo, exp(-v) = 2^k (p + p_lo) and the
    scale 2^max(k, floor) for sums with 1."""
    b = float_bits(x)
    ab = b & _ABS
    a = float_from_bits(min(max(ab, np.int64(_TINY_BITS)), np.int64(_HIGH_BITS)), x)
    w = a * a
    w_lo = fma(a, a, -w)
    v, v_lo = _c_a_one_plus(a, w, w_lo, _K_HI, _K_LO)
    inside = v < _V_LIMIT
    p, p_lo, k = exp_neg64(_select(inside, v, _V_LIMIT), _select(inside, v_lo, 0.0))
    sc = float_from_bits((max(k, np.int64(floor)) + np.int64(1023)) << np.int64(52), x)
    return b, ab, a, w, w_lo, p, p_lo, k, sc


@njit(**JIT_OPTIONS)
def gelu_tanh64(x):
    """x sigmoid(v) of a float64 value (the scalar twin of :func:`gelu_tanh64_block16`)."""
    b, ab, a, _, _, p, p_lo, k, sc = _prologue(x, _E_FLOOR)
    return gate64(x, b, ab, a, p, p_lo, k, sc, _HIGH_BITS)  # x itself from 24 on


@njit(**JIT_OPTIONS)
def gelu_tanh_grad64_off_root(x):
    """gelu_tanh'(x) of a float64 value away from the derivative's root (the caller
    replaces it near x0, where 1 - b u cancels): u + b e u^2 for x >= 0 and
    2^k p u (1 - b u) for x < 0, u = 1 / (1 + e) and b as double words."""
    one = 1.0
    b, ab, a, w, w_lo, p, p_lo, k, sc = _prologue(x, _E_FLOOR_GRAD)
    bv, bv_lo = _c_a_one_plus(a, w, w_lo, _K3_HI, _K3_LO)
    u, u_lo = reciprocal_one_plus64(sc, p, p_lo)
    se = sc * p
    be = fma(bv, se, fma(bv, sc * p_lo, bv_lo * se))  # b e
    # 1 - b u is exact for b u in [0.5, 2] (Sterbenz) and beyond 2 (multiples of
    # 1's ULP), a Fast2Sum below 1/2
    bu = bv * u
    c = one - bu
    c_lo = fma(-bv, u_lo, fma(-bv_lo, u, ((one - c) - bu) - fma(bv, u, -bu)))
    return gate_grad64(x, b, ab, p, p_lo, k, u, u_lo, be, c, c_lo)


# --------------------------------------------------------------------------------
# AVX-512 block kernels: the scalar kernels above on 16 lanes, operation for
# operation
# --------------------------------------------------------------------------------
def _emit_dw_times(v, hi, lo, w, w_lo):
    builder = v.builder
    h = builder.fmul(hi, w)
    return h, builder.fadd(v.fma(hi, w, builder.fneg(h)), v.fma(hi, w_lo, builder.fmul(lo, w)))


def _emit_c_a_one_plus(v, a, w, w_lo, k_hi, k_lo):
    builder = v.builder
    f = v.splat_f
    fadd, fsub = builder.fadd, builder.fsub
    kw, kw_lo = _emit_dw_times(v, f(k_hi), f(k_lo), w, w_lo)
    one = f(1.0)
    s = fadd(one, kw)
    bb = fsub(s, one)
    s_lo = fadd(fadd(fsub(one, fsub(s, bb)), fsub(kw, bb)), kw_lo)
    xs = builder.fmul(a, s)
    xs_lo = v.fma(a, s_lo, v.fma(a, s, builder.fneg(xs)))
    return _emit_dw_times(v, f(_C_HI), f(_C_LO), xs, xs_lo)


def _emit_prologue(v, b, general, floor):
    builder = v.builder
    ab = builder.and_(b, v.splat_i(v.ABS))
    cb = v.smin(v.smax(ab, v.splat_i(_TINY_BITS)), v.splat_i(_HIGH_BITS)) if general else ab
    a = builder.bitcast(cb, v.F)
    w = builder.fmul(a, a)
    w_lo = v.fma(a, a, builder.fneg(w))
    vv, vv_lo = _emit_c_a_one_plus(v, a, w, w_lo, _K_HI, _K_LO)
    if general:
        inside = builder.fcmp_ordered("<", vv, v.splat_f(_V_LIMIT))
        vv = builder.select(inside, vv, v.splat_f(_V_LIMIT))
        vv_lo = builder.select(inside, vv_lo, v.splat_f(0.0))
    p, p_lo, k = emit_exp_neg64(v, vv, vv_lo)
    ks = v.smax(k, v.splat_i(floor))
    sc = builder.bitcast(builder.shl(builder.add(ks, v.splat_i(1023)), v.splat_i(52)), v.F)
    return ab, a, w, w_lo, p, p_lo, k, sc


def _gelu_tanh_prologue(v, b, general):
    _, a, _, _, p, p_lo, k, sc = _emit_prologue(v, b, general, _E_FLOOR)
    return a, p, p_lo, k, sc


def _emit_gelu_tanh64(v, b, store):
    emit_gate64(v, b, store, _gelu_tanh_prologue, _FAST_BITS, _HIGH_BITS, _SATURATED_BITS)


@intrinsic
def gelu_tanh64_block16(typingctx, src, dst):
    """``dst[0:16] = gelu_tanh(src[0:16])`` for float64, as AVX-512 vector code (raw
    pointers, which may be equal)."""
    return block_intrinsic(src, dst, _emit_gelu_tanh64, "float64")


def emit_gelu_tanh_grad64_off_root(v, b, general):
    """The bit pattern of :func:`gelu_tanh_grad64_off_root` on 16 lanes."""
    builder = v.builder
    fma_, f = v.fma, v.splat_f
    fmul, fsub, fneg = builder.fmul, builder.fsub, builder.fneg
    one = f(1.0)
    ab, a, w, w_lo, p, p_lo, k, sc = _emit_prologue(v, b, general, _E_FLOOR_GRAD)
    bv, bv_lo = _emit_c_a_one_plus(v, a, w, w_lo, _K3_HI, _K3_LO)
    u, u_lo = emit_reciprocal_one_plus64(v, sc, p, p_lo)
    se = fmul(sc, p)
    be = fma_(bv, se, fma_(bv, fmul(sc, p_lo), fmul(bv_lo, se)))
    bu = fmul(bv, u)
    c = fsub(one, bu)
    c_lo = fma_(fneg(bv), u_lo, fma_(fneg(bv_lo), u, fsub(fsub(fsub(one, c), bu), fma_(bv, u, fneg(bu)))))
    return emit_gate_grad64(v, b, ab, p, p_lo, k, u, u_lo, be, c, c_lo, general)


#: the largest |x| bit pattern of the block kernels' short path (for the derivative's
#: blocks, built in kernels.gated with the root polynomial)
FAST_BITS = _FAST_BITS
