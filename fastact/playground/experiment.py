"""The convergence experiment: many seeds x datasets x activations, and its statistics.

Design (a paired comparison):

* Seed ``s`` fixes the data and the initial weights: dataset ``d`` is drawn from
  ``SeedSequence(s, spawn_key=(1, crc32(d)))`` and the weights from
  ``SeedSequence(s, spawn_key=(2,))``.  Every activation trains from the same
  data and the same initial weights for a given seed, so activations are
  compared seed by seed.
* Every run trains for the full ``max_epochs`` (no early stop): the loss curves
  are complete, and each run's *epochs to converge* under a criterion is the
  first epoch after which the criterion holds (``None`` if it never does).
* Criteria (:data:`THRESHOLDS`), both judged on the test set after each epoch:
  test loss below 0.05, and 100% test accuracy by the sign of the output.

Statistics over seeds, with a run that never converged counted as +inf epochs:

* ``median``, ``q25``, ``q75``: NumPy's default (linear) quantile, except that
  an interpolation that involves +inf is +inf (:func:`quantile_inf`); +inf is
  reported as ``None``, i.e. "more than ``max_epochs``".  So the median is
  ``None`` as soon as half the runs or more fail.
* ratio ``a/b`` (e.g. sigmoid/tanh: how many times more epochs sigmoid needs):
  median of a over median of b, ``None`` unless both are finite.  Its 95%
  confidence interval is the percentile interval of a paired bootstrap over
  seeds (resample seeds with replacement, recompute both medians and their
  ratio; 2000 resamples from ``default_rng(BOOTSTRAP_SEED)``).  A resample whose
  two medians are both +inf has no ratio and is left out (counted in
  ``bootstrap_dropped``); a bound that is +inf makes ``ci95`` ``None`` (its finite
  lower bound stays in ``ci95_lower``).
"""

from __future__ import annotations

import datetime
import os
import platform
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .._registry import REGISTRY
from ..environment import cpu_model
from . import network
from .datasets import DATASETS, make_dataset

__all__ = [
    "SCHEMA",
    "THRESHOLDS",
    "Threshold",
    "Config",
    "run_experiment",
    "epochs_to_converge",
    "quantile_inf",
    "ratio_with_ci",
    "summary_rows",
]

SCHEMA = "fastact.playground/1"
#: the ratios reported: (numerator, denominator), as the tutorial states them
RATIO_PAIRS = (("sigmoid", "tanh"), ("tanh", "relu"))
BOOTSTRAP_SEED = 20240601
#: decision boundaries: grid points per axis over [-6, 6] (the Playground's view)
GRID_SIZE = 50
EXTENT = (-6.0, 6.0, -6.0, 6.0)
#: loss-curve points kept in the JSON (log-spaced epochs)
CURVE_POINTS = 160


@dataclass(frozen=True)
class Threshold:
    """A convergence criterion judged on the test set after every epoch."""

    name: str
    description: str
    #: (loss_test, acc_test) of shape (S, E) -> bool (S, E): criterion holds after the epoch
    holds: Callable[[np.ndarray, np.ndarray], np.ndarray]


THRESHOLDS = (
    Threshold(
        "loss<0.05",
        "first epoch after which the test loss, the mean of 0.5*(output - label)^2 over the test points, is < 0.05",
        lambda loss, acc: loss < 0.05,
    ),
    Threshold(
        "acc=100%",
        "first epoch after which every test point is classified right by the output's sign (output >= 0 means +1)",
        lambda loss, acc: acc == 1.0,
    ),
)


@dataclass(frozen=True)
class Config:
    """What to run (the defaults are the tutorial's network and the Playground's settings)."""

    datasets: tuple[str, ...] = tuple(DATASETS)
    activations: tuple[str, ...] = tuple(REGISTRY)
    seeds: int = 50
    shape: tuple[int, ...] = (3, 3)
    max_epochs: int = 2000
    learning_rate: float = 0.03
    batch_size: int = 10
    noise: float = 0.0
    workers: int = os.cpu_count() or 1
    bootstrap: int = 2000

    def validate(self) -> None:
        for d in self.datasets:
            if d not in DATASETS:
                raise ValueError(f"unknown dataset {d!r}; choose from {', '.join(DATASETS)}")
        for a in self.activations:
            if a not in REGISTRY:
                raise ValueError(f"unknown activation {a!r}; choose from {', '.join(REGISTRY)}")
        if self.seeds < 1 or self.max_epochs < 1 or self.workers < 1:
            raise ValueError("seeds, max_epochs and workers must be >= 1")
        network.layer_sizes(self.shape)


# --------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------
def epochs_to_converge(holds: np.ndarray) -> np.ndarray:
    """First epoch (1-based) at which ``holds[s, e]`` is true, per seed; +inf where never (float)."""
    holds = np.asarray(holds, dtype=bool)
    first = np.argmax(holds, axis=1) + 1.0
    return np.where(holds.any(axis=1), first, np.inf)


def quantile_inf(values: np.ndarray, q: float, axis: int = -1) -> np.ndarray | float:
    """NumPy's linear quantile on values that may be +inf, with no NaN and no warning.

    ``pos = (n - 1) q``; the result is the order statistic at ``pos`` if ``pos`` is
    whole, else the linear interpolation between its two neighbours, which is
    +inf when the upper one is +inf.
    """
    v = np.sort(np.asarray(values, dtype=float), axis=axis)
    n = v.shape[axis]
    pos = (n - 1) * q
    lo, hi = int(np.floor(pos)), int(np.ceil(pos))
    v_lo, v_hi = np.take(v, lo, axis=axis), np.take(v, hi, axis=axis)
    t = pos - lo
    if t == 0:
        out = v_lo
    else:
        finite = np.isfinite(v_hi)  # then v_lo is finite too
        out = np.where(finite, np.where(finite, v_lo, 0.0) * (1 - t) + np.where(finite, v_hi, 0.0) * t, np.inf)
    return float(out) if np.ndim(out) == 0 else out


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den for medians in [1, inf]: inf/finite = inf, finite/inf = 0, inf/inf = NaN (no warning)."""
    num, den = np.broadcast_arrays(np.asarray(num, float), np.asarray(den, float))
    fn, fd = np.isfinite(num), np.isfinite(den)
    safe = np.where(fn & fd, num, 1.0) / np.where(fn & fd, den, 1.0)
    return np.select([fn & fd, ~fn & fd, fn & ~fd], [safe, np.inf, 0.0], np.nan)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def ratio_with_ci(num_epochs: np.ndarray, den_epochs: np.ndarray, resamples: int = 2000,
                  seed: int = BOOTSTRAP_SEED) -> dict:  # fmt: skip
    """Ratio of median epochs (paired by seed) with a bootstrap 95% percentile interval.

    Returns ``ratio``, ``ci95``, ``ci95_lower``, ``bootstrap_dropped`` and
    ``resamples`` (see the module docstring for the rules on +inf).
    """
    num = np.asarray(num_epochs, float)
    den = np.asarray(den_epochs, float)
    ratio = _ratio(quantile_inf(num, 0.5), quantile_inf(den, 0.5))
    out = {"ratio": _finite(ratio), "ci95": None, "ci95_lower": None, "bootstrap_dropped": 0, "resamples": resamples}
    if out["ratio"] is None:
        return out
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, num.size, size=(resamples, num.size))
    boot = _ratio(quantile_inf(num[idx], 0.5, axis=1), quantile_inf(den[idx], 0.5, axis=1))
    kept = boot[~np.isnan(boot)]
    out["bootstrap_dropped"] = int(boot.size - kept.size)
    if kept.size == 0:
        return out
    lo, hi = quantile_inf(kept, 0.025), quantile_inf(kept, 0.975)
    out["ci95_lower"] = _finite(lo)
    if np.isfinite(lo) and np.isfinite(hi):
        out["ci95"] = [float(lo), float(hi)]
    return out


def summary_rows(data: dict) -> list[dict]:
    """One row per dataset x threshold x activation from the experiment's JSON dict.

    Keys: ``dataset``, ``threshold``, ``activation``, ``seeds``, ``converged``
    (number of runs that met the criterion), ``median``, ``q25``, ``q75``, ``iqr``
    (``None`` where +inf, i.e. beyond ``max_epochs``) and ``failure_rate``.
    Needs no plotting library.
    """
    rows = []
    for r in data["results"]:
        epochs = r["epochs"]
        iqr = None if r["q25"] is None or r["q75"] is None else r["q75"] - r["q25"]
        rows.append({
            "dataset": r["dataset"],
            "threshold": r["threshold"],
            "activation": r["activation"],
            "seeds": len(epochs),
            "converged": sum(e is not None for e in epochs),
            "median": r["median"],
            "q25": r["q25"],
            "q75": r["q75"],
            "iqr": iqr,
            "failure_rate": r["failure_rate"],
        })  # fmt: skip
    order = {(d, t, a): i for i, (d, t, a) in enumerate(
        (d, t["name"], a) for d in data["config"]["datasets"] for t in data["config"]["thresholds"]
        for a in data["config"]["activations"])}  # fmt: skip
    return sorted(rows, key=lambda row: order.get((row["dataset"], row["threshold"], row["activation"]), len(order)))


# --------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------
def _data_seed(seed: int, dataset: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(1, zlib.crc32(dataset.encode())))


def _init_seed(seed: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(2,))


def _inputs(cfg: Config, dataset: str) -> tuple[np.ndarray, ...]:
    """Initial parameters (S, P) and stacked data of every seed for one dataset."""
    sets = [make_dataset(dataset, np.random.default_rng(_data_seed(s, dataset)), cfg.noise) for s in range(cfg.seeds)]
    thetas = np.stack([network.init_params(cfg.shape, np.random.default_rng(_init_seed(s))) for s in range(cfg.seeds)])
    return (thetas, *(np.stack([getattr(d, k) for d in sets]) for k in ("x_train", "y_train", "x_test", "y_test")))


def _curve_epochs(max_epochs: int) -> np.ndarray:
    return np.unique(np.round(np.geomspace(1, max_epochs, CURVE_POINTS)).astype(np.int64))


def _round(x: np.ndarray, digits: int) -> list:
    """``x`` rounded to ``digits`` decimals, as nested lists (keeps the JSON small)."""
    return np.round(x, digits).tolist()


def _significant(x: np.ndarray, digits: int = 4) -> list:
    """``x`` rounded to ``digits`` significant digits (losses span many decades)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(x, dtype=float)]


def run_experiment(cfg: Config, progress: Callable[[int, int, str], None] | None = None, command: str = "") -> dict:
    """Run every dataset x activation over ``cfg.seeds`` seeds; returns the JSON-ready dict.

    Runs of one (dataset, activation) train in lockstep in one compiled call
    (seeds vectorize); the pairs are spread over ``cfg.workers`` threads (the
    compiled loop releases the GIL).  ``progress(done, total, label)`` is called
    as pairs finish.
    """
    import numba

    from .. import __version__

    cfg.validate()
    t0 = time.perf_counter()
    load_before = os.getloadavg()
    inputs = {d: _inputs(cfg, d) for d in cfg.datasets}
    # Every pair runs the same number of epochs; the transcendental activations cost
    # about twice as much per epoch: start them first, so the pool ends on short jobs.
    pairs = sorted(((d, a) for d in cfg.datasets for a in cfg.activations),
                   key=lambda p: not REGISTRY[p[1]].transcendental)  # fmt: skip
    runs: dict[tuple[str, str], dict] = {}

    def job(pair: tuple[str, str]) -> tuple[tuple[str, str], dict]:
        d, a = pair
        thetas, xtr, ytr, xte, yte = inputs[d]
        return pair, network.train(a, cfg.shape, thetas, xtr, ytr, xte, yte, learning_rate=cfg.learning_rate,
                                   batch_size=cfg.batch_size, epochs=cfg.max_epochs)  # fmt: skip

    if progress:
        progress(0, len(pairs), "")
    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        for done, (pair, result) in enumerate(pool.map(job, pairs), start=1):
            runs[pair] = result
            if progress:
                progress(done, len(pairs), f"{pair[0]} {pair[1]}")
    elapsed_train = time.perf_counter() - t0

    data = {
        "schema": SCHEMA,
        "meta": {},
        "config": {
            "datasets": list(cfg.datasets),
            "activations": list(cfg.activations),
            "seeds": cfg.seeds,
            "shape": list(cfg.shape),
            "max_epochs": cfg.max_epochs,
            "learning_rate": cfg.learning_rate,
            "batch_size": cfg.batch_size,
            "noise": cfg.noise,
            "thresholds": [{"name": t.name, "description": t.description} for t in THRESHOLDS],
            "activation_params": {a: dict(zip([p.name for p in REGISTRY[a].params], REGISTRY[a].param_defaults,
                                              strict=True)) for a in cfg.activations},  # fmt: skip
            "output_activation": "tanh",
            "init": "weights U[-0.5, 0.5), biases 0.1",
            "train_points": int(inputs[cfg.datasets[0]][1].shape[1]),
            "test_points": int(inputs[cfg.datasets[0]][3].shape[1]),
        },
        "results": [],
        "ratios": [],
        "curves": [],
        "boundaries": [],
    }
    epochs: dict[tuple[str, str, str], np.ndarray] = {}
    for d in cfg.datasets:
        for t in THRESHOLDS:
            for a in cfg.activations:
                r = runs[d, a]
                e = epochs_to_converge(t.holds(r["loss_test"], r["acc_test"]))
                epochs[d, a, t.name] = e
                data["results"].append({
                    "dataset": d,
                    "activation": a,
                    "threshold": t.name,
                    "epochs": [int(v) if np.isfinite(v) else None for v in e],
                    "median": _finite(quantile_inf(e, 0.5)),
                    "q25": _finite(quantile_inf(e, 0.25)),
                    "q75": _finite(quantile_inf(e, 0.75)),
                    "failure_rate": float(np.mean(~np.isfinite(e))),
                })  # fmt: skip
            for num, den in RATIO_PAIRS:
                if num in cfg.activations and den in cfg.activations:
                    stats = ratio_with_ci(epochs[d, num, t.name], epochs[d, den, t.name], cfg.bootstrap)
                    data["ratios"].append({"dataset": d, "threshold": t.name, "pair": f"{num}/{den}", **stats})
    keep = _curve_epochs(cfg.max_epochs)
    for d in cfg.datasets:
        for a in cfg.activations:
            loss = runs[d, a]["loss_train"][:, keep - 1]
            q25, q50, q75 = np.quantile(loss, (0.25, 0.5, 0.75), axis=0)
            data["curves"].append({
                "dataset": d,
                "activation": a,
                "epochs": keep.tolist(),
                "train_loss_median": _significant(q50),
                "train_loss_q25": _significant(q25),
                "train_loss_q75": _significant(q75),
                "test_loss_median": _significant(np.median(runs[d, a]["loss_test"][:, keep - 1], axis=0)),
            })  # fmt: skip
    xs = np.linspace(EXTENT[0], EXTENT[1], GRID_SIZE)
    ys = np.linspace(EXTENT[3], EXTENT[2], GRID_SIZE)  # row 0 at the top (y = +6), as an image
    gx, gy = np.meshgrid(xs, ys)
    grid_points = np.column_stack((gx.ravel(), gy.ravel()))
    for d in cfg.datasets:
        _, xtr, ytr, _, _ = inputs[d]
        points = np.column_stack((xtr[0], ytr[0]))
        for a in cfg.activations:
            out = network.predict(a, cfg.shape, runs[d, a]["theta"][0], grid_points)
            data["boundaries"].append({
                "dataset": d,
                "activation": a,
                "seed": 0,
                "epochs": cfg.max_epochs,
                "extent": list(EXTENT),
                "grid": _round(out.reshape(GRID_SIZE, GRID_SIZE), 2),
                "grid_layout": "grid[row][col]: x = linspace(-6, 6) over columns, y = linspace(6, -6) over rows",
                "train_points": _round(points, 2),
            })  # fmt: skip
    elapsed = time.perf_counter() - t0
    data["meta"] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "elapsed_s": round(elapsed, 2),
        "train_s": round(elapsed_train, 2),
        "fastact": __version__,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "processes": cfg.workers,
        "parallelism": "threads (the compiled training loop releases the GIL)",
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "bootstrap_resamples": cfg.bootstrap,
        "bootstrap_seed": BOOTSTRAP_SEED,
    }
    return data
