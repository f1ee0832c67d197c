"""The measurement scripts the README tells people to run still run.

``bench/compare.py``, ``bench/saturation.py``, ``bench/scaling.py`` and
``tools/pipe_probe.py`` are not imported by anything else, so a change to the
registry or the peers could break them unnoticed (``fastact report`` once
crashed on celu that way).  Each runs here on tiny sizes and budgets, in a
subprocess like a user's, and must exit 0 with the rows it promises; the numbers
themselves are not checked (timings never gate the tests).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# a ratio as the scripts print them: 0.93, 1.00, 12.54
RATIO = r"\d+\.\d\d"


def _run(*args: str, timeout: int = 600) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_compare_prints_a_row_per_function_dtype_and_size():
    out = _run("bench/compare.py", "--sizes", "1000,4000", "--names", "sigmoid,celu,gelu", "--budget", "0.01")
    for name in ("sigmoid", "sigmoid_grad", "celu_backward", "gelu", "gelu_grad"):
        for dtype in ("float32", "float64"):
            for n in (1000, 4000):
                assert re.search(rf"^{name}\s+{dtype}\s+{n}\s+\S+\s+{RATIO}\s+{RATIO}$", out, re.M), (name, dtype, n)


def test_compare_takes_public_names_and_rejects_unknown_ones():
    out = _run("bench/compare.py", "--sizes", "1000", "--dtypes", "float64", "--names", "silu_grad,elu",
               "--budget", "0.01")
    rows = re.findall(r"^(\w+)\s+float64\s+1000\s", out, re.M)
    assert rows == ["silu_grad", "elu", "elu_grad", "elu_backward"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "bench/compare.py", "--names", "sigmoid,nonesuch"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 2 and "'nonesuch' is neither a registry name" in done.stderr, done.stderr[-2000:]


def test_saturation_prints_every_regime():
    out = _run("bench/saturation.py", "--size", "2000", "--budget", "0.005")
    for name in ("sigmoid", "gelu_backward", "tanhshrink"):
        for dtype in ("float32", "float64"):  # wide, saturated, special against central
            assert re.search(rf"^{name}\s+{dtype}(\s+{RATIO}){{3}}$", out, re.M), (name, dtype, out[-2000:])
    assert re.search(rf"^lowest throughput ratio to central: {RATIO}", out, re.M), out[-500:]


def test_scaling_runs_threads_and_dask():
    out = _run("bench/scaling.py", "--size", "40000", "--small", "1000", "--budget", "0.01",
               "--dask-size", "200000", "--dask-repeats", "1")
    for name in ("sigmoid", "tanh_backward"):
        for dtype in ("float32", "float64"):  # speed-up, against PyTorch, at the small size
            assert re.search(rf"^{name}\s+{dtype}(\s+{RATIO}){{3}}$", out, re.M), (name, dtype, out[-2000:])
    assert re.search(rf"{RATIO}\s+\(relative to the NumPy formula\)", out), out[-2000:]


@pytest.mark.parametrize("args", [("latency", "silu_grad", "--dtype", "float64"),
                                  ("latency", "fastact._gelu32:gelu32", "--dtype", "float32")])
def test_pipe_probe_latency(args):
    out = _run("tools/pipe_probe.py", *args)
    assert re.search(rf"8 dependent adds {RATIO}\dx the kernel's time, 8 adds off its chain {RATIO}\dx", out), out


def test_pipe_probe_pipes():
    from fastact._avx512 import HAVE_BLOCK_KERNEL

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "tools/pipe_probe.py", "pipes"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    if HAVE_BLOCK_KERNEL:  # the table: every mix, FMA-only the unit
        assert done.returncode == 0, done.stderr[-3000:]
        assert re.search(r"^fma\s+1\.00$", done.stdout, re.M), done.stdout
        for mix in ("add", "perm", "fma,perm", "fma,add,perm"):
            assert re.search(rf"^{re.escape(mix)}\s+{RATIO}$", done.stdout, re.M), (mix, done.stdout)
    else:  # no vector block kernels on this CPU: a one-line refusal
        assert done.returncode != 0 and "no block-kernel instruction set" in done.stderr, done.stderr


def test_parallel_threshold_writes_a_threshold_per_loop(tmp_path):
    import json

    import fastact

    out = tmp_path / "thresholds.json"
    printed = _run("tools/parallel_threshold.py", "--budget", "0.001", "--out", str(out))
    thresholds = json.loads(out.read_text())["thresholds"]
    names = [n for act in fastact.REGISTRY.values() for n in act.public_names]
    assert set(thresholds) == {f"{n}/{dt}" for n in names for dt in ("float32", "float64")}
    assert all(t >= 16384 and t & (t - 1) == 0 for t in thresholds.values())  # powers of 2 from 2^14
    assert re.search(rf"^sigmoid\s+float32\s+threshold\s+\d+(\s+{RATIO})+$", printed, re.M), printed[:2000]


def test_stream_threshold_prints_a_ratio_per_size_and_kernel():
    out = _run("tools/stream_threshold.py", "--budget", "0.001", "--dtypes", "float32")
    assert re.search(r"^bytes\s+dtype\s+relu\s+relu_backward\s+leaky_relu\s+sigmoid\s+tanh$", out, re.M), out
    assert len(re.findall(rf"^\s*\d+ float32(\s+{RATIO}){{5}}$", out, re.M)) == 9, out  # 256 KiB .. 64 MiB
    out = _run("tools/stream_threshold.py", "--budget", "0.001", "--dtypes", "float64", "--back-to-back",
               "--sizes", "256,1024", "--kernels", "relu,relu_backward")
    assert "calls back to back" in out, out
    assert len(re.findall(rf"^\s*\d+ float64(\s+{RATIO}){{2}}$", out, re.M)) == 2, out


def test_band_probe_prints_the_slowest_band_per_function_and_dtype():
    out = _run("tools/band_probe.py", "--names", "relu,tanhshrink", "--dtypes", "float32", "--budget", "0.01", "--all")
    rows = re.findall(rf"^(\w+)\s+float32\s+{RATIO}  [+-]+2\^-?\d+", out, re.M)
    assert rows == ["relu", "relu_grad", "relu_backward", "tanhshrink", "tanhshrink_grad", "tanhshrink_backward"], out
    assert len(re.findall(rf"[+-]+2\^-?\d+={RATIO}", out)) == 6 * 3 * 28, out  # --all: every band, both signs and each


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 instruction sets only")
@pytest.mark.parametrize("isa, wide, narrow", [("avx512", "zmm", None), ("avx2", "ymm", "zmm")])
def test_block_asm_compiles_for_the_isa_asked(isa, wide, narrow):
    # sigmoid's float32 loop calls a block kernel on either instruction set: its
    # registers say which one LLVM was told the host has (compiled only, never run)
    out = _run("tools/block_asm.py", "sigmoid", "float32", "--isa", isa)
    assert out.splitlines()[0] == f"# sigmoid float32: block kernels {isa}"
    assert re.search(rf"\bvfmadd\w+ps\s[^\n]*%{wide}\d", out)
    if narrow:
        assert f"%{narrow}" not in out
