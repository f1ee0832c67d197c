"""float32 gelu_tanh, x sigmoid(v) with v = 2 sqrt(2/pi) (x + 0.044715 x^3), and its
derivative at about the cost of the float32 silu and silu', with AVX-512 block
kernels (exhaustive float32 error 0.570 and 0.620 ULP).

gelu_tanh(x) = x/2 (1 + tanh(u)) = x sigmoid(2u) (no cancellation for u < 0), and
with a = |x| and v = 2u = a (C + D a^2) (C = 2 sqrt(2/pi), D = 0.044715 C, both
float32 double words), it is silu's arithmetic with e = exp(-v) in place of
exp(-|x|):

    x >= 0:  a / (1 + e)
    x <  0:  -2^k a E / (1 + e)        (e = 2^k E, E in [0.97, 1.96])

v is formed as a double word (a^2 exact, D a^2 with its residual, C + D a^2 by a
TwoSum, the product by a with its residual) and enters ``_sigmoid32``'s table exp
as one (``exp_table32(-v, -v_lo)``): in the negative tail exp(-v) turns v's
absolute error into the result's relative error, and v reaches 99.  a E is a
double word and the quotient (``gate_quotient32``) is rounded once; 2^k goes on last
on the bit pattern, so the tail keeps its relative accuracy down to the smallest
normal number (gelu_tanh(-9) = -1.3e-28), flushed to +0 below it.

|x| is clamped to [2^-30, 10.5]: below, gelu_tanh(x) rounds to x/2 (the next term
is 0.8 |x| relative); above, to x (x > 0: e < 2^-143) or to the flushed +0 (x < 0:
|gelu_tanh(-10.5)| = 7.8e-43); v(10.5) = 99.4 stays inside the table exp's range.

The generic double-word kernels they replace for float32 (``kernels.gated``, still
used for float64: a polynomial exp_dd and a general quotient, 1.65x NumPy's
9-pass formula and 1.14x PyTorch's derivative at 10^6) were within 0.685 and
1.540 ULP over every float32.  The derivative is described with its kernel below.
:func:`gelu_tanh32` is the scalar twin of :func:`gelu_tanh32_block16`, operation
for operation (explicit FMAs), for loop ends and CPUs without AVX-512.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import (
    _E_FLOOR,
    _MIN_NORMAL_BITS,
    _TINY_BITS,
    emit_exp_table32,
    emit_exp_table_parts32,
    emit_pow2,
    emit_root_offset32,
    emit_scaled_flushed32,
    exp_table32,
    exp_table_parts32,
    root_offset32,
    scaled_flushed32,
)
from ._silu32 import emit_gate_grad32, emit_gate_quotient32, gate32, gate_grad32

__all__ = [
    "gelu_tanh32", "gelu_tanh32_block16", "gelu_tanh_grad32", "gelu_tanh_grad32_block16",
    "gelu_tanh_backward32_block16",
]

_F = np.float32
_SIGN = np.int32(-(2**31))
_ABS = np.int32(0x7FFFFFFF)
_INF_BITS = 0x7F800000
_LIMIT_BITS = int(_F(10.5).view(np.int32))
# |x| below 2^-125: x / 2 is subnormal, flushed to a signed zero
_HALF_NORMAL_BITS = 0x01000000
_ONE_EXPONENT = 1 << 23
# 2 sqrt(2/pi) and 0.044715 * 2 sqrt(2/pi) as float32 double words (50 digits)
_C_HI, _C_LO = _F(1.5957692), _F(-4.534068e-08)
_D_HI, _D_LO = _F(0.071354814), _F(2.3988325e-09)
# 3 D, for b = |x| v'(x) = a (C + 3 D a^2)
_B3_HI, _B3_LO = _F(0.21406445), _F(-2.5408342e-10)


@njit(**JIT_OPTIONS)
def _a_times_c_plus(a, w, w_lo, d_hi, d_lo):
    """a (C + d w) as a double word, for a in [2^-30, 10.5], w + w_lo = a^2 and d a
    float32 double word."""
    dw = d_hi * w
    dw_lo = fma(d_hi, w, -dw) + fma(d_lo, w, d_hi * w_lo)
    g = _C_HI + dw  # TwoSum: d a^2 exceeds C from a = 2.7 (3 D) or 4.7 (D) on
    bv = g - _C_HI
    g_lo = ((_C_HI - (g - bv)) + (dw - bv)) + (_C_LO + dw_lo)
    v = a * g
    return v, fma(a, g, -v) + a * g_lo


@njit(**JIT_OPTIONS)
def _v32(a):
    """v = a (C + D a^2) as a double word ``(v, v_lo)`` for a in [2^-30, 10.5]."""
    w = a * a
    return _a_times_c_plus(a, w, fma(a, a, -w), _D_HI, _D_LO)


@njit(**JIT_OPTIONS)
def gelu_tanh32(x):
    """x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)) of a float32 value (the scalar twin
    of :func:`gelu_tanh32_block16`)."""
    cb = min(max(float_bits(x) & _ABS, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    a = float_from_bits(cb, x)
    v, v_lo = _v32(a)
    t_hi, p, k = exp_table_parts32(-v, -v_lo)
    s = float_from_bits((max(k, np.int32(_E_FLOOR)) + np.int32(127)) << np.int32(23), x)
    return gate32(x, a, t_hi, p, k, s, np.int32(_LIMIT_BITS))  # silu's arithmetic


def _emit_a_times_c_plus(v, a, w, w_lo, d_hi, d_lo):
    """:func:`_a_times_c_plus` on 16 lanes."""
    builder = v.builder
    fma = v.fma
    c_hi, d_hi = splat_f(_C_HI), splat_f(d_hi)
    dw = builder.fmul(d_hi, w)
    dw_lo = builder.fadd(fma(d_hi, w, builder.fneg(dw)), fma(splat_f(d_lo), w, builder.fmul(d_hi, w_lo)))
    g = builder.fadd(c_hi, dw)
    bv = builder.fsub(g, c_hi)
    g_lo = builder.fadd(
        builder.fadd(builder.fsub(c_hi, builder.fsub(g, bv)), builder.fsub(dw, bv)),
        builder.fadd(splat_f(_C_LO), dw_lo),
    )
    vv = builder.fmul(a, g)
    return vv, builder.fadd(fma(a, g, builder.fneg(vv)), builder.fmul(a, g_lo))


def _emit_v(v, a):
    """:func:`_v32` on 16 lanes."""
    w = v.builder.fmul(a, a)
    return _emit_a_times_c_plus(v, a, w, v.fma(a, a, v.builder.fneg(w)), _D_HI, _D_LO)


def _emit_gelu_tanh(v, b, store):
    builder = v.builder
    sign = builder.and_(b, splat_i(int(_SIGN)))
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` (every |x| finite and at least
        2^-30) leaves out the lower clamp, the halving of tiny x and the NaN select."""
        cb = v.smin(v.smax(ab, splat_i(_TINY_BITS)) if general else ab, splat_i(_LIMIT_BITS))
        a = builder.bitcast(cb, F16)
        vv, v_lo = _emit_v(v, a)
        t_hi, p, k = emit_exp_table_parts32(v, builder.fneg(vv), builder.fneg(v_lo))
        q = emit_gate_quotient32(v, neg, a, t_hi, p, emit_pow2(v, k, _E_FLOOR))
        scale = builder.shl(builder.select(neg, k.integer, splat_i(0)), splat_i(23))
        rb = builder.add(builder.bitcast(q, I16), scale)
        flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
        rb = builder.select(flushed, splat_i(0), builder.or_(rb, sign))
        if general:
            small = builder.icmp_signed("<", ab, splat_i(_HALF_NORMAL_BITS))
            half = builder.select(small, sign, builder.sub(b, splat_i(_ONE_EXPONENT)))
            rb = builder.select(builder.icmp_signed("<", ab, splat_i(_TINY_BITS)), half, rb)
        above = builder.and_(
            builder.icmp_signed(">", ab, splat_i(_LIMIT_BITS)), builder.icmp_signed(">=", b, splat_i(0))
        )
        keep = builder.or_(above, builder.icmp_signed(">", ab, splat_i(_INF_BITS))) if general else above
        store(builder.select(keep, b, rb))

    # Typical blocks (every |x| finite and at least 2^-30) take the short path.
    v.short_or_general(ab, _TINY_BITS, _INF_BITS - 1, evaluate)


@intrinsic
def gelu_tanh32_block16(typingctx, src, dst):
    """``dst[0:16] = gelu_tanh(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_gelu_tanh)


# --------------------------------------------------------------------------------
# gelu_tanh'(x) = s + x v'(x) s (1 - s), s = sigmoid(v)
# --------------------------------------------------------------------------------
# silu''s derivative (_silu32.py) with v in place of |x| inside the exp and
# b = |x| v'(x) = a (C + 3 D a^2) (a double word) in place of |x| outside it: with
# e = exp(-v) = 2^k E and u = 1 / (1 + e) as a double word,
#
#     x >= 0:  u (1 + b e u)
#     x <  0:  2^k E u (1 - b u)
#
# (one formula on selected double words, _silu32.gate_grad32, with b given the sign of x)
#
# 1 - b u cancels next to the root x0 = -0.75246 of the derivative (slope -1.9
# there); within 2^-4 of x0, where u's own error (about 2^-30) would reach 2^-26
# of the result, t P(t) takes over (t = x - x0, P(0) as a double word; Taylor
# coefficients, the same as the float64 fit of tools/fit_roots.py; the dropped t^7
# term is below 2^-35 relative).
_ROOT_HI = _F(-0.7524614334106445)  # x0 = _ROOT_HI + _ROOT_LO
_ROOT_LO = _F(1.1339628272762046e-08)
_P0 = 0.4304000910248585
_P0_HI = _F(_P0)
_P0_LO = _F(_P0 - float(_P0_HI))
_P = (
    _F(0.38751844613578895), _F(-0.01578285352184803), _F(-0.11394448308095899), _F(-0.01661932834305256),
    _F(0.019682309459833118), _F(0.005261059254921912),
)  # P1 .. P6; fmt: skip
_LO_P0 = _F(-float(_ROOT_LO) * _P0)  # x0's low part times P(0)
_ROOT_WINDOW_BITS = int(_F(2.0**-4).view(np.int32))


@njit(**JIT_OPTIONS)
def gelu_tanh_grad32(x):
    """gelu_tanh'(x) of a float32 value, within 1 ULP (the scalar twin of
    :func:`gelu_tanh_grad32_block16`).  Every multiply-add is an explicit FMA."""
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    a = float_from_bits(cb, x)  # |x|, clamped to [2^-30, 10.5]
    w = a * a
    w_lo = fma(a, a, -w)
    v, v_lo = _a_times_c_plus(a, w, w_lo, _D_HI, _D_LO)
    bb, bb_lo = _a_times_c_plus(a, w, w_lo, _B3_HI, _B3_LO)
    e_hi, e_lo, k = exp_table32(-v, -v_lo)
    s = float_from_bits((max(k, np.int32(_E_FLOOR)) + np.int32(127)) << np.int32(23), x)
    neg = b < np.int32(0)
    sign = b & _SIGN
    # silu''s arithmetic with b for |x|, given the sign of x (on the bit patterns: exact)
    bs = float_from_bits(float_bits(bb) ^ sign, x)
    bs_lo = float_from_bits(float_bits(bb_lo) ^ sign, x)
    mb = gate_grad32(e_hi, e_lo, s, neg, bs, bs_lo)
    rb = scaled_flushed32(mb, _select(neg, k, np.int32(0)))
    # within 2^-4 of the root: t P(t)
    dx, inside = root_offset32(x, b, ab, _ROOT_HI, np.int32(_ROOT_WINDOW_BITS))
    t = dx - _ROOT_LO  # rounded: only the small terms use it
    poly = fma(t, _P[5], _P[4])
    poly = fma(t, poly, _P[3])
    poly = fma(t, poly, _P[2])
    poly = fma(t, poly, _P[1])
    poly = fma(t, poly, _P[0])
    poly = fma(t, poly, _P0_LO)
    near = fma(dx, _P0_HI, fma(t, poly, _LO_P0))
    rb = _select(inside, float_bits(near), rb)
    return float_from_bits(_select(ab > np.int32(_INF_BITS), b, rb), x)  # NaN in, NaN out


def _emit_gelu_tanh_grad(v, b, store):
    builder = v.builder
    fma = v.fma
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))
    fneg = builder.fneg

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` (every |x| finite and at least
        2^-30) leaves out the lower clamp and the NaN selects."""
        cb = v.smin(v.smax(ab, splat_i(_TINY_BITS)) if general else ab, splat_i(_LIMIT_BITS))
        a = builder.bitcast(cb, F16)
        w = builder.fmul(a, a)
        w_lo = fma(a, a, fneg(w))
        vv, v_lo = _emit_a_times_c_plus(v, a, w, w_lo, _D_HI, _D_LO)
        bb, bb_lo = _emit_a_times_c_plus(v, a, w, w_lo, _B3_HI, _B3_LO)
        e_hi, e_lo, k = emit_exp_table32(v, fneg(vv), fneg(v_lo))
        s = emit_pow2(v, k, _E_FLOOR)
        sign = builder.and_(b, splat_i(int(_SIGN)))
        bs = builder.bitcast(builder.xor(builder.bitcast(bb, I16), sign), F16)
        bs_lo = builder.bitcast(builder.xor(builder.bitcast(bb_lo, I16), sign), F16)
        mb = emit_gate_grad32(v, e_hi, e_lo, s, neg, bs, bs_lo)
        # the short path can flush too
        rb = emit_scaled_flushed32(v, mb, builder.select(neg, k.integer, splat_i(0)), general=True)
        dx, inside = emit_root_offset32(v, b, ab, _ROOT_HI, _ROOT_WINDOW_BITS, general)
        if general:
            rb = builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb)

        # the polynomial only in blocks with a lane near the root (x near x0 is
        # negative and not NaN, so its select can come last)
        def near_root():
            dxi = builder.select(inside, dx, splat_f(0.0))
            t = builder.fsub(dxi, splat_f(_ROOT_LO))
            poly = fma(t, splat_f(_P[5]), splat_f(_P[4]))
            for c in (_P[3], _P[2], _P[1], _P[0], _P0_LO):
                poly = fma(t, poly, splat_f(c))
            return builder.bitcast(fma(dxi, splat_f(_P0_HI), fma(t, poly, splat_f(_LO_P0))), I16)

        store(v.select_where_any(inside, rb, near_root))

    # Typical blocks (every |x| finite and at least 2^-30) take the short path.
    v.short_or_general(ab, _TINY_BITS, _INF_BITS - 1, evaluate)


@intrinsic
def gelu_tanh_grad32_block16(typingctx, src, dst):
    """``dst[0:16] = gelu_tanh'(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_gelu_tanh_grad)


@intrinsic
def gelu_tanh_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * gelu_tanh'(src[0:16])`` for float32
    (``backward_product``), as AVX-512 vector code (``dst`` may be either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_gelu_tanh_grad)
