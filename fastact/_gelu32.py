"""float32 gelu and gelu' within 1 ULP (0.710 and 0.972 over every float32) in
float32 arithmetic: the table exp of ``_sigmoid32``, a piecewise polynomial for the
scaled Mills ratio, and AVX-512 block kernels.

With a = |x| and Phi the standard normal distribution function,

    Phi(-a) = exp(-a^2/2) F(a),   F(a) = Phi(-a) exp(a^2/2) = R(a) / sqrt(2 pi)

(R: Mills' ratio; F falls smoothly from 1/2 at a = 0 to ~1/(a sqrt(2 pi))).  Both
factors carry more than float32's precision:

- exp(-a^2/2) = 2^k t_hi (1 + q) from the table exp of ``_sigmoid32`` with the
  -1/2 folded into the constants, its reduced argument formed from the exact
  a^2 inside an FMA, fma(a, a, kf 2 ln2_hi) (:func:`exp_neg_half_square_parts32`):
  the exponent's absolute error becomes the result's relative error, and a
  rounded -a^2/2 would be off by up to 2^-18.
- F piecewise, a polynomial in an exact t per interval, each coefficient a
  32-entry table, one ``vpermi2ps`` (``tools/fit_gelu32.py``).  In two forms:
  gelu's (:func:`mills_centred32`) on 32 intervals of a + 1's binades (a + 1
  in 2^e [1 + m/8, 1 + (m + 1)/8), the index a + 1's bits 20-24: an add and a
  shift; widths 1/8 below a = 1, then 1/4, 1/2 and 1, to a = 15), degree 5,
  expanded about a centre c near each middle where F(c) is within ~2^-10 of
  its ULP of a float32 c0, and F = c0 + t w kept unevaluated (2^-27.4 of F at
  worst, measured: the fit's 2^-28.5 and w's rounding, t w at most 7% of F);
  t w is never rounded by itself.  The derivative's
  (:func:`mills_minus_density32`) on 29 intervals of a, [0, 1/4] and j/2 +
  [-1/4, 1/4] (j = 1..28, to a = 14.25), degree 6, j from one FMA (2a rounded
  to an integer in the low mantissa bits; one add in the block kernels), is H
  = F - a/sqrt(2 pi) itself, which cancels by up to 9 outside its root window:
  F's polynomials with c0 and c1 shifted exactly (the linear term is all they
  differ by), t = a - j/2, c0 and c1 double words (their low parts bfloat16
  in one float32: eight tables, which AVX2 reads by row) and c0 + t c1 formed
  exactly (2^-28.3 of F).  (Until 2026-12-06 gelu's F took the derivative's grid too,
  at degree 6 and 2^-26.3.)

For gelu, Phi(-a) = 2^k t_hi (c0 + g) (:func:`normal_tail_parts32`), and

    x < 0:   gelu(x) = -a Phi(-a)       = a (d + d_lo) 2^k,  d = -t_hi c0 rounded
    x >= 0:  gelu(x) = a (1 - Phi(-a))  = a (d + d_lo),  d = 1 - 2^k t_hi c0 rounded

each rounded once at the end, the low parts gathering the products' residuals
and g = t w + q F (q: exp's polynomial, with the table's low part as a ratio);
2^k is applied to the negative side's result on its bit pattern (exact, flushed
to +0 below the smallest normal, like every fastact kernel: gelu(x) = -0 never
comes from the tail) and to the positive side's t_hi before the subtraction from
1 (1 - d exact).  No division anywhere.  (Until 2026-12-05 F and Phi(-a) were
rounded to double words first, and exp's table low part and -a^2/2 formed
apart, and 2^k and 2^-k applied by ``vscalefps``: the short path's loop took
36 FMA-pipe operations per 16 values where it takes 25 and an integer shift,
and 1.2x its time, at 0.678 ULP.)

The derivative gelu'(x) = Phi(x) + x phi(x) is 2^k E H for x < 0 (E = t_hi (1 +
q), H = F - a/sqrt(2 pi) a double word from its own tables) and 1 minus
that for x >= 0; within 1/16 of its root x0 = -0.7518, where H cancels, a
polynomial in the exact x - x0_hi takes over (in the block kernels only for
blocks with a lane there).  (H used to be F minus the double word a/sqrt(2 pi) by
a TwoSum: three FMA-pipe operations and seven adds more, 14% of the time of gelu'.)

On the short path (every |x| in [2^-30, 12.5]) both kernels take the two signs by
one formula in the scale 2^-k, 2^k applied last on the bit pattern by integer
operations (:func:`_emit_gelu_short_sides`,
:func:`_emit_gelu_grad_short_sides`): the same bits as the general path's two
sides and their select, with half their FMA-pipe operations.

The float64 evaluation this replaces (``kernels.gated``, a rational in float64 with
one division: 0.512 and 0.577 ULP) took 8 lanes per vector and 2-3x PyTorch's
time; this takes about half of that.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.extending import intrinsic

from ._avx512 import F16, I16, backward_block_intrinsic, block_intrinsic, splat_f, splat_i
from ._core import JIT_OPTIONS, _select, bfloat16_low, float_bits, float_from_bits, fma
from ._sigmoid32 import (
    _C2,
    _C3,
    _INV_LN2,
    _LN2_HI,
    _LN2_LO,
    _MIN_NORMAL_BITS,
    _SHIFT,
    _SHIFT_BITS,
    _T_HI,
    _T_LO,
    _TINY_BITS,
)

__all__ = [
    "gelu32", "gelu32_block16", "gelu_grad32", "gelu_grad32_block16", "gelu_backward32_block16",
    "normal_tail_parts32", "mills_minus_density32",
]

_F = np.float32
_SIGN = np.int32(-(2**31))
_ABS = np.int32(0x7FFFFFFF)
_INF_BITS = 0x7F800000
_ONE_EXPONENT = 1 << 23
# Rounding 2a to an integer j by adding 1.5 * 2^23 (j then sits in the low mantissa bits)
_ROUND_SHIFT = _F(12582912.0)
_ROUND_SHIFT_BITS = int(_ROUND_SHIFT.view(np.int32))
# ... or, in the block kernels, a + 1.5 * 2^22: round(a) to halves, whose low
# mantissa bits hold the same j (_emit_interval)
_HALF_ROUND_SHIFT = _F(6291456.0)
# |x| is clamped to [2^-30, 14]: below, gelu(x) rounds to x/2 (x^2/sqrt(2 pi) is
# below 2^-30 of it); above, to x (x >= 0) or 0 (Phi(-14) 14 = 1e-43), and inf or
# NaN get a finite stand-in there.
_LIMIT_BITS = int(_F(14.0).view(np.int32))
# Blocks whose |x| all lie in [2^-30, 12.5] take the short path: no clamp, no
# select for NaN, tiny or large x, nothing to flush (Phi(-12.5) 12.5 = 5e-35) and
# no floor on k: k >= -113, so 2^k p is normal, and from k < -40 on it vanishes in
# 1 - 2^k p just as with the floored scale.
_FAST_HI_BITS = int(_F(12.5).view(np.int32))
# Blocks whose |x| all lie beyond 14 (saturated inputs, no NaN) take the general
# path's results there, which it computes at the clamp: x itself for x > 14 and the
# flushed +0 for x < -14 (gelu), 1 and +0 (gelu'); no arithmetic at all.  Blocks
# whose |x| all lie in [2^-30, inf] (wide inputs, N(0, 10^2): 98% of their blocks
# hold an |x| past 12.5) take the general path without its tiny-x and NaN selects.
# 2^max(k, -40) scales p in 1 - 2^k p: below 2^-40, 2^k p vanishes in 1 - it (and
# in a (1 - it)) whichever scale it gets, and 2^-126 p would underflow (a flag)
_K_FLOOR = -40

# exp(-a^2/2) with the -1/2 folded into the constants of _sigmoid32's table exp
# (every scaling by a power of 2 exact): the same n, kf and reduced argument as
# from -a^2/2, carried as z = -2r, and expm1(r) = r + c2 r^2 + c3 r^3 = z (-1/2 +
# z (c2/4 - z c3/8)).  One multiply fewer than forming -a^2/2 first.  z = a^2 +
# kf 2 ln2_hi + kf 2 ln2_lo takes the exact a^2 inside an FMA with the exact
# product kf 2 ln2_hi (12 significant bits each), two roundings as before, where
# until 2026-12-05 a^2 was the double word aa + aa_lo (its FMA residual), added
# last: one operation fewer.
_NEG_HALF_INV_LN2 = _F(-0.5) * _INV_LN2
_TWO_LN2_HI = _F(2) * _LN2_HI
_TWO_LN2_LO = _F(2) * _LN2_LO
_Z_C2 = _C2 * _F(0.25)
_Z_C3 = _C3 * _F(-0.125)
# 2^(j/16) = _T_HI[j] (1 + _T_RATIO[j]): the table's low part as a ratio, the
# constant term of the expm1 polynomial (exp(y) = 2^k t_hi (1 + q), q = expm1(r)
# + _T_RATIO[j], dropping q's product with the ratio, below 2^-29 of it)
_T_RATIO = (_T_LO.astype(np.float64) / _T_HI.astype(np.float64)).astype(np.float32)


# gelu'(x) near its root x0 = -0.7517915, within 1/16 of it: a polynomial in the
# exact dx = x - _ROOT_HI (Sterbenz), r0 + dx (r1 + dx (r2 + ...)) with r0 = gelu'
# at _ROOT_HI (tiny) and r1, r2 as double words (tools/fit_gelu32.py, relative
# error 2.1e-10).  Its evaluation is exact up to the last two roundings but for the
# terms from dx^3 on (below 1.5% of the result): dx r1_hi goes into the final FMA
# and dx^2 r2_hi is formed as a product with its residual.  Outside the window
# F - a/sqrt(2 pi) cancels by at most a factor 9.2 (where F is within 2^-27.4):
# 0.972 ULP at worst over every float32 input (at -0.6835).  The fit covers
# 1/4 on either side, the window it was first used on (0.636 ULP at worst, at
# -0.5206), but there the polynomial took 55% of the blocks of N(0, 4^2) inputs
# and gelu' 1.19x the time it takes with 1/16 (18% of the blocks); at 1/32 the
# cancellation reaches 2.1 ULP.
_ROOT_HI = _F(-0.7517915368080139)  # x0 - _ROOT_HI = 1.2114449e-08
_R0 = _F(-5.227311916655708e-09)
_R1_HI, _R1_LO = _F(0.43149399757385254), _F(-1.4581179819117551e-08)
_R2_HI, _R2_LO = _F(0.38828498125076294), _F(1.747270328422701e-09)
_R = (
    _F(-0.01819971576333046), _F(-0.11400814354419708), _F(-0.01476792898029089), _F(0.01941833272576332),
    _F(0.004446991253644228), _F(-0.0021942087914794683),
)  # r3 .. r8; fmt: skip
_ROOT_WINDOW_BITS = int(_F(1 / 16).view(np.int32))


def _table(*values):
    return np.array(values + (0.0,) * (32 - len(values)), dtype=np.float32)


# The derivative's tables, printed by tools/fit_gelu32.py: F(a) on the intervals
# j/2 + [-1/4, 1/4] (29 intervals, degree 6, c0 and c1 as double words, relative
# error 2^-28.3), with c0 and c1 those of H = F - a/sqrt(2 pi), shifted exactly
# by -(j/2)/sqrt(2 pi) and -1/sqrt(2 pi) (the rest are F's).  The two low parts
# are bfloat16 (2^-33 of their coefficient) and share one float32, _H_LO_PACKED:
# c0_lo is the float itself, c1_lo its low 16 bits shifted up; on interval 0,
# where c0 = 1/2 exactly, c0_lo is 2^-120, so that the float is normal (an Intel
# core takes a microcode assist on a subnormal operand).  Eight tables, not nine:
# AVX2 reads eight by row in two groups of four, where the ninth took four
# permutes and three blends per 8 lanes of its own (Lanes.tables32).
_H_C0_HI = _table(
    0.5, 0.1501476913690567, -0.1373639851808548, -0.39263275265693665,
    -0.6297825574874878, -0.8560243844985962, -1.075312852859497, -1.2899528741836548,
    -1.5013585090637207, -1.7104368209838867, -1.9177920818328857, -2.123839855194092,
    -2.328874349594116, -2.533109188079834, -2.7367024421691895, -2.9397740364074707,
    -3.142415761947632, -3.3446993827819824, -3.5466816425323486, -3.748408317565918,
    -3.949916124343872, -4.151235103607178, -4.352390289306641, -4.553401947021484,
    -4.754288196563721, -4.955063343048096, -5.155740261077881, -5.356328964233398,
    -5.556839466094971,
)
_H_C1_HI = _table(
    -0.7978845834732056, -0.6230751872062683, -0.5363062620162964, -0.4892135560512543,
    -0.4616805613040924, -0.44455623626708984, -0.43334272503852844, -0.42567652463912964,
    -0.42024198174476624, -0.41626930236816406, -0.41328802704811096, -0.41099974513053894,
    -0.4092086851596832, -0.4077826738357544, -0.40663018822669983, -0.40568631887435913,
    -0.40490418672561646, -0.4042491912841797, -0.4036954641342163, -0.40322330594062805,
    -0.40281760692596436, -0.4024665355682373, -0.40216076374053955, -0.40189290046691895,
    -0.4016568958759308, -0.40144798159599304, -0.40126216411590576, -0.4010961949825287,
    -0.40094730257987976,
)
_H_LO_PACKED = _table(
    7.534866593205664e-37, 3.1606390837879417e-09, -3.371639412108607e-09, -9.727597616304706e-10,
    -2.098262452676636e-09, 1.4923646318720785e-08, -4.009244847225091e-08, 4.637767503368195e-08,
    2.8835726695319863e-08, -4.870690517577714e-08, -1.5331396596707236e-08, 7.01956937021464e-09,
    -1.853286057951209e-08, 4.0790148148062144e-08, -3.822934147024171e-08, 3.0663077410508777e-08,
    6.504994587430701e-08, 4.253651653129964e-08, -9.22907048561683e-08, -5.790429469243463e-08,
    1.4476055021361844e-08, 1.824177253695325e-08, 9.485348329008048e-08, -2.190441676930277e-07,
    -1.9808905449281156e-07, -2.3720401998161833e-07, 3.0429923469910136e-08, -8.949837138061412e-08,
    2.0181406057417917e-07,
)
_F_C2 = _table(
    0.2499995231628418, 0.11877619475126266, 0.0621071495115757, 0.03518687188625336,
    0.02131272293627262, 0.01364822592586279, 0.009156321175396442, 0.006387651897966862,
    0.00460589025169611, 0.003415910294279456, 0.0025952637661248446, 0.0020133231300860643,
    0.001590473810210824, 0.0012765680439770222, 0.0010390796232968569, 0.00085635349387303,
    0.0007136302883736789, 0.0006006361218169332, 0.0005100818816572428, 0.00043670597369782627,
    0.00037665010313503444, 0.0003270441375207156, 0.0002857246727216989, 0.00025104128872044384,
    0.0002217206929344684, 0.00019677041564136744, 0.000175409484654665, 0.00015701784286648035,
    0.00014109913900028914,
)
_F_C3 = _table(
    -0.13296853005886078, -0.054911401122808456, -0.02508455514907837, -0.012496639043092728,
    -0.006704150233417749, -0.0038310792297124863, -0.002310469513759017, -0.0014591439394280314,
    -0.0009587135864421725, -0.0006518043810501695, -0.00045647789374925196, -0.0003280615492258221,
    -0.00024118353030644357, -0.00018089936929754913, -0.00013811522512696683, -0.00010713349911384284,
    -8.428938599536195e-05, -6.716899952152744e-05, -5.4147803894011304e-05, -4.4110911403549835e-05,
    -3.6279408959671855e-05, -3.0100143703748472e-05, -2.5174353140755557e-05, -2.1210580598562956e-05,
    -1.7993064830079675e-05, -1.5360183169832453e-05, -1.31895403683302e-05, -1.1387493032088969e-05,
    -9.881717232929077e-06,
)
_F_C4 = _table(
    0.06235416978597641, 0.022829392924904823, 0.00925531331449747, 0.004110369365662336,
    0.001976011088117957, 0.0010175862116739154, 0.0005562097649089992, 0.00032016285695135593,
    0.0001927546109072864, 0.00012069252989022061, 7.821267354302108e-05, 5.2241030061850324e-05,
    3.584202931961045e-05, 2.5177774659823626e-05, 1.8067350538331084e-05, 1.3213319107308052e-05,
    9.829134796746075e-06, 7.4253134698665235e-06, 5.68866562389303e-06, 4.413550868775928e-06,
    3.4644206152734114e-06, 2.7479500204208307e-06, 2.202077439505956e-06, 1.7800350633478956e-06,
    1.4508121921608108e-06, 1.1921227951461333e-06, 9.864934327197261e-07, 8.218122502512415e-07,
    6.885089192110172e-07,
)
_F_C5 = _table(
    -0.025703065097332, -0.00881261844187975, -0.0031998504418879747, -0.0012775053037330508,
    -0.0005545043386518955, -0.0002590208314359188, -0.00012904360482934862, -6.802537973271683e-05,
    -3.768286478589289e-05, -2.1807105440529995e-05, -1.3116012269165367e-05, -8.162990525306668e-06,
    -5.237135610514088e-06, -3.452327746344963e-06, -2.3318893909163307e-06, -1.6099160120575107e-06,
    -1.1336229590597213e-06, -8.125725230456737e-07, -5.920553007854323e-07, -4.378698861273733e-07,
    -3.2825764151311887e-07, -2.491597967946291e-07, -1.9132161810375692e-07, -1.4847962859221298e-07,
    -1.1635943053533992e-07, -9.204172357613061e-08, -7.341088092971404e-08, -5.9022202236747034e-08,
    -4.78032440298648e-08,
)
_F_C6 = _table(
    0.007636008784174919, 0.003105867886915803, 0.0010219537653028965, 0.0003701773239299655,
    0.000146834398037754, 6.272790778893977e-05, 2.8635608032345772e-05, 1.3795532140647992e-05,
    7.114888830983546e-06, 3.849538188660517e-06, 2.1881935481360415e-06, 1.2904322375106858e-06,
    7.554149874522409e-07, 4.901535248791333e-07, 3.031616131465853e-07, 1.8882532515362982e-07,
    1.242711960003362e-07, 8.281771357587786e-08, 5.246220879939756e-08, 3.761212141739634e-08,
    2.610092586508017e-08, 2.4392862840727503e-08, 1.2313462249835538e-08, 1.0777448267162981e-08,
    1.0957990959070685e-08, 6.017037534888914e-09, 4.025401789675698e-09, 2.694371614708757e-09,
    6.0955773761861565e-09,
)


# gelu's F in one word, on 32 intervals of its own: a + 1 (rounded) in 2^e [1 + m/8,
# 1 + (m + 1)/8), indexed by a + 1's bits 20-24 (e's low two bits, m), so widths
# 1/8 on [0, 1), 1/4 on [1, 3), 1/2 on [3, 7) and 1 on [7, 15): narrow where F
# bends most and wide where it is nearly 1/(a sqrt(2 pi)), so that degree 5
# suffices where the derivative's uniform grid needs 6.  F(c + t) = c0 + t (c1 +
# ... + t c5) about a centre c within 2^-11 of the interval's middle (0 on [0,
# 1/8); on a 2^-20 grid, so t = a - c is exact) where F(c) lies within ~2^-10 of
# its ULP of the float32 c0; printed by tools/fit_gelu32.py (relative error
# 2^-28.5; |t F'| is at most 7% of F).
_G_INDEX_SHIFT = 20
_G_CENTRE = _table(
    1.124760627746582, 1.3745479583740234, 1.6245412826538086, 1.8750314712524414,
    2.1249313354492188, 2.3750524520874023, 2.6251001358032227, 2.8752527236938477,
    3.250448226928711, 3.7495126724243164, 4.250178337097168, 4.7501220703125,
    5.249661445617676, 5.750121116638184, 6.249709129333496, 6.7500762939453125,
    7.500197410583496, 8.50047492980957, 9.500443458557129, 10.499581336975098,
    11.499905586242676, 12.500043869018555, 13.500090599060059, 14.500409126281738,
    0.0, 0.1878490447998047, 0.31264495849609375, 0.43732643127441406,
    0.5623598098754883, 0.6871547698974609, 0.8127927780151367, 0.9373979568481445,
)
_G_C0 = _table(
    0.2453608214855194, 0.21768489480018616, 0.19506074488162994, 0.17628873884677887,
    0.16058406233787537, 0.14725148677825928, 0.13583135604858398, 0.12595242261886597,
    0.11343851685523987, 0.10005080699920654, 0.08935590088367462, 0.08067347854375839,
    0.07349267601966858, 0.06744788587093353, 0.06231125444173813, 0.057882003486156464,
    0.05229176580905914, 0.046307522803545, 0.041541390120983124, 0.03766033425927162,
    0.03443433716893196, 0.03171481564640999, 0.029391536489129066, 0.027383459731936455,
    0.5, 0.43307143449783325, 0.3961719572544098, 0.36414647102355957,
    0.3360908627510071, 0.3114978075027466, 0.2896471917629242, 0.27042725682258606,
)
_G_C1 = _table(
    -0.1229700893163681, -0.0997239500284195, -0.08205804973840714, -0.06839534640312195,
    -0.05771217495203018, -0.04921227693557739, -0.042371369898319244, -0.036797232925891876,
    -0.03021625429391861, -0.02380051091313362, -0.019163766875863075, -0.01573340967297554,
    -0.013130612671375275, -0.011108767241239548, -0.009515064768493176, -0.008234340697526932,
    -0.0067437137477099895, -0.005306343547999859, -0.0042806523852050304, -0.0035245376639068127,
    -0.002950653899461031, -0.0025056935846805573, -0.0021538748405873775, -0.0018709109863266349,
    -0.3989422619342804, -0.31759023666381836, -0.2750811278820038, -0.23969140648841858,
    -0.20993828773498535, -0.1848950833082199, -0.16351912915706635, -0.14544431865215302,
)
_G_C2 = _table(
    0.05352437123656273, 0.040304720401763916, 0.030876995995640755, 0.02402263507246971,
    0.01897481642663479, 0.015184869058430195, 0.0123011264950037, 0.010075532831251621,
    0.007611039560288191, 0.00540522625669837, 0.003953229635953903, 0.0029689266812056303,
    0.0022806997876614332, 0.001785561558790505, 0.0014224329497665167, 0.0011497867526486516,
    0.0008562846924178302, 0.000600538041908294, 0.0004366461653262377, 0.0003270812740083784,
    0.00025104699307121336, 0.00019676821830216795, 0.0001570146414451301, 0.00012724228145089,
    0.24999848008155823, 0.18670615553855896, 0.15508458018302917, 0.12966151535511017,
    0.10901495814323425, 0.09222312271595001, 0.07836998999118805, 0.06704402714967728,
)
_G_C3 = _table(
    -0.020922519266605377, -0.014774917624890804, -0.010631936602294445, -0.007784164045006037,
    -0.005797200370579958, -0.0043821996077895164, -0.0033597464207559824, -0.00260943709872663,
    -0.0018256177427247167, -0.0011778651969507337, -0.0007872286951169372, -0.0005435298080556095,
    -0.0003858933923766017, -0.0002805385447572917, -0.00020841637160629034, -0.0001577355869812891,
    -0.0001071248552761972, -6.715713971061632e-05, -4.4102405809098855e-05, -3.010531872860156e-05,
    -2.1212692445260473e-05, -1.5359069948317483e-05, -1.1388609891582746e-05, -8.615137630840763e-06,
    -0.13293610513210297, -0.09416305273771286, -0.07552123814821243, -0.06099343299865723,
    -0.049543388187885284, -0.040501996874809265, -0.033278100192546844, -0.027535509318113327,
)
_G_C4 = _table(
    0.007514948956668377, 0.005009383894503117, 0.003407568670809269, 0.002360876649618149,
    0.0016664514550939202, 0.001195660326629877, 0.0008715168805792928, 0.0006441704463213682,
    0.0004209781181998551, 0.0002481103001628071, 0.00015225858078338206, 9.701042290544137e-05,
    6.386084714904428e-05, 4.3220381485298276e-05, 3.0016126402188092e-05, 2.1307592760422267e-05,
    1.3279332051752135e-05, 7.4537110776873305e-06, 4.427045951160835e-06, 2.7566711651161313e-06,
    1.7841740600488265e-06, 1.194424953609996e-06, 8.230950925280922e-07, 5.816128236801887e-07,
    0.061892069876194, 0.042290955781936646, 0.03289423882961273, 0.02576722949743271,
    0.02030859887599945, 0.016108835116028786, 0.012842262163758278, 0.010312567465007305,
)
_G_C5 = _table(
    -0.0025061601772904396, -0.0015572544652968645, -0.0010411106050014496, -0.0006679694051854312,
    -0.0004583216505125165, -0.0003217842022422701, -0.00022165660629980266, -0.00013992736057844013,
    -9.286181011702865e-05, -4.9843602027976885e-05, -2.889880670409184e-05, -1.6939491615630686e-05,
    -1.0355134691053536e-05, -6.304334419837687e-06, -4.299920419725822e-06, -2.7571677492232993e-06,
    -1.608319962542737e-06, -8.075568302956526e-07, -4.403978550726606e-07, -2.47888749527192e-07,
    -1.4453560481797467e-07, -9.469801653949617e-08, -5.50355672146452e-08, -3.8353267228785626e-08,
    -0.02264297381043434, -0.01899411529302597, -0.01494373008608818, -0.010358098894357681,
    -0.007780835963785648, -0.006956371478736401, -0.0037352084182202816, -0.003018478397279978,
)


@njit(**JIT_OPTIONS)
def mills_minus_density32(a):
    """H(a) = F(a) - a/sqrt(2 pi) = (Phi(-a) - a phi(a)) exp(a^2/2) for a in [0, 14.25]
    as a double word ``(h, h_lo)``, not renormalized (h_lo holds t^2 P2(t), up to a
    sixth of h).  The scalar half of :func:`emit_mills_minus_density32`."""
    w = fma(a, _F(2), _ROUND_SHIFT)  # round(2a) in the low mantissa bits
    j = float_bits(w) - np.int32(_ROUND_SHIFT_BITS)
    t = fma(w - _ROUND_SHIFT, _F(-0.5), a)  # a - j/2, exact
    poly = fma(t, _F_C6[j], _F_C5[j])
    poly = fma(t, poly, _F_C4[j])
    poly = fma(t, poly, _F_C3[j])
    poly = fma(t, poly, _F_C2[j])
    lo = _H_LO_PACKED[j]  # c0_lo, with c1_lo in its low 16 bits
    w = fma(t, poly, bfloat16_low(lo))
    # c0 + t c1 + t (c1_lo + t P2(t)) as a double word: t c1 reaches the size of c0
    # (and H cancels near the root), so it is formed exactly (a product and its FMA
    # residual, a Fast2Sum with c0: c0's exponent is at least t c1's on every
    # interval); the rest is below a sixth of H, where its roundings weigh little
    c0 = _H_C0_HI[j]
    c1 = _H_C1_HI[j]
    u = t * c1
    u_lo = fma(t, c1, -u)
    h = c0 + u
    return h, ((c0 - h) + u) + fma(t, w, u_lo + lo)


@njit(**JIT_OPTIONS)
def mills_centred32(a):
    """F(a) = Phi(-a) exp(a^2/2) for a in [0, 15) as ``(c0, t, poly)``, F = c0 +
    t poly, from the centred tables on the intervals of a + 1's binades: c0 the
    table's value at the interval's centre c, t = a - c exact and poly = c1 + t
    (c2 + ...).  What is left is the fit's 2^-28.5 and poly's roundings, t poly
    being at most 7% of F.  The kernels take the three apart (c0 t_hi is the leading product,
    formed with its residual, and t poly enters the low part in an FMA), so F is
    never rounded.  The scalar half of :func:`emit_mills_centred32`."""
    j = (float_bits(a + _F(1)) >> np.int32(_G_INDEX_SHIFT)) & np.int32(31)
    t = a - _G_CENTRE[j]  # exact
    poly = fma(t, _G_C5[j], _G_C4[j])
    poly = fma(t, poly, _G_C3[j])
    poly = fma(t, poly, _G_C2[j])
    return _G_C0[j], t, fma(t, poly, _G_C1[j])


@njit(**JIT_OPTIONS)
def exp_neg_half_square_parts32(a):
    """exp(-a^2/2) = 2^k t_hi (1 + q) for a in [2^-30, 14], ``(t_hi, q, k)``: the
    table exp of ``_sigmoid32`` (the same n and reduced argument as
    ``exp_table_parts32`` from the exact -a^2/2; t_hi = 2^(j/16) rounded, |q| <
    0.023) with the -1/2 in the constants and the exact a^2 inside an FMA, the
    table's low part in q (``_T_RATIO``).  The scalar half of
    :func:`emit_exp_neg_half_square_parts32`."""
    t = fma(a * a, _NEG_HALF_INV_LN2, _SHIFT)
    kf = t - _SHIFT  # n/16 <= 0
    n = float_bits(t) - np.int32(_SHIFT_BITS)
    # -2r = a^2 + kf 2 ln2_hi + kf 2 ln2_lo: the first sum with the exact a^2 inside
    # an FMA (kf 2 ln2_hi is exact: 12 significant bits each)
    z = fma(kf, _TWO_LN2_LO, fma(a, a, kf * _TWO_LN2_HI))
    j = n & np.int32(15)
    q = fma(z, fma(z, fma(z, _Z_C3, _Z_C2), _F(-0.5)), _T_RATIO[j])  # expm1(r) + the ratio
    return _T_HI[j], q, n >> np.int32(4)


@njit(**JIT_OPTIONS)
def normal_tail_parts32(a):
    """Phi(-a) for a in [2^-30, 14] as ``2^k t_hi (c0 + g)``: ``(t_hi, c0, g, k)``,
    from exp(-a^2/2) = 2^k t_hi (1 + q) (:func:`exp_neg_half_square_parts32`) and
    F = c0 + t poly (:func:`mills_centred32`): (1 + q) F = c0 + g, g = t poly + q f
    with f = F rounded (its rounding weighs |q| < 0.023) and g rounded once (below
    a quarter of c0 + g; t poly is never rounded by itself).  The kernels form

        h - t_hi (c0 + g) = d + d_lo,   d = h - t_hi c0 rounded,
        d_lo = (h - t_hi c0 - d) - t_hi g

    with h = 0 for x < 0 (then d + d_lo = -Phi(-a) / 2^k) and h = 2^-k for x >= 0
    (1 - Phi(-a), over 2^k): h - d is exact (Sterbenz: d >= h/2, since t_hi c0 <
    0.43 h where k < 0 and t_hi = 1, c0 <= 1/2 where k = 0), so the first term of
    d_lo is one FMA's rounding of a residual.  Four FMA-pipe operations from the
    parts to d + d_lo, where rounding F and Phi(-a) first as double words took
    ten."""
    t_hi, q, k = exp_neg_half_square_parts32(a)
    c0, t, poly = mills_centred32(a)
    return t_hi, c0, fma(t, poly, q * fma(t, poly, c0)), k


@njit(**JIT_OPTIONS)
def tail_difference32(h, t_hi, c0, g):
    """h - t_hi (c0 + g) as ``(d, d_lo)``: d rounded, d_lo the rest
    (:func:`normal_tail_parts32`).  The scalar half of
    :func:`emit_tail_difference32`."""
    d = fma(-t_hi, c0, h)
    return d, fma(-t_hi, g, fma(-t_hi, c0, h - d))


@njit(**JIT_OPTIONS)
def gelu32(x):
    """x Phi(x) of a float32 value, within 1 ULP (the scalar twin of
    :func:`gelu32_block16`)."""
    one = _F(1)
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    a = float_from_bits(cb, x)
    t_hi, c0, g, k = normal_tail_parts32(a)
    # x < 0: a (0 - Phi(-a)/2^k) 2^k, 2^k on the bit pattern of its magnitude,
    # flushed to +0 below normal
    d, d_lo = tail_difference32(_F(0), t_hi, c0, g)
    rb = (float_bits(fma(a, d, a * d_lo)) & _ABS) + (k << np.int32(23))
    neg = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb | _SIGN)
    # x >= 0: a (1 - 2^k t_hi (c0 + g)) in the unit scale: s = 2^k (floored) times
    # t_hi, exactly (a normal number)
    st = float_from_bits((max(k, np.int32(_K_FLOOR)) + np.int32(127)) << np.int32(23), x) * t_hi
    d, d_lo = tail_difference32(one, st, c0, g)
    pos = float_bits(fma(a, d, a * d_lo))
    pos = _select(ab > np.int32(_LIMIT_BITS), b, pos)  # x itself from 14 on, inf included
    rb = _select(b < np.int32(0), neg, pos)
    half = _select(ab < np.int32(2 * _MIN_NORMAL_BITS), b & _SIGN, b - np.int32(_ONE_EXPONENT))
    rb = _select(ab < np.int32(_TINY_BITS), half, rb)  # x/2 (flushed below normal)
    return float_from_bits(_select(ab > np.int32(_INF_BITS), b, rb), x)  # NaN in, NaN out


def _emit_interval(v, a):
    """round(2a) in the low mantissa bits of a + 1.5 * 2^22 (as a bit pattern, the
    index of the coefficient tables): the bits of the scalar twins' fma(a, 2,
    1.5 * 2^23) halved, rounded on the same grid, with an add, which on Zen 4 runs
    on the add pipes beside the FMAs that bound these kernels (the Intel VM's core
    issues both from the same two ports)."""
    return v.builder.bitcast(v.builder.fadd(a, splat_f(_HALF_ROUND_SHIFT)), I16)


def emit_mills_minus_density32(v, a):
    """:func:`mills_minus_density32` on 16 lanes (the coefficient tables: ``vpermi2ps``
    on the low 5 bits of j's sum, :func:`_emit_interval`)."""
    builder = v.builder
    fma = v.fma
    j = _emit_interval(v, a)
    # a - j/2 (exact) from the same sum: two adds where the scalar twin takes an FMA
    t = builder.fsub(a, builder.fsub(builder.bitcast(j, F16), splat_f(_HALF_ROUND_SHIFT)))
    c6, c5, c4, c3, c2, lo, c0, c1 = v.tables32(
        (_F_C6, _F_C5, _F_C4, _F_C3, _F_C2, _H_LO_PACKED, _H_C0_HI, _H_C1_HI), j)
    poly = fma(t, c6, c5)
    for c in (c4, c3, c2):
        poly = fma(t, poly, c)
    w = fma(t, poly, v.bfloat16_low(lo))  # c1_lo
    u = builder.fmul(t, c1)
    u_lo = fma(t, c1, builder.fneg(u))
    h = builder.fadd(c0, u)
    h_lo = builder.fadd(builder.fadd(builder.fsub(c0, h), u), fma(t, w, builder.fadd(u_lo, lo)))
    return h, h_lo


def emit_mills_centred32(v, a):
    """:func:`mills_centred32` on 16 lanes."""
    builder = v.builder
    fma = v.fma
    # a + 1's bits 20-24 in the low bits (the tables read those five)
    j = builder.lshr(builder.bitcast(builder.fadd(a, splat_f(1.0)), I16), splat_i(_G_INDEX_SHIFT))
    centre, c5, c4, c3, c2, c1, c0 = v.tables32((_G_CENTRE, _G_C5, _G_C4, _G_C3, _G_C2, _G_C1, _G_C0), j)
    t = builder.fsub(a, centre)
    poly = fma(t, c5, c4)
    for c in (c3, c2, c1):
        poly = fma(t, poly, c)
    return c0, t, poly


def emit_exp_neg_half_square_parts32(v, a):
    """:func:`exp_neg_half_square_parts32` on 16 lanes: ``(t_hi, q, k, k23)``, k
    the integer exponent and k23 = k << 23, an exponent field to add to a bit
    pattern: the low bits of t hold n (the shift's own bits are zero below bit
    22), so t << 19 puts k = n >> 4 in bits 23-31 and one mask clears the rest (an
    integer shift and a logic operation, where applying 2^k by ``vscalefps``
    takes a slot of the FMA pipe)."""
    builder = v.builder
    fma = v.fma
    t = fma(builder.fmul(a, a), splat_f(_NEG_HALF_INV_LN2), splat_f(_SHIFT))
    kf = builder.fsub(t, splat_f(_SHIFT))
    n = builder.sub(builder.bitcast(t, I16), splat_i(_SHIFT_BITS))
    z = fma(kf, splat_f(_TWO_LN2_LO), fma(a, a, builder.fmul(kf, splat_f(_TWO_LN2_HI))))
    # vpermps reads the low 4 bits of n: j
    q = fma(z, fma(z, fma(z, splat_f(_Z_C3), splat_f(_Z_C2)), splat_f(-0.5)), v.table(_T_RATIO, n))
    k23 = builder.and_(builder.shl(builder.bitcast(t, I16), splat_i(19)), splat_i(-(1 << 23)))
    return v.table(_T_HI, n), q, builder.ashr(n, splat_i(4)), k23


def emit_normal_tail_parts32(v, a):
    """:func:`normal_tail_parts32` on 16 lanes: ``(t_hi, c0, g, k, k23)``
    (:func:`emit_exp_neg_half_square_parts32`)."""
    t_hi, q, k, k23 = emit_exp_neg_half_square_parts32(v, a)
    c0, t, poly = emit_mills_centred32(v, a)
    return t_hi, c0, v.fma(t, poly, v.builder.fmul(q, v.fma(t, poly, c0))), k, k23


def emit_tail_difference32(v, h, t_hi, c0, g):
    """:func:`tail_difference32` on 16 lanes."""
    nt = v.builder.fneg(t_hi)
    d = v.fma(nt, c0, h)
    return d, v.fma(nt, g, v.fma(nt, c0, v.builder.fsub(h, d)))


def _emit_clamped_abs(v, ab, general, wide):
    """|x|'s bit pattern as the kernels take it: clamped to [2^-30, 14] (general),
    to 14 (wide: every |x| >= 2^-30), or as it is (short: every |x| <= 12.5)."""
    if general:
        return v.smin(v.smax(ab, splat_i(_TINY_BITS)), splat_i(_LIMIT_BITS))
    return v.smin(ab, splat_i(_LIMIT_BITS)) if wide else ab


def _dispatch(v, ab, evaluate, saturated):
    """The kinds of block of gelu and gelu': short, saturated (every |x| > 14),
    wide (every |x| >= 2^-30, no NaN), general."""
    tiers = [(_TINY_BITS, _FAST_HI_BITS, lambda: evaluate(False)), (_LIMIT_BITS + 1, _INF_BITS, saturated),
             (_TINY_BITS, _INF_BITS, lambda: evaluate(False, wide=True))]
    v.dispatch(ab, tiers, lambda: evaluate(True))


def _emit_scaled_unit(v, b, k23):
    """2^-k where x >= 0 and 0 where x < 0 (``b``: x's bit pattern; ``k23``: k << 23,
    :func:`emit_exp_neg_half_square_parts32`), for the short paths' two signs in
    one: the bits (127 - k) << 23, zero-masked.  The mask comes from a float
    compare (``vcmpps`` into a mask register: LLVM turns an integer compare of the
    sign into an arithmetic shift, which takes the FMA pipe's port)."""
    builder = v.builder
    nonneg = builder.fcmp_ordered(">=", builder.bitcast(b, F16), splat_f(0.0))
    h = builder.select(nonneg, builder.sub(splat_i(127 << 23), k23), splat_i(0))
    return builder.bitcast(h, F16)


def _emit_gelu_short_sides(v, b, a, parts):
    """gelu on the short path, both signs by one formula in the scale 2^-k:

        a (h - t_hi (c0 + g)) 2^k,   h = 2^-k (x >= 0) or 0 (x < 0)

    with the difference as the double word of :func:`emit_tail_difference32`.
    x < 0: the general path's negative side, operation for operation (h = 0);
    x >= 0: the general
    path's positive side, computed there in the unit scale with 2^k t_hi, every
    term 2^-k times it here (k >= -113: no overflow), so the same bits, and 2^k
    applied last is exact (the result is normal).  One formula for both signs;
    h and 2^k come from k's exponent field by integer operations (a shift, two
    logic operations and two integer adds: two ``vscalefps`` and a subtraction
    took 9% of the kernel's time on the Intel VM, although there integer
    and floating-point operations issue from the same two ports)."""
    builder = v.builder
    t_hi, c0, g, _, k23 = parts
    d, d_lo = emit_tail_difference32(v, _emit_scaled_unit(v, b, k23), t_hi, c0, g)
    r = v.fma(a, d, builder.fmul(a, d_lo))
    return builder.add(builder.bitcast(r, I16), k23)  # 2^k r, exact: a normal result


def _emit_gelu(v, b, store):
    builder = v.builder
    fma = v.fma
    one = splat_f(1.0)
    ab = builder.and_(b, splat_i(int(_ABS)))

    def evaluate(general, wide=False):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-30, 12.5]: the clamp, the flush, the floor on k
        and the selects for NaN, tiny and large x (``wide``: every |x| in [2^-30,
        inf], the clamp at 14, the flush, the floor and the large-x select stay)."""
        cb = _emit_clamped_abs(v, ab, general, wide)
        a = builder.bitcast(cb, F16)
        parts = emit_normal_tail_parts32(v, a)
        if not (general or wide):  # 2^k a (h - ...) is normal here: 2^k by an integer add
            store(_emit_gelu_short_sides(v, b, a, parts))
            return
        t_hi, c0, g, k, _ = parts
        # x < 0: a (0 - Phi(-a)/2^k), 2^k on the bit pattern of its magnitude,
        # flushed below normal
        d, d_lo = emit_tail_difference32(v, splat_f(0.0), t_hi, c0, g)
        mb = builder.and_(builder.bitcast(fma(a, d, builder.fmul(a, d_lo)), I16), splat_i(int(_ABS)))
        rb = builder.add(mb, builder.shl(k, splat_i(23)))
        flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
        neg = builder.select(flushed, splat_i(0), builder.or_(rb, splat_i(int(_SIGN))))
        # x >= 0 in the unit scale: 2^k (floored) times t_hi
        ks = v.smax(k, splat_i(_K_FLOOR))
        s = builder.bitcast(builder.shl(builder.add(ks, splat_i(127)), splat_i(23)), F16)
        d, d_lo = emit_tail_difference32(v, one, builder.fmul(s, t_hi), c0, g)
        pos = builder.bitcast(fma(a, d, builder.fmul(a, d_lo)), I16)
        pos = builder.select(builder.icmp_signed(">", ab, splat_i(_LIMIT_BITS)), b, pos)
        rb = builder.select(builder.icmp_signed("<", b, splat_i(0)), neg, pos)
        if general:
            sign = builder.and_(b, splat_i(int(_SIGN)))
            half = builder.select(
                builder.icmp_signed("<", ab, splat_i(2 * _MIN_NORMAL_BITS)),
                sign,
                builder.sub(b, splat_i(_ONE_EXPONENT)),
            )
            rb = builder.select(builder.icmp_signed("<", ab, splat_i(_TINY_BITS)), half, rb)
            rb = builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb)
        store(rb)

    def saturated():  # every |x| > 14, no NaN: x itself, or the flushed +0 of x Phi(x)
        store(builder.select(builder.icmp_signed("<", b, splat_i(0)), splat_i(0), b))

    _dispatch(v, ab, evaluate, saturated)


@intrinsic
def gelu32_block16(typingctx, src, dst):
    """``dst[0:16] = gelu(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_gelu)


@njit(**JIT_OPTIONS)
def gelu_grad32(x):
    """gelu'(x) = Phi(x) + x phi(x) of a float32 value, within 1 ULP (the scalar twin
    of :func:`gelu_grad32_block16`).  Every multiply-add is an explicit FMA."""
    one = _F(1)
    b = float_bits(x)
    ab = b & _ABS
    cb = min(max(ab, np.int32(_TINY_BITS)), np.int32(_LIMIT_BITS))
    a = float_from_bits(cb, x)
    t_hi, q, k = exp_neg_half_square_parts32(a)
    g, g_lo = mills_minus_density32(a)
    # (Phi(-a) - a phi(a)) / 2^k = t_hi (1 + q) H as a double word: t_hi g exactly,
    # plus t_hi (q H + g_lo) (H rounded: q <= 0.023 weighs its rounding; near the
    # root g_lo is no small part of H, so q g_lo counts)
    p = t_hi * g
    p_lo = fma(t_hi, fma(q, g + g_lo, g_lo), fma(t_hi, g, -p))
    mb = float_bits(p + p_lo)
    rb = (mb & _ABS) + (k << np.int32(23))
    neg = _select(rb < np.int32(_MIN_NORMAL_BITS), np.int32(0), rb | (mb & _SIGN))
    # x >= 0: 1 - 2^k (p + p_lo) (Fast2Sum: |2^k p| <= 1/2)
    s = float_from_bits((max(k, np.int32(_K_FLOOR)) + np.int32(127)) << np.int32(23), x)
    ps = s * p
    d = one - ps
    pos = float_bits(d + fma(-s, p_lo, (one - d) - ps))
    rb = _select(b < np.int32(0), neg, pos)
    # near the root (from a NaN-free stand-in: a signaling NaN would raise *invalid*)
    dx = float_from_bits(_select(ab > np.int32(_INF_BITS), np.int32(0), b), x) - _ROOT_HI
    inside = (float_bits(dx) & _ABS) <= np.int32(_ROOT_WINDOW_BITS)
    dx = _select(inside, dx, _F(0))
    poly = fma(dx, _R[5], _R[4])
    poly = fma(dx, poly, _R[3])
    poly = fma(dx, poly, _R[2])
    poly = fma(dx, poly, _R[1])
    poly = fma(dx, poly, _R[0])
    d2 = dx * dx
    d2_lo = fma(dx, dx, -d2)
    b2 = d2 * _R2_HI
    rest = fma(d2, _R2_LO, fma(d2_lo, _R2_HI, fma(d2, _R2_HI, -b2) + _R0))
    rest = fma(dx, fma(d2, poly, _R1_LO), rest)
    near = fma(dx, _R1_HI, b2 + rest)
    rb = _select(inside, float_bits(near), rb)
    return float_from_bits(_select(ab > np.int32(_INF_BITS), b, rb), x)  # NaN in, NaN out


def _near_root(v, dx, inside):
    """gelu' within 1/16 of its root: the polynomial in dx = x - _ROOT_HI (lanes
    outside the window take dx = 0), as a bit pattern."""
    builder = v.builder
    fma = v.fma
    dxi = builder.select(inside, dx, splat_f(0.0))
    poly = fma(dxi, splat_f(_R[5]), splat_f(_R[4]))
    for c in (_R[3], _R[2], _R[1], _R[0]):
        poly = fma(dxi, poly, splat_f(c))
    d2 = builder.fmul(dxi, dxi)
    d2_lo = fma(dxi, dxi, builder.fneg(d2))
    r2 = splat_f(_R2_HI)
    b2 = builder.fmul(d2, r2)
    rest = fma(d2, splat_f(_R2_LO), fma(d2_lo, r2, builder.fadd(fma(d2, r2, builder.fneg(b2)), splat_f(_R0))))
    rest = fma(dxi, fma(d2, poly, splat_f(_R1_LO)), rest)
    return builder.bitcast(fma(dxi, splat_f(_R1_HI), builder.fadd(b2, rest)), I16)


def _emit_gelu_grad_short_sides(v, b, p, p_lo, k23):
    """gelu' on the short path (its bit pattern), both signs by one formula in the
    scale of p:

        (h -+ (p + p_lo)) 2^k,   h = 2^-k and - for x >= 0, h = 0 and + for x < 0

    x < 0: 2^k (p + p_lo), rounded as the general path's negative side; x >= 0:
    1 - 2^k (p + p_lo) with 1 - 2^k p formed and split as there (Fast2Sum: 2^-k
    >= 2|p|), every term 2^-k times the general path's, so the same bits, and 2^k
    applied last is exact (the result is normal).  The sign of p and p_lo is
    flipped on their bit patterns; two FMA-pipe operations where the general path's
    two sides take four, and no select; h and 2^k by integer operations, as
    gelu's."""
    builder = v.builder
    flip = builder.and_(builder.xor(b, splat_i(-1)), splat_i(int(_SIGN)))  # x >= 0: the sign bit

    def flipped(value):
        return builder.bitcast(builder.xor(builder.bitcast(value, I16), flip), F16)

    h = _emit_scaled_unit(v, b, k23)
    ps, ps_lo = flipped(p), flipped(p_lo)
    d = builder.fadd(h, ps)
    d_lo = builder.fadd(builder.fadd(builder.fsub(h, d), ps), ps_lo)
    return builder.add(builder.bitcast(builder.fadd(d, d_lo), I16), k23)  # 2^k, exact: a normal result


def _emit_gelu_grad(v, b, store):
    builder = v.builder
    fma = v.fma
    one = splat_f(1.0)
    ab = builder.and_(b, splat_i(int(_ABS)))

    def evaluate(general, wide=False):
        """The kernel on 16 lanes; ``general=False`` leaves out what is an identity
        when every |x| is in [2^-30, 12.5]: the clamp, the flush, the floor on k
        and the select for NaN (``wide``: every |x| in [2^-30, inf], the clamp at
        14, the flush and the floor stay)."""
        cb = _emit_clamped_abs(v, ab, general, wide)
        a = builder.bitcast(cb, F16)
        t_hi, q, k, k23 = emit_exp_neg_half_square_parts32(v, a)
        g, g_lo = emit_mills_minus_density32(v, a)
        p = builder.fmul(t_hi, g)
        p_lo = fma(t_hi, fma(q, builder.fadd(g, g_lo), g_lo), fma(t_hi, g, builder.fneg(p)))
        if not (general or wide):  # 2^k (p + p_lo) is normal here: on the bit pattern
            rb = _emit_gelu_grad_short_sides(v, b, p, p_lo, k23)
        else:
            m = builder.fadd(p, p_lo)
            mb = builder.bitcast(m, I16)
            rb = builder.add(builder.and_(mb, splat_i(int(_ABS))), builder.shl(k, splat_i(23)))
            flushed = builder.icmp_signed("<", rb, splat_i(_MIN_NORMAL_BITS))
            neg = builder.select(flushed, splat_i(0), builder.or_(rb, builder.and_(mb, splat_i(int(_SIGN)))))
            ks = v.smax(k, splat_i(_K_FLOOR))
            s = builder.bitcast(builder.shl(builder.add(ks, splat_i(127)), splat_i(23)), F16)
            ps = builder.fmul(s, p)
            d = builder.fsub(one, ps)
            d_lo = fma(builder.fneg(s), p_lo, builder.fsub(builder.fsub(one, d), ps))
            pos = builder.bitcast(builder.fadd(d, d_lo), I16)
            rb = builder.select(builder.icmp_signed("<", b, splat_i(0)), neg, pos)
        nan_free = builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), splat_i(0), b) if general else b
        if general:
            rb = builder.select(builder.icmp_signed(">", ab, splat_i(_INF_BITS)), b, rb)
        dx = builder.fsub(builder.bitcast(nan_free, F16), splat_f(_ROOT_HI))
        inside = builder.icmp_signed(
            "<=", builder.and_(builder.bitcast(dx, I16), splat_i(int(_ABS))), splat_i(_ROOT_WINDOW_BITS)
        )
        # The polynomial only where a lane is near the root (x near x0 is negative
        # and not NaN, so its select can come last).
        # nonzero on the short path: |x| <= 12.5 keeps |gelu'| above 1e-33, and it
        # vanishes only at the irrational root, whose nearest float32 its polynomial
        # keeps away from 0 (tests/test_backward_nonzero.py)
        store(v.select_where_any(inside, rb, lambda: _near_root(v, dx, inside)), nonzero=not (general or wide))

    def saturated():  # every |x| > 14, no NaN: 1, or the flushed +0 (Phi(x) + x phi(x))
        store(builder.select(builder.icmp_signed("<", b, splat_i(0)), splat_i(0), splat_i(int(_F(1.0).view(np.int32)))))

    _dispatch(v, ab, evaluate, saturated)


@intrinsic
def gelu_grad32_block16(typingctx, src, dst):
    """``dst[0:16] = gelu'(src[0:16])`` for float32, as AVX-512 vector code
    (``src`` and ``dst`` raw pointers; they may be equal)."""
    return block_intrinsic(src, dst, _emit_gelu_grad)


@intrinsic
def gelu_backward32_block16(typingctx, grad, src, dst):
    """``dst[0:16] = grad[0:16] * gelu'(src[0:16])`` for float32 (``backward_product``),
    as AVX-512 vector code (raw pointers; ``dst`` may be either source)."""
    return backward_block_intrinsic(grad, src, dst, _emit_gelu_grad)
