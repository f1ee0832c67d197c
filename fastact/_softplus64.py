"""The float64 softplus (beta = 1) and log_sigmoid as AVX-512 block kernels: the
arithmetic of ``kernels.softplus._softplus_generic`` at beta = 1 (its scalar twin;
log_sigmoid is 0 - softplus(-x)) on 16 lanes, operation for operation.

The scalar kernel: a = |x| clamped; exp(-a) = 2^k (p + p_lo) as a double word
(``_core_log.exp_dd``), log1p of it as a double word (``log1p_dd``: 1 + e
renormalized to [0.707, 1.414], s = f / (2 + f) with one corrected division and
2 atanh(s) = 2s + s^3 R(s^2)), then x + log1p(e) as one rounding of an exact sum
for x > 0.  Its plain multiplies and adds are fused by LLVM under the loops'
``contract`` flag where a product is used once by an add; the emitter writes
those FMAs (the products that feed several operations, or that are exact, stay
as they are).  The tests compare bit patterns over random float64 bit patterns.

Blocks whose 16 |x| all lie in [2^-60, 40] (e >= 2^-58: normal, no linear-range
lane, the series argument s above its clamp; no NaN, infinity or huge x) skip the
clamps, the flushes, the linear range and most of one ``ldexp_signed``.  Blocks
whose every |x| is at least 42 (saturated inputs: e < 2^-60, the linear range)
take x or e, the general path's bits without its log1p.
"""

from __future__ import annotations

import numpy as np
from numba.extending import intrinsic

from ._avx512 import block_intrinsic
from ._core_log import _ATANH64, _LN2_DW64, _SQRT2_64
from ._logistic64 import emit_exp_neg64, emit_ldexp_flush64, emit_ldexp_signed64, emit_two_sum

__all__ = ["softplus64_block16", "log_sigmoid64_block16"]

_SIGN = -(2**63)
_ABS = 0x7FFFFFFFFFFFFFFF


def _bits(value: float) -> int:
    return int(np.float64(value).view(np.int64))


_X_MIN_BITS = _bits(2.0**-120)  # _softplus_bounds (float64)
_X_MAX = 2.0**500
_A_MIN = 2.0**-60
_EXP_LIMIT = 746.0
_E0 = 2.0**-60  # log1p_linear_below: log1p(e) rounds to e below
_S_MIN_BITS = _bits(2.0**-100)  # _log_constants: the series' smallest |s|
_FAST_LO_BITS = _bits(2.0**-60)
_FAST_HI_BITS = _bits(40.0)
# from |x| = 42 on e = exp(-|x|) < 2^-60.6 < _E0: the saturated blocks
_SATURATED_BITS = _bits(42.0)


def _emit_atanh_tail(v, z):
    """``_core_log._atanh_tail64(z)`` with LLVM's contractions."""
    builder = v.builder
    fma, f = v.fma, v.splat_f
    c = [f(x) for x in _ATANH64]
    z2 = builder.fmul(z, z)
    z4 = builder.fmul(z2, z2)
    lo = fma(z2, fma(z, c[3], c[2]), fma(z, c[1], c[0]))
    mid = fma(z2, fma(z, c[7], c[6]), fma(z, c[5], c[4]))
    return fma(z4, fma(z4, fma(z, c[9], c[8]), mid), lo)


def _emit_log1p_dd(v, e, e_lo, general):
    """``_core_log.log1p_dd(e, e_lo)`` with LLVM's contractions: ``(h, lo)``."""
    builder = v.builder
    fma, f = v.fma, v.splat_f
    fmul, fadd, fsub, sel = builder.fmul, builder.fadd, builder.fsub, builder.select
    one, two = f(1.0), f(2.0)
    u = fadd(one, e)
    c = fadd(fadd(fsub(one, u), e), e_lo)
    big = builder.fcmp_ordered(">", u, f(_SQRT2_64))
    half = sel(big, f(0.5), one)
    c = fmul(c, half)
    fm, f_lo = emit_two_sum(v, fma(u, half, f(-1.0)), c)  # m - 1 with m = u half fused (exact either way)
    d = fadd(two, fm)
    d_lo = fadd(fadd(fsub(two, d), fm), f_lo)
    inv = builder.fdiv(one, d)
    s = fmul(fm, inv)
    ns = builder.fneg(s)
    res = fma(ns, d_lo, fadd(fma(ns, d, fm), f_lo))
    s_lo = fmul(res, inv)
    if general:
        sb = builder.bitcast(s, v.I)
        mag = v.smin(v.smax(builder.and_(sb, v.splat_i(_ABS)), v.splat_i(_S_MIN_BITS)), v.splat_i(_bits(1.0)))
        st = builder.bitcast(builder.or_(mag, builder.and_(sb, v.splat_i(_SIGN))), v.F)
    else:
        st = s  # |s| in [2^-100, 1] already
    z = fmul(st, st)
    zc = sel(builder.fcmp_ordered(">", z, f(2.0**-30)), z, f(2.0**-30))
    tail = fmul(fmul(st, z), _emit_atanh_tail(v, zc))
    a = sel(big, f(_LN2_DW64[0]), f(0.0))
    s2 = fmul(two, s)
    h = fadd(a, s2)
    lo = fadd(fadd(fsub(a, h), s2), fadd(sel(big, f(_LN2_DW64[1]), f(0.0)), fma(two, s_lo, tail)))
    return h, lo


def _emit_softplus_bits(v, b, general):
    """The bit pattern of ``_softplus_generic(x, 1, 20)`` for the bit pattern ``b`` of x."""
    builder = v.builder
    f, i = v.splat_f, v.splat_i
    fadd, sel = builder.fadd, builder.select
    ab = builder.and_(b, i(_ABS))
    if general:
        xa = builder.bitcast(v.smin(v.smax(ab, i(_X_MIN_BITS)), i(_bits(_X_MAX))), v.F)
        c = sel(builder.fcmp_ordered(">", xa, f(_A_MIN)), xa, f(_A_MIN))
        c = sel(builder.fcmp_ordered("<", c, f(_EXP_LIMIT)), c, f(_EXP_LIMIT))
    else:
        xa = c = builder.bitcast(ab, v.F)
    p, p_lo, k = emit_exp_neg64(v, c)
    # _log1p_exp
    if general:
        kk = v.smax(k, i(-60))
        e = emit_ldexp_flush64(v, p, k)
        ek = emit_ldexp_flush64(v, p, kk)
        ek_lo = emit_ldexp_signed64(v, p_lo, kk)
    else:
        e = ek = emit_ldexp_flush64(v, p, k, flush=False)
        ek_lo = emit_ldexp_signed64(v, p_lo, k, down_finite=True)
    hi, lo = _emit_log1p_dd(v, ek, ek_lo, general)
    if general:
        lin = builder.fcmp_ordered("<", e, f(_E0))
        hi = sel(lin, emit_ldexp_flush64(v, fadd(p, p_lo), k), hi)
        lo = sel(lin, f(0.0), lo)
    # x > 0: x + log1p(e), one rounding of the exact sum
    s, s_err = emit_two_sum(v, xa, hi)
    pos = fadd(s, fadd(s_err, lo))
    y = sel(builder.icmp_signed(">", b, i(0)), pos, fadd(hi, lo))
    yb = builder.bitcast(y, v.I)
    if general:
        x = builder.bitcast(b, v.F)
        keep = builder.or_(builder.fcmp_unordered("uno", x, x), builder.icmp_signed(">", b, i(_bits(_X_MAX))))
        yb = sel(keep, b, yb)
    return yb


def _emit_saturated_softplus_bits(v, b):
    """:func:`_emit_softplus_bits` for every |x| in [42, inf] (no NaN): there e =
    exp(-|x|) < 2^-60, below the linear range's start, so log1p(e) is e itself
    (p + p_lo rounded, times 2^k, flushed) and x + e rounds to x (e is far below
    half an ULP of x): x for x > 0, e for x < 0, the general path's bits without
    its log1p (no division, no series)."""
    builder = v.builder
    c = builder.bitcast(v.smin(builder.and_(b, v.splat_i(_ABS)), v.splat_i(_bits(_EXP_LIMIT))), v.F)
    p, p_lo, k = emit_exp_neg64(v, c)
    e = builder.bitcast(emit_ldexp_flush64(v, builder.fadd(p, p_lo), k), v.I)
    return builder.select(builder.icmp_signed(">", b, v.splat_i(0)), b, e)


def _emit_softplus64(v, b, store):
    ab = v.builder.and_(b, v.splat_i(_ABS))
    tiers = [
        (_FAST_LO_BITS, _FAST_HI_BITS, lambda: store(_emit_softplus_bits(v, b, False))),
        (_SATURATED_BITS, v.INF_BITS, lambda: store(_emit_saturated_softplus_bits(v, b))),
    ]
    v.dispatch(ab, tiers, lambda: store(_emit_softplus_bits(v, b, True)))


def _emit_log_sigmoid64(v, b, store):
    builder = v.builder
    nb = builder.xor(b, v.splat_i(_SIGN))  # -x
    ab = builder.and_(b, v.splat_i(_ABS))

    def finish(yb):
        y = builder.bitcast(yb, v.F)
        store(builder.bitcast(builder.fsub(v.splat_f(0.0), y), v.I))  # 0 - y: +0 for a flushed tail

    tiers = [
        (_FAST_LO_BITS, _FAST_HI_BITS, lambda: finish(_emit_softplus_bits(v, nb, False))),
        (_SATURATED_BITS, v.INF_BITS, lambda: finish(_emit_saturated_softplus_bits(v, nb))),
    ]
    v.dispatch(ab, tiers, lambda: finish(_emit_softplus_bits(v, nb, True)))


@intrinsic
def softplus64_block16(typingctx, src, dst):
    """``dst[0:16] = softplus(src[0:16])`` (beta = 1) for float64, as AVX-512 vector
    code (raw pointers, which may be equal)."""
    return block_intrinsic(src, dst, _emit_softplus64, "float64")


@intrinsic
def log_sigmoid64_block16(typingctx, src, dst):
    """``dst[0:16] = log_sigmoid(src[0:16])`` for float64, as AVX-512 vector code."""
    return block_intrinsic(src, dst, _emit_log_sigmoid64, "float64")
