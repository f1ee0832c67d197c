"""Numba's on-disk cache of fastact's functions is keyed on every kernel source
(``fastact/_cache.py``): an edit to a module a kernel inlines from (a table of
coefficients, say) must recompile it, not hand back the cached old code."""

from __future__ import annotations

import inspect

import pytest
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


def test_generated_loop_code_has_no_source_lines_to_misread():
    """Numba annotates each function it caches with ``inspect.getsourcelines``; for
    the generated loop code, compiled "from" ``_loops.py`` for the cache locator,
    that must fail cleanly (OSError, which Numba handles) instead of reading the
    module's unrelated lines at the generated line numbers: on Python 3.13 those
    lines (its docstring) raised ``tokenize.TokenError`` on a cold cache."""
    namespace: dict = {}
    exec(_loops._compile_here("def generated(x):\n    return x\n"), namespace)
    generated = namespace["generated"]
    assert generated.__code__.co_filename == _loops.__file__
    with pytest.raises(OSError):
        inspect.getsourcelines(generated)


def test_a_read_only_install_caches_under_the_user_wide_directory_with_the_same_keys(monkeypatch, tmp_path):
    """A wheel installed into a site-packages the user cannot write (a system
    Python): Numba cannot put its cache in ``__pycache__`` beside the package, and
    fastact's kernels must then go to the user-wide cache directory, still keyed
    on every kernel source (checked by hand as a non-root user; here the unwritable
    directory is simulated, since CI may run as root)."""
    from numba import config
    from numba.core import caching

    def unwritable(self):
        raise PermissionError(13, "Permission denied", self.get_cache_path())

    monkeypatch.setattr(config, "CACHE_DIR", "")  # no $NUMBA_CACHE_DIR
    monkeypatch.setattr(caching.InTreeCacheLocator, "ensure_cache_path", unwritable)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for kernel in (fastact.scalar.silu_grad, fastact.scalar.gelu):
        locator = caching.FunctionCache(kernel.py_func)._impl.locator
        assert type(locator).__name__ == "SourceKeyedUserWideCacheLocator"
        assert locator.get_source_stamp()[-1] == _cache.SOURCE_HASH
        assert locator.get_cache_path().startswith(str(tmp_path / "numba"))
