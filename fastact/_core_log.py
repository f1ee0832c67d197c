"""Vectorizable double-word exp and log1p: the primitives of softplus, mish and tanhshrink.

Same conventions as :mod:`fastact._core` (``T = type(x)``, typed literals, no libm,
no ordered compare on a possible NaN, no subnormal intermediate).  What is new here
is precision beyond the working one: the results are unevaluated sums ``hi + lo``
(double words) whose relative error is ~2**-45 (float32) / ~2**-58 (float64), so that
a kernel that combines a few of them and rounds once at the end stays within about
half an ULP (float32 certified <= 1 ULP, float64 <= 2 ULP).

* :func:`exp_dd`: ``exp(y + y_lo) = (p_hi + p_lo) * 2**k`` for ``y <= 0``: the
  exp core's Cody-Waite reduction with the rounding error of ``r`` kept, the
  polynomial of ``_core`` (3.1e-9 / 3.6e-18 relative), and the last two additions
  as Fast2Sums.
* :func:`log1p_dd`: ``log(1 + e)`` for ``e`` in [2**-40, 1] given as a double word:
  ``1 + e = 2**k * m * (1 + c/m)``, ``m`` in [sqrt(2)/2, sqrt(2)], then
  ``log1p(f) = 2 atanh(s)``, ``s = f / (2 + f)`` in [-0.172, 0.172] carried as a
  double word (one division, one FMA residual), and the odd series of atanh.  The
  series coefficients are derived, not fitted: 2 atanh(s) = 2s + sum 2 s**(2n+1) /
  (2n+1); truncated after n = 5 (float32, next term 2**-34 relative) and n = 10
  (float64, next term 2**-60 relative).  No table, no libm ``log``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._core import (
    _E32,
    _E64,
    _LN2_HI32,
    _LN2_HI64,
    _LN2_LO32,
    _LN2_LO64,
    _LOG2E,
    _SHIFT32,
    _SHIFT64,
    JIT_OPTIONS,
    abs_clamped,
    float_bits,
    fma,
    two_sum,
)

__all__ = ["exp_dd", "log1p_dd", "log1p_linear_below"]

_jit = njit(**JIT_OPTIONS)

# ln 2 as a double word per dtype (hi rounded to the dtype, lo the rest)
_LN2 = "0.69314718055994530941723212145817656807550013436026"
_LN2_DW32 = (np.float32(float(_LN2)), np.float32(float(np.float64(float(_LN2)) - np.float64(np.float32(float(_LN2))))))
_LN2_DW64 = (0.6931471805599453, 2.3190468138462996e-17)
_SQRT2_32 = np.float32(1.4142135)
_SQRT2_64 = 1.4142135623730951

# 2 atanh(s) = 2s + s**3 * R(s**2), R(z) = sum_{n>=1} 2/(2n+1) z**(n-1)
_ATANH32 = tuple(np.float32(2.0 / (2 * n + 1)) for n in range(1, 6))
_ATANH64 = tuple(2.0 / (2 * n + 1) for n in range(1, 11))


@_jit
def _exp_dd32(y, y_lo):
    f = np.float32
    t = y * f(_LOG2E) + _SHIFT32
    kf = t - _SHIFT32
    r_hi = y - kf * _LN2_HI32  # exact (Cody-Waite: kf * hi has trailing zero bits)
    c = kf * _LN2_LO32
    r = r_hi - c
    r_lo = ((r_hi - r) - c) + y_lo
    k = float_bits(t) - float_bits(_SHIFT32)
    r2 = r * r
    q = (f(_E32[0]) + r * f(_E32[1])) + r2 * (f(_E32[2]) + r * (f(_E32[3]) + r * f(_E32[4])))
    w = r2 * q
    s = r + w
    s_lo = (r - s) + w  # Fast2Sum: |r| >= |w|
    p = f(1) + s
    p_lo = ((f(1) - p) + s) + fma(r_lo, p, s_lo)  # exp(r + r_lo) ~ exp(r) (1 + r_lo)
    return p, p_lo, k


@_jit
def _exp_dd64(y, y_lo):
    t = y * _LOG2E + _SHIFT64
    kf = t - _SHIFT64
    r_hi = y - kf * _LN2_HI64
    c = kf * _LN2_LO64
    r = r_hi - c
    r_lo = ((r_hi - r) - c) + y_lo
    k = float_bits(t) - float_bits(_SHIFT64)
    r2 = r * r
    r4 = r2 * r2
    e = _E64
    q = ((e[0] + r * e[1]) + r2 * (e[2] + r * e[3])) + r4 * (
        ((e[4] + r * e[5]) + r2 * (e[6] + r * e[7])) + r4 * (e[8] + r * e[9])
    )
    w = r2 * q
    s = r + w
    s_lo = (r - s) + w
    p = 1.0 + s
    p_lo = ((1.0 - p) + s) + fma(r_lo, p, s_lo)
    return p, p_lo, k


def exp_dd(y, y_lo):
    """``(p_hi, p_lo, k)`` with ``exp(y + y_lo) = (p_hi + p_lo) * 2**k``, ``p_hi`` in
    [0.70, 1.42].

    ``y`` in [-exp_limit(y), 0], NaN-free (callers clamp); ``|y_lo|`` at most an ULP
    of ``y`` (the rounding error of a product that formed ``y``).  The relative
    error of ``p_hi + p_lo`` is about 2**-28 (float32: the core polynomial) and
    2**-58 (float64).  ``k`` is an integer.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(exp_dd, inline="always")
def _exp_dd_overload(y, y_lo):
    if y == types.float32:
        return lambda y, y_lo: _exp_dd32(y, y_lo)
    if y == types.float64:
        return lambda y, y_lo: _exp_dd64(y, y_lo)
    return None


def log1p_linear_below(x):
    """``(e0, k0)``: below ``e0`` log1p(e) rounds to e itself in the dtype of ``x``
    (e/2 below a quarter ULP): 2**-40 (float32; also where the series of
    :func:`log1p_dd` would underflow) and 2**-60 (float64).  Every e >= e0 of the
    form p * 2**k (p in [0.7, 1.42]) has k >= k0 = log2(e0)."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(log1p_linear_below, inline="always")
def _log1p_linear_below_overload(x):
    if x == types.float32:
        return lambda x: (np.float32(2.0**-40), -40)
    if x == types.float64:
        return lambda x: (2.0**-60, -60)
    return None


def _log_constants(x):
    """(smallest |s| of the series, sqrt 2, ln2 hi, ln2 lo) in the dtype of ``x``."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_log_constants, inline="always")
def _log_constants_overload(x):
    if x == types.float32:
        c32 = (np.float32(2.0**-40), _SQRT2_32, _LN2_DW32[0], _LN2_DW32[1])
        return lambda x: c32
    if x == types.float64:
        c64 = (2.0**-100, _SQRT2_64, _LN2_DW64[0], _LN2_DW64[1])
        return lambda x: c64
    return None


@_jit
def _atanh_tail32(z):
    c = _ATANH32
    z2 = z * z
    return (c[0] + z * c[1]) + z2 * ((c[2] + z * c[3]) + z2 * c[4])


@_jit
def _atanh_tail64(z):
    c = _ATANH64
    z2 = z * z
    z4 = z2 * z2
    lo = (c[0] + z * c[1]) + z2 * (c[2] + z * c[3])
    mid = (c[4] + z * c[5]) + z2 * (c[6] + z * c[7])
    return lo + z4 * (mid + z4 * (c[8] + z * c[9]))


def _atanh_tail(z):
    """R(z) = sum c[n] z**n, the atanh series after its first term (Estrin pairs)."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_atanh_tail, inline="always")
def _atanh_tail_overload(z):
    if z == types.float32:
        return lambda z: _atanh_tail32(z)
    if z == types.float64:
        return lambda z: _atanh_tail64(z)
    return None


@_jit
def log1p_dd(e, e_lo):
    """``log(1 + e + e_lo)`` as ``(hi, lo)`` for ``e`` in [2**-40 / 2**-60, 1] (NaN-free) and
    ``|e_lo|`` below about an ULP of ``e``; relative error about 2**-45 / 2**-100
    beyond the series truncation (2**-34 / 2**-60)."""
    T = type(e)
    _, sqrt2, ln2_hi, ln2_lo = _log_constants(e)
    one = T(1)
    u = one + e
    c = ((one - u) + e) + e_lo  # 1 + e + e_lo == u + c (Fast2Sum: 1 >= e)
    big = u > sqrt2
    half = T(0.5) if big else one
    m = u * half
    c = c * half
    # f + f_lo = m - 1 + c exactly: m - 1 is exact (Sterbenz, m in [0.707, 1.415]);
    # the sum is renormalized, since for e < 2**-24 (float32) m - 1 may be 0 and
    # c the whole value
    f, f_lo = two_sum(m - one, c)
    # s = (f + f_lo) / (2 + f + f_lo) as s + s_lo: one division and an FMA residual
    d = T(2) + f
    d_lo = ((T(2) - d) + f) + f_lo
    inv = one / d
    s = f * inv
    res = (fma(-s, d, f) + f_lo) - s * d_lo
    s_lo = res * inv
    # the series beyond 2s, s**3 R(s**2), on |s| clamped to [2**-40 / 2**-100, 1]
    # (the smallest |s| of a lane with e >= e0 is 2**-41.5 / 2**-61.5: the clamp
    # moves the tail of those by far less than an ULP, and keeps s**3 normal), and R
    # at s**2 >= 2**-30 (R(z) = 2/3 + 2z/5 + ...: 2/3 to 2**-31 below, and its
    # powers z**4 stay normal)
    smin, _, _, _ = _log_constants(e)
    st = np.copysign(abs_clamped(s, smin, one), s)
    z = st * st
    tail = st * z * _atanh_tail(max(z, T(2.0**-30)))
    # k ln2 + 2s: exact Fast2Sum for k = 1 (ln2 >= |2s|), trivially exact for k = 0
    a = ln2_hi if big else T(0)
    s2 = T(2) * s
    h = a + s2
    lo = ((a - h) + s2) + ((ln2_lo if big else T(0)) + (T(2) * s_lo + tail))
    return h, lo
