"""The log1p(exp) family: softplus, log_sigmoid, mish (on the double-word
exp/log1p of ``_core_log``)."""

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
    float_bits,
    fma,
    is_positive,
    ldexp_flush,
    ldexp_signed,
    quiet_greater,
    ratio_dd,
    sign_clear,
    smallest_normal,
    two_sum,
)
from .._core_log import exp_dd, log1p_dd, log1p_linear_below
from .._mish32 import (
    MISH_C1_32,
    MISH_TAYLOR,
    MISH_X0_32,
    mish32,
    mish32_block16,
    mish_backward32_block16,
    mish_grad32,
    mish_grad32_block16,
)
from .._mish64 import mish64_block16
from .._registry import Activation, Param, register
from .._sigmoid32 import (
    sigmoid32,
    sigmoid32_block16,
    sigmoid_of_negated32_block16,
    sigmoid_of_negated_backward32_block16,
    sigmoid_product32_block16,
)
from .._sigmoid64 import (
    sigmoid64_generic_block16,
    sigmoid_of_negated64_generic_block16,
    sigmoid_of_negated_backward64_generic_block16,
    sigmoid_product64_generic_block16,
)
from .._softplus32 import log_sigmoid32, log_sigmoid32_block16, softplus32, softplus32_block16
from .._softplus64 import log_sigmoid64_block16, softplus64_block16
from ._common import _jit
from .logistic import _sigmoid_generic, by_dtype, float32_only, is_float32


# ================================================================================
# softplus
# ================================================================================
def _softplus_bounds(x):
    """(|x| clamp low, high, beta clamp low, high, |beta x| clamp low) in the dtype of ``x``.

    |x| and beta are clamped before the product beta * |x| so that it can neither
    overflow nor underflow, and its FMA residual is exact (a multiple of the
    operands' two ULPs above the smallest subnormal): float32 [2**-70, 2**60] and
    [2**-30, 2**30], float64 [2**-300, 2**500] and [2**-200, 2**200].  The low |x|
    clamp times the largest beta is at most the |beta x| clamp: below both,
    log1p(exp(-beta |x|)) is ln2 - beta |x| / 2 to far below an ULP.  (At 2**-120,
    the float64 clamp was too high for beta above 2**60: 4 ULP at beta = 1e21.)
    Above the high |x| clamp, softplus(x) is x itself (the log1p term is 0).
    |beta x| itself is clamped to at least 2**-40 / 2**-60 (exp(-a) = 1 - a there
    to working precision, and the result moves by less than 2**-8 ULP), so that
    powers of it stay normal.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_softplus_bounds, inline="always")
def _softplus_bounds_overload(x):
    if x == types.float32:
        f = np.float32
        b32 = (f(2.0**-70), f(2.0**60), f(2.0**-30), f(2.0**30), f(2.0**-40))
        return lambda x: b32
    if x == types.float64:
        b64 = (2.0**-300, 2.0**500, 2.0**-200, 2.0**200, 2.0**-60)
        return lambda x: b64
    return None


def _exp_limit_of_quotient(beta):
    """The largest |beta x| worth computing exp(-|beta x|) / beta for: exp_limit
    plus ln(1 / beta) for beta < 1, bounded above from beta's exponent field
    (ln(1 / beta) <= -E ln2 for beta = m 2**E, m in [1, 2)).  Clamped at exp_limit
    alone, a beta below 2**-24 (float32) / 2**-53 (float64) held the linear tail
    at exp(-104) / beta instead of letting it decay to 0 (softplus(-3.8e30, 1e-9)
    was 6.8e-37 in float32).  At most 104 + 21 / 746 + 139: the exponent
    arithmetic stays in range (``ldexp_flush``) and the reduction of ``exp_dd``
    exact."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_exp_limit_of_quotient, inline="always")
def _exp_limit_of_quotient_overload(beta):
    if beta == types.float32:
        f = np.float32
        return lambda beta: exp_limit(beta) + f(max(127 - (float_bits(beta) >> 23), 0)) * f(0.6931472)
    if beta == types.float64:
        return lambda beta: exp_limit(beta) + float(max(1023 - (float_bits(beta) >> 52), 0)) * 0.6931471805599454
    return None


@_jit
def _softplus_exp(x, beta):
    """exp(-|beta x|) = (p + p_lo) * 2**k, with beta x carried as a double word (its
    rounding error would otherwise be multiplied by |beta x| in the exponential);
    also |x| clamped and beta clamped."""
    T = type(x)
    xmin, xmax, bmin, bmax, amin = _softplus_bounds(x)
    xa = abs_clamped(x, xmin, xmax)
    ba = abs_clamped(beta, bmin, bmax)
    one = beta == T(1)  # the default, compiled in: the product disappears
    # (calls, not ternaries: log_sigmoid's float64 kernel is inlined through an overload)
    a = _select(one, xa, ba * xa)
    a_lo = _select(one, T(0), fma(ba, xa, -a))
    c = min(max(a, amin), _exp_limit_of_quotient(ba))  # NaN-free: both factors are clamped
    # the residual belongs to the unclamped product: with a clamped (exp(-a) is 0
    # or 1 - a there anyway) it would be up to half an ULP of beta |x|, 2**35 in
    # float32, and no longer a low part of a
    a_lo = _select(c == a, a_lo, T(0))
    a = c
    p, p_lo, k = exp_dd(-a, -a_lo)
    return xa, ba, p, p_lo, k


@_jit
def _log1p_exp(p, p_lo, k):
    """log(1 + e) for e = (p + p_lo) * 2**k <= 1: ``(hi, lo, lin)``.

    Below e0 = 2**-40 / 2**-60 (``lin``), log1p(e) is e itself to working
    precision; the caller forms that value (e's mantissa rounded once, scaled
    exactly, flushed below the smallest normal) and selects it last.  (hi, lo) is
    log1p of e clamped to at least e0 (the exact value wherever e >= e0), so it is
    never tiny on any lane and arithmetic on it raises no flag there.  The
    linear value must not be selected into hi before that arithmetic: LLVM may
    drop a select whose result is discarded on the same lanes later (on linear
    lanes hi / beta would be computed with hi = e, and the division's residual
    underflow for e below ~2**-969)."""
    e0, k0 = log1p_linear_below(p)
    # every e >= e0 has k >= k0: clamping k there only changes the linear lanes, and
    # keeps the series of log1p_dd (s**3) above the smallest normal number
    kk = max(k, k0)
    hi, lo = log1p_dd(ldexp_flush(p, kk), ldexp_signed(p_lo, kk))
    return hi, lo, ldexp_flush(p, k) < e0


@_jit
def _beta_ok(beta):
    T = type(beta)
    return ~quiet_greater(T(0), beta) & (beta == beta)


@_jit
def _softplus_generic(x, beta, threshold):
    T = type(x)
    _, xmax, _, _, _ = _softplus_bounds(x)
    xa, ba, p, p_lo, k = _softplus_exp(x, beta)
    hi, lo, lin = _log1p_exp(p, p_lo, k)
    e = p + p_lo  # the linear lanes' mantissa, rounded once
    if beta != T(1):
        # (hi + lo) / beta: corrected quotient; on the linear lanes e / beta on the
        # mantissa (scaled below: the quotient may be below the smallest normal)
        q = hi / ba
        lo = (fma(-q, ba, hi) + lo) / ba
        hi = q
        e = e / ba
    hi = ldexp_flush(e, k) if lin else hi
    lo = T(0) if lin else lo
    # x > 0: x + log1p(exp(-beta x)) / beta, one rounding of the exact sum
    s, s_err = two_sum(xa, hi)
    pos = s + (s_err + lo)
    y = pos if is_positive(x) else hi + lo
    # beyond the clamp (inf included) the result is x itself; NaN in, NaN out
    y = x if (x != x) | (float_bits(x) > float_bits(xmax)) else y
    return y if _beta_ok(beta) else T(np.nan)


# At beta = 1, float32 takes softplus32 (_softplus32.py: the float32 sigmoid's table
# exp and a table log1p, 0.58 ULP, an AVX-512 block kernel for the loops with the
# default parameters) instead of the double-word exp and log1p above (0.998 ULP,
# about three times the time); float64 keeps the double-word kernel.
_softplus32_only = float32_only(softplus32)
_log_sigmoid32_only = float32_only(log_sigmoid32)


@_jit
def _softplus(x, beta, threshold):
    # the same bits whether beta = 1 is compiled in or passed
    if is_float32(x) and beta == type(x)(1):
        return _softplus32_only(x)
    return _softplus_generic(x, beta, threshold)


@_jit
def _softplus_grad_generic(x, beta, threshold):
    T = type(x)
    xa, ba, p, p_lo, k = _softplus_exp(x, beta)
    # sigmoid(beta x) = 1 / (1 + e) for x >= 0, e / (1 + e) = p / (1 + e) * 2**k for
    # x < 0 (e = exp(-|beta x|)): the quotient on the mantissa p, with e and 1 + e
    # as double words and one residual correction; e < 2**-60 is dropped from the
    # denominator (1 + e rounds to 1; the correction terms could underflow).
    e = ldexp_flush(p, k)
    use = e >= T(2.0**-60)
    e_lo = ldexp_signed(p_lo, max(k, -62))
    neg = ~sign_clear(x)
    q = ratio_dd(_select(neg, p, T(1)), _select(neg, p_lo, T(0)), T(1), _select(use, e, T(0)), _select(use, e_lo, T(0)))
    g = ldexp_flush(q, _select(neg, k, 0))
    return _select(x != x, x, _select(_beta_ok(beta), g, T(np.nan)))


# At beta = 1 the derivative is the sigmoid, and it is fastact.sigmoid's bits:
# float32 the float32 sigmoid (_sigmoid32: table exp, 0.568 ULP, an AVX-512 block
# kernel for the loops with the default parameters) instead of the double-word
# quotient above (0.632 ULP, about twice the time); float64 the float64 sigmoid
# kernel (exp rounded once, then a corrected quotient: 1.381 ULP), as log_sigmoid'
# takes it of -x.  A one-rounding sigmoid (within 0.6 ULP, _logistic64.sigmoid64
# until 2026-12-04) took 1.35x its time and left softplus_backward at 0.95-1.04
# of PyTorch's at 10^6 on the Intel VM (0.70 with this one).
_softplus_grad_unit_by_dtype = by_dtype(sigmoid32, _sigmoid_generic)


@_jit
def _softplus_grad(x, beta, threshold):
    if beta == type(x)(1):  # the same bits whether beta = 1 is compiled in or passed
        return _softplus_grad_unit_by_dtype(x)
    return _softplus_grad_generic(x, beta, threshold)


@_jit
def _softplus_backward(grad_out, x, beta, threshold):
    return backward_product(grad_out, _softplus_grad(x, beta, threshold))


_BETA = Param("beta", 1.0, "inverse temperature: softplus(x) = log(1 + exp(beta * x)) / beta (PyTorch's default)")
_THRESHOLD = Param(
    "threshold",
    20.0,
    "accepted for PyTorch compatibility and ignored: the result is always the accurate one",
)
register(
    Activation(
        name="softplus",
        summary="Softplus, log(1 + exp(beta * x)) / beta.",
        formula="log(1 + exp(beta * x)) / beta",
        grad_formula="sigmoid(beta * x) = 1 / (1 + exp(-beta * x))",
        forward=_softplus,
        grad=_softplus_grad,
        backward=_softplus_backward,
        reference=ref.softplus,
        reference_grad=ref.softplus_grad,
        mp_forward=lambda mp, x, b, t: mp.log1p(mp.exp(b * x)) / b,
        mp_grad=lambda mp, x, b, t: 1 / (1 + mp.exp(-b * x)),
        params=(_BETA, _THRESHOLD),
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Stable evaluation: max(x, 0) + log1p(exp(-|beta x|)) / beta, with our\n"
            "vectorized double-word exp and log1p (``_core_log``) and one rounding at the\n"
            "end, so that the result is accurate everywhere: softplus(21) in float64 is\n"
            "21.000000000758256, not PyTorch's 21 (its threshold shortcut returns x for\n"
            "beta x > threshold), and softplus(-100) is exp(-100) = 3.7e-44 in float64 to\n"
            "the last bit, not 0.  The result equals x exactly where log1p(exp(-beta x)) /\n"
            "beta is below half an ULP of x (beta x > 17 in float32, > 37 in float64), so\n"
            "``threshold`` is accepted for PyTorch compatibility and has no effect.\n"
            "softplus(+-0) is ln2 and softplus_grad(0) = 0.5.  Parameters: beta\n"
            "> 0; beta is clamped to [2**-30, 2**30] (float32) / [2**-200, 2**200]\n"
            "(float64), beta = 0 included, and a negative beta gives NaN.  The\n"
            "derivative sigmoid(beta x) keeps its relative accuracy in the left tail;\n"
            "at beta = 1 it is fastact.sigmoid(x), bit for bit.\n"
            "float32 at beta = 1 runs on the float32 sigmoid's table exp and a 16-entry\n"
            "table log1p, log(1/c_j) + log1p(c_j (1 + e) - 1), with one rounding at the end."
        ),
        transcendental=True,
        forward_block_f32=softplus32_block16,  # beta = 1
        grad_block_f32=sigmoid32_block16,  # beta = 1: the sigmoid
        backward_block_f32=sigmoid_product32_block16,
        forward_block_f64=softplus64_block16,  # beta = 1
        grad_block_f64=sigmoid64_generic_block16,  # beta = 1: the float64 sigmoid
        backward_block_f64=sigmoid_product64_generic_block16,
    )
)


# ================================================================================
# log_sigmoid
# ================================================================================
@_jit
def _log_sigmoid(x):
    if is_float32(x):  # softplus32 of -x, negated on the bit pattern (_softplus32.py)
        return _log_sigmoid32_only(x)
    # -softplus(-x); 0 - y so that a flushed tail (x > 745) gives +0.0
    return type(x)(0) - _softplus_generic(-x, type(x)(1), type(x)(20))


@_jit
def _log_sigmoid_grad64(x):
    return _sigmoid_generic(-x)  # the float64 sigmoid kernel: relative-accurate for x >> 0


@_jit
def _log_sigmoid_grad32(x):
    return sigmoid32(-x)


# float32: the float32 sigmoid of -x (table exp, within 1 ULP, an AVX-512 block
# kernel); float64: the float64 sigmoid kernel of -x (exp rounded once, then a
# corrected quotient: within 1.4 ULP, the bits of fastact.sigmoid(-x)), as for
# softplus'.  A one-rounding sigmoid (within 0.6 ULP) took 40% longer, and
# PyTorch's backward, which reuses a buffer of exp values from its forward, was
# 1.2-1.3x faster than that.
_log_sigmoid_grad_by_dtype = by_dtype(_log_sigmoid_grad32, _log_sigmoid_grad64)


@_jit
def _log_sigmoid_grad(x):
    return _log_sigmoid_grad_by_dtype(x)


@_jit
def _log_sigmoid_backward(grad_out, x):
    return backward_product(grad_out, _log_sigmoid_grad(x))


register(
    Activation(
        name="log_sigmoid",
        summary="Log-sigmoid, log(1 / (1 + exp(-x))) = -softplus(-x).",
        formula="log(1 / (1 + exp(-x))) = -log(1 + exp(-x))",
        grad_formula="sigmoid(-x) = 1 / (1 + exp(x))",
        forward=_log_sigmoid,
        grad=_log_sigmoid_grad,
        backward=_log_sigmoid_backward,
        reference=ref.log_sigmoid,
        reference_grad=ref.log_sigmoid_grad,
        mp_forward=lambda mp, x: -mp.log1p(mp.exp(-x)),
        mp_grad=lambda mp, x: 1 / (1 + mp.exp(x)),
        limits=(-np.inf, 0.0),
        grad_limits=(1.0, 0.0),
        notes=(
            "Stable evaluation: -softplus(-x) = min(x, 0) - log1p(exp(-|x|)) on the\n"
            "double-word exp and log1p, one rounding at the end: log_sigmoid(100) is\n"
            "-exp(-100) = -3.7e-44 in float64, and the derivative sigmoid(-x) =\n"
            "1 - sigmoid(x) is computed as 1/(1 + exp(x)) on the tail side, never as a\n"
            "difference: log_sigmoid_grad(30) is 9.36e-14 in float32, not 0.\n"
            "log_sigmoid(-0.0) = -ln2; log_sigmoid_grad(0) = 0.5; the tail beyond the\n"
            "smallest normal number (x > 103 / 745) gives +0.0.  float32's derivative is\n"
            "the float32 sigmoid of -x (table exp, within 1 ULP), float64's the float64\n"
            "sigmoid kernel of -x (the bits of sigmoid(-x)); float32's forward is the\n"
            "float32 softplus kernel of -x (table exp and table log1p), negated."
        ),
        aliases=("logsigmoid",),
        transcendental=True,
        forward_block_f32=log_sigmoid32_block16,
        grad_block_f32=sigmoid_of_negated32_block16,
        backward_block_f32=sigmoid_of_negated_backward32_block16,
        forward_block_f64=log_sigmoid64_block16,
        grad_block_f64=sigmoid_of_negated64_generic_block16,
        backward_block_f64=sigmoid_of_negated_backward64_generic_block16,
    )
)


# ================================================================================
# mish
# ================================================================================
# Double-word arithmetic on (hi, lo) pairs: every operation keeps its rounding
# error, so that a chain of them rounds once, at the end.
@_jit
def _mul_dd(a, a_lo, b, b_lo):
    p = a * b
    return p, fma(a, b, -p) + (a * b_lo + a_lo * b)


@_jit
def _add_dd(a, a_lo, b, b_lo):
    s, e = two_sum(a, b)
    return s, e + (a_lo + b_lo)


@_jit
def _div_dd(n, n_lo, d, d_lo):
    q = n / d
    res = (fma(-q, d, n) + n_lo) - q * d_lo
    return q, res / d


@_jit
def _mish_parts(x):
    """tanh(softplus(x)) = N / D (double words) in the exp(-|x|) form, and the pieces
    the derivative shares.

    With n = e^x (e^x + 2), tanh(log1p(e^x)) = n / (n + 2): no log, no tanh.  In
    e = exp(-|x|) <= 1 (no overflow):

        x < 0:   N = e (2 + e),  D = e (2 + e) + 2       (e = e^x)
        x >= 0:  N = 1 + 2e,     D = 1 + 2e + 2 e**2     (e = e^-x)

    both N = A B and D = F B + G with A = p (the mantissa of e = p 2**k: the x < 0
    quotient is formed on it and scaled at the end, so it cannot underflow) or 1,
    B = 2 + e or 1 + 2e, F = e or 1, G = 2 or 2 e**2.  e below 2**-40 / 2**-60 is
    dropped from B, F and G (1 + e rounds to 1; its squares would underflow).
    """
    T = type(x)
    _, xmax, _, _, amin = _softplus_bounds(x)
    e0, k0 = log1p_linear_below(x)
    a = abs_clamped(x, amin, exp_limit(x))
    p, p_lo, k = exp_dd(-a, T(0))
    e = ldexp_flush(p, k)
    use = e >= e0
    eh = _select(use, e, T(0))
    el = _select(use, ldexp_signed(p_lo, max(k, k0)), T(0))
    neg = ~sign_clear(x)
    ve = _select(neg, eh, T(2) * eh)
    ve_lo = _select(neg, el, T(2) * el)
    b, b_lo = two_sum(_select(neg, T(2), T(1)), ve)
    b_lo = b_lo + ve_lo
    a_hi = _select(neg, p, T(1))
    a_lo = _select(neg, p_lo, T(0))
    n, n_lo = _mul_dd(a_hi, a_lo, b, b_lo)
    # G = 2 e**2 for x >= 0: e**2 / 2 is also the c of the derivative
    sq, sq_lo = _mul_dd(eh, el, eh, el)
    f_hi = _select(neg, eh, T(1))
    f_lo = _select(neg, el, T(0))
    fb, fb_lo = _mul_dd(f_hi, f_lo, b, b_lo)
    d, d_lo = _add_dd(fb, fb_lo, _select(neg, T(2), T(2) * sq), _select(neg, T(0), T(2) * sq_lo))
    return n, n_lo, d, d_lo, a_hi, a_lo, sq, sq_lo, eh, el, k, neg, xmax


@_jit
def _mish64(x):
    T = type(x)
    n, n_lo, d, d_lo, _, _, _, _, _, _, k, neg, xmax = _mish_parts(x)
    t, t_lo = _div_dd(n, n_lo, d, d_lo)
    # x * t with one rounding, then 2**k (x < 0) exactly on the bit pattern.  x is
    # clamped to [smallest normal, 2**500] (x < 0: to the exp clamp, where the true
    # result is already below the smallest normal number) and scaled by 2**64 where
    # tiny, so that the residual of the product stays normal.
    # (calls, not ternaries: inlined through an overload)
    hi = _select(neg, exp_limit(x), xmax)
    xc = np.copysign(abs_clamped(x, smallest_normal(x), hi), x)
    small = float_bits(abs(x)) < float_bits(T(2.0**-40))
    xs = xc * _select(small, T(2.0**64), T(1))
    y = xs * t
    y = y + (fma(xs, t, -y) + xs * t_lo)
    # + 0: a result flushed below the smallest normal number is +0.0 (mish(-0.0) too)
    y = ldexp_signed(y, _select(neg, k, 0) - _select(small, 64, 0)) + T(0)
    # beyond the clamp (x > 2**500, +inf included) tanh(softplus(x)) == 1
    return _select((x != x) | (float_bits(x) > float_bits(xmax)), x, y)


# float32: mish32 (_mish32.py), the float32 sigmoid's table exp and one corrected
# division; float64: the double-word kernel above
_mish_by_dtype = by_dtype(mish32, _mish64)


@_jit
def _mish(x):
    return _mish_by_dtype(x)


# mish' vanishes at x0 = -1.1924312145...; near it the rational form cancels, and
# mish'(x0 + d) = c1 d + d**2 (c2 + c3 d + ...) is used for |d| < 2**-6, with x0 and
# c1 as double words (tools/fit_mish_root.py: Taylor coefficients at 60 digits; the
# float32 ones live with the float32 kernel, _mish32.py, and the float32 instance
# of this generic code is compiled but never reached)
_MISH_X0_32 = MISH_X0_32
_MISH_C1_32 = MISH_C1_32
_MISH_ROOT_32 = MISH_TAYLOR[:4]
_MISH_X0_64 = (-1.1924312145154952, -4.8484829848031044e-17)
_MISH_C1_64 = (0.2669479140495345, 1.5332816617135587e-17)
_MISH_ROOT_64 = MISH_TAYLOR
_MISH_ROOT_W = 2.0**-6


@_jit
def _mish_root32(x):
    f = np.float32
    d, d_lo = two_sum(x - f(_MISH_X0_32[0]), -f(_MISH_X0_32[1]))
    c = _MISH_ROOT_32
    q = d * (f(c[0]) + d * (f(c[1]) + d * (f(c[2]) + d * f(c[3]))))
    c1, c1_lo = f(_MISH_C1_32[0]), f(_MISH_C1_32[1])
    g = d * c1
    return d, g + ((fma(d, c1, -g) + (d * c1_lo + d_lo * c1)) + d * q)


@_jit
def _mish_root64(x):
    d, d_lo = two_sum(x - _MISH_X0_64[0], -_MISH_X0_64[1])
    c = _MISH_ROOT_64
    d2 = d * d
    d4 = d2 * d2
    q = d * (((c[0] + d * c[1]) + d2 * (c[2] + d * c[3])) + d4 * ((c[4] + d * c[5]) + d2 * (c[6] + d * c[7])))
    c1, c1_lo = _MISH_C1_64
    g = d * c1
    return d, g + ((fma(d, c1, -g) + (d * c1_lo + d_lo * c1)) + d * q)


def _mish_root(x):
    """(d, mish'(x)) near the zero of mish', d = x - x0 (exact there)."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_mish_root, inline="always")
def _mish_root_overload(x):
    if x == types.float32:
        return lambda x: _mish_root32(x)
    if x == types.float64:
        return lambda x: _mish_root64(x)
    return None


# float32: mish_grad32 (_mish32.py), the float32 sigmoid's table exp and one
# corrected division, an AVX-512 block kernel; float64: the double-word kernel
# below (the float32 instance of its code is never reached)
_mish_grad32_only = float32_only(mish_grad32)


@_jit
def _mish_grad(x):
    T = type(x)
    if is_float32(x):
        return _mish_grad32_only(x)
    n, n_lo, d, d_lo, a_hi, a_lo, sq, sq_lo, eh, el, k, neg, xmax = _mish_parts(x)
    xmin, _, _, _, _ = _softplus_bounds(x)
    # mish' = t + x (1 - t**2) sigmoid(x) = (N D + 4 x c (1 + e)) / D**2, with
    # c = e (x < 0, on its mantissa: the whole quotient is scaled by 2**k) or e**2
    # (x >= 0); |x| clamped to [2**-60 / 2**-120, exp clamp or 2**60 / 2**500]
    xg = np.copysign(abs_clamped(x, xmin, exp_limit(x) if neg else xmax), x)
    c = a_hi if neg else sq
    c_lo = a_lo if neg else sq_lo
    w, w_lo = two_sum(T(1), eh)
    cw, cw_lo = _mul_dd(c, c_lo, w, w_lo + el)
    xcw, xcw_lo = _mul_dd(T(4) * xg, T(0), cw, cw_lo)
    nd, nd_lo = _mul_dd(n, n_lo, d, d_lo)
    z, z_lo = _add_dd(nd, nd_lo, xcw, xcw_lo)
    dd, dd_lo = _mul_dd(d, d_lo, d, d_lo)
    q, q_lo = _div_dd(z, z_lo, dd, dd_lo)
    g = ldexp_signed(q + q_lo, k if neg else 0) + T(0)  # flushed: +0.0
    # x - x0 is only formed on x clamped near x0 (no flag for inf or NaN)
    d, g_root = _mish_root(np.copysign(abs_clamped(x, T(1), T(2)), x))
    g = g_root if abs(d) < T(_MISH_ROOT_W) else g
    return x if x != x else (T(1) if float_bits(x) > float_bits(xmax) else g)


@_jit
def _mish_backward(grad_out, x):
    return backward_product(grad_out, _mish_grad(x))  # mish' reaches 1.09


def _mp_mish_grad(mp, x):
    sp = mp.log1p(mp.exp(x))
    return mp.tanh(sp) + x * mp.sech(sp) ** 2 / (1 + mp.exp(-x))


register(
    Activation(
        name="mish",
        summary="Mish, x * tanh(softplus(x)).",
        formula="x * tanh(log(1 + exp(x)))",
        grad_formula="tanh(softplus(x)) + x * sech(softplus(x))**2 * sigmoid(x)",
        forward=_mish,
        grad=_mish_grad,
        backward=_mish_backward,
        reference=ref.mish,
        reference_grad=ref.mish_grad,
        mp_forward=lambda mp, x: x * mp.tanh(mp.log1p(mp.exp(x))),
        mp_grad=_mp_mish_grad,
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Stable evaluation: with n = e^x (e^x + 2), tanh(softplus(x)) = n / (n + 2), so\n"
            "no log and no tanh are needed; it is evaluated in e = exp(-|x|) <= 1 (never\n"
            "overflowing) as e(2 + e) / (e(2 + e) + 2) for x < 0 and (1 + 2e) / (1 + 2e +\n"
            "2e^2) for x >= 0, in double-word arithmetic with one rounding at the end.  The\n"
            "derivative is (N D + 4 x c (1 + e)) / D^2 in the same terms (c = e or e^2), and\n"
            "near its zero x0 = -1.19243 (mish's minimum, where that form cancels) a Taylor\n"
            "polynomial in x - x0, with x0 as a double word, keeps the relative accuracy.\n"
            "mish(-0.0) = +0.0 (like every result flushed below the smallest normal number);\n"
            "tiny inputs keep relative accuracy (mish(x) = 0.6 x near 0; tanh(ln2) = 0.6).\n"
            "The left tail x e^x keeps its relative accuracy down to the smallest normal\n"
            "number.  mish is not monotone: it dips to -0.3088 at x0.  float32's forward\n"
            "runs on the float32 sigmoid's table-driven exp (one vpermps per lookup on\n"
            "AVX-512) with one corrected division: |x| E B / (2 + e B), B = 2 + e, for x < 0\n"
            "and |x| B / (B + 2e^2), B = 1 + 2e, for x >= 0 (e = 2^k E); its derivative is\n"
            "2^k E (B D - 4|x| (1 + e)) / D^2 (x < 0) and (B D + 4|x| e^2 (1 + e)) / D^2\n"
            "(x >= 0) in double words, with a degree-7 polynomial within 2^-3 of the root."
        ),
        transcendental=True,
        monotone=False,
        forward_block_f32=mish32_block16,
        grad_block_f32=mish_grad32_block16,
        backward_block_f32=mish_backward32_block16,
        forward_block_f64=mish64_block16,
    )
)
