"""Why a kernel takes the time it does: what the vector pipes cost, and how much of
a kernel's time is the length of its dependency chain.

``pipes``: 16-lane float32 blocks of 16 independent chains, each step applying one
operation class (fma, mul, add, a 32-entry table lookup ``perm``: ``vpermi2ps`` on
AVX-512, a 16-entry one ``perm16``: ``vpermps``) or a mix of them, on data held in
L1.  Prints each run's time per operation relative to the FMA-only run's: 1.0
where an operation costs one FMA slot, 0.5 where two issue in the time of one.
A mix whose time is the sum of its parts' times runs on the same pipes.

``latency NAME``: the scalar kernel of a public function (``sigmoid``,
``silu_grad``, ...; or ``module:function``, a kernel of one value) in a
vectorized loop over 8192 values (float32 table kernels: LLVM's loop, whose
lookups are gathers, not the block kernel), as it is, with 8
dependent adds after it (24-32 cycles more chain, 8 operations more), and with 8
adds off its chain (8 operations more, 3-4 cycles more chain).  If the
loop's time is bound by the pipes, both variants cost about the same; the more
the dependent one costs, the more its time is the chain's latency (the out-of-order
window holds too few iterations to hide it).

Ratios only, from one run (interleaving is not needed: every case runs in L1).
Needs the block kernels' instruction set for ``pipes`` (AVX-512 or AVX2):

    PYTHONPATH=. python tools/pipe_probe.py pipes
    PYTHONPATH=. python tools/pipe_probe.py latency silu_grad --dtype float64
    PYTHONPATH=. python tools/pipe_probe.py latency fastact._logistic64:silu_grad64_off_root
"""

from __future__ import annotations

import argparse
import importlib
import time

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from fastact._avx512 import F16, HAVE_BLOCK_KERNEL, I16, Lanes
from fastact._loops import offset, prefer_512_bit_vectors
from fastact._registry import REGISTRY

JIT = {"fastmath": {"contract"}, "error_model": "numpy"}
MIXES = ("fma", "mul", "add", "perm", "perm16", "fma,add", "fma,perm", "add,perm", "fma,perm16", "fma,add,perm")
CHAINS, STEPS, VALUES = 16, 8, 4096
_TABLE = np.arange(32, dtype=np.float32) * np.float32(0.01) + np.float32(0.5)


@intrinsic
def _pointer(typingctx, address):
    """An integer address as a raw pointer."""

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], context.get_value_type(types.voidptr))

    return types.voidptr(types.intp), codegen


def _step(v, op, value):
    builder = v.builder
    if op == "fma":
        return v.fma(value, v.splat_f(0.999), v.splat_f(0.001))
    if op == "mul":
        return builder.fmul(value, v.splat_f(0.999))
    if op == "add":
        return builder.fadd(value, v.splat_f(0.001))
    if op == "perm":
        return v.table32(_TABLE, builder.bitcast(value, I16))
    if op == "perm16":
        return v.table(_TABLE[:16], builder.bitcast(value, I16))
    raise ValueError(op)


def _mix_runner(ops: tuple[str, ...]):
    """A compiled loop over VALUES floats whose block applies ``ops`` STEPS times to
    each of CHAINS independent chains (and adds them up once at the end)."""

    @intrinsic
    def block(typingctx, src, dst):
        def codegen(context, builder, sig, args):
            v = Lanes(builder)
            x = builder.load(builder.bitcast(args[0], F16.as_pointer()), align=4)
            chains = [builder.fadd(x, v.splat_f(c * 0.001)) for c in range(CHAINS)]
            for _ in range(STEPS):
                for op in ops:
                    chains = [_step(v, op, c) for c in chains]
            while len(chains) > 1:
                chains = [builder.fadd(chains[i], chains[i + 1]) for i in range(0, len(chains), 2)]
            builder.store(chains[0], builder.bitcast(args[1], F16.as_pointer()), align=4)
            return context.get_dummy_value()

        return types.none(src, dst), codegen

    @njit(**JIT)
    def run(src, dst, reps):
        prefer_512_bit_vectors()
        for _ in range(reps):
            for j in range(0, VALUES, 16):
                block(offset(_pointer(src), j * 4), offset(_pointer(dst), j * 4))

    return run


def _best(fn, *args, repeat: int = 7) -> float:
    fn(*args)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def pipes() -> None:
    if not HAVE_BLOCK_KERNEL:
        raise SystemExit("no block-kernel instruction set (AVX-512 or AVX2 with FMA) on this CPU")
    x = np.random.default_rng(0).random(VALUES).astype(np.float32)
    y = np.empty_like(x)
    reps = 300
    per_op = {}
    for mix in MIXES:
        ops = tuple(mix.split(","))
        t = _best(_mix_runner(ops), x.ctypes.data, y.ctypes.data, reps)
        per_op[mix] = t / (reps * VALUES / 16 * CHAINS * STEPS * len(ops))
    unit = per_op["fma"]
    print(f"{'operations':16} {'time per operation / FMA-only':>30}")
    for mix, t in per_op.items():
        print(f"{mix:16} {t / unit:>30.2f}")


def latency(name: str, dtype: str) -> None:
    if ":" in name:  # module:function, e.g. fastact._logistic64:silu_grad64_off_root
        module, function = name.split(":")
        kernel = getattr(importlib.import_module(module), function)
    else:
        act = REGISTRY[name.removesuffix("_grad")]
        kernel = act.grad if name.endswith("_grad") else act.forward
    T = np.dtype(dtype).type
    c = T(1e-30 if dtype == "float32" else 1e-300)

    @njit(**JIT)
    def plain(x, o):
        prefer_512_bit_vectors()
        for i in range(x.size):
            o[i] = kernel(x[i])

    @njit(**JIT)
    def dependent(x, o):  # 8 adds on the result's chain
        prefer_512_bit_vectors()
        for i in range(x.size):
            y = kernel(x[i])
            y = ((((((((y + c) - c * 2) + c * 3) - c * 4) + c * 5) - c * 6) + c * 7) - c * 8)
            o[i] = y

    @njit(**JIT)
    def independent(x, o):  # 7 adds off the chain, 1 on it
        prefer_512_bit_vectors()
        for i in range(x.size):
            xi = x[i]
            t = ((xi + c) + (xi + c * 2)) + ((xi + c * 3) + (xi + c * 4))
            o[i] = kernel(xi) + t

    x = (np.random.default_rng(0).standard_normal(8192) * 4).astype(dtype)
    o = np.empty_like(x)

    def timed(fn):
        def many():
            for _ in range(300):
                fn(x, o)

        return _best(many)

    t_plain, t_dep, t_ind = timed(plain), timed(dependent), timed(independent)
    print(f"{name} {dtype}: 8 dependent adds {t_dep / t_plain:.3f}x the kernel's time, "
          f"8 adds off its chain {t_ind / t_plain:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("pipes")
    lat = sub.add_parser("latency")
    lat.add_argument("name")
    lat.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    args = parser.parse_args()
    if args.command == "pipes":
        pipes()
    else:
        latency(args.name, args.dtype)


if __name__ == "__main__":
    main()
