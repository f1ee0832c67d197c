"""The ufunc loops are SIMD code without libm calls.

PyPI's llvmlite has no vector math library: a ``math.exp`` in a kernel would stay a
scalar libm call and the loop would not vectorize.  We compile every loop afresh
(in this process if the Numba cache was cold, else in a subprocess with an empty
cache: cached code cannot be inspected) and read its optimized LLVM IR and assembly.
"""

from __future__ import annotations

import pytest
import support

import fastact
from fastact._loops import SPAN_PREFETCH


@pytest.fixture(scope="module")
def loop_code():
    # this session's own loops if it compiled them, else a subprocess's (support.py)
    return support.loop_code()


def _public_names():
    for act in fastact.REGISTRY.values():
        for name in act.public_names:
            for dtype in ("float32", "float64"):
                yield pytest.param(act, name, dtype, id=f"{name}-{dtype}")


@pytest.mark.parametrize(("act", "name", "dtype"), list(_public_names()))
def test_loop_is_vectorized_without_libm(loop_code, act, name, dtype):
    suffix = "f32" if dtype == "float32" else "f64"
    kind = {act.name: "forward", act.name + "_grad": "grad", act.name + "_backward": "backward"}[name]
    block = getattr(act, f"{kind}_block_{suffix}")
    # an activation with parameters has two loops per dtype: parameters as ufunc
    # arguments, and the defaults compiled in (what an omitted parameter calls)
    for loop in [name] + ([name + "[defaults]"] if act.params else []):
        info = loop_code[f"{loop}/{dtype}"]
        # At least 256-bit vectors: <8 x float> or <4 x double>.
        min_lanes = 8 if dtype == "float32" else 4
        assert info["max_lanes"] >= min_lanes, (loop, info)
        assert info["libm"] == [], f"scalar libm calls in the {loop} loop: {info['libm']}"
        if act.transcendental:
            # the exp/expm1 core itself runs as packed ymm/zmm arithmetic
            assert info["packed_arith"] >= 10, (loop, info)
        # large outputs of the memory-bound kernels go out with non-temporal packed stores
        # and a fence (from _parallel.get_stream_threshold()); the exp-based kernels use plain stores
        streams = act.streamed
        assert (info["streaming_stores"] > 0) == streams, (loop, info)
        assert info["store_fence"] == streams, (loop, info)
        # every input element is read: no load the vectorizer had to predicate
        # (_core.pass_gradient: a masked load of grad_out cost the piecewise-linear
        # backward loops 1.3-1.45x at 10^7 elements on Zen 3)
        assert info["masked_loads"] == 0, (loop, info)
        # the compute-bound loops prefetch the input lines they will read
        # (_loops.PREFETCH_BYTES: at 10^7 elements float32 gelu ran 2.4x and float64
        # gelu 1.9x slower without, on Intel Rocket Lake), those without a block
        # kernel but on the CPUs where that cost them time (_loops.SPAN_PREFETCH);
        # the streamed ones do not, block kernel or not (leaky_relu's took 1.5x the
        # time with them at 10^7 on Zen 4)
        blocked = block is not None and loop_code["have_block_kernel"]
        assert (info["prefetches"] > 0) == (not streams and (blocked or SPAN_PREFETCH)), (loop, info)
    if block is not None:
        # the hand-vectorized block kernel (table lookups as vpermps/vpermi2ps, or its
        # per-block branch) is in the loop; with parameters (where it computes the function at the defaults),
        # in the loop with the defaults compiled in and in the one with parameter
        # arguments (for broadcast defaults)
        for loop in [name] + ([name + "[defaults]"] if act.params else []):
            assert loop_code[f"{loop}/{dtype}"]["block_kernel"] == loop_code["have_block_kernel"], loop


def test_predicated_loads_are_the_masks_that_can_leave_a_lane_out():
    # the masked-load check above, on IR lines as LLVM writes them: a gather with
    # every lane set (AVX-512's strided loops) reads every element and does not count
    every_lane = [
        "%g = call <8 x double> @llvm.masked.gather.v8f64.v8p0(<8 x ptr> align 8 %p, <8 x i1> splat (i1 true),"
        " <8 x double> poison)",
        "%g = call <4 x double> @llvm.masked.gather.v4f64.v4p0(<4 x ptr> %p, i32 8,"
        " <4 x i1> <i1 true, i1 true, i1 true, i1 true>, <4 x double> undef)",
    ]
    predicated = [
        "%l = call <8 x float> @llvm.masked.load.v8f32.p0(ptr align 4 %p, <8 x i1> %mask, <8 x float> poison)",
        "%g = call <4 x double> @llvm.masked.gather.v4f64.v4p0(<4 x ptr> %p, i32 8,"
        " <4 x i1> <i1 true, i1 false, i1 true, i1 true>, <4 x double> undef)",
    ]
    ir = "\n".join("  " + line for line in every_lane + predicated)
    assert support.predicated_loads(ir) == [line[line.index("call"):] for line in predicated]


@pytest.mark.parametrize(
    ("cpu_name", "target", "isa_known", "span_prefetch"),
    [(None, None, True, None), ("host", None, True, None), ("generic", "generic", False, True),
     ("znver3", "znver3", False, False), ("icelake-server", "icelake-server", False, True)],
)
def test_the_cpu_numba_compiles_for_decides_isa_and_prefetch(monkeypatch, cpu_name, target, isa_known,
                                                              span_prefetch):
    """NUMBA_CPU_NAME (numba.config.CPU_NAME) names the target; unset or "host" is
    the host.  A named target's features are unknown, so it gets no block kernels;
    SPAN's prefetch follows the named CPU's name, or the host's."""
    from llvmlite import binding as llvm_binding
    from numba import config

    from fastact import _avx512, _loops

    monkeypatch.setattr(config, "CPU_NAME", cpu_name)
    assert _avx512.named_target_cpu() == target
    features = llvm_binding.get_host_cpu_features()
    host_isa = ("avx512" if features.get("avx512f", False)
                else "avx2" if features.get("avx2", False) and features.get("fma", False) else None)
    assert _avx512._block_isa() == (host_isa if isa_known else None)
    if span_prefetch is None:  # the host's own name decides
        span_prefetch = llvm_binding.get_host_cpu_name() not in _loops.SPAN_UNPREFETCHED_CPUS
    assert _loops._span_prefetches() == span_prefetch
