"""A bounded slice of the certification (``fastact verify``), so the tool cannot rot.

float32: every 1024th bit pattern (2**22 inputs per kernel: all exponents, signs,
NaN payloads and infinities); float64: 2*10**5 log-uniform samples plus the
thresholds.  ``fastact verify --exhaustive`` runs all 2**32 float32 inputs.

The registry bounds are integer distances to the correctly rounded result; the
verifier measures the real distance to the exact value, which may exceed the
integer bound by up to half an ULP.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from support import DTYPES, RECORDS

from fastact import reference, verify

ROOT = Path(__file__).resolve().parents[1]
CERTIFIED_F32 = {"forward": 1.0, "grad": 2.0}
KERNELS = [(act, name) for act in RECORDS for name in (act.name, act.name + "_grad")]


def _certified_f32(name: str) -> float:
    """The certified float32 bound (real distance to the exact value, all 2^32
    inputs): 1 ULP for forward kernels, 2 for derivatives."""
    return CERTIFIED_F32["grad" if name.endswith("_grad") else "forward"]


def _published_rows() -> list[dict]:
    """The rows of reports/verify-exhaustive.json (README table, report)."""
    return json.loads((ROOT / "reports" / "verify-exhaustive.json").read_text())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("act", "name"), KERNELS, ids=[k[1] for k in KERNELS])
def test_verify_slice(act, name, dtype):
    if dtype == "float32":
        result = verify.float32_sweep(name, step=1024, workers=1)
        assert result.count == 2**22
    else:
        result = verify.float64_check(name, n=200_000)
    assert result.special_mismatches == 0, result.special_examples
    assert result.abs_violations == 0
    limit = 0.5 if act.exact else act.ulp_bound[dtype] + 0.5
    if dtype == "float32":
        limit = min(limit, _certified_f32(name))
    assert result.max_ulp <= limit, f"{name} {dtype}: {result.max_ulp:.3f} ULP at {result.worst_input}"
    # correctly rounded almost everywhere: a sanity check that the judge itself works
    assert result.above["0.5"] <= 0.2 * result.count


@pytest.mark.parametrize("name", ["sigmoid", "silu_grad"])
def test_compiled_statistics_agree_with_numpy(name):
    """The float32 fast path (two-stage blocked reference, compiled statistics)
    reports what the plain NumPy version reports, also for a kernel that gets
    things wrong: results a few ULPs off, NaN and inf where the exact value is
    finite, and tiny results beyond the absolute bound.  sigmoid's reference works
    in float64, silu_grad's in long double: the fast first stage hides none of
    the errors."""
    ((_, ufunc, ref, _),) = verify._kernels([name], exact=True)
    x = (np.arange(2**20, dtype=np.uint32) * np.uint32(4096) + np.uint32(1234)).view(np.float32)

    def broken(x):
        got = ufunc(x)
        got[::1001] = np.nextafter(np.nextafter(np.nextafter(got[::1001], 2), 2), 2)
        got[7::5003] = np.nan
        got[11::7001] = -np.inf
        got[np.abs(got) < 1e-39] = np.float32(1e-37)
        return got

    with np.errstate(all="ignore"):
        fast = verify._check32("s", broken, ref, (), x, "")
        slow = verify._check_numpy("s", broken, ref, (), x, "")
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    assert fast.special_mismatches > 0 and fast.abs_violations > 0 and fast.above["2.0"] > 0


#: float32 test sweep: every 12289th bit pattern (odd, so the low mantissa bits
#: vary too): 349,496 inputs, every exponent, both signs, inf and NaN
_SWEEP = (np.arange(2**32 // 12289, dtype=np.uint32) * np.uint32(12289)).view(np.float32)


@pytest.mark.parametrize("name", [k[1] for k in KERNELS])
def test_two_stage_judge_agrees_with_long_double(name):
    """The float32 judge (reference in float64 working precision, the doubtful
    inputs again in long double) gives every field of the result exactly as the
    long double reference alone (``_check_numpy``: the default precision)."""
    ((kname, ufunc, ref, params),) = verify._kernels([name], exact=True)
    with np.errstate(all="ignore"):
        two_stage = verify._check32(kname, ufunc, ref, params, _SWEEP, "")
        long_double = verify._check_numpy(kname, ufunc, ref, params, _SWEEP, "")
    assert dataclasses.asdict(two_stage) == dataclasses.asdict(long_double)


def _stages(name, x):
    """(kernel results, fast exact values, refine marks, long double exact values)."""
    ((_, ufunc, ref, params),) = verify._kernels([name], exact=True)
    typed = tuple(np.float32(p) for p in params)
    with np.errstate(all="ignore"):
        got = ufunc(x, *typed)
        with reference.working_precision(np.float64):
            fast = verify._reference_blocked(ref, x, typed)
        mark = np.zeros(x.size, np.bool_)
        verify._to_refine(x.view(np.uint32), got, fast, mark)
        return got, fast, mark, verify._reference_blocked(ref, x, typed)


@pytest.mark.parametrize(("name", "root"), [("silu_grad", -1.2784645), ("gelu_tanh_grad", -0.7517915)])
def test_fast_reference_is_trusted_only_where_accurate(name, root):
    """Every consecutive float32 input around a derivative's root, where the
    float64 reference cancels: it is off by more than 2**-10 ULP there, and every
    such input is refined (the conditioning test; the error test alone would miss
    some)."""
    centre = int(np.float32(root).view(np.uint32))
    x = np.arange(centre - 2**14, centre + 2**14, dtype=np.uint32).view(np.float32)
    _, fast, mark, exact = _stages(name, x)
    assert np.all(np.abs(exact) >= 2**-126)  # ULP-judged: the error is in float32 ULPs
    _, exp2 = np.frexp(exact)
    off = np.abs(fast - exact) / np.ldexp(1.0, exp2 - 24)
    assert off.max() > 2**-10
    assert off[~mark].max() < 2**-10


@pytest.mark.parametrize("name", ["silu_grad", "mish_grad", "gelu_tanh_grad"])
def test_refined_set_is_small(name):
    """The long double stage sees few inputs (~1.5%; NaN inputs, the costliest in
    long double, not at all): the two-stage judge's speed.  mish_grad: 0.6 =
    mish'(0) rounds to float32 at 0.4000 ULP, on a quarter of all inputs."""
    x = _SWEEP[::4]
    mark = _stages(name, x)[2]
    assert mark.mean() < 0.05
    nan_inside = np.isnan(x)
    nan_inside[[0, -1]] = False  # the ends are always refined
    assert nan_inside.any() and not mark[nan_inside].any()


def test_published_certificate_meets_the_bounds():
    """reports/verify-exhaustive.json (the README's table and the report's accuracy
    section) covers every registry kernel on all 2^32 float32 inputs, within the
    certified bounds, with no NaN/inf mismatch."""
    exhaustive = {r["name"]: r for r in _published_rows() if r["dtype"] == "float32" and r["mode"] == "exhaustive"}
    assert sorted(exhaustive) == sorted(name for _, name in KERNELS)
    for name, row in exhaustive.items():
        assert row["count"] == 2**32
        assert row["special_mismatches"] == 0 and row["abs_violations"] == 0, name
        assert row["max_ulp"] <= _certified_f32(name), f"{name}: {row['max_ulp']} ULP"


def test_readme_table_is_the_published_certificate():
    """The README's accuracy table is ``verify.markdown`` of the published JSON,
    line for line (regenerate it with ``fastact verify --exhaustive --json ...``)."""
    table = verify.markdown([verify.Result(**row) for row in _published_rows()])
    assert table in (ROOT / "README.md").read_text()


def test_float64_samples_are_bit_patterns_of_the_drawn_binades():
    """The float64 samples: each lies in the binade [2^e, 2^(e+1)) its seed drew,
    with the drawn sign, every binade from the smallest subnormal to the largest
    finite one is present, and the significand bits below the binade's leading one
    are the drawn ones (integer operations only: the same values on every machine,
    where np.exp2 of a uniform exponent, the draw until 2026-12-06, rounded
    differently under NumPy's AVX-512 and AVX2 dispatch)."""
    n = 300_000
    x = verify.float64_samples(n, seed=3)[:n]
    rng = np.random.default_rng(3)
    e = rng.integers(-1074, 1024, n)
    significand = rng.integers(0, 1 << 52, n, dtype=np.uint64)
    negative = rng.integers(0, 2, n).astype(bool)
    assert np.array_equal(np.signbit(x), negative)
    _, exponent = np.frexp(np.abs(x))
    assert np.array_equal(exponent - 1, e)
    assert np.unique(e).size == 2098
    normal = e >= -1022
    low_bits = x.view(np.uint64) & np.uint64((1 << 52) - 1)
    assert np.array_equal(low_bits[normal], significand[normal])
    # a subnormal binade 2^e holds e + 1074 significand bits: the drawn ones' top bits
    sub = ~normal
    kept = (e[sub] + 1074).astype(np.uint64)
    assert np.array_equal(low_bits[sub] - (np.uint64(1) << kept), significand[sub] >> (np.uint64(52) - kept))
