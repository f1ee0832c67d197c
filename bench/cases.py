"""The benchmark matrix, generated from the registry: what is measured, on what.

Kept apart from the test module so that ``fastact bench`` and the report can list
the cases without running pytest.
"""

from __future__ import annotations

import fastact
from fastact.peers import PEER_NAMES, REGIMES, peer_table

DTYPES = ("float32", "float64")
QUICK_SIZES = (1000, 1_000_000, 10_000_000)
FULL_SIZES = (1, 1000, 100_000, 1_000_000, 10_000_000)
IMPLEMENTATIONS = ("fastact", *PEER_NAMES, "memcpy")


def public_functions() -> list[tuple[str, str]]:
    """(public name, registry name) for every forward, _grad and _backward."""
    return [(name, act.name) for act in fastact.REGISTRY.values() for name in act.public_names]


def _has(impl: str, func: str) -> bool:
    """Whether ``impl`` computes ``func``: a peer that is not installed, or that lacks
    the function (SciPy has only expit among these), is left out of the matrix (the
    machine info in the JSON lists the installed versions)."""
    if impl in ("fastact", "memcpy"):
        return True
    return func in peer_table(impl)


def throughput_cases(full_suite: bool) -> list[tuple[str, str, str, int, str]]:
    """(function, implementation, dtype, size, regime) to benchmark.

    Quick (default): every implementation on ``central`` at 10^3, 10^6 and 10^7
    (the slow NumPy reference up to 10^6), plus fastact and the memory copy on the
    other regimes at 10^6 (the saturation check).  Full: every combination.
    """
    cases = []
    sizes = FULL_SIZES if full_suite else QUICK_SIZES
    for func, _ in public_functions():
        for dtype in DTYPES:
            for size in sizes:
                for regime in REGIMES:
                    for impl in IMPLEMENTATIONS:
                        if not full_suite and regime != "central":
                            if impl not in ("fastact", "memcpy") or size != 1_000_000:
                                continue
                        if not full_suite and impl == "numpy-reference" and size > 1_000_000:
                            continue  # 10-30x slower than everything else; 10^6 shows it
                        if not _has(impl, func):
                            continue
                        cases.append((func, impl, dtype, size, regime))
    return cases
