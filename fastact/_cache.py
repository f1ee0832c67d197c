"""Numba's on-disk cache, keyed on every kernel source.

Numba stamps a cached function with its own source file only, but fastact's
kernels inline from other modules (``kernels.gated._silu_grad`` from
``_silu_grad32``, whose tables are module constants): after an edit there, the
cache would hand back the old code.  ``SOURCE_HASH`` digests every module a
compiled function can inline from (``kernels/*.py`` and the private math modules
``_*.py``); the ufunc loops carry it in their names (``_loops``), and
:func:`install` adds it to the stamp of every fastact function Numba caches, so
that any edit to those modules recompiles them all.  Functions defined outside
the package keep Numba's own cache keys.
"""

from __future__ import annotations

import hashlib
import pathlib

_HERE = pathlib.Path(__file__).resolve().parent

SOURCE_HASH = hashlib.sha256(
    b"".join(f.read_bytes() for f in [*sorted((_HERE / "kernels").glob("*.py")), *sorted(_HERE.glob("_[!_]*.py"))])
).hexdigest()[:12]


def _inside_package(py_file) -> bool:
    try:
        return pathlib.Path(py_file).resolve().is_relative_to(_HERE)
    except (OSError, TypeError, ValueError):
        return False


def _keyed(base: type) -> type:
    """``base`` (a Numba cache locator) for fastact's own files, with SOURCE_HASH in
    the source stamp."""

    class Keyed(base):
        @classmethod
        def from_function(cls, py_func, py_file):
            if not _inside_package(py_file):
                return None
            return super().from_function(py_func, py_file)

        def get_source_stamp(self):
            return (super().get_source_stamp(), SOURCE_HASH)

    Keyed.__name__ = Keyed.__qualname__ = f"SourceKeyed{base.__name__}"
    return Keyed


def install() -> bool:
    """Put the keyed locators first in Numba's list (once); False where this Numba
    has no such list (then Numba's own keys apply)."""
    try:
        from numba.core import caching

        classes = caching.CacheImpl._locator_classes
        bases = [caching.UserProvidedCacheLocator, caching.InTreeCacheLocator, caching.UserWideCacheLocator]
    except AttributeError:
        return False
    if not any(getattr(c, "__name__", "").startswith("SourceKeyed") for c in classes):
        classes[:0] = [_keyed(base) for base in bases]
    return True


INSTALLED = install()
