"""Tests of the convergence experiment (fastact.playground).

The compiled network is checked against an independent plain-NumPy network
written here from the Playground's rules (its own parameter unpacking, matrix
products, the registry's NumPy reference activations, ``np.tanh`` output), to
1e-9 relative on the whole loss trajectory; its backward pass against finite
differences of the loss; the datasets against the Playground's generators'
facts; and the command end to end on a small experiment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import fastact
from fastact.playground import datasets, experiment, network
from fastact.playground.cli import format_tables, main

# The network calls every activation through the same registry kernels (forward,
# derivative, parameters), and the kernels themselves are tested everywhere else;
# what differs per activation here is a training loop compiled for it (~10 s
# each).  So: the tutorial's four, which the experiment is about, and one of each
# other kind of kernel: parameters (elu), a gated x * gate(x) (gelu_tanh), and a
# piecewise-linear one with two kinks (hard_tanh).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu_tanh", "hard_tanh")
assert set(ACTIVATIONS) <= set(fastact.REGISTRY)
# The whole training loop against NumPy's: all but gelu_tanh, whose loop alone took
# 27 s of CI to compile; the network code is the same for every activation, and
# gelu_tanh's gradients through it are checked by finite differences below.
TRAINED = tuple(a for a in ACTIVATIONS if a != "gelu_tanh")
SHAPE = (3, 3)
RTOL = 1e-9


# --------------------------------------------------------------------------------
# An independent NumPy network (one example at a time, as the Playground runs it)
# --------------------------------------------------------------------------------
def random_theta(rng: np.random.Generator, shape=SHAPE) -> np.ndarray:
    """Flat parameters in the documented layout: per layer W (row-major, out x in), then b."""
    sizes = [2, *shape, 1]
    parts = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False):
        parts += [rng.uniform(-0.5, 0.5, n_out * n_in), rng.uniform(-0.3, 0.3, n_out)]
    return np.concatenate(parts)


def unpack(theta: np.ndarray, shape=SHAPE) -> tuple[list[np.ndarray], list[np.ndarray]]:
    sizes = [2, *shape, 1]
    weights, biases, at = [], [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False):
        weights.append(theta[at : at + n_out * n_in].reshape(n_out, n_in).copy())
        at += n_out * n_in
        biases.append(theta[at : at + n_out].copy())
        at += n_out
    assert at == theta.size
    return weights, biases


def pack(weights, biases) -> np.ndarray:
    return np.concatenate([p for w, b in zip(weights, biases, strict=True) for p in (w.ravel(), b)])


class NumpyNet:
    """The Playground network in plain NumPy: hidden activation from the registry's reference."""

    def __init__(self, activation: str, theta: np.ndarray) -> None:
        act = fastact.REGISTRY[activation]
        params = act.param_defaults
        self.f = lambda z: act.reference(z, *params)
        self.df = lambda z: act.reference_grad(z, *params)
        self.w, self.b = unpack(theta)

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations and outputs per layer for points ``x`` of shape (n, 2)."""
        outs, pre = [x], []
        for layer, (w, b) in enumerate(zip(self.w, self.b, strict=True)):
            z = outs[-1] @ w.T + b
            pre.append(z)
            outs.append(np.tanh(z) if layer == len(self.w) - 1 else self.f(z))
        return pre, outs

    def loss(self, x, y) -> tuple[float, float]:
        o = self.forward(x)[1][-1][:, 0]
        return float(np.mean(0.5 * (o - y) ** 2)), float(np.mean((o >= 0) == (y > 0)))

    def gradient(self, x: np.ndarray, y: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """d(0.5 (o - y)^2)/d(W, b) for one point."""
        pre, outs = self.forward(x[None])
        d = (outs[-1][0] - y) * (1 - np.tanh(pre[-1][0]) ** 2)
        gw, gb = [None] * len(self.w), [None] * len(self.w)
        for layer in range(len(self.w) - 1, -1, -1):
            gw[layer] = np.outer(d, outs[layer][0])
            gb[layer] = d
            if layer:
                d = (self.w[layer].T @ d) * self.df(pre[layer - 1][0])
        return gw, gb

    def train(self, x_train, y_train, x_test, y_test, lr: float, batch: int, epochs: int) -> dict:
        """The Playground's oneStep: accumulate per example, update every ``batch``-th example of the epoch."""
        acc_w = [np.zeros_like(w) for w in self.w]
        acc_b = [np.zeros_like(b) for b in self.b]
        count = 0
        hist = {"loss_train": [], "loss_test": [], "acc_test": []}
        for _ in range(epochs):
            for k, (x, y) in enumerate(zip(x_train, y_train, strict=True)):
                gw, gb = self.gradient(x, y)
                for layer in range(len(self.w)):
                    acc_w[layer] += gw[layer]
                    acc_b[layer] += gb[layer]
                count += 1
                if (k + 1) % batch == 0:
                    for layer in range(len(self.w)):
                        self.w[layer] -= lr * acc_w[layer] / count
                        self.b[layer] -= lr * acc_b[layer] / count
                        acc_w[layer][:] = 0
                        acc_b[layer][:] = 0
                    count = 0
            hist["loss_train"].append(self.loss(x_train, y_train)[0])
            loss, acc = self.loss(x_test, y_test)
            hist["loss_test"].append(loss)
            hist["acc_test"].append(acc)
        out = {k: np.array(v) for k, v in hist.items()}
        out["theta"] = pack(self.w, self.b)
        return out


def seed_data(name: str, seeds: range) -> tuple[np.ndarray, ...]:
    sets = [datasets.make_dataset(name, s) for s in seeds]
    return tuple(np.stack([getattr(d, k) for d in sets]) for k in ("x_train", "y_train", "x_test", "y_test"))


# --------------------------------------------------------------------------------
# Compiled training == NumPy training
# --------------------------------------------------------------------------------
@pytest.mark.parametrize("batch", [10, 7])
@pytest.mark.parametrize("activation", TRAINED)
def test_trajectory_matches_numpy(activation, batch):
    # Two seeds in lockstep, each with its own data and weights; batch 7 leaves a
    # partial batch at the end of each epoch (carried into the next, as in the Playground).
    rng = np.random.default_rng(7)
    thetas = np.stack([random_theta(rng) for _ in range(2)])
    data = seed_data("circle", range(2))
    epochs = 4
    got = network.train(activation, SHAPE, thetas, *data, learning_rate=0.03, batch_size=batch, epochs=epochs)
    for s in range(2):
        expected = NumpyNet(activation, thetas[s]).train(*(d[s] for d in data), lr=0.03, batch=batch, epochs=epochs)
        for key in ("loss_train", "loss_test", "theta"):
            np.testing.assert_allclose(got[key][s], expected[key], rtol=RTOL, err_msg=f"{key}, seed {s}")
        np.testing.assert_array_equal(got["acc_test"][s], expected["acc_test"])
    assert got["loss_train"].shape == (2, epochs)
    assert not np.array_equal(got["theta"], thetas)  # it trained, and did not write into the input


def test_lockstep_seeds_are_independent():
    """A seed trained beside others gives exactly what it gives alone (same operations per seed)."""
    rng = np.random.default_rng(3)
    thetas = np.stack([random_theta(rng) for _ in range(5)])
    data = seed_data("xor", range(5))
    together = network.train("tanh", SHAPE, thetas, *data, epochs=3)
    alone = network.train("tanh", SHAPE, thetas[2], *(d[2] for d in data), epochs=3)
    for key in ("loss_train", "loss_test", "acc_test", "theta"):
        np.testing.assert_array_equal(together[key][2], alone[key])


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_matches_finite_differences(activation):
    rng = np.random.default_rng(11)
    theta = random_theta(rng)
    points = rng.uniform(-5, 5, (10, 2))
    labels = np.where(points[:, 0] * points[:, 1] >= 0, 1.0, -1.0)
    loss, grad = network.loss_and_grad(activation, SHAPE, theta, points, labels)
    net = NumpyNet(activation, theta)
    assert loss == pytest.approx(net.loss(points, labels)[0], rel=RTOL)
    h = 1e-6
    expected = np.empty_like(theta)
    for q in range(theta.size):
        up, down = theta.copy(), theta.copy()
        up[q] += h
        down[q] -= h
        expected[q] = (network.loss_and_grad(activation, SHAPE, up, points, labels)[0]
                       - network.loss_and_grad(activation, SHAPE, down, points, labels)[0]) / (2 * h)  # fmt: skip
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9)


_CACHE_PROBE = """
import numpy as np
from numba import types
from fastact.playground import network
x = np.array([[1.0, 2.0], [-1.0, 0.5]]); y = np.array([1.0, -1.0])
network.train("relu", (3, 3), network.init_params((3, 3), np.random.default_rng(0)), x, y, x, y, epochs=1)
stats = network._train.stats
literal = lambda counter: sum(v for k, v in counter.items() if isinstance(k[0], types.StringLiteral))
print(literal(stats.cache_hits), literal(stats.cache_misses))
"""


def test_training_loop_is_cached_on_disk():
    """A second process loads the compiled loop from Numba's cache instead of compiling it.

    (Numba cannot cache a function that takes other compiled functions as
    arguments; the activation is a literal string for that reason.)
    """
    x = np.array([[0.5, -2.0], [3.0, 1.0]])
    network.train("relu", SHAPE, random_theta(np.random.default_rng(0)), x, np.ones(2), x, np.ones(2), epochs=1)
    child = subprocess.run([sys.executable, "-c", _CACHE_PROBE], capture_output=True, text=True, env=dict(os.environ),
                           check=True, timeout=300)  # fmt: skip
    hits, misses = map(int, child.stdout.split())
    assert (hits, misses) == (1, 0)


def test_predict_matches_the_evaluated_loss():
    rng = np.random.default_rng(5)
    theta = random_theta(rng)
    d = datasets.make_dataset("gauss", 1)
    got = network.train("relu", SHAPE, theta, d.x_train, d.y_train, d.x_test, d.y_test, epochs=2)
    out = network.predict("relu", SHAPE, got["theta"], d.x_test)
    assert np.all(np.abs(out) <= 1)
    assert np.mean(0.5 * (out - d.y_test) ** 2) == pytest.approx(got["loss_test"][-1], rel=1e-12)
    assert np.mean((out >= 0) == (d.y_test > 0)) == got["acc_test"][-1]


def test_parameters_and_errors():
    theta = network.init_params(SHAPE, np.random.default_rng(0))
    w, b = unpack(theta)
    assert theta.size == network.num_params(SHAPE) == 9 + 12 + 4
    assert all(np.all(bias == 0.1) for bias in b)
    weights = np.concatenate([m.ravel() for m in w])
    assert weights.min() >= -0.5 and weights.max() < 0.5 and np.unique(weights).size == weights.size
    d = datasets.make_dataset("xor", 0)
    with pytest.raises(ValueError, match="unknown activation"):
        network.train("nope", SHAPE, theta, d.x_train, d.y_train, d.x_test, d.y_test, epochs=1)
    with pytest.raises(ValueError, match="need"):
        network.train("relu", (3,), theta, d.x_train, d.y_train, d.x_test, d.y_test, epochs=1)
    with pytest.raises(ValueError, match="parameter"):
        network.predict("leaky_relu", SHAPE, theta, d.x_test, params=(0.1, 0.2))
    with pytest.raises(ValueError, match=">= 1"):
        network.layer_sizes((3, 0))


# --------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(datasets.DATASETS))
def test_dataset_split_and_balance(name):
    d = datasets.make_dataset(name, 123)
    assert d.x_train.shape == (250, 2) and d.x_test.shape == (250, 2)
    assert d.y_train.shape == (250,) and d.y_test.shape == (250,)
    labels = np.concatenate((d.y_train, d.y_test))
    assert set(np.unique(labels)) == {-1.0, 1.0}
    if name != "xor":  # built as 250 + 250; xor's labels follow its uniform points
        assert np.sum(labels > 0) == 250
    # shuffled once: the generator's output, permuted, first half trains
    rng = np.random.default_rng(123)
    points, raw = datasets.DATASETS[name](500, 0.0, rng)
    order = rng.permutation(500)
    np.testing.assert_array_equal(np.concatenate((d.x_train, d.x_test)), points[order])
    np.testing.assert_array_equal(labels, raw[order])
    assert not np.array_equal(raw[order], raw)
    # seeded: the same seed gives the same data, another seed other data
    np.testing.assert_array_equal(datasets.make_dataset(name, 123).x_train, d.x_train)
    assert not np.array_equal(datasets.make_dataset(name, 124).x_train, d.x_train)


def _radius(p):
    return np.hypot(p[:, 0], p[:, 1])


def test_circle():
    p, y = datasets.circle(500, 0.0, np.random.default_rng(0))
    r = _radius(p)
    assert np.all(y[:250] == 1) and np.all(y[250:] == -1)
    assert r[:250].max() < 2.5 and r[250:].min() >= 3.5 and r[250:].max() <= 5
    assert r[:250].max() > 2.4 and r[250:].min() < 3.6 and r[250:].max() > 4.9
    # noise perturbs only the label test: points keep their rings, labels near 2.5 flip
    p, y = datasets.circle(500, 0.5, np.random.default_rng(0))
    r = _radius(p)
    assert r[:250].max() < 2.5 and r[250:].min() >= 3.5
    assert 0 < np.sum(y[:250] == -1) < 250 and 0 < np.sum(y[250:] == 1) < 250


def test_xor():
    p, y = datasets.xor(500, 0.0, np.random.default_rng(0))
    assert np.all((np.abs(p) >= 0.3) & (np.abs(p) <= 5.3))
    assert np.abs(p).min() < 0.4 and np.abs(p).max() > 5.2
    np.testing.assert_array_equal(y, np.where(p[:, 0] * p[:, 1] >= 0, 1.0, -1.0))
    assert 200 < np.sum(y > 0) < 300
    p, y = datasets.xor(500, 0.5, np.random.default_rng(0))
    assert np.all((np.abs(p) >= 0.3) & (np.abs(p) <= 5.3))
    assert 0 < np.sum(y != np.where(p[:, 0] * p[:, 1] >= 0, 1.0, -1.0)) < 250


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_gauss(noise):
    p, y = datasets.gauss(500, noise, np.random.default_rng(0))
    assert np.all(y[:250] == 1) and np.all(y[250:] == -1)
    std = np.sqrt(0.5 + 7 * noise)  # variance 0.5 at noise 0, 4 at noise 0.5
    for part, centre in ((p[:250], 2.0), (p[250:], -2.0)):
        # 250 points per coordinate: the sample mean is within 4 standard errors
        assert np.all(np.abs(part.mean(axis=0) - centre) < 4 * std / np.sqrt(250))
        assert np.all(np.abs(part.std(axis=0) / std - 1) < 0.15)


def test_spiral():
    p, y = datasets.spiral(500, 0.0, np.random.default_rng(0))
    assert np.all(y[:250] == 1) and np.all(y[250:] == -1)
    i = np.arange(250)
    for part, delta in ((p[:250], 0.0), (p[250:], np.pi)):
        np.testing.assert_allclose(_radius(part), 5 * i / 250, atol=1e-12)
        t = 1.75 * i / 250 * 2 * np.pi + delta
        np.testing.assert_allclose(part, np.column_stack((5 * i / 250 * np.sin(t), 5 * i / 250 * np.cos(t))),
                                   atol=1e-12)  # fmt: skip
    noisy, _ = datasets.spiral(500, 0.2, np.random.default_rng(0))
    shift = noisy - p
    assert np.abs(shift).max() <= 0.2 and np.abs(shift).max() > 0.19


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.make_dataset("moons", 0)


# --------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------
def test_epochs_to_converge():
    holds = np.array([[False, True, False, True], [False, False, False, False], [True, True, True, True]])
    np.testing.assert_array_equal(experiment.epochs_to_converge(holds), [2, np.inf, 1])


def test_quantile_inf():
    finite = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0])
    for q in (0.25, 0.5, 0.75):
        assert experiment.quantile_inf(finite, q) == pytest.approx(np.quantile(finite, q), rel=1e-15)
    assert experiment.quantile_inf([1.0, 2.0, np.inf], 0.5) == 2.0
    assert experiment.quantile_inf([1.0, 2.0, np.inf, np.inf], 0.5) == np.inf  # half failed: no median
    assert experiment.quantile_inf([1.0, 3.0, 5.0, np.inf], 0.5) == 4.0
    assert experiment.quantile_inf([1.0, 3.0, 5.0, np.inf], 0.75) == np.inf
    rows = np.array([[3.0, np.inf, 1.0], [np.inf, np.inf, 2.0]])
    np.testing.assert_array_equal(experiment.quantile_inf(rows, 0.5, axis=1), [3.0, np.inf])


def test_ratio_with_ci():
    rng = np.random.default_rng(0)
    den = rng.integers(40, 60, 50).astype(float)
    num = den * 10 + rng.integers(-20, 20, 50)
    r = experiment.ratio_with_ci(num, den, resamples=500)
    assert r["ratio"] == pytest.approx(np.median(num) / np.median(den))
    lo, hi = r["ci95"]
    assert 9 < lo < r["ratio"] < hi < 11 and r["bootstrap_dropped"] == 0 and r["ci95_lower"] == lo
    assert experiment.ratio_with_ci(num, den, resamples=500) == r  # fixed bootstrap seed
    # sigmoid never converging: no ratio
    assert experiment.ratio_with_ci(np.full(50, np.inf), den, 500)["ratio"] is None
    # a median that converges but might not on resampling: a finite ratio, an open interval
    some = np.where(np.arange(50) < 24, np.inf, num)
    r = experiment.ratio_with_ci(some, den, 500)
    assert r["ratio"] is not None and r["ci95"] is None and r["ci95_lower"] is not None


# --------------------------------------------------------------------------------
# The command, end to end
# --------------------------------------------------------------------------------
def test_command_end_to_end(tmp_path, capsys):
    out = tmp_path / "pg"
    argv = ["--datasets", "xor", "--activations", "tanh,relu", "--seeds", "3", "--max-epochs", "30",
            "--out", str(out), "--bootstrap", "200"]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "xor" in captured.out and "tanh/relu" in captured.out
    assert "2/2" in captured.err  # the progress line reached the end
    data = json.loads((out / "playground.json").read_text())
    assert data["schema"] == "fastact.playground/1"
    assert set(data) >= {"schema", "meta", "config", "results", "ratios", "curves", "boundaries"}
    assert set(data["meta"]) >= {"date", "command", "elapsed_s", "fastact", "numba", "numpy", "cpu", "processes"}
    cfg = data["config"]
    assert cfg["datasets"] == ["xor"] and cfg["activations"] == ["tanh", "relu"] and cfg["seeds"] == 3
    assert cfg["shape"] == [3, 3] and cfg["max_epochs"] == 30 and cfg["learning_rate"] == 0.03
    assert cfg["batch_size"] == 10 and cfg["noise"] == 0.0
    assert [t["name"] for t in cfg["thresholds"]] == ["loss<0.05", "acc=100%"]
    assert len(data["results"]) == 4
    for r in data["results"]:
        assert set(r) >= {"dataset", "activation", "threshold", "epochs", "median", "q25", "q75", "failure_rate"}
        assert len(r["epochs"]) == 3 and all(e is None or 1 <= e <= 30 for e in r["epochs"])
        assert r["failure_rate"] == sum(e is None for e in r["epochs"]) / 3
    pairs = {(r["pair"], r["threshold"]) for r in data["ratios"]}
    assert pairs == {("tanh/relu", "loss<0.05"), ("tanh/relu", "acc=100%")}
    for r in data["ratios"]:
        assert set(r) >= {"dataset", "threshold", "pair", "ratio", "ci95"}
    for c in data["curves"]:
        assert c["epochs"][0] == 1 and c["epochs"][-1] == 30
        n = len(c["epochs"])
        assert len(c["train_loss_median"]) == len(c["train_loss_q25"]) == len(c["train_loss_q75"]) == n
        assert all(lo <= m <= hi for lo, m, hi in zip(c["train_loss_q25"], c["train_loss_median"],
                                                      c["train_loss_q75"], strict=True))  # fmt: skip
    for b in data["boundaries"]:
        grid = np.array(b["grid"])
        assert b["extent"] == [-6, 6, -6, 6] and grid.shape == (50, 50) and np.all(np.abs(grid) <= 1)
        assert len(b["train_points"]) == 250 and {p[2] for p in b["train_points"]} == {-1.0, 1.0}
    rows = experiment.summary_rows(data)
    assert [(r["threshold"], r["activation"]) for r in rows] == [
        ("loss<0.05", "tanh"), ("loss<0.05", "relu"), ("acc=100%", "tanh"), ("acc=100%", "relu")]  # fmt: skip
    assert format_tables(data) in captured.out
    figures = ["loss_curves.svg", "loss_curves.png", "boundaries.png"]
    if importlib.util.find_spec("matplotlib"):
        assert all((out / f).stat().st_size > 1000 for f in figures)
    else:
        assert not any((out / f).exists() for f in figures) and "matplotlib" in captured.err


def test_figures_from_json():
    from fastact.playground.figures import boundaries_figure, loss_curves_figure

    data = experiment.run_experiment(experiment.Config(datasets=("gauss", "circle"), activations=("relu",), seeds=2,
                                                       max_epochs=3, workers=1, bootstrap=10))  # fmt: skip
    if not importlib.util.find_spec("matplotlib"):
        with pytest.raises(ImportError, match="pip install"):
            loss_curves_figure(data)
        return
    fig = loss_curves_figure(data)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    fig = boundaries_figure(data)
    assert len(fig.axes) == 2 and len(fig.axes[0].images) == 1


def test_command_rejects_bad_input(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--activations", "relu,swoosh"])
    assert exc.value.code == 2 and "swoosh" in capsys.readouterr().err
    assert main(["--shape", "3,0", "--seeds", "1"]) == 2


def test_fastact_command_dispatches(capsys):
    from fastact.__main__ import main as fastact_main

    with pytest.raises(SystemExit) as exc:
        fastact_main(["playground", "--help"])
    assert exc.value.code == 0 and "fastact playground" in capsys.readouterr().out
