"""Fit the interval polynomials of the float32 tanh kernel (fastact/_tanh32.py).

|x| in [0, 9.02) is split into [0, 1/16) and two intervals per binade after it
(16 intervals: one 512-bit register per coefficient table).  On
each interval tanh(|x|) is approximated by a degree-6 polynomial in t = |x| - centre,
fitted for relative error by weighted least squares at Chebyshev nodes with
Lawson reweighting (mpmath values, 40 digits).  The centre is the float32 near the
middle of the interval whose tanh lies closest to a float32, so the constant
coefficient rounds almost exactly; on [0, 1/16) the polynomial is odd (x + c3 x^3 +
c5 x^5), which keeps the relative accuracy of tiny inputs.  The coefficients are
fitted in float64 and rounded to float32 (the constant first, the others refitted
around it).  Prints the table as Python literals for _tanh32.py:

    python tools/fit_tanh32.py > /tmp/table.py
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 40
F32 = np.float32
SATURATION = float(F32(9.02))  # tanh rounds to 1 in float32 from here on
DEGREE = 6


def intervals() -> list[tuple[float, float]]:
    edges = [0.0]
    lo = 0.0625
    while lo < SATURATION:
        edges += [lo, lo * 1.5]
        lo *= 2
    edges = [e for e in edges if e < SATURATION] + [SATURATION]
    return list(zip(edges[:-1], edges[1:], strict=False))


def _rounding_error(m: float) -> float:
    v = mp.tanh(mp.mpf(m))
    return abs(float((v - mp.mpf(float(F32(float(v))))) / v))


def centre(lo: float, hi: float) -> float:
    middle = F32((lo + hi) / 2)
    candidates = (middle.view(np.int32) + np.arange(-3000, 3001, 10, dtype=np.int32)).view(np.float32)
    candidates = candidates.astype(np.float64)
    candidates = candidates[(candidates > lo + 0.4 * (hi - lo)) & (candidates < lo + 0.6 * (hi - lo))]
    return float(min(candidates, key=_rounding_error))


def fit(lo: float, hi: float) -> tuple[float, np.ndarray, float]:
    odd = lo == 0.0
    mid = 0.0 if odd else centre(lo, hi)
    nodes = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (np.arange(400) + 0.5) / 400)
    if odd:
        nodes = np.abs(nodes) + 1e-6
    values = np.array([float(mp.tanh(mp.mpf(x))) for x in nodes])
    t = nodes - mid
    powers = [p for p in (1, 3, 5, 7) if p <= DEGREE] if odd else list(range(DEGREE + 1))
    basis = np.vstack([t**p for p in powers]).T
    weight = np.ones_like(nodes)
    best = (np.inf, None)
    for _ in range(30):
        w = weight / values
        sol, *_ = np.linalg.lstsq(basis * w[:, None], values * w, rcond=None)
        c = np.zeros(DEGREE + 1)
        c[powers] = sol
        if not odd:  # round the constant term first, refit the rest around it
            c[0] = float(F32(c[0]))
            c[1:], *_ = np.linalg.lstsq(basis[:, 1:] * w[:, None], (values - c[0]) * w, rcond=None)
        c = c.astype(F32).astype(np.float64)
        err = np.abs(np.polyval(c[::-1], t) - values) / values
        if err.max() < best[0]:
            best = (err.max(), c)
        weight = weight * (err / err.max() + 1e-3) ** 0.5
    return mid, best[1], best[0]


def _literal(values) -> str:
    items = [str(F32(v)) for v in values]
    lines = ["    " + ", ".join(items[i:i + 5]) + "," for i in range(0, len(items), 5)]
    return "(\n" + "\n".join(lines) + "\n)"


def main() -> None:
    mids, coefs = [], []
    for lo, hi in intervals():
        mid, c, err = fit(lo, hi)
        mids.append(mid)
        coefs.append(c)
        print(f"# [{lo:.4f}, {hi:.4f}): centre {F32(mid)}, max relative error {err:.2e}")
    print(f"_MID = {_literal(mids)}")
    print("_COEF = (  # _COEF[i][k]: coefficient of t**i on interval k")
    for i in range(DEGREE + 1):
        print("    " + _literal([c[i] for c in coefs]).replace("\n", "\n    ") + ",")
    print(")")


if __name__ == "__main__":
    main()
