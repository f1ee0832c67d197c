"""Every activation: scalar kernels (forward, derivative, fused backward) and its record.

Each block below is the single definition of one activation.  The scalar kernels are
Numba ``@njit`` functions, generic over float32/float64 (``T = type(x)``, every
literal wrapped in ``T(...)``), branch-free (selects, not jumps) and free of libm
calls, so that LLVM vectorizes the ufunc loops built from them.

Common pattern: comparisons and clamps that may see a NaN are made on integer bits
(``abs_clamped``, ``is_positive``, ``sign_clear`` from ``_core``), because ordered
float comparisons on NaN raise the *invalid* flag that NumPy turns into a
RuntimeWarning; ``nan = x != x`` (a quiet comparison) puts the NaN back at the end
(NaN in, NaN out).
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
from numba import njit, types
from numba.extending import overload

from . import reference as ref
from ._core import (
    JIT_OPTIONS,
    _select,
    abs_clamped,
    chain_rule,
    chain_rule_saturating,
    exp_limit,
    exp_reduce,
    expm1_clamped,
    expm1_linear_below,
    float_bits,
    float_from_bits,
    fma,
    is_positive,
    ldexp_flush,
    ldexp_signed,
    logistic_grad_ratio,
    logistic_ratio,
    quiet_greater,
    ratio_dd,
    sign_clear,
    two_sum,
)
from ._registry import Activation, Param, register
from ._tanh32 import tanh32, tanh32_block16

_jit = njit(**JIT_OPTIONS)

# Below this |x| every kernel here has reached its x -> 0 value (sigmoid 1/2 and
# tanh(x) == x to the last bit, in both dtypes); clamping there keeps squares of x
# out of the subnormal range.
_TINY = 2.0**-60
_TANH_TINY = 2.0**-30  # tanh(x) rounds to x below this, float32 and float64
_TANH_SAT = 40.0  # tanh(40) == 1 exactly in both dtypes, and 2*40 stays in range


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
def _sigmoid(x):
    T = type(x)
    e = _exp_neg_abs(x)
    # 1/(1+e) for x >= 0, e/(1+e) for x < 0 (sigmoid(-0.0) = 0.5 either way): one
    # corrected division with the numerator chosen first.
    s = logistic_ratio(T(1) if sign_clear(x) else e, e)
    return x if x != x else s


@_jit
def _sigmoid_grad(x):
    e = _exp_neg_abs(x)
    return x if x != x else logistic_grad_ratio(e, e)  # e / (1+e)^2


@_jit
def _sigmoid_backward(grad_out, x):
    return chain_rule(grad_out, _sigmoid_grad(x))


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
            "corrected by one FMA step.  The derivative e/(1+e)^2 keeps its relative\n"
            "accuracy in the tails: sigmoid_grad(30) is 9.36e-14 in float32, not 0."
        ),
        aliases=("expit", "logistic"),
        transcendental=True,
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


def _tanh_by_dtype(x):
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_tanh_by_dtype, inline="always")
def _tanh_by_dtype_overload(x):
    # float32: the interval-table kernel (0.997 ULP, no division; _tanh32.py);
    # float64: expm1 and a corrected quotient
    if x == types.float32:
        return lambda x: tanh32(x)
    if x == types.float64:
        return lambda x: _tanh_expm1(x)
    return None


@_jit
def _tanh(x):
    return _tanh_by_dtype(x)


@_jit
def _tanh_grad(x):
    T = type(x)
    a = abs_clamped(x, _TINY, exp_limit(x) * T(0.5))
    # 1 - tanh^2 = 4e / (1+e)^2 with e = exp(-2|x|): no cancellation in the tails.
    # 4e is built from the same reduction with exponent k + 2, so that it is not
    # flushed to zero while e alone already would be.
    p, k = exp_reduce(T(-2) * a)
    e = ldexp_flush(p, k)
    e4 = ldexp_flush(p, k + 2)
    return x if x != x else logistic_grad_ratio(e4, e)


@_jit
def _tanh_backward(grad_out, x):
    return chain_rule(grad_out, _tanh_grad(x))


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
            "cancel where 1 - tanh^2 would."
        ),
        transcendental=True,
        forward_block_f32=tanh32_block16,
    )
)


# ================================================================================
# relu
# ================================================================================
@_jit
def _relu(x):
    T = type(x)
    return x if x != x else (x if is_positive(x) else T(0))


@_jit
def _relu_grad(x):
    T = type(x)
    return x if x != x else (T(1) if is_positive(x) else T(0))


@_jit
def _relu_backward(grad_out, x):
    T = type(x)
    # A select, not grad_out * relu'(x): an infinite grad_out passes through as
    # PyTorch's threshold_backward does, and 0 * inf is never formed.
    return x if x != x else (grad_out if is_positive(x) else T(0))


register(
    Activation(
        name="relu",
        summary="Rectified linear unit, max(x, 0).",
        formula="max(x, 0)",
        grad_formula="1 if x > 0 else 0",
        forward=_relu,
        grad=_relu_grad,
        backward=_relu_backward,
        reference=ref.relu,
        reference_grad=ref.relu_grad,
        mp_forward=lambda mp, x: x if x > 0 else mp.mpf(0),
        mp_grad=lambda mp, x: mp.mpf(1) if x > 0 else mp.mpf(0),
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Conventions (PyTorch's): relu_grad(0) = 0; relu(-0.0) = +0.0; NaN propagates\n"
            "through forward, derivative and backward.  Exact (no rounding)."
        ),
        ulp_bound={"float32": 0.0, "float64": 0.0},
        exact=True,
    )
)


# ================================================================================
# leaky_relu
# ================================================================================
_SLOPE = Param("negative_slope", 0.01, "slope for x < 0 (PyTorch's and the tutorial's default)")


@_jit
def _leaky_relu(x, negative_slope):
    # chain_rule_saturating, not x * slope: it flushes a product below the smallest normal
    # without the underflow flag, and gives 0 for -inf * 0 (slope 0 is relu).
    return x if is_positive(x) else chain_rule_saturating(x, negative_slope)  # NaN stays NaN


@_jit
def _leaky_relu_grad(x, negative_slope):
    T = type(x)
    return x if x != x else (T(1) if is_positive(x) else negative_slope)


@_jit
def _leaky_relu_backward(grad_out, x, negative_slope):
    return x if x != x else (grad_out if is_positive(x) else chain_rule_saturating(grad_out, negative_slope))


register(
    Activation(
        name="leaky_relu",
        summary="Leaky rectified linear unit, x if x > 0 else negative_slope * x.",
        formula="x if x > 0 else negative_slope * x",
        grad_formula="1 if x > 0 else negative_slope",
        forward=_leaky_relu,
        grad=_leaky_relu_grad,
        backward=_leaky_relu_backward,
        reference=ref.leaky_relu,
        reference_grad=ref.leaky_relu_grad,
        mp_forward=lambda mp, x, s: x if x > 0 else s * x,
        mp_grad=lambda mp, x, s: mp.mpf(1) if x > 0 else mp.mpf(s),
        params=(_SLOPE,),
        limits=(-np.inf, np.inf),
        grad_limits=(0.01, 1.0),
        notes=(
            "Conventions (PyTorch's): leaky_relu_grad(0) = negative_slope; NaN propagates.\n"
            "One rounding (the product slope * x for x < 0): correctly rounded; a product\n"
            "below the smallest normal number is flushed to -0.0."
        ),
        ulp_bound={"float32": 0.5, "float64": 0.5},
        exact=True,
    )
)


# ================================================================================
# Piecewise linear family: shared selects
# ================================================================================
# Every comparison below is quiet_greater (integer keys, no flag for NaN); a NaN
# input is put back by the final ``x != x`` select.  The selected values are
# computed from clipped, NaN-free operands, so that no discarded arm overflows.
@_jit
def _clip(x, lo, hi):
    """min(max(x, lo), hi) in PyTorch's order (hi wins when lo > hi); never NaN.

    max(-0.0, +0.0) is the +0.0 bound (relu6(-0.0) = +0.0), while a -0.0 strictly
    inside the bounds stays -0.0 (hard_tanh(-0.0) = -0.0)."""
    t = x if quiet_greater(x, lo) else lo
    return t if quiet_greater(hi, t) else hi


@_jit
def _clamp_sym(x, c):
    """x clamped to [-c, c] (c > 0) by an integer min on |x|'s bits, never NaN.

    The operand of arithmetic whose result is selected only inside (-c, c): it must
    not be a select on the same quiet_greater conditions as the final select, or
    LLVM proves it equal to x in the selected arm and evaluates the arithmetic on x
    itself everywhere (overflow flags for huge x)."""
    T = type(x)
    return np.copysign(abs_clamped(x, T(0), c), x)


@_jit
def _inside(x, lo, hi):
    """lo < x < hi (False for NaN's stand-in at either end only by accident: callers
    select NaN back)."""
    return quiet_greater(x, lo) & quiet_greater(hi, x)


# ================================================================================
# relu6
# ================================================================================
@_jit
def _relu6(x):
    T = type(x)
    return x if x != x else _clip(x, T(0), T(6))


@_jit
def _relu6_grad(x):
    T = type(x)
    return x if x != x else (T(1) if _inside(x, T(0), T(6)) else T(0))


@_jit
def _relu6_backward(grad_out, x):
    T = type(x)
    return x if x != x else (grad_out if _inside(x, T(0), T(6)) else T(0))


register(
    Activation(
        name="relu6",
        summary="ReLU capped at 6, min(max(x, 0), 6).",
        formula="min(max(x, 0), 6)",
        grad_formula="1 if 0 < x < 6 else 0",
        forward=_relu6,
        grad=_relu6_grad,
        backward=_relu6_backward,
        reference=ref.relu6,
        reference_grad=ref.relu6_grad,
        mp_forward=lambda mp, x: min(max(x, mp.mpf(0)), mp.mpf(6)),
        mp_grad=lambda mp, x: mp.mpf(1) if 0 < x < 6 else mp.mpf(0),
        limits=(0.0, 6.0),
        grad_limits=(0.0, 0.0),
        notes=(
            "Conventions (PyTorch's, whose relu6 is hardtanh(x, 0, 6)): the derivative\n"
            "is 1 strictly inside (0, 6) only: relu6_grad(0) = 0 and relu6_grad(6) = 0\n"
            "(JAX's custom derivative agrees); relu6(-0.0) = +0.0.  Exact (no rounding)."
        ),
        ulp_bound={"float32": 0.0, "float64": 0.0},
        exact=True,
        kinks=(0.0, 6.0),
    )
)


# ================================================================================
# hard_sigmoid
# ================================================================================
@_jit
def _hard_sigmoid(x):
    T = type(x)
    # (t + 3) / 6 on the clipped input: t + 3 is exact for t <= -1.5 (Sterbenz),
    # so the result keeps its relative accuracy near 0; one division after it.
    t = _clamp_sym(x, T(3))
    return x if x != x else (t + T(3)) / T(6)


@_jit
def _hard_sigmoid_grad(x):
    T = type(x)
    return x if x != x else (T(1) / T(6) if _inside(x, T(-3), T(3)) else T(0))


@_jit
def _hard_sigmoid_backward(grad_out, x):
    return chain_rule(grad_out, _hard_sigmoid_grad(x))


register(
    Activation(
        name="hard_sigmoid",
        summary="Hard sigmoid, relu6(x + 3) / 6.",
        formula="min(max(x + 3, 0), 6) / 6",
        grad_formula="1/6 if -3 < x < 3 else 0",
        forward=_hard_sigmoid,
        grad=_hard_sigmoid_grad,
        backward=_hard_sigmoid_backward,
        reference=ref.hard_sigmoid,
        reference_grad=ref.hard_sigmoid_grad,
        mp_forward=lambda mp, x: min(max(x + 3, mp.mpf(0)), mp.mpf(6)) / 6,
        mp_grad=lambda mp, x: mp.mpf(1) / 6 if -3 < x < 3 else mp.mpf(0),
        limits=(0.0, 1.0),
        grad_limits=(0.0, 0.0),
        notes=(
            "Conventions (PyTorch's hardsigmoid_backward, and JAX's through relu6): the\n"
            "derivative is 1/6 on the open interval (-3, 3) and 0 at -3 and 3.\n"
            "Evaluated as (t + 3) / 6 with t = clip(x, -3, 3): not exact (t + 3 and the\n"
            "division round), within 1 ULP; the derivative is 1/6 correctly rounded\n"
            "(PyTorch's float64 backward uses float32's 1/6)."
        ),
        ulp_bound={"float32": 1.0, "float64": 1.0},
        kinks=(-3.0, 3.0),
        aliases=("hardsigmoid",),
    )
)


# ================================================================================
# hard_silu
# ================================================================================
@_jit
def _hard_silu(x):
    T = type(x)
    # On the clamped t the product t (t + 3) can neither overflow nor underflow
    # (|t| >= 2**-60); for x beyond 3 the result is x itself, below -3 it is +0.
    # Below 2**-60, x (x + 3) / 6 rounds to x / 2 (the x**2/6 term is 2**-61
    # relative): halved on the bit pattern, flushed to 0 below the smallest normal.
    t = np.copysign(abs_clamped(x, T(2.0**-60), T(3)), x)
    inner = t * (t + T(3)) / T(6)
    small = float_bits(abs(x)) < float_bits(T(2.0**-60))
    inner = np.copysign(ldexp_flush(abs(x), -1), x) if small else inner
    y = x if quiet_greater(x, T(3)) else (inner if quiet_greater(x, T(-3)) else T(0))
    return x if x != x else y


@_jit
def _hard_silu_grad(x):
    T = type(x)
    # (2t + 3) / 6: 2t + 3 is exact for t <= -0.75 (Sterbenz), so the zero of the
    # derivative at -1.5 keeps its relative accuracy (x/3 + 1/2 would cancel).
    t = _clamp_sym(x, T(3))
    inner = (T(2) * t + T(3)) / T(6)
    g = (inner if quiet_greater(T(3), x) else T(1)) if quiet_greater(x, T(-3)) else T(0)
    return x if x != x else g


@_jit
def _hard_silu_backward(grad_out, x):
    return chain_rule_saturating(grad_out, _hard_silu_grad(x))  # the derivative reaches 1.5


register(
    Activation(
        name="hard_silu",
        summary="Hard SiLU (hard swish), x * relu6(x + 3) / 6.",
        formula="x * min(max(x + 3, 0), 6) / 6",
        grad_formula="0 if x <= -3 else (1 if x >= 3 else (2x + 3) / 6)",
        forward=_hard_silu,
        grad=_hard_silu_grad,
        backward=_hard_silu_backward,
        reference=ref.hard_silu,
        reference_grad=ref.hard_silu_grad,
        mp_forward=lambda mp, x: x * min(max(x + 3, mp.mpf(0)), mp.mpf(6)) / 6,
        mp_grad=lambda mp, x: mp.mpf(0) if x <= -3 else (mp.mpf(1) if x >= 3 else (2 * x + 3) / 6),
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Conventions (PyTorch's hardswish_backward, which JAX's x * hard_sigmoid(x)\n"
            "agrees with): the derivative is 0 at x = -3 and 1 at x = 3 (the outer pieces),\n"
            "(2x + 3)/6 strictly between; hard_silu(-3) = +0.0, hard_silu(-0.0) = -0.0.\n"
            "Not monotone: the minimum is -0.375 at x = -1.5.  Evaluated as\n"
            "t (t + 3) / 6 on t = clip(x, -3, 3); within 2 ULP, not exact."
        ),
        ulp_bound={"float32": 2.0, "float64": 2.0},
        monotone=False,
        kinks=(-3.0, 3.0),
        aliases=("hard_swish", "hardswish"),
    )
)


# ================================================================================
# hard_tanh
# ================================================================================
_MIN_VAL = Param("min_val", -1.0, "lower end of the linear region (PyTorch's default)")
_MAX_VAL = Param("max_val", 1.0, "upper end of the linear region (PyTorch's default)")


@_jit
def _hard_tanh(x, min_val, max_val):
    return x if x != x else _clip(x, min_val, max_val)


@_jit
def _hard_tanh_grad(x, min_val, max_val):
    T = type(x)
    return x if x != x else (T(1) if _inside(x, min_val, max_val) else T(0))


@_jit
def _hard_tanh_backward(grad_out, x, min_val, max_val):
    T = type(x)
    return x if x != x else (grad_out if _inside(x, min_val, max_val) else T(0))


register(
    Activation(
        name="hard_tanh",
        summary="Hard tanh, min(max(x, min_val), max_val).",
        formula="min(max(x, min_val), max_val)",
        grad_formula="1 if min_val < x < max_val else 0",
        forward=_hard_tanh,
        grad=_hard_tanh_grad,
        backward=_hard_tanh_backward,
        reference=ref.hard_tanh,
        reference_grad=ref.hard_tanh_grad,
        mp_forward=lambda mp, x, lo, hi: min(max(x, lo), hi),
        mp_grad=lambda mp, x, lo, hi: mp.mpf(1) if lo < x < hi else mp.mpf(0),
        params=(_MIN_VAL, _MAX_VAL),
        limits=(-1.0, 1.0),
        grad_limits=(0.0, 0.0),
        notes=(
            "Conventions (PyTorch's hardtanh_backward): the derivative is 1 strictly\n"
            "inside (min_val, max_val) and 0 at both ends (JAX's hard_tanh gives 1 at\n"
            "+-1); hard_tanh_grad(0) = 1; hard_tanh(-0.0) = -0.0.  With min_val > max_val\n"
            "the result is max_val everywhere (PyTorch's clamp order).  Exact."
        ),
        ulp_bound={"float32": 0.0, "float64": 0.0},
        exact=True,
        kinks=(-1.0, 1.0),
        aliases=("hardtanh",),
    )
)


# ================================================================================
# softshrink
# ================================================================================
_LAMBD = Param("lambd", 0.5, "half-width of the dead zone, >= 0 (PyTorch's default)")


@_jit
def _shrink_lambd(lambd):
    """(lambd usable, lambd or 0): a negative or NaN lambd gives NaN results."""
    T = type(lambd)
    ok = (lambd == T(0)) | quiet_greater(lambd, T(0))
    return ok, (lambd if ok else T(0))


@_jit
def _softshrink(x, lambd):
    T = type(x)
    ok, lam = _shrink_lambd(lambd)
    up = quiet_greater(x, lam)
    down = quiet_greater(-lam, x)
    # Both arms are computed: in the dead zone they see 0, not x, so that an
    # infinite lambd never meets an infinite x (inf - inf).
    xs = x if up | down else T(0)
    y = (xs - lam) if up else ((xs + lam) if down else T(0))
    y = y if ok else T(np.nan)
    return x if x != x else y


@_jit
def _softshrink_grad(x, lambd):
    T = type(x)
    ok, lam = _shrink_lambd(lambd)
    g = T(1) if quiet_greater(abs(x), lam) else T(0)
    return x if x != x else (g if ok else T(np.nan))


@_jit
def _softshrink_backward(grad_out, x, lambd):
    T = type(x)
    ok, lam = _shrink_lambd(lambd)
    g = grad_out if quiet_greater(abs(x), lam) else T(0)
    return x if x != x else (g if ok else T(np.nan))


register(
    Activation(
        name="softshrink",
        summary="Soft shrinkage, x - lambd if x > lambd, x + lambd if x < -lambd, else 0.",
        formula="x - lambd if x > lambd else (x + lambd if x < -lambd else 0)",
        grad_formula="1 if |x| > lambd else 0",
        forward=_softshrink,
        grad=_softshrink_grad,
        backward=_softshrink_backward,
        reference=ref.softshrink,
        reference_grad=ref.softshrink_grad,
        mp_forward=lambda mp, x, lam: x - lam if x > lam else (x + lam if x < -lam else mp.mpf(0)),
        mp_grad=lambda mp, x, lam: mp.mpf(1) if abs(x) > lam else mp.mpf(0),
        params=(_LAMBD,),
        limits=(-np.inf, np.inf),
        grad_limits=(1.0, 1.0),
        notes=(
            "Conventions (PyTorch's softshrink_backward): the derivative is 0 on the closed\n"
            "dead zone [-lambd, lambd]: softshrink_grad(0) = 0; softshrink(-0.0) = +0.0\n"
            "(PyTorch gives -0.0 for negative inputs in the dead zone).  A negative lambd\n"
            "(an error in PyTorch) gives NaN.  One rounding (x -+ lambd): correctly rounded."
        ),
        ulp_bound={"float32": 0.5, "float64": 0.5},
        exact=True,
        kinks=(-0.5, 0.5),
    )
)


# ================================================================================
# hardshrink
# ================================================================================
@_jit
def _hardshrink(x, lambd):
    T = type(x)
    return x if quiet_greater(abs(x), lambd) | (x != x) else T(0)


@_jit
def _hardshrink_grad(x, lambd):
    T = type(x)
    return x if x != x else (T(1) if quiet_greater(abs(x), lambd) else T(0))


@_jit
def _hardshrink_backward(grad_out, x, lambd):
    T = type(x)
    return x if x != x else (grad_out if quiet_greater(abs(x), lambd) else T(0))


register(
    Activation(
        name="hardshrink",
        summary="Hard shrinkage, x if |x| > lambd else 0.",
        formula="x if |x| > lambd else 0",
        grad_formula="1 if |x| > lambd else 0",
        forward=_hardshrink,
        grad=_hardshrink_grad,
        backward=_hardshrink_backward,
        reference=ref.hardshrink,
        reference_grad=ref.hardshrink_grad,
        mp_forward=lambda mp, x, lam: x if abs(x) > lam else mp.mpf(0),
        mp_grad=lambda mp, x, lam: mp.mpf(1) if abs(x) > lam else mp.mpf(0),
        params=(_LAMBD,),
        limits=(-np.inf, np.inf),
        grad_limits=(1.0, 1.0),
        notes=(
            "Conventions (PyTorch's hardshrink_backward): the derivative is 0 on the closed\n"
            "dead zone [-lambd, lambd] (the jumps at +-lambd have no derivative):\n"
            "hardshrink_grad(0) = 0; hardshrink(-0.0) = +0.0.  Exact."
        ),
        ulp_bound={"float32": 0.0, "float64": 0.0},
        exact=True,
        kinks=(-0.5, 0.5),
    )
)


# ================================================================================
# threshold
# ================================================================================
_THRESHOLD = Param("threshold", 0.0, "inputs above it pass (PyTorch has no default; 0 makes it relu)")
_VALUE = Param("value", 0.0, "what replaces the others (PyTorch has no default; 0 makes it relu)")


@_jit
def _threshold(x, threshold, value):
    return x if quiet_greater(x, threshold) | (x != x) else value


@_jit
def _threshold_grad(x, threshold, value):
    T = type(x)
    return x if x != x else (T(1) if quiet_greater(x, threshold) else T(0))


@_jit
def _threshold_backward(grad_out, x, threshold, value):
    T = type(x)
    return x if x != x else (grad_out if quiet_greater(x, threshold) else T(0))


register(
    Activation(
        name="threshold",
        summary="Threshold, x if x > threshold else value.",
        formula="x if x > threshold else value",
        grad_formula="1 if x > threshold else 0",
        forward=_threshold,
        grad=_threshold_grad,
        backward=_threshold_backward,
        reference=ref.threshold,
        reference_grad=ref.threshold_grad,
        mp_forward=lambda mp, x, t, v: x if x > t else v,
        mp_grad=lambda mp, x, t, v: mp.mpf(1) if x > t else mp.mpf(0),
        params=(_THRESHOLD, _VALUE),
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Defaults threshold = 0, value = 0 (ours: PyTorch requires both), which make\n"
            "it relu.  Conventions (PyTorch's threshold_backward): the derivative is 0 for\n"
            "x <= threshold: threshold_grad(0) = 0; threshold(-0.0) = +0.0 (the value).\n"
            "NaN propagates (x > threshold is false for NaN, but NaN in gives NaN out).\n"
            "Exact."
        ),
        ulp_bound={"float32": 0.0, "float64": 0.0},
        exact=True,
        kinks=(0.0,),
    )
)


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
    return chain_rule(grad_out, _softsign_grad(x))


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


# ================================================================================
# The expm1 family: elu, celu, selu
# ================================================================================
_EXPM1_SAT = 80.0  # expm1(-80) rounds to -1 in both dtypes


@_jit
def _expm1_neg_abs(x):
    """expm1(-|x|) as (hi, lo), and whether |x| is below the linear threshold, where
    expm1(x) == x to the last bit: hi is then x itself (the value for x <= 0)."""
    T = type(x)
    lin = expm1_linear_below(x)
    hi, lo = expm1_clamped(-abs_clamped(x, lin, T(_EXPM1_SAT)))
    small = float_bits(abs(x)) < float_bits(lin)
    return (x if small else hi), (T(0) if small else lo), small


# --------------------------------------------------------------------------------
# elu
# --------------------------------------------------------------------------------
_ALPHA = Param("alpha", 1.0, "scale of the negative branch, -alpha is the limit at -inf (PyTorch's default)")


@_jit
def _elu(x, alpha):
    T = type(x)
    hi, _, _ = _expm1_neg_abs(x)
    # alpha * expm1(x) through chain_rule: no underflow flag for tiny products, no
    # inf * 0; alpha == 1 (the default, compiled in) skips it: expm1 is then final.
    neg = hi if alpha == T(1) else chain_rule(alpha, hi)
    return x if is_positive(x) | (x != x) else neg


@_jit
def _elu_grad(x, alpha):
    T = type(x)
    e = _exp_neg_abs(x)
    d = e if alpha == T(1) else chain_rule(alpha, e)
    return x if x != x else (T(1) if is_positive(x) else d)


@_jit
def _elu_backward(grad_out, x, alpha):
    return chain_rule_saturating(grad_out, _elu_grad(x, alpha))  # alpha may exceed 1


register(
    Activation(
        name="elu",
        summary="Exponential linear unit, x if x > 0 else alpha * (exp(x) - 1).",
        formula="x if x > 0 else alpha * (exp(x) - 1)",
        grad_formula="1 if x > 0 else alpha * exp(x)",
        forward=_elu,
        grad=_elu_grad,
        backward=_elu_backward,
        reference=ref.elu,
        reference_grad=ref.elu_grad,
        mp_forward=lambda mp, x, a: x if x > 0 else a * mp.expm1(x),
        mp_grad=lambda mp, x, a: mp.mpf(1) if x > 0 else a * mp.exp(x),
        params=(_ALPHA,),
        limits=(-1.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Stable evaluation: the negative branch is alpha * expm1(x) with our vectorized\n"
            "expm1, never exp(x) - 1, so small inputs keep their relative accuracy:\n"
            "elu(-1e-8) is expm1(-1e-8) to the last bit (float32(-1e-8) itself in float32,\n"
            "-9.999999950000001e-09 in float64); elu(-0.0) = -0.0.  Conventions (PyTorch's\n"
            "elu_backward and JAX's): the derivative at 0 takes the x <= 0 branch,\n"
            "elu_grad(0) = alpha.  Saturation: elu(-1000) == -alpha exactly."
        ),
        transcendental=True,
    )
)


# --------------------------------------------------------------------------------
# celu
# --------------------------------------------------------------------------------
# alpha enters x / alpha clamped to [2**-80, 2**80] in magnitude: the bounds of the
# clamp on |x| below (alpha * 2**-60, alpha * 746) then stay normal and finite, and
# the division can neither overflow, underflow nor divide by zero.
_CELU_ALPHA_MIN = 2.0**-80
_CELU_ALPHA_MAX = 2.0**80


@_jit
def _celu_ratio(x, alpha, top):
    """(|x| / alpha clamped to [expm1's linear threshold, top], |x| / alpha below
    that threshold), without a flag for any x or alpha."""
    T = type(x)
    da = abs_clamped(alpha, T(_CELU_ALPHA_MIN), T(_CELU_ALPHA_MAX))
    lo = da * expm1_linear_below(x)  # exact: a power of two
    a = abs_clamped(x, lo, da * top)
    return a / da, float_bits(abs(x)) < float_bits(lo)


@_jit
def _celu_alpha_ok(alpha):
    T = type(alpha)
    return (alpha == T(0)) | quiet_greater(alpha, T(0))


@_jit
def _celu(x, alpha):
    T = type(x)
    q, small = _celu_ratio(x, alpha, T(_EXPM1_SAT))
    hi, _ = expm1_clamped(-q)
    neg = hi if alpha == T(1) else chain_rule(alpha, hi)
    # |x| / alpha below the linear threshold: alpha * expm1(x / alpha) rounds to x
    neg = x if small else neg
    y = x if is_positive(x) else (neg if _celu_alpha_ok(alpha) else T(np.nan))
    return x if x != x else y


@_jit
def _celu_grad(x, alpha):
    T = type(x)
    q, _ = _celu_ratio(x, alpha, exp_limit(x))
    p, k = exp_reduce(-q)
    g = T(1) if is_positive(x) else ldexp_flush(p, k)
    return x if x != x else (g if _celu_alpha_ok(alpha) else T(np.nan))


@_jit
def _celu_backward(grad_out, x, alpha):
    return chain_rule(grad_out, _celu_grad(x, alpha))


register(
    Activation(
        name="celu",
        summary="Continuously differentiable ELU, x if x > 0 else alpha * (exp(x / alpha) - 1).",
        formula="x if x > 0 else alpha * (exp(x / alpha) - 1)",
        grad_formula="1 if x > 0 else exp(x / alpha)",
        forward=_celu,
        grad=_celu_grad,
        backward=_celu_backward,
        reference=ref.celu,
        reference_grad=ref.celu_grad,
        mp_forward=lambda mp, x, a: x if x > 0 else a * mp.expm1(x / a),
        mp_grad=lambda mp, x, a: mp.mpf(1) if x > 0 else mp.exp(x / a),
        params=(_ALPHA,),
        limits=(-1.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Stable evaluation: alpha * expm1(x / alpha) with our vectorized expm1;\n"
            "celu(-0.0) = -0.0 and tiny inputs give x itself.  Conventions (PyTorch's,\n"
            "whose celu is elu with input scale 1/alpha): the derivative at 0 is\n"
            "exp(0): celu_grad(0) = 1.  Parameters: alpha > 0; alpha = 0 (an error in\n"
            "PyTorch) gives the limit, 0 for x <= 0 (x / alpha uses alpha clamped to\n"
            "[2**-80, 2**80]); a negative alpha gives NaN."
        ),
        transcendental=True,
    )
)


# --------------------------------------------------------------------------------
# selu
# --------------------------------------------------------------------------------
# PyTorch's constants (Klambauer et al. 2017, to 32 digits), each split into a
# double word hi + lo per dtype: scale * v is then fma(hi, v, lo * v), within a
# hair of one rounding.  hi is the constant rounded to the dtype (checked: float32
# of the float64 value is the correctly rounded float32 for both).
_SELU_SCALE = "1.0507009873554804934193349852946"
_SELU_ALPHA = "1.6732632423543772848170429916717"


def _double_word(value: Decimal, dtype) -> tuple:
    hi = dtype(float(value))
    return hi, dtype(float(value - Decimal(float(hi))))


with localcontext() as _ctx:
    _ctx.prec = 60
    _SELU_LAMBDA = Decimal(_SELU_SCALE)
    _SELU_LAMBDA_ALPHA = _SELU_LAMBDA * Decimal(_SELU_ALPHA)
    _SELU32 = _double_word(_SELU_LAMBDA, np.float32) + _double_word(_SELU_LAMBDA_ALPHA, np.float32)
    _SELU64 = _double_word(_SELU_LAMBDA, np.float64) + _double_word(_SELU_LAMBDA_ALPHA, np.float64)


def _selu_wmax(x):
    """The largest finite number of the dtype of ``x``."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_selu_wmax, inline="always")
def _selu_wmax_overload(x):
    if x == types.float32:
        m32 = np.finfo(np.float32).max
        return lambda x: m32
    if x == types.float64:
        m64 = np.finfo(np.float64).max
        return lambda x: m64
    return None


def _selu_constants(x):
    """(scale hi, lo, scale*alpha hi, lo) in the dtype of ``x``."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_selu_constants, inline="always")
def _selu_constants_overload(x):
    if x == types.float32:
        c = _SELU32
        return lambda x: c
    if x == types.float64:
        c = _SELU64
        return lambda x: c
    return None


@_jit
def _selu(x):
    T = type(x)
    s_hi, s_lo, sa_hi, sa_lo = _selu_constants(x)
    pos = is_positive(x)
    e_hi, e_lo, small = _expm1_neg_abs(x)
    # One product c * w, both double words: w = x for x > 0 (inf clamped to the
    # largest finite number, where the product still overflows: a negative lo part
    # times inf would meet +inf in the sum), expm1(x) for x <= 0 (x itself when tiny).  It is formed on w scaled by
    # 2**-2 (so that scale * max cannot overflow) or, for tiny |x|, by 2**64 (so
    # that it cannot underflow, the lo part of c dropped: c_hi * x is within an ULP
    # there), then rescaled exactly on the bit pattern: +inf exactly where
    # scale * x rounds to it, 0 where the result is below the smallest normal.
    # The scale is chosen by a select, w is not: a select on w would let LLVM
    # evaluate the product on the unselected operand.
    w_hi = abs_clamped(x, T(0), _selu_wmax(x)) if pos else e_hi
    w_lo = T(0) if pos else e_lo
    c_hi = s_hi if pos else sa_hi
    c_lo = T(0) if small else (s_lo if pos else sa_lo)
    sc = T(2.0**64) if small else T(0.25)
    ws = w_hi * sc
    y = fma(c_hi, ws, c_hi * (w_lo * sc) + c_lo * ws)
    y = ldexp_signed(y, -64 if small else 2)
    return x if (x != x) | (x == T(0)) else y  # selu(-0.0) = -0.0


@_jit
def _selu_grad(x):
    s_hi, _, sa_hi, sa_lo = _selu_constants(x)
    a = abs_clamped(x, _TINY, exp_limit(x))
    p, k = exp_reduce(-a)
    # scale*alpha * exp(-|x|): the product is formed on the mantissa p (normal, no
    # underflow for the lo part) and scaled exactly afterwards
    d = ldexp_flush(fma(sa_hi, p, sa_lo * p), k)
    return x if x != x else (s_hi if is_positive(x) else d)


@_jit
def _selu_backward(grad_out, x):
    return chain_rule_saturating(grad_out, _selu_grad(x))  # the derivative reaches 1.76


_SELU_LIMIT = -float(_SELU_LAMBDA_ALPHA)
register(
    Activation(
        name="selu",
        summary="Scaled ELU, scale * (x if x > 0 else alpha * (exp(x) - 1)).",
        formula="scale * (x if x > 0 else alpha * (exp(x) - 1)),  scale = 1.0507..., alpha = 1.6732...",
        grad_formula="scale if x > 0 else scale * alpha * exp(x)",
        forward=_selu,
        grad=_selu_grad,
        backward=_selu_backward,
        reference=ref.selu,
        reference_grad=ref.selu_grad,
        mp_forward=lambda mp, x: mp.mpf(_SELU_SCALE) * (x if x > 0 else mp.mpf(_SELU_ALPHA) * mp.expm1(x)),
        mp_grad=lambda mp, x: mp.mpf(_SELU_SCALE) * (1 if x > 0 else mp.mpf(_SELU_ALPHA) * mp.exp(x)),
        limits=(_SELU_LIMIT, np.inf),
        grad_limits=(0.0, float(_SELU_LAMBDA)),
        notes=(
            f"Constants (PyTorch's): scale = {_SELU_SCALE},\n"
            f"alpha = {_SELU_ALPHA}; scale and scale * alpha are\n"
            "applied as double words (one rounding in effect), and the negative branch\n"
            "uses our vectorized expm1.  selu(x) is +inf exactly where scale * x rounds\n"
            "to it (x > 1.71e308 / 3.24e38), without an overflow flag.\n"
            "Conventions (PyTorch's and JAX's): the derivative at 0 takes the x <= 0\n"
            "branch, scale * alpha; selu(-0.0) = -0.0."
        ),
        transcendental=True,
    )
)
