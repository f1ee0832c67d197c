"""The float64 mish as an AVX-512 block kernel: the arithmetic of
``kernels.softplus._mish64`` (its scalar twin) on 16 lanes, operation for operation.

The scalar kernel (tanh(softplus(x)) = N / D in double words, in e = exp(-|x|),
then x times it, rounded once and scaled by 2^k) is written with plain multiplies
and adds; the loops' ``contract`` flag lets LLVM fuse each product used once by an
add, and the emitter writes exactly those FMAs, as read in the scalar kernel's
assembly.  Two of them are choices: in ``a b_lo + a_lo b`` (``_mul_dd``) LLVM fuses
the second product, fma(a_lo, b, a b_lo), and in e e_lo + e_lo e (the square of e)
it finds one product twice and adds it to itself, unfused.  The tests compare bit
patterns over random float64 bit patterns, so a different choice would show.

Blocks whose 16 |x| all lie in [2^-40, 40] (e = exp(-|x|) >= 2^-58: normal, above
the 2^-60 floor, the scalings of e's low part and of the result exact or flushed
only where e's low part is tiny; x needs no clamp or 2^64 scaling; no NaN or
infinity) skip the clamps, the scaled-tiny path and most of the two
``ldexp_signed`` scalings.  Blocks whose every |x| is at least 42 (e below the
2^-60 floor, where the general path drops it) take x for x > 0 and x (p + p_lo)
2^k for x < 0 with the general path's operations for them: no division.
"""

from __future__ import annotations

import numpy as np
from numba.extending import intrinsic

from ._avx512 import block_intrinsic
from ._logistic64 import emit_exp_neg64, emit_ldexp_flush64, emit_ldexp_signed64, emit_two_sum

__all__ = ["mish64_block16"]

_SIGN = -(2**63)
_ABS = 0x7FFFFFFFFFFFFFFF


def _bits(value: float) -> int:
    return int(np.float64(value).view(np.int64))


_A_MIN_BITS = _bits(2.0**-60)  # _softplus_bounds: |x| clamp below, and e0
_EXP_LIMIT = 746.0  # _core.exp_limit
_X_MAX = 2.0**500  # _softplus_bounds: from here on mish(x) = x
_TINY_NORMAL_BITS = _bits(np.finfo(np.float64).tiny)
_SMALL_BITS = _bits(2.0**-40)  # below: x scaled by 2^64 before the product
_FAST_LO_BITS = _SMALL_BITS
_FAST_HI_BITS = _bits(40.0)
# from |x| = 42 on e = exp(-|x|) < 2^-60: the saturated blocks
_SATURATED_BITS = _bits(42.0)


def _emit_mul_dd(v, a, a_lo, b, b_lo):
    """``_mul_dd``: p = a b, fma(a, b, -p) + fma(a_lo, b, a b_lo) (LLVM fuses the
    second product of a b_lo + a_lo b)."""
    builder = v.builder
    p = builder.fmul(a, b)
    return p, builder.fadd(v.fma(a, b, builder.fneg(p)), v.fma(a_lo, b, builder.fmul(a, b_lo)))


def _emit_mish64(v, b, store):
    builder = v.builder
    f, i = v.splat_f, v.splat_i
    fmul, fadd, sel = builder.fmul, builder.fadd, builder.select
    ab = builder.and_(b, i(_ABS))

    def evaluate(general):
        x = builder.bitcast(b, v.F)
        one, zero, two = f(1.0), f(0.0), f(2.0)
        # _mish_parts
        cb = v.smin(v.smax(ab, i(_A_MIN_BITS)), i(_bits(_EXP_LIMIT))) if general else ab
        a = builder.bitcast(cb, v.F)
        p, p_lo, k = emit_exp_neg64(v, a, f(-0.0))  # exp_dd(-a, +0.0): r_lo + 0.0
        e = emit_ldexp_flush64(v, p, k, general)
        if general:
            use = builder.fcmp_ordered(">=", e, f(2.0**-60))
            eh = sel(use, e, zero)
            el = sel(use, emit_ldexp_signed64(v, p_lo, v.smax(k, i(-60))), zero)
        else:
            eh, el = e, emit_ldexp_signed64(v, p_lo, k, down_finite=True)
        neg = builder.icmp_signed("<", b, i(0))
        ve = sel(neg, eh, fmul(two, eh))
        ve_lo = sel(neg, el, fmul(two, el))
        bsum, b_lo = emit_two_sum(v, sel(neg, two, one), ve)
        b_lo = fadd(b_lo, ve_lo)
        n, n_lo = _emit_mul_dd(v, sel(neg, p, one), sel(neg, p_lo, zero), bsum, b_lo)
        sq = fmul(eh, eh)
        cross = fmul(eh, el)
        sq_lo = fadd(v.fma(eh, eh, builder.fneg(sq)), fadd(cross, cross))
        fb, fb_lo = _emit_mul_dd(v, sel(neg, eh, one), sel(neg, el, zero), bsum, b_lo)
        g = sel(neg, two, fmul(two, sq))
        g_lo = sel(neg, zero, fmul(two, sq_lo))
        d, d_err = emit_two_sum(v, fb, g)
        d_lo = fadd(d_err, fadd(fb_lo, g_lo))
        # _div_dd
        q = builder.fdiv(n, d)
        nq = builder.fneg(q)
        res = v.fma(nq, d_lo, fadd(v.fma(nq, d, n), n_lo))
        t_lo = builder.fdiv(res, d)
        # x * t, rounded once, then 2^k (x < 0)
        if general:
            hi = sel(neg, f(_EXP_LIMIT), f(_X_MAX))
            mag = v.smin(v.smax(ab, i(_TINY_NORMAL_BITS)), builder.bitcast(hi, v.I))
            xc = builder.bitcast(builder.or_(mag, builder.and_(b, i(_SIGN))), v.F)
            small = builder.icmp_signed("<", ab, i(_SMALL_BITS))
            xs = fmul(xc, sel(small, f(2.0**64), one))
        else:
            xs = x  # x * 1.0
        y = fmul(xs, q)
        y = fadd(y, v.fma(xs, t_lo, v.fma(xs, q, builder.fneg(y))))
        kn = sel(neg, k, i(0))
        if not general:
            # a normal result: the exponent raised on the signed pattern; y + 0 is y
            store(builder.add(builder.bitcast(y, v.I), builder.shl(kn, i(52))))
            return
        shift = builder.sub(kn, sel(small, i(64), i(0)))
        y = fadd(emit_ldexp_signed64(v, y, shift), zero)
        keep = builder.or_(builder.fcmp_unordered("uno", x, x), builder.icmp_signed(">", b, i(_bits(_X_MAX))))
        store(sel(keep, b, builder.bitcast(y, v.I)))

    def saturated():
        """Every |x| in [42, inf] (no NaN): e < 2^-60, below the floor where the
        general path drops e (eh = el = 0), so for x > 0 the quotient is 1 and the
        result x itself, and for x < 0 N / D = 2 (p + p_lo) / 2 is p + p_lo exactly:
        x (p + p_lo) rounded once, times 2^k (flushed), with the general path's
        operations (its divisions by 2 and by 1 are exact) and so its bits."""
        # |x| clamped to the exp's limit: the exp's argument, and x for x < 0
        cb = v.smin(ab, i(_bits(_EXP_LIMIT)))
        p, p_lo, k = emit_exp_neg64(v, builder.bitcast(cb, v.F), f(-0.0))
        xs = builder.bitcast(builder.or_(cb, builder.and_(b, i(_SIGN))), v.F)
        y = fmul(xs, p)
        y = fadd(y, v.fma(xs, p_lo, v.fma(xs, p, builder.fneg(y))))
        y = fadd(emit_ldexp_signed64(v, y, k), f(0.0))
        store(sel(builder.icmp_signed("<", b, i(0)), builder.bitcast(y, v.I), b))

    tiers = [(_FAST_LO_BITS, _FAST_HI_BITS, lambda: evaluate(False)), (_SATURATED_BITS, v.INF_BITS, saturated)]
    v.dispatch(ab, tiers, lambda: evaluate(True))


@intrinsic
def mish64_block16(typingctx, src, dst):
    """``dst[0:16] = mish(src[0:16])`` for float64, as AVX-512 vector code (raw
    pointers, which may be equal)."""
    return block_intrinsic(src, dst, _emit_mish64, "float64")
