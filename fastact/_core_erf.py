"""Vectorizable primitives of the gated family (silu, gelu, gelu_tanh): an exp
that returns its mantissa as a double word, and quotients with double-word
numerators.

Same conventions as ``_core`` (``T = type(x)``, typed literals, branch-free, no
libm, no subnormal intermediates).  The double-word exp is what the tails of
x * gate(x) need: silu(x) = x e / (1 + e) for x < 0 has the full relative error
of e in it, and ``exp_reduce``'s mantissa alone (its last rounding, up to half an
ULP, plus the reduction's) costs up to 1.7 ULP there in float32; carrying the
rounding errors of the reduction and of the final sum brings it down to ~0.1 ULP.
"""

from __future__ import annotations

import numpy as np
from numba import types
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
    _jit,
    _select,
    float_bits,
    fma,
    two_sum,
)

__all__ = ["exp_dw", "ratio_dw", "ratio_sq_dw"]


@_jit
def _exp_dw32(y, y_lo):
    f = np.float32
    t = y * f(_LOG2E) + _SHIFT32
    kf = t - _SHIFT32
    k = float_bits(t) - float_bits(_SHIFT32)
    # y - kf * hi is exact (Cody-Waite); the remaining subtraction is a TwoSum
    r, r_lo = two_sum(y - kf * _LN2_HI32, -(kf * _LN2_LO32))
    r_lo = r_lo + y_lo
    r2 = r * r
    q = (f(_E32[0]) + r * f(_E32[1])) + r2 * (f(_E32[2]) + r * (f(_E32[3]) + r * f(_E32[4])))
    u = r2 * q
    s = r + u  # Fast2Sum: |r| >= |u|
    s_lo = (r - s) + u
    p = f(1) + s  # Fast2Sum: 1 >= |s|
    p_lo = ((f(1) - p) + s) + (s_lo + r_lo * p)
    return p, p_lo, k


@_jit
def _exp_dw64(y, y_lo):
    t = y * _LOG2E + _SHIFT64
    kf = t - _SHIFT64
    k = float_bits(t) - float_bits(_SHIFT64)
    r, r_lo = two_sum(y - kf * _LN2_HI64, -(kf * _LN2_LO64))
    r_lo = r_lo + y_lo
    r2 = r * r
    r4 = r2 * r2
    c = _E64
    q = ((c[0] + r * c[1]) + r2 * (c[2] + r * c[3])) + r4 * (
        ((c[4] + r * c[5]) + r2 * (c[6] + r * c[7])) + r4 * (c[8] + r * c[9])
    )
    u = r2 * q
    s = r + u
    s_lo = (r - s) + u
    p = 1.0 + s
    p_lo = ((1.0 - p) + s) + (s_lo + r_lo * p)
    return p, p_lo, k


def exp_dw(y, y_lo):
    """``exp(y + y_lo) = (p + p_lo) * 2**k`` with ``p`` in [0.70, 1.42] and
    ``|p_lo| <= ulp(p)``: the mantissa as a double word, relative error ~2**-27
    (float32) / 2**-57 (float64).

    ``y`` as for ``exp_reduce`` (clamped by the caller, NaN-free); ``y_lo`` a small
    correction (|y_lo| <= ulp(y)), e.g. the low part of an exact square.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(exp_dw, inline="always")
def _exp_dw_overload(y, y_lo):
    if y == types.float32:
        return lambda y, y_lo: _exp_dw32(y, y_lo)
    if y == types.float64:
        return lambda y, y_lo: _exp_dw64(y, y_lo)
    return None


@_jit
def ratio_dw(num, num_lo, e, e_lo):
    """``(num + num_lo) / (1 + e + e_lo)`` for ``0 <= e <= 1``: one division and one
    FMA residual correction that folds in both low parts and the rounding of 1 + e.
    For e < 2**-60 the low terms (which could underflow) are dropped."""
    T = type(num)
    one = T(1)
    use = e >= T(2.0**-60)
    d = one + e
    d_lo = _select(use, ((one - d) + e) + e_lo, T(0))  # a call: inlined through overloads
    inv = one / d
    q = num * inv
    res = (fma(-q, d, num) + num_lo) - q * d_lo
    return fma(inv, res, q)


@_jit
def ratio_sq_dw(num, num_lo, e, e_lo):
    """``(num + num_lo) / (1 + e + e_lo)**2`` for ``0 <= e <= 1``, the square carried
    as a double word (FMA residual), one division and one correction step."""
    T = type(num)
    one = T(1)
    use = e >= T(2.0**-60)
    d = one + e
    d_lo = _select(use, ((one - d) + e) + e_lo, T(0))  # a call: inlined through overloads
    dd = d * d
    dd_lo = _select(use, fma(d, d, -dd) + T(2) * d * d_lo, T(0))
    inv = one / dd
    q = num * inv
    res = (fma(-q, dd, num) + num_lo) - q * dd_lo
    return fma(inv, res, q)
