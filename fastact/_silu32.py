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
the flushed +0 (x < 0).  Blocks whose every |x| is at least 21 skip the division
(1 + e rounds to 1 there): saturated inputs run at 0.91 of the central regime's
throughput instead of 0.67.

Its derivative's float32 kernel is a table of polynomials (``_silu_grad32``);
:func:`gate_grad32`, the exp-based derivative it had (0.658 ULP at 1.5-1.6x the
time of PyTorch's), still serves gelu_tanh' (``_gelu_tanh32``).

The generic kernel (``kernels.gated._silu``, still used for float64) builds e
from a double-word exp and a general double-word quotient: twice the time of
this one in float32, for the same accuracy.  :func:`silu32_block16` is the same
arithmetic as :func:`silu32`, operation for operation, so every layout gives
bitwise the same results.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, I16, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import (
    _LIMIT_BITS,
    _MIN_NORMAL_BITS,
    _TINY_BITS,
    emit_exp_neg_parts32,
    emit_exp_neg_scaled32,
    emit_one_plus32,
    emit_one_plus_scaled32,
    exp_neg_parts32,
    one_plus32,
)

__all__ = [
    "gate32", "gate_quotient32", "emit_gate_quotient32", "gate_grad32", "emit_gate_grad32", "silu32",
    "silu32_block16",
]

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
# Blocks whose every |x| is at least 21 (infinities included, NaN not) take the
# saturated path: there e = exp(-|x|) <= 7.6e-10, below 2^-30, so 1 + e rounds to
# d = 1 exactly and the general path's division by d is the identity; x >= 0 gives
# x itself (a (1 - d_lo) rounds to a: a d_lo is below a quarter of a's ULP).
_SAT_LO_BITS = int(_F(21.0).view(np.int32))


@njit(**JIT_OPTIONS)
def silu32(x):
    """x / (1 + exp(-x)) of a float32 value, within 1 ULP (the scalar twin of
    :func:`silu32_block16`)."""
    ab = float_bits(x) & _ABS
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    t_hi, p, k, s = exp_neg_parts32(cb, x)
    return gate32(x, float_from_bits(cb, x), t_hi, p, k, s, np.int32(_LIMIT_BITS))


@njit(**JIT_OPTIONS)
def gate_quotient32(neg, a, t_hi, p, s):
    """a / (1 + e) (x >= 0) or a E / (1 + e) (x < 0, to be scaled by 2^k), e = 2^k E,
    E = t_hi + p, rounded once: the quotient m / (1 + e) of M = E renormalized
    (m + m_lo) or 1 as a double word q0 + res/d (one division; res its residual,
    with 1 + e = d + d_lo from :func:`_sigmoid32.one_plus32`), then a q0 + res (a/d)
    in one FMA.  The multiplication by a comes last and off the division's chain,
    and e_lo serves only the numerator (on AVX-512 its add takes the sign select
    as zero-masking).  a may carry x's sign: the result then does too.  The scalar
    half of :func:`emit_gate_quotient32`."""
    one = _F(1)
    d, d_lo = one_plus32(t_hi, p, s)
    e_hi = t_hi + p
    m_hi = _select(neg, e_hi, one)
    m_lo = _select(neg, (t_hi - e_hi) + p, _F(0))
    inv = one / d
    q0 = m_hi * inv
    res = fma(-q0, d, m_hi) + fma(-q0, d_lo, m_lo)
    return fma(a, q0, res * (a * inv))


def emit_gate_quotient32(v, neg, a, t_hi, p, s):
    """:func:`gate_quotient32` on 16 lanes; ``s=None``: t_hi and p already carry
    2^k (``_sigmoid32.emit_exp_neg_scaled32``), and so does the x < 0 quotient."""
    builder = v.builder
    d, d_lo = emit_one_plus32(v, t_hi, p, s) if s is not None else emit_one_plus_scaled32(v, t_hi, p)
    e_hi = builder.fadd(t_hi, p)
    m_hi = builder.select(neg, e_hi, splat_f(1.0))
    m_lo = builder.select(neg, builder.fadd(builder.fsub(t_hi, e_hi), p), splat_f(0.0))
    inv = builder.fdiv(splat_f(1.0), d)
    q0 = builder.fmul(m_hi, inv)
    nq0 = builder.fneg(q0)
    res = builder.fadd(v.fma(nq0, d, m_hi), v.fma(nq0, d_lo, m_lo))
    return v.fma(a, q0, builder.fmul(res, builder.fmul(a, inv)))


@njit(**JIT_OPTIONS)
def gate32(x, a, t_hi, p, k, s, limit_bits):
    """x sigmoid(v) for v >= 0 of the sign of x, from e = exp(-|v|) = 2^k (t_hi + p)
    (``_sigmoid32.exp_table_parts32``; s = 2^max(k, -40)) and a = |x| clamped to
    [2^-30, limit] (``limit_bits``: its bit pattern; above it the result is x for
    x >= 0 and the flushed +0 for x < 0): silu's arithmetic, shared with gelu_tanh
    (``_gelu_tanh32``)."""
    b = float_bits(x)
    ab = b & _ABS
    neg = b < np.int32(0)
    q = gate_quotient32(neg, a, t_hi, p, s)
    rb = float_bits(q) + (_select(neg, k, np.int32(0)) << np.int32(23))
    rb = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb | (b & _SIGN))
    half = _select(ab < np.int32(_HALF_NORMAL_BITS), b & _SIGN, b - np.int32(_ONE_EXPONENT))
    rb = _select(ab < np.int32(_TINY_BITS), half, rb)
    # x itself above the clamp for x >= 0 (inf included), and NaN in, NaN out
    keep = ((ab > limit_bits) & (b >= np.int32(0))) | (ab > np.int32(_INF_BITS))
    return float_from_bits(_select(keep, b, rb), x)


def _emit_silu(v, b, store):
    builder = v.builder
    sign = builder.and_(b, splat_i(int(_SIGN)))
    ab = builder.and_(b, splat_i(int(_ABS)))
    neg = builder.icmp_signed("<", b, splat_i(0))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-30, 27]."""
        if not general:
            # e's parts carry 2^k (k >= -39 here), so 1 + e is adds and the x < 0
            # quotient comes out scaled; x itself for a (the same bits as |x| with
            # the sign put back); the result is normal
            t_hi, p = emit_exp_neg_scaled32(v, ab)
            store(builder.bitcast(emit_gate_quotient32(v, neg, builder.bitcast(b, F16), t_hi, p, None), I16))
            return
        cb = v.smin(v.smax(ab, splat_i(_TINY_BITS)), splat_i(_LIMIT_BITS))
        t_hi, p, k, s = emit_exp_neg_parts32(v, cb, general)
        q = emit_gate_quotient32(v, neg, builder.bitcast(cb, F16), t_hi, p, s)
        scale = builder.shl(builder.select(neg, k.integer, splat_i(0)), splat_i(23))
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
        store(rb)

    def saturated():
        """Every |x| >= 21: the general path's bits with its identities left out
        (d = 1, so q0 = m_hi and fma(-q0, d, m_hi) = 0; no tiny lane, x kept for
        x >= 0): the x < 0 lanes are the exp tail, flushed to +0 below normal."""
        cb = v.smin(ab, splat_i(_LIMIT_BITS))
        a = builder.bitcast(cb, F16)
        t_hi, p, k, s = emit_exp_neg_parts32(v, cb, True)
        _, d_lo = emit_one_plus32(v, t_hi, p, s)
        e_hi = builder.fadd(t_hi, p)
        e_lo = builder.fadd(builder.fsub(t_hi, e_hi), p)
        res = v.fma(builder.fneg(e_hi), d_lo, e_lo)
        q = v.fma(a, e_hi, builder.fmul(res, a))
        rb = builder.add(builder.bitcast(q, I16), builder.shl(k.integer, splat_i(23)))
        rb = builder.select(builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), builder.or_(rb, sign))
        store(builder.select(neg, rb, b))

    # Typical blocks (every |x| in [2^-30, 27]) take the short path, blocks of
    # saturated inputs the saturated one, the rest the general one.
    tiers = [(_FAST_LO_BITS, _FAST_HI_BITS, lambda: evaluate(False)), (_SAT_LO_BITS, _INF_BITS, saturated)]
    v.dispatch(ab, tiers, lambda: evaluate(True))


@intrinsic
def silu32_block16(typingctx, src, dst):
    """``dst[0:16] = silu(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_silu)


# --------------------------------------------------------------------------------
# The derivative of a gate x sigmoid(v): gelu_tanh' (``_gelu_tanh32``).  It was
# silu''s too, whose float32 kernel is now a table of polynomials (``_silu_grad32``).
# With e = exp(-|v|) = 2^k E (the table exp above) and u = 1 / (1 + e) = sigmoid(|v|)
# as a double word (u + u_lo, one division and its exact residual), one formula
# P (1 + b Q) on selected double words, rounded once.
# --------------------------------------------------------------------------------
@njit(**JIT_OPTIONS)
def gate_grad32(e_hi, e_lo, s, neg, bs, bs_lo):
    """The derivative of x sigmoid(v) (v >= 0 of the sign of x) from e = exp(-v) =
    2^k (e_hi + e_lo) (s = 2^max(k, -40)) and b = |x| v'(x), given with the sign of
    x as ``bs + bs_lo`` (``neg``: x < 0): the bit pattern of P (1 + bs Q), rounded
    once, with u = 1 / (1 + e) as a double word (one division and its exact
    residual) and

        x >= 0:  P = u,    Q = e u     (u + b e u^2)
        x <  0:  P = E u,  Q = u       (E u (1 - b u), to be scaled by 2^k)

    P, Q and 1 + bs Q double words.  silu' (b = |x|) and gelu_tanh'
    (``_gelu_tanh32``) share it; 1 - b u cancels next to the derivative's root,
    where each caller takes its polynomial."""
    one = _F(1)
    # u + u_lo = 1 / (d + d_lo), d + d_lo = 1 + e (the value of _sigmoid32.one_plus32)
    d = fma(s, e_hi, one)
    d_lo = fma(s, e_lo, fma(s, e_hi, one - d))
    u = one / d
    u_lo = u * fma(-u, d_lo, fma(-u, d, one))
    p = e_hi * u  # E u
    p_lo = fma(e_hi, u, -p) + fma(e_hi, u_lo, e_lo * u)
    # x >= 0: e = s E (from the floored scale s: below 2^-39 the term is far below
    # half an ULP of u = 1)
    q = _select(neg, u, s * p)
    q_lo = _select(neg, u_lo, s * p_lo)
    bq = bs * q
    c = one + bq  # exact for x < 0 (Sterbenz for bq in [-2, -0.5], and beyond -2 (> -2^24) as 1 - |bq| is)
    c_lo = fma(bs, q_lo, fma(bs_lo, q, ((one - c) + bq) + fma(bs, q, -bq)))  # Fast2Sum for |bq| <= 1/2
    m = _select(neg, p, u)
    m_lo = _select(neg, p_lo, u_lo)
    return float_bits(fma(m, c, fma(m, c_lo, m_lo * c)))


def emit_gate_grad32(v, e_hi, e_lo, s, neg, bs, bs_lo=None):
    """:func:`gate_grad32` on 16 lanes (``bs_lo=None``: b is exact, its term left
    out): the bit pattern of P (1 + bs Q).  ``s=None``: e_hi + e_lo is e itself
    (the parts scaled by 2^k, ``_sigmoid32.emit_exp_neg_scaled32``; k >= -39), so
    1 + e is adds, Q = e u needs no scaling, and neither does the result for x < 0
    (P = e u): the same bits, five FMAs fewer."""
    builder = v.builder
    fma = v.fma
    fneg = builder.fneg
    one = splat_f(1.0)
    if s is None:
        d = builder.fadd(one, e_hi)
        d_lo = builder.fadd(builder.fadd(e_hi, builder.fsub(one, d)), e_lo)  # the inner sum exact
    else:
        d = fma(s, e_hi, one)
        d_lo = fma(s, e_lo, fma(s, e_hi, builder.fsub(one, d)))
    u = builder.fdiv(one, d)
    nu = fneg(u)
    u_lo = builder.fmul(u, fma(nu, d_lo, fma(nu, d, one)))
    p = builder.fmul(e_hi, u)
    p_lo = builder.fadd(fma(e_hi, u, fneg(p)), fma(e_hi, u_lo, builder.fmul(e_lo, u)))
    q = builder.select(neg, u, p if s is None else builder.fmul(s, p))
    q_lo = builder.select(neg, u_lo, p_lo if s is None else builder.fmul(s, p_lo))
    bq = builder.fmul(bs, q)
    c = builder.fadd(one, bq)
    rest = builder.fadd(builder.fadd(builder.fsub(one, c), bq), fma(bs, q, fneg(bq)))
    if bs_lo is not None:
        rest = fma(bs_lo, q, rest)
    c_lo = fma(bs, q_lo, rest)
    m = builder.select(neg, p, u)
    m_lo = builder.select(neg, p_lo, u_lo)
    return builder.bitcast(fma(m, c, fma(m, c_lo, builder.fmul(m_lo, c))), I16)
