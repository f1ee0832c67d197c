"""The gated family: silu (swish), gelu (exact, erfc-based) and gelu_tanh.

Each is x times a gate (sigmoid(x), Phi(x), the tanh approximation of Phi), and
each derivative crosses zero once at a negative x0 (silu: -1.278, gelu: -0.752),
where its textbook form cancels.  There the kernels switch to a fitted polynomial
t * P(t) in t = x - x0 (``tools/fit_roots.py``), which keeps relative accuracy.
"""

from __future__ import annotations

import numpy as np
from numba.extending import overload

from .. import reference as ref
from .._core import (
    _select,
    backward_product,
    float_bits,
    fma,
    ldexp_flush,
    ldexp_normal,
    ldexp_signed,
    quiet_greater,
    sign_clear,
    two_sum,
)
from .._erf import TAIL_END64, div_dw, normal_tail, normal_tail_of_abs64
from .._gelu32 import (
    gelu32,
    gelu32_block16,
    gelu_backward32_block16,
    gelu_grad32,
    gelu_grad32_block16,
)
from .._gelu_tanh32 import (
    gelu_tanh32,
    gelu_tanh32_block16,
    gelu_tanh_backward32_block16,
    gelu_tanh_grad32,
    gelu_tanh_grad32_block16,
)
from .._gelu_tanh64 import FAST_BITS as _GELU_TANH64_FAST_BITS
from .._gelu_tanh64 import (
    K_TEXT,
    emit_gelu_tanh_grad64_off_root,
    gelu_tanh64,
    gelu_tanh64_block16,
    gelu_tanh_grad64_off_root,
)
from .._logistic64 import (
    near_root_grad64_blocks,
    silu64,
    silu64_block16,
    silu_grad64_blocks,
    silu_grad64_off_root,
)
from .._registry import Activation, register
from .._silu32 import silu32, silu32_block16
from .._silu_grad32 import silu_backward32_block16, silu_grad32, silu_grad32_block16
from ._common import _TINY, _jit, _per_dtype, range_blocks
from .logistic import by_dtype


def _horner(t, c):
    """c[0] + t * (c[1] + t * (...)) for a tuple of constants of the type of t."""
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(_horner, inline="always")
def _horner_overload(t, c):
    # unrolled for the tuple's length: straight-line code, which Numba's IR inliner
    # handles inside the by_dtype overloads (a loop's phis it does not)
    n = len(c)
    steps = "".join(f"    acc = fma(acc, t, c[{i}])\n" for i in range(n - 2, -1, -1))
    namespace = {"fma": fma}
    exec(f"def horner(t, c):\n    acc = c[{n - 1}]\n{steps}    return acc\n", namespace)
    return namespace["horner"]


@_jit
def _near_root(x, root, lead, coef, half_width):
    """(f'(x) = t * P(t) with t = x - x0, and whether |x - x0| <= half_width).

    ``root`` is x0 as hi + lo: d = x - hi is exact (Sterbenz: x within a factor 2
    of x0 on the window), so t keeps relative accuracy right next to the root.
    ``lead`` is P(0) as a double word and ``coef`` the rest of P: the leading term
    enters as the exact product d P(0) inside the final FMA, and the rest, -lo P(0)
    + t (P(0)_lo + t Q(t)), is a small correction (t = d - lo, rounded, weighs
    only there; as t P(0) the leading term took t's rounding, up to 1.28 ULP).  The
    polynomial is evaluated for every x (branch-free); off the window t is set to 0
    so that nothing overflows, and the caller discards the value.
    """
    T = type(x)
    hi, lo = root
    c0, c0_lo = lead
    d = x - hi
    inside = float_bits(abs(d)) <= float_bits(T(half_width))
    dc = _select(inside, d, T(0))  # NaN and far x: a harmless t
    t = dc - lo
    return fma(dc, c0, fma(t, fma(t, _horner(t, coef), c0_lo), -(lo * c0))), inside


def _root_fit(root32, root64, p32, p64, p0_lo64):
    """Per-dtype (root, P(0) hi/lo, rest of P) from the printed fits of
    tools/fit_roots.py.  float32's P(0) low part comes from the float64 fit."""
    lead32 = (np.float32(p64[0]), np.float32(p64[0] - float(np.float32(p64[0]))))
    return (
        _per_dtype(root32, root64),
        _per_dtype(lead32, (p64[0], p0_lo64)),
        _per_dtype(tuple(p32[1:]), tuple(p64[1:])),
    )


# Coefficients printed by tools/fit_roots.py (relative error of t * P(t) on the
# window: 4.4e-10 for float32, 2.8e-20 for float64; float32 silu' itself is a
# table of polynomials, _silu_grad32.py).  The window is 1/32 wide on either side: beyond, 1 - |x| u
# in silu_grad64_off_root cancels by at most a factor 30 and carries |x| u's
# error, from the exp's, into the result.  Narrowing it from 1/2 (degree 16) to
# 1/8 cut the blocks of 16 N(0, 4^2) values that evaluate the polynomial from 4
# in 5 to 1 in 3, and to 1/32 to 1 in 11 (2026-12-04, then with the lean exp's
# 2^-54.4: 1.144 ULP over the 10^7-sample verify, 1.53 at worst near x = -1.04).
# On the table exp (2^-56.4, 2026-12-05, _logistic64.exp_neg64_table): 0.599 ULP
# over the verify's samples; off the window, 0.69 at worst in 3000 mpmath-judged
# samples at 1/32-1/16 from x0, 0.96 at 1/64-1/32 and 1.20 at 1/128-1/64 (where a
# narrower window would take the off-root formula).
_SILU_ROOT, _SILU_LEAD, _SILU_P = _root_fit(
    (-1.2784645557403564, 1.2979282537628478e-08),
    (-1.2784645427610737, -1.0946994183093437e-16),
    (0.2178117058145245, 0.14664879680954446, 0.018874704825317317, -0.015222627004173534,
     -0.006587898704122786, 0.00012822162260483618),
    (0.2178117057198001, 0.1466487969969469, 0.01887481422378234, -0.015222655223188093,
     -0.006606589138377582, 0.00012662741010364064, 0.0007985218875478065, 0.00018570724022052177,
     -4.0906047556205845e-05, -2.9733312795917333e-05, -2.9024595615286997e-06, 2.3398332691212798e-06),
    -3.980391282187357e-18,
)  # fmt: skip
_SILU_HALF_WIDTH = 1 / 32
#: half width of the near-root window of gelu (float64)
_GELU_ROOT_HALF_WIDTH = 0.25


# ================================================================================
# silu
# ================================================================================
# float32: the table-driven exp and corrected division of the float32 sigmoid
# (_silu32.py); float64: the same scheme on a double-word exp (_logistic64.py).
# Both within 1 ULP, at about half the time of the generic gated kernels.
_silu_by_dtype = by_dtype(silu32, silu64)


@_jit
def _silu(x):
    return _silu_by_dtype(x)


@_jit
def _silu_grad64(x):
    y = silu_grad64_off_root(x)
    r, inside = _near_root(x, _SILU_ROOT(x), _SILU_LEAD(x), _SILU_P(x), _SILU_HALF_WIDTH)
    return _select(inside, r, y)  # calls, not ternaries: inlined through an overload


# float32: silu_grad32 (_silu_grad32.py), a table of degree-8 polynomials on 32
# intervals (no exp, no division) and short exp formulas beyond |x| = 12.4;
# float64: an exp-based formula on the table exp (_logistic64.py) and the
# fitted polynomial within 1/32 of the root
_silu_grad_by_dtype = by_dtype(silu_grad32, _silu_grad64)


@_jit
def _silu_grad(x):
    return _silu_grad_by_dtype(x)


# the float64 block kernels of silu' and the fused backward, on the same fit
_SILU_GRAD64_BLOCK, _SILU_BACKWARD64_BLOCK = silu_grad64_blocks(
    _SILU_ROOT.float64, _SILU_LEAD.float64, _SILU_P.float64, _SILU_HALF_WIDTH
)


@_jit
def _silu_backward(grad_out, x):
    return backward_product(grad_out, _silu_grad(x))  # silu' reaches 1.0998


register(
    Activation(
        name="silu",
        summary="Sigmoid linear unit (swish), x * sigmoid(x).",
        formula="x * sigmoid(x) = x / (1 + exp(-x))",
        grad_formula="sigmoid(x) * (1 + x * (1 - sigmoid(x)))",
        forward=_silu,
        grad=_silu_grad,
        backward=_silu_backward,
        reference=ref.silu,
        reference_grad=ref.silu_grad,
        mp_forward=lambda mp, x: x / (1 + mp.exp(-x)),
        mp_grad=lambda mp, x: (1 + mp.exp(-x) * (1 + x)) / (1 + mp.exp(-x)) ** 2,
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "Stable evaluation: with e = exp(-|x|), silu(x) = x / (1 + e) for x >= 0 and\n"
            "x e / (1 + e) for x < 0, one corrected division with the product x e kept\n"
            "exact; e is applied as an exact power-of-two scaling last, so the negative tail\n"
            "keeps its relative accuracy down to the smallest normal number\n"
            "(silu(-90) = -7.3e-38 in float32).  The derivative s (1 + x (1 - s)) is\n"
            "(1 + e (1 + x)) / (1 + e)^2 for x >= 0 and e (1 - |x| + e) / (1 + e)^2 for\n"
            "x < 0 (no 1 - s cancellation: silu_grad(-30) is -2.7e-12 in float32, not 0),\n"
            "and near its root x0 = -1.27846 a fitted polynomial in x - x0.  silu(-0.0) =\n"
            "-0.0; tiny inputs give x / 2.  Not monotone: silu dips to -0.2785 at x0.\n"
            "float32 silu shares the float32 sigmoid's table-driven exp (one vpermps per\n"
            "lookup on AVX-512) and its corrected division, with |x| e as a double word.\n"
            "float32 silu' is a table of degree-8 polynomials on 32 intervals of width 0.8\n"
            "centred on the root (no exp, no division; the root's interval is anchored at\n"
            "the float32 nearest x0, so the relative accuracy holds through the zero\n"
            "crossing), with 1 + e (x - 1) and e (1 + x + e) / (1 + e)^2 beyond |x| = 12.4."
        ),
        aliases=("swish",),
        transcendental=True,
        monotone=False,
        forward_block_f32=silu32_block16,
        grad_block_f32=silu_grad32_block16,
        backward_block_f32=silu_backward32_block16,
        forward_block_f64=silu64_block16,
        grad_block_f64=_SILU_GRAD64_BLOCK,
        backward_block_f64=_SILU_BACKWARD64_BLOCK,
    )
)


# ================================================================================
# gelu (exact)
# ================================================================================
# gelu(x) = x Phi(x) = (x/2) erfc(-x/sqrt2), PyTorch's default gelu.  With a = |x|
# and Phi(-a) = exp(-a^2/2) / (sqrt(2 pi) (a + S(a))) from ``_erf.normal_tail``
# (the mantissa p and the denominator D as double words, 2**k apart):
#   gelu(x)  = -a Phi(-a)          = -(a p / D) 2**k              for x < 0
#            = a (1 - Phi(-a))     = a - (a p / D) 2**k            for x >= 0
#   gelu'(x) = Phi(-a) - a phi(a)  = (p (1 - a d) / D) 2**k         for x < 0
#            = 1 - Phi(-a) + a phi(a) = 1 - (p (1 - a d) / D) 2**k for x >= 0
# with d = a + S(a) = 1 / R(a).  Phi(-a) - a phi(a) = phi(a) (R(a) - a) cancels in the
# textbook form everywhere in the tail (both terms ~ a phi(a)); as p (1 - a d) / D
# it cancels only near the root x0 = -0.7518 (a d = 1), where 1 - a d is formed
# as a double word and, within 0.25 of x0, the fitted polynomial in x - x0 takes
# over.  This is the float64 kernel; float32 is ``_gelu32`` (float32 arithmetic,
# the same decomposition with a piecewise polynomial for the scaled Mills ratio).
# The mantissa is rounded once before the exact 2**k.  Coefficients printed by
# tools/fit_roots.py (relative error of t * P(t) on the window: 6.5e-22).
_GELU_ROOT64 = (-0.7517915246935645, 1.4956759177009883e-17)
_GELU_LEAD64 = (0.4314939923140469, 2.73089548685336e-17)
_GELU_P64 = (
    0.388284982990552, -0.018199676398671087, -0.1140082332972217, -0.014771522148244157,
    0.019421679838188464, 0.004539228379102501, -0.0022395380680267116, -0.0007448268372466115,
    0.00018633974437567155, 8.615943027073079e-05, -1.1214341050099835e-05, -7.747554323886244e-06,
    4.3243283661567207e-07, 5.614031369423053e-07,
)  # fmt: skip
#: |x| from which float64 gelu(x) is x or +0 and gelu'(x) 1 or 0 (the tail's clamp)
_GELU_END = TAIL_END64


@_jit
def _gelu_quotient64(a, p, p_lo, big, big_lo):
    """a Phi(-a) / 2**k from :func:`normal_tail`'s parts, ~half an ULP."""
    num = a * p
    num_lo = fma(a, p, -num) + a * p_lo
    return div_dw(num, num_lo, big, big_lo)


@_jit
def _gelu_grad_quotient64(a, p, p_lo, big, big_lo, d, d_lo):
    """(Phi(-a) - a phi(a)) / 2**k from :func:`normal_tail`'s parts."""
    m = a * d
    m_lo = fma(a, d, -m) + a * d_lo
    n, n_lo = two_sum(1.0, -m)
    n_lo = n_lo - m_lo  # n + n_lo = 1 - a (a + S(a)), exact but for S's error
    g = p * n
    g_lo = fma(p, n, -g) + (p * n_lo + p_lo * n)
    return div_dw(g, g_lo, big, big_lo)


@_jit
def _gelu_f64(x):
    T = type(x)
    a, p, p_lo, k, big, big_lo, _, _ = normal_tail(x)
    # a Phi(-a), flushed to +0 below the smallest normal number: -a Phi(-a) is 0
    # minus it (+0, not -0, where it is flushed)
    s = ldexp_flush(_gelu_quotient64(a, p, p_lo, big, big_lo), k)
    # a - a Phi(-a) with one rounding; a Phi(-a) <= a / 2, so q's error enters at most once
    return T(0) - s, T(a - s)


@_jit
def _gelu_grad_f64(x):
    T = type(x)
    a, p, p_lo, k, big, big_lo, d, d_lo = normal_tail(x)
    q = _gelu_grad_quotient64(a, p, p_lo, big, big_lo, d, d_lo)
    return ldexp_signed(T(q), k) + T(0), T(1.0 - ldexp_signed(q, k))


@_jit
def _gelu_f64_kernel(x):
    T = type(x)
    neg, pos = _gelu_f64(x)
    y = _select(sign_clear(x), pos, neg)
    # below 2**-60, gelu(x) rounds to x / 2 (-0.0 stays -0.0; subnormal halves flush)
    y = _select(float_bits(abs(x)) < float_bits(T(_TINY)), ldexp_signed(x, -1), y)
    y = _select(quiet_greater(x, _GELU_END), x, y)  # x itself there, inf included
    return _select(x != x, x, y)  # calls, not ternaries: inlined through an overload


# float32: gelu32 (_gelu32.py), float32 arithmetic on 16 lanes (the table exp and
# a piecewise polynomial for the scaled Mills ratio); float64: the rational above
_gelu_by_dtype = by_dtype(gelu32, _gelu_f64_kernel)


@_jit
def _gelu(x):
    return _gelu_by_dtype(x)


@_jit
def _gelu_grad_near_root64(x, y):
    """y, or within 0.25 of gelu''s root x0 the fitted polynomial in x - x0."""
    r, inside = _near_root(x, _GELU_ROOT64, _GELU_LEAD64, _GELU_P64, _GELU_ROOT_HALF_WIDTH)
    return _select(inside, r, y)


@_jit
def _gelu_grad_f64_kernel(x):
    neg, pos = _gelu_grad_f64(x)
    y = _gelu_grad_near_root64(x, _select(sign_clear(x), pos, neg))
    return _select(x != x, x, y)  # calls, not ternaries: inlined through an overload


# float32: gelu_grad32 (_gelu32.py), as gelu32 plus a float32 near-root polynomial
_gelu_grad_by_dtype = by_dtype(gelu_grad32, _gelu_grad_f64_kernel)

# The float64 block kernels: blocks whose every |x| lies in [2**-60, 26] take the
# kernels above without the clamp of |x|, the selects for tiny, huge and NaN
# inputs, and the flush of the 2**k scaling (a Phi(-a), Phi(-a) - a phi(a) and 1
# minus them are normal there: |gelu'(-26)| = 1.4e-147): the same bits.  N(0, 4^2)
# blocks all take them; at 10^6 such values, one thread, Zen 4: gelu 3.52 -> 3.34
# ns per value (4.02 before the general kernel's two signs shared one flushed
# scaling), gelu' 4.88 -> 4.40, gelu_backward 5.02 -> 4.49.  As a plain loop the
# fast kernel takes 2.88 ns: in a block its 16 lanes are unrolled into two zmm
# halves of every value (72 stack accesses, and its 33 constants rebuilt each
# block), where the plain loop runs 8 lanes at a time; so the blocks have runs
# drivers (kernels._common._runs_drivers: runs of 256 values in the fast range as
# one plain loop): N(0, 1) at 10^6, gelu 3.31 -> 2.85 ns, gelu' 4.39 -> 3.97,
# gelu_backward 4.43 -> 4.10 (wide and special inputs, whose runs mostly hold a
# value outside, unchanged within 1%).  gelu' is nonzero on
# that range (its root x0 is no float64; x0's low part keeps t P(t) off 0 at the
# float64 nearest it), so the fused backward's fast blocks take the plain product.
_GELU_FAST64 = (_TINY, 26.0)


@_jit
def _gelu_f64_fast(x):
    """:func:`_gelu_f64_kernel` for |x| in [2**-60, 26]."""
    a, p, p_lo, k, big, big_lo, _, _ = normal_tail_of_abs64(abs(x))
    s = ldexp_normal(_gelu_quotient64(a, p, p_lo, big, big_lo), k)
    return _select(sign_clear(x), a - s, -s)


@_jit
def _gelu_grad_f64_fast(x):
    """:func:`_gelu_grad_f64_kernel` for |x| in [2**-60, 26]."""
    a, p, p_lo, k, big, big_lo, d, d_lo = normal_tail_of_abs64(abs(x))
    s = ldexp_normal(_gelu_grad_quotient64(a, p, p_lo, big, big_lo, d, d_lo), k)
    return _gelu_grad_near_root64(x, _select(sign_clear(x), 1.0 - s, s))


@_jit
def _gelu_f64_saturated(x):
    """:func:`_gelu_f64_kernel` for |x| in [38.5, inf]: x, or +0 for x < 0."""
    return _select(sign_clear(x), x, 0.0)


@_jit
def _gelu_grad_f64_saturated(x):
    """:func:`_gelu_grad_f64_kernel` for |x| in [38.5, inf]: 1, or +0 for x < 0."""
    return _select(sign_clear(x), 1.0, 0.0)


# Blocks whose every |x| is at least _GELU_END (38.5, the tail's clamp; 74% of the
# blocks of the saturated benchmark regime, |x| uniform in [20, 1000]) take the
# limits themselves, the general kernels' bits there: on that regime at 10^6,
# gelu 3.86 -> 1.50 ns, gelu' 4.92 -> 1.98, gelu_backward 5.07 -> 2.57.
_GELU_BLOCK64 = range_blocks(_gelu_f64_fast, _gelu_f64_kernel, *_GELU_FAST64, _gelu_f64_saturated, _GELU_END,
                             dtype="float64", runs=True)[0]
_GELU_GRAD_BLOCK64, _GELU_BACKWARD_BLOCK64 = range_blocks(
    _gelu_grad_f64_fast, _gelu_grad_f64_kernel, *_GELU_FAST64, _gelu_grad_f64_saturated, _GELU_END,
    dtype="float64", fast_nonzero=True, runs=True,
)


@_jit
def _gelu_grad(x):
    return _gelu_grad_by_dtype(x)


@_jit
def _gelu_backward(grad_out, x):
    return backward_product(grad_out, _gelu_grad(x))  # the derivative reaches 1.129


def _mp_gelu_tail(mp, x, upper):
    """gelu or gelu_grad for |x| >= 40, where both round exactly: Phi(x) is 1 - 1e-350
    for x >= 40 (gelu = x, gelu' = 1, ``upper``) and every result for x <= -40 is
    below the smallest subnormal (0).  mpmath's ncdf takes 3 ms per point out
    there, 100x its cost elsewhere: most of the log-uniform samples are there."""
    return mp.mpf(upper) if x > 0 else mp.mpf(0)


register(
    Activation(
        name="gelu",
        summary="Gaussian error linear unit (exact), x * Phi(x) = x/2 * erfc(-x/sqrt(2)).",
        formula="x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))",
        grad_formula="Phi(x) + x * phi(x),  phi(x) = exp(-x**2/2) / sqrt(2*pi)",
        forward=_gelu,
        grad=_gelu_grad,
        backward=_gelu_backward,
        forward_block_f32=gelu32_block16,
        grad_block_f32=gelu_grad32_block16,
        backward_block_f32=gelu_backward32_block16,
        forward_block_f64=_GELU_BLOCK64,
        grad_block_f64=_GELU_GRAD_BLOCK64,
        backward_block_f64=_GELU_BACKWARD_BLOCK64,
        reference=ref.gelu,
        reference_grad=ref.gelu_grad,
        mp_forward=lambda mp, x: _mp_gelu_tail(mp, x, x) if abs(x) >= 40 else x * mp.ncdf(x),
        mp_grad=lambda mp, x: _mp_gelu_tail(mp, x, 1) if abs(x) >= 40 else mp.ncdf(x) + x * mp.npdf(x),
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "PyTorch's default gelu(x) (approximate='none'); JAX's default is the tanh\n"
            "approximation, here gelu_tanh.  Stable evaluation: with a = |x| and\n"
            "Phi(-a) = exp(-a^2/2) / (sqrt(2 pi) (a + S(a))), S a rational fit (Mills'\n"
            "ratio R = 1 / (a + S)), gelu(x) = -a Phi(-a) for x < 0 and a (1 - Phi(-a))\n"
            "for x >= 0; a^2 is an exact double word inside the exp, so the negative tail\n"
            "keeps its relative accuracy down to the smallest normal number (gelu(-10) =\n"
            "-7.6e-23 in float32, not -0.0).  The derivative Phi(x) + x phi(x) is\n"
            "exp(-a^2/2) (1 - a (a + S)) / (sqrt(2 pi) (a + S)) for x < 0 (no cancellation\n"
            "of the two tail terms: gelu_grad(-10) = -7.6e-22 in float32) and 1 minus that\n"
            "for x >= 0, and near its root x0 = -0.75179 a fitted polynomial in x - x0.\n"
            "float32 gelu: float32 arithmetic with double words, Phi(-a) = exp(-a^2/2) F(a),\n"
            "F piecewise polynomial (29 intervals, no division), and the derivative from\n"
            "F - a/sqrt(2 pi) as a double word.  gelu(-0.0) = -0.0; tiny\n"
            "inputs give x / 2.  Not monotone (minimum -0.170 at x0)."
        ),
        transcendental=True,
        monotone=False,
    )
)


# ================================================================================
# gelu_tanh
# ================================================================================
# gelu_tanh(x) = x/2 (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), evaluated as
# x * sigmoid(v) with v = 2u (1 + tanh(u) = 2 sigmoid(2u): no cancellation for
# u < 0).  v = C x (1 + K x^2) is formed as a double word (C = 2 sqrt(2/pi) and
# K = 0.044715 split hi + lo): in the negative tail exp(-|v|) multiplies v's
# rounding error by |v| (up to 746), so v must be far more accurate than one
# rounding.
_GELU_TANH_ROOT, _GELU_TANH_LEAD, _GELU_TANH_P = _root_fit(
    (-0.7524614334106445, 1.1339627903339533e-08),
    (-0.7524614220710163, 3.635560509207687e-17),
    (0.43040009164428483, 0.38751844159942317, -0.015783570501262143, -0.1139430632651056,
     -0.01649657322770619, 0.01956992435951383),
    (0.4304000910248585, 0.38751844613578895, -0.015782853521848543, -0.11394448308095678,
     -0.01661932834266663, 0.01968230945896817, 0.005261059149374725, -0.002422731701119556,
     -0.000927428974674831, 0.0002639160411072073, 0.0001235083532527872, -3.4522899009894055e-05),
    2.0394269481730017e-17,
)  # fmt: skip
#: half width of gelu_tanh's near-root window (float64): as silu's, 1/8 (the block
#: kernels evaluate the polynomial in fewer blocks; the off-root formula stays within
#: 2^-57 there)
_GELU_TANH_HALF_WIDTH = 0.125


@_jit
def _gelu_tanh_grad64(x):
    y = gelu_tanh_grad64_off_root(x)
    r, inside = _near_root(x, _GELU_TANH_ROOT(x), _GELU_TANH_LEAD(x), _GELU_TANH_P(x), _GELU_TANH_HALF_WIDTH)
    return _select(inside, r, y)  # calls, not ternaries: inlined through an overload


# float32: gelu_tanh32 and gelu_tanh_grad32 (_gelu_tanh32.py: silu's table exp and
# corrected division on the double word v, in float32 arithmetic); float64:
# gelu_tanh64 and its derivative (_gelu_tanh64.py: float64 silu's double-word exp
# and corrected division on the double word v), with the fitted polynomial next
# to the derivative's root
_gelu_tanh_by_dtype = by_dtype(gelu_tanh32, gelu_tanh64)
_gelu_tanh_grad_by_dtype = by_dtype(gelu_tanh_grad32, _gelu_tanh_grad64)
_GELU_TANH_GRAD64_BLOCK, _GELU_TANH_BACKWARD64_BLOCK = near_root_grad64_blocks(
    emit_gelu_tanh_grad64_off_root, _GELU_TANH64_FAST_BITS, _GELU_TANH_ROOT.float64, _GELU_TANH_LEAD.float64,
    _GELU_TANH_P.float64, _GELU_TANH_HALF_WIDTH,
)


@_jit
def _gelu_tanh(x):
    return _gelu_tanh_by_dtype(x)


@_jit
def _gelu_tanh_grad(x):
    return _gelu_tanh_grad_by_dtype(x)


@_jit
def _gelu_tanh_backward(grad_out, x):
    return backward_product(grad_out, _gelu_tanh_grad(x))  # the derivative reaches 1.13


def _mp_gelu_tanh_v(mp, x):
    return 2 * mp.sqrt(2 / mp.pi) * (x + mp.mpf(K_TEXT) * x**3)


def _mp_gelu_tanh_dv(mp, x):
    return 2 * mp.sqrt(2 / mp.pi) * (1 + 3 * mp.mpf(K_TEXT) * x**2)


register(
    Activation(
        name="gelu_tanh",
        summary="GELU, tanh approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).",
        formula="x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))",
        grad_formula="(1 + t)/2 + x/2 * (1 - t**2) * sqrt(2/pi) * (1 + 3 * 0.044715 * x**2),  t = tanh(...)",
        forward=_gelu_tanh,
        grad=_gelu_tanh_grad,
        backward=_gelu_tanh_backward,
        reference=ref.gelu_tanh,
        reference_grad=ref.gelu_tanh_grad,
        # x sigmoid(2u): the mpmath form must not cancel either (1 + tanh(-100) at 50 digits is 0)
        mp_forward=lambda mp, x: x / (1 + mp.exp(-_mp_gelu_tanh_v(mp, x))),
        mp_grad=lambda mp, x: (
            (1 + mp.exp(-_mp_gelu_tanh_v(mp, x)) * (1 + x * _mp_gelu_tanh_dv(mp, x)))
            / (1 + mp.exp(-_mp_gelu_tanh_v(mp, x))) ** 2
        ),
        limits=(0.0, np.inf),
        grad_limits=(0.0, 1.0),
        notes=(
            "PyTorch's gelu(x, approximate='tanh') (and JAX's default gelu).  Stable\n"
            "evaluation: 1 + tanh(u) = 2 sigmoid(2u), so gelu_tanh(x) = x sigmoid(v) with\n"
            "v = 2u = C x (1 + 0.044715 x^2) formed as a double word (the tail's exp(-|v|)\n"
            "amplifies v's rounding by |v|), then as silu: x / (1 + e) or x e / (1 + e),\n"
            "e = exp(-|v|).  The negative tail keeps its relative accuracy:\n"
            "gelu_tanh(-10) is -3.7e-36 in float32, not -0.0 as 0.5 x (1 + tanh(u)) gives.\n"
            "The derivative is the silu-like (1 + e (1 + x v')) / (1 + e)^2 or\n"
            "e (1 - |x| v' + e) / (1 + e)^2, and near its root x0 = -0.75246 a fitted\n"
            "polynomial in x - x0.  float32: the same on silu's table exp in float32\n"
            "arithmetic; float64: on float64 silu's double-word exp (v's low part in its\n"
            "reduction) and corrected division.  gelu_tanh(-0.0) = -0.0; tiny inputs give x / 2.\n"
            "Not monotone (minimum -0.170 at x0)."
        ),
        transcendental=True,
        monotone=False,
        forward_block_f32=gelu_tanh32_block16,
        grad_block_f32=gelu_tanh_grad32_block16,
        backward_block_f32=gelu_tanh_backward32_block16,
        forward_block_f64=gelu_tanh64_block16,
        grad_block_f64=_GELU_TANH_GRAD64_BLOCK,
        backward_block_f64=_GELU_TANH_BACKWARD64_BLOCK,
    )
)
