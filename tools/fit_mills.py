"""Fit the rational S(a) of ``fastact/_erf.py`` (the normal tail behind erfc and gelu).

For a >= 0, Phi(-a) = exp(-a^2/2) / (sqrt(2 pi) (a + S(a))) with S(a) = 1/R(a) - a,
R(a) = Phi(-a) / phi(a) Mills' ratio.  S falls from sqrt(2/pi) at 0 to ~1/a and
enters the result only through a + S(a), so the fit minimizes the weighted error
|P/Q - S| / (a + S) of a rational P_n(a) / Q_{n+1}(a) (Q's constant term 1; the
degrees make P/Q ~ 1/a in the tail) on [0, A]:

* linearized least squares (Sanathanan-Koerner: each pass divides the residual
  P - S Q by the previous Q) on Chebyshev nodes, in the variable s = a / A for
  conditioning, in 50-digit arithmetic;
* then Lawson reweighting towards the minimax solution; the best pass is kept.

The printed error is that of the exact coefficients; the rounded ones (and S(0)
as a double word in the float64 kernel) are measured by the tests.  Both fits
used come out with every coefficient positive.

Run: ``python tools/fit_mills.py`` (needs mpmath; a minute per fit).
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 50

#: dtype -> (A, n): float64 [0, 38.5] degree 9/10 (2**-57.8), float32 [0, 15] 4/5 (2**-30.4)
FITS = {"float64": (38.5, 9), "float32": (15.0, 4)}


def s_exact(a):
    r = mp.erfc(a / mp.sqrt(2)) * mp.sqrt(mp.pi / 2) * mp.exp(a * a / 2)
    return 1 / r - a


def fit(end, n, npts=600, iters=12):
    end = mp.mpf(end)
    pts = [end * (1 - mp.cos(mp.pi * (i + mp.mpf(1) / 2) / npts)) / 2 for i in range(npts)]
    sv = [s_exact(a) for a in pts]
    wv = [1 / (a + s) for a, s in zip(pts, sv, strict=True)]
    ss = [a / end for a in pts]
    q_prev = [mp.mpf(1)] * npts
    lawson = [mp.mpf(1)] * npts
    best = None
    for it in range(iters):
        rows, rhs = [], []
        for s, target, w, qp, lw in zip(ss, sv, wv, q_prev, lawson, strict=True):
            f = w * lw / qp
            rows.append([f * s**j for j in range(n + 1)] + [-f * target * s**j for j in range(1, n + 2)])
            rhs.append(f * target)
        am, b = mp.matrix(rows), mp.matrix(rhs)
        sol = mp.lu_solve(am.T * am, am.T * b)
        p = [sol[j] for j in range(n + 1)]
        q = [mp.mpf(1)] + [sol[n + 1 + j] for j in range(n + 1)]
        errs, q_prev = [], []
        for s, target, w in zip(ss, sv, wv, strict=True):
            qv = mp.polyval(q[::-1], s)
            q_prev.append(qv)
            errs.append((mp.polyval(p[::-1], s) / qv - target) * w)
        err = max(abs(e) for e in errs)
        if best is None or err < best[0]:
            best = (err, p, q)
        if it >= 4:
            lawson = [lw * mp.sqrt(abs(e) / err) + mp.mpf(10) ** -30 for lw, e in zip(lawson, errs, strict=True)]
    err, p, q = best
    # back to powers of a
    return err, [c / end**j for j, c in enumerate(p)], [c / end**j for j, c in enumerate(q)]


def main():
    for dtype, (end, n) in FITS.items():
        err, p, q = fit(end, n)
        print(f"# {dtype}: [0, {end}], degree {n}/{n + 1}, weighted error 2**{float(mp.log(err, 2)):.1f}")
        print(f"_S{dtype[-2:]}_P = ({', '.join(repr(float(c)) for c in p)})")
        print(f"_S{dtype[-2:]}_Q = ({', '.join(repr(float(c)) for c in q)})")


if __name__ == "__main__":
    main()
