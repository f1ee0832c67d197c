"""Fit the near-root polynomials of the derivatives in ``fastact/kernels/gated.py``.

silu', gelu' and gelu_tanh' cross zero once, at a negative x0.  Near x0 their
textbook forms cancel (silu'(x) = e (1 + e - |x|) / (1 + e)^2 with e = exp(-|x|):
1 - |x| + e -> 0), so a result within 2 ULP needs far more than working precision
in the terms.  Instead, on x0 + [-w, w] the kernels evaluate

    f'(x) = t * P(t),   t = (x - x0_hi) - x0_lo,

where x - x0_hi is exact (Sterbenz) and P is a polynomial fitted here in 60-digit
arithmetic: least squares on Chebyshev nodes followed by a discrete Remez exchange
on the relative error of t * P(t) (P does not vanish on the interval).  The printed
error is that of the exact coefficients; the tests measure the rounded ones.

Run: ``python tools/fit_roots.py`` (needs mpmath).
"""

from __future__ import annotations

import sys

import mpmath as mp

mp.mp.dps = 60
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from fit_poly import _fit_fixed  # noqa: E402


def silu_grad(x):
    s = 1 / (1 + mp.exp(-x))
    return s * (1 + x * (1 - s))


def gelu_grad(x):
    return mp.ncdf(x) + x * mp.npdf(x)


_C = mp.sqrt(2 / mp.pi)


def gelu_tanh_grad(x):
    u = _C * (x + mp.mpf("0.044715") * x**3)
    th = mp.tanh(u)
    return (1 + th) / 2 + x / 2 * (1 - th**2) * _C * (1 + 3 * mp.mpf("0.044715") * x**2)


#: name -> (derivative, starting guess of the root, half width w, degrees (f32, f64));
#: gelu's float32 fit is not used (float32 gelu' is fastact/_gelu32.py, whose root
#: polynomial in the exact x - x0_hi comes from tools/fit_gelu32.py)
FITS = {
    "silu": (silu_grad, -1.28, 0.125, (5, 11)),
    "gelu": (gelu_grad, -0.75, 0.25, (7, 14)),
    "gelu_tanh": (gelu_tanh_grad, -0.75, 0.125, (5, 11)),
}


def split(v, bits):
    """v as hi + lo, hi rounded to ``bits`` significant bits, lo to 53."""
    with mp.workprec(bits):
        hi = +v
    return hi, v - hi


def fit(name):
    f, guess, w, degrees = FITS[name]
    x0 = mp.findroot(f, guess)
    out = {"x0": x0}
    for dtype, bits, deg in zip(("float32", "float64"), (24, 53), degrees, strict=True):
        hi, lo = split(x0, bits)
        with mp.workprec(bits):
            lo_r = +lo
        # t is formed as (x - hi) - lo with lo rounded: fit around hi + lo_r
        root = hi + lo_r

        def target(t, root=root):
            return f(root + t) / t if t != 0 else mp.diff(f, root)

        # relative fit of P(t) ~ target(t) on [-w, w], monomial basis t^j
        coef, err = _fit_fixed(target, lambda t: 0, lambda t, j: t**j, -mp.mpf(w), mp.mpf(w), deg + 1)
        out[dtype] = (hi, lo_r, coef, err)
    return out


def main():
    for name in FITS:
        res = fit(name)
        print(f"# {name}: root of the derivative x0 = {mp.nstr(res['x0'], 40)}")
        for dtype in ("float32", "float64"):
            hi, lo, coef, err = res[dtype]
            tag = name.upper() + ("32" if dtype == "float32" else "64")
            print(f"# {dtype}: degree {len(coef) - 1}, relative error {mp.nstr(err, 3)}")
            print(f"_ROOT_{tag} = ({float(hi)!r}, {float(lo)!r})")
            # P(0) as a double word: t * P(0) is the leading term, formed with one rounding
            c0_hi = float(coef[0])
            c0_lo = (
                float(coef[0] - c0_hi) if dtype == "float64" else float(coef[0] - float(mp.mpf(float(mp.mpf(c0_hi)))))
            )
            print(f"_P_{tag} = (" + ", ".join(repr(float(c)) for c in coef) + ")")
            print(f"_P0_LO_{tag} = {c0_lo!r}")


if __name__ == "__main__":
    main()
