"""float64 silu, x sigmoid(x), its derivative and an accurate sigmoid (for softplus'
and log_sigmoid') on a lean double-word exp: the float32 kernels' scheme
(``_sigmoid32``, ``_silu32``) in float64.

The generic gated kernel (``kernels.gated``: exp as a double word p 2^k, then e and
its low part each scaled to their value, a general corrected quotient and the
scale applied to the quotient) took 115 vector instructions per 8 values, 2.3x
PyTorch's silu.  Here, as in float32, with a = |x| clamped to [2^-60, 745]:

    exp(-a) = 2^k (p + p_lo)            (p in [0.70, 1.42], a double word)
    x >= 0:  a / (1 + e)
    x <  0:  -2^k a p / (1 + e)          (a p as a double word)

where 1 + e enters as fma(s, p, 1) with s = 2^max(k, -60) (exact: below 2^-60, e
vanishes in 1 + e whichever scale it gets) and its exact rounding error, and the
quotient takes one residual correction; 2^k goes on last on the bit pattern, so
the negative tail keeps its relative accuracy down to the smallest normal number
(silu(-700) = -6.9e-302), flushed to +0 below it.  Below |x| = 2^-60 silu(x)
rounds to x/2 (+-0 where that is subnormal); above 745 it is x (x >= 0) or the
flushed +0.  80 instructions per 8 values, loads and stores included.

The exp is exp_dw64's (``_core_log``) with y_lo = 0: Cody-Waite reduction with
the rounding of r kept (r_lo: 2^-54.5 relative otherwise, which cost 0.79 ULP),
the degree-10 polynomial of ``_core``, and 1 + s as a Fast2Sum.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._core import _E64, _LN2_HI64, _LN2_LO64, _LOG2E, _SHIFT64, JIT_OPTIONS, _select, float_bits, float_from_bits, fma

__all__ = ["exp_neg64", "sigmoid64", "silu64", "silu_grad64_off_root"]

_ABS = np.int64(0x7FFFFFFFFFFFFFFF)
_SIGN = np.int64(-(2**63))
_INF_BITS = 0x7FF0000000000000
_MIN_NORMAL_BITS = 0x0010000000000000
# |x| below 2^-51: x / 2 is subnormal, flushed to a signed zero
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
def exp_neg64(a):
    """exp(-a) = 2^k (p + p_lo) for a in [2^-60, 745]: ``(p, p_lo, k)``, p in [0.70,
    1.42] and p_lo its low part (relative error about 2^-57)."""
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
    q = fma(r2, fma(r, e[3], e[2]), fma(r, e[1], e[0])) + r4 * (
        fma(r2, fma(r, e[7], e[6]), fma(r, e[5], e[4])) + r4 * fma(r, e[9], e[8])
    )
    w = r2 * q
    s = r + w
    s_lo = (r - s) + w  # Fast2Sum: |r| >= |w|
    p = 1.0 + s
    return p, ((1.0 - p) + s) + fma(r_lo, p, s_lo), k  # exp(r + r_lo) ~ exp(r) (1 + r_lo)


@njit(**JIT_OPTIONS)
def _quotient64(num, num_lo, p, p_lo, sc):
    """(num + num_lo) / (1 + sc (p + p_lo)), rounded once: 1 + sc p as fma(sc, p, 1)
    and its exact rounding error, one division and one residual correction."""
    one = 1.0
    d = fma(sc, p, one)
    d_lo = fma(sc, p_lo, fma(sc, p, one - d))
    inv = one / d
    q0 = num * inv
    return fma(inv, fma(-q0, d, num) + fma(-q0, d_lo, num_lo), q0)


@njit(**JIT_OPTIONS)
def sigmoid64(x):
    """1 / (1 + exp(-x)) of a float64 value within 1 ULP: 1 / (1 + e) for x >= 0 and
    2^k (p + p_lo) / (1 + e) for x < 0, rounded once, 2^k applied last (flushed to
    +0 below the smallest normal number).  (The float64 sigmoid kernel itself
    rounds e first: faster, within 1.381 ULP.)  softplus' (beta = 1) and
    log_sigmoid' (of -x) take this one."""
    one = 1.0
    b = float_bits(x)
    ab = b & _ABS
    a = float_from_bits(min(max(ab, np.int64(_TINY_BITS)), np.int64(_LIMIT_BITS)), x)
    p, p_lo, k = exp_neg64(a)
    sc = float_from_bits((max(k, np.int64(_E_FLOOR)) + np.int64(1023)) << np.int64(52), x)
    neg = b < np.int64(0)
    q = _quotient64(_select(neg, p, one), _select(neg, p_lo, 0.0), p, p_lo, sc)
    rb = float_bits(q) + (_select(neg, k, np.int64(0)) << np.int64(52))
    rb = _select(rb < np.int64(_MIN_NORMAL_BITS), np.int64(0), rb)
    return float_from_bits(_select(ab > np.int64(_INF_BITS), b, rb), x)  # NaN in, NaN out


@njit(**JIT_OPTIONS)
def silu64(x):
    """x / (1 + exp(-x)) of a float64 value, within 1 ULP."""
    one = 1.0
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int64(_TINY_BITS)), np.int64(_LIMIT_BITS))
    a = float_from_bits(cb, x)  # |x|, clamped to [2^-60, 745]
    p, p_lo, k = exp_neg64(a)
    sc = float_from_bits((max(k, np.int64(_E_FLOOR)) + np.int64(1023)) << np.int64(52), x)
    neg = b < np.int64(0)
    m_hi = _select(neg, p, one)
    m_lo = _select(neg, p_lo, 0.0)
    num = a * m_hi
    q = _quotient64(num, fma(a, m_hi, -num) + a * m_lo, p, p_lo, sc)
    rb = float_bits(q) + (_select(neg, k, np.int64(0)) << np.int64(52))
    rb = _select(rb < np.int64(_MIN_NORMAL_BITS), np.int64(0), rb | (b & _SIGN))
    half = _select(ab < np.int64(_HALF_NORMAL_BITS), b & _SIGN, b - np.int64(_ONE_EXPONENT))
    rb = _select(ab < np.int64(_TINY_BITS), half, rb)
    # x itself above the clamp for x >= 0 (inf included), and NaN in, NaN out
    keep = ((ab > np.int64(_LIMIT_BITS)) & (b >= np.int64(0))) | (ab > np.int64(_INF_BITS))
    return float_from_bits(_select(keep, b, rb), x)


@njit(**JIT_OPTIONS)
def silu_grad64_off_root(x):
    """silu'(x) = sigmoid(x) (1 + x (1 - sigmoid(x))) of a float64 value, within 1 ULP
    away from the root x0 = -1.2785 of silu' (the caller replaces it within 1/2 of
    x0, where 1 - |x| u cancels).  With u = 1 / (1 + e) as a double word (one
    division and its exact residual): u + |x| e u^2 for x >= 0 (the second term at
    most 0.17 of the sum) and 2^k p u (1 - |x| u) for x < 0, each factor a double
    word, 2^k applied last."""
    one = 1.0
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int64(_TINY_BITS)), np.int64(_LIMIT_BITS))
    a = float_from_bits(cb, x)  # |x|, clamped to [2^-60, 745]
    p, p_lo, k = exp_neg64(a)
    sc = float_from_bits((max(k, np.int64(_E_FLOOR_GRAD)) + np.int64(1023)) << np.int64(52), x)
    d = fma(sc, p, one)
    d_lo = fma(sc, p_lo, fma(sc, p, one - d))
    u = one / d
    u_lo = u * fma(-u, d_lo, fma(-u, d, one))
    # x >= 0: u + a e u^2
    ae = fma(a, sc * p, a * (sc * p_lo))
    uu = fma(u, u, (u + u) * u_lo)
    pos = u + fma(ae, uu, u_lo)
    # x < 0: 2^k p u (1 - a u)
    au = a * u
    c = one - au  # exact: Sterbenz for au in [0.5, 2], and beyond as 1 - |x| is
    c_lo = fma(-a, u_lo, ((one - c) - au) - fma(a, u, -au))  # (one - c) - au: Fast2Sum below
    pu = p * u
    pu_lo = fma(p, u, -pu) + fma(p, u_lo, p_lo * u)
    mb = float_bits(fma(pu, c, fma(pu, c_lo, pu_lo * c)))
    rb = (mb & _ABS) + (k << np.int64(52))
    rb = _select(rb < np.int64(_MIN_NORMAL_BITS), np.int64(0), rb | (mb & _SIGN))
    rb = _select(b < np.int64(0), rb, float_bits(pos))
    return float_from_bits(_select(ab > np.int64(_INF_BITS), b, rb), x)  # NaN in, NaN out
