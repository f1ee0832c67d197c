"""Fit the polynomial coefficients used in ``fastact/_core.py`` (and the log1p of ``fastact/_softplus32.py``, the
table exp of ``fastact/_logistic64.py``).

Each core polynomial approximates a smooth function on the reduced range of its
Cody-Waite reduction.  We fit in 60-digit arithmetic with a discrete Remez
exchange on relative error, starting from a least-squares fit on Chebyshev
nodes, and print the coefficients as Python literals.  The coefficients are
then rounded to the working precision, so the printed error is the error of the
exact polynomial; the tests measure what the rounded one actually achieves.

Run: ``python tools/fit_poly.py`` (needs mpmath).
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 60
LN2 = mp.log(2)


def _fit_fixed(target, fixed, basis, lo, hi, nterms, iters=30, npts=3000):
    """Minimax relative fit: target(r) ~ fixed(r) + sum_j c_j basis(r, j) on [lo, hi].

    Least squares on Chebyshev nodes for a start, then a discrete Remez exchange.
    """
    grid = [lo + (hi - lo) * (1 - mp.cos(mp.pi * (i + mp.mpf(1) / 2) / npts)) / 2 for i in range(npts)]
    grid = [r for r in grid if r != 0]

    def err(r, c):
        return (fixed(r) + sum(c[j] * basis(r, j) for j in range(nterms))) / target(r) - 1

    rows = [[basis(r, j) / target(r) for j in range(nterms)] for r in grid]
    a = mp.matrix(rows)
    b = mp.matrix([1 - fixed(r) / target(r) for r in grid])
    coef = list(mp.lu_solve(a.T * a, a.T * b))
    for _ in range(iters):
        e = [err(r, coef) for r in grid]
        ext = []
        i = 0
        while i < len(grid):
            j = i
            while j + 1 < len(grid) and (e[j + 1] >= 0) == (e[i] >= 0):
                j += 1
            ext.append(max(range(i, j + 1), key=lambda t: abs(e[t])))
            i = j + 1
        if len(ext) < nterms + 1:
            break
        while len(ext) > nterms + 1:
            if abs(e[ext[0]]) < abs(e[ext[-1]]):
                ext.pop(0)
            else:
                ext.pop()
        m = mp.matrix(nterms + 1, nterms + 1)
        rhs = mp.matrix(nterms + 1, 1)
        for row, k in enumerate(ext):
            r = grid[k]
            for j in range(nterms):
                m[row, j] = basis(r, j) / target(r)
            m[row, nterms] = (-1) ** row
            rhs[row] = 1 - fixed(r) / target(r)
        sol = mp.lu_solve(m, rhs)
        coef = [sol[j] for j in range(nterms)]
    worst = max(abs(err(r, coef)) for r in grid)
    return coef, worst


def main():
    h = LN2 / 2
    for name, nq in (("EXP32", 5), ("EXP64", 10)):
        # exp(r) = 1 + r + r^2 * (c0 + c1 r + ...)
        coef, worst = _fit_fixed(mp.exp, lambda r: 1 + r, lambda r, j: r ** (j + 2), -h, h, nq)
        print(f"{name} (exp(r) = 1 + r + r^2 Q(r), Q degree {nq - 1}): max rel err {mp.nstr(worst, 3)}")
        print("   ", ", ".join(repr(float(c)) for c in coef))
    # float64 silu and silu' (fastact/_logistic64.py, _EXP8_Q): the reduction by
    # ln2/8 onto a table of 2^(j/8), |r| <= ln2/16 (with a margin for the
    # rounding of n)
    h8 = LN2 / 16 * mp.mpf("1.0001")
    coef, worst = _fit_fixed(mp.exp, lambda r: 1 + r, lambda r, j: r ** (j + 2), -h8, h8, 6, npts=1500)
    print(f"EXP8_64 (exp(r) = 1 + r + r^2 Q(r) on ln2/16, Q degree 5): max rel err {mp.nstr(worst, 3)}")
    print("   ", ", ".join(repr(float(c)) for c in coef))
    for name, nq in (("EXPM1_32", 5), ("EXPM1_64", 10)):
        # expm1(r) = r + r^2/2 + r^3 * (c0 + c1 r + ...)
        coef, worst = _fit_fixed(mp.expm1, lambda r: r + r * r / 2, lambda r, j: r ** (j + 3), -h, h, nq)
        print(f"{name} (expm1(r) = r + r^2/2 + r^3 Q(r), Q degree {nq - 1}): max rel err {mp.nstr(worst, 3)}")
        print("   ", ", ".join(repr(float(c)) for c in coef))
    # float32 softplus (fastact/_softplus32.py): log1p(r) = r + r^2 Q(r) on the
    # reduced range of a 16-entry table, r in [0, 1/16]
    coef, worst = _fit_fixed(mp.log1p, lambda r: r, lambda r, j: r ** (j + 2), mp.mpf(2) ** -22, mp.mpf(1) / 16, 4)
    print(f"LOG1P_32 (log1p(r) = r + r^2 Q(r) on [0, 1/16], Q degree 3): max rel err {mp.nstr(worst, 3)}")
    print("   ", ", ".join(repr(float(c)) for c in coef))


if __name__ == "__main__":
    main()
