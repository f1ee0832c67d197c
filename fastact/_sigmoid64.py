"""The float64 sigmoid as an AVX-512 block kernel: the arithmetic of
``kernels.logistic._sigmoid_generic`` (its scalar twin) on 16 lanes, operation for
operation.

The scalar kernel: a = |x| clamped to [2^-60, 746]; e = exp(-a) from ``_core``'s
reduction and degree-10 polynomial (``_exp_reduce64``), scaled by 2^k and flushed
to +0 below the smallest normal number (``ldexp_flush``); then
``logistic_ratio``: num / (1 + e) with num = 1 (x >= 0) or e (x < 0), 1 + e as a
Fast2Sum and one residual correction of the division; NaN in, NaN out.  Those
are written as plain multiplies and adds, which the loops' ``contract`` flag lets
LLVM fuse: every product used once by an add or subtract becomes an FMA.  The
emitter below writes exactly those FMAs (the tests compare bit patterns over
random float64 bit patterns, so a different contraction would show).

Blocks whose 16 |x| all lie in [2^-60, 40] (e >= 2^-58: nothing to flush, the
Fast2Sum's error term always kept, no NaN or infinity) skip the clamp, the flush
and both selects: 8 of the kernel's ~38 vector operations per 8 values.  Blocks
whose every |x| is at least 38 (e < 2^-54: 1 + e and 1 - e round to 1, e - e^2 to
e) take the general path's results without its division: 1 or the flushed e
(saturated inputs, |x| in [20, 1000]: 0.77 -> 0.84 of the central throughput;
a quarter of those blocks hold a lane below 38).
"""

from __future__ import annotations

import numpy as np
from numba.extending import intrinsic

from ._avx512 import backward_block_intrinsic, block_intrinsic
from ._core import _E64, _LN2_HI64, _LN2_LO64, _LOG2E, _SHIFT64
from ._logistic64 import emit_ldexp_flush64

__all__ = [
    "sigmoid64_generic_block16",
    "sigmoid_product64_generic_block16",
    "sigmoid_of_negated64_generic_block16",
    "sigmoid_of_negated_backward64_generic_block16",
]

_TINY_BITS = int(np.float64(2.0**-60).view(np.int64))
_LIMIT_BITS = int(np.float64(746.0).view(np.int64))  # _core.exp_limit for float64
_SHIFT_BITS = int(np.float64(_SHIFT64).view(np.int64))
_INF_BITS = 0x7FF0000000000000
_FAST_BITS = int(np.float64(40.0).view(np.int64))
_SAT_LO_BITS = int(np.float64(38.0).view(np.int64))


def _emit_exp_reduce64(v, y):
    """``_core._exp_reduce64(y)`` with LLVM's contractions: ``(p, k)``."""
    builder = v.builder
    fma, f = v.fma, v.splat_f
    t = fma(y, f(_LOG2E), f(_SHIFT64))
    kf = builder.fsub(t, f(_SHIFT64))
    nkf = builder.fneg(kf)
    r = fma(nkf, f(_LN2_LO64), fma(nkf, f(_LN2_HI64), y))
    k = builder.sub(builder.bitcast(t, v.I), v.splat_i(_SHIFT_BITS))
    r2 = builder.fmul(r, r)
    r4 = builder.fmul(r2, r2)
    c = [f(x) for x in _E64]
    q0 = fma(r, c[1], c[0])
    q1 = fma(r, c[3], c[2])
    q2 = fma(r, c[5], c[4])
    q3 = fma(r, c[7], c[6])
    q4 = fma(r, c[9], c[8])
    q = fma(r4, fma(r4, q4, fma(r2, q3, q2)), fma(r2, q1, q0))
    return builder.fadd(f(1.0), fma(r2, q, r)), k


def _emit_sigmoid(v, b, store):
    builder = v.builder
    f = v.splat_f
    ab = builder.and_(b, v.splat_i(v.ABS))

    def evaluate(general):
        cb = v.smin(v.smax(ab, v.splat_i(_TINY_BITS)), v.splat_i(_LIMIT_BITS)) if general else ab
        p, k = _emit_exp_reduce64(v, builder.fneg(builder.bitcast(cb, v.F)))
        e = emit_ldexp_flush64(v, p, k, general)
        one = f(1.0)
        num = builder.select(builder.icmp_signed(">", b, v.splat_i(-1)), one, e)  # sign clear: x >= +0
        d = builder.fadd(one, e)
        d_err = builder.fadd(builder.fsub(one, d), e)
        if general:
            d_err = builder.select(builder.fcmp_ordered(">=", e, f(2.0**-60)), d_err, f(0.0))
        inv = builder.fdiv(one, d)
        q = builder.fmul(num, inv)
        nq = builder.fneg(q)
        res = v.fma(nq, d_err, v.fma(nq, d, num))
        rb = builder.bitcast(v.fma(inv, res, q), v.I)
        if general:
            rb = builder.select(builder.icmp_signed(">", ab, v.splat_i(_INF_BITS)), b, rb)
        store(rb, nonzero=not general)  # short path: sigmoid(x) >= sigmoid(-40) > 0

    def saturated():
        """Every |x| >= 38 (infinities included, NaN not): e <= 3.2e-17 < 2^-54, so
        1 + e rounds to 1, 1 - e to 1 and e - e^2 to e: the general path's result
        is 1 for x >= 0 and e itself (flushed below normal) for x < 0, no division."""
        cb = v.smin(ab, v.splat_i(_LIMIT_BITS))
        p, k = _emit_exp_reduce64(v, builder.fneg(builder.bitcast(cb, v.F)))
        e = builder.bitcast(emit_ldexp_flush64(v, p, k, True), v.I)
        store(builder.select(builder.icmp_signed(">", b, v.splat_i(-1)), builder.bitcast(f(1.0), v.I), e))

    # typical blocks take the short path, blocks of saturated inputs the
    # division-free one, the rest the general one
    tiers = [(_TINY_BITS, _FAST_BITS, lambda: evaluate(False)), (_SAT_LO_BITS, _INF_BITS, saturated)]
    v.dispatch(ab, tiers, lambda: evaluate(True))


@intrinsic
def sigmoid64_generic_block16(typingctx, src, dst):
    """``dst[0:16] = sigmoid(src[0:16])`` for float64 (``_sigmoid_generic``), as
    AVX-512 vector code (raw pointers, which may be equal)."""
    return block_intrinsic(src, dst, _emit_sigmoid, "float64")


@intrinsic
def sigmoid_product64_generic_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * sigmoid(src[0:16])`` for float64
    (``backward_product``; softplus's fused backward at beta = 1), as AVX-512
    vector code."""
    return backward_block_intrinsic(grad, src, dst, _emit_sigmoid, "float64")


def _emit_sigmoid_of_negated(v, b, store):
    """sigmoid(-x): the sign bit flipped, then the kernel above (as
    ``_sigmoid_generic(-x)``; a NaN comes back with its sign flipped, as there)."""
    _emit_sigmoid(v, v.builder.xor(b, v.splat_i(v.SIGN)), store)


@intrinsic
def sigmoid_of_negated64_generic_block16(typingctx, src, dst):
    """``dst[0:16] = sigmoid(-src[0:16])`` for float64 (``_sigmoid_generic``;
    log_sigmoid'), as AVX-512 vector code."""
    return block_intrinsic(src, dst, _emit_sigmoid_of_negated, "float64")


@intrinsic
def sigmoid_of_negated_backward64_generic_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * sigmoid(-src[0:16])`` for float64
    (``backward_product``; log_sigmoid's fused backward), as AVX-512 vector code."""
    return backward_block_intrinsic(grad, src, dst, _emit_sigmoid_of_negated, "float64")
