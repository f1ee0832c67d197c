"""The expm1 family: elu, celu, selu."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
from numba import types
from numba.extending import overload

from .. import reference as ref
from .._core import (
    _select,
    abs_clamped,
    backward_product,
    chain_rule,
    exp_limit,
    exp_reduce,
    expm1_clamped,
    expm1_linear_below,
    float_bits,
    float_from_bits,
    fma,
    is_positive,
    largest_finite,
    ldexp_flush,
    ldexp_signed,
    quiet_greater,
    scaled_exactly,
)
from .._exp_grad32 import exp_backward32_block16, exp_grad32, exp_grad32_block16, scaled_exp32, scaled_exp_blocks
from .._registry import Activation, Param, register
from ._common import _TINY, _jit, _per_dtype, range_blocks
from .logistic import _exp_neg_abs, float32_only, is_float32

# ================================================================================
# The expm1 family: elu, celu, selu
# ================================================================================


def _expm1_sat(x):
    """Where expm1(-|x|) is clamped: it rounds to -1 from 17.4 on in float32 and
    from 37.5 on in float64.  float32 clamps at 20, not further out: expm1's low
    part is scaled by 2**k, and below about 2**-58 that product can be subnormal
    (an underflow flag: selu(79.01874), whose lanes compute both branches,
    raised one with a clamp at 80)."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_expm1_sat, inline="always")
def _expm1_sat_overload(x):
    if x == types.float32:
        return lambda x: np.float32(20.0)
    if x == types.float64:
        return lambda x: 40.0
    return None


@_jit
def _expm1_neg_abs(x):
    """expm1(-|x|) as (hi, lo), and whether |x| is below the linear threshold, where
    expm1(x) == x to the last bit: hi is then x itself (the value for x <= 0)."""
    T = type(x)
    lin = expm1_linear_below(x)
    hi, lo = expm1_clamped(-abs_clamped(x, lin, _expm1_sat(x)))
    small = float_bits(abs(x)) < float_bits(lin)
    # selects, not ternaries, as in softsign: under a branch on `small` LLVM drops
    # the clamp at lin and the expm1 of a tiny x underflows on lanes that discard it
    return _select(small, x, hi), _select(small, T(0), lo), small


# --------------------------------------------------------------------------------
# elu
# --------------------------------------------------------------------------------
_ALPHA = Param("alpha", 1.0, "scale of the negative branch, -alpha is the limit at -inf (PyTorch's default)")


@_jit
def _elu_at_one(x):
    """elu at alpha = 1: expm1(x) is final for x <= 0."""
    hi, _, _ = _expm1_neg_abs(x)
    return x if is_positive(x) | (x != x) else hi


@_jit
def _elu(x, alpha):
    # alpha * expm1(x) through chain_rule: no underflow flag for tiny products, no
    # inf * 0; alpha == 1 (the default) skips it.  A branch that returns, not a
    # select on the two products: alpha is the same for the whole loop, so LLVM
    # takes the branch out of it (loop unswitching) and the loop with alpha = 1 as
    # an argument runs the one with it compiled in (a select computed chain_rule in
    # every lane: 2.3x / 1.9x the time in float32 / float64).
    if alpha == type(x)(1):
        return _elu_at_one(x)
    hi, _, _ = _expm1_neg_abs(x)
    return x if is_positive(x) | (x != x) else chain_rule(alpha, hi)


def _scaled_exp_layout(x):
    """(clamp on |x|, lowest power of two asked of ldexp_signed, mantissa bits,
    all-ones exponent field) for :func:`_scaled_exp_neg_abs` in the dtype of ``x``.

    alpha * exp(-|x|) can be normal down to exp(-|x|) = 2**-126 / 2**127 (float32;
    2**-1022 / 2**1023 in float64), so |x| is clamped at 192 (1456) instead of
    exp_limit's 104 (746); below 2**-200 (2**-1100) every product is 0 anyway."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_scaled_exp_layout, inline="always")
def _scaled_exp_layout_overload(x):
    if x == types.float32:
        return lambda x: (np.float32(192.0), -200, 23, 0xFF)
    if x == types.float64:
        return lambda x: (1456.0, -1100, 52, 0x7FF)
    return None


@_jit
def _scaled_exp_neg_abs(x, alpha):
    """alpha * exp(-|x|), rounded once: alpha's mantissa times exp's (both in
    [0.70, 2.84)), then both exponents added on the bit pattern.  Scaling a flushed
    exp(-|x|) instead lost every result that an alpha above 1 lifts back above the
    smallest normal (elu_grad(-87.5, 20) in float32 was 0, not 2.0e-37).  Results
    below the smallest normal are +-0 and beyond the largest finite +-inf, with no
    flag; alpha = 0 or subnormal gives 0, inf gives inf and NaN gives NaN."""
    T = type(x)
    limit, k_floor, mant, emax = _scaled_exp_layout(x)
    bias = emax >> 1
    p, k = exp_reduce(-abs_clamped(x, _TINY, limit))
    bits = float_bits(alpha)
    field = (bits >> mant) & emax
    normal = (field != 0) & (field != emax)
    # alpha = m * 2**e with 1 <= |m| < 2: its exponent field replaced by the bias
    m = float_from_bits((bits & ~(emax << mant)) | (bias << mant), alpha)
    m = _select(normal, m, _select(field == 0, T(0), alpha))
    e = _select(normal, field - bias, 0)
    return ldexp_signed(m * p, max(k + e, k_floor))


# float32 at alpha = 1: exp_grad32 (_exp_grad32.py, the float32 sigmoid's table
# exp, 0.55 ULP, an AVX-512 block kernel for the loops with the default alpha)
# instead of exp(x) rounded once and scaled (1.02 ULP); elu' and celu' share it
_exp_grad32_only = float32_only(exp_grad32)


@_jit
def _elu_grad(x, alpha):
    T = type(x)
    if alpha == T(1):  # the same bits whether alpha = 1 is compiled in or passed
        if is_float32(x):
            return _exp_grad32_only(x)
        # float64: exp(-|x|) flushed below the smallest normal (the sigmoid's
        # _exp_neg_abs), the bits _scaled_exp_neg_abs gives at alpha = 1 without
        # its general rescaling: float64 elu' and elu_backward 25-30% faster at 10^6
        d = _exp_neg_abs(x)
    else:
        d = _scaled_exp_neg_abs(x, alpha)
    return x if x != x else (T(1) if is_positive(x) else d)


@_jit
def _elu_backward(grad_out, x, alpha):
    return backward_product(grad_out, _elu_grad(x, alpha))  # alpha may exceed 1


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
            "elu_grad(0) = alpha.  Saturation: elu(-1000) == -alpha exactly.  float32's\n"
            "derivative at alpha = 1 is exp(x) from the float32 sigmoid's table exp,\n"
            "rounded once."
        ),
        transcendental=True,
        grad_block_f32=exp_grad32_block16,  # alpha = 1
        backward_block_f32=exp_backward32_block16,
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
    """(q, small, c): q = |x| / alpha clamped to [expm1's linear threshold, top]
    and rounded, whether |x| / alpha is below that threshold, and c, the rounding
    error of q (|x| / alpha = q + c to within c's own rounding; 0 when alpha = 1),
    without a flag for any x or alpha."""
    T = type(x)
    da = abs_clamped(alpha, T(_CELU_ALPHA_MIN), T(_CELU_ALPHA_MAX))
    lo = da * expm1_linear_below(x)  # exact: a power of two
    a = abs_clamped(x, lo, da * top)
    q = a / da
    # The residual a - q da, on operands scaled by 2**64 for a tiny alpha: unscaled
    # (a as small as alpha 2**-40), it can fall below the normal range, inexact
    # (an underflow flag: float32 celu' at alpha = 1e-21, x = 1e-33).  Scaled, it
    # is exact, the same value times 2**64.  The scale is selected, not the operands.
    sc = T(2.0**64) if da < T(2.0**-30) else T(1)
    ds = da * sc
    return q, float_bits(abs(x)) < float_bits(lo), fma(-q, ds, a * sc) / ds


@_jit
def _celu_alpha_ok(alpha):
    T = type(alpha)
    return (alpha == T(0)) | quiet_greater(alpha, T(0))


@_jit
def _celu(x, alpha):
    T = type(x)
    if alpha == T(1):
        return _elu(x, alpha)  # the same bits, without the division by alpha
    q, small, _ = _celu_ratio(x, alpha, _expm1_sat(x))
    hi, _ = expm1_clamped(-q)
    neg = chain_rule(alpha, hi)  # alpha != 1 here
    # |x| / alpha below the linear threshold: alpha * expm1(x / alpha) rounds to x
    neg = _select(small, x, neg)  # a select: see _expm1_neg_abs
    y = x if is_positive(x) else (neg if _celu_alpha_ok(alpha) else T(np.nan))
    return x if x != x else y


@_jit
def _celu_grad(x, alpha):
    T = type(x)
    if alpha == T(1):
        # celu' is elu' at alpha = 1, bit for bit in both dtypes (float32: the table
        # exp; float64: exp(-|x|) without the division by alpha)
        return _elu_grad(x, alpha)
    q, _, c = _celu_ratio(x, alpha, exp_limit(x))
    p, k = exp_reduce(-q)
    # exp(-q) alone turns the division's rounding error into up to q/2 ULP (57 ULP
    # at x / alpha = -67 in float32); it is put back as exp(-q - c) = exp(-q) * (1 - c).
    g = T(1) if is_positive(x) else ldexp_flush(fma(-p, c, p), k)
    return x if x != x else (g if _celu_alpha_ok(alpha) else T(np.nan))


@_jit
def _celu_backward(grad_out, x, alpha):
    return backward_product(grad_out, _celu_grad(x, alpha))


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
            "[2**-80, 2**80]); a negative alpha gives NaN.  float32's derivative at\n"
            "alpha = 1 is elu's, exp(x) from the float32 sigmoid's table exp."
        ),
        transcendental=True,
        grad_block_f32=exp_grad32_block16,  # alpha = 1
        backward_block_f32=exp_backward32_block16,
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
    # the fifth entry: below it (a quarter of the smallest normal number) every
    # result is flushed to 0, and the lo part of the constant is left out, where
    # its product with the scaled x would be subnormal (float64)
    _SELU32 = (_double_word(_SELU_LAMBDA, np.float32) + _double_word(_SELU_LAMBDA_ALPHA, np.float32)
               + (np.float32(2.0**-128),))
    _SELU64 = (_double_word(_SELU_LAMBDA, np.float64) + _double_word(_SELU_LAMBDA_ALPHA, np.float64)
               + (np.float64(2.0**-1024),))


#: the smallest subnormal number times 2**64, per dtype
_SUBNORMAL_UNIT_2P64 = _per_dtype(2.0**-85, 2.0**-1010)


def _selu_constants(x):
    """(scale hi, lo, scale*alpha hi, lo, flush floor) in the dtype of ``x``."""
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
    s_hi, s_lo, sa_hi, sa_lo, floor = _selu_constants(x)
    pos = is_positive(x)
    e_hi, e_lo, small = _expm1_neg_abs(x)
    # One product c * w, both double words: w = x for x > 0 (inf clamped to the
    # largest finite number, where the product still overflows: a negative lo part
    # times inf would meet +inf in the sum), expm1(x) for x <= 0 (x itself when tiny).  It is formed on w scaled by
    # 2**-2 (so that scale * max cannot overflow) or, for tiny |x|, by 2**64 (so
    # that it cannot underflow; the lo part of c is kept, so the product is within
    # a hair of one rounding there too, except below a quarter of the smallest
    # normal, where every result is flushed), then rescaled exactly on the bit pattern: +inf exactly where
    # scale * x rounds to it, 0 where the result is below the smallest normal.
    # The scale is chosen by a select, w is not: a select on w would let LLVM
    # evaluate the product on the unselected operand.
    w_hi = abs_clamped(x, T(0), largest_finite(x)) if pos else e_hi
    w_lo = T(0) if pos else e_lo
    c_hi = s_hi if pos else sa_hi
    c_lo = T(0) if float_bits(abs(x)) < float_bits(floor) else (s_lo if pos else sa_lo)
    sc = T(2.0**64) if small else T(0.25)
    # no product on a subnormal w (small, so sc is 2**64 there)
    ws = scaled_exactly(w_hi, sc, T(2.0**64), _SUBNORMAL_UNIT_2P64(x))
    y = fma(c_hi, ws, c_hi * (w_lo * sc) + c_lo * ws)
    y = ldexp_signed(y, -64 if small else 2)
    return x if (x != x) | (x == T(0)) else y  # selu(-0.0) = -0.0


@_jit
def _selu_fast(x):
    """:func:`_selu` for |x| in [expm1's linear threshold, 2**100]: the same
    operations without what is an identity there (the tiny-x scale, the flush
    floor, the clamp of x at the largest finite number and the NaN and zero
    selects), with the scale 2**2 put back by a product, exact where the result is
    normal and finite, which it is on that range (as ldexp_signed's bit arithmetic)."""
    T = type(x)
    s_hi, s_lo, sa_hi, sa_lo, _ = _selu_constants(x)
    pos = is_positive(x)
    e_hi, e_lo = expm1_clamped(-min(abs(x), _expm1_sat(x)))
    w_hi = x if pos else e_hi
    w_lo = T(0) if pos else e_lo
    c_hi = s_hi if pos else sa_hi
    c_lo = s_lo if pos else sa_lo
    sc = T(0.25)
    ws = w_hi * sc
    return fma(c_hi, ws, c_hi * (w_lo * sc) + c_lo * ws) * T(4)


_SELU_FAST_MAX = 2.0**100
# float64: with runs drivers (kernels._common._runs_drivers: runs of 256 values in
# the fast range computed as one plain loop): N(0, 1) at 10^6, one thread, Zen 4,
# 1.36 -> 1.05 ns per value, the same on |x| in [20, 1000] (all in range)
_SELU32_BLOCK, _ = range_blocks(_selu_fast, _selu, 2.0**-40, _SELU_FAST_MAX, dtype="float32")
_SELU64_BLOCK, _ = range_blocks(_selu_fast, _selu, 2.0**-60, _SELU_FAST_MAX, dtype="float64", runs=True)


@_jit
def _selu_grad32(x):
    return scaled_exp32(x, _SELU32[2], _SELU32[3], _SELU32[0])


# float32: scale alpha exp(x) on the float32 sigmoid's table exp (_exp_grad32.py,
# 0.55 ULP, AVX-512 block kernels) instead of exp(x) rounded once (1.64 ULP)
_selu_grad32_only = float32_only(_selu_grad32)
_selu_grad32_block16, _selu_backward32_block16 = scaled_exp_blocks(_SELU32[2], _SELU32[3], _SELU32[0])


@_jit
def _selu_grad(x):
    if is_float32(x):
        return _selu_grad32_only(x)
    s_hi, _, sa_hi, sa_lo, _ = _selu_constants(x)
    a = abs_clamped(x, _TINY, exp_limit(x))
    p, k = exp_reduce(-a)
    # scale*alpha * exp(-|x|): the product is formed on the mantissa p (normal, no
    # underflow for the lo part) and scaled exactly afterwards
    d = ldexp_flush(fma(sa_hi, p, sa_lo * p), k)
    return x if x != x else (s_hi if is_positive(x) else d)


@_jit
def _selu_backward(grad_out, x):
    return backward_product(grad_out, _selu_grad(x))  # the derivative reaches 1.76


_SELU_LIMIT = -float(_SELU_LAMBDA_ALPHA)
register(
    Activation(
        name="selu",
        summary="Scaled ELU, scale * (x if x > 0 else alpha * (exp(x) - 1)).",
        formula="scale * (x if x > 0 else alpha * (exp(x) - 1)),  scale = 1.0507..., alpha = 1.6732...",
        grad_formula="scale if x > 0 else scale * alpha * exp(x)",
        forward=_selu,
        forward_block_f32=_SELU32_BLOCK,
        forward_block_f64=_SELU64_BLOCK,
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
            "branch, scale * alpha; selu(-0.0) = -0.0.  float32's derivative is\n"
            "scale * alpha * exp(x) from the float32 sigmoid's table exp (a double word)\n"
            "times scale * alpha as a double word, rounded once."
        ),
        transcendental=True,
        grad_block_f32=_selu_grad32_block16,
        backward_block_f32=_selu_backward32_block16,
    )
)
