"""softsign: x / (1 + |x|), rational, no exp."""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from .. import reference as ref
from .._core import (
    _select,
    abs_clamped,
    backward_product,
    float_bits,
    fma,
    smallest_normal,
    two_sum,
)
from .._registry import Activation, register
from ._common import _TINY, _jit, range_blocks


# ================================================================================
# softsign
# ================================================================================
def _grad_limit(x):
    """The largest |x| at which 1/(1+|x|)**2 still rounds to a normal number of the
    dtype of ``x`` (2**63 / 2**511: there (1+|x|)**2 is 2**126 / 2**1022, whose
    reciprocal is the smallest normal number)."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_grad_limit, inline="always")
def _grad_limit_overload(x):
    if x == types.float32:
        return lambda x: np.float32(2.0**63)
    if x == types.float64:
        return lambda x: 2.0**511
    return None


@_jit
def _softsign_of_abs(a, x):
    """a / (1 + a) with the sign of x, for a = |x| in [2**-60, 2**100]: the core of
    :func:`_softsign` (and of its block kernels' short path)."""
    T = type(x)
    # 1 + a as an exact double word (TwoSum) and one FMA residual correction of the
    # quotient.  a >= 2**-60 keeps the correction terms (~a**2) normal; at 2**100
    # the quotient is 1 to working precision, as for every larger |x|.
    d, d_lo = two_sum(T(1), a)
    inv = T(1) / d
    q = a * inv
    res = fma(-q, d, a) - q * d_lo
    return np.copysign(fma(res, inv, q), x)


@_jit
def _softsign(x):
    T = type(x)
    # |x| clamped to [2**-60, 2**100]: below, the result is x itself (x/(1+|x|) =
    # x (1 - |x| ...)); above, the quotient is 1 to working precision (inf included,
    # which would otherwise give inf/inf)
    s = _softsign_of_abs(abs_clamped(x, _TINY, T(2.0**100)), x)
    tiny = float_bits(abs(x)) < float_bits(T(_TINY))
    # a select, not a ternary: under a branch on `tiny` LLVM drops the clamp of a
    # (redundant on the lanes that use s) and then computes s on every lane
    # anyway, with a**2 underflowing for tiny x (Python 3.12+'s bytecode gave it
    # that branch; tests/test_special_values.py caught the flag)
    return _select((x != x) | tiny, x, s)


@_jit
def _softsign_fast(x):
    """:func:`_softsign` for |x| in [2**-60, 2**60], where its clamp and selects are
    identities."""
    return _softsign_of_abs(abs(x), x)


@_jit
def _reciprocal_square_one_plus(a):
    """1 / (1 + a)**2 for a = |x| in [2**-60, 2**63] (float32) or [2**-60, 2**511]
    (float64): the core of :func:`_softsign_grad` (and of its block kernels' short
    path)."""
    T = type(a)
    # 1 + a as an exact double word (Fast2Sum on max and min), its square as a
    # double word (FMA residual), then 1/(d*d) with one residual correction.  Up to
    # a = 2**63 / 2**511 every term stays normal: (1 + a)**2 <= 2**126 / 2**1022, so
    # the quotient is at least the smallest normal number.  (The same operations as
    # scaling 1 + a to [1, 2) first, which cost a third more: every result is the
    # same.)
    hi = max(T(1), a)
    lo = min(T(1), a)
    d = hi + lo
    d_lo = (hi - d) + lo
    dd = d * d
    dd_lo = fma(d, d, -dd) + T(2) * d * d_lo
    q = T(1) / dd
    res = fma(-q, dd, T(1)) - q * dd_lo
    return fma(q, res, q)


@_jit
def _softsign_grad(x):
    T = type(x)
    big = _grad_limit(x)
    g = _reciprocal_square_one_plus(abs_clamped(x, _TINY, big))
    # Beyond |x| = big the true value is below the smallest normal number: flushed
    # to +0 (inf included).  From a = big on, g rounds to exactly the smallest
    # normal number (below, g is larger; at big itself it rounds to it, and stays).
    # The test reads g, not |x| > big alone: a
    # condition on |x| makes the clamp of a to big redundant on the lanes that
    # keep g, and LLVM drops it (with the division an expensive operand, a generic
    # x86-64 target turns the select into a branch and simplifies under it), after
    # which the discarded lanes overflow d * d and raise invalid in
    # fma(-q, dd, 1) = -0 * inf (float32 softsign_backward with
    # NUMBA_CPU_NAME=generic did).
    ab = float_bits(abs(x))
    flushed = (float_bits(g) <= float_bits(smallest_normal(x))) & (ab != float_bits(big))
    g = _select(flushed, T(0), g)
    return _select(x != x, x, g)


@_jit
def _softsign_grad_fast(x):
    """:func:`_softsign_grad` for |x| in [2**-60, 2**60], where its clamp, flush and
    NaN select are identities (the result is normal and nonzero there)."""
    return _reciprocal_square_one_plus(abs(x))


# Block kernels (float32 and float64): blocks whose every |x| lies in [2**-60,
# 2**60] take the fast kernels (the same bits), the others the general ones.  In
# the float32 softsign_backward's loop at 10^6 values the clamp, the flush, the
# NaN select and the product's blocked-gradient select were 10 of its 36
# instructions.
_SOFTSIGN_FAST = (2.0**-60, 2.0**60)
_SOFTSIGN_BLOCKS = {
    dtype: (range_blocks(_softsign_fast, _softsign, *_SOFTSIGN_FAST, dtype=dtype)[0],
            *range_blocks(_softsign_grad_fast, _softsign_grad, *_SOFTSIGN_FAST, dtype=dtype, fast_nonzero=True))
    for dtype in ("float32", "float64")
}


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
        forward_block_f32=_SOFTSIGN_BLOCKS["float32"][0],
        grad_block_f32=_SOFTSIGN_BLOCKS["float32"][1],
        backward_block_f32=_SOFTSIGN_BLOCKS["float32"][2],
        forward_block_f64=_SOFTSIGN_BLOCKS["float64"][0],
        grad_block_f64=_SOFTSIGN_BLOCKS["float64"][1],
        backward_block_f64=_SOFTSIGN_BLOCKS["float64"][2],
    )
)


