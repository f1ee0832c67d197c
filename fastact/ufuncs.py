"""The compiled NumPy ufuncs of every registered activation, under their public names.

``fastact.<name>`` is the same object as ``fastact.ufuncs.<name>`` for activations
without parameters; for those with parameters ``fastact.<name>`` supplies the
defaults and this module holds the raw ufunc (every argument required), which is
also what pickle refers to.  Compilation happens once, at import, from Numba's
on-disk cache when it is warm.
"""

from __future__ import annotations

from typing import Any

from . import kernels as _kernels  # noqa: F401  (registers every activation)
from ._registry import REGISTRY, build_public

#: public name -> what ``fastact.<name>`` is (ufunc, or wrapper with defaults)
PUBLIC: dict[str, Any] = {}


def _build() -> list[str]:
    names = []
    for act in REGISTRY.values():
        built = build_public(act)
        for key, obj in built.items():
            if key.startswith("ufunc:"):
                globals()[key[len("ufunc:"):]] = obj
                names.append(key[len("ufunc:"):])
            else:
                PUBLIC[key] = obj
    return names


__all__ = _build()
