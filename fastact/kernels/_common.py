"""What every kernel module shares: the JIT options and the tiny-input clamp."""

from numba import njit

from .._core import JIT_OPTIONS

_jit = njit(**JIT_OPTIONS)

# Below this |x| every kernel here has reached its x -> 0 value (sigmoid 1/2 and
# tanh(x) == x to the last bit, in both dtypes); clamping there keeps squares of x
# out of the subnormal range.
_TINY = 2.0**-60
