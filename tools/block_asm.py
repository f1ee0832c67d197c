"""Print the assembly of a fastact ufunc loop, for this host or for another x86
instruction set: the AVX-512 code on an AVX2 machine, or the AVX2 code on an
AVX-512 one (compiled, never run).

Usage:  python tools/block_asm.py NAME DTYPE [--isa host|avx512|avx2] [--cpu LLVM_CPU] [--general]

NAME is a public function (``sigmoid``, ``gelu_grad``, ``silu_backward``), DTYPE
float32 or float64.  The loop and the block kernels it calls are printed as LLVM
emits them.  With ``--isa`` other than host, LLVM is told that the host has that
instruction set (its feature list and its CPU name, ``--cpu``: icelake-server
for avx512, znver3 for avx2) before fastact is imported, so ``_avx512.BLOCK_ISA``
and Numba's target machine follow it; the code is compiled into a temporary
Numba cache and thrown away with it, so nothing built for the wrong machine is
ever loaded or run.

What it is for: counting what a kernel's short path costs on the machine one
does not have, by hand or with ``llvm-mca -mcpu=icelake-server`` on the lines
of that path (the loop's header up to its first branch, then the branch's
target up to the store); see docs/how-it-is-fast.md ("what llvm-mca says").
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

_AVX512 = ("avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512cd", "evex512")
_AVX2 = ("avx", "avx2", "fma", "f16c", "bmi", "bmi2")
_DEFAULT_CPU = {"avx512": "icelake-server", "avx2": "znver3"}


def _pretend(isa: str, cpu: str) -> None:
    """Make llvmlite report ``isa`` (and the CPU ``cpu``) as the host's, for
    fastact's choice of block kernels and for Numba's target machine."""
    from llvmlite import binding

    host_features = binding.get_host_cpu_features

    def features():
        found = host_features()
        for name in _AVX512:
            found[name] = isa == "avx512"
        for name in _AVX2:
            found[name] = True
        return found

    binding.get_host_cpu_features = features
    binding.get_host_cpu_name = lambda: cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name")
    parser.add_argument("dtype", choices=["float32", "float64"])
    parser.add_argument("--isa", choices=["host", "avx512", "avx2"], default="host")
    parser.add_argument("--cpu", help="LLVM CPU name to compile for (with --isa avx512 or avx2)")
    parser.add_argument("--general", action="store_true",
                        help="the loop that takes the parameters as arguments, not the defaults' loop")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fastact-asm-") as cache:
        os.environ["NUMBA_CACHE_DIR"] = cache  # before Numba reads its configuration
        os.environ.pop("NUMBA_CPU_NAME", None)
        os.environ.pop("NUMBA_CPU_FEATURES", None)
        if args.isa != "host":
            _pretend(args.isa, args.cpu or _DEFAULT_CPU[args.isa])
        import fastact
        from fastact import _avx512, _registry

        fastact.ufuncs.public(args.name)
        # a function with parameters has a loop with its defaults compiled in (what
        # fastact.elu(x) runs) beside the general one (the parameters as arguments)
        key = args.name + "[defaults]"
        if args.general or (key, args.dtype) not in _registry.LOOPS:
            key = args.name
        loop = _registry.LOOPS[(key, args.dtype)]
        print(f"# {key} {args.dtype}: block kernels {_avx512.BLOCK_ISA}", flush=True)
        sys.stdout.write(loop._library.get_asm_str())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
