"""The compiled NumPy ufuncs of every registered activation, under their public names.

``fastact.<name>`` is the same object as ``fastact.ufuncs.<name>`` for activations
without parameters; for those with parameters ``fastact.<name>`` supplies the
defaults and this module holds the raw ufunc (every argument required), which is
also what pickle refers to.

Ufuncs are built on first access (PEP 562 module ``__getattr__``), one activation
at a time, from Numba's on-disk cache when it is warm: ``import fastact`` costs
Numba's own import and nothing per function, and a cold cache compiles only what
is used.  :func:`build_all` builds everything at once.
"""

from __future__ import annotations

import threading
from typing import Any

from . import kernels as _kernels  # noqa: F401  (registers every activation)
from ._registry import REGISTRY, build_public

#: public name (forward, _grad, _backward) -> registry name
_OWNER = {name: act.name for act in REGISTRY.values() for name in act.public_names}
#: public name -> what ``fastact.<name>`` is (ufunc, or wrapper with defaults)
_PUBLIC: dict[str, Any] = {}
_LOCK = threading.Lock()
_BUILT: set[str] = set()

__all__ = sorted(_OWNER) + ["build_all", "public"]


def _build(activation: str) -> None:
    with _LOCK:  # two threads asking at once must not compile twice
        if activation in _BUILT:
            return
        for key, obj in build_public(REGISTRY[activation]).items():
            if key.startswith("ufunc:"):
                globals()[key[len("ufunc:"):]] = obj
            else:
                _PUBLIC[key] = obj
        _BUILT.add(activation)


def public(name: str) -> Any:
    """What ``fastact.<name>`` is for the public name ``name`` (built on first use)."""
    if name not in _PUBLIC:
        if name not in _OWNER:
            raise AttributeError(f"fastact has no function {name!r}")
        _build(_OWNER[name])
    return _PUBLIC[name]


def build_all() -> None:
    """Build every ufunc now (benchmarks, tests and inspection want them all)."""
    for activation in REGISTRY:
        _build(activation)


def __getattr__(name: str) -> Any:
    if name in _OWNER:
        _build(_OWNER[name])
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
