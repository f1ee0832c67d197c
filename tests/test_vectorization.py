"""The ufunc loops are SIMD code without libm calls.

PyPI's llvmlite has no vector math library: a ``math.exp`` in a kernel would stay a
scalar libm call and the loop would not vectorize.  We compile every loop afresh
(an empty Numba cache: cached code cannot be inspected) in a subprocess and read
its optimized LLVM IR and assembly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import fastact

_PROBE = textwrap.dedent(
    r"""
    import json, re
    import fastact
    from fastact._registry import LOOPS
    fastact.ufuncs.build_all()
    LIBM = re.compile(
        r"call [^@\n]*@(?:llvm\.)?"
        r"(exp|exp2|expm1|log|log1p|log2|pow|tanh|erf|erfc|sinh|cosh)(?:f|\.f32|\.f64)?\("
    )
    out = {}
    for (name, dtype), loop in LOOPS.items():
        ir = loop.inspect_llvm()
        asm = loop._library.get_asm_str()
        elem = "float" if dtype == "float32" else "double"
        widths = [int(n) for n in re.findall(r"<(\d+) x " + elem + ">", ir)]
        packed = re.findall(r"\bv(?:fmadd|fnmadd|fmsub|mul|add|div)\w*p[sd]\s[^\n]*%[yz]mm", asm)
        out[f"{name}/{dtype}"] = {
            "max_lanes": max(widths, default=1),
            "libm": sorted(set(m.group(1) for m in LIBM.finditer(ir))),
            "packed_arith": len(packed),
            "permute_tables": "llvm.x86.avx512.permvar" in ir,
            "streaming_stores": len(re.findall(r"\bvmovnt\w*\s[^\n]*%[yz]mm", asm)),
            "store_fence": "sfence" in asm,
        }
    from fastact._tanh32 import HAVE_BLOCK_KERNEL
    out["have_block_kernel"] = HAVE_BLOCK_KERNEL
    print(json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def loop_code(tmp_path_factory):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path_factory.mktemp("numba-cache")))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True, timeout=900
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _public_names():
    for act in fastact.REGISTRY.values():
        for name in act.public_names:
            for dtype in ("float32", "float64"):
                yield pytest.param(act, name, dtype, id=f"{name}-{dtype}")


@pytest.mark.parametrize(("act", "name", "dtype"), list(_public_names()))
def test_loop_is_vectorized_without_libm(loop_code, act, name, dtype):
    info = loop_code[f"{name}/{dtype}"]
    # At least 256-bit vectors: <8 x float> or <4 x double>.
    min_lanes = 8 if dtype == "float32" else 4
    assert info["max_lanes"] >= min_lanes, info
    assert info["libm"] == [], f"scalar libm calls in the {name} loop: {info['libm']}"
    if act.transcendental:
        # the exp/expm1 core itself runs as packed ymm/zmm arithmetic
        assert info["packed_arith"] >= 10, info
    if name == act.name and act.forward_block_f32 is not None and dtype == "float32":
        # the hand-vectorized block kernel (table lookups as vpermps) is in the loop
        assert info["permute_tables"] == loop_code["have_block_kernel"], info
    # large outputs of the memory-bound kernels go out with non-temporal packed stores
    # and a fence (_loops.STREAM_MIN_BYTES); the exp-based kernels use plain stores
    streams = not act.transcendental
    assert (info["streaming_stores"] > 0) == streams, info
    assert info["store_fence"] == streams, info
