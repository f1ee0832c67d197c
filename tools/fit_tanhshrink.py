"""The rational function of the float64 tanhshrink in ``fastact/kernels/smooth.py``
(float32 has its own tables: ``tools/fit_tanhshrink32.py``).

x - tanh(x) cancels catastrophically near 0 (x - tanh x = x**3/3 - 2x**5/15 + ...),
so for |x| < 1 the kernel evaluates x**3 E(u) / D(u), u = x**2, with no
difference of nearly equal numbers anywhere.  E / D comes from Lambert's
continued fraction

    tanh x = x / (1 + u / (3 + u / (5 + u / (7 + ...))))

truncated after the term 2k + 1: that is tanh x = x N(u) / D(u) with polynomials
N and D of exact rational coefficients (a Pade approximant), so

    x - tanh x = x (D(u) - N(u)) / D(u) = x**3 E(u) / D(u),  E = (D - N) / u,

where D - N is divisible by u exactly (the constant terms agree), computed here
in rational arithmetic before anything is rounded.  Every coefficient of E and D
is positive, so neither polynomial cancels at u >= 0.  k = 9 gives E of degree 4
and D of degree 5 (9 multiply-adds) with a relative error of 2**-62 on [0, 1]
(k = 8: 2**-53.5, too little; on [0, 1.25] k = 9 gives 2**-56.7, which is why
the split stays at 1).  Rounded to float64 the coefficients add 2**-55.6 (0.2-0.3
ULP of the result near x = 1); with the first coefficients of E1 and D1 (7/285
and 9/19) as double words, which costs the kernel one multiply-add, 2**-60.4.
A minimax polynomial in u of the same accuracy took 15 coefficients on [0, 1]
(the nearest singularity of tanh, u = -(pi/2)**2, limits polynomials; a
rational function places poles of its own).

Run: ``python tools/fit_tanhshrink.py [k]`` (needs mpmath); prints the
coefficients as Python literals and the relative error of the rounded ones.
"""

from __future__ import annotations

import sys
from fractions import Fraction

import mpmath as mp

mp.mp.dps = 60


def convergent(k: int) -> tuple[list[Fraction], list[Fraction]]:
    """(N, D), coefficients from u**0 up, with tanh x ~ x N(u) / D(u): the continued
    fraction evaluated from its last term 2k + 1 back to 1."""
    num, den = [Fraction(2 * k + 1)], [Fraction(1)]  # the tail t_k = (2k + 1) / 1
    for j in range(k - 1, -1, -1):
        # t_j = (2j + 1) + u / t_{j+1} = ((2j + 1) num + u den) / num
        new = [(2 * j + 1) * c for c in num] + [Fraction(0)]
        for i, c in enumerate(den):
            new[i + 1] += c
        while len(new) > 1 and new[-1] == 0:
            new.pop()
        num, den = new, num
    # tanh x = x / t_0 = x den / num
    return den, num


def shrink_coefficients(k: int) -> tuple[list[Fraction], list[Fraction]]:
    """(E, D) normalised to D(0) = 1, with x - tanh x ~ x**3 E(u) / D(u)."""
    n, d = convergent(k)
    diff = [c - (n[i] if i < len(n) else 0) for i, c in enumerate(d)]
    assert diff[0] == 0, "the constant terms of N and D agree"
    scale = d[0]
    return [c / scale for c in diff[1:]], [c / scale for c in d]


def _value(coef, u):
    s = mp.mpf(0)
    for c in reversed(coef):
        s = s * u + c
    return s


def relative_error(e, d, hi, npts=2000) -> mp.mpf:
    """max |x**3 E / D / (x - tanh x) - 1| over (0, hi] (E, D as given: exact or
    rounded to float64)."""
    worst = mp.mpf(0)
    for i in range(1, npts + 1):
        x = mp.mpf(hi) * i / npts
        u = x * x
        exact = x - mp.tanh(x) if x > mp.mpf("1e-6") else x**3 / 3 - 2 * x**5 / 15
        worst = max(worst, abs(x**3 * _value(e, u) / _value(d, u) / exact - 1))
    return worst


def main():
    k = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    e, d = shrink_coefficients(k)
    assert all(c > 0 for c in e + d), "positive coefficients: no cancellation at u >= 0"
    exact = relative_error([mp.mpf(c.numerator) / c.denominator for c in e],
                           [mp.mpf(c.numerator) / c.denominator for c in d], 1)
    e64, d64 = [float(c) for c in e], [float(c) for c in d]
    # the kernel keeps E(0) = 1/3 and the u^1 coefficients of E and D as double
    # words (the last two adds of each Horner scheme); the rest rounded once
    lo = [float(c - Fraction(float(c))) for c in (e[1], d[1])]
    rounded = relative_error([mp.mpf(1) / 3, mp.mpf(e64[1]) + lo[0]] + [mp.mpf(c) for c in e64[2:]],
                             [mp.mpf(1), mp.mpf(d64[1]) + lo[1]] + [mp.mpf(c) for c in d64[2:]], 1)
    print(f"# k = {k}: E = {' + '.join(f'({c})u^{i}' for i, c in enumerate(e))}")
    print(f"#        D = {' + '.join(f'({c})u^{i}' for i, c in enumerate(d))}")
    print(f"# relative error on [0, 1]: 2^{float(mp.log(exact, 2)):.1f} exact, "
          f"2^{float(mp.log(rounded, 2)):.1f} with the float64 coefficients")
    print(f"_TS_E64 = ({', '.join(repr(c) for c in e64[1:])})  # E(u) = 1/3 + u (...)")
    print(f"_TS_D64 = ({', '.join(repr(c) for c in d64[1:])})  # D(u) = 1 + u (...)")
    print(f"_TS_E1_LO, _TS_D1_LO = {lo[0]!r}, {lo[1]!r}  # the low parts of their first coefficients")


if __name__ == "__main__":
    main()
