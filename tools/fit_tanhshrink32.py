"""Fit the piecewise tables of ``fastact/_tanhshrink32.py`` (float32 tanhshrink and
its derivative tanh^2).

With a = |x|, both are written as B(a) G(a), with a factor B formed exactly in the
kernel (a^2: a product and its FMA residual) and G tabulated on 29 intervals of a:

    tanhshrink(a) = a^2 G(a),  G = (a - tanh a) / a^2    for a < 2 (~ a/3 near 0)
                  = a   G(a),  G = 1 - tanh(a) / a       for a >= 2
    tanh(a)^2     = a^2 G(a),  G = (tanh(a) / a)^2       for a < 2 (1 at 0)
                  =     G(a),  G = tanh(a)^2             for a >= 2

The intervals are [0, 1/8) and then four per binade of a from 1/8 to 16 (index:
the exponent and the top two mantissa bits of a, read from its bit pattern), so
that across one interval G changes by at most ~20%.  (Without the switch at 2,
G would behave like 1/a or 1/a^2 far out, whose pole at 0 is close enough to the
intervals of the upper binades to cost the polynomials 3-4 bits there.)  On interval k >= 1 the
polynomial variable is t = a - m with m the interval's midpoint (exact), on
interval 0 it is t = a.  Per interval

    G(m + t) = c0_hi + c0_lo + t (c1_hi + c1_lo + t (c2 + t (c3 + t (c4 + t c5))))

(degree 5: relative error 2^-25.8 and 2^-25.1; degree 6 reached 2^-30.2 and
2^-29.2, but each table lookup costs the kernel about 4%), with c0_hi, c1_hi and
c2 .. c5 float32, and the corrections c0_lo and c1_lo rounded to
bfloat16 (8 significant bits: they are below 2^-24 of c0 and c1, so that costs
less than 2^-32) and packed into one float32, c0_lo in the high half: one table
lookup for both.  c0 = G(m) to ~2^-32; the rest is a least-squares fit of the
relative error on Chebyshev nodes against 30-digit mpmath values, the coefficients
rounded one at a time from c1 up and the higher ones refitted after each rounding.
On interval 0, tanhshrink's G has c0 = 0 (G(0) = 0) and tanh^2's c1 = 0 (G is even), which keeps
t c1 and its residual out of the underflow range for tiny a (or zero).

Run: ``python tools/fit_tanhshrink32.py`` (needs mpmath); paste its output into
``fastact/_tanhshrink32.py``.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 30

DEGREE = 5
NODES = 300
INTERVALS = 29
#: interval index of a = (bits(a) >> 21) - K0 (at least 0): 1 at a = 1/8
K0 = (int(np.float32(0.125).view(np.int32)) >> 21) - 1
#: the first interval of the a >= 2 forms
K_HIGH = (int(np.float32(2.0).view(np.int32)) >> 21) - K0
#: where the kernels stop using the table: the last interval, [14, 16), is fitted
#: up to 16 (both kernels take x - sign(x) or 1 from 16 on)
FORWARD_END = 16.0
GRAD_END = 16.0


def _f32(v) -> float:
    return float(np.float32(float(v)))


def _bf16(v) -> float:
    """v rounded to bfloat16 (8 significant bits), nearest-even on the float32 bits."""
    b = int(np.float32(_f32(v)).view(np.uint32))
    b = (b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000
    return float(np.uint32(b).view(np.float32))


#: c0_lo where c0 is 0 (tanhshrink's interval 0).  A zero high half would leave the
#: packed float subnormal (c1_lo's bits alone), and Intel cores take a microcode
#: assist for every vector instruction with a subnormal operand: on interval 0 the
#: forward kernel ran 8x its time elsewhere (Rocket Lake, 2.69 against 0.33 ns per
#: value).  2^-120 is normal, and below 2^-54 of G wherever the kernel evaluates it
#: (G ~ t/3 >= 2^-65.6, t >= 2^-64); the kernel adds it in one FMA (w), where it
#: changes nothing else.
ZERO_LO_STAND_IN = 2.0**-120


def pack(hi: float, lo: float) -> float:
    """The float32 whose high 16 bits are bfloat16 ``hi`` and low 16 bits bfloat16
    ``lo`` (``ZERO_LO_STAND_IN`` for a zero ``hi`` beside a nonzero ``lo``, so that
    the packed float is normal or 0)."""
    hi = ZERO_LO_STAND_IN if hi == 0 and lo != 0 else hi
    b = int(np.float32(hi).view(np.uint32)) | (int(np.float32(lo).view(np.uint32)) >> 16)
    return float(np.uint32(b).view(np.float32))


def unpack_low(packed: float) -> float:
    """The bfloat16 in the low 16 bits of the float32 ``packed`` (:func:`pack`'s
    ``lo``), as the kernels read it (``fastact._core.bfloat16_low``)."""
    b = (int(np.float32(packed).view(np.uint32)) << 16) & 0xFFFFFFFF
    return float(np.uint32(b).view(np.float32))


def interval(k: int) -> tuple[float, float, float]:
    """(low end, high end, centre) of interval k."""
    if k == 0:
        return 0.0, 0.125, 0.0
    lo_bits = (k + K0) << 21
    lo = float(np.int32(lo_bits).view(np.float32))
    hi = float(np.int32(lo_bits + (1 << 21)).view(np.float32))
    mid = float(np.int32(lo_bits | (1 << 20)).view(np.float32))
    return lo, hi, mid


def forward_g(a, high: bool):
    """(a - tanh a) / a^2, or 1 - tanh(a) / a for the high intervals."""
    a = mp.mpf(a)
    if high:
        return 1 - mp.tanh(a) / a
    if a == 0:
        return mp.mpf(0)
    with mp.extraprec(int(3 * abs(mp.log(a, 2))) + 20):
        return (a - mp.tanh(a)) / a**2


def grad_g(a, high: bool):
    """(tanh(a) / a)^2, or tanh(a)^2 for the high intervals."""
    a = mp.mpf(a)
    if high:
        return mp.tanh(a) ** 2
    if a == 0:
        return mp.mpf(1)
    return (mp.tanh(a) / a) ** 2


def fit_interval(func, k: int, end: float):
    lo, hi, mid = interval(k)
    hi = min(hi, end)
    i = np.arange(NODES)
    a = lo + (hi - lo) * (1 - np.cos(np.pi * (i + 0.5) / NODES)) / 2
    a = np.concatenate([[lo, hi], a])
    a = a[a > 0]
    t = a - mid
    high = k >= K_HIGH
    exact = [func(v, high) for v in a]
    f = np.array([float(e) for e in exact])
    c0 = func(mid, high)
    c0_hi = _f32(c0)
    c0_lo = _bf16(c0 - mp.mpf(c0_hi))
    target = np.array([float((e - mp.mpf(c0_hi) - mp.mpf(c0_lo)) / e) for e in exact])
    basis = np.vander(t, DEGREE + 1, increasing=True)[:, 1:] / f[:, None]
    coef = []
    for j in range(DEGREE):
        if k == 0 and j == 0 and c0 != 0:  # an even G: c1 = 0
            parts = [0.0, 0.0]
        else:
            c = np.linalg.lstsq(basis[:, j:], target, rcond=None)[0][0]
            parts = [_f32(c)]
            if j == 0:  # c1 as a double word
                parts.append(_bf16(c - parts[0]))
        target = target - sum(parts) * basis[:, j]
        coef.extend(parts)
    c1_hi, c1_lo, *rest = coef
    return [c0_hi, pack(c0_lo, c1_lo), c1_hi] + rest, float(np.abs(target).max())


def tables(func, end: float):
    rows, errors = zip(*(fit_interval(func, k, end) for k in range(INTERVALS)), strict=True)
    return [list(col) for col in zip(*rows, strict=True)], max(errors)


def show(prefix: str, columns, err: float, what: str):
    print(f"# {what}: {INTERVALS} intervals, degree {DEGREE}, relative error 2^{np.log2(err):.1f}")
    names = ["C0_HI", "LO_PACKED", "C1_HI"] + [f"C{i}" for i in range(2, DEGREE + 1)]
    for name, values in zip(names, columns, strict=True):
        print(f"{prefix}_{name} = _table(")
        for i in range(0, len(values), 4):
            print("    " + ", ".join(repr(v) for v in values[i : i + 4]) + ",")
        print(")")


def main():
    print(f"# K0 = {K0}, K_HIGH = {K_HIGH}")
    show("_FWD", *tables(forward_g, FORWARD_END), "(a - tanh a) / a^2 (a < 2), 1 - tanh(a) / a (a >= 2)")
    show("_GRAD", *tables(grad_g, GRAD_END), "(tanh(a) / a)^2 (a < 2), tanh(a)^2 (a >= 2)")


if __name__ == "__main__":
    main()
