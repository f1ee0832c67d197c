"""float32 tanh'(x) = 1 - tanh(x)^2 on the float32 sigmoid's table exp, with AVX-512
block kernels for the derivative and the fused backward.

With e = exp(-2|x|) = 2^k E (``_sigmoid32.exp_neg_table32``, E a double word that
is never rounded) and u = 1 / (1 + e) as a double word (one division and its
exact residual):

    tanh'(x) = 4 e / (1 + e)^2 = 2^(k+2) E u^2

u^2 is formed as a double word and multiplied by E with one final rounding;
2^(k+2) is applied last on the bit pattern (exact), and results below the
smallest normal number flush to +0 like every fastact kernel.  No
cancellation anywhere: 1 - tanh^2 is never formed.  2|x| is built on the bit
pattern (exponent + 1, exact) and clamped to [2^-30, 104]: below, tanh'(x) rounds
to 1; above, it is below half the smallest subnormal.

The generic kernel (``kernels.logistic._tanh_grad_generic``, still used for float64) rounds
e to one float and divides by (1 + e)^2 as a double word: 1.49 float32 ULPs
(this kernel: 0.55), at 1.05x this kernel's time.  :func:`tanh_grad32_block16` is the same
arithmetic as :func:`tanh_grad32`, operation for operation (explicit FMAs), so
every layout gives bitwise the same results.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.extending import intrinsic

from ._avx512 import BLOCK, I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, float_bits, float_from_bits, fma
from ._sigmoid32 import _LIMIT_BITS, _MIN_NORMAL_BITS, _TINY_BITS, emit_exp_neg_table32, exp_neg_table32

__all__ = ["tanh_grad32", "tanh_grad32_block16", "tanh_backward32_block16"]

_F = np.float32
_ABS = 0x7FFFFFFF
_INF_BITS = 0x7F800000
_ONE_EXPONENT = 1 << 23
# |x| clamped to [2^-31, 52], so that 2|x| (exponent + 1) is in the table exp's [2^-30, 104]
_HALF_TINY_BITS = _TINY_BITS - _ONE_EXPONENT
_HALF_LIMIT_BITS = _LIMIT_BITS - _ONE_EXPONENT
# Up to |x| = 13.5 (k >= -39: no floor on k, nothing to flush, no NaN or inf) and
# from 2^-31 on, the block kernel's common path leaves out the clamps and selects.
_FAST_HI_BITS = int(_F(13.5).view(np.int32))


@njit(**JIT_OPTIONS)
def tanh_grad32(x):
    """1 - tanh(x)^2 = 4 exp(-2|x|) / (1 + exp(-2|x|))^2 of a float32 value (the
    scalar twin of :func:`tanh_grad32_block16`)."""
    one = _F(1)
    b = float_bits(x)
    ab = b & np.int32(_ABS)
    cb = min(max(ab, np.int32(_HALF_TINY_BITS)), np.int32(_HALF_LIMIT_BITS)) + np.int32(_ONE_EXPONENT)
    e_hi, e_lo, k, s = exp_neg_table32(cb, x)
    d = fma(s, e_hi, one)
    d_lo = fma(s, e_lo, fma(s, e_hi, one - d))
    u = one / d
    u_lo = u * fma(-u, d_lo, fma(-u, d, one))
    w = u * u  # u^2 as a double word
    w_lo = fma(u + u, u_lo, fma(u, u, -w))
    m = fma(e_hi, w, fma(e_hi, w_lo, e_lo * w))
    rb = float_bits(m) + ((k + np.int32(2)) << np.int32(23))
    rb = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb)
    return float_from_bits(_select(ab > np.int32(_INF_BITS), b, rb), x)  # NaN in, NaN out


def _emit_tanh_grad(v, b, store):
    builder = v.builder
    fma = v.fma
    one = splat_f(1.0)
    ab = builder.and_(b, splat_i(_ABS))

    def evaluate(general):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-31, 13.5]."""
        cb = v.smin(v.smax(ab, splat_i(_HALF_TINY_BITS)), splat_i(_HALF_LIMIT_BITS)) if general else ab
        cb = builder.add(cb, splat_i(_ONE_EXPONENT))
        e_hi, e_lo, k, s = emit_exp_neg_table32(v, cb, general)
        d = fma(s, e_hi, one)
        d_lo = fma(s, e_lo, fma(s, e_hi, builder.fsub(one, d)))
        u = builder.fdiv(one, d)
        nu = builder.fneg(u)
        u_lo = builder.fmul(u, fma(nu, d_lo, fma(nu, d, one)))
        w = builder.fmul(u, u)
        w_lo = fma(builder.fadd(u, u), u_lo, fma(u, u, builder.fneg(w)))
        m = fma(e_hi, w, fma(e_hi, w_lo, builder.fmul(e_lo, w)))
        rb = builder.add(builder.bitcast(m, I16), builder.shl(builder.add(k, splat_i(2)), splat_i(23)))
        if general:
            rb = builder.select(builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS)), splat_i(0), rb)
            rb = builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb)
        store(rb)

    offset = builder.sub(ab, splat_i(_HALF_TINY_BITS))
    outside = builder.icmp_unsigned(">", offset, splat_i(_FAST_HI_BITS - _HALF_TINY_BITS))
    beyond = builder.bitcast(outside, ir.IntType(BLOCK))
    with builder.if_else(builder.icmp_unsigned("!=", beyond, ir.Constant(ir.IntType(BLOCK), 0))) as (rare, common):
        with rare:
            evaluate(general=True)
        with common:
            evaluate(general=False)


@intrinsic
def tanh_grad32_block16(typingctx, src, dst):
    """``dst[0:16] = tanh'(src[0:16])`` for float32, as AVX-512 vector code (raw
    pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_tanh_grad)


@intrinsic
def tanh_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * tanh'(src[0:16])`` for float32 (``backward_product``),
    as AVX-512 vector code (raw pointers; ``dst`` may be either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_tanh_grad)
