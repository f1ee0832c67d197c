"""The piecewise-linear family: relu, leaky_relu, relu6, hard_sigmoid, hard_silu,
hard_tanh, softshrink, hardshrink, threshold.  Exact results, tested bitwise."""

from __future__ import annotations

import numpy as np

from .. import reference as ref
from .._core import (
    _select,
    abs_clamped,
    backward_product,
    float_bits,
    fma,
    is_positive,
    ldexp_flush,
    pass_gradient,
    quiet_greater,
    slope_product,
)
from .._hard_silu_block import SIXTH, SIXTH_LO, hard_silu32_block16, hard_silu64_block16
from .._leaky_relu_block import leaky_relu32_block16, leaky_relu64_block16
from .._registry import Activation, Param, register
from ._common import _jit, _per_dtype


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
    # A select, not grad_out * relu'(x): an infinite grad_out passes through as
    # PyTorch's threshold_backward does, and 0 * inf is never formed.
    return pass_gradient(grad_out, x, is_positive(x))


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
    # slope_product, not x * slope: it flushes a product below the smallest normal
    # and saturates one beyond the largest without a flag, and gives 0 for -inf * 0
    # (slope 0 is relu).  Its bounds depend on the slope alone: computed once.
    return x if is_positive(x) else slope_product(x, negative_slope)  # NaN stays NaN


@_jit
def _leaky_relu_grad(x, negative_slope):
    T = type(x)
    return x if x != x else (T(1) if is_positive(x) else negative_slope)


@_jit
def _leaky_relu_backward(grad_out, x, negative_slope):
    # the IEEE product of every fused backward kernel (_core.backward_product): a
    # product below the smallest normal number underflows gradually, as
    # grad_out * leaky_relu_grad(x) does (the forward flushes it, like every
    # forward kernel); its loop discards the overflow and underflow flags
    return backward_product(grad_out, _leaky_relu_grad(x, negative_slope))


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
            "whose exact value is below the smallest normal number is flushed to a signed\n"
            "zero, one beyond the largest finite number is +-inf (no overflow warning)."
        ),
        ulp_bound={"float32": 0.5, "float64": 0.5},
        exact=True,
        forward_block_f32=leaky_relu32_block16,  # negative_slope = 0.01
        forward_block_f64=leaky_relu64_block16,
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
    # float max and min (vmaxps, vminps) on a NaN-free stand-in: a NaN lane (found on
    # its bits, which LLVM cannot tie to the caller's x != x) becomes lo, so no
    # compare ever sees a NaN and none raises a flag
    T = type(x)
    s = _select(float_bits(abs(x)) > float_bits(T(np.inf)), lo, x)
    t = _select(s > lo, s, lo)
    return _select(hi > t, t, hi)


@_jit
def _clamp_sym(x, c, floor=0.0):
    """x clamped to [-c, c] (c > 0) by an integer min on |x|'s bits, never NaN; with
    ``floor``, |x| raised to it as well (the sign kept).

    The operand of arithmetic whose result is selected only inside (-c, c): it must
    not be a select on the same quiet_greater conditions as the final select, or
    LLVM proves it equal to x in the selected arm and evaluates the arithmetic on x
    itself everywhere (overflow flags for huge x)."""
    T = type(x)
    return np.copysign(abs_clamped(x, T(floor), c), x)


@_jit
def _inside(x, lo, hi):
    """lo < x < hi (False for NaN's stand-in at either end only by accident: callers
    select NaN back).  A symmetric interval (lo = -hi: hard_sigmoid's, hard_tanh's
    default) is tested as |x| < hi, an AND and one compare, where the two-sided
    test becomes four integer operations: 0.77x the time of float32
    hard_sigmoid_backward at 10^6.  The branch is on the bounds only, so it folds
    for constants and leaves the loop for broadcast parameters."""
    if lo == -hi:
        return quiet_greater(hi, abs(x))
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
    return pass_gradient(grad_out, x, _inside(x, T(0), T(6)))


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
# 1/6 as a constant plus its rounding error, per dtype
_SIXTH = _per_dtype(SIXTH["float32"], SIXTH["float64"])
_SIXTH_LO = _per_dtype(SIXTH_LO["float32"], SIXTH_LO["float64"])


@_jit
def _div6(s):
    """s / 6 correctly rounded, without a division: q0 = s RN(1/6) is within an ULP
    of s/6 and RN(1/6) within half an ULP of 1/6, so one FMA residual step gives the
    correctly rounded quotient (Markstein's theorem; |s| <= 9 and never subnormal
    here, so the residual s - 6 q0 is exact).  A division costs 5-10x more."""
    T = type(s)
    c = _SIXTH(s)
    q0 = s * c
    return fma(fma(-q0, T(6), s), c, q0)


@_jit
def _plus3_div6(v):
    """(v + 3) / 6 for |v| <= 6, within a hair of one rounding, without a division.

    v + 3 = s + s_err exactly (a Fast2Sum: |v| <= 3, or v and 3 in the same
    binade, or, for v in [4, 6], 3 - s and s_err exact as multiples of ulp(v)).
    s / 6 as in _div6, with s_err joined to its residual: s_err is at most half an
    ULP of s, and the sum's own rounding is 2^-24 (2^-53) of it.  Rounding v + 3
    first and dividing after (_div6 of the sum) costs up to 1 ULP: 104 million
    float32 results above half an ULP."""
    T = type(v)
    three = T(3)
    s = v + three
    s_err = (three - s) + v
    c = _SIXTH(s)
    q0 = s * c
    return fma(fma(-q0, T(6), s) + s_err, c, q0)


@_jit
def _hard_sigmoid(x):
    T = type(x)
    # (t + 3) / 6 on the clipped input: t + 3 is exact for t <= -1.5 (Sterbenz),
    # so the result keeps its relative accuracy near 0; one rounding after it
    # (_div6): within 1 ULP.  (t + 3 as an exact double word, as hard_silu' takes
    # it, rounds once, but its three more operations cost this memory-bound kernel
    # 30% at 10^6 float32: 1.04 -> 1.38 memory copies, 0.72 -> 0.97 of PyTorch.)
    t = _clamp_sym(x, T(3))
    return x if x != x else _div6(t + T(3))


@_jit
def _hard_sigmoid_grad(x):
    T = type(x)
    return x if x != x else (T(1) / T(6) if _inside(x, T(-3), T(3)) else T(0))


@_jit
def _hard_sigmoid_backward(grad_out, x):
    return backward_product(grad_out, _hard_sigmoid_grad(x))


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
    # (|t| >= 2**-60).  Below 2**-60, x (x + 3) / 6 rounds to x / 2 (the x**2/6
    # term is 2**-61 relative): halved on the bit pattern, flushed to 0 below the
    # smallest normal.
    t = _clamp_sym(x, T(3), T(2.0**-60))
    # t (t + 3) / 6 within a hair of one rounding (plain, the three roundings reach
    # 1.91 ULP): t + 3 = s + s_err exactly (Fast2Sum, |t| <= 3), the product
    # t (s + s_err) = p_hi + p_lo (FMA residual), and the product by 1/6 = c + c_lo
    # (no division: a multiply costs a fraction of it).  No term is subnormal:
    # t*s_err is t^2 (>= 2**-120) while s == 3, and at least |t| ulp(t) otherwise.
    # At t = -3 (every x <= -3) s is 0 and the sum is +0.0, the limit.
    three = T(3)
    s = t + three
    s_err = (three - s) + t
    p_hi = t * s
    p_lo = fma(t, s_err, fma(t, s, -p_hi))
    c = _SIXTH(x)
    inner = fma(p_hi, c, fma(p_hi, _SIXTH_LO(x), p_lo * c))
    mag = float_bits(abs(x))
    inner = _select(mag < float_bits(T(2.0**-60)), np.copysign(ldexp_flush(abs(x), -1), x), inner)
    # x itself from 3 on (the bit pattern of a positive float, as a signed integer,
    # orders like the float; negative ones are negative) and for NaN
    keep_x = (float_bits(x) >= float_bits(T(3))) | (mag > float_bits(T(np.inf)))
    return _select(keep_x, x, inner)


@_jit
def _hard_silu_grad(x):
    T = type(x)
    # (2t + 3) / 6 with 2t + 3 an exact double word, rounded once: the zero of the
    # derivative at -1.5 keeps its relative accuracy (x/3 + 1/2 would cancel).
    # |t| is at least 2**-60, where the result rounds to 1/2 as it does for every
    # smaller |x|: a subnormal 2t would reach _plus3_div6's last FMA as the sum's
    # error, and Intel cores take a microcode assist for every vector instruction
    # with a subnormal operand (13x the loop's time on subnormal inputs, Rocket Lake).
    t = _clamp_sym(x, T(3), T(2.0**-60))
    inner = _plus3_div6(T(2) * t)
    g = (inner if quiet_greater(T(3), x) else T(1)) if quiet_greater(x, T(-3)) else T(0)
    return x if x != x else g


@_jit
def _hard_silu_backward(grad_out, x):
    return backward_product(grad_out, _hard_silu_grad(x))  # the derivative reaches 1.5


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
            "t (t + 3) / 6 on t = clip(x, -3, 3), with the roundings of t + 3, of the\n"
            "product and of the scaling by 1/6 (a double-word constant) compensated:\n"
            "0.500 ULP over every float32, not exact.  The derivative (2t + 3) / 6 the same\n"
            "way: 2t + 3 an exact double word, one rounding."
        ),
        ulp_bound={"float32": 2.0, "float64": 2.0},
        monotone=False,
        kinks=(-3.0, 3.0),
        aliases=("hard_swish", "hardswish"),
        forward_block_f32=hard_silu32_block16,
        forward_block_f64=hard_silu64_block16,
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
    return pass_gradient(grad_out, x, _inside(x, min_val, max_val))


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
    # One subtraction of a signed lambd, x - lambd or x - (-lambd) (the same
    # rounding as x + lambd): the vectorized loop computes every arm for every lane,
    # and x - lambd for x near -max with a large lambd (float32, 1e36) overflowed
    # to -inf, raising *overflow* in a lane that took the other arm.  In the dead
    # zone both operands are +0 (the result +0.0), so an infinite lambd never meets
    # an infinite x (inf - inf).
    xs = x if up | down else T(0)
    y = xs - (lam if up else (-lam if down else T(0)))
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
    g = pass_gradient(grad_out, x, quiet_greater(abs(x), lam))
    return g if ok else _select(x != x, x, T(np.nan))  # ok: one branch, out of the loop


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
    return pass_gradient(grad_out, x, quiet_greater(abs(x), lambd))


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
    return pass_gradient(grad_out, x, quiet_greater(x, threshold))


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


