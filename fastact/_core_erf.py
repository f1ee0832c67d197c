"""Vectorizable primitive of the normal tail (``_erf.normal_tail``, float64 gelu):
an exp that returns its mantissa as a double word.

Same conventions as ``_core`` (``T = type(x)``, typed literals, branch-free, no
libm, no subnormal intermediates).  The double-word exp is what the tails of
x * gate(x) need: gelu(x) = x Phi(x) for x < 0 has the full relative error of
exp(-x^2/2) in it, and ``exp_reduce``'s mantissa alone (its last rounding, up to
half an ULP, plus the reduction's) costs up to 1.7 ULP there in float32; carrying
the rounding errors of the reduction and of the final sum brings it down to ~0.1
ULP.  (silu, gelu_tanh and mish have their own lean double-word exps:
``_logistic64.exp_neg64``, ``_core_log.exp_dd``.)
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
    float_bits,
    two_sum,
)

__all__ = ["exp_dw"]


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
