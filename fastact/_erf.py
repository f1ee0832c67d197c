"""Vectorizable erfc and the normal tail Phi(-a), float32 and float64.

Both rest on one decomposition of the upper tail of the standard normal
distribution, for a >= 0:

    Phi(-a) = erfc(a / sqrt2) / 2 = exp(-a^2/2) / (sqrt(2 pi) * (a + S(a))),

where S(a) = 1/R(a) - a and R(a) = Phi(-a) / phi(a) is Mills' ratio.  S falls
smoothly from sqrt(2/pi) = 0.798 at a = 0 to ~1/a in the tail, and it enters
only through a + S(a): an error dS moves the result by dS / (a + S) relative,
which is what the fit of S bounds (``tools/fit_mills.py``: a rational
P_n(a) / Q_{n+1}(a) with positive coefficients, so both Horner chains are
sums of positive terms).  No piece boundaries, no gathers: one rational, one
exp, one division per result.

The exponential carries all the tail's difficulty: exp(-a^2/2) multiplies an
absolute error of its argument into a relative error of the result, and
a^2/2 reaches 741 (float64) before the result leaves the normal range.  So a^2
is formed as an exact double word (FMA residual) and goes through ``exp_dw``,
whose correction term takes the low part; the mantissa is a double word too.
The quotient is one division with an FMA residual correction that folds in
every low part.  2**k is applied last, on the bit pattern, so results keep
their relative accuracy down to the smallest normal number and are flushed to
+0 below it.

float32 inputs are evaluated in plain float64 (a float32 input's square is
exact there; no double words, one division: Phi(-a) = p Q / (sqrt(2 pi) (a Q + P)))
with a shorter rational, and the mantissa is rounded once to float32 before the
exact 2**k scaling: every float32 result is within a hair of half an ULP.
float32 arithmetic would round each of the few terms a result is a sum of, and
cost more than an ULP.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from ._core import _jit, _select, abs_clamped, exp_reduce, fma, ldexp_flush, ldexp_signed, sign_clear, two_sum
from ._core_erf import exp_dw

__all__ = ["erfc", "normal_tail", "normal_tail_of_abs64", "SQRT_2PI", "div_dw"]

#: sqrt(2 pi) as a float64 double word
SQRT_2PI = (2.5066282746310007, -1.8328579980459167e-16)
_SQRT2 = 1.4142135623730951
#: sqrt(2/pi) = S(0) as a double word
_SQRT_2_PI = (0.7978845608028654, -4.98465440455546e-17)

# S(a) = P(a) / Q(a), coefficients printed by tools/fit_mills.py (ascending
# powers of a, Q[0] = 1).  Weighted error |dS| / (a + S) on the fitted range:
# float64: 2**-57.8 on [0, 38.5] (Phi(-38.5) = 3e-325 is below every float64),
# float32: 2**-30.4 on [0, 15] (Phi(-15) = 4e-51 is below every float32; erfc
# needs a = z sqrt2 up to 14.85).
_S64_P = (0.7978845608028654, 0.988095716844994, 0.6257431160714944, 0.25725115490598993,
          0.07456560043698013, 0.015685612026548834, 0.002388225838961241, 0.0002540932172043994,
          1.7235870511707504e-05, 5.747130119816212e-07)
_S64_Q = (1.0, 1.6938239074553585, 1.419050426192077, 0.7612581603287403, 0.28712265381381985,
          0.07923860132763161, 0.01619035156777508, 0.0024226975406458975, 0.0002552426439897786,
          1.7235870502811297e-05, 5.747130120285607e-07)
_S32_P = (0.7978845613657924, 0.504345779870014, 0.16688072867966125, 0.03004156561044425,
          0.0025190999041777096)
_S32_Q = (1.0, 1.0875333320217717, 0.5678282807199615, 0.17165638677568887, 0.03005341505888769,
          0.002518867384684769)
# without the constant terms (sqrt(2/pi) as a double word, and 1)
_S64_PR = _S64_P[1:]
_S64_QR = _S64_Q[1:]
#: |a| clamp of the float64 tail: beyond it Phi(-a) (and a Phi(-a), a phi(a)) is
#: below the smallest normal number and 1 - Phi(-a) rounds to 1 (float32 gelu:
#: ``_gelu32``, whose clamp is 14)
TAIL_END64 = 38.5
_TINY = 2.0**-60


@njit(error_model="numpy", fastmath={"contract"}, cache=True)
def _horner(t, c):
    """c[0] + t * (c[1] + t * (...)) for a tuple of float64 constants.  Not inlined
    by Numba (its loop trips Numba's IR checks inside inlined overloads): LLVM
    inlines and unrolls it."""
    acc = c[len(c) - 1]
    for i in range(len(c) - 2, -1, -1):
        acc = fma(acc, t, c[i])
    return acc


@_jit
def div_dw(n, n_lo, d, d_lo):
    """``(n + n_lo) / (d + d_lo)`` with one division and one FMA residual step
    (about half an ULP plus the low parts' own errors)."""
    inv = 1.0 / d
    q = n * inv
    res = (fma(-q, d, n) + n_lo) - q * d_lo
    return fma(inv, res, q)


@_jit
def _s_long(a, sp, sq):
    """S(a) as a double word, for float64 inputs: S enters a + S(a) with full weight
    near a = 0, where S(0) = sqrt(2/pi) itself is half an ULP from the nearest
    float64.  So P's constant term is a double word, P(a) = P0 + a P'(a) and
    Q(a) = 1 + a Q'(a) are formed as TwoSums (the constant terms dominate for small
    a, where the weight is large), and the quotient gets a residual correction."""
    n, n_lo = two_sum(_SQRT_2_PI[0], a * _horner(a, sp))
    n_lo = n_lo + _SQRT_2_PI[1]
    d, d_lo = two_sum(1.0, a * _horner(a, sq))
    inv = 1.0 / d
    s = n * inv
    return s, inv * ((fma(-s, d, n) + n_lo) - s * d_lo)


@_jit
def _tail64(a, h, h_lo, sp, sq, s_of):
    """(p, p_lo, k, D, D_lo, d, d_lo) in float64 for float64 ``a`` in [2**-60, 38.5]:
    exp(-(h + h_lo)) = (p + p_lo) 2**k and D + D_lo = sqrt(2 pi) (a + S(a)),
    d + d_lo = a + S(a).  h + h_lo is the exponent as a double word."""
    p, p_lo, k = exp_dw(-h, -h_lo)
    s, s_lo = s_of(a, sp, sq)
    d, d_lo = two_sum(a, s)
    d_lo = d_lo + s_lo
    c_hi, c_lo = SQRT_2PI
    big = c_hi * d
    big_lo = fma(c_hi, d, -big) + (c_hi * d_lo + c_lo * d)
    return p, p_lo, k, big, big_lo, d, d_lo


@_jit
def _tail_short(a, h, sp, sq):
    """(p, k, u, w) in float64 for ``a`` in [2**-60, 15] and h = a^2/2 exact:
    exp(-h) = p 2**k, w = Q(a) and u = a Q(a) + P(a), so a + S(a) = u / w and
    Phi(-a) = p w / (sqrt(2 pi) u) 2**k with one division left to the caller.
    Plain float64 throughout: float32 results see none of its roundings."""
    p, k = exp_reduce(-h)
    w = _horner(a, sq)
    return p, k, fma(a, w, _horner(a, sp)), w


def normal_tail(x):
    """Phi(-|x|) = erfc(|x| / sqrt2) / 2 in parts, for a float64 ``x``, NaN or not
    (NaN and |x| beyond the tail's end act as the end; callers put the NaN and the
    limits back; float32 gelu: ``_gelu32.normal_tail_parts32``):

    ``(a, p, p_lo, k, D, D_lo, d, d_lo)``, all float64 but ``k``: ``a = |x|``
    clamped to [2**-60, 38.5],
    ``Phi(-a) = (p + p_lo) / (D + D_lo) * 2**k`` with ``D + D_lo = sqrt(2 pi) (a + S(a))``
    and ``d + d_lo = a + S(a) = 1 / R(a)`` (R: Mills' ratio), all double words.
    Relative error of Phi(-a) formed from them: ~2**-52.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(normal_tail, inline="always")
def _normal_tail_overload(x):
    if x == types.float64:
        def tail64(x):
            return normal_tail_of_abs64(abs_clamped(x, _TINY, TAIL_END64))
        return tail64
    return None


@_jit
def normal_tail_of_abs64(a):
    """:func:`normal_tail` of a float64 ``a`` already in [2**-60, 38.5] (no clamp):
    the core of both, and the whole of it in the fast blocks of float64 gelu."""
    sq = a * a
    return (a, *_tail64(a, 0.5 * sq, 0.5 * fma(a, a, -sq), _S64_PR, _S64_QR, _s_long))


@_jit
def _erfc_short(az):
    """erfc(z) for float32 z >= 0 (as float64 ``az``) as (mantissa, k), in plain float64."""
    a = az * _SQRT2
    p, k, u, w = _tail_short(a, az * az, _S32_P, _S32_Q)
    return (2.0 * p) * w / (SQRT_2PI[0] * u), k


@_jit
def _erfc_parts(az, a, sp, sq, s_of):
    """erfc(z) for z >= 0 as (2 Phi(-a) mantissa, k): the exponent z^2 from ``az``
    (exact double word), the rational at a = z sqrt2 (its rounding moves the result
    by at most ~1 ULP: it enters through a + S(a) only)."""
    h = az * az
    p, p_lo, k, big, big_lo, _, _ = _tail64(a, h, fma(az, az, -h), sp, sq, s_of)
    return div_dw(2.0 * p, 2.0 * p_lo, big, big_lo), k


def erfc(z):
    """Complementary error function erfc(z) = 2/sqrt(pi) int_z^inf exp(-t^2) dt,
    vectorizable, float32 and float64 (same type out).

    Relative accuracy in the tail down to the smallest normal number (flushed to
    +0 below it: z > 9.2 in float32, z > 26.55 in float64); erfc(-z) = 2 - erfc(z).
    Within ~1 ULP (float64: the rational's argument z sqrt2 is rounded) and half
    an ULP and a hair (float32, evaluated in float64).  NaN in, NaN out; no flag.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(erfc, inline="always")
def _erfc_overload(z):
    if z == types.float32:
        def erfc32(z):
            az = np.float64(abs_clamped(z, np.float32(_TINY), np.float32(10.5)))
            q, k = _erfc_short(az)
            tail = ldexp_signed(np.float32(q), k) + np.float32(0)
            y = _select(sign_clear(z), tail, np.float32(2.0 - ldexp_flush(q, k)))
            return _select(z != z, z, y)
        return erfc32
    if z == types.float64:
        def erfc64(z):
            az = abs_clamped(z, _TINY, 27.2)
            q, k = _erfc_parts(az, az * _SQRT2, _S64_PR, _S64_QR, _s_long)
            y = _select(sign_clear(z), ldexp_signed(q, k) + 0.0, 2.0 - ldexp_flush(q, k))
            return _select(z != z, z, y)
        return erfc64
    return None
