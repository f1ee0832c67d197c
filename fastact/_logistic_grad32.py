"""float32 sigmoid'(x) and tanh'(x) on the float32 sigmoid's table exp, with AVX-512
block kernels for the derivatives and the fused backward kernels.

Both are the logistic derivative e / (1 + e)^2 of a scaled argument:

    sigmoid'(x) = e / (1 + e)^2,        e = exp(-|x|)
    tanh'(x)    = 4 e / (1 + e)^2,      e = exp(-2|x|)

With e = 2^k E (``_sigmoid32.exp_neg_parts32``, E a double word that is never
rounded) and 1 + e = d + d_lo (``_sigmoid32.one_plus32``: d rounded once, d_lo
its error), each is 2^(k+c) E / D (c = 0 or 2), D = (d + d_lo)^2 formed as a
double word (its FMA residual and 2 d d_lo) and the ratio rounded once (one
division and one correction, ``_sigmoid32.ratio_dw32``); 2^(k+c) is applied last
on the bit pattern (exact), and results below the smallest normal number flush to
+0 like every fastact kernel.  No cancellation anywhere: neither s (1 - s) nor
1 - tanh^2 is formed.  For tanh, 2|x| is built on the bit pattern (exponent + 1,
exact).  The argument of exp is clamped to [2^-30, 104]: below, the derivative
rounds to its value at 0; above, it is below half the smallest subnormal.

Exhaustive float32 error 0.568 ULP for either (1147396 and 1150160 results above
0.5 ULP).  The earlier form, 2^(k+c) E u^2 with u = 1 / (1 + e) and u^2 as double
words, had the same error at 2 vector operations more per 16 values (1.05-1.08x
the time of this one).  E itself must stay a renormalized double word: E = t_hi + p
as it comes, in the correction, was 2 operations cheaper still, but its error
there (about 2^-28 of the result) let sigmoid' rise between neighbouring float32
inputs (``tests/test_sigmoid32.py`` scans them all).
On the short path the derivative is never 0, so the fused backward kernels
multiply by grad_out without blocking an infinite one there
(``store(bits, nonzero=True)``): 0.84-0.87x the backward's time.  Blocks whose
every |x| is saturated (1 + e rounds to 1: |x| >= 21 for sigmoid', 10.5 for
tanh') skip the division, (1 + e)^2 being 1 + 2 d_lo exactly there.  Blocks
whose every |x| is at most 87 (43 for tanh': every result normal) take the short
path with the floor on k: wide inputs (N(0, 10^2), where nearly every tanh' block
holds an |x| past the short path's 13.5 and one below 10.5) 0.71 -> 0.86 of the
central throughput.

The generic kernels (``kernels.logistic._sigmoid_grad_generic`` and
``_tanh_grad_generic``, still used for float64) rounds e to one float and divides
by (1 + e)^2 as a double word: 1.49 float32 ULPs for either (exhaustive), where
this one has 0.57, at 0.95x the time.  The block kernels are the same
arithmetic as the scalar twins, operation for operation (explicit FMAs), so every
layout gives bitwise the same results.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import (
    _E_FLOOR,
    _LIMIT_BITS,
    _MIN_NORMAL_BITS,
    _TINY_BITS,
    emit_exp_neg_parts32,
    emit_one_plus32,
    emit_ratio_dw32,
    exp_neg_parts32,
    one_plus32,
    ratio_dw32,
)

__all__ = [
    "sigmoid_grad32", "sigmoid_grad32_block16", "sigmoid_backward32_block16",
    "tanh_grad32", "tanh_grad32_block16", "tanh_backward32_block16",
]

_F = np.float32
_ABS = 0x7FFFFFFF
_INF_BITS = 0x7F800000
_ONE_EXPONENT = 1 << 23


class _Scaling:
    """How a derivative feeds the table exp: |x| is clamped to [lo, hi] on its bit
    pattern and ``shift`` is added to the exponent (2|x| for tanh); the result is
    scaled by 2^(k + k_offset).  Blocks with every |x| in [lo, fast_hi] (k >= -39:
    no floor on k, nothing to flush, no NaN or inf) take the short path."""

    def __init__(self, shift: int, k_offset: int, fast_hi: float, wide_hi: float, saturated_lo: float):
        # the block kernel folds 2^k_offset into (1 + e)^2 and the doubling into the exp
        assert k_offset % 2 == 0 and shift in (0, _ONE_EXPONENT)
        self.lo = _TINY_BITS - shift
        self.hi = _LIMIT_BITS - shift
        self.shift = shift
        self.k_offset = k_offset
        self.fast_hi = int(_F(fast_hi).view(np.int32))
        # up to |x| = wide_hi every result is normal (and 2^(k - c/2) too): blocks with
        # every |x| in [lo, wide_hi] take the short path with the floor on k
        self.wide_hi = int(_F(wide_hi).view(np.int32))
        # from |x| = saturated_lo on, e <= 7.6e-10 (below 2^-30): 1 + e rounds to 1,
        # and blocks whose every |x| is there skip the division
        self.saturated_lo = int(_F(saturated_lo).view(np.int32))


# wide_hi: sigmoid'(-87) = 1.6e-38 and tanh'(43) = 8.9e-38 are normal
_SIGMOID = _Scaling(shift=0, k_offset=0, fast_hi=27.0, wide_hi=87.0, saturated_lo=21.0)
_TANH = _Scaling(shift=_ONE_EXPONENT, k_offset=2, fast_hi=13.5, wide_hi=43.0, saturated_lo=10.5)
# the same as plain integers, for the scalar twins (Numba reads module-level ints)
_SIGMOID_LO, _SIGMOID_HI = _SIGMOID.lo, _SIGMOID.hi
_TANH_LO, _TANH_HI = _TANH.lo, _TANH.hi


@njit(**JIT_OPTIONS)
def _logistic_grad32(x, lo, hi, shift, k_offset):
    """2^(k + k_offset) E / (1 + e)^2 for the exp argument built from |x| (see _Scaling)."""
    b = float_bits(x)
    ab = b & np.int32(_ABS)
    cb = min(max(ab, lo), hi) + shift
    t_hi, p, k, s = exp_neg_parts32(cb, x)
    d, d_lo = one_plus32(t_hi, p, s)
    # E / (1 + e)^2 as E / (D + D_lo): the square of d + d_lo as a double word, one
    # division and one correction (ratio_dw32), E = e_hi + e_lo renormalized
    e_hi = t_hi + p
    e_lo = (t_hi - e_hi) + p
    dd = d * d
    dd_lo = fma(d + d, d_lo, fma(d, d, -dd))
    m = ratio_dw32(e_hi, e_lo, dd, dd_lo)
    rb = float_bits(m) + ((k + k_offset) << np.int32(23))
    rb = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb)
    return float_from_bits(_select(ab > np.int32(_INF_BITS), b, rb), x)  # NaN in, NaN out


@njit(**JIT_OPTIONS)
def sigmoid_grad32(x):
    """sigmoid'(x) = e / (1 + e)^2, e = exp(-|x|), of a float32 value (the scalar twin
    of :func:`sigmoid_grad32_block16`)."""
    return _logistic_grad32(x, np.int32(_SIGMOID_LO), np.int32(_SIGMOID_HI), np.int32(0), np.int32(0))


@njit(**JIT_OPTIONS)
def tanh_grad32(x):
    """tanh'(x) = 4 e / (1 + e)^2, e = exp(-2|x|), of a float32 value (the scalar twin
    of :func:`tanh_grad32_block16`)."""
    return _logistic_grad32(x, np.int32(_TANH_LO), np.int32(_TANH_HI), np.int32(_ONE_EXPONENT), np.int32(2))


def _emitter(scaling: _Scaling):
    def emit(v, b, store):
        builder = v.builder
        fma = v.fma
        ab = builder.and_(b, splat_i(_ABS))

        def evaluate(general, wide=False):
            """The kernel on 16 lanes; ``general=False`` leaves out what is an
            identity when every |x| is in [lo, fast_hi] (``wide``: in [lo, wide_hi],
            where the floor on k is not, but every result is still normal)."""
            cb = v.smin(v.smax(ab, splat_i(scaling.lo)), splat_i(scaling.hi)) if general else ab
            # tanh: exp(-2|x|), the doubling (the scalar twin's add on the exponent) in the constants
            t_hi, p, k, s = emit_exp_neg_parts32(v, cb, general, doubled=scaling.shift == _ONE_EXPONENT)
            if general:
                d, d_lo = emit_one_plus32(v, t_hi, p, s)
            else:
                # 2^c E / (1 + e)^2 = E / ((1 + e) / 2^(c/2))^2: the short path divides
                # by the exactly scaled square and so needs no 2^c at the end (c even)
                unit = 2.0 ** -(scaling.k_offset // 2)
                # wide: s = 2^max(k, -40), as in the general path
                s = v.scalef(splat_f(unit), k.at_least(v, _E_FLOOR) if wide else k)
                d, d_lo = emit_one_plus32(v, t_hi, p, s, unit)
            e_hi = builder.fadd(t_hi, p)
            e_lo = builder.fadd(builder.fsub(t_hi, e_hi), p)
            dd = builder.fmul(d, d)
            dd_lo = fma(builder.fadd(d, d), d_lo, fma(d, d, builder.fneg(dd)))
            m = emit_ratio_dw32(v, e_hi, e_lo, dd, dd_lo)
            if not general:  # 2^k m (m here 2^c times the general path's), k >= -39: normal, never 0
                store(builder.bitcast(v.scalef(m, k), I16), nonzero=True)
                return
            scale = builder.shl(builder.add(k.integer, splat_i(scaling.k_offset)), splat_i(23))
            rb = builder.add(builder.bitcast(m, I16), scale)
            rb = builder.select(builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), rb)
            store(builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb))

        def saturated():
            """Every |x| at least saturated_lo (infinities included, NaN not): 1 + e
            rounds to d = 1, so (1 + e)^2 is 1 + 2 d_lo (exactly) and the general
            path's ratio is E plus its residual term, no division; the same bits."""
            cb = v.smin(ab, splat_i(scaling.hi))
            t_hi, p, k, s = emit_exp_neg_parts32(v, cb, True, doubled=scaling.shift == _ONE_EXPONENT)
            _, d_lo = emit_one_plus32(v, t_hi, p, s)
            e_hi = builder.fadd(t_hi, p)
            e_lo = builder.fadd(builder.fsub(t_hi, e_hi), p)
            m = builder.fadd(fma(builder.fneg(e_hi), builder.fmul(splat_f(2.0), d_lo), e_lo), e_hi)
            scale = builder.shl(builder.add(k.integer, splat_i(scaling.k_offset)), splat_i(23))
            rb = builder.add(builder.bitcast(m, I16), scale)
            store(builder.select(builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), rb))

        # typical blocks take the short path, blocks of saturated inputs the
        # division-free one, blocks of wide inputs (N(0, 10^2): for tanh' nearly
        # every block holds an |x| past 13.5 and one below 10.5) the short path with
        # the floor on k, the rest the general one
        tiers = [
            (scaling.lo, scaling.fast_hi, lambda: evaluate(False)),
            (scaling.saturated_lo, _INF_BITS, saturated),
            (scaling.lo, scaling.wide_hi, lambda: evaluate(False, wide=True)),
        ]
        v.dispatch(ab, tiers, lambda: evaluate(True))

    return emit


_emit_sigmoid_grad = _emitter(_SIGMOID)
_emit_tanh_grad = _emitter(_TANH)


@intrinsic
def sigmoid_grad32_block16(typingctx, src, dst):
    """``dst[0:16] = sigmoid'(src[0:16])`` for float32, as AVX-512 vector code (raw
    pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_sigmoid_grad)


@intrinsic
def sigmoid_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * sigmoid'(src[0:16])`` for float32
    (``backward_product``), as AVX-512 vector code (``dst`` may be either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_sigmoid_grad)


@intrinsic
def tanh_grad32_block16(typingctx, src, dst):
    """``dst[0:16] = tanh'(src[0:16])`` for float32, as AVX-512 vector code (raw
    pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_tanh_grad)


@intrinsic
def tanh_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * tanh'(src[0:16])`` for float32 (``backward_product``),
    as AVX-512 vector code (``dst`` may be either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_tanh_grad)
