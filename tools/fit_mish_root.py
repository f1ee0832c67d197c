"""Taylor coefficients of mish' around its zero, for ``fastact/kernels/softplus.py``
(float64, and the generic float32 kernel) and ``fastact/_mish32.py`` (float32).

mish'(x) = tanh(sp) + x sech(sp)**2 sigmoid(x), sp = log1p(exp(x)), vanishes at
x0 = -1.19237...; there its rational form (N D + 4 x e (1 + e)) / D**2 cancels, and
the kernel switches to mish'(x0 + d) = sum c_j d**j for |d| < 2**-6, with d = x - x0
formed exactly (x0 as a double word).  The nearest singularities of mish' are at
distance ~2.8 (sp = i pi/2), so the terms beyond the last printed one are below
(2**-6 / 2.8)**(n + 1) relative: n = 5 (float32) and 9 (float64) leave < 2**-36 / 2**-60.
``_mish32`` takes the window |d| <= 2**-3 with n = 7 (< 2**-29 relative there),
and the float32 value of mish' at x0's float32 high part itself, where the
polynomial's constant -x0_lo c1 would be rounded twice.

Run: ``python tools/fit_mish_root.py`` (needs mpmath); prints Python literals.
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 60


def mish_grad(x):
    sp = mp.log1p(mp.exp(x))
    return mp.tanh(sp) + x * mp.sech(sp) ** 2 / (1 + mp.exp(-x))


def double_word(v, bits):
    """v as hi + lo, hi rounded to ``bits`` bits of mantissa, lo the rest rounded too."""
    with mp.workprec(bits):
        hi = +v
    with mp.workprec(bits):
        lo = +(v - hi)
    return float(hi), float(lo)


def main():
    x0 = mp.findroot(mish_grad, -1.19)
    coef = mp.taylor(mish_grad, x0, 10)
    print("x0 =", mp.nstr(x0, 30), " residual", mp.nstr(mish_grad(x0), 5))
    for name, bits, n in (("32", 24, 5), ("64", 53, 9)):
        print(f"_MISH_X0_{name} = {double_word(x0, bits)!r}")
        print(f"_MISH_C1_{name} = {double_word(coef[1], bits)!r}")
        print(f"_MISH_ROOT_{name} = ({', '.join(repr(float(c)) for c in coef[2 : n + 1])})")
    print(f"MISH_TAYLOR (_mish32, both dtypes) = ({', '.join(repr(float(c)) for c in coef[2:10])})")
    x0_hi = mp.mpf(double_word(x0, 24)[0])
    value = mish_grad(x0_hi)  # at 60 digits, then rounded to float32
    with mp.workprec(24):
        at_hi = +value
    print(f"_AT_X0_HI (_mish32) = {float(at_hi)!r}")


if __name__ == "__main__":
    main()
