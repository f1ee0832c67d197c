"""What every kernel module shares: the JIT options, the tiny-input clamp and
per-dtype constants."""

import numpy as np
from numba import njit, types
from numba.extending import overload

from .._core import JIT_OPTIONS

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
