"""Scalar kernels for use inside user ``@njit`` code.

``fastact.scalar.sigmoid(x)`` is the Numba-compiled scalar kernel behind the
``fastact.sigmoid`` ufunc: call it on float32/float64 scalars from nopython code
(parameters are positional and required, e.g. ``leaky_relu(x, 0.01)``).
"""

from __future__ import annotations

from . import kernels as _kernels  # noqa: F401  (registers every activation)
from ._registry import REGISTRY


def _export() -> list[str]:
    names = []
    for act in REGISTRY.values():
        for name, kernel in zip(act.public_names, (act.forward, act.grad, act.backward), strict=True):
            globals()[name] = kernel
            names.append(name)
    return names


__all__ = _export()
