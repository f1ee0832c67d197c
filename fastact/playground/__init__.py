"""The convergence experiment: a TensorFlow-Playground network trained on fastact's kernels.

The tutorial behind fastact claims, from runs in TensorFlow Playground (2 hidden
layers of 3 neurons), that tanh converges ~10x faster than sigmoid and ReLU ~2x
faster than tanh.  This package reproduces the Playground's datasets, network
and SGD (:mod:`.datasets`, :mod:`.network`), trains many seeds per activation
with a Numba-compiled loop whose forward and backward passes are fastact's own
scalar kernels, and measures epochs to convergence (:mod:`.experiment`).  Run
it with ``fastact playground``; figures are in :mod:`.figures` (matplotlib).
"""

from __future__ import annotations

from .datasets import DATASETS, Dataset, make_dataset
from .experiment import THRESHOLDS, Config, run_experiment, summary_rows
from .network import init_params, loss_and_grad, predict, train

__all__ = [
    "DATASETS",
    "Dataset",
    "make_dataset",
    "THRESHOLDS",
    "Config",
    "run_experiment",
    "summary_rows",
    "init_params",
    "loss_and_grad",
    "predict",
    "train",
]
