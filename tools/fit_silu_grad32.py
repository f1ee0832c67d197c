"""Fit the piecewise table of ``fastact/_silu_grad32.py`` (float32 silu').

silu'(x) = s (1 + x (1 - s)), s = sigmoid(x), is tabulated on 32 intervals of
width 0.8 centred on its root: interval n (n = -14 .. 17) holds the x with
round-half-even(1.25 (x - r)) = n, r = -1.2784646 the float32 nearest the root
x0 (the kernel rounds with an FMA and 1.5 * 2^23, whose low five bits are then
the table index n mod 32), so together they cover x in [-12.48, 12.72).  Per
interval, with t = x - m for an anchor m,

    silu'(m + t) = c0_hi + c0_lo + t (c1_hi + c1_lo + t (c2 + ... + t c8))

(degree 8: relative error 2^-29.6; degree 7 reached 2^-25.5, which cost the
kernel 0.3-0.4 ULP next to the root).  The anchors keep t exact:

- the root's interval [-1.68, -0.88]: m = r (x - r is exact by Sterbenz's lemma),
  so c0 = silu'(r) is about -2.8e-9 and t (c1 + ...) carries silu' through its
  zero crossing with its relative accuracy;
- the interval holding 0: m = 0 in the fit, -2^-100 in the table (t = x + 2^-100:
  no subnormal t for tiny x, whose silu' is 1/2);
- elsewhere the multiple of 1/64 whose rounding costs least (:func:`anchor_cost`):
  the kernel's sum c0 + g rounds g = t c1 + w first, and next to the root, where
  silu' changes by a factor of 3 across the interval, the centre's c0 and g
  cancel and half an ULP of g is a full ULP of the result.

c0 = silu'(m) and c1 are double words whose low parts, rounded to bfloat16, share
one float32 (c0_lo in the high half: the packed float itself serves as c0_lo, its
low half changing it by less than 2^-7 of itself; one table lookup and a shift
for both).  Keeping the root's c0 whole in a low-part table of its own (so that
the last FMA rounds t c1 + w once there) gave 1.150 ULP instead of 1.385 at 5%
more time: one lookup.  c1 .. c8 are fitted to the
relative error on Chebyshev nodes against 40-digit mpmath values (Lawson's
reweighting of least squares towards the minimax fit), rounded one at a time from
c1 up with the higher ones refitted after each rounding.

Run: ``python tools/fit_silu_grad32.py`` (needs mpmath); paste its output into
``fastact/_silu_grad32.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mpmath as mp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when run by path (runpy, the tests)
from fit_tanhshrink32 import _bf16, _f32, pack, unpack_low  # noqa: E402  (the same float32 and bfloat16 roundings)

mp.mp.dps = 40  # after the import: fit_tanhshrink32 sets 30

DEGREE = 8
NODES = 400
SCALE = 1.25  # 1 / the interval width
FIRST, LAST = -14, 17  # interval numbers n: round(1.25 (x - ROOT_HI)) = n
ROOT_HI = float(np.float32(-1.2784645557403564))


def silu_grad(x):
    x = mp.mpf(x)
    s = 1 / (1 + mp.exp(-x))
    return s * (1 + x * (1 - s))


def _silu_grad64(x):
    s = 1 / (1 + np.exp(-x))
    return s * (1 + x * (1 - s))


def _ulp32(v):
    return np.spacing(np.abs(v).astype(np.float32)).astype(np.float64)


def anchor_cost(lo: float, hi: float, m: float) -> float:
    """The rounding error, in ULPs of the result, that anchor m adds on [lo, hi]
    beyond the final rounding: c0 + g with g = t c1 + w rounded once costs half an
    ULP of g (in ULPs of the result: large where c0 and g cancel), and t = x - m,
    where it is not exact, its rounding times silu''."""
    x = np.linspace(lo, hi, 4001).astype(np.float32).astype(np.float64)
    y = _silu_grad64(x)
    g = y - _silu_grad64(np.float64(m))
    cost = 0.5 * _ulp32(g) / _ulp32(y)
    t32 = (x.astype(np.float32) - np.float32(m)).astype(np.float64)
    slope = np.abs(_silu_grad64(x + 1e-6) - _silu_grad64(x - 1e-6)) / 2e-6
    cost += np.abs(t32 - (x - m)) * slope / _ulp32(y)
    return float(cost.max())


def interval(n: int) -> tuple[float, float, float]:
    """(low end, high end, anchor) of interval n: round(1.25 (x - ROOT_HI)) = n.
    The anchor: ROOT_HI on the root's interval, 0 on the one holding 0 (tiny x
    keep t = x exact), elsewhere the multiple of 1/64 that costs least
    (:func:`anchor_cost`; next to the root, where silu' changes by a factor of 3
    across the interval, the centre would cost a full ULP)."""
    lo, hi = ROOT_HI + (n - 0.5) / SCALE, ROOT_HI + (n + 0.5) / SCALE
    if n == 0:
        return lo, hi, ROOT_HI
    if lo <= 0.0 < hi:
        return lo, hi, 0.0
    candidates = np.arange(np.ceil(lo * 64), np.floor(hi * 64) + 1) / 64
    costs = np.array([anchor_cost(lo, hi, m) for m in candidates])
    # of the cheapest (to 1/64 ULP), the one nearest the centre: the smallest |t|
    near = np.abs(candidates - (lo + hi) / 2) + 1e3 * (costs > costs.min() + 1 / 64)
    return lo, hi, float(candidates[int(np.argmin(near))])


def minimax(basis, target, rounds: int = 60):
    """Coefficients that (nearly) minimize max |basis @ c - target| over the nodes:
    Lawson's iteration, least squares reweighted by each node's residual."""
    weight = np.ones(len(target))
    best, best_err = None, np.inf
    for _ in range(rounds):
        sw = np.sqrt(weight)
        c = np.linalg.lstsq(basis * sw[:, None], target * sw, rcond=None)[0]
        r = np.abs(basis @ c - target)
        if r.max() < best_err:
            best, best_err = c, r.max()
        weight = weight * r
        weight /= weight.sum()
    return best


def fit_interval(n: int):
    lo, hi, m = interval(n)
    i = np.arange(NODES)
    x = lo + (hi - lo) * (1 - np.cos(np.pi * (i + 0.5) / NODES)) / 2
    x = np.concatenate([[lo, hi], x])
    t = x - m
    x, t = x[t != 0], t[t != 0]
    exact = [silu_grad(mp.mpf(m) + mp.mpf(float(v))) for v in t]
    f = np.array([float(e) for e in exact])
    c0 = silu_grad(m)
    c0_hi = _f32(c0)
    c0_lo = _bf16(c0 - mp.mpf(c0_hi))
    target = np.array([float((e - mp.mpf(c0_hi) - mp.mpf(c0_lo)) / e) for e in exact])
    basis = np.vander(t, DEGREE + 1, increasing=True)[:, 1:] / f[:, None]
    coef = []
    for j in range(DEGREE):
        c = minimax(basis[:, j:], target)[0]
        parts = [_f32(c)]
        if j == 0:  # c1 as a double word
            parts.append(_bf16(c - parts[0]))
        target = target - sum(parts) * basis[:, j]
        coef.extend(parts)
    c1_hi, c1_lo, *rest = coef
    return [m, c0_hi, pack(c0_lo, c1_lo), c1_hi] + rest, float(np.abs(target).max())



def main():
    numbers = list(range(FIRST, LAST + 1))
    fits = {n: fit_interval(n) for n in numbers}
    worst = max(err for _, err in fits.values())
    # table index: n mod 32
    rows = [fits[idx if idx <= LAST else idx - 32][0] for idx in range(32)]
    # on the interval holding 0, c0 = 1/2 exactly and its low part 0: 2^-90 in its
    # place keeps w = t (...) + c0_lo normal for tiny and subnormal x (no underflow
    # flag), far below an ULP of the result
    zero = [row for row in rows if row[0] == 0.0][0]
    c1_lo = unpack_low(zero[2])
    assert abs(c1_lo) > 2.0**-100  # it keeps p normal
    zero[2] = pack(2.0**-90, c1_lo)
    # and its anchor -2^-100 instead of 0: t = x + 2^-100 is normal for tiny and
    # subnormal x, where t = x was subnormal in every FMA of the polynomial, and
    # Intel cores take a microcode assist for each vector instruction with a
    # subnormal operand (73x the kernel's time on subnormal inputs on Rocket Lake).
    # t is not exact below |x| = 2^-75, where silu'(x) rounds to 1/2 anyway; the
    # shift by 2^-100 is far below an ULP everywhere
    zero[0] = -(2.0**-100)
    print(f"# silu': {len(numbers)} intervals of width {1 / SCALE}, degree {DEGREE}, "
          f"relative error 2^{np.log2(worst):.1f}")
    errors = [f"{n}:{np.log2(fits[n][1]):.1f}" for n in numbers]
    for i in range(0, len(errors), 8):
        print("# log2 error, interval n: " + " ".join(errors[i : i + 8]))
    names = ["ANCHOR", "C0_HI", "LO_PACKED", "C1_HI"] + [f"C{i}" for i in range(2, DEGREE + 1)]
    for name, values in zip(names, zip(*rows, strict=True), strict=True):
        print(f"_{name} = _table(")
        for i in range(0, len(values), 4):
            print("    " + ", ".join(repr(v) for v in values[i : i + 4]) + ",")
        print(")")


if __name__ == "__main__":
    main()
