"""A bounded slice of the certification (``fastact verify``), so the tool cannot rot.

float32: every 1024th bit pattern (2**22 inputs per kernel: all exponents, signs,
NaN payloads and infinities); float64: 2*10**5 log-uniform samples plus the
thresholds.  ``fastact verify --exhaustive`` runs all 2**32 float32 inputs.

The registry bounds are integer distances to the correctly rounded result; the
verifier measures the real distance to the exact value, which may exceed the
integer bound by up to half an ULP.
"""

from __future__ import annotations

import pytest
from support import DTYPES, RECORDS

from fastact import verify

KERNELS = [(act, name) for act in RECORDS for name in (act.name, act.name + "_grad")]


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
    assert result.max_ulp <= limit, f"{name} {dtype}: {result.max_ulp:.3f} ULP at {result.worst_input}"
    # correctly rounded almost everywhere: a sanity check that the judge itself works
    assert result.above["0.5"] <= 0.2 * result.count
