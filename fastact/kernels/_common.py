"""What every kernel module shares: the JIT options, the tiny-input clamp and
per-dtype constants."""

import numpy as np
from numba import njit, types
from numba.extending import overload

from .._core import JIT_OPTIONS, inlined_by_numba

_jit = njit(**JIT_OPTIONS)

# Below this |x| every kernel here has reached its x -> 0 value (sigmoid 1/2 and
# tanh(x) == x to the last bit, in both dtypes); clamping there keeps squares of x
# out of the subnormal range.
_TINY = 2.0**-60


def _per_dtype(c32, c64, wide=False):
    """A Numba-callable ``constant(x)`` returning ``c32`` (as float32, or as float64
    with ``wide`` for kernels that evaluate float32 in float64) or ``c64`` (as
    float64) according to the dtype of ``x``."""
    f32 = float if wide else np.float32
    c32 = tuple(f32(v) for v in c32) if isinstance(c32, tuple) else f32(c32)
    c64 = tuple(float(v) for v in c64) if isinstance(c64, tuple) else float(c64)

    def constant(x):
        raise NotImplementedError  # pragma: no cover - replaced by the overload

    @overload(constant, inline="always")
    def _constant_overload(x):
        if x == types.float32:
            return lambda x: c32
        if x == types.float64:
            return lambda x: c64
        return None

    constant.float32, constant.float64 = c32, c64  # for the block kernels' emitters
    return constant


def range_blocks(fast, general, lo: float, hi: float, saturated=None, saturated_lo: float = np.inf, *,
                 dtype: str, fast_nonzero: bool = False):
    """Block kernels for ``dtype`` (16 values, raw pointers; see ``_loops``) from two
    scalar kernels: ``fast`` where every |x| of the block lies in [lo, hi], else
    ``general``.  ``fast`` must be ``general`` with the clamps, selects and
    rescalings that are identities on [lo, hi] left out (the same operations
    otherwise, so the same bits: the block tests check it bit for bit).  With
    ``saturated`` (a scalar kernel too), blocks outside [lo, hi] whose every |x|
    lies in [saturated_lo, inf] (NaN excluded) take it instead of ``general``: the
    general kernel's value there without its arithmetic (a second test, which only
    the blocks outside the first reach).  Each loop of 16 is vectorized by LLVM; a
    test is one vector compare per 512 bits.  Returns ``(block(src, dst),
    backward_block(grad, src, dst))``, the latter grad * f(x) through
    ``backward_product``, or, with ``fast_nonzero`` (``fast`` is never 0 on [lo,
    hi]), as the plain product in the blocks that take ``fast``: the same bits
    (``backward_product`` blocks the gradient only where the derivative is 0),
    without the select LLVM cannot prove idle."""
    from numba import carray

    from .._avx512 import all_in_range
    from .._core import backward_product
    from .._loops import prefer_512_bit_vectors

    float_type, int_type = (np.float32, np.int32) if dtype == "float32" else (np.float64, np.int64)

    def bits(v):
        return int(float_type(v).view(int_type))

    _all_inside = all_in_range(bits(lo), bits(hi), dtype)
    _all_saturated = all_in_range(bits(saturated_lo), bits(np.inf), dtype)
    has_saturated = saturated is not None
    saturated = general if saturated is None else saturated
    # in the lane loops as Numba IR, so that LLVM vectorizes each loop whole
    fast, general, saturated = (inlined_by_numba(k) for k in (fast, general, saturated))

    @njit(**JIT_OPTIONS)
    def block(src, dst):
        # each lane loop is vectorized where the block is compiled, before it is
        # inlined: LLVM's Intel tuning would split it into 256-bit halves (selu
        # float32 2.3x the time of the same kernel in a plain 512-bit loop on Intel
        # Rocket Lake; AMD Zen 4's tuning chose 512 bits by itself)
        prefer_512_bit_vectors()
        x = carray(src, (16,), float_type)
        y = carray(dst, (16,), float_type)
        if _all_inside(src):
            for i in range(16):
                y[i] = fast(x[i])
        elif has_saturated and _all_saturated(src):
            for i in range(16):
                y[i] = saturated(x[i])
        else:
            for i in range(16):
                y[i] = general(x[i])

    @njit(**JIT_OPTIONS)
    def backward_block(grad, src, dst):
        prefer_512_bit_vectors()
        g = carray(grad, (16,), float_type)
        x = carray(src, (16,), float_type)
        y = carray(dst, (16,), float_type)
        if _all_inside(src):
            if fast_nonzero:
                for i in range(16):
                    y[i] = g[i] * fast(x[i])
            else:
                for i in range(16):
                    y[i] = backward_product(g[i], fast(x[i]))
        elif has_saturated and _all_saturated(src):
            for i in range(16):
                y[i] = backward_product(g[i], saturated(x[i]))
        else:
            for i in range(16):
                y[i] = backward_product(g[i], general(x[i]))

    return block, backward_block
