"""The float64 runs drivers of the range block kernels
(``kernels._common._runs_drivers``): each run of ``RUN_BLOCKS`` blocks is
computed by the fast kernel as one plain loop, with the range test folded in, and
computed again by the block kernels when a value of it lies outside the fast
range, the floating-point flags of the first try put back.  After failed tries
the drivers leave runs to the block kernels (``skip``), for ``backoff`` runs
that double with each failure in a row up to ``MAX_BACKOFF`` and halve with each
pass.

Every ufunc built on them must give its scalar kernel's bits, raise no flag, in
every layout (direct, in place, strided, misaligned), on inputs whose runs pass,
fail now and then, or fail mostly; and the drivers' state must follow the policy.
"""

from __future__ import annotations

import numpy as np
import pytest
import support
from numba import njit

import fastact
from fastact._loops import fp_status
from fastact.kernels._common import MAX_BACKOFF, RUN_BLOCKS

RUN = RUN_BLOCKS * 16  # values per run
# outside the fast range of every driver ([2**-60 or more, 40 or less])
OUTSIDERS = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, -1e-200, 1e300, -1e300, 100.0, -41.0])


def _cases():
    for act in fastact.REGISTRY.values():
        for kind in ("forward", "grad", "backward"):
            block = getattr(act, f"{kind}_block_f64")
            if block is not None and hasattr(block, "runs"):
                yield pytest.param(act, kind, id=f"{support.public_name(act, kind)}")


CASES = list(_cases())


def _scalar(act, kind):
    kernel = getattr(act, kind)
    if kind != "backward":
        return support.scalar_loop(kernel)

    @njit(error_model="numpy", fastmath={"contract"})
    def loop(g, x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = kernel(g[i], x[i])
        return out

    return loop


def _regions(seed: int = 3) -> np.ndarray:
    """N(0, 4^2) runs in five regions: clean; one outsider in every run; clean
    (the backoff must give the runs back to the fast path); outsiders in half the
    values; clean.  Plus a partial last run."""
    rng = np.random.default_rng(seed)
    regions = []
    for kind in ("clean", "each run", "clean", "half", "clean"):
        x = rng.standard_normal(RUN * 24) * 4
        if kind == "each run":
            x[np.arange(24) * RUN + rng.integers(0, RUN, 24)] = rng.choice(OUTSIDERS, 24)
        elif kind == "half":
            pick = rng.random(x.size) < 0.5
            x[pick] = rng.choice(OUTSIDERS, pick.sum())
        regions.append(x)
    regions.append(rng.standard_normal(RUN // 2 + 5) * 4)
    return np.concatenate(regions)


def test_the_drivers_serve_the_large_float64_kernels():
    # the kernels whose blocks were measured slower than their fast kernel as a
    # plain loop: if one lost its driver, the tests below would run on nothing
    names = {support.public_name(p.values[0], p.values[1]) for p in CASES}
    assert {"gelu", "gelu_grad", "gelu_backward", "tanhshrink_grad", "tanhshrink_backward", "selu"} <= names, names


@pytest.mark.parametrize(("act", "kind"), CASES)
def test_runs_equal_the_scalar_kernel_in_every_layout(act, kind):
    fn = support.raw_ufunc(act, kind)
    scalar = _scalar(act, kind)
    x = _regions()
    g = np.random.default_rng(4).standard_normal(x.size)
    with np.errstate(invalid="ignore"):  # NaN in, NaN out: a NaN grad_out times NaN
        want = scalar(g, x) if kind == "backward" else scalar(x)

    def call(*args, **kw):
        return fn(*args, **kw) if kind == "backward" else fn(*args[1:], **kw)

    # quiet NaNs raise no flag; every flag the fast kernel raised on a failed run
    # must have been put back
    with np.errstate(all="raise"):
        support.assert_same_bits(call(g, x), want)
        for start in (1, 3):  # misaligned: the head, then the direct path from a boundary
            support.assert_same_bits(call(g[start:], x[start:]), want[start:])
        inplace = x.copy()  # the chunked path: 4 KiB chunks, the state carried across
        call(g, inplace, out=inplace)
        support.assert_same_bits(inplace, want)
        strided = call(np.repeat(g, 2)[::2], np.repeat(x, 2)[::2])
        support.assert_same_bits(strided, want)
        if kind == "backward":
            inplace_g = g.copy()
            fn(inplace_g, x, out=inplace_g)
            support.assert_same_bits(inplace_g, want)


def test_a_failed_run_raises_flags_that_the_driver_puts_back():
    # the fast kernel on the outsiders raises flags (so the restore is needed), and
    # the ufunc, whose first run holds them, raises none
    from fastact.kernels.gated import _gelu_grad_f64_fast

    @njit(error_model="numpy", fastmath={"contract"})
    def flags_raised(x):
        before = fp_status()
        acc = 0.0
        for i in range(x.size):
            acc += _gelu_grad_f64_fast(x[i])
        return (fp_status() & ~before) & np.uint32(0x3F), acc

    raised, _ = flags_raised(np.array([np.inf, -np.inf, 1e300, -1e300, np.nan]))
    assert raised != 0
    x = np.random.default_rng(5).standard_normal(RUN * 4)
    x[7], x[RUN + 9], x[2 * RUN + 1] = np.inf, -1e300, 1e300
    with np.errstate(all="raise"):
        support.assert_same_bits(fastact.gelu_grad(x), support.scalar_loop(fastact.REGISTRY["gelu"].grad)(x))


def _policy(fails: list[bool], skip: int, backoff: int) -> tuple[int, int, list[bool]]:
    """The drivers' policy in Python: (skip, backoff) after the runs ``fails`` (True:
    the run has an outsider), and which runs were tried."""
    tried = []
    for fail in fails:
        tried.append(skip == 0)
        if skip == 0:
            if fail:
                backoff = min(2 * backoff + 1, MAX_BACKOFF)
                skip = backoff
            else:
                backoff >>= 1
        else:
            skip -= 1
    return skip, backoff, tried


@pytest.mark.parametrize("pattern", ["clean", "first", "every", "tenth", "random"])
@pytest.mark.parametrize(("skip", "backoff"), [(0, 0), (5, 7), (0, MAX_BACKOFF)])
def test_the_driver_state_follows_the_policy(pattern, skip, backoff):
    block = fastact.REGISTRY["gelu"].forward_block_f64
    runs = block.runs

    @njit
    def drive(x, y, skip, backoff):
        return runs(support.as_pointer(x.ctypes.data), support.as_pointer(y.ctypes.data), x.size // 16,
                    skip, backoff)

    rng = np.random.default_rng(6)
    nrun = 300
    fails = {"clean": np.zeros(nrun, bool), "first": np.arange(nrun) == 0, "every": np.ones(nrun, bool),
             "tenth": np.arange(nrun) % 10 == 3, "random": rng.random(nrun) < 0.6}[pattern]
    x = rng.standard_normal(nrun * RUN + 16 * 3) * 4  # and 3 blocks after the last run
    x[np.flatnonzero(fails) * RUN + 5] = np.nan
    y = np.empty_like(x)
    state = drive(x, y, skip, backoff)
    want_skip, want_backoff, _ = _policy(list(fails), skip, backoff)
    assert tuple(state) == (want_skip, want_backoff)
    with np.errstate(invalid="ignore"):
        support.assert_same_bits(y, support.scalar_loop(fastact.REGISTRY["gelu"].forward)(x))


def test_the_backoff_bounds_the_cost_of_failing_runs():
    # runs that mostly fail (the special regime: 1% NaN leaves 92% of the runs with
    # one) are tried rarely: fewer than 4% of 10^4 runs
    fails = list(np.random.default_rng(7).random(10_000) < 0.92)
    _, _, tried = _policy(fails, 0, 0)
    assert sum(tried) < 400, sum(tried)
    # and clean runs after a failing stretch are all tried again within log2 steps
    _, _, tried = _policy([True] * 1000 + [False] * 1000, 0, 0)
    assert all(tried[1000 + MAX_BACKOFF + 16:])
