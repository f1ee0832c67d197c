"""``fastact compile``: the ufuncs compiled ahead, into the cache later processes read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import fastact
from fastact.precompile import COMPILE_SECONDS, activation_of, longest_first

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in directory.rglob("*") if p.is_file()}


def _python(code_or_args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *code_or_args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)


def test_compiled_ufuncs_load_from_the_cache_without_compiling(tmp_path):
    cache = tmp_path / "numba-cache"
    done = _python(["-m", "fastact", "compile", "--functions", "relu,swish", "--jobs", "2"], cache)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert {line.split()[0] for line in lines[:-1]} == {"relu", "silu"}, done.stdout  # swish is silu
    assert lines[-1].startswith("2 activations in ") and lines[-1].endswith(f"Numba's cache: {cache}"), lines[-1]
    before = _snapshot(cache)
    assert any(name.endswith(".nbi") for name in before)
    # a later process uses them (small and multi-threaded calls, every kind, an alias):
    # nothing is compiled, so nothing in the cache is written
    use = ("import numpy as np, fastact; x = np.linspace(-3, 3, 10**6, dtype=np.float32); "
           "fastact.relu_backward(x, x); fastact.silu_grad(x[:5]); fastact.swish(x.astype(np.float64)); "
           "fastact.relu(x[:3], out=x[:3])")
    done = _python(["-c", use], cache)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _snapshot(cache) == before
    # and an activation that was not compiled is (the check above can fail)
    done = _python(["-c", "import numpy as np, fastact; fastact.tanh(np.ones(3))"], cache)
    assert done.returncode == 0, done.stderr[-3000:]
    assert _snapshot(cache) != before


def test_compile_rejects_an_unknown_name(tmp_path):
    done = _python(["-m", "fastact", "compile", "--functions", "relu,nope"], tmp_path)
    assert done.returncode == 2 and "fastact has no function 'nope'" in done.stderr, done.stderr


@pytest.mark.parametrize(("name", "activation"), [("sigmoid", "sigmoid"), ("gelu_backward", "gelu"),
                                                  ("swish", "silu"), ("hardswish", "hard_silu"),
                                                  ("logsigmoid_grad", "log_sigmoid")])
def test_names_resolve_to_their_activation(name, activation):
    assert activation_of(name) == activation


def test_longest_first_puts_unknown_activations_first():
    names = longest_first(["relu", "brand_new", "celu", "sigmoid"])
    assert names == ["brand_new", "celu", "sigmoid", "relu"]
    assert set(COMPILE_SECONDS) <= set(fastact.REGISTRY)  # no stale names (a new activation needs none)
