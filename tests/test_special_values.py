"""Special values: zeros, infinities, NaN, saturation, tiny inputs, and the
floating-point flags of every public function on "interesting values".

Expectations come from the records: ``limits``/``grad_limits`` at +-inf, the
mpmath definition at 0 and at tiny inputs, the NumPy reference for the sign of
zero, and the conventions written in each record's ``notes``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import (
    DTYPES,
    KINDS,
    RECORDS,
    all_public,
    evaluate,
    fp_errstate,
    magnitudes,
    mp_reference,
    params_as,
    public_name,
    special_values,
    ulp_distance,
)

import fastact

FORWARD_GRAD = ("forward", "grad")
UINT = {"float32": np.uint32, "float64": np.uint64}


def bits(a) -> np.ndarray:
    a = np.asarray(a)
    return a.view(UINT[a.dtype.name])


def interesting(dtype) -> np.ndarray:
    """0, -0, +-tiny, +-subnormal, +-1, +-large, +-max, +-inf, NaN (and a few more)."""
    dt = np.dtype(dtype)
    more = np.array(
        [1e-30, -1e-30, 0.5, -0.5, 3, -3, 30, -30, 100, -100, 1000, -1000, 1e4, -1e4, 1e30, -1e30], dtype=dt
    )
    return np.concatenate([special_values(dt), more])


def _limit_cases():
    for act in RECORDS:
        for kind in FORWARD_GRAD:
            for dtype in DTYPES:
                yield pytest.param(act, kind, dtype, id=f"{public_name(act, kind)}-{dtype}")


def _limits(act, kind):
    return act.limits if kind == "forward" else act.grad_limits


# --------------------------------------------------------------------------------
# +-inf, +-0, NaN
# --------------------------------------------------------------------------------
@pytest.mark.parametrize(("act", "kind", "dtype"), list(_limit_cases()))
def test_infinities_give_the_exact_limits(act, kind, dtype):
    x = np.array([-np.inf, np.inf], dtype)
    got = evaluate(act, kind, x)
    with np.errstate(over="ignore"):
        expected = np.array(_limits(act, kind), dtype)
    # bitwise: the limits are exact, a zero limit is +0
    assert np.array_equal(bits(got), bits(expected)), (got, expected)


@pytest.mark.parametrize(("act", "kind", "dtype"), list(_limit_cases()))
def test_signed_zeros(act, kind, dtype):
    """f(+-0) is the exact value, with the sign of zero the reference gives."""
    x = np.array([0.0, -0.0], dtype)
    got = evaluate(act, kind, x)
    mp_fn = act.mp_forward if kind == "forward" else act.mp_grad
    expected = mp_reference(mp_fn, x, dtype, act.param_defaults)
    assert np.array_equal(got, expected), (got, expected)
    ref = act.reference if kind == "forward" else act.reference_grad
    with fp_errstate(public_name(act, kind)):
        ref_got = ref(x, *act.param_defaults)
    assert np.array_equal(bits(got), bits(ref_got)), (got, ref_got)


# Conventions written in the records' notes, e.g. "relu_grad(0) = 0",
# "tanh(-0.0) == -0.0", "leaky_relu_grad(0) = negative_slope".
_CLAIM = re.compile(r"\b(\w+)\(([+-]?0(?:\.0)?)\)\s*==?\s*([+-]?\d+(?:\.\d+)?|[A-Za-z_]\w*)")


def _documented_claims():
    for act in RECORDS:
        for fn, arg, value in _CLAIM.findall(act.notes):
            if fn not in {public_name(act, k) for k in FORWARD_GRAD}:
                continue
            for dtype in DTYPES:
                yield pytest.param(act, fn, arg, value, dtype, id=f"{fn}({arg})={value}-{dtype}")


def test_notes_document_the_kink_conventions():
    """The exact (piecewise linear) records state their derivative at the kink."""
    documented = {p.values[1] for p in _documented_claims()}
    for act in RECORDS:
        if act.exact:
            assert act.name + "_grad" in documented, act.notes


@pytest.mark.parametrize(("act", "fn", "arg", "value", "dtype"), list(_documented_claims()))
def test_documented_conventions_at_zero(act, fn, arg, value, dtype):
    params = {p.name: p.default for p in act.params}
    expected = np.array(params[value] if value in params else float(value), dtype)
    got = getattr(fastact, fn)(np.array(float(arg), dtype))
    assert bits(got) == bits(expected), (fn, arg, got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), [pytest.param(*c, id=c[0]) for c in all_public()])
def test_nan_in_nan_out(name, act, kind, dtype):
    fn = getattr(fastact, name)
    nan = np.array([np.nan, -np.nan], dtype)
    with fp_errstate(name):
        if kind == "backward":
            g = interesting(dtype)
            got = fn(g[:, None], nan[None, :])
        else:
            got = fn(nan)
    assert np.isnan(got).all(), got


_SIGNALING_NAN_BITS = {"float32": [0x7F800001, 0xFFA00000], "float64": [0x7FF0000000000001, 0xFFF4000000000000]}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), [pytest.param(*c, id=c[0]) for c in all_public()])
def test_signaling_nan_in_nan_out(name, act, kind, dtype):
    """A signaling NaN (either sign, planted among ordinary values so that block
    kernels and loop tails both see it) gives NaN.  The *invalid* flag it may raise
    is IEEE's rule for arithmetic on it (README, conventions), so flags are not
    checked here."""
    fn = getattr(fastact, name)
    x = np.linspace(-6, 6, 37).astype(dtype)
    x[::4] = np.array(_SIGNALING_NAN_BITS[dtype] * 5, dtype=UINT[dtype])[: x[::4].size].view(dtype)
    with np.errstate(all="ignore"):
        got = fn(np.ones_like(x), x) if kind == "backward" else fn(x)
    assert np.array_equal(np.isnan(got), np.isnan(x)), (x, got)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_nan_grad_out_gives_nan_where_derivative_is_nonzero(act, dtype):
    x = interesting(dtype)
    grad = evaluate(act, "grad", x)
    nonzero = (grad != 0) & ~np.isnan(grad)
    assert nonzero.sum() >= 4
    got = evaluate(act, "backward", x, g=np.full_like(x, np.nan))
    assert np.isnan(got[nonzero]).all(), (x[nonzero], got[nonzero])


# --------------------------------------------------------------------------------
# Saturation and tiny inputs
# --------------------------------------------------------------------------------
def _saturation_cases():
    for act, kind, dtype in (p.values for p in _limit_cases()):
        for side, limit in zip((-1, 1), _limits(act, kind), strict=True):
            if np.isfinite(limit):
                yield pytest.param(act, kind, dtype, side, id=f"{public_name(act, kind)}-{dtype}-{side:+d}")


@pytest.mark.parametrize(("act", "kind", "dtype", "side"), list(_saturation_cases()))
def test_saturation_is_exact(act, kind, dtype, side):
    """Large finite inputs give the finite limit exactly: sigmoid(1000) == 1.0,
    sigmoid(-1000) == 0.0 (the true value is below the smallest normal), tanh(+-1000)
    == +-1.0, derivatives exactly 0 (or the slope).  "Large" is the record's
    ``saturation`` (1000 for the exponential family; softsign only saturates at
    2**64 / 2**512), ten times that (at most the largest finite number: squareplus
    only reaches 0 at -2**127 / -2**1023), and the largest finite number."""
    start = act.saturation[dtype]
    big = float(np.finfo(dtype).max)
    large = np.array([start, min(start * 10, big), big], dtype) * side
    got = evaluate(act, kind, large)
    limit = _limits(act, kind)[(side + 1) // 2]
    expected = np.full_like(large, limit)
    assert np.array_equal(bits(got), bits(expected)), (large, got, expected)
    # and that is the true value rounded (flushed below the smallest normal)
    mp_fn = act.mp_forward if kind == "forward" else act.mp_grad
    true = mp_reference(mp_fn, large[:2], dtype, act.param_defaults)
    assert np.array_equal(np.abs(true) >= np.finfo(dtype).tiny, expected[:2] != 0)


@pytest.mark.parametrize(("act", "kind", "dtype"), list(_limit_cases()))
def test_tiny_inputs_keep_relative_accuracy(act, kind, dtype):
    """At tiny |x| the results are judged in plain ULPs (no absolute rule), and a
    function that is x to working precision there returns x itself:
    tanh(1e-30) == 1e-30, in both dtypes."""
    fi = np.finfo(dtype)
    x = np.array([1e-30, 2.0**-60 * 1.5, 2.0**-100, 2.0**-120, fi.tiny * 8], dtype)
    x = np.concatenate([x, -x])
    got = evaluate(act, kind, x)
    mp_fn = act.mp_forward if kind == "forward" else act.mp_grad
    expected = mp_reference(mp_fn, x, dtype, act.param_defaults)
    normal = np.abs(expected) >= fi.tiny
    err = ulp_distance(got, expected)
    assert err[normal].max(initial=0) <= act.ulp_bound[dtype], (x, got, expected)
    # below the smallest normal: absolute rule (flushed to 0 or exact subnormal)
    assert (np.abs(got[~normal].astype(float) - expected[~normal]) <= fi.tiny).all(), (x, got, expected)
    same = expected == x
    assert np.array_equal(bits(got[same]), bits(x[same]))


def test_tanh_like_functions_return_tiny_x_itself():
    """The check above covers the documented tanh(1e-30) == 1e-30: at least one record is x near 0."""
    found = []
    for act in RECORDS:
        for dtype in DTYPES:
            x = np.array([1e-30], dtype)
            if mp_reference(act.mp_forward, x, dtype, act.param_defaults)[0] == x[0]:
                found.append(act.name)
                assert bits(evaluate(act, "forward", x)) == bits(x)
                assert bits(evaluate(act, "forward", -x)) == bits(-x) or act.exact
    assert found


# --------------------------------------------------------------------------------
# Floating-point flags
# --------------------------------------------------------------------------------
def _shapes_with(values: np.ndarray, rng) -> list[np.ndarray]:
    """``values`` planted in arrays of several shapes and layouts."""
    out = [values]
    for shape in [(7, 5), (3, 4, 6), (1,), (64,)]:
        a = rng.standard_normal(shape).astype(values.dtype) * 10
        flat = a.reshape(-1)
        k = min(flat.size, values.size)
        flat[rng.choice(flat.size, k, replace=False)] = rng.choice(values, k, replace=False)
        out += [a, a.T if a.ndim > 1 else a[::-1], a[..., ::2]]
    return out


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "act", "kind"), [pytest.param(*c, id=c[0]) for c in all_public()])
def test_interesting_values_raise_no_flags(name, act, kind, dtype):
    """Under np.errstate(all="raise") and warnings-as-errors, nothing is raised.

    backward takes its grad_out from moderate values (0, +-0.5, +-1, +-3, +-1e4,
    +-inf, NaN) here; tiny grad_out is the next test's concern.
    """
    rng = np.random.default_rng(9)
    fn = getattr(fastact, name)
    g = np.array([0.0, -0.0, 0.5, -0.5, 1, -1, 3, -3, 1e4, -1e4, np.inf, -np.inf, np.nan], dtype)
    for x in _shapes_with(interesting(dtype), rng):
        with fp_errstate(name):
            if kind == "backward":
                got = fn(g.reshape((-1,) + (1,) * x.ndim), x)
                assert got.shape == g.shape + x.shape
                assert np.isnan(got[:, np.isnan(x)]).all()
            else:
                got = fn(x)
                assert got.shape == x.shape
                assert np.array_equal(np.isnan(got), np.isnan(x))
        assert got.dtype == np.dtype(dtype)


_GENERIC_TARGET_CHECK = """
import numpy as np
import fastact
from fastact._avx512 import BLOCK_ISA
assert BLOCK_ISA is None, BLOCK_ISA  # a named target: no block kernels
from test_special_values import interesting
for dtype, big, huge in (("float32", 2.0**63, [1e19, 1e38]), ("float64", 2.0**511, [1e154, 1e308])):
    # big: beyond it softsign' is below the smallest normal number (flushed)
    x = np.concatenate([interesting(dtype), np.array([big, -big, *huge], dtype)])
    x = np.tile(x, 5)  # whole vectors and a tail
    g = np.ones_like(x)
    with np.errstate(all="raise"):
        for got in (fastact.softsign(x), fastact.softsign_grad(x), fastact.softsign_backward(g, x)):
            assert np.array_equal(np.isnan(got), np.isnan(x))
        assert not fastact.softsign_grad(x[np.abs(x) > big]).any()
print("ok")
"""


def test_generic_cpu_target_raises_no_flags():
    """With ``NUMBA_CPU_NAME=generic`` (what a portable Numba cache uses: plain
    x86-64, SSE2, no FMA) LLVM costs code differently: it turned float32
    softsign_backward's final select into a branch (the division makes the
    chosen value expensive), dropped the clamp of |x| that the branch condition
    made look redundant, and the discarded lanes of huge |x| raised *invalid*.
    Built for that target in a subprocess (its own cache entries), softsign's
    three kernels raise no flag on the interesting values."""
    env = {**os.environ, "NUMBA_CPU_NAME": "generic"}
    tests = str(Path(__file__).resolve().parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (tests, env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", _GENERIC_TARGET_CHECK], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_tiny_grad_out_raises_no_flags(act, dtype):
    """Every pair (grad_out, x) of interesting values, subnormal and tiny grad_out
    included: "no floating-point warning for any input"; products below the
    smallest normal are flushed without the underflow flag."""
    x = interesting(dtype)
    g = interesting(dtype)
    name = public_name(act, "backward")
    with fp_errstate(name):
        got = getattr(fastact, name)(g[:, None], x[None, :])
    assert got.shape == (g.size, x.size)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_huge_grad_out_overflows_without_flag(act, dtype):
    """grad_out = +-max: where the derivative exceeds 1 (selu, hard_silu near 3) the
    product rounds to +-inf, which it must give without the overflow flag."""
    x = np.concatenate([interesting(dtype), np.linspace(-10, 10, 401).astype(dtype)])
    x = x[~np.isnan(x)]
    grad = evaluate(act, "grad", x)
    big = np.finfo(dtype).max
    for g in (big, -big):
        got = evaluate(act, "backward", x, g=np.full_like(x, g))
        over = np.abs(grad) > 1
        expected = np.copysign(np.inf, np.sign(g) * grad[over])
        assert np.array_equal(got[over], expected), (x[over], got[over])
        assert np.isfinite(got[~over]).all(), (x[~over], got[~over])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_backward_infinite_grad_out(act, dtype):
    """Where the derivative is exactly 0 the gradient is blocked (0, no flag);
    elsewhere inf * derivative is +-inf with the sign of the product."""
    x = interesting(dtype)
    grad = evaluate(act, "grad", x)
    for g in (np.inf, -np.inf):
        got = evaluate(act, "backward", x, g=np.full_like(x, g))
        zero = grad == 0
        nan = np.isnan(x)
        other = ~zero & ~nan
        assert (got[zero] == 0).all(), (x[zero], got[zero])
        assert np.isnan(got[nan]).all()
        assert np.array_equal(got[other], g * np.sign(grad[other])), (x[other], got[other])
    assert (grad == 0).any() or act.params  # the blocked case is exercised where it exists


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [a for a in RECORDS if a.params], ids=lambda a: a.name)
def test_backward_infinite_grad_out_zero_parameter(act, dtype):
    """With parameters set to 0 the derivative has zeros too (leaky_relu -> relu): blocked."""
    x = interesting(dtype)
    zeros = (0.0,) * len(act.params)
    grad = evaluate(act, "grad", x, params=zeros)
    zero = grad == 0
    assert zero.any()
    got = evaluate(act, "backward", x, g=np.full_like(x, np.inf), params=zeros)
    assert (got[zero] == 0).all(), (x[zero], got[zero])
    assert params_as(act, dtype)  # the record has parameters


@pytest.mark.parametrize("kind", FORWARD_GRAD)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_dense_float32_scan_raises_no_flags(act, kind):
    """Every 13th float32 with 1 <= |x| < 128, both signs (9.0 million inputs),
    raises no flag.  The interesting values are a few hundred; a flag raised by
    one reduced argument in a million escapes them: selu(79.01874) raised
    *underflow* (expm1's low part scaled by 2**-114) until the clamp moved to 20."""
    lo, hi = (int(np.float32(v).view(np.int32)) for v in (1.0, 128.0))
    mag = np.arange(lo, hi, 13, dtype=np.int32).view(np.float32)
    x = np.concatenate([mag, -mag])
    got = evaluate(act, kind, x)  # under the flag rule (errstate all="raise")
    assert got.dtype == np.float32 and not np.isnan(got).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("act", RECORDS, ids=lambda a: a.name)
def test_random_mantissas_in_every_binade_raise_no_flags(act, kind, dtype):
    """A million inputs log-uniform over every binade (subnormals included), both
    signs, random mantissas, raise no flag (backward with grad_out from the same
    distribution).  An FMA residual is a multiple of a power of two that depends on
    the operands' trailing bits, so a residual term that leaves the normal range
    does so for a few mantissas in a binade: tanhshrink and tanhshrink_grad raised
    *underflow* for 1 float64 input in 40000 between 2**-520 and 2**-511 (its tiny
    inputs were scaled by 2**200 before squaring; now by 2**300): 1 or 2 of these
    samples, so one of them is planted as well."""
    rng = np.random.default_rng(2024)
    fi = np.finfo(dtype)
    n = 1_000_000
    lo, hi = float(fi.smallest_subnormal), float(fi.max)

    def sample():
        # every binade equally likely in float64, then rounded once to the dtype:
        # the mantissas are the dtype's own random bits
        mag = magnitudes(rng, lo, hi, n)
        sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
        return (sign * mag).astype(dtype)

    with np.errstate(under="ignore"):  # the sampling's own rounding to float32
        x, g = sample(), sample()
    if dtype == "float64":
        x[0] = 4.8818110853264215e-157
    got = evaluate(act, kind, x, g=g)  # under the flag rule (errstate all="raise")
    assert got.dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", FORWARD_GRAD)
@pytest.mark.parametrize("act", [a for a in RECORDS if a.params], ids=lambda a: a.name)
def test_other_parameters_raise_no_flags(act, kind, dtype):
    """The flag rule holds for parameters other than the defaults (every default
    scaled by 0.5, 3.3 and 20, and by 1e-21 and 1e6 for the extremes), on
    0 <= |x| <= 1000 in steps of 1/20 and a log grid over the whole range, both
    signs.  softplus with beta = 20 raised *underflow* for x near -4.2 until its
    linear lanes stopped forming the residual of e / beta (every lane computes both
    branches, and e is below 2**-102 there), and float64 softplus at beta 3.3 and
    20 for beta x in [667, 708] when LLVM dropped the select that fed those lanes
    1 (their quotient is discarded); in float32, celu' at alpha = 1e-21
    (x near 1e-33: the residual of x / alpha) and squareplus' at b = 4e6 (|x| in
    [2**-60, 2**-55]: the correction of |x| / sqrt(b)) did until their operands
    were scaled and clamped."""
    fi = np.finfo(dtype)
    mag = np.concatenate([np.linspace(0, 1000, 20001), np.exp2(np.linspace(fi.minexp, fi.maxexp - 1, 4000))])
    x = np.concatenate([mag, -mag, [np.inf, -np.inf]]).astype(dtype)
    for scale in (0.5, 3.3, 20.0, 1e-21, 1e6):
        params = tuple(p * scale for p in act.param_defaults)
        got = evaluate(act, kind, x, params=params)  # under the flag rule (errstate all="raise")
        assert got.dtype == np.dtype(dtype)


def _parameter_grid(act, dtype) -> list[tuple]:
    """Parameter tuples for :func:`test_parameter_grid_raises_no_flags`: each
    parameter over +-10**k (every third decade of the dtype's range) and 0, the
    others at their defaults; for two parameters also a coarse grid of pairs."""
    emax = 36 if dtype == "float32" else 300
    values = sorted({0.0} | {s * 10.0**k for k in range(-emax, emax + 1, 3) for s in (1, -1)})
    defaults = tuple(act.param_defaults)
    grid = {defaults[:j] + (v,) + defaults[j + 1:] for j in range(len(defaults)) for v in values}
    if len(defaults) == 2 and act.name != "softplus":  # softplus's threshold has no effect
        grid |= {(v, w) for v in values[::7] for w in values[::7]}
    return sorted(grid)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", [a for a in RECORDS if a.params], ids=lambda a: a.name)
def test_parameter_grid_raises_no_flags(act, dtype):
    """The flag rule over a grid of parameters across the whole range, invalid ones
    (negative, 0) included, every kind: x from 0 to 1000 in steps of 1/40 and
    4*10**4 log-uniform magnitudes over every binade (subnormals included), both
    signs, +-inf and NaN, and 16 copies each of the largest finite magnitude and
    its neighbour (a block of them).  The sweep this was written from found float32
    celu' at alpha 1e-21 and squareplus' at b near 2**20 raising *underflow* (kept in
    test_other_parameters_raise_no_flags); with the magnitudes drawn from bit
    patterns (2026-12-06) it found float32 softshrink at lambd 1e36 raising
    *overflow* for x near -max: the vectorized loop formed x - lambd in lanes that
    took x + lambd."""
    rng = np.random.default_rng(17)
    fi = np.finfo(dtype)
    lowest = fi.minexp - fi.nmant
    # up to 2^maxexp (float32: the top binade's largest round to inf), float64's max
    top = 2.0**fi.maxexp if fi.maxexp < 1024 else float(fi.max)
    largest = np.repeat([float(fi.max), float(np.nextafter(fi.max, 0, dtype=fi.dtype))], 16)
    mag = np.concatenate([np.linspace(0, 1000, 40001), magnitudes(rng, 2.0**lowest, top, 40000), largest])
    with np.errstate(over="ignore", under="ignore"):
        x = np.concatenate([mag, -mag, [np.inf, -np.inf, np.nan]]).astype(dtype)
    g = rng.standard_normal(x.size).astype(dtype)
    t = np.dtype(dtype).type
    for params in _parameter_grid(act, dtype):
        for kind in KINDS:
            try:
                got = evaluate(act, kind, x, g=g, params=tuple(t(p) for p in params))  # the flag rule
            except FloatingPointError as error:
                pytest.fail(f"{kind} at {params}: {error}")
            assert got.dtype == np.dtype(dtype), (kind, params)
