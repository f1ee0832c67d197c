"""sigmoid and tanh: the logistic pair, on the exp/expm1 core (tanh float32 on
the table kernel of ``_tanh32``)."""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from .. import reference as ref
from .._core import (
    _select,
    abs_clamped,
    backward_product,
    exp_limit,
    exp_reduce,
    expm1_clamped,
    float_bits,
    ldexp_flush,
    ldexp_normal,
    logistic_grad_ratio,
    logistic_ratio,
    ratio_dd,
    sign_clear,
)
from .._logistic_grad32 import (
    sigmoid_backward32_block16,
    sigmoid_grad32,
    sigmoid_grad32_block16,
    tanh_backward32_block16,
    tanh_grad32,
    tanh_grad32_block16,
)
from .._registry import Activation, register
from .._sigmoid32 import sigmoid32, sigmoid32_block16
from .._sigmoid64 import sigmoid64_generic_block16
from .._tanh32 import tanh32, tanh32_block16
from ._common import _TINY, _jit, range_blocks

_TANH_TINY = 2.0**-30  # tanh(x) rounds to x below this, float32 and float64
_TANH_SAT = 40.0  # tanh(40) == 1 exactly in both dtypes, and 2*40 stays in range


def by_dtype(float32_kernel, float64_kernel):
    """A scalar kernel that is ``float32_kernel`` for float32 and ``float64_kernel``
    for float64, chosen at compile time and inlined.  (Bodies inlined this way must
    use ``_select`` calls, not ternaries or loops: Numba's IR inliner warns on their
    phis.)"""

    def kernel(x):
        raise NotImplementedError  # pragma: no cover - replaced by the overload

    @overload(kernel, inline="always")
    def _kernel_overload(x):
        if x == types.float32:
            return lambda x: float32_kernel(x)
        if x == types.float64:
            return lambda x: float64_kernel(x)
        return None

    return kernel


def is_float32(x):
    """True for a float32 ``x``, False for float64: a compile-time constant, so a
    branch on it is folded away."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(is_float32, inline="always")
def _is_float32_overload(x):
    if x == types.float32:
        return lambda x: True
    if x == types.float64:
        return lambda x: False
    return None


@_jit
def _float64_placeholder(x):
    return x


def float32_only(float32_kernel):
    """``float32_kernel`` for float32, inlined; for use behind ``if is_float32(x):``,
    which never reaches the float64 placeholder.  (The float64 kernel stays
    out of the overload: its branches are more than the overload inliner can take.)"""
    return by_dtype(float32_kernel, _float64_placeholder)


# ================================================================================
# sigmoid
# ================================================================================
@_jit
def _exp_neg_abs(x):
    """exp(-|x|) <= 1, flushed to 0 below the smallest normal; NaN maps to 0."""
    a = abs_clamped(x, _TINY, exp_limit(x))
    p, k = exp_reduce(-a)
    return ldexp_flush(p, k)


@_jit
def _sigmoid_generic(x):
    T = type(x)
    e = _exp_neg_abs(x)
    # 1/(1+e) for x >= 0, e/(1+e) for x < 0 (sigmoid(-0.0) = 0.5 either way): one
    # corrected division with the numerator chosen first.
    s = logistic_ratio(_select(sign_clear(x), T(1), e), e)
    return _select(x != x, x, s)  # calls, not ternaries: inlined through an overload


# float32: exp(-|x|) from a 2^(j/16) table kept as a double word, so the result is
# within 1 ULP (_sigmoid32.py); float64: exp rounded once, then a corrected
# quotient (within 2 ULP, as the float64 contract asks)
_sigmoid_by_dtype = by_dtype(sigmoid32, _sigmoid_generic)


@_jit
def _sigmoid(x):
    return _sigmoid_by_dtype(x)


@_jit
def _sigmoid_grad_generic(x):
    e = _exp_neg_abs(x)
    return _select(x != x, x, logistic_grad_ratio(e, e))  # e / (1+e)^2; a call: inlined through an overload


@_jit
def _sigmoid_grad_fast64(x):
    """:func:`_sigmoid_grad_generic` for float64 |x| in [2**-60, 40]: the same
    operations without the clamp of |x|, the flush of e (e >= e**-40 is normal) and
    the NaN select."""
    p, k = exp_reduce(-abs(x))
    e = ldexp_normal(p, k)
    return logistic_grad_ratio(e, e)


# float64 block kernels of sigmoid' and the fused backward: blocks whose every |x|
# lies in [2**-60, 40] take the fast kernel, and the backward there the plain
# product (the derivative is at least e**-40 / 4); the others the generic kernel
_SIGMOID_GRAD64_BLOCK, _SIGMOID_BACKWARD64_BLOCK = range_blocks(
    _sigmoid_grad_fast64, _sigmoid_grad_generic, 2.0**-60, 40.0, dtype="float64", fast_nonzero=True
)

# float32: the table exp and u = 1 / (1 + e) as a double word (within 1 ULP;
# _logistic_grad32.py); float64: the generic kernel above
_sigmoid_grad_by_dtype = by_dtype(sigmoid_grad32, _sigmoid_grad_generic)


@_jit
def _sigmoid_grad(x):
    return _sigmoid_grad_by_dtype(x)


@_jit
def _sigmoid_backward(grad_out, x):
    return backward_product(grad_out, _sigmoid_grad(x))


register(
    Activation(
        name="sigmoid",
        summary="Logistic sigmoid, 1 / (1 + exp(-x)).",
        formula="1 / (1 + exp(-x))",
        grad_formula="sigmoid(x) * (1 - sigmoid(x)) = exp(-|x|) / (1 + exp(-|x|))**2",
        forward=_sigmoid,
        grad=_sigmoid_grad,
        backward=_sigmoid_backward,
        reference=ref.sigmoid,
        reference_grad=ref.sigmoid_grad,
        mp_forward=lambda mp, x: 1 / (1 + mp.exp(-x)),
        mp_grad=lambda mp, x: mp.exp(-x) / (1 + mp.exp(-x)) ** 2,
        limits=(0.0, 1.0),
        grad_limits=(0.0, 0.0),
        notes=(
            "Stable evaluation: e = exp(-|x|) never overflows; sigmoid(x) = 1/(1+e) for\n"
            "x >= 0 and e/(1+e) for x < 0, with the rounding of 1+e and of the division\n"
            "corrected by one FMA step.  float32 keeps e unrounded (a 2^(j/16) table and a\n"
            "double word; one vpermps per lookup on AVX-512): within 1 ULP over all 2^32\n"
            "inputs.  The derivative e/(1+e)^2 keeps its relative\n"
            "accuracy in the tails: sigmoid_grad(30) is 9.36e-14 in float32, not 0\n"
            "(float32: E u^2 with u = 1/(1+e) as a double word, within 1 ULP)."
        ),
        aliases=("expit", "logistic"),
        transcendental=True,
        forward_block_f32=sigmoid32_block16,
        grad_block_f32=sigmoid_grad32_block16,
        backward_block_f32=sigmoid_backward32_block16,
        forward_block_f64=sigmoid64_generic_block16,
        grad_block_f64=_SIGMOID_GRAD64_BLOCK,
        backward_block_f64=_SIGMOID_BACKWARD64_BLOCK,
    )
)


# ================================================================================
# tanh
# ================================================================================
@_jit
def _tanh_expm1(x):
    T = type(x)
    ac = abs_clamped(x, _TANH_TINY, _TANH_SAT)
    # tanh(a) = -t / (2 + t) with t = expm1(-2a) in (-1, 0]: no cancellation near
    # 0 (t keeps its relative accuracy), exactly 1 in saturation.  t comes as
    # hi + lo: the quotient amplifies t's rounding by up to 1.5x.
    t_hi, t_lo = expm1_clamped(T(-2) * ac)
    th = np.copysign(ratio_dd(-t_hi, -t_lo, T(2), t_hi, t_lo), x)
    # Below the clamp tanh(x) rounds to x itself (and -0.0 stays -0.0).
    tiny = float_bits(abs(x)) < float_bits(T(_TANH_TINY))
    return _select((x != x) | tiny, x, th)  # a call: this body is inlined through an overload


# float32: the interval-table kernel (0.994 ULP, no division; _tanh32.py);
# float64: expm1 and a corrected quotient
_tanh_by_dtype = by_dtype(tanh32, _tanh_expm1)


@_jit
def _tanh(x):
    return _tanh_by_dtype(x)


@_jit
def _tanh_grad_generic(x):
    T = type(x)
    a = abs_clamped(x, _TINY, exp_limit(x) * T(0.5))
    # 1 - tanh^2 = 4e / (1+e)^2 with e = exp(-2|x|): no cancellation in the tails.
    # 4e is built from the same reduction with exponent k + 2, so that it is not
    # flushed to zero while e alone already would be.
    p, k = exp_reduce(T(-2) * a)
    e = ldexp_flush(p, k)
    e4 = ldexp_flush(p, k + 2)
    return _select(x != x, x, logistic_grad_ratio(e4, e))  # a call: inlined through an overload


@_jit
def _tanh_grad_fast64(x):
    """:func:`_tanh_grad_generic` for float64 |x| in [2**-60, 20]: the same
    operations without the clamp of |x|, the flushes of e and 4e (e >= e**-40 is
    normal) and the NaN select."""
    p, k = exp_reduce(-2.0 * abs(x))
    return logistic_grad_ratio(ldexp_normal(p, k + 2), ldexp_normal(p, k))


# float64 block kernels of tanh' and the fused backward, as sigmoid's: blocks whose
# every |x| lies in [2**-60, 20] take the fast kernel (the derivative is at least
# 4 e**-40 / 4 there, so the backward takes the plain product)
_TANH_GRAD64_BLOCK, _TANH_BACKWARD64_BLOCK = range_blocks(
    _tanh_grad_fast64, _tanh_grad_generic, 2.0**-60, 20.0, dtype="float64", fast_nonzero=True
)

# float32: the table exp and a double-word 1 / (1 + e) (within 1 ULP;
# _logistic_grad32.py); float64: the generic kernel above
_tanh_grad_by_dtype = by_dtype(tanh_grad32, _tanh_grad_generic)


@_jit
def _tanh_grad(x):
    return _tanh_grad_by_dtype(x)


@_jit
def _tanh_backward(grad_out, x):
    return backward_product(grad_out, _tanh_grad(x))


register(
    Activation(
        name="tanh",
        summary="Hyperbolic tangent, (e^x - e^-x) / (e^x + e^-x).",
        formula="(exp(x) - exp(-x)) / (exp(x) + exp(-x))",
        grad_formula="1 - tanh(x)**2 = 4 exp(-2|x|) / (1 + exp(-2|x|))**2",
        forward=_tanh,
        grad=_tanh_grad,
        backward=_tanh_backward,
        reference=ref.tanh,
        reference_grad=ref.tanh_grad,
        mp_forward=lambda mp, x: mp.tanh(x),
        mp_grad=lambda mp, x: mp.sech(x) ** 2,
        limits=(-1.0, 1.0),
        grad_limits=(0.0, 0.0),
        notes=(
            "Stable evaluation: float64 as tanh(|x|) = -t/(2+t) with t = expm1(-2|x|);\n"
            "float32 from 16 interval polynomials (no division; table lookups as vpermps on\n"
            "AVX-512).  Tiny inputs keep full relative accuracy (tanh(1e-30) == 1e-30), large\n"
            "ones give exactly +-1 (never the NaN of the textbook formula), and the result is\n"
            "monotone; tanh(-0.0) == -0.0.  The\n"
            "derivative is evaluated as 4e/(1+e)^2 with e = exp(-2|x|), which does not\n"
            "cancel where 1 - tanh^2 would (float32: the table exp of sigmoid and\n"
            "1/(1+e) as a double word, within 1 ULP)."
        ),
        transcendental=True,
        forward_block_f32=tanh32_block16,
        grad_block_f32=tanh_grad32_block16,
        backward_block_f32=tanh_backward32_block16,
        grad_block_f64=_TANH_GRAD64_BLOCK,
        backward_block_f64=_TANH_BACKWARD64_BLOCK,
    )
)


