"""softsign: x / (1 + |x|), rational, no exp."""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from .. import reference as ref
from .._core import (
    abs_clamped,
    backward_product,
    float_bits,
    float_from_bits,
    fma,
    ldexp_flush,
    two_sum,
)
from .._registry import Activation, register
from ._common import _TINY, _jit


# ================================================================================
# softsign
# ================================================================================
def _dtype_constants(x):
    """(mantissa bits, exponent bias, |x| beyond which 1/(1+|x|)**2 is below the
    smallest normal number) of the dtype of ``x``."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_dtype_constants, inline="always")
def _dtype_constants_overload(x):
    if x == types.float32:
        return lambda x: (23, 127, np.float32(2.0**64))
    if x == types.float64:
        return lambda x: (52, 1023, 2.0**512)
    return None


@_jit
def _softsign(x):
    T = type(x)
    # a / (1 + a) with 1 + a as an exact double word (TwoSum) and one FMA residual
    # correction of the quotient.  a >= 2**-60 keeps the correction terms (~a**2)
    # normal; below, the result is x itself (x/(1+|x|) = x (1 - |x| ...)).  At the
    # upper clamp 2**100 the quotient is 1 to working precision, as for every
    # larger |x| (inf included, which would otherwise give inf/inf).
    a = abs_clamped(x, _TINY, T(2.0**100))
    d, d_lo = two_sum(T(1), a)
    inv = T(1) / d
    q = a * inv
    res = fma(-q, d, a) - q * d_lo
    s = np.copysign(fma(res, inv, q), x)
    tiny = float_bits(abs(x)) < float_bits(T(_TINY))
    return x if (x != x) | tiny else s


@_jit
def _softsign_grad(x):
    T = type(x)
    mant, bias, big = _dtype_constants(x)
    a = abs_clamped(x, _TINY, big)
    d, d_lo = two_sum(T(1), a)
    # 1/(1+a)**2 on the mantissa m = d * 2**-e in [1, 2) (exact scaling), so that the
    # double-word square and the residual correction stay in the normal range for
    # every a; then 2**(-2e) on the bit pattern, flushed below the smallest normal
    # (from |x| = 2**63 / 2**511 on the true value is there).
    e = (float_bits(d) >> mant) - bias
    scale = float_from_bits((bias - e) << mant, x)
    m = d * scale
    m_lo = d_lo * scale
    mm = m * m
    mm_lo = fma(m, m, -mm) + T(2) * m * m_lo
    q = T(1) / mm
    res = fma(-q, mm, T(1)) - q * mm_lo
    g = ldexp_flush(fma(q, res, q), -2 * e)
    return x if x != x else g


@_jit
def _softsign_backward(grad_out, x):
    return backward_product(grad_out, _softsign_grad(x))


register(
    Activation(
        name="softsign",
        summary="Softsign, x / (1 + |x|).",
        formula="x / (1 + |x|)",
        grad_formula="1 / (1 + |x|)**2",
        forward=_softsign,
        grad=_softsign_grad,
        backward=_softsign_backward,
        reference=ref.softsign,
        reference_grad=ref.softsign_grad,
        mp_forward=lambda mp, x: x / (1 + abs(x)),
        mp_grad=lambda mp, x: 1 / (1 + abs(x)) ** 2,
        limits=(-1.0, 1.0),
        grad_limits=(0.0, 0.0),
        notes=(
            "Stable evaluation: 1 + |x| is carried as an exact double word and the quotient\n"
            "corrected by one FMA residual, so the result is within an ULP everywhere; tiny\n"
            "inputs give x itself (softsign(1e-30) == 1e-30), softsign(-0.0) == -0.0, and\n"
            "+-inf give +-1 (never inf/inf).  Saturation is slow: softsign(x) reaches 1\n"
            "only at |x| = 2**25 (float32) / 2**54 (float64).  The derivative is computed\n"
            "on the mantissa of 1 + |x| and scaled exactly, flushed to 0 where the true\n"
            "value is below the smallest normal number (|x| > 2**63 / 2**511)."
        ),
        saturation={"float32": 2.0**64, "float64": 2.0**512},
    )
)


