"""The fused backward kernels block an infinite grad_out exactly where f'(x) is 0.

``backward_product``'s rule: grad_out * f'(x), except that a zero derivative gives
0 for an infinite grad_out (not NaN).  The AVX-512 block kernels of the smooth
derivatives leave that test out of their short path, where f' is known to be
nonzero (``store(bits, nonzero=True)`` in ``_avx512.backward_block_intrinsic``).
This checks the claim where it could fail: with grad_out = +inf everywhere, every
result must be +-inf where f' != 0 and 0 where f' == 0, over a stride through
every float32 (or a wide float64 sample) and densely around each root of f',
where the derivative is smallest.
"""

from __future__ import annotations

import numpy as np
import pytest
import support

import fastact


def _with_backward_blocks():
    for act in fastact.REGISTRY.values():
        for dtype, block in (("float32", act.backward_block_f32), ("float64", act.backward_block_f64)):
            if block is not None:
                yield pytest.param(act, dtype, id=f"{act.name}-{dtype}")


def _roots(grad, dtype):
    """Every sign change of f' on a fine grid over [-30, 30], narrowed by bisection
    to two adjacent floats: the one below."""
    grid = np.linspace(-30, 30, 2_400_001).astype(dtype)
    d = np.sign(grad(grid))
    roots = []
    for i in np.flatnonzero((d[:-1] * d[1:]) < 0):
        lo, hi = grid[i], grid[i + 1]
        while True:
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            if np.sign(grad(mid)) == d[i]:
                lo = mid
            else:
                hi = mid
        roots.append(lo)
    return roots


def _samples(grad, dtype):
    if dtype == "float32":
        x = np.arange(3, 2**32, 257, dtype=np.uint64).astype(np.uint32).view(np.float32)
        parts = [x]
        for r in _roots(grad, dtype):
            ends = np.array([r - 2.0**-4, r + 2.0**-4], np.float32).view(np.int32)
            parts.append(np.arange(ends.min(), ends.max() + 1, dtype=np.int32).view(np.float32))  # all of them
    else:
        rng = np.random.default_rng(17)
        parts = [support.float64_patterns(1_000_000), rng.standard_normal(1_000_000) * 8]
        for r in _roots(grad, dtype):
            parts.append(r + rng.uniform(-2.0**-4, 2.0**-4, 1_000_000))
            parts.append(r + np.arange(-4096, 4097) * np.spacing(r))  # the smallest |f'|
    x = np.concatenate(parts).astype(dtype)
    return x[~np.isnan(x)]


@pytest.mark.parametrize(("act", "dtype"), list(_with_backward_blocks()))
def test_infinite_grad_out_is_blocked_exactly_where_the_derivative_is_zero(act, dtype):
    grad = getattr(fastact, act.name + "_grad")
    backward = getattr(fastact, act.name + "_backward")
    x = _samples(grad, dtype)
    derivative = grad(x)
    g = np.full_like(x, np.inf)
    with np.errstate(invalid="ignore"):  # inf * 0 where blocked, set below
        want = np.where(derivative == 0, 0.0, g * derivative).astype(dtype)
    got = backward(g, x)
    bits = np.uint32 if dtype == "float32" else np.uint64
    bad = np.flatnonzero(got.view(bits) != want.view(bits))
    assert bad.size == 0, (x[bad[:5]], derivative[bad[:5]], got[bad[:5]])
