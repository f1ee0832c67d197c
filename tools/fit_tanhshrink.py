"""Fit the small-|x| polynomial of the float64 tanhshrink in ``fastact/kernels/smooth.py``
(float32 has its own tables: ``tools/fit_tanhshrink32.py``).

x - tanh(x) cancels catastrophically near 0 (x - tanh x = x**3/3 - 2x**5/15 + ...),
so for |x| < 0.8 the kernel evaluates x**3 * P(x**2) instead, P a relative minimax
fit of (x - tanh x) / x**3 on [0, 0.64] in u = x**2 (discrete Remez in 60-digit
arithmetic, :func:`fit_poly._fit_fixed`).  P(u) = 1/3 + u Q(u): the constant 1/3 is
kept exact (a double word in the kernel) and only Q is fitted.  The nearest
singularity of tanh is at u = -(pi/2)**2, which sets the degree: 14 coefficients
of Q for 2**-60.7 on [0, 0.64] (on [0, 1] it took 15 for 2**-56).  The split at
0.8 is the kernel's: from there on its exp-based branch, (x - 1) + q with q =
1 - tanh x, cancels at most 1.3 bits, and x - tanh x >= 1/8, so the 2**-55.5 of
the exp's double word stays below 0.3 ULP of the result (at 1/2 it would reach
1.7 ULP: the result drops below 1/16 near 0.6).

Run: ``python tools/fit_tanhshrink.py`` (needs mpmath); prints Python literals.
"""

from __future__ import annotations

import mpmath as mp
from fit_poly import _fit_fixed

mp.mp.dps = 60


def target(u):
    """(x - tanh x) / x**3 at x = sqrt(u), from its series near 0 (no cancellation)."""
    x = mp.sqrt(u)
    if x < mp.mpf("1e-4"):
        return mp.mpf(1) / 3 - 2 * u / 15 + 17 * u * u / 315
    return (x - mp.tanh(x)) / x**3


def main():
    coef, worst = _fit_fixed(
        target, lambda u: mp.mpf(1) / 3, lambda u, j: u ** (j + 1), mp.mpf(0), mp.mpf("0.64"), 14, iters=20, npts=800
    )
    print(f"_TANHSHRINK_Q64 = ({', '.join(repr(float(c)) for c in coef)})  # rel err {mp.nstr(worst, 3)}")


if __name__ == "__main__":
    main()
