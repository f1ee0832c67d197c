"""Numba's on-disk cache of fastact's functions is keyed on every kernel source
(``fastact/_cache.py``): an edit to a module a kernel inlines from (a table of
coefficients, say) must recompile it, not hand back the cached old code."""

from __future__ import annotations

from numba import njit

import fastact
from fastact import _cache, _loops


def _locator(dispatcher):
    """The cache locator of a ``cache=True`` dispatcher (Numba's internals)."""
    return dispatcher._cache._impl.locator


def test_fastact_kernels_carry_the_source_hash_in_their_stamp():
    assert _cache.INSTALLED
    for kernel in (fastact.scalar.silu_grad, fastact.scalar.sigmoid, fastact.scalar.tanhshrink_backward):
        locator = _locator(kernel)
        assert type(locator).__name__.startswith("SourceKeyed")
        stamp = locator.get_source_stamp()
        assert stamp[-1] == _cache.SOURCE_HASH and len(_cache.SOURCE_HASH) == 12
    assert _loops.SOURCE_HASH == _cache.SOURCE_HASH  # the ufunc loops' names carry the same hash


def test_functions_outside_the_package_keep_numbas_own_keys():
    @njit(cache=True)
    def user_function(x):
        return x + 1.0

    locator = _locator(user_function)
    assert not type(locator).__name__.startswith("SourceKeyed")
    assert user_function(1.0) == 2.0


def test_install_is_idempotent():
    from numba.core import caching

    before = list(caching.CacheImpl._locator_classes)
    assert _cache.install()
    assert caching.CacheImpl._locator_classes == before
    assert sum(c.__name__.startswith("SourceKeyed") for c in before) == 3


def test_kernels_inlined_by_numba_keep_their_results():
    """``_core.inlined_by_numba``: the twin and every kernel it calls are inlined by
    Numba (``inline="always"``), and it computes what the kernel does."""
    import numpy as np

    from fastact._core import inlined_by_numba
    from fastact.kernels.softplus import _softplus_generic

    twin = inlined_by_numba(_softplus_generic)
    assert twin.targetoptions.get("inline") == "always" and not twin.targetoptions.get("forceinline")
    callees = [twin.py_func.__globals__[n] for n in twin.py_func.__code__.co_names
               if n in twin.py_func.__globals__ and hasattr(twin.py_func.__globals__[n], "targetoptions")]
    assert callees and all(c.targetoptions.get("inline") == "always" for c in callees)
    assert inlined_by_numba(_softplus_generic) is twin  # one twin per kernel

    @njit
    def both(x, beta):
        return _softplus_generic(x, beta, 20.0), twin(x, beta, 20.0)

    for x in (-800.0, -3.5, 0.0, 2.5, 202.35, 1e300):
        for beta in (0.5, 3.3):
            a, b = both(x, beta)
            assert np.float64(a).view(np.uint64) == np.float64(b).view(np.uint64), (x, beta)
