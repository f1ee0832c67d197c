"""fastact: fast, accurate neural-network activation functions as NumPy ufuncs.

>>> import numpy as np, fastact as fa
>>> x = np.linspace(-5, 5, 11, dtype=np.float32)
>>> y = fa.sigmoid(x)            # float32 in, float32 out
>>> g = fa.sigmoid_grad(x)       # d/dx sigmoid
>>> fa.leaky_relu(x, 0.2, out=x) # parameters are ufunc arguments; out= works

Every activation ``name`` in :data:`REGISTRY` provides ``name`` (forward),
``name_grad`` (derivative at x) and ``name_backward(grad_out, x)`` (fused chain
rule).  Parameter-free ones are real :class:`numpy.ufunc` objects; those with
parameters are thin wrappers supplying the defaults (the raw ufuncs live in
:mod:`fastact.ufuncs`).  Scalar kernels callable from user ``@njit`` code are in
:mod:`fastact.scalar`.  Functions are compiled (or loaded from Numba's cache) on
first access.  Large arrays run on every core (:func:`set_num_threads`,
``$FASTACT_NUM_THREADS``); results are bitwise identical to one thread.
"""

from __future__ import annotations

from typing import Any

from . import (
    _cache,  # noqa: F401  (first: Numba's cache keyed on every kernel source)
    scalar,
    ufuncs,
)
from ._parallel import get_num_threads, set_num_threads
from ._registry import REGISTRY

__version__ = "0.1.0"

#: every public name, aliases included -> the canonical public name
_CANONICAL = {
    alias + suffix: act.name + suffix
    for act in REGISTRY.values()
    for alias in (act.name, *act.aliases)
    for suffix in ("", "_grad", "_backward")
}

__all__ = ["REGISTRY", "scalar", "ufuncs", "__version__", "get_num_threads", "set_num_threads", *sorted(_CANONICAL)]


def __getattr__(name: str) -> Any:
    if name in _CANONICAL:
        obj = ufuncs.public(_CANONICAL[name])
        globals()[name] = obj  # later lookups skip this function
        return obj
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_CANONICAL))
