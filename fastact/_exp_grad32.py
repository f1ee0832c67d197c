"""float32 derivatives of the exponential linear units, c exp(x) for x <= 0 and a
constant for x > 0, on the float32 sigmoid's table exp, with AVX-512 block kernels.

    elu'(x)  (alpha = 1) = celu'(x) (alpha = 1) = exp(x)            (x <= 0),  1
    selu'(x)             = scale alpha exp(x)                        (x <= 0),  scale

exp(-|x|) = 2^k (e_hi + e_lo) is ``_sigmoid32``'s table exp, a double word that
is never rounded; the constant c = c_hi + c_lo is a double word too, and the
mantissa product c (e_hi + e_lo) is rounded once (one FMA on the exact c_hi e_hi),
then scaled by 2^k on its bit pattern: the left tail keeps its relative accuracy
down to the smallest normal number and flushes to +0 below it.  The generic
kernels (``kernels.elu``, still float64's and every other alpha's) round exp(x)
to one float first and multiply by a rounded constant: selu' reached 1.64 float32
ULPs and elu' 1.02.  |x| is clamped to [2^-30, 104] for the exp (below, exp(x)
rounds to 1; above, every result flushes); x = 0 takes the x <= 0 branch
(PyTorch's convention: elu'(0) = alpha); NaN in, NaN out.

The block kernels branch once per 16 values: when every |x| is in [2^-30, 87]
(every result normal) they leave out the clamps, the floor on k, the flush and
the NaN select; blocks whose every |x| is in [2^-30, inf] (wide and saturated
inputs) keep the clamp at 104 and the flush.  They
are the same arithmetic, operation for operation, as the scalar twins, so every
layout gives bitwise the same results.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import _LIMIT_BITS, _MIN_NORMAL_BITS, _TINY_BITS, emit_exp_neg_table32, exp_neg_table32

__all__ = ["scaled_exp32", "scaled_exp_blocks", "exp_grad32", "exp_grad32_block16", "exp_backward32_block16"]

_F = np.float32
_ABS = np.int32(0x7FFFFFFF)
_INF_BITS = 0x7F800000
# the short path's end: exp(-87) = 1.6e-38 is still normal (and so c exp(-87), c >= 1)
_FAST_HI_BITS = int(_F(87.0).view(np.int32))


@njit(**JIT_OPTIONS)
def scaled_exp32(x, c_hi, c_lo, pos_value):
    """(c_hi + c_lo) exp(x) for x <= 0, ``pos_value`` for x > 0, of a float32 value
    (c_hi + c_lo a double word, pos_value a float32): within 0.6 ULP.  The scalar
    twin of the kernels of :func:`scaled_exp_blocks`."""
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    e_hi, e_lo, k, _ = exp_neg_table32(cb, x)
    m = fma(c_hi, e_hi, fma(c_hi, e_lo, c_lo * e_hi))
    rb = float_bits(m) + (k << np.int32(23))
    rb = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb)
    rb = _select(b > np.int32(0), float_bits(pos_value), rb)  # x > +0 (and +inf)
    return float_from_bits(_select(ab > np.int32(_INF_BITS), b, rb), x)  # NaN in, NaN out


@njit(**JIT_OPTIONS)
def exp_grad32(x):
    """exp(x) for x <= 0, 1 for x > 0 (elu' and celu' at alpha = 1) of a float32
    value, within 0.6 ULP (the scalar twin of :func:`exp_grad32_block16`)."""
    return scaled_exp32(x, _F(1), _F(0), _F(1))


def _emit_scaled_exp(v, b, store, c_hi, c_lo, pos_value):
    builder = v.builder
    fma = v.fma
    ab = builder.and_(b, splat_i(int(_ABS)))

    def evaluate(general, wide=False):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-30, 87] (``wide``: in [2^-30, inf], the clamp at
        104 and the flush stay)."""
        cb = v.smin(v.smax(ab, splat_i(_TINY_BITS)), splat_i(_LIMIT_BITS)) if general else ab
        cb = v.smin(ab, splat_i(_LIMIT_BITS)) if wide else cb
        e_hi, e_lo, k, _ = emit_exp_neg_table32(v, cb, general or wide)
        ch, cl = splat_f(c_hi), splat_f(c_lo)
        m = fma(ch, e_hi, fma(ch, e_lo, builder.fmul(cl, e_hi)))
        if general or wide:
            rb = builder.add(builder.bitcast(m, I16), builder.shl(k.integer, splat_i(23)))
            rb = builder.select(builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), rb)
        else:  # 2^k m is normal here; 2^k by vscalefps (Exponent)
            rb = builder.bitcast(v.scalef(m, k), I16)  # k >= -126
        positive = builder.icmp_signed(">", b, splat_i(0))
        rb = builder.select(positive, splat_i(int(_F(pos_value).view(np.int32))), rb)
        if general:
            rb = builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb)
        # the short path's |x| <= 87 keeps c exp(x) >= 1.6e-38 c normal: nonzero unless
        # a constant is (the backward's infinite grad_out needs no blocking then)
        store(rb, nonzero=not (general or wide) and abs(c_hi) >= 1.0 and pos_value != 0)

    tiers = [(_TINY_BITS, _FAST_HI_BITS, lambda: evaluate(False)),
             (_TINY_BITS, _INF_BITS, lambda: evaluate(False, wide=True))]
    v.dispatch(ab, tiers, lambda: evaluate(True))


def scaled_exp_blocks(c_hi: float, c_lo: float, pos_value: float):
    """The block kernels of ``scaled_exp32(x, c_hi, c_lo, pos_value)``: ``(block,
    backward)``, ``block(src, dst)`` for the derivative and ``backward(grad, src,
    dst)`` for grad_out times it (``backward_product``), as AVX-512 vector code.
    |c_hi| >= 1: the short path's results, c exp(x) for |x| <= 87, must be normal."""
    if not abs(c_hi) >= 1.0:
        raise ValueError(f"scaled_exp_blocks: |c_hi| = {abs(c_hi)} < 1 (the short path's results would be subnormal)")
    emit = partial(_emit_scaled_exp, c_hi=float(c_hi), c_lo=float(c_lo), pos_value=float(pos_value))

    @intrinsic
    def block16(typingctx, src, dst):
        return block_intrinsic(src, dst, emit)

    @intrinsic
    def backward16(typingctx, grad, src, dst):
        return backward_block_intrinsic(grad, src, dst, emit)

    return block16, backward16


# elu' and celu' at alpha = 1
exp_grad32_block16, exp_backward32_block16 = scaled_exp_blocks(1.0, 0.0, 1.0)
