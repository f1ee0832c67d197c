"""Vectorizable float32/float64 math primitives.

PyPI's llvmlite ships no vector math library, so ``math.exp`` inside a Numba loop
stays a scalar libm call and the loop cannot be vectorized.  Everything here is
built from additions, multiplications, selects and integer bit tricks, all of which
LLVM turns into packed AVX2/AVX-512 instructions.

Conventions shared by every primitive:

* ``T = type(x)`` and every literal is wrapped in ``T(...)``: a bare Python float
  would silently promote a float32 kernel to float64.
* Ordered comparisons (``<``, ``>``) and ``min``/``max`` on a NaN set the x86
  *invalid* flag, which NumPy turns into a RuntimeWarning; only ``==``/``!=`` are
  quiet.  Replacing the NaN first is not enough: LLVM assumes flags do not matter
  and folds ``select(isnan(x), 0, x) > 0`` back into ``x > 0``.  So every
  comparison or clamp that can see a NaN input is done on the integer bit pattern
  (:func:`abs_clamped`, :func:`is_positive`, :func:`sign_clear`), which LLVM cannot
  turn back into a floating-point compare.  The primitives themselves are only fed
  NaN-free values.
* No intermediate result is ever subnormal: subnormal arithmetic costs microcode
  assists on x86 and raises the *underflow* flag.  Results whose true value is
  below the smallest normal number are returned as zero (their absolute error is
  then below the smallest normal, which is the accuracy contract for that range).

Polynomial coefficients come from ``tools/fit_poly.py`` (relative minimax fits in
60-digit arithmetic on the reduced range |r| <= ln2/2).
"""

from __future__ import annotations

import types as types_module

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

__all__ = [
    "JIT_OPTIONS",
    "expm1_dd64",
    "abs_clamped",
    "is_positive",
    "quiet_greater",
    "sign_clear",
    "backward_product",
    "pass_gradient",
    "chain_rule",
    "exp_limit",
    "exp_reduce",
    "largest_finite",
    "smallest_normal",
    "expm1_clamped",
    "expm1_linear_below",
    "float_bits",
    "fma",
    "float_from_bits",
    "ldexp_flush",
    "ldexp_normal",
    "ldexp_signed",
    "logistic_grad_ratio",
    "logistic_ratio",
    "ratio_dd",
    "two_sum",
    "slope_product",
]

#: Options of every scalar kernel: NumPy's error model (no zero-division branch,
#: which would block vectorization), FMA contraction only (no nnan/ninf: they
#: would break NaN/inf handling), inlined into the ufunc loop by LLVM
#: (``forceinline``: the ``alwaysinline`` attribute).  Numba's own inlining
#: (``inline="always"``) copies a kernel's IR into every caller before typing it,
#: so each helper was typed again at every call site of every loop: building
#: every loop from an empty cache took 515-536 s, 287-317 s with LLVM's inlining
#: (bit for bit the same results, the same packed arithmetic in every loop; Numba's
#: type inference was 85% of the time, LLVM 7%).  Each kernel is now typed once
#: per dtype and cached on its own.
JIT_OPTIONS = dict(error_model="numpy", fastmath={"contract"}, forceinline=True, cache=True)
_jit = njit(**JIT_OPTIONS)


def inlined_by_numba(kernel):
    """A twin of the scalar kernel ``kernel`` that Numba inlines into its caller,
    with every kernel it calls (found among its globals and closure cells)
    replaced by such a twin too: the whole call tree as Numba IR, as every kernel
    was before LLVM did the inlining.

    For the lane loops of the block kernels built from scalar kernels
    (``kernels._common.range_blocks``): with calls still in it, a loop of 16 is
    small when Numba's function passes run on it, before linking, so LLVM unrolls
    it fully, and after the calls are inlined the SLP vectorizer packs only part of
    the 16 copies (float64 tanhshrink' ran 3x slower).  With the kernel's IR in the
    loop from the start, the loop vectorizer takes it whole, as before."""
    twin = _NUMBA_INLINED.get(kernel)
    if twin is None:
        py = kernel.py_func

        def swap(value):
            return inlined_by_numba(value) if _is_kernel(value) else value

        scope = dict(py.__globals__)  # the module's names as they are now
        for name in py.__code__.co_names:
            if name in scope:
                scope[name] = swap(scope[name])
        cells = py.__closure__ and tuple(types_module.CellType(swap(c.cell_contents)) for c in py.__closure__)
        func = types_module.FunctionType(py.__code__, scope, py.__name__, py.__defaults__, cells)
        func.__qualname__, func.__module__ = py.__qualname__, py.__module__
        twin = _NUMBA_INLINED[kernel] = njit(**_NUMBA_INLINE_OPTIONS)(func)
    return twin


#: JIT_OPTIONS with Numba's inlining instead of LLVM's (and uncached: a twin is
#: never compiled on its own)
_NUMBA_INLINE_OPTIONS = {k: v for k, v in JIT_OPTIONS.items() if k not in ("forceinline", "cache")} | {
    "inline": "always"}
_NUMBA_INLINED: dict = {}


def _is_kernel(value) -> bool:
    """A dispatcher compiled with :data:`JIT_OPTIONS` (inlined by LLVM)."""
    return bool(getattr(value, "targetoptions", {}).get("forceinline"))


# --------------------------------------------------------------------------------
# Bit casts.  Numba has no reinterpret cast between float and int; these compile to
# a single LLVM ``bitcast`` (free in a vector register).
# --------------------------------------------------------------------------------
_INT_OF = {types.float32: types.int32, types.float64: types.int64}


@intrinsic
def float_bits(typingctx, x):
    """Reinterpret a float32/float64 as its int32/int64 bit pattern."""
    if x not in _INT_OF:
        return None
    ity = _INT_OF[x]

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(ity.bitwidth))

    return ity(x), codegen


@intrinsic
def float_from_bits(typingctx, bits, like):
    """Reinterpret the low bits of an integer as a float of the type of ``like``.

    Numba widens int32 arithmetic to int64; taking the low 32 bits here lets LLVM
    narrow the whole integer computation back to 32-bit lanes.
    """
    if like not in _INT_OF or not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        width = like.bitwidth
        value = args[0]
        if bits.bitwidth > width:
            value = builder.trunc(value, ir.IntType(width))
        elif bits.bitwidth < width:
            value = builder.sext(value, ir.IntType(width))
        return builder.bitcast(value, context.get_value_type(like))

    return like(bits, like), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with a single rounding (LLVM ``llvm.fma``, a vfmadd on x86).

    Used where an exact residual is the point; ``fastmath={"contract"}`` only
    *allows* LLVM to fuse, this makes it certain.
    """
    if a not in _INT_OF or b != a or c != a:
        return None

    def codegen(context, builder, sig, args):
        t = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fma", [t], ir.FunctionType(t, [t, t, t]))
        return builder.call(fn, args)

    return a(a, a, a), codegen


# --------------------------------------------------------------------------------
# Flag-free comparisons: on the bit pattern, never on the float.
# --------------------------------------------------------------------------------
@_jit
def abs_clamped(x, lo, hi):
    """``min(max(|x|, lo), hi)`` for ``0 < lo <= hi``, computed on integer bits.

    NaN maps to ``hi`` (its magnitude bits exceed those of every finite number)
    and raises no flag; callers put the NaN back with a final ``x != x`` select.
    For non-negative floats the integer order of the bit patterns is the numeric
    order, so integer min/max are exact.
    """
    T = type(x)
    mag = float_bits(abs(x))
    mag = max(mag, float_bits(T(lo)))
    mag = min(mag, float_bits(T(hi)))
    return float_from_bits(mag, x)


@_jit
def is_positive(x):
    """``x > 0`` for non-NaN ``x`` (False for +-0), with no floating-point compare."""
    return float_bits(x) > 0


@intrinsic
def quiet_greater(typingctx, a, b):
    """``a > b`` for non-NaN floats of one type, decided on the bit patterns.

    Sign-magnitude bits are mapped to a two's-complement key (``bits`` for a clear
    sign bit, ``INT_MIN - bits`` otherwise: -0.0 and +0.0 both map to 0), whose
    integer order is the float order.  No floating-point compare, so no *invalid*
    flag for a NaN operand; a NaN compares as above +inf (positive NaN) or below
    -inf (negative NaN), a meaningless but quiet answer that callers replace with a
    final ``x != x`` select.  Written as LLVM IR so that float32 stays in 32-bit
    integer lanes.
    """
    if a not in _INT_OF or b != a:
        return None

    def codegen(context, builder, sig, args):
        ity = ir.IntType(a.bitwidth)
        int_min = ir.Constant(ity, -(1 << (a.bitwidth - 1)))

        def key(v):
            bits = builder.bitcast(v, ity)
            negative = builder.icmp_signed("<", bits, ir.Constant(ity, 0))
            return builder.select(negative, builder.sub(int_min, bits), bits)

        return builder.icmp_signed(">", key(args[0]), key(args[1]))

    return types.boolean(a, b), codegen


@_jit
def bfloat16_low(packed):
    """The bfloat16 held in the low 16 bits of the float32 ``packed``, as a float32
    (``bits(packed) << 16``).  Tables of a double-word coefficient keep two low
    parts in one float32 this way (the high half is itself the other low part,
    read as is, its error below 2^-8 relative): one table fewer to look up.  The
    block twin is :meth:`fastact._avx512.Lanes.bfloat16_low`."""
    return float_from_bits(float_bits(packed) << np.int32(16), packed)


@_jit
def sign_clear(x):
    """True where the sign bit of ``x`` is clear (+0.0 and positive numbers)."""
    return float_bits(x) >= 0


def exp_limit(x):
    """Largest ``a`` for which ``exp(-a)`` is worth computing in the dtype of ``x``.

    exp(-104) and exp(-746) are below half the smallest subnormal of float32 and
    float64, so every result beyond is 0; the bound keeps the exponent arithmetic
    of :func:`ldexp_flush` in range.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(exp_limit, inline="always")
def _exp_limit_overload(x):
    if x == types.float32:
        return lambda x: np.float32(104.0)
    if x == types.float64:
        return lambda x: 746.0
    return None


def _finfo_constant(attribute: str, doc: str):
    """A function of ``x`` that compiles to ``np.finfo(<dtype of x>).<attribute>``,
    a constant, for float32 and float64 (an overload per such constant was the
    same eight lines each time)."""

    def constant(x):
        raise NotImplementedError  # pragma: no cover - replaced by the overload

    constant.__doc__ = doc

    @overload(constant, inline="always")
    def _constant_overload(x):
        if x in (types.float32, types.float64):
            value = getattr(np.finfo(np.dtype(x.name)), attribute)
            return lambda x: value
        return None

    return constant


#: the upper end of the clamps that keep infinities out of the arithmetic
largest_finite = _finfo_constant("max", "The largest finite number of the dtype of ``x``.")
#: the lower end of the clamps that keep subnormal operands out of a product
smallest_normal = _finfo_constant("tiny", "The smallest normal number of the dtype of ``x``.")


# --------------------------------------------------------------------------------
# exp range reduction: y = k*ln2 + r, |r| <= ln2/2, p = e^r.
# --------------------------------------------------------------------------------
# Rounding y/ln2 to an integer by adding 1.5*2^(mantissa bits): the sum's low
# mantissa bits then hold k as a two's-complement integer, so no float->int
# conversion (and no invalid flag for huge inputs) is needed.
_SHIFT32 = np.float32(12582912.0)  # 1.5 * 2**23
_SHIFT64 = np.float64(6755399441055744.0)  # 1.5 * 2**52
_LOG2E = 1.4426950408889634
# Cody-Waite split of ln2: the high part has trailing zero bits so that k*hi is
# exact for every k we produce.
_LN2_HI32 = np.float32(0.693145751953125)
_LN2_LO32 = np.float32(1.4286067653e-06)
_LN2_HI64 = 0.6931471803691238
_LN2_LO64 = 1.9082149292705877e-10

# exp(r) = 1 + r + r^2 * Q(r); relative error 3.1e-9 (f32) and 3.6e-18 (f64).
_E32 = (0.49999993451696134, 0.16666520689898046, 0.04166838736284516,
        0.00836870981595111, 0.0013814613195517978)
_E64 = (0.5000000000000011, 0.16666666666666413, 0.041666666666530267,
        0.008333333333494338, 0.0013888888943597738, 0.00019841269506769076,
        2.4801493136147198e-05, 2.7557586276516033e-06, 2.763023393167464e-07,
        2.500006893365782e-08)
# expm1(r) = r + r^2/2 + r^3 * Q(r); relative error 3.9e-10 (f32), 2.7e-19 (f64).
_M32 = (0.16666666299328842, 0.041666482712644726, 0.00833341961072721,
        0.0013933244322565396, 0.00019824129494048983)
_M64 = (0.16666666666666677, 0.04166666666666658, 0.008333333333322167,
        0.0013888888888942625, 0.00019841269884918704, 2.480158719828052e-05,
        2.7557245321206427e-06, 2.755738701970531e-07, 2.5108676078172114e-08,
        2.087891093827763e-09)


@_jit
def _reduce32(y):
    f = np.float32
    t = y * f(_LOG2E) + _SHIFT32
    kf = t - _SHIFT32
    r = (y - kf * _LN2_HI32) - kf * _LN2_LO32
    k = float_bits(t) - float_bits(_SHIFT32)
    return r, k


@_jit
def _reduce64(y):
    t = y * _LOG2E + _SHIFT64
    kf = t - _SHIFT64
    r = (y - kf * _LN2_HI64) - kf * _LN2_LO64
    k = float_bits(t) - float_bits(_SHIFT64)
    return r, k


@_jit
def _exp_reduce32(y):
    f = np.float32
    r, k = _reduce32(y)
    # Estrin-style split: two short Horner chains for more instruction parallelism.
    r2 = r * r
    q_lo = f(_E32[0]) + r * f(_E32[1])
    q_hi = f(_E32[2]) + r * (f(_E32[3]) + r * f(_E32[4]))
    q = q_lo + r2 * q_hi
    return f(1) + (r + r2 * q), k


@_jit
def _exp_reduce64(y):
    r, k = _reduce64(y)
    r2 = r * r
    r4 = r2 * r2
    c = _E64
    q0 = c[0] + r * c[1]
    q1 = c[2] + r * c[3]
    q2 = c[4] + r * c[5]
    q3 = c[6] + r * c[7]
    q4 = c[8] + r * c[9]
    q = (q0 + r2 * q1) + r4 * ((q2 + r2 * q3) + r4 * q4)
    return 1.0 + (r + r2 * q), k


def exp_reduce(y):
    """Return ``(p, k)`` with ``exp(y) = p * 2**k``, ``p`` in [0.70, 1.42].

    ``k`` is an integer.  ``y`` must lie in [-exp_limit(y), 88] (float32) or
    [-exp_limit(y), 709] (float64), NaN excluded: callers clamp (with
    :func:`abs_clamped`, which also removes NaN), so that the reduction does not
    clamp a second time.  The relative error of ``p`` is below 1 ULP of the
    working precision.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(exp_reduce, inline="always")
def _exp_reduce_overload(y):
    if y == types.float32:
        return lambda y: _exp_reduce32(y)
    if y == types.float64:
        return lambda y: _exp_reduce64(y)
    return None


# --------------------------------------------------------------------------------
# Scaling by 2**k with flush to zero instead of subnormal results.
# --------------------------------------------------------------------------------
# Done entirely on the bit pattern: adding k to the exponent field of p is exact,
# and the flush is an integer compare.  A float multiply here would underflow on
# the flushed lanes, and a select cannot hide that: LLVM assumes flags do not
# matter and evaluates both sides.  Written as LLVM IR so that the float32 version
# stays in 32-bit integer lanes (Numba widens int32 arithmetic to int64, which
# halves the vector width).
def _ldexp_on_bits(flush: bool):
    """The codegen of :func:`ldexp_flush` (``flush``) and :func:`ldexp_normal`: k
    added to the exponent field of p, then (``flush``) +0 below the smallest
    normal number."""

    def typer(typingctx, p, k):
        if p not in _INT_OF or not isinstance(k, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            pv, kv = args
            mant_bits = 23 if p == types.float32 else 52
            ity = ir.IntType(p.bitwidth)
            kv = builder.trunc(kv, ity) if k.bitwidth > p.bitwidth else builder.sext(kv, ity)
            bits = builder.add(builder.bitcast(pv, ity), builder.shl(kv, ir.Constant(ity, mant_bits)))
            if flush:
                normal = builder.icmp_signed(">=", bits, ir.Constant(ity, 1 << mant_bits))
                bits = builder.select(normal, bits, ir.Constant(ity, 0))
            return builder.bitcast(bits, pv.type)

        return p(p, k), codegen

    return typer


@intrinsic
def ldexp_flush(typingctx, p, k):
    """``p * 2**k`` for positive normal ``p``, or ``+0.0`` where that is below the
    smallest normal number.

    The result must not overflow (every caller scales an ``exp_reduce`` mantissa of
    a non-positive argument, possibly by a small positive offset) and ``k`` must be
    above -250 (float32) / -2000 (float64) so the exponent arithmetic cannot wrap.
    Never produces a subnormal or raises a floating-point flag.
    """
    return _ldexp_on_bits(flush=True)(typingctx, p, k)


@intrinsic
def ldexp_normal(typingctx, p, k):
    """:func:`ldexp_flush` where ``p * 2**k`` is known to be normal (the fast blocks
    of ``kernels._common.range_blocks``): the same sum on the bit pattern, without
    the flush."""
    return _ldexp_on_bits(flush=False)(typingctx, p, k)


@intrinsic
def ldexp_signed(typingctx, p, k):
    """``p * 2**k`` for normal, infinite or NaN ``p`` of either sign and ``|k| <= 200``,
    on the bit pattern: +-0 where the result is below the smallest normal number,
    +-inf where it overflows, inf and NaN unchanged.  No flag, ever.

    The exact rescaling step of products formed on scaled operands: scaling by a
    data-selected power of two *before* the product (never the operand itself
    selected, which LLVM may undo) keeps the product in range; this puts it back,
    rounding once (where the result is normal) as the unscaled product would.
    """
    if p not in _INT_OF or not isinstance(k, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        pv, kv = args
        mant = 23 if p == types.float32 else 52
        ity = ir.IntType(p.bitwidth)
        const = lambda v: ir.Constant(ity, v)  # noqa: E731
        kv = builder.trunc(kv, ity) if k.bitwidth > p.bitwidth else builder.sext(kv, ity)
        bits = builder.bitcast(pv, ity)
        sign_mask = const(-(1 << (p.bitwidth - 1)))
        sign = builder.and_(bits, sign_mask)
        mag = builder.and_(bits, const((1 << (p.bitwidth - 1)) - 1))
        inf = const(((1 << (p.bitwidth - 1 - mant)) - 1) << mant)
        shift = builder.shl(kv, const(mant))
        up = builder.icmp_signed(">", kv, const(0))
        # up: overflow iff mag > inf - shift; down: flush iff mag < (1 << mant) - shift
        # (shift of the other sign is replaced by 0, so neither bound wraps)
        over = builder.icmp_signed(">", mag, builder.sub(inf, builder.select(up, shift, const(0))))
        under = builder.icmp_signed("<", mag, builder.sub(const(1 << mant), builder.select(up, const(0), shift)))
        special = builder.icmp_signed(">=", mag, inf)
        new = builder.add(mag, shift)
        new = builder.select(under, const(0), new)
        new = builder.select(over, inf, new)
        new = builder.select(special, mag, new)
        return builder.bitcast(builder.or_(new, sign), pv.type)

    return p(p, k), codegen


# --------------------------------------------------------------------------------
# expm1 on a clamped range.
# --------------------------------------------------------------------------------
@_jit
def _expm1_combine(r, tail, s):
    """``s * (r + tail) + (s - 1)`` as an unevaluated sum ``hi + lo``.

    ``r + tail`` is expm1(r) (``tail`` the small polynomial part) and ``s = 2**k``.
    Both additions are Fast2Sums (the first operand is the larger: |r| >= |tail|,
    and |s - 1| >= |s * p| for k != 0, while s - 1 == 0 for k == 0), so ``lo``
    carries their rounding errors exactly.  Near k = -1 the final rounding of a
    plain expm1 is amplified 1.5x by tanh's -t/(2+t); keeping ``lo`` removes it.
    """
    one = type(r)(1)
    p_hi = r + tail
    p_lo = (r - p_hi) + tail
    sm1 = s - one  # rounds for k < -24 (float32) / -53 (float64): keep its error
    sm1_lo = (-one - sm1) + s  # Fast2Sum, |-1| >= s for k <= 0
    sp = s * p_hi  # exact: s is a power of two
    hi = sm1 + sp
    lo = ((sm1 - hi) + sp) + (s * p_lo + sm1_lo)
    return hi, lo


@_jit
def _expm1_32(y):
    f = np.float32
    r, k = _reduce32(y)
    r2 = r * r
    q = (f(_M32[0]) + r * f(_M32[1])) + r2 * (f(_M32[2]) + r * (f(_M32[3]) + r * f(_M32[4])))
    s = float_from_bits((k + 127) << 23, y)  # 2**k, exact
    # expm1(y) = 2^k * expm1(r) + (2^k - 1); for k == 0 this is expm1(r) itself,
    # so tiny arguments keep full relative accuracy.
    return _expm1_combine(r, r2 * f(0.5) + r2 * r * q, s)


@_jit
def _expm1_64(y):
    r, k = _reduce64(y)
    r2 = r * r
    r4 = r2 * r2
    c = _M64
    q = ((c[0] + r * c[1]) + r2 * (c[2] + r * c[3])) + r4 * (
        ((c[4] + r * c[5]) + r2 * (c[6] + r * c[7])) + r4 * (c[8] + r * c[9])
    )
    s = float_from_bits((k + 1023) << 52, y)
    # float64 keeps to the <= 2 ULP contract without the low part, which would cost
    # ~25% of tanh's time: lo = -0.0, which callers' "x + lo" folds away exactly.
    return s * (r + (r2 * 0.5 + r2 * r * q)) + (s - 1.0), -0.0


@_jit
def expm1_dd64(y):
    """expm1(y) as a double word ``(hi, lo)`` within 2**-56.5 relative, for float64
    ``y`` in [-80, -2**-40]: the :func:`expm1_clamped` core with every rounding
    that reaches 2**-56 kept (its float64 ``lo`` is -0.0: within ~1 ULP), for
    callers that cancel or square it (tanhshrink' = tanh(x)**2).

    y = k ln2 + r + r_lo (Cody-Waite, r_lo the rounding of r); expm1(r + r_lo) =
    r + r**2/2 + r**3 Q(r) + r_lo (1 + r), summed by two Fast2Sums: the exact half
    of a double-word square plus the small rest (r**3 Q < 0.008 |r|: the roundings
    of Q's evaluation and of r**3, each 2**-53 of that rest, are the error left),
    then r plus that; then 2**k expm1(r) + (2**k - 1) as in the float32
    core (:func:`_expm1_combine`).  Measured against 200-bit mpmath: 2**-56.62 at
    worst over 4*10^4 uniform y in [-0.35, -0.2] (at y = -0.3357, where k = 0 and
    |r| is near ln2/2; Q's fit alone is within 2**-59.2 there), 2**-57.4 on
    [-1.1, -0.35], 2**-58.2 on [-0.2, -0.001], 2**-60.9 on [-80, -1.1].  (Until
    2026-12-06 this said 2**-57.5, from 3000 samples log-uniform over the whole
    domain that had missed the worst stretch.)
    """
    t = fma(y, _LOG2E, _SHIFT64)
    kf = t - _SHIFT64
    k = float_bits(t) - float_bits(_SHIFT64)
    r_hi = fma(-kf, _LN2_HI64, y)  # exact
    c = kf * _LN2_LO64
    r = r_hi - c
    r_lo = (r_hi - r) - c
    r2 = r * r
    r2_lo = fma(r, r, -r2)
    r4 = r2 * r2
    m = _M64
    q = ((m[0] + r * m[1]) + r2 * (m[2] + r * m[3])) + r4 * (
        ((m[4] + r * m[5]) + r2 * (m[6] + r * m[7])) + r4 * (m[8] + r * m[9])
    )
    h = 0.5 * r2  # exact
    small = fma(r2 * r, q, fma(0.5, r2_lo, fma(r_lo, r, r_lo)))
    hs = h + small  # a Fast2Sum (|small| < |h| / 2), then another (|hs| < |r|)
    p = r + hs
    p_lo = ((r - p) + hs) + ((h - hs) + small)
    s = float_from_bits((k + 1023) << 52, y)
    one = 1.0
    sm1 = s - one
    sm1_lo = (-one - sm1) + s
    sp = s * p
    hi = sm1 + sp
    return hi, ((sm1 - hi) + sp) + fma(s, p_lo, sm1_lo)


def expm1_clamped(y):
    """``exp(y) - 1`` as an unevaluated sum ``(hi, lo)``, full relative accuracy near 0.

    float32: ``hi`` is expm1(y) to about half an ULP and ``lo`` the rounding error
    of its last additions, for callers that amplify that error (tanh: float32 is
    certified to 1 ULP).  float64: ``lo`` is -0.0 and ``hi`` is within about 1 ULP.

    ``y`` must lie in [-80, -2**-40] (both dtypes; callers clamp: every use here
    has saturated well before -80, and expm1(y) == y to the last bit above
    -2**-40, where ``r**3`` would underflow).
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(expm1_clamped, inline="always")
def _expm1_overload(y):
    if y == types.float32:
        return lambda y: _expm1_32(y)
    if y == types.float64:
        return lambda y: _expm1_64(y)
    return None


def expm1_linear_below(x):
    """``|y|`` below which expm1(y) rounds to y itself in the dtype of ``x``.

    2**-40 (float32) and 2**-60 (float64): expm1(y) = y (1 + y/2 + ...), and the
    relative term |y|/2 is then below a quarter ULP.  :func:`expm1_clamped` is
    valid from there on (float32 stops at 2**-40, where r**3 would underflow).
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(expm1_linear_below, inline="always")
def _expm1_linear_below_overload(x):
    if x == types.float32:
        return lambda x: np.float32(2.0**-40)
    if x == types.float64:
        return lambda x: 2.0**-60
    return None


# --------------------------------------------------------------------------------
# Shared pieces of the activation kernels.
# --------------------------------------------------------------------------------
@_jit
def ratio_dd(num_hi, num_lo, base, addend_hi, addend_lo):
    """``(num_hi + num_lo) / (base + addend_hi + addend_lo)`` for a denominator in
    [1, 2] (``|base| >= |addend_hi|``): one division, then one FMA residual
    correction that also folds in both low parts and the rounding of the sum."""
    d = base + addend_hi
    d_lo = ((base - d) + addend_hi) + addend_lo
    inv = type(num_hi)(1) / d
    q = num_hi * inv
    res = (fma(-q, d, num_hi) + num_lo) - q * d_lo
    return fma(inv, res, q)


@_jit
def logistic_ratio(num, e):
    """``num / (1 + e)`` for ``0 <= e <= 1`` (``e = exp(-|x|)``), about half an ULP.

    ``1 + e`` is rounded; its exact error and the division's own rounding error (an
    FMA residual) are folded back in with one correction step.  For e < 2**-60,
    1 + e == 1 and the error term (about e*num, which could underflow) is dropped:
    the result is then num exactly, computed on the same path, not patched in later
    (LLVM would evaluate a discarded path anyway, flags and all).
    """
    T = type(e)
    one = T(1)
    d = one + e
    # Fast2Sum: 1 + e == d + d_err exactly (1 >= e).
    d_err = _select(e >= T(2.0**-60), (one - d) + e, T(0))
    inv = one / d
    q = num * inv
    res = fma(-q, d, num) - q * d_err
    return fma(inv, res, q)


@_jit
def logistic_grad_ratio(num, e):
    """``num / (1 + e)**2`` for ``0 <= e <= 1``: the logistic derivative e/(1+e)^2
    (``num = e``) and tanh's 4e/(1+e)^2 (``num = 4e``), with one division.

    ``(1 + e)**2`` is carried as a double word: the rounding error of ``1 + e``
    (Fast2Sum) and of the square (an FMA residual) enter one residual correction
    of the quotient.  Forming sigmoid(x) * sigmoid(-x) instead compounds three
    roundings and the error of e: exhaustively, up to 2.9 float32 ULPs.  For
    e < 2**-60 the error terms (which could underflow) are dropped; they are then
    below 2**-59 relative.
    """
    T = type(e)
    one = T(1)
    use_err = e >= T(2.0**-60)
    d = one + e
    d_lo = _select(use_err, (one - d) + e, T(0))  # a call: inlined through overloads
    dd = d * d
    dd_lo = fma(d, d, -dd) + T(2) * d * d_lo
    inv = one / dd
    q = num * inv
    res = fma(-q, dd, num) - q * dd_lo
    return fma(inv, res, q)


@njit(error_model="numpy", cache=True)
def _select(condition, if_true, if_false):
    """``if_true if condition else if_false`` as a call: Numba's IR inliner warns
    about the phi nodes of ternaries inside inlined overloads; LLVM inlines this."""
    return if_true if condition else if_false


@_jit
def scaled_exactly(v, s, unit_scale, subnormal_unit):
    """v s for a power of two s, exact where the product is normal, with no product
    on a subnormal operand where s is ``unit_scale``: a subnormal v is then its
    mantissa bits, an integer, converted to a float (exact) times
    ``subnormal_unit`` = ``unit_scale`` ulp(0) (for any other s a subnormal v is
    returned unscaled, and the caller's product meets it: exact, but slow).  A
    product with a subnormal operand costs Intel cores a microcode assist per
    vector instruction (selu and elu with alpha took 6-7x their time on subnormal
    inputs, Rocket Lake).  The product itself takes |v| raised to the smallest
    normal number (an integer max, which LLVM cannot fold into the select) and is
    discarded there.  Infinities and NaN take the product."""
    T = type(v)
    bits = float_bits(abs(v))
    normal_bits = float_bits(smallest_normal(v))
    product = np.copysign(float_from_bits(max(bits, normal_bits), v), v) * s
    subnormal = _select(s == unit_scale, np.copysign(T(bits) * subnormal_unit, v), v)
    return _select(bits < normal_bits, subnormal, product)


@_jit
def _chain_rule(grad_out, derivative, mant, bias, half_scale, big, scaled_below, flush_below, subnormal_unit):
    T = type(grad_out)
    blocked = (derivative == T(0)) & (abs(grad_out) == T(np.inf))
    # Unbiased exponents from the bit patterns (a subnormal counts as 2**-bias,
    # an upper bound, which the thresholds allow for).
    eg = (float_bits(abs(grad_out)) >> mant) - bias
    ed = (float_bits(abs(derivative)) >> mant) - bias
    e = eg + ed  # |g * d| < 2**(e + 2)
    # Products that may land below the smallest normal are formed with both factors
    # scaled up (no underflow flag), then scaled back exactly on the bit pattern,
    # flushing to zero.  Products certainly below it use g = 0: 0 * d, no flag.
    scaled = (e < scaled_below) & (eg < big) & (ed < big)
    s = _select(scaled, half_scale, T(1))
    g = _select(blocked | (e < flush_below), T(0), grad_out)
    # a subnormal factor scaled by half_scale without a product on it (the other
    # factor >= 2**big leaves both unscaled)
    p = scaled_exactly(g, s, half_scale, subnormal_unit) * scaled_exactly(derivative, s, half_scale, subnormal_unit)
    back = np.copysign(ldexp_flush(abs(p), 2 * bias - 2 * (float_bits(half_scale) >> mant)), p)
    return _select(scaled, back, p)


@_jit
def _chain_rule32(grad_out, derivative):
    # scale 2**32 per factor; scaled iff |g*d| < 2**40 and both factors < 2**60;
    # flushed iff |g*d| < 2**-166 (so the scaled product stays normal); |derivative|
    # <= 1, so the product cannot overflow
    return _chain_rule(grad_out, derivative, 23, 127, np.float32(2.0**32), 60, 40, -166, np.float32(2.0**-117))


@_jit
def _chain_rule64(grad_out, derivative):
    return _chain_rule(grad_out, derivative, 52, 1023, 2.0**64, 900, 40, -1096, 2.0**-1010)


def chain_rule(grad_out, derivative):
    """``grad_out * derivative`` with no floating-point flag for any input.

    * A derivative that is exactly 0 (saturation beyond the float range, or a zero
      slope) blocks the gradient: the result is 0 even for ``grad_out = +-inf``, as
      in PyTorch's threshold_backward, instead of IEEE's NaN with an *invalid* flag.
      A NaN ``grad_out`` still gives NaN.
    * A product below the smallest normal number is flushed to +-0, like every
      other result, without the *underflow* flag a plain multiply would raise.

    For ``|derivative| <= 1`` only (then ``|g * d| <= |g|``).  The fused backward
    kernels use :func:`backward_product` instead (their loops discard the flags).

    The replaced operands are chosen *before* the product, so the product itself is
    the result and LLVM cannot reintroduce the flagged operation.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(chain_rule, inline="always")
def _chain_rule_overload(grad_out, derivative):
    if grad_out == types.float32:
        return lambda grad_out, derivative: _chain_rule32(grad_out, derivative)
    if grad_out == types.float64:
        return lambda grad_out, derivative: _chain_rule64(grad_out, derivative)
    return None


@_jit
def backward_product(grad_out, derivative):
    """``grad_out * derivative``: the last step of every fused backward kernel.

    * A derivative that is exactly 0 (saturation beyond the float range, or a zero
      slope) blocks the gradient: the result is 0 even for ``grad_out = +-inf``, as
      in PyTorch's threshold_backward, instead of IEEE's NaN with an *invalid* flag.
      A NaN ``grad_out`` still gives NaN.
    * Otherwise it is the IEEE product, rounded once: below the smallest normal
      number it underflows gradually (to the correctly rounded subnormal), beyond
      the largest finite number it is +-inf.

    The *overflow* and *underflow* flags that product may raise are discarded by
    the ufunc loop, which saves the SSE status register before and puts those two
    flags back after (``_loops.discard_range_flags``, loops built with
    ``quiet_range``): no floating-point warning, and the product costs one
    multiply instead of the exponent tests and rescaling :func:`chain_rule` needs
    to avoid raising the flags at all (that one serves kernels whose loops keep
    every flag, elu's ``alpha * expm1(x)``).  Called from user ``@njit`` code, the
    flags stay raised there; Numba never reports them.
    """
    T = type(grad_out)
    blocked = (derivative == T(0)) & (abs(grad_out) == T(np.inf))
    # the replaced operand is chosen before the product, so the product itself is
    # the result: 0 * derivative, never inf * 0
    return _select(blocked, T(0), grad_out) * derivative


@_jit
def pass_gradient(grad_out, x, keep):
    """``x if x != x else (grad_out if keep else 0)``: the fused backward of a
    piecewise-linear function whose slope is 1 or 0 (relu, relu6, hard_tanh,
    hardshrink, softshrink, threshold), on the bit patterns.

    Written as masks (grad_out's bits AND keep's, OR x's bits where x is NaN)
    rather than the ternary: LLVM sinks the load of grad_out into the branch of a
    ternary that alone uses it, and then vectorizes it as a masked load
    (``vmaskmovps``), which on AMD Zen 3 made these memory-bound loops 1.3-1.45x
    slower at 10^7 elements than the same work with plain loads (PyTorch's, or
    ``np.multiply``'s).  No compare sees grad_out: an infinite or NaN grad_out
    passes through where kept, and x's NaN (its payload too) wins over it."""
    b = float_bits(x)
    zero = b ^ b  # 0 of x's integer width
    keep_g = _select(keep, ~zero, zero)
    keep_x = _select(x != x, ~zero, zero)
    return float_from_bits((float_bits(grad_out) & keep_g & ~keep_x) | (b & keep_x), x)


@_jit
def two_sum(a, b):
    """``(s, e)`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (Knuth's TwoSum:
    no ordering of the operands needed; finite, NaN-free operands)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


# --------------------------------------------------------------------------------
# a * slope for a slope that is the same for every element (leaky_relu).
# --------------------------------------------------------------------------------
# chain_rule decides per element from both exponents and multiplies scaled
# operands: about 20 vector instructions.  With a loop-invariant slope the two
# places where a plain product would raise a flag are two ranges of |a|, whose
# bounds depend on the slope alone.  They are computed here in scalar code that
# LLVM hoists out of the loop (or folds, for a baked default), leaving per
# element two integer compares, two selects and the multiply.
@_jit
def _first_overflowing(b, slope, big, half_ulp_big):
    """The smallest of the bit patterns b-1 .. b+2 whose product with ``slope``
    rounds to infinity (``slope > 1``, ``b`` the bits of ``RN(big / slope)``)."""
    b = float_bits(float_from_bits(b, slope))  # keep float32 bits in 32-bit lanes

    def overflows(bits):
        return fma(float_from_bits(bits, slope), slope, -big) >= half_ulp_big

    return _select(overflows(b - 1), b - 1, _select(overflows(b), b, _select(overflows(b + 1), b + 1, b + 2)))


@_jit
def _slope_limits(slope, mant, tiny, scale, big, half_ulp_big):
    """(lo, hi, flushed) for :func:`slope_product`: ``|a|`` bit patterns below
    ``lo`` give ``copysign(flushed, a) * slope``, those in ``[hi, inf]`` give
    ``copysign(inf, a) * slope``."""
    T = type(slope)
    one = T(1)
    inf_bits = float_bits(T(np.inf))
    s = abs(slope)
    ordinary = (float_bits(s) < inf_bits) & (s != T(0))  # integer compare: NaN-quiet
    s = _select(ordinary, s, one)
    small = float_bits(s) <= float_bits(one)
    # |slope| <= 1: products underflow below c* = tiny/|slope| >= tiny.  c = RN(c*)
    # is the bound unless c*|slope| < tiny exactly, then it is the next float up.
    # The residual is formed scaled by 2**scale so that it is never subnormal.
    s_small = _select(small, s, one)
    c = tiny / s_small
    c_bits = float_bits(c)
    lo_small = _select(fma(c, s_small * scale, -(tiny * scale)) >= T(0), c_bits, c_bits + 1)
    # |slope| > 1: c* < tiny, among the subnormals n * 2**-(bias+mant-1):
    # n = ceil(2**mant / |slope|), found from the truncated quotient and exact residuals.
    s_big = _select(small, T(2), s)
    two_m = T(2.0**mant)
    n0 = float_bits(float_from_bits(int(two_m / s_big), slope))

    def reaches(n):
        return fma(T(n), s_big, -two_m) >= T(0)

    lo_big = _select((n0 >= 1) & reaches(n0), n0, _select(reaches(n0 + 1), n0 + 1, n0 + 2))
    hi_big = _first_overflowing(float_bits(big / s_big), s_big, big, half_ulp_big)
    is_zero = slope == T(0)
    is_inf = float_bits(abs(slope)) == inf_bits
    # slope 0: every finite or infinite a flushes (0 * inf would be invalid);
    # slope inf: 0 becomes NaN (0 * inf), everything else inf; NaN slope: no bounds.
    lo = _select(ordinary, _select(small, lo_small, lo_big),
                 _select(is_zero, inf_bits + 1, _select(is_inf, 1, 0)))
    hi = _select(ordinary & ~small, hi_big, _select(is_inf, 1, inf_bits + 1))
    flushed = _select(is_inf, T(np.nan), T(0))
    # through the float type and back: int32 for float32, so the per-element
    # compares stay in 32-bit lanes (Numba computes in int64)
    return float_bits(float_from_bits(lo, slope)), float_bits(float_from_bits(hi, slope)), flushed


@_jit
def _slope_product(a, slope, mant, tiny, scale, big, half_ulp_big):
    lo, hi, flushed = _slope_limits(slope, mant, tiny, scale, big, half_ulp_big)
    inf_bits = float_bits(type(a)(np.inf))
    bits = float_bits(a)
    mag = float_bits(abs(a))
    sign = bits ^ mag
    g = _select(mag < lo, float_from_bits(sign | float_bits(flushed), a), a)
    g = _select((mag >= hi) & (mag <= inf_bits), float_from_bits(sign | inf_bits, a), g)
    return g * slope


@_jit
def _slope_product32(a, slope):
    return _slope_product(a, slope, 23, np.float32(2.0**-126), np.float32(2.0**64),
                          np.float32(np.finfo(np.float32).max), np.float32(2.0**103))


@_jit
def _slope_product64(a, slope):
    return _slope_product(a, slope, 52, 2.0**-1022, 2.0**128, np.finfo(np.float64).max, 2.0**970)


def slope_product(a, slope):
    """``a * slope`` with no floating-point flag, for a ``slope`` shared by the loop.

    Same results as :func:`chain_rule` for ``|slope| <= 1`` except at one edge: a
    product whose *exact* value is below the smallest normal number is flushed to
    a signed zero (chain_rule keeps one that rounds up to it).  A product beyond
    the largest finite number is +-inf, ``0 * slope`` for slope 0 is 0 also for
    ``a = +-inf``, NaN in gives NaN.  Cheap only when ``slope`` is loop-invariant:
    its bounds are then computed once, outside the loop.
    """
    raise NotImplementedError  # pragma: no cover - replaced by the overload


@overload(slope_product, inline="always")
def _slope_product_overload(a, slope):
    if a == types.float32:
        return lambda a, slope: _slope_product32(a, slope)
    if a == types.float64:
        return lambda a, slope: _slope_product64(a, slope)
    return None
