"""Fit the interval polynomials of the float32 tanh kernel (fastact/_tanh32.py).

|x| in [0, 9.02) is split into [0, 1/16) and two intervals per binade after it
(16 intervals: one 512-bit register per coefficient table).  On
each interval tanh(|x|) is approximated by a degree-7 polynomial in t = |x| - centre,
fitted for the error in float32 ULPs of the result by weighted least squares at
Chebyshev nodes with Lawson reweighting (mpmath values, 40 digits).  Degree 6 is
not enough on [4, 6): its minimax error there is 0.81 ULP before the final
rounding, 1.26 ULP after.  The centre is the float32 near the
middle of the interval whose tanh lies closest to a float32, so the constant
coefficient rounds almost exactly; on [0, 1/16) the polynomial is odd (x + c3 x^3 +
c5 x^5), which keeps the relative accuracy of tiny inputs.  The coefficients are
fitted in float64 and rounded to float32 one at a time, from the constant up, the
higher ones refitted around each rounded one.  Prints the table as Python literals for _tanh32.py:

    python tools/fit_tanh32.py > /tmp/table.py
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 40
F32 = np.float32
SATURATION = float(F32(9.02))  # tanh rounds to 1 in float32 from here on
DEGREE = 7
NODES = 600  # Chebyshev nodes per interval (plus both ends)
LAWSON_STEPS = 40


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


def _ulp(values: np.ndarray) -> np.ndarray:
    """ULP of the float32 nearest each value (the unit the error is judged in)."""
    _, e = np.frexp(np.abs(values))
    return np.ldexp(1.0, e - 24)


def _lawson(basis: np.ndarray, target: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Coefficients minimising max |basis @ c - target| / scale: weighted least
    squares with Lawson reweighting (converges to the minimax solution)."""
    weight = np.ones_like(target)
    best = (np.inf, None)
    for _ in range(LAWSON_STEPS):
        w = weight / scale
        sol, *_ = np.linalg.lstsq(basis * w[:, None], target * w, rcond=None)
        err = np.abs(basis @ sol - target) / scale
        if err.max() < best[0]:
            best = (err.max(), sol)
        weight = weight * (err / err.max() + 1e-6)
        weight /= weight.max()
    return best[1]


def fit(lo: float, hi: float) -> tuple[float, np.ndarray, float]:
    """Centre, float32 coefficients and max error (float32 ULPs, exact arithmetic)
    of the polynomial on [lo, hi).

    The error is weighted by the ULP of the result (not by the value: within a
    binade they differ by up to 2x, and the ULP is what the kernel is judged in).
    The coefficients are rounded to float32 one at a time, lowest power first,
    each time refitting the higher ones around the rounded ones: rounding them all
    at once added up to 0.3 ULP on some intervals.
    """
    odd = lo == 0.0
    mid = 0.0 if odd else centre(lo, hi)
    nodes = (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * (np.arange(NODES) + 0.5) / NODES)
    nodes = np.concatenate([nodes, [lo, hi]])
    if odd:
        nodes = np.abs(nodes) + 1e-6
    values = np.array([float(mp.tanh(mp.mpf(x))) for x in nodes])
    t = nodes - mid
    scale = _ulp(values)
    powers = [p for p in (1, 3, 5, 7) if p <= DEGREE] if odd else list(range(DEGREE + 1))
    fixed: dict[int, float] = {}
    for p in powers:
        free = [q for q in powers if q not in fixed]
        target = values - sum(v * t**q for q, v in fixed.items())
        sol = _lawson(np.vstack([t**q for q in free]).T, target, scale)
        fixed[p] = float(F32(sol[0]))
    c = np.zeros(DEGREE + 1)
    for p, v in fixed.items():
        c[p] = v
    err = np.abs(np.polyval(c[::-1], t) - values) / scale
    return mid, c, float(err.max())


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
        print(f"# [{lo:.4f}, {hi:.4f}): centre {F32(mid)}, max error {err:.3f} ULP (exact arithmetic)")
    print(f"_MID = {_literal(mids)}")
    print("_COEF = (  # _COEF[i][k]: coefficient of t**i on interval k")
    for i in range(DEGREE + 1):
        print("    " + _literal([c[i] for c in coefs]).replace("\n", "\n    ") + ",")
    print(")")


if __name__ == "__main__":
    main()
