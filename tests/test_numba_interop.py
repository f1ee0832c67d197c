"""fastact.scalar kernels inside user @njit code, and the ufuncs under threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import pytest
from support import DTYPES, KINDS, RECORDS, fp_errstate, params_as, public_name, special_values

import fastact
from fastact._core import inlined_by_numba
from fastact.kernels.elu import _selu


@numba.njit
def _apply1(kernel, x, params, out):
    for i in range(x.size):
        out[i] = kernel(x[i], *params)


@numba.njit
def _apply2(kernel, g, x, params, out):
    for i in range(x.size):
        out[i] = kernel(g[i], x[i], *params)


@numba.njit
def _scalar1(kernel, x, params):
    return kernel(x, *params)


@numba.njit
def _scalar2(kernel, g, x, params):
    return kernel(g, x, *params)


def _inputs(dtype):
    rng = np.random.default_rng(12)
    x = np.concatenate(
        [
            special_values(dtype),
            (rng.standard_normal(500) * 10).astype(dtype),
            np.array([1e4, -1e4, 30, -30, 88, -88, 710, -710], dtype),
        ]
    )
    g = (rng.standard_normal(x.size) * 3).astype(dtype)
    g[:4] = [0, np.inf, -np.inf, np.nan]
    return g, x


UINT = {"float32": np.uint32, "float64": np.uint64}


def _user_results(kernel, kind, g, x, params, loop):
    out = np.empty_like(x)
    if loop:
        if kind == "backward":
            _apply2(kernel, g, x, params, out)
        else:
            _apply1(kernel, x, params, out)
    elif kind == "backward":
        out[:] = [_scalar2(kernel, gi, xi, params) for gi, xi in zip(g, x, strict=True)]
    else:
        out[:] = [_scalar1(kernel, xi, params) for xi in x]
    return out


#: In a user's loop LLVM inlines and vectorizes the kernel: 2-4 s of compile time
#: per kernel and dtype while Numba inlined the kernels (0.2-2.4 s since LLVM
#: does, with the kernel cached or not).  So every kernel runs on every
#: input through a scalar call from nopython code, and in a loop for one
#: single-input and one two-input case per activation.
_LOOPED = {("forward", "float32"), ("backward", "float64")}

_COMBOS = [(kind, dtype) for kind in KINDS for dtype in DTYPES]


def _kernel_grid():
    """Every (activation, kind, dtype), each a user function compiled around the
    kernel (1-8 s apiece while Numba inlined the kernels, most of a CI run's
    compile time on a slow 2-core host; under 3 s since LLVM does):
    the default run takes one (kind, dtype) per activation, rotating, so every
    kind, dtype and activation is covered and the loop cases come up for a third
    of the activations; ``pytest -m slow`` runs the rest of the grid."""
    for i, act in enumerate(RECORDS):
        for j, (kind, dtype) in enumerate(_COMBOS):
            marks = () if j == i % len(_COMBOS) else (pytest.mark.slow,)
            yield pytest.param(act, kind, dtype, id=f"{act.name}-{kind}-{dtype}", marks=marks)


@pytest.mark.parametrize(("act", "kind", "dtype"), list(_kernel_grid()))
def test_scalar_kernel_in_user_njit_code_matches_ufunc(act, kind, dtype):
    name = public_name(act, kind)
    kernel = getattr(fastact.scalar, name)
    params = params_as(act, dtype)  # positional and required in nopython code
    g, x = _inputs(dtype)
    out = _user_results(kernel, kind, g, x, params, loop=(kind, dtype) in _LOOPED)
    with fp_errstate(name):
        expected = getattr(fastact, name)(*((g, x) if kind == "backward" else (x,)))
    assert np.array_equal(out.view(UINT[dtype]), expected.view(UINT[dtype])), name


@pytest.mark.parametrize(("act", "kind", "dtype"), list(_kernel_grid()))
def test_scalar_kernel_keeps_dtype_in_nopython_code(act, kind, dtype):
    """float32 in, float32 out inside user code: no silent promotion to float64
    (the same grid and compiled functions as the test above)."""
    name = public_name(act, kind)
    kernel = getattr(fastact.scalar, name)
    dt = np.dtype(dtype).type
    params = params_as(act, dtype)
    if kind == "backward":
        got = _scalar2(kernel, dt(0.5), dt(0.75), params)
        sig = next(
            s
            for s in _scalar2.nopython_signatures
            if s.args[0] == kernel_type(kernel) and s.args[1] == numba.from_dtype(np.dtype(dtype))
        )
        expected = getattr(fastact, name)(dt(0.5), dt(0.75))
    else:
        got = _scalar1(kernel, dt(0.75), params)
        sig = next(
            s
            for s in _scalar1.nopython_signatures
            if s.args[0] == kernel_type(kernel) and s.args[1] == numba.from_dtype(np.dtype(dtype))
        )
        expected = getattr(fastact, name)(dt(0.75))
    assert sig.return_type == numba.from_dtype(np.dtype(dtype))
    assert dt(got) == expected


def kernel_type(kernel):
    return numba.typeof(kernel)


@pytest.mark.parametrize("dtype", DTYPES)
def test_ufuncs_under_threads_give_identical_results(dtype):
    """4 threads, each computing chunks of every public function into one output."""
    rng = np.random.default_rng(13)
    n = 1 << 18
    x = (rng.standard_normal(n) * 10).astype(dtype)
    g = (rng.standard_normal(n)).astype(dtype)
    chunks = [slice(i, i + n // 16) for i in range(0, n, n // 16)]
    for act in RECORDS:
        for kind in KINDS:
            name = public_name(act, kind)
            fn = getattr(fastact, name)
            args = (g, x) if kind == "backward" else (x,)
            with fp_errstate(name):
                serial = fn(*args)
            out = np.empty_like(x)

            def work(sl, fn=fn, args=args, out=out, name=name):
                with fp_errstate(name):  # errstate is per thread
                    fn(*(a[sl] for a in args), out=out[sl])
                    return fn(*args)  # and whole-array calls racing each other

            with ThreadPoolExecutor(max_workers=4) as pool:
                whole = list(pool.map(work, chunks))
            assert np.array_equal(out.view(UINT[dtype]), serial.view(UINT[dtype])), name
            for w in whole:
                assert np.array_equal(w.view(UINT[dtype]), serial.view(UINT[dtype])), name


def test_kernels_inlined_by_numba_keep_their_results():
    """``_core.inlined_by_numba``: the twin and every kernel it calls are inlined by
    Numba (``inline="always"``), and it computes what the kernel does (selu's, the
    general kernel of selu's block lane loops, ``kernels._common.range_blocks``)."""
    twin = inlined_by_numba(_selu)
    assert twin.targetoptions.get("inline") == "always" and not twin.targetoptions.get("forceinline")
    callees = [twin.py_func.__globals__[n] for n in twin.py_func.__code__.co_names
               if n in twin.py_func.__globals__ and hasattr(twin.py_func.__globals__[n], "targetoptions")]
    assert callees and all(c.targetoptions.get("inline") == "always" for c in callees)
    assert inlined_by_numba(_selu) is twin  # one twin per kernel

    @numba.njit
    def both(x):
        return _selu(x), twin(x)

    for x in (-800.0, -3.5, -1e-30, 0.0, 2.5, 202.35, 1e300):
        a, b = both(x)
        assert np.float64(a).view(np.uint64) == np.float64(b).view(np.uint64), x
