"""Plain NumPy reference implementations: the *meaning* of every activation.

These are the tutorial's formulas (sigmoid = 1/(1+e^-x), its derivative
sigmoid*(1-sigmoid), tanh and 1-tanh^2, relu and (x > 0), leaky relu and
where(x > 0, 1, 0.01)), rewritten so that they are stable and warning-free:

* the naive ``1/(1+np.exp(-x))`` overflows in ``exp`` for x < -88 (float32) and warns;
* ``sigmoid*(1-sigmoid)`` and ``1-tanh**2`` cancel to 0 where the true derivative
  is still a perfectly representable tiny number;
* the textbook tanh ``(e^x - e^-x)/(e^x + e^-x)`` is inf/inf = NaN for |x| > 710.

Each function keeps the input's float dtype (float32 stays float32; integers and
bools become float64) and returns NaN for NaN.  Exponentials may underflow to 0 or
to a subnormal, which is the correct result; that (and only that) is silenced.
They are slow (several passes, temporaries): they exist for the tests.

The working type above float64 is ``np.longdouble`` (x87 80-bit on x86), which
costs ~300 ns per element.  :func:`working_precision` lowers it to float64 for a
scope: the float32 verifier's fast first pass, whose float64 copies of float32
inputs need no more (see :mod:`fastact.verify`).
"""

from __future__ import annotations

import contextlib
import contextvars
from fractions import Fraction

import numpy as np

__all__ = [
    "hard_sigmoid",
    "hard_sigmoid_grad",
    "hard_silu",
    "hard_silu_grad",
    "hard_tanh",
    "hard_tanh_grad",
    "hardshrink",
    "hardshrink_grad",
    "celu",
    "celu_grad",
    "elu",
    "elu_grad",
    "gelu",
    "gelu_grad",
    "gelu_tanh",
    "gelu_tanh_grad",
    "leaky_relu",
    "leaky_relu_grad",
    "log_sigmoid",
    "log_sigmoid_grad",
    "mish",
    "mish_grad",
    "relu",
    "relu_grad",
    "relu6",
    "relu6_grad",
    "selu",
    "selu_grad",
    "sigmoid",
    "sigmoid_grad",
    "silu",
    "silu_grad",
    "softplus",
    "softplus_grad",
    "softshrink",
    "softshrink_grad",
    "softsign",
    "softsign_grad",
    "squareplus",
    "squareplus_grad",
    "tanh",
    "tanh_grad",
    "tanhshrink",
    "tanhshrink_grad",
    "threshold",
    "threshold_grad",
]


def _as_float(x):
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        return x.astype(np.float64)
    if x.dtype.kind != "f":
        raise TypeError(f"expected a real floating-point or integer array, got dtype {x.dtype}")
    return x


#: the widest working type: long double unless :func:`working_precision` says
#: otherwise (a context variable: each thread and task sees its own setting)
_WORKING = contextvars.ContextVar("fastact_reference_working", default=np.longdouble)


@contextlib.contextmanager
def working_precision(dtype):
    """Evaluate the references with ``dtype`` (``np.float64`` or ``np.longdouble``)
    as their widest working type within the ``with`` block.

    float64 is ~10x faster than x87 long double, and accurate enough for float64
    copies of float32 inputs where the function is well conditioned; the float32
    verifier re-evaluates the rest in long double.
    """
    dtype = np.dtype(dtype).type
    if dtype not in (np.float64, np.longdouble):
        raise ValueError(f"working precision must be float64 or longdouble, got {np.dtype(dtype)}")
    token = _WORKING.set(dtype)
    try:
        yield
    finally:
        _WORKING.reset(token)


def _wider(x):
    """x in the next wider float type: float32 -> float64, float64 -> long double
    (whose precision and exponent range absorb the roundings of a few more steps;
    float64 under ``working_precision(np.float64)``)."""
    return x.astype(np.float64 if x.dtype == np.float32 else _WORKING.get())


def _exp_neg_abs(x, scale=1):
    """exp(-scale*|x|), |x| clipped so that the product cannot overflow."""
    a = np.minimum(np.abs(x), x.dtype.type(1e4))
    return np.exp(-scale * a)


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x)), evaluated through e = exp(-|x|) <= 1."""
    x = _as_float(x)
    with np.errstate(under="ignore"):
        e = _exp_neg_abs(x)
        one = x.dtype.type(1)
        return np.where(x >= 0, one / (one + e), e / (one + e)).astype(x.dtype)


def sigmoid_grad(x):
    """sigmoid'(x) = sigmoid(x) * (1 - sigmoid(x)) = sigmoid(x) * sigmoid(-x).

    ``1 - sigmoid(x)`` is written as ``sigmoid(-x)``, which does not cancel.
    """
    x = _as_float(x)
    with np.errstate(under="ignore"):
        return (sigmoid(x) * sigmoid(-x)).astype(x.dtype)


def tanh(x):
    """tanh(x) = (e^x - e^-x) / (e^x + e^-x); NumPy's np.tanh is already stable."""
    x = _as_float(x)
    return np.tanh(x)


def tanh_grad(x):
    """tanh'(x) = 1 - tanh(x)**2 = 4 * sigmoid(2x) * sigmoid(-2x).

    The second form keeps its relative accuracy where 1 - tanh^2 cancels to 0.
    """
    x = _as_float(x)
    with np.errstate(under="ignore"):
        e = _exp_neg_abs(x, 2)
        one = x.dtype.type(1)
        d = one + e
        return (x.dtype.type(4) * (e / d) / d).astype(x.dtype)


def relu(x):
    """relu(x) = max(x, 0); relu(-0.0) = +0.0, relu(NaN) = NaN."""
    x = _as_float(x)
    return np.where(x > 0, x, np.where(np.isnan(x), x, x.dtype.type(0)))


def relu_grad(x):
    """relu'(x) = 1 if x > 0 else 0 (PyTorch's convention relu'(0) = 0); NaN for NaN."""
    x = _as_float(x)
    return np.where(np.isnan(x), x, (x > 0).astype(x.dtype))


def leaky_relu(x, negative_slope=0.01):
    """leaky_relu(x) = x if x > 0 else negative_slope * x.

    A product below the smallest normal number is flushed to a signed zero, the
    library-wide rule for results in that range.
    """
    x = _as_float(x)
    with np.errstate(under="ignore"):
        scaled = x.dtype.type(negative_slope) * x
    tiny = np.abs(scaled) < np.finfo(x.dtype).tiny
    scaled = np.where(tiny, np.copysign(x.dtype.type(0), scaled), scaled)
    return np.where(x > 0, x, scaled)


def leaky_relu_grad(x, negative_slope=0.01):
    """leaky_relu'(x) = 1 if x > 0 else negative_slope (PyTorch: slope at 0); NaN for NaN."""
    x = _as_float(x)
    grad = np.where(x > 0, x.dtype.type(1), x.dtype.type(negative_slope))
    return np.where(np.isnan(x), x, grad)


# --------------------------------------------------------------------------------
# Piecewise linear family.  Comparisons as the formulas state them; the sign of a
# zero result is the kernels' (documented in their records): a clamp to a bound
# gives the bound itself (+0.0), an input strictly inside stays as it is.
# --------------------------------------------------------------------------------
def _keep_nan(x, y):
    return np.where(np.isnan(x), x, y).astype(x.dtype)


def _clip(x, lo, hi):
    """min(max(x, lo), hi) in PyTorch's order; -0.0 inside the bounds is kept."""
    t = np.where(x > lo, x, lo)
    return np.where(hi > t, t, hi)


def _step(cond, x):
    return _keep_nan(x, np.where(cond, x.dtype.type(1), x.dtype.type(0)))


def relu6(x):
    """relu6(x) = min(max(x, 0), 6); relu6(-0.0) = +0.0."""
    x = _as_float(x)
    return _keep_nan(x, _clip(x, x.dtype.type(0), x.dtype.type(6)))


def relu6_grad(x):
    """relu6'(x) = 1 if 0 < x < 6 else 0 (PyTorch: 0 at both kinks)."""
    x = _as_float(x)
    return _step((x > 0) & (x < 6), x)


def hard_sigmoid(x):
    """hard_sigmoid(x) = relu6(x + 3) / 6, as (clip(x, -3, 3) + 3) / 6."""
    x = _as_float(x)
    t = _clip(x, x.dtype.type(-3), x.dtype.type(3))
    return _keep_nan(x, (t + x.dtype.type(3)) / x.dtype.type(6))


def hard_sigmoid_grad(x):
    """hard_sigmoid'(x) = 1/6 on the open interval (-3, 3), else 0."""
    x = _as_float(x)
    sixth = x.dtype.type(1) / x.dtype.type(6)
    return _keep_nan(x, np.where((x > -3) & (x < 3), sixth, x.dtype.type(0)))


def hard_silu(x):
    """hard_silu(x) = x * relu6(x + 3) / 6: 0 for x <= -3, x for x > 3."""
    x = _as_float(x)
    t = _clip(x, x.dtype.type(-3), x.dtype.type(3))
    with np.errstate(under="ignore"):  # tiny x: x/2 may be subnormal, the correct result
        inner = t * (t + x.dtype.type(3)) / x.dtype.type(6)
    return _keep_nan(x, np.where(x > 3, x, np.where(x > -3, inner, x.dtype.type(0))))


def hard_silu_grad(x):
    """hard_silu'(x) = (2x + 3)/6 on (-3, 3); 0 at -3 and below, 1 at 3 and above."""
    x = _as_float(x)
    t = _clip(x, x.dtype.type(-3), x.dtype.type(3))
    inner = (2 * t + x.dtype.type(3)) / x.dtype.type(6)
    one, zero = x.dtype.type(1), x.dtype.type(0)
    return _keep_nan(x, np.where(x > -3, np.where(x < 3, inner, one), zero))


def hard_tanh(x, min_val=-1.0, max_val=1.0):
    """hard_tanh(x) = min(max(x, min_val), max_val)."""
    x = _as_float(x)
    return _keep_nan(x, _clip(x, x.dtype.type(min_val), x.dtype.type(max_val)))


def hard_tanh_grad(x, min_val=-1.0, max_val=1.0):
    """hard_tanh'(x) = 1 if min_val < x < max_val else 0 (PyTorch: 0 at the ends)."""
    x = _as_float(x)
    return _step((x > x.dtype.type(min_val)) & (x < x.dtype.type(max_val)), x)


def softshrink(x, lambd=0.5):
    """softshrink(x) = x - lambd if x > lambd, x + lambd if x < -lambd, else +0.0.

    NaN for a negative lambd (PyTorch raises)."""
    x = _as_float(x)
    lam = x.dtype.type(lambd)
    with np.errstate(invalid="ignore"):  # inf - inf in the arm np.where discards
        y = np.where(x > lam, x - lam, np.where(x < -lam, x + lam, x.dtype.type(0)))
    if not lam >= 0:
        y = np.full_like(y, np.nan)
    return _keep_nan(x, y)


def softshrink_grad(x, lambd=0.5):
    """softshrink'(x) = 1 if |x| > lambd else 0 (PyTorch: 0 at +-lambd)."""
    x = _as_float(x)
    lam = x.dtype.type(lambd)
    y = _step(np.abs(x) > lam, x)
    return y if lam >= 0 else np.full_like(y, np.nan)


def hardshrink(x, lambd=0.5):
    """hardshrink(x) = x if |x| > lambd else +0.0."""
    x = _as_float(x)
    return _keep_nan(x, np.where(np.abs(x) > x.dtype.type(lambd), x, x.dtype.type(0)))


def hardshrink_grad(x, lambd=0.5):
    """hardshrink'(x) = 1 if |x| > lambd else 0."""
    x = _as_float(x)
    return _step(np.abs(x) > x.dtype.type(lambd), x)


def threshold(x, threshold=0.0, value=0.0):
    """threshold(x) = x if x > threshold else value (defaults ours: relu)."""
    x = _as_float(x)
    return _keep_nan(x, np.where(x > x.dtype.type(threshold), x, x.dtype.type(value)))


def threshold_grad(x, threshold=0.0, value=0.0):
    """threshold'(x) = 1 if x > threshold else 0."""
    x = _as_float(x)
    return _step(x > x.dtype.type(threshold), x)


def softsign(x):
    """softsign(x) = x / (1 + |x|), as copysign(a / (1 + a), x) with a = |x|
    clipped at 2**100 (where the quotient is 1 in every dtype), so that +-inf give
    +-1 rather than inf/inf."""
    x = _as_float(x)
    a = np.minimum(np.abs(x), x.dtype.type(2.0**100))
    return np.copysign(a / (x.dtype.type(1) + a), x)


def softsign_grad(x):
    """softsign'(x) = 1 / (1 + |x|)**2, as u*u with u = 1/(1 + |x|): the square of
    1 + |x| would overflow for |x| > 1e154 (float64), u*u only underflows."""
    x = _as_float(x)
    with np.errstate(under="ignore"):
        u = x.dtype.type(1) / (x.dtype.type(1) + np.abs(x))
        return u * u


# --------------------------------------------------------------------------------
# expm1 family.  np.expm1, never exp(x) - 1 (which cancels near 0); np.exp of
# large negative arguments underflows to 0 or a subnormal, the correct result.
# --------------------------------------------------------------------------------
def elu(x, alpha=1.0):
    """elu(x) = x if x > 0 else alpha * expm1(x), evaluated in the wider type: the
    product rounds once, also where expm1(x) alone would be subnormal."""
    x = _as_float(x)
    a = x.dtype.type(alpha)  # the parameter as the kernel of x's dtype sees it
    w = _wider(x)
    neg = np.where(w > 0, w.dtype.type(0), w)  # -0.0 stays -0.0, NaN stays NaN
    with np.errstate(under="ignore", over="ignore"):
        return np.where(x > 0, x, (w.dtype.type(a) * np.expm1(neg)).astype(x.dtype))


def elu_grad(x, alpha=1.0):
    """elu'(x) = 1 if x > 0 else alpha * exp(x) (PyTorch: alpha at 0), evaluated in
    the wider type: alpha > 1 lifts products of a subnormal exp(x) back to normal."""
    x = _as_float(x)
    a = x.dtype.type(alpha)
    w = _wider(x)
    neg = np.where(w > 0, w.dtype.type(0), w)
    with np.errstate(under="ignore", over="ignore"):
        return np.where(x > 0, x.dtype.type(1), (w.dtype.type(a) * np.exp(neg)).astype(x.dtype))


def celu(x, alpha=1.0):
    """celu(x) = x if x > 0 else alpha * expm1(x / alpha); NaN for alpha < 0.
    Evaluated in the wider type: x / alpha rounded in x's own type would carry its
    rounding error (and, below the smallest normal, lost bits) into the result."""
    x = _as_float(x)
    a = x.dtype.type(alpha)
    w = _wider(x)
    wa = w.dtype.type(a)
    neg = np.where(w > 0, w.dtype.type(0), w)
    with np.errstate(under="ignore", over="ignore", divide="ignore", invalid="ignore"):
        y = np.where(x > 0, x, (wa * np.expm1(neg / wa) if a != 0 else neg * 0).astype(x.dtype))  # alpha = 0: the limit
    return y if a >= 0 else np.where(np.isnan(x), x, np.nan).astype(x.dtype)


def celu_grad(x, alpha=1.0):
    """celu'(x) = 1 if x > 0 else exp(x / alpha) (1 at 0); NaN for alpha < 0.
    Evaluated in the wider type, like :func:`celu`."""
    x = _as_float(x)
    a = x.dtype.type(alpha)
    w = _wider(x)
    wa = w.dtype.type(a)
    neg = np.where(w > 0, w.dtype.type(0), w)
    with np.errstate(under="ignore", over="ignore", divide="ignore", invalid="ignore"):
        d = np.exp(neg / wa).astype(x.dtype) if a != 0 else np.where(neg == 0, x.dtype.type(1), x.dtype.type(0))
        y = np.where(x > 0, x.dtype.type(1), d)
    return y if a >= 0 else np.where(np.isnan(x), x, np.nan).astype(x.dtype)


_SELU_SCALE = "1.0507009873554804934193349852946"
# scale * alpha, alpha = 1.6732632423543772848170429916717 (PyTorch's constants):
# one constant, so that the derivative at 0 is it correctly rounded
_SELU_SCALE_ALPHA = "1.7580993408473768599402175208123"


def _constant(dtype, text):
    """A constant at the dtype's precision (long double keeps its extra bits)."""
    return np.dtype(dtype).type(text)


def selu(x):
    """selu(x) = scale * (x if x > 0 else alpha * expm1(x)), PyTorch's constants."""
    x = _as_float(x)
    scale = _constant(x.dtype, _SELU_SCALE)
    scale_alpha = _constant(x.dtype, _SELU_SCALE_ALPHA)
    neg = np.where(x > 0, x.dtype.type(0), x)
    with np.errstate(under="ignore", over="ignore"):  # scale * x beyond max: inf, the correct result
        return np.where(x > 0, scale * x, scale_alpha * np.expm1(neg))


def selu_grad(x):
    """selu'(x) = scale if x > 0 else scale * alpha * exp(x) (scale * alpha at 0)."""
    x = _as_float(x)
    scale = _constant(x.dtype, _SELU_SCALE)
    scale_alpha = _constant(x.dtype, _SELU_SCALE_ALPHA)
    neg = np.where(x > 0, x.dtype.type(0), x)
    with np.errstate(under="ignore"):
        return np.where(x > 0, scale, scale_alpha * np.exp(neg))


# --------------------------------------------------------------------------------
# The gated family: silu, gelu, gelu_tanh.  Evaluated in long double (80-bit on
# x86: 11 bits beyond float64), which absorbs the cancellation of each derivative
# near its root (silu' at -1.278, gelu' at -0.752) and the rounding of the few
# NumPy passes; rounded once to the input's dtype at the end.
# --------------------------------------------------------------------------------
def _wide(x):
    """x in the widest working type (long double unless :func:`working_precision`)."""
    return x.astype(_WORKING.get())


def _near_root(x, y, root, taylor, wide):
    """``y``, with the Taylor series of a derivative about its root ``root`` (a
    double word; ``taylor``: the coefficients of d, d^2, ...) where d = x - root is
    below 2^-6, since the closed form cancels there beyond the working precision."""
    near = np.clip(x.astype(np.float64), -2.0, 0.0)  # x - x0 exact there (Sterbenz)
    d = (near - root[0]).astype(wide) - wide(root[1])
    series = np.zeros_like(d)
    for coef in reversed(taylor):
        series = (series + wide(coef)) * d
    return np.where(np.abs(d) < 2.0**-6, series, y)


def silu(x):
    """silu(x) = x * sigmoid(x), as x / (1 + e) for x >= 0 and x e / (1 + e) for
    x < 0, e = exp(-|x|) (never overflows)."""
    x = _as_float(x)
    w = _wide(x)
    c = np.clip(w, -1e4, 1e4)  # x e stays finite; silu(x) is 0 or x beyond
    with np.errstate(under="ignore"):
        e = _exp_neg_abs(c)
        y = np.where(c >= 0, c, c * e) / (1 + e)
    y = np.where(w > 1e4, w, y)
    with np.errstate(under="ignore"):
        return y.astype(x.dtype)


def silu_grad(x):
    """silu'(x) = s (1 + x (1 - s)), as (1 + e (1 + x)) / (1 + e)**2 for x >= 0 and
    e (1 + x + e) / (1 + e)**2 for x < 0, e = exp(-|x|)."""
    x = _as_float(x)
    w = np.clip(_wide(x), -1e4, 1e4)  # e * x stays finite; silu' is 1 or 0 beyond
    w = np.where(np.isnan(x), _wide(x), w)
    with np.errstate(under="ignore"):
        e = _exp_neg_abs(w)
        num = np.where(w >= 0, 1 + e * (1 + w), e * (1 + w + e))
        return (num / (1 + e) ** 2).astype(x.dtype)


# gelu (exact) needs erfc, which NumPy lacks (and SciPy is no dependency): the
# normal tail Phi(-a) = erfc(a / sqrt2) / 2 for a = |x| >= 0 is formed here, in the
# working type, as phi(a) R(a) with R Mills' ratio, from two classical expansions
# with fixed term counts:
# * a < 2: the Taylor series of erf, Phi(-a) = 1/2 - (a / sqrt(2 pi)) sum_n
#   (-a^2/2)^n / (n! (2n + 1)); 40 terms reach 2**-75 at a = 2, where the
#   alternating sum loses 3 bits and 1/2 - ... another 5.5 (Phi(-2) = 0.023);
# * a >= 2: Laplace's continued fraction R(a) = 1 / (a + 1 / (a + 2 / (a + 3 / ...))),
#   evaluated from the bottom with a number of terms per range of a (its error
#   falls like exp(-2 a sqrt(2n))): 2**-70 or better in each range.
# exp(-a^2 / 2) takes a^2 exactly: a = hi + lo with hi the float32 rounding of a,
# so that hi^2, 2 hi lo and lo^2 are exact in long double (and hi^2 in float64),
# and the product of three exponentials has no argument error (the tail's exp
# multiplies an argument error by nothing, a relative error of a^2 by a^2 / 2).
_SQRT_2PI = "2.5066282746310005024157652848110452530069867406099"
#: (a from, Taylor terms) of erf's series: 2**-75 or better in each range
_ERF_TERMS = ((0.0, 6), (2.0**-8, 15), (0.5, 40))
#: (a from, continued fraction terms): each range uses the count of its row
_CF_TERMS = ((2.0, 220), (3.0, 110), (5.0, 45), (9.0, 20))
#: beyond it Phi(-a) < 1e-330 (no float64 result depends on its value)
_TAIL_END = 40.0
# gelu' vanishes at x0 = -0.75179152469356445745790494678 (hi + lo in float64) and
# cancels around it; there the reference uses its Taylor series in d = x - x0
# (coefficients c1, c2, ... of (Phi(x) + x phi(x)) at x0, from mpmath)
_GELU_X0 = (-0.7517915246935645, 1.4956759177009883e-17)
_GELU_TAYLOR = (
    "0.4314939923140469197865",
    "0.3882849829905519978581",
    "-0.01819967639867108710057",
    "-0.1140082332972217085524",
    "-0.01477152214824433771784",
    "0.01942167983818906588903",
    "0.004539228379125415573634",
    "-0.002239538068073497151279",
    "-0.0007448268386746816242731",
    "0.0001863397462323351328044",
    "0.00008615947861116571627794",
)


def _exp_half_square(a):
    """exp(-a^2 / 2) for a >= 0 in a's (working) type, a^2 never rounded."""
    with np.errstate(under="ignore"):  # tiny a: a subnormal hi, underflowing squares (harmless)
        hi = a.astype(np.float32).astype(a.dtype)  # a <= _TAIL_END: no overflow
        lo = a - hi  # exact
        return np.exp(-(hi * hi) / 2) * np.exp(-(hi * lo)) * np.exp(-(lo * lo) / 2)


def _normal_tail(a):
    """(Phi(-a), phi(a), R(a)) for a >= 0 (clipped at _TAIL_END; NaN-free)."""
    with np.errstate(under="ignore"):  # tiny a: the series' terms underflow (harmlessly)
        return _normal_tail_parts(a)


def _normal_tail_parts(a):
    t = a.dtype.type
    c = t(_SQRT_2PI)
    phi = _exp_half_square(a) / c
    # Taylor series of erf (a < 2), per range its own term count
    small = np.minimum(a, t(2))
    acc = np.ones_like(a)
    bounds = [b for b, _ in _ERF_TERMS[1:]] + [np.inf]
    for (lo, terms), hi in zip(_ERF_TERMS, bounds, strict=True):
        sel = (small >= lo) & (small < hi)
        u = -(small[sel] * small[sel]) / 2
        term = np.ones_like(u)
        part = np.ones_like(u)
        for n in range(1, terms):
            term = term * u / n
            part = part + term / (2 * n + 1)
        acc[sel] = part
    q_series = t(0.5) - small * acc / c
    # Laplace's continued fraction (a >= 2), per range its own term count
    big = np.maximum(a, t(2))
    r_cf = np.empty_like(a)
    bounds = [b for b, _ in _CF_TERMS[1:]] + [np.inf]
    for (lo, terms), hi in zip(_CF_TERMS, bounds, strict=True):
        sel = (big >= lo) & (big < hi)
        b = big[sel]
        f = np.zeros_like(b)
        for k in range(terms, 0, -1):
            f = k / (b + f)
        r_cf[sel] = 1 / (b + f)
    with np.errstate(under="ignore"):
        q = np.where(a < 2, q_series, phi * r_cf)
        r = np.where(a < 2, q_series / np.where(a < 2, phi, t(1)), r_cf)
    return q, phi, r


def gelu(x):
    """gelu(x) = x Phi(x) = (x / 2) erfc(-x / sqrt2) (PyTorch's exact gelu): -a Phi(-a)
    for x < 0, a (1 - Phi(-a)) for x >= 0 (a = |x|), in the widest working type;
    gelu(-0.0) = -0.0, gelu(-inf) = 0."""
    x = _as_float(x)
    w = _wide(x)
    a = np.where(np.isnan(w), w.dtype.type(0), np.minimum(np.abs(w), w.dtype.type(_TAIL_END)))
    q, _, _ = _normal_tail(a)
    with np.errstate(under="ignore", invalid="ignore"):
        y = np.where(w < 0, -a * q, w * (1 - q))  # w (1 - q): gelu(-0.0) = -0.0
        y = np.where(w == np.inf, w, y)
        y = np.where(np.isnan(w), w, y)
        return y.astype(x.dtype)


def gelu_grad(x):
    """gelu'(x) = Phi(x) + x phi(x): phi(a) (R(a) - a) for x < 0 (Phi(-a) - a phi(a)
    without the cancellation of the tail), 1 - Phi(-a) + a phi(a) for x >= 0; within
    2**-6 of the root x0 = -0.7518 the Taylor series in x - x0."""
    x = _as_float(x)
    w = _wide(x)
    wide = w.dtype.type
    a = np.where(np.isnan(w), wide(0), np.minimum(np.abs(w), wide(_TAIL_END)))
    q, phi, r = _normal_tail(a)
    with np.errstate(under="ignore"):
        y = np.where(w < 0, phi * (r - a), 1 - q + a * phi)
        y = _near_root(x, y, _GELU_X0, _GELU_TAYLOR, wide)
        return np.where(np.isnan(w), w, y).astype(x.dtype) + x.dtype.type(0)


_GELU_TANH_C = "0.79788456080286535587989211986876373695171726232986931533185165934"  # sqrt(2/pi)


def _gelu_tanh_v(w):
    """v = 2u = 2 sqrt(2/pi) (x + 0.044715 x^3) and dv/dx, |x| clipped at 30 (where
    gelu_tanh is x or 0 and its derivative 1 or 0) so that nothing overflows."""
    c = 2 * w.dtype.type(_GELU_TANH_C)  # the constants at w's (working) precision
    k = w.dtype.type("0.044715")
    w = np.clip(w, -30, 30)
    return w, c * w * (1 + k * w * w), c * (1 + 3 * k * w * w)


def gelu_tanh(x):
    """gelu_tanh(x) = x/2 (1 + tanh(u)), as x sigmoid(2u) (1 + tanh(u) = 2 sigmoid(2u)
    does not cancel for u < 0): x / (1 + e) for x >= 0, x e / (1 + e) for x < 0,
    e = exp(-|2u|)."""
    x = _as_float(x)
    w = _wide(x)
    c, v, _ = _gelu_tanh_v(w)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(v))
        y = np.where(c >= 0, c, c * e) / (1 + e)
    y = np.where(w > 30, w, y)
    with np.errstate(under="ignore"):
        return y.astype(x.dtype)


def gelu_tanh_grad(x):
    """gelu_tanh'(x) = s + x v' s (1 - s), s = sigmoid(v), v = 2u: as
    (1 + e (1 + x v')) / (1 + e)**2 for x >= 0 and e (1 + x v' + e) / (1 + e)**2
    for x < 0, e = exp(-|v|)."""
    x = _as_float(x)
    c, v, dv = _gelu_tanh_v(_wide(x))
    c = np.where(np.isnan(x), _wide(x), c)
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(v))
        num = np.where(c >= 0, 1 + e * (1 + c * dv), e * (1 + c * dv + e))
        return (num / (1 + e) ** 2).astype(x.dtype)
# The log1p(exp) family.  max(x, 0) + log1p(exp(-|x|)): exp never overflows, and
# log1p keeps the tail (softplus(-100) = exp(-100), not 0); np.exp of large negative
# arguments underflows to 0 or a subnormal, the correct result.
# --------------------------------------------------------------------------------
def softplus(x, beta=1.0, threshold=20.0):
    """softplus(x) = log(1 + exp(beta x)) / beta, without PyTorch's threshold
    shortcut (``threshold`` is accepted and ignored: the accurate value everywhere).

    Formed in the wider type (float32 -> float64, float64 -> long double): the
    rounding of beta x would otherwise be multiplied by |beta x| in the exponential."""
    x = _as_float(x)
    w = _wider(x)
    b = w.dtype.type(beta)
    with np.errstate(under="ignore", over="ignore"):
        bx = b * w
        tail = np.log1p(np.exp(-np.minimum(np.abs(bx), w.dtype.type(1e5)))) / b
        y = np.where(np.isnan(w), w, np.maximum(w, w.dtype.type(0)) + tail)
        return y.astype(x.dtype)


def softplus_grad(x, beta=1.0, threshold=20.0):
    """softplus'(x) = sigmoid(beta x), beta x formed in the wider type."""
    x = _as_float(x)
    w = _wider(x)
    with np.errstate(over="ignore", under="ignore"):
        return sigmoid(w.dtype.type(beta) * w).astype(x.dtype)


def log_sigmoid(x):
    """log_sigmoid(x) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))."""
    x = _as_float(x)
    with np.errstate(under="ignore"):
        return x.dtype.type(0) - softplus(-x)


def log_sigmoid_grad(x):
    """log_sigmoid'(x) = sigmoid(-x) (no 1 - sigmoid(x) cancellation)."""
    x = _as_float(x)
    return sigmoid(-x)


def _tanh_softplus(x):
    """tanh(softplus(x)) = n / (n + 2), n = e^x (e^x + 2), in e = exp(-|x|) <= 1:
    e(2 + e) / (e(2 + e) + 2) for x < 0, (1 + 2e) / (1 + 2e + 2e^2) for x >= 0."""
    one, two = x.dtype.type(1), x.dtype.type(2)
    e = _exp_neg_abs(x)
    n_neg = e * (two + e)
    n_pos = one + two * e
    return np.where(x < 0, n_neg / (n_neg + two), n_pos / (n_pos + two * e * e)), e


def mish(x):
    """mish(x) = x * tanh(softplus(x)), formed in the wider type and rounded once;
    mish(-inf) = 0 (the limit, not -inf * 0)."""
    x = _as_float(x)
    w = _wider(x)
    with np.errstate(under="ignore"):
        t, _ = _tanh_softplus(w)
        ws = np.where(w == -np.inf, w.dtype.type(0), w)
        # + 0: mish(-0.0) and the flushed left tail are +0.0, as in the kernel
        return (ws * t).astype(x.dtype) + x.dtype.type(0)


# mish' vanishes at x0 = -1.19243121451549521213758834042 (x0 = hi + lo in float64)
# and cancels around it; there the reference uses its Taylor series in d = x - x0
# (coefficients c1, c2, ... from mpmath, tools/fit_mish_root.py)
_MISH_X0 = (-1.1924312145154952, -4.8484829848031044e-17)
_MISH_TAYLOR = (
    "0.26694791404953451533",
    "0.20473126408010586",
    "0.04190782104360987",
    "-0.020271822716684245",
    "-0.01582112656173338",
    "-0.0033606849270232685",
    "0.0010924055409445854",
    "0.0009898181021289196",
    "0.00025412936386191073",
)


def mish_grad(x):
    """mish'(x) = tanh(sp) + x * sech(sp)**2 * sigmoid(x), sp = softplus(x), with
    sech(sp)**2 = 1 - t**2 written as 4 (n + 1) / (n + 2)**2 (no cancellation there).

    The sum itself cancels near the zero x0 = -1.1924: it is formed in the next wider
    type (float32 -> float64, float64 -> long double) and, within 2**-6 of x0, replaced by
    the Taylor series in x - x0 (x - x0 formed exactly)."""
    x = _as_float(x)
    w = _wider(x)
    wide = w.dtype.type
    with np.errstate(under="ignore", invalid="ignore"):
        t, e = _tanh_softplus(w)
        one, two, four = wide(1), wide(2), wide(4)
        d_neg = e * (two + e) + two
        d_pos = one + two * e + two * e * e
        c = np.where(w < 0, four * e * (one + e) / d_neg / d_neg, four * e * (e * (one + e) / d_pos) / d_pos)
        y = t + np.where(np.isinf(w), wide(0), w * c)
        y = _near_root(x, y, _MISH_X0, _MISH_TAYLOR, wide)
        return np.where(np.isnan(x), x, y).astype(x.dtype) + x.dtype.type(0)


# --------------------------------------------------------------------------------
# tanhshrink and squareplus
# --------------------------------------------------------------------------------
def _tanh_series_coefficients(n_terms):
    """c_n with x - tanh(x) = sum_{n>=2} c_n x**(2n-1): c_n = -4**n (4**n - 1) B_2n / (2n)!
    (exact fractions; the Bernoulli numbers by the Akiyama-Tanigawa recurrence)."""
    from math import factorial

    m_max = 2 * n_terms + 2
    a = [Fraction(0)] * (m_max + 1)
    bern = []
    for m in range(m_max + 1):
        a[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        bern.append(a[0])  # B_m (with B_1 = +1/2, unused)
    return [-(4**n) * (4**n - 1) * bern[2 * n] / factorial(2 * n) for n in range(2, n_terms + 2)]


def _split(c):
    """A fraction as a pair of floats, hi + lo, within 2**-106 relative: summed in
    long double it keeps the 64 bits that a single float64 coefficient would cut to 53
    (which cost the float64 judgement up to 0.7 ULP)."""
    hi = float(c)
    return hi, float(c - Fraction(hi))


#: x**3/3 - 2x**5/15 + ...: 24 terms reach 2**-70 relative at |x| = 1/2
_TANHSHRINK_SERIES = tuple(_split(c) for c in _tanh_series_coefficients(24))


def tanhshrink(x):
    """tanhshrink(x) = x - tanh(x), formed in the wider type: for |x| >= 1/2 as the
    difference (cancellation at most 13x), below from its Taylor series (the
    difference would cancel to nothing); tanhshrink(-0.0) = +0.0."""
    x = _as_float(x)
    w = _wider(x)
    with np.errstate(under="ignore"):
        small = np.where(np.abs(w) < 0.5, w, w.dtype.type(0))
        u = small * small
        series = np.zeros_like(w)
        for hi, lo in reversed(_TANHSHRINK_SERIES):
            series = (series + (w.dtype.type(hi) + w.dtype.type(lo))) * u
        series *= small
        finite = np.where(np.isinf(w), w.dtype.type(0), w)
        y = np.where(np.abs(w) < 0.5, series, finite - np.tanh(finite))
        y = np.where(np.isinf(w), w, y)
        return y.astype(x.dtype) + x.dtype.type(0)


def tanhshrink_grad(x):
    """tanhshrink'(x) = tanh(x)**2 (no cancellation), squared in the wider type."""
    x = _as_float(x)
    w = _wider(x)
    with np.errstate(under="ignore"):
        t = np.tanh(w)
        return (t * t).astype(x.dtype)


def squareplus(x, b=4.0):
    """squareplus(x) = (x + sqrt(x**2 + b)) / 2; for x < 0 as b / (2 (sqrt(x**2 + b) - x))
    (no cancellation), in the wider type (x**2 cannot overflow: float32 in float64;
    float64 above 2**500 as b / (4|x|)); b = 0 gives relu."""
    x = _as_float(x)
    w = _wider(x)
    bb = w.dtype.type(b)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        big = np.abs(w) > 2.0**500
        ws = np.where(big | np.isnan(w), w.dtype.type(1), w)
        s = np.sqrt(ws * ws + bb)
        y = np.where(ws >= 0, (ws + s) / 2, bb / (2 * (s + np.abs(ws))))  # s - ws for ws < 0
        wb = np.where(big, np.abs(w), w.dtype.type(1))
        y = np.where(big, np.where(w > 0, w, bb / (4 * wb)), y)
        if b == 0:
            y = np.where(w > 0, w, w.dtype.type(0))
        return np.where(np.isnan(w), w, y).astype(x.dtype)


def squareplus_grad(x, b=4.0):
    """squareplus'(x) = (1 + x / sqrt(x**2 + b)) / 2; for x < 0 as
    b / (2 s (s - x)), s = sqrt(x**2 + b); b = 0 gives relu's step (0 at 0)."""
    x = _as_float(x)
    w = _wider(x)
    bb = w.dtype.type(b)
    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        big = np.abs(w) > 2.0**500
        ws = np.where(big | np.isnan(w), w.dtype.type(1), w)
        s = np.sqrt(ws * ws + bb)
        y = np.where(ws >= 0, (1 + ws / s) / 2, bb / (2 * s * (s + np.abs(ws))))
        wb = np.where(big, np.abs(w), w.dtype.type(1))
        y = np.where(big, np.where(w > 0, w.dtype.type(1), bb / (4 * wb * wb)), y)
        if b == 0:
            y = np.where(w > 0, w.dtype.type(1), w.dtype.type(0))
        return np.where(np.isnan(w), w, y).astype(x.dtype)
