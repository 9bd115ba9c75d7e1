"""Datasets, all local: scikit-learn's bundled 8x8 digits, teacher-student tasks, and MNIST from a file
the user already has. Nothing is downloaded."""
from __future__ import annotations

import gzip
import os
import struct
from typing import NamedTuple

import numpy as np

from .ising import ProblemError

__all__ = ["Dataset", "digits", "teacher_student", "mnist", "load", "DATASETS"]

DATASETS = ("digits", "teacher-student", "mnist")


class Dataset(NamedTuple):
    x_train: np.ndarray  # (n, d) float32
    y_train: np.ndarray  # (n,) int32
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int
    name: str

    @property
    def num_inputs(self) -> int:
        return self.x_train.shape[1]

    def centered(self) -> "Dataset":
        """Inputs mapped from [0, 1] to [-1, 1] (2x - 1): a pixel that is off then pushes the first layer
        too, which the Ising network learns from markedly better (digits: ~0.98 vs ~0.965)."""
        return self._replace(x_train=2 * self.x_train - 1, x_test=2 * self.x_test - 1)

    def subset(self, train: int | None = None, test: int | None = None) -> "Dataset":
        """The first ``train`` / ``test`` examples (the splits are already shuffled and stratified)."""
        return self._replace(x_train=self.x_train[:train], y_train=self.y_train[:train],
                             x_test=self.x_test[:test], y_test=self.y_test[:test])


def _check(ds: Dataset) -> Dataset:
    if len(ds.x_train) == 0:
        raise ProblemError(f"dataset {ds.name!r} has no training examples")
    return ds


def digits(test_size: float = 0.3, random_state: int = 0) -> Dataset:
    """scikit-learn's bundled 8x8 digits (1797 images), pixels / 16 in [0, 1]; stratified split
    (default 70/30 with random_state=0: 1257 train, 540 test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x / 16.0, y, test_size=test_size, stratify=y, random_state=random_state)
    return _check(Dataset(x_tr.astype(np.float32), y_tr.astype(np.int32), x_te.astype(np.float32),
                          y_te.astype(np.int32), 10, "digits"))


def teacher_student(num_inputs: int = 32, hidden: int = 64, num_classes: int = 4, num_train: int = 2000,
                    num_test: int = 1000, seed: int = 0) -> Dataset:
    """Random +-1 inputs labelled by a random teacher: a tanh hidden layer then argmax of a linear
    readout. The task is realisable by a network of the same shape."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(num_inputs, hidden)) / np.sqrt(num_inputs)
    W2 = rng.normal(size=(hidden, num_classes)) / np.sqrt(hidden)
    x = rng.choice([-1.0, 1.0], size=(num_train + num_test, num_inputs))
    y = np.argmax(np.tanh(x @ W1) @ W2, axis=1)
    x = x.astype(np.float32)
    return _check(Dataset(x[:num_train], y[:num_train].astype(np.int32), x[num_train:],
                          y[num_train:].astype(np.int32), num_classes, "teacher-student"))


def _read_idx(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        _, dtype, ndim = struct.unpack(">HBB", f.read(4))
        shape = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


def mnist(path: str) -> Dataset:
    """MNIST from a local ``.npz`` (keys x_train, y_train, x_test, y_test, as Keras saves it) or a folder
    of the four IDX files (optionally .gz). Pixels / 255, images flattened to 784."""
    if path is None or not os.path.exists(path):
        raise ProblemError(f"MNIST is not downloaded by dragonjax; give a local .npz file or IDX folder "
                           f"(got {path!r})")
    if os.path.isdir(path):
        def find(stem):
            for name in (stem, stem + ".gz"):
                if os.path.exists(os.path.join(path, name)):
                    return os.path.join(path, name)
            raise ProblemError(f"{stem}[.gz] not found in {path}")
        arrays = [_read_idx(find(s)) for s in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
    else:
        with np.load(path) as f:
            arrays = [f[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    x_tr, y_tr, x_te, y_te = arrays
    return _check(Dataset((x_tr.reshape(len(x_tr), -1) / 255.0).astype(np.float32), y_tr.astype(np.int32),
                          (x_te.reshape(len(x_te), -1) / 255.0).astype(np.float32), y_te.astype(np.int32), 10,
                          "mnist"))


def load(name: str, path: str | None = None, **kwargs) -> Dataset:
    if name == "digits":
        return digits(**kwargs)
    if name == "teacher-student":
        return teacher_student(**kwargs)
    if name == "mnist":
        return mnist(path)
    raise ProblemError(f"unknown dataset {name!r}; expected one of {DATASETS}")
