"""The AVX2 build of the block kernels, on whatever machine runs the tests.

On an AVX-512 host the block kernels are built for AVX-512, so the AVX2 IR of
``Lanes`` (tables from 8-entry ``vpermps`` and blends, float64 tables as pairs
of float halves) would go untested but on AVX2 machines.  Its IR runs on any
x86-64 host with AVX2 (an AVX-512 one included: LLVM may lower the AVX2
intrinsics to wider instructions, with the same values).  A subprocess sets
``BLOCK_ISA = "avx2"`` before any kernel is built, with a Numba cache of its own
(the cache keys on the source and the CPU, not on the IR), and checks one kernel
per kind of table against its scalar twin, bit for bit: float32 sigmoid (16
entries), float32 gelu (32), float64 silu and silu' (8 doubles); and that the
float32 sigmoid builds its powers 2^k from the integer k.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from llvmlite import binding as llvm_binding

_CHECK = """
import numpy as np
import fastact._avx512 as avx
avx.BLOCK_ISA = "avx2"  # before any kernel is built
import fastact
import support
from fastact._gelu32 import gelu32
from fastact._sigmoid32 import sigmoid32
from fastact.kernels.gated import _silu, _silu_grad
for ufunc, twin in ((fastact.sigmoid, sigmoid32), (fastact.gelu, gelu32)):
    support.assert_block_equals_scalar(ufunc, support.scalar_loop(twin))
for ufunc, twin in ((fastact.silu, _silu), (fastact.silu_grad, _silu_grad)):
    with np.errstate(invalid="ignore"):
        support.assert_block_equals_scalar64(ufunc, support.scalar_loop(twin))
from fastact._registry import LOOPS
ir = "".join(loop.inspect_llvm() for (name, dtype), loop in LOOPS.items()
             if (name, dtype) in (("sigmoid", "float32"), ("gelu", "float32"), ("silu", "float64")))
assert "llvm.x86.avx2.permps" in ir and "llvm.x86.avx512" not in ir
# the short paths' 2^k from k's integer form (Lanes.scalef's integer): no floor of
# the float form, no conversion, no subnormal power
assert "llvm.floor" not in LOOPS[("sigmoid", "float32")].inspect_llvm()
print("ok")
"""


@pytest.mark.skipif(not llvm_binding.get_host_cpu_features().get("avx2", False), reason="needs an AVX2 host")
def test_avx2_block_kernels_equal_their_scalar_twins(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    tests = str(Path(__file__).resolve().parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (tests, env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", _CHECK], env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
