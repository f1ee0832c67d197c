"""A bounded slice of the certification (``fastact verify``), so the tool cannot rot.

float32: every 1024th bit pattern (2**22 inputs per kernel: all exponents, signs,
NaN payloads and infinities); float64: 2*10**5 log-uniform samples plus the
thresholds.  ``fastact verify --exhaustive`` runs all 2**32 float32 inputs.

The registry bounds are integer distances to the correctly rounded result; the
verifier measures the real distance to the exact value, which may exceed the
integer bound by up to half an ULP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import DTYPES, RECORDS

from fastact import verify

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


def test_compiled_statistics_agree_with_numpy():
    """The float32 fast path (blocked reference, compiled statistics) reports what
    the plain NumPy version reports, also for a kernel that gets things wrong:
    results a few ULPs off, NaN and inf where the exact value is finite, and
    tiny results beyond the absolute bound."""
    import dataclasses

    import numpy as np

    import fastact
    from fastact import reference

    x = (np.arange(2**20, dtype=np.uint32) * np.uint32(4096) + np.uint32(1234)).view(np.float32)

    def broken_sigmoid(x):
        got = fastact.sigmoid(x)
        got[::1001] = np.nextafter(np.nextafter(np.nextafter(got[::1001], 2), 2), 2)
        got[7::5003] = np.nan
        got[11::7001] = -np.inf
        got[(got > 0) & (got < 1e-39)] = np.float32(1e-37)
        return got

    with np.errstate(all="ignore"):
        fast = verify._check32("s", broken_sigmoid, reference.sigmoid, (), x, "")
        slow = verify._check_numpy("s", broken_sigmoid, reference.sigmoid, (), x, "")
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
    assert fast.special_mismatches > 0 and fast.abs_violations > 0 and fast.above["2.0"] > 0


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
