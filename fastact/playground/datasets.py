"""The TensorFlow Playground's classification datasets, seeded with a NumPy Generator.

Each generator returns ``(points, labels)``: ``points`` of shape ``(n, 2)`` (the raw
x, y coordinates, the network's two inputs) and ``labels`` of +1.0 / -1.0, all
float64, the positive class first, as the Playground builds them.
:func:`make_dataset` then shuffles the 500 points once and splits them: the first
half trains, the rest tests.

Facts taken from the Playground's ``src/dataset.ts`` and ``src/playground.ts``:

* circle: radius 5.  Half the points have r ~ U(0, 2.5), the other half
  r ~ U(3.5, 5), angle ~ U(0, 2 pi), (x, y) = (r sin a, r cos a).  The label is +1
  if the point, shifted by U(-5, 5) * noise in each coordinate, lies within 2.5 of
  the centre, else -1: noise flips labels near the ring, it never moves points.
* xor: x, y ~ U(-5, 5), each then pushed 0.3 away from 0 (+0.3 if positive, else
  -0.3), so |x|, |y| lie in [0.3, 5.3].  Label +1 if x' * y' >= 0 for the point
  shifted by U(-5, 5) * noise per coordinate, else -1.
* gauss: 250 points N((2, 2), v I) labelled +1 and 250 N((-2, -2), v I) labelled
  -1, with variance v = 0.5 + 7 * noise (the Playground maps noise 0 -> 0.5 and
  noise 0.5 -> 4 linearly).
* spiral: per class i = 0..249, r = 5 i / 250, t = 1.75 (i / 250) 2 pi + delta,
  delta = 0 for +1 and pi for -1, (x, y) = (r sin t, r cos t) + U(-1, 1) * noise.

Deliberate deviations: random numbers come from a NumPy ``Generator`` (the
Playground uses seedrandom's ``Math.random``), so the samples differ while the
distributions are the same; the uniform noise draws are skipped when ``noise`` is
0 (they would not change anything); the shuffle is ``Generator.permutation``
rather than the Playground's own Fisher-Yates loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["DATASETS", "Dataset", "circle", "xor", "gauss", "spiral", "make_dataset", "NUM_SAMPLES", "TRAIN_FRACTION"]

#: points per dataset (the Playground's NUM_SAMPLES_CLASSIFY)
NUM_SAMPLES = 500
#: share of the shuffled points used for training (the Playground's default 50%)
TRAIN_FRACTION = 0.5


def _noise(rng: np.random.Generator, n: int, half_width: float, noise: float) -> np.ndarray:
    """Per-point, per-coordinate U(-half_width, half_width) * noise offsets (zeros for noise 0)."""
    if noise == 0:
        return np.zeros((n, 2))
    return rng.uniform(-half_width, half_width, size=(n, 2)) * noise


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    # The Playground's convention: x = r sin(a), y = r cos(a).
    return np.column_stack((r * np.sin(angle), r * np.cos(angle)))


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A disc of radius 2.5 (label +1) inside a ring 3.5 <= r <= 5 (label -1)."""
    radius = 5.0
    half = n // 2
    parts = []
    for r_lo, r_hi, count in ((0.0, radius * 0.5, half), (radius * 0.7, radius, n - half)):
        r = rng.uniform(r_lo, r_hi, count)
        angle = rng.uniform(0.0, 2 * np.pi, count)
        parts.append(_polar(r, angle))
    points = np.concatenate(parts)
    shifted = points + _noise(rng, n, radius, noise)
    labels = np.where(np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5, 1.0, -1.0)
    return points, labels


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The four quadrants, labelled by the sign of x * y, with a 0.3 gap along both axes."""
    padding = 0.3
    points = rng.uniform(-5.0, 5.0, size=(n, 2))
    points += np.where(points > 0, padding, -padding)
    shifted = points + _noise(rng, n, 5.0, noise)
    labels = np.where(shifted[:, 0] * shifted[:, 1] >= 0, 1.0, -1.0)
    return points, labels


def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs: around (2, 2) labelled +1 and around (-2, -2) labelled -1."""
    std = np.sqrt(0.5 + 7.0 * noise)
    half = n // 2
    pos = rng.normal(2.0, std, size=(half, 2))
    neg = rng.normal(-2.0, std, size=(n - half, 2))
    labels = np.concatenate((np.ones(half), -np.ones(n - half)))
    return np.concatenate((pos, neg)), labels


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals of 1.75 turns out to radius 5 (labels +1 and -1)."""
    half = n // 2
    parts = []
    for delta in (0.0, np.pi):
        frac = np.arange(half) / half
        r = 5.0 * frac
        t = 1.75 * frac * 2 * np.pi + delta
        parts.append(_polar(r, t) + _noise(rng, half, 1.0, noise))
    labels = np.concatenate((np.ones(half), -np.ones(half)))
    return np.concatenate(parts), labels


#: dataset name -> generator ``(n, noise, rng) -> (points, labels)``, in the Playground's order
DATASETS: dict[str, Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "circle": circle,
    "xor": xor,
    "gauss": gauss,
    "spiral": spiral,
}


@dataclass(frozen=True)
class Dataset:
    """A shuffled dataset split into training and test points (float64, labels +-1)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def make_dataset(
    name: str,
    rng: np.random.Generator | int,
    noise: float = 0.0,
    n: int = NUM_SAMPLES,
    train_fraction: float = TRAIN_FRACTION,
) -> Dataset:
    """Generate dataset ``name``, shuffle it once and split it as the Playground does.

    ``rng`` is a NumPy ``Generator`` (or a seed for one).  The first
    ``floor(n * train_fraction)`` shuffled points train, the rest test.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    rng = np.random.default_rng(rng)
    points, labels = DATASETS[name](n, noise, rng)
    order = rng.permutation(n)
    points, labels = points[order], labels[order]
    split = int(np.floor(n * train_fraction))
    return Dataset(
        name,
        np.ascontiguousarray(points[:split]),
        labels[:split].copy(),
        np.ascontiguousarray(points[split:]),
        labels[split:].copy(),
    )
