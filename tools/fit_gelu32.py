"""Fit the piecewise tables of ``fastact/_gelu32.py`` (float32 gelu, gelu').

The kernel writes the normal tail as Phi(-a) = exp(-a^2/2) F(a) with
F(a) = Phi(-a) exp(a^2/2) = R(a) / sqrt(2 pi) (R: Mills' ratio), and evaluates F
on 29 intervals of a = |x|: [0, 1/4] and [j/2 - 1/4, j/2 + 1/4] for j = 1..28,

    F(j/2 + t) = c0_hi[j] + c0_lo[j] + t (c1_hi[j] + c1_lo[j] + t (c2[j] + ... + t c6[j])),

with every coefficient a float32 (c0 and c1 as double words).  gelu' takes
H = F - a/sqrt(2 pi) on these intervals: F's polynomials with c0 and c1
shifted exactly (:func:`minus_density`), which is what ``main`` prints for them.
gelu's own F (``main_single``) is one word per coefficient, degree 5, on 32
intervals of a + 1's binades (:func:`binade_interval`: widths 1/8 below a = 1,
then 1/4, 1/2 and 1, to a = 15), about centres where F is nearly a float32
(:func:`centre_for`).  The fit is least squares
on Chebyshev nodes in the relative error of F, against 40-digit mpmath values;
the coefficients are rounded to float32 one at a time, from c0 up, and the
higher ones refitted after each rounding.  The printed error
is that of the rounded coefficients, evaluated exactly (float64 is exact
enough: the target is ~2^-28).

Run: ``python tools/fit_gelu32.py`` (needs mpmath); paste its output into
``fastact/_gelu32.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mpmath as mp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when run by path (runpy, the tests)
from fit_tanhshrink32 import _bf16, pack  # noqa: E402  (the same bfloat16 rounding and packing)

mp.mp.dps = 40  # after the import: fit_tanhshrink32 sets 30

INTERVALS = 29
DEGREE = 6
NODES = 400


def mills_scaled(a) -> mp.mpf:
    """F(a) = Phi(-a) exp(a^2/2)."""
    a = mp.mpf(a)
    return mp.erfc(a / mp.sqrt(2)) / 2 * mp.exp(a * a / 2)


def _f32(v: float) -> float:
    return float(np.float32(v))


def _nodes(j: int, ends=None):
    """Chebyshev nodes of interval j ([0, 1/4] or j/2 + [-1/4, 1/4]; or ``ends``) and
    its ends, with F there: ``(a, exact, f)`` (mpmath values and their float64
    roundings)."""
    lo, hi = ends or ((0.0, 0.25) if j == 0 else (j / 2.0 - 0.25, j / 2.0 + 0.25))
    k = np.arange(NODES)
    a = lo + (hi - lo) * (1 - np.cos(np.pi * (k + 0.5) / NODES)) / 2
    a = np.concatenate([[lo, hi], a])
    exact = [mills_scaled(v) for v in a]
    return a, exact, np.array([float(v) for v in exact])


def fit_interval(j: int):
    centre = j / 2.0
    a, exact, f = _nodes(j)
    t = a - centre
    # c0 = F(centre) to ~2^-48 as a float32 double word
    c0 = mills_scaled(centre)
    c0_hi = _f32(float(c0))
    c0_lo = _f32(float(c0 - mp.mpf(c0_hi)))
    # residual r(t) = F - c0 (as exact as mpmath), fitted as t * (c1 + c2 t + ...)
    resid = np.array([float(e - mp.mpf(c0_hi) - mp.mpf(c0_lo)) for e in exact])
    basis = np.vander(t, DEGREE + 1, increasing=True)[:, 1:] / f[:, None]
    target = resid / f
    # c1 as a double word: t c1 reaches a fifth of F, so the kernel forms it exactly
    c1 = np.linalg.lstsq(basis, target, rcond=None)[0][0]
    c1_hi = _f32(c1)
    c1_lo = _f32(c1 - c1_hi)
    target = target - (float(np.float64(c1_hi) + np.float64(c1_lo))) * basis[:, 0]
    coef = [c1_hi, c1_lo]
    for i in range(1, DEGREE):
        sol = np.linalg.lstsq(basis[:, i:], target, rcond=None)[0]
        c = _f32(sol[0])
        coef.append(c)
        target = target - c * basis[:, i]
    err = np.abs(target).max()
    return c0_hi, c0_lo, coef, err


def minus_density(j: int, hi: float, lo: float, order: int):
    """Coefficient ``order`` (0 or 1) of H = F - a/sqrt(2 pi) on interval j, from
    F's (hi + lo), as its float32 ``hi`` and the exact rest: H(j/2 + t) = F(j/2 + t)
    - (j/2 + t)/sqrt(2 pi) shifts c0 by -(j/2)/sqrt(2 pi) and c1 by -1/sqrt(2 pi),
    the rest alike; the shift is exact here (40 digits).  The kernel keeps the rest
    as a bfloat16 (:func:`main` packs c0's and c1's into one float32): 2^-33 of the
    coefficient, so H carries F's fit error (2^-28.3) and little else."""
    value = mp.mpf(hi) + mp.mpf(lo) - (mp.mpf(j) / 2 if order == 0 else 1) / mp.sqrt(2 * mp.pi)
    new_hi = _f32(float(value))
    return new_hi, value - mp.mpf(new_hi)


def _print_tables(names, columns):
    """Each column as ``name = _table(...)``, four values a line, for pasting into
    ``fastact/_gelu32.py``."""
    for name, values in zip(names, columns, strict=True):
        print(f"{name} = _table(")
        for i in range(0, len(values), 4):
            print("    " + ", ".join(repr(v) for v in values[i : i + 4]) + ",")
        print(")")


def main():
    rows = [fit_interval(j) for j in range(INTERVALS)]
    worst = max(r[3] for r in rows)
    print(f"# F(a) tables: {INTERVALS} intervals, degree {DEGREE}, relative error 2^{np.log2(worst):.1f};")
    print("# c0 and c1 those of H = F - a/sqrt(2 pi), the derivative's (minus_density)")
    print("# c0's and c1's low parts as bfloat16 in one float32 (_H_LO_PACKED: c0_lo the float itself,")
    print("# c1_lo its low 16 bits shifted up)")
    names = ["_H_C0_HI", "_H_C1_HI", "_H_LO_PACKED"] + [f"_F_C{i}" for i in range(2, DEGREE + 1)]
    h0 = [minus_density(j, r[0], r[1], 0) for j, r in enumerate(rows)]
    h1 = [minus_density(j, r[2][0], r[2][1], 1) for j, r in enumerate(rows)]
    packed = [pack(_bf16(c0[1]), _bf16(c1[1])) for c0, c1 in zip(h0, h1, strict=True)]
    columns = [[h[0] for h in h0], [h[0] for h in h1], packed]
    columns += [[r[2][i] for r in rows] for i in range(2, DEGREE + 1)]
    _print_tables(names, columns)


GELU_INTERVALS = 32
GELU_DEGREE = 5


def binade_interval(i: int):
    """Interval i of gelu's F: the a whose a + 1 (rounded to float32) has bits 20-24
    equal to i, i.e. the exponent's low two bits and the top three mantissa bits:
    a + 1 in 2^e [1 + m/8, 1 + (m + 1)/8) with e = (i >> 3) + 1 mod 4 and m = i & 7,
    so widths 1/8 on [0, 1), 1/4 on [1, 3), 1/2 on [3, 7) and 1 on [7, 15).  The
    ends reach 2^-20 further either way: a + 1 rounds across a seam by at most
    half its ULP (2^-21 below 16)."""
    e, m = ((i >> 3) + 1) & 3, i & 7
    lo = 2.0**e * (1 + m / 8) - 1
    hi = 2.0**e * (1 + (m + 1) / 8) - 1
    return max(lo - 2.0**-20, 0.0), hi + 2.0**-20


def centre_for(middle: float):
    """The expansion point of an interval for gelu's one-word F: the float32 c within
    2^-11 of the interval's ``middle``, on a 2^-20 grid (so that a - c is exact
    for every a of the interval: Sterbenz, c/2 <= a <= 2c), whose F(c) lies
    nearest a float32, and that float32; 0 and 1/2 for the interval from 0
    (``middle`` 0: t = a exact however small a is)."""
    if middle == 0:
        return 0.0, 0.5  # F(0) = 1/2 exactly
    best = None
    for m in range(-512, 513):
        c = middle + m * 2.0**-20
        value = mills_scaled(c)
        c0 = _f32(float(value))
        miss = abs(float((value - mp.mpf(c0)) / mp.mpf(float(np.spacing(np.float32(c0))))))
        if best is None or miss < best[0]:
            best = (miss, c, c0)
    return best[1], best[2]


def fit_single_interval(j: int):
    """F(c + t) = c0 + t (c1 + t (c2 + ... + t c5)) on interval j of
    :func:`binade_interval`, every coefficient one float32 and c0 = F(c) within
    ~2^-10 of its ULP (:func:`centre_for`): relative least squares on Chebyshev
    nodes, rounded one coefficient at a time from c1 up."""
    ends = binade_interval(j)
    centre, c0 = centre_for((ends[0] + ends[1]) / 2 if ends[0] > 0 else 0.0)
    a, exact, f = _nodes(j, ends)
    basis = np.vander(a - centre, GELU_DEGREE + 1, increasing=True)[:, 1:] / f[:, None]
    target = np.array([float(e - mp.mpf(c0)) for e in exact]) / f
    coef = []
    for i in range(GELU_DEGREE):
        c = _f32(np.linalg.lstsq(basis[:, i:], target, rcond=None)[0][0])
        coef.append(c)
        target = target - c * basis[:, i]
    return centre, c0, coef, np.abs(target).max()


def main_single():
    rows = [fit_single_interval(j) for j in range(GELU_INTERVALS)]
    worst = max(r[3] for r in rows)
    print(f"# gelu's one-word F: {GELU_INTERVALS} intervals of a + 1's binades, degree {GELU_DEGREE}, "
          f"relative error 2^{np.log2(worst):.1f}")
    names = ["_G_CENTRE", "_G_C0"] + [f"_G_C{i}" for i in range(1, GELU_DEGREE + 1)]
    columns = [[r[0] for r in rows], [r[1] for r in rows]] + [[r[2][i] for r in rows] for i in range(GELU_DEGREE)]
    _print_tables(names, columns)


ROOT_HALF_WIDTH = 0.25
ROOT_DEGREE = 8


def gelu_grad(x) -> mp.mpf:
    return mp.ncdf(x) + x * mp.npdf(x)


def fit_root():
    """gelu'(x0_hi + dx) = r0 + dx (r1 + dx (r2 + ...)) on |dx| <= 1/4, in the exact
    variable dx = x - x0_hi (x0_hi: the root rounded to float32): r0 = gelu'(x0_hi)
    (tiny, as a float32), r1 and r2 as double words, relative least squares."""
    x0 = mp.findroot(gelu_grad, -0.75)
    hi = mp.mpf(_f32(float(x0)))
    r0 = _f32(float(gelu_grad(hi)))
    k = np.arange(NODES)
    dx = ROOT_HALF_WIDTH * np.cos(np.pi * (k + 0.5) / NODES)
    dx = np.array([_f32(v) for v in dx if abs(v) > 1e-6])
    exact = [gelu_grad(hi + mp.mpf(float(v))) for v in dx]
    f = np.array([float(e) for e in exact])
    basis = np.vander(dx, ROOT_DEGREE + 1, increasing=True)[:, 1:] / f[:, None]
    target = np.array([float((e - mp.mpf(r0)) / e) for e in exact])
    coef = []
    for i in range(ROOT_DEGREE):
        c = np.linalg.lstsq(basis[:, i:], target, rcond=None)[0][0]
        parts = [_f32(c)]
        if i < 2:
            parts.append(_f32(c - parts[0]))
        target = target - sum(parts) * basis[:, i]
        coef.extend(parts)
    return float(hi), float(x0 - hi), r0, coef, np.abs(target).max()


def main_root():
    hi, lo, r0, coef, err = fit_root()
    print(f"# gelu' near its root, |dx| <= {ROOT_HALF_WIDTH}: degree {ROOT_DEGREE}, relative error {err:.2e}")
    print(f"_ROOT_HI = _F({hi!r})  # x0 - _ROOT_HI = {lo!r}")
    print(f"_R0 = _F({r0!r})")
    print("_R1_HI, _R1_LO, _R2_HI, _R2_LO = " + ", ".join(f"_F({c!r})" for c in coef[:4]))
    print("_R = (" + ", ".join(f"_F({c!r})" for c in coef[4:]) + ")  # r3 .. r8")


if __name__ == "__main__":
    main()
    main_single()
    main_root()
