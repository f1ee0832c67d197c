"""The numbers of the report, as plain JSON-able data: accuracy, saturation, tutorial code.

Everything iterates :data:`fastact.REGISTRY`; nothing here knows a function by name
except :mod:`fastact.report.naive` (the tutorial's code, which exists for four).
Floats that JSON cannot hold (NaN, +-inf) are written as the strings ``"nan"``,
``"inf"``, ``"-inf"`` (:func:`jsonable`), so the report JSON is standard JSON.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np

import fastact

from ..verify import binade_uniform
from .naive import NAIVE, compile_source

DTYPES = ("float32", "float64")

# --------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------


def jsonable(v: float | None):
    """A float for JSON: NaN and infinities as strings, everything else as is."""
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def unjson(v) -> float | None:
    """Inverse of :func:`jsonable`."""
    return None if v is None else float(v)


class ReportError(Exception):
    """A problem with the report's inputs, told to the user without a traceback."""


def read_json(path: str | Path, what: str):
    """Parse the JSON file ``path`` or raise :class:`ReportError` saying why not."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{what} {p}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{what} {p}: cannot read it ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{what} {p} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


# --------------------------------------------------------------------------------
# Benchmark JSON
# --------------------------------------------------------------------------------
def validate_bench(data, path: str | Path) -> None:
    """Check that ``data`` is pytest-benchmark JSON from the fastact suite."""
    from fastact.benchdata import parse

    hint = "produce one with `fastact bench --json PATH` (or leave out --bench-json for a quick measurement)"
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ReportError(f"{path} is not a pytest-benchmark JSON file (no top-level 'benchmarks' list); {hint}")
    try:
        rows = parse(data)
        parse(data, threads=True)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ReportError(f"{path}: a benchmark record is malformed ({type(exc).__name__}: {exc}); {hint}") from None
    if not rows:
        raise ReportError(
            f"{path} holds no fastact throughput records (pytest-benchmark records whose extra_info has "
            f"function, impl, dtype, size and regime); {hint}"
        )
    if not any(r.impl == "fastact" for r in rows):
        raise ReportError(f"{path} has no measurement of fastact itself; {hint}")
    finite = all(math.isfinite(r.min_s) and r.min_s > 0 for r in rows)
    if not finite:
        raise ReportError(f"{path}: benchmark times must be positive finite numbers; {hint}")


def bench_section(data: dict, source: str) -> dict:
    """The part of the report JSON that holds the measurement (no raw samples)."""
    from dataclasses import asdict

    from fastact.benchdata import parse

    machine = data.get("machine_info", {}) if isinstance(data.get("machine_info"), dict) else {}
    return {
        "source": source,
        "datetime": data.get("datetime"),
        "machine_info": {k: machine.get(k) for k in ("node", "machine", "system", "release", "python_version")}
        | {"cpu": {k: (machine.get("cpu") or {}).get(k) for k in ("brand_raw", "count")},
           "fastact": machine.get("fastact", {})},
        "rows": [asdict(r) for r in parse(data)],
        "threads": [asdict(r) for r in parse(data, threads=True)],
    }


def bench_rows(bench: dict, key: str = "rows"):
    """:class:`fastact.benchdata.Row` objects of the report JSON's bench part
    (``key``: ``"rows"`` or ``"threads"``)."""
    from fastact.benchdata import Row

    return [Row(**r) for r in bench[key]]


def summary_rows(bench: dict) -> list[dict]:
    """One row per public function: speed-ups and bandwidth per dtype (from the bench part).

    * ``vs_reference``: time of the NumPy reference / fastact, at the largest size
      where both were measured;
    * ``vs_peer``: time of the fastest peer / fastact and its name, at the largest size;
    * ``memcpy_pct``: 100 * time of the memory copy / fastact at the largest size
      (the percentage of the copy's bandwidth fastact reaches).
    """
    from fastact.benchdata import _index, peer_ratios

    rows = bench_rows(bench)
    idx = _index(rows)
    sizes = sorted({r.size for r in rows})
    ratios = {(p["function"], p["dtype"], p["size"]): p for p in peer_ratios(rows, sizes=tuple(sizes))}
    out = []
    for act in fastact.REGISTRY.values():
        for name in act.public_names:
            row: dict = {"function": name, "activation": act.name}
            for dtype in DTYPES:
                fa = {r.size: r.min_s for r in rows
                      if (r.function, r.impl, r.dtype, r.regime) == (name, "fastact", dtype, "central")}
                cell: dict = {}
                ref = [n for n in fa if (name, "numpy-reference", dtype, n, "central") in idx]
                if ref:
                    n = max(ref)
                    cell["vs_reference"] = {"size": n,
                                            "speedup": idx[name, "numpy-reference", dtype, n, "central"].min_s / fa[n]}
                peer = [n for n in fa if (name, dtype, n) in ratios]
                if peer:
                    n = max(peer)
                    p = ratios[name, dtype, n]
                    cell["vs_peer"] = {"size": n, "speedup": 1.0 / p["ratio"], "peer": p["best_peer"]}
                copy = [n for n in fa if (name, "memcpy", dtype, n, "central") in idx]
                if copy:
                    n = max(copy)
                    cell["memcpy_pct"] = {"size": n, "pct": 100.0 * idx[name, "memcpy", dtype, n, "central"].min_s
                                          / fa[n]}
                row[dtype] = cell
            out.append(row)
    return out


def throughput_series(bench: dict) -> dict:
    """``{function: {dtype: {impl: [(size, elements per second), ...]}}}``, central regime."""
    series: dict = {}
    for r in bench_rows(bench):
        if r.regime == "central":
            series.setdefault(r.function, {}).setdefault(r.dtype, {}).setdefault(r.impl, []).append(
                (r.size, r.size / r.min_s))
    for by_dtype in series.values():
        for by_impl in by_dtype.values():
            for pts in by_impl.values():
                pts.sort()
    return series


def regime_ratios(bench: dict) -> list[dict]:
    """fastact's throughput per regime relative to central (:func:`fastact.benchdata.saturation_ratios`)."""
    from fastact.benchdata import saturation_ratios

    return saturation_ratios(bench_rows(bench))


# --------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------
#: ULP-error histogram bin edges (errors are real-valued; 0.5 = correctly rounded)
ULP_EDGES = (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.25, 1.5, 1.75, 2.0, 3.0, 4.0, math.inf)
#: magnitude bands of |x| as powers of two: (low exponent, high exponent); None = dtype limit
BAND_EXPONENTS = ((None, -24), (-24, -4), (-4, 0), (0, 3), (3, 6), (6, 10), (10, None))


def _superscript(k: int) -> str:
    return "2" + str(k).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def band_labels() -> list[str]:
    labels = []
    for lo, hi in BAND_EXPONENTS:
        if lo is None:
            labels.append(f"|x| < {_superscript(hi)}")
        elif hi is None:
            labels.append(f"|x| ≥ {_superscript(lo)}")
        else:
            labels.append(f"{_superscript(lo)} ≤ |x| < {_superscript(hi)}")
    return labels


def band_samples(dtype: str, lo: int | None, hi: int | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values of ``dtype`` with 2**lo <= |x| < 2**hi, every binade equally
    likely and the significand uniform within it (``verify.binade_uniform``: the
    same values on every machine), random signs (``None``: from the smallest
    subnormal / to the largest finite number)."""
    fi = np.finfo(dtype)
    e_lo = fi.minexp - fi.nmant if lo is None else lo
    e_hi = fi.maxexp if hi is None else hi
    with np.errstate(all="ignore"):  # float32: the top binade's largest round to inf
        mags = binade_uniform(rng, e_lo, e_hi, n).astype(dtype)
    mags = np.clip(mags, fi.smallest_subnormal, fi.max)
    return mags * rng.choice(np.array([-1, 1], dtype=dtype), n)


def ulp_limit(act, dtype: str) -> float:
    """The largest real-valued error (in ULPs of the exact value) the contract allows.

    The registry's bound counts ULPs between the result and the *correctly rounded*
    value, which itself may be 0.5 ULP from the exact one: bound + 0.5.  Exact and
    correctly rounded kernels (``act.exact``) allow 0.5, the rounding itself (the
    rule of ``tests/test_verify.py``).
    """
    return 0.5 if act.exact else act.ulp_bound[dtype] + 0.5


def kernels():
    """(public name, activation, ufunc, reference) of every forward and derivative:
    what :mod:`fastact.verify` certifies."""
    for act in fastact.REGISTRY.values():
        yield act.name, act, getattr(fastact.ufuncs, act.name), act.reference
        yield act.name + "_grad", act, getattr(fastact.ufuncs, act.name + "_grad"), act.reference_grad


def accuracy_histograms(samples_per_band: int, seed: int = 0, progress=None) -> list[dict]:
    """ULP-error histograms by magnitude band, per kernel and dtype (:func:`fastact.verify.ulp_errors`)."""
    from fastact.verify import ulp_errors

    out = []
    finite_edges = np.array(ULP_EDGES[:-1])
    for name, act, ufunc, ref in kernels():
        for dtype in DTYPES:
            rng = np.random.default_rng(seed)
            counts, band_max, unjudged = [], [], []
            for lo, hi in BAND_EXPONENTS:
                x = band_samples(dtype, lo, hi, samples_per_band, rng)
                err = ulp_errors(ufunc, ref, act.param_defaults, x)
                judged = err[~np.isnan(err)]
                # bins (e[i], e[i+1]], the first one closed at 0, the last one (4, inf)
                idx = np.maximum(np.searchsorted(finite_edges, judged, side="left") - 1, 0)
                counts.append([int(c) for c in np.bincount(idx, minlength=len(ULP_EDGES) - 1)])
                band_max.append(float(judged.max()) if judged.size else None)
                unjudged.append(int(err.size - judged.size))
            out.append({
                "kernel": name, "activation": act.name, "dtype": dtype, "bound": act.ulp_bound.get(dtype),
                "limit": ulp_limit(act, dtype),
                "samples_per_band": samples_per_band, "counts": counts, "band_max": band_max,
                "not_ulp_judged": unjudged,
                "max": max((m for m in band_max if m is not None), default=None),
            })
            if progress:
                progress(f"{name} {dtype}")
    return out


def certified(path: str | Path) -> list[dict]:
    """Max ULP errors of a ``fastact verify --json`` file (e.g. the committed exhaustive run)."""
    data = read_json(path, "verification JSON")
    keys = {"name", "dtype", "max_ulp", "mode"}
    if not isinstance(data, list) or not data or not all(isinstance(r, dict) and keys <= r.keys() for r in data):
        raise ReportError(f"{path} is not `fastact verify --json` output (a list of results with {sorted(keys)})")
    try:
        return [{"kernel": str(r["name"]), "dtype": str(r["dtype"]), "max_ulp": float(r["max_ulp"]),
                 "mode": str(r["mode"]), "count": int(r.get("count", 0))} for r in data]
    except (TypeError, ValueError) as exc:
        raise ReportError(f"{path}: a verification result is malformed ({exc})") from None


# --------------------------------------------------------------------------------
# The tutorial's code on extreme inputs
# --------------------------------------------------------------------------------
EXTREMES = (-1000.0, -100.0, -20.0, 1e-30, 20.0, 40.0, 100.0, 1000.0, math.inf, math.nan)
#: relative error above which a finite result counts as inaccurate
INACCURATE = 1e-2


def _call(fn, x: np.ndarray) -> tuple[float, list[str]]:
    """``fn(x)[0]`` and the floating-point warnings it raised."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        value = float(np.asarray(fn(x)).reshape(-1)[0])
    return value, sorted({str(w.message) for w in caught})


def verdict(value: float, exact: float, warned: list[str], tiny: float) -> list[str]:
    """What is wrong with ``value`` as a result whose exact value is ``exact``: a list
    of tags from "warning", "NaN", "NaN dropped", "lost tail" (0 where the exact
    result is not), "inaccurate" (relative error > 1%), "wrong" (wrong infinity).

    Exact values below ``tiny`` (the smallest normal number) are judged by absolute
    error <= ``tiny``, the library's contract: flushing them to 0 is no error.
    """
    tags = ["warning"] if warned else []
    if abs(exact) < tiny and abs(value - exact) <= tiny:
        return tags
    if math.isnan(exact):
        if not math.isnan(value):
            tags.append("NaN dropped")
    elif math.isnan(value):
        tags.append("NaN")
    elif math.isinf(exact) or math.isinf(value):
        if value != exact:
            tags.append("wrong")
    elif value == 0 and exact != 0:
        tags.append("lost tail")
    elif exact != 0 and abs(value - exact) > INACCURATE * abs(exact) or exact == 0 and value != 0:
        tags.append("inaccurate")
    return tags


def naive_comparison() -> list[dict]:
    """The tutorial's code and fastact side by side on :data:`EXTREMES`, per
    activation, forward and derivative, float32 and float64."""
    from fastact.verify import evaluate

    out = []
    for act in fastact.REGISTRY.values():
        if act.name not in NAIVE:
            out.append({"activation": act.name, "available": False, "kernels": []})
            continue
        entry: dict = {"activation": act.name, "available": True, "kernels": []}
        sources = dict(zip(("", "_grad"), NAIVE[act.name], strict=True))
        refs = {"": act.reference, "_grad": act.reference_grad}
        for suffix, source in sources.items():
            naive_name, naive_fn = compile_source(source)
            name = act.name + suffix
            ufunc = getattr(fastact.ufuncs, name)
            public = getattr(fastact, name)
            kernel: dict = {"kernel": name, "naive_name": naive_name, "source": source, "rows": []}
            for dtype in DTYPES:
                tiny = float(np.finfo(dtype).tiny)
                for v in EXTREMES:
                    x = np.array([v], dtype)
                    naive_value, naive_warn = _call(naive_fn, x)
                    fa_value, fa_warn = _call(public, x)
                    with np.errstate(all="ignore"):
                        _, exact_wide = evaluate(ufunc, refs[suffix], act.param_defaults, x)
                        exact = float(exact_wide.astype(dtype)[0])
                    kernel["rows"].append({
                        "dtype": dtype, "x": jsonable(float(x[0])), "exact": jsonable(exact),
                        "naive": jsonable(naive_value), "naive_warnings": naive_warn,
                        "naive_verdict": verdict(naive_value, exact, naive_warn, tiny),
                        "fastact": jsonable(fa_value), "fastact_warnings": fa_warn,
                        "fastact_verdict": verdict(fa_value, exact, fa_warn, tiny),
                    })
            entry["kernels"].append(kernel)
        out.append(entry)
    return out


# --------------------------------------------------------------------------------
# Saturation: where gradients vanish
# --------------------------------------------------------------------------------
GRAD_THRESHOLDS = (1e-3, 1e-6)


def gradient_regions(limit: float = 1000.0, step: float = 1e-3) -> list[dict]:
    """Per activation and threshold t: the x where |f'(x)| >= t, on a float64 grid over
    [-limit, limit].  ``lo``/``hi``: its extent (``None`` where it reaches the grid's
    edge, i.e. the region is unbounded); ``width``: its total length (``None`` if
    unbounded)."""
    n = int(round(2 * limit / step)) + 1
    x = np.linspace(-limit, limit, n)
    out = []
    for act in fastact.REGISTRY.values():
        d = np.abs(getattr(fastact.ufuncs, act.name + "_grad")(x, *act.param_defaults))
        for t in GRAD_THRESHOLDS:
            mask = d >= t
            rec = {"activation": act.name, "threshold": t, "lo": None, "hi": None, "width": None, "empty": False}
            if not mask.any():
                rec["empty"], rec["width"] = True, 0.0
            else:
                where = np.flatnonzero(mask)
                rec["lo"] = None if mask[0] else float(x[where[0]])
                rec["hi"] = None if mask[-1] else float(x[where[-1]])
                if rec["lo"] is not None and rec["hi"] is not None:
                    rec["width"] = float(mask.sum() * (x[1] - x[0]))
            out.append(rec)
    return out


# --------------------------------------------------------------------------------
# Convergence: the playground experiment's JSON
# --------------------------------------------------------------------------------
PLAYGROUND_SCHEMA = "fastact.playground/1"


def read_playground(path: str | Path) -> dict:
    """The playground JSON (schema ``fastact.playground/1``), checked."""
    data = read_json(path, "playground JSON")
    if not isinstance(data, dict) or data.get("schema") != PLAYGROUND_SCHEMA:
        raise ReportError(f"{path} is not `fastact playground` output (expected \"schema\": \"{PLAYGROUND_SCHEMA}\")")
    for key in ("results", "ratios", "curves", "boundaries"):
        if not isinstance(data.get(key, []), list):
            raise ReportError(f"{path}: '{key}' must be a list")
    need = {"dataset", "activation", "threshold", "median", "q25", "q75", "failure_rate"}
    if not all(isinstance(r, dict) and need <= r.keys() for r in data.get("results", [])):
        raise ReportError(f"{path}: every result needs {sorted(need)}")
    need = {"dataset", "threshold", "pair", "ratio"}
    if not all(isinstance(r, dict) and need <= r.keys() for r in data.get("ratios", [])):
        raise ReportError(f"{path}: every ratio needs {sorted(need)}")
    return data
