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
:mod:`fastact.scalar`.
"""

from __future__ import annotations

from . import kernels as _kernels  # noqa: F401  (registers every activation)
from . import scalar, ufuncs
from ._registry import REGISTRY

__version__ = "0.1.0"


def _export() -> list[str]:
    names = []
    for act in REGISTRY.values():
        for name in act.public_names:
            globals()[name] = ufuncs.PUBLIC[name]
            names.append(name)
        for alias in act.aliases:
            for suffix in ("", "_grad", "_backward"):
                globals()[alias + suffix] = ufuncs.PUBLIC[act.name + suffix]
                names.append(alias + suffix)
    return names


__all__ = ["REGISTRY", "scalar", "ufuncs", "__version__", *_export()]
