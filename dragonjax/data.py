"""Datasets, all local: scikit-learn's bundled 8x8 digits, teacher-student tasks, and MNIST from a file
the user already has. Nothing is downloaded."""
from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from .ising import ProblemError

__all__ = ["Dataset", "digits", "teacher_student", "relabelled", "sign_projected", "mnist", "load", "DATASETS"]

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
        """Input dimension (pixels or teacher inputs)."""
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


def _teacher(rng: np.random.Generator, num_inputs: int, hidden: int, num_classes: int):
    """A random teacher: a tanh hidden layer of ``hidden`` units, then the argmax of a linear readout."""
    W1 = rng.normal(size=(num_inputs, hidden)) / np.sqrt(num_inputs)
    W2 = rng.normal(size=(hidden, num_classes)) / np.sqrt(hidden)
    return lambda x: np.argmax(np.tanh(np.asarray(x, np.float64) @ W1) @ W2, axis=1).astype(np.int32)


def teacher_student(num_inputs: int = 32, hidden: int = 64, num_classes: int = 4, num_train: int = 2000,
                    num_test: int = 1000, seed: int = 0) -> Dataset:
    """Random +-1 inputs labelled by a random teacher: a tanh hidden layer then argmax of a linear
    readout. The task is realisable by a network of the same shape."""
    rng = np.random.default_rng(seed)
    teacher = _teacher(rng, num_inputs, hidden, num_classes)
    x = rng.choice([-1.0, 1.0], size=(num_train + num_test, num_inputs))
    y = teacher(x)
    x = x.astype(np.float32)
    return _check(Dataset(x[:num_train], y[:num_train], x[num_train:], y[num_train:], num_classes,
                          "teacher-student"))


def relabelled(ds: Dataset, hidden: int = 2, num_classes: int | None = None, seed: int = 0) -> Dataset:
    """``ds``'s inputs labelled by the random teacher of :func:`teacher_student` (tanh hidden layer of ``hidden``
    units, argmax of ``num_classes`` readouts, default ``ds``'s): the inputs' statistics kept, the labels those of
    a teacher (a control that tells the inputs' part in a result from the labels' part). The teacher sees the
    inputs minus their training-set mean: on raw pixels the common mode of the background would push every
    input to the same class (digits, 2-unit teacher: 43 % of the test set in one class, against 32 % centred)."""
    num_classes = ds.num_classes if num_classes is None else num_classes
    if int(hidden) != hidden or hidden < 1 or int(num_classes) != num_classes or num_classes < 2:
        raise ProblemError(f"a teacher needs a positive integer hidden width and >= 2 classes, got hidden={hidden!r}, "
                           f"num_classes={num_classes!r}")
    teacher = _teacher(np.random.default_rng(seed), ds.num_inputs, int(hidden), int(num_classes))
    mean = ds.x_train.mean(axis=0)
    return ds._replace(y_train=teacher(ds.x_train - mean), y_test=teacher(ds.x_test - mean), num_classes=num_classes,
                       name=f"{ds.name}, teacher labels")


def sign_projected(ds: Dataset, seed: int = 0) -> Dataset:
    """``ds`` with each input x replaced by sign((x - m) R), m the training-set mean input and R a random Gaussian
    (d, d) matrix (sign 0 -> +1): dense +-1 inputs with little common mode, like :func:`teacher_student`'s, the
    labels kept (a sign random projection keeps the angles between the centred inputs approximately, so most of
    the label information survives; the inputs' graded values and sparsity do not, their correlations only in
    part). Without m the mean image would become a fixed bias on many coordinates."""
    R = np.random.default_rng(seed).normal(size=(ds.num_inputs, ds.num_inputs))
    mean = ds.x_train.mean(axis=0)

    def project(x):
        return np.where((np.asarray(x, np.float64) - mean) @ R >= 0, 1.0, -1.0).astype(np.float32)

    return ds._replace(x_train=project(ds.x_train), x_test=project(ds.x_test), name=f"{ds.name}, sign-projected")


# IDX type code -> (name, numpy dtype); multi-byte types are big-endian in the file.
_IDX_TYPES = {0x08: ("ubyte", np.dtype(np.uint8)), 0x09: ("sbyte", np.dtype(np.int8)),
              0x0B: ("int16", np.dtype(">i2")), 0x0C: ("int32", np.dtype(">i4")),
              0x0D: ("float32", np.dtype(">f4")), 0x0E: ("float64", np.dtype(">f8"))}
_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# What a damaged .npz, a damaged .gz or an unreadable file raise from numpy / zipfile / gzip / zlib.
_READ_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _read_idx(path) -> np.ndarray:
    """One IDX file (gzip-compressed when its name ends in .gz) as a native-endian array.

    Layout: two zero bytes, a type code, ndim, ndim big-endian uint32 dims, then exactly prod(dims) big-endian
    items. Anything else -- unreadable, corrupt .gz, short header, bad magic, unknown type code, ndim 0, or a
    payload that is too short or too long -- is a ProblemError naming the file."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ProblemError(f"{path}: cannot read IDX file ({_one_line(e)})") from None
    if path.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise ProblemError(f"{path}: corrupt .gz file ({_one_line(e)})") from None
    if len(data) < 4:
        raise ProblemError(f"{path}: truncated IDX header ({len(data)} bytes, need at least 4)")
    if data[:2] != b"\0\0":
        hint = "; it looks gzip-compressed, name it *.gz" if data[:2] == b"\x1f\x8b" else ""
        raise ProblemError(f"{path}: bad IDX magic {data[:4].hex()} (must start with two zero bytes){hint}")
    code, ndim = data[2], data[3]
    if code not in _IDX_TYPES:
        raise ProblemError(f"{path}: unknown IDX type code 0x{code:02X} "
                           f"(expected one of {', '.join(f'0x{c:02X}' for c in _IDX_TYPES)})")
    if ndim == 0:
        raise ProblemError(f"{path}: IDX header has ndim 0")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ProblemError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dims need {header})")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    type_name, dtype = _IDX_TYPES[code]
    count = math.prod(dims)
    expected, found = count * dtype.itemsize, len(data) - header
    if found != expected:
        problem = "truncated IDX data" if found < expected else "over-long IDX data"
        raise ProblemError(f"{path}: {problem}: shape {dims} of {type_name} needs {expected} bytes after "
                           f"the header, found {found}")
    array = np.frombuffer(data, dtype, count=count, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _read_npz(path: str) -> list[np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as e:
        raise ProblemError(f"{path}: not a readable .npz archive ({_one_line(e)})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ProblemError(f"{path}: is a single .npy array, expected an .npz archive with keys {_NPZ_KEYS}")
    with archive:
        missing = [k for k in _NPZ_KEYS if k not in archive.files]
        if missing:
            raise ProblemError(f"{path}: .npz archive lacks key(s) {missing} (has {archive.files})")
        arrays = []
        for key in _NPZ_KEYS:
            try:
                arrays.append(archive[key])
            except _READ_ERRORS as e:  # a pickled (object) array, or a damaged member
                raise ProblemError(f"{path}: cannot read {key!r} ({_one_line(e)})") from None
    return arrays


def _mnist_images(x: np.ndarray, source: str) -> np.ndarray:
    """Structure only: (n, rows, cols) or (n, features) of a real-number dtype -> (n, features)."""
    if x.ndim not in (2, 3):
        raise ProblemError(f"{source}: images must be 3-D (n, rows, cols) or 2-D (n, features), got shape {x.shape}")
    if x.dtype.kind not in "uif":
        raise ProblemError(f"{source}: images must be integers or floats, got dtype {x.dtype}")
    return x.reshape(len(x), math.prod(x.shape[1:]))


def _mnist_pixels(x: np.ndarray, source: str) -> np.ndarray:
    """Pixels as float32 in [0, 1]: integers (uint8, or another integer type within [0, 255]) / 255; floats
    must be finite and already in [0, 1]."""
    if x.size == 0:
        return x.astype(np.float32)
    if x.dtype.kind == "f":
        if not np.isfinite(x).all():
            raise ProblemError(f"{source}: images contain NaN or infinite values")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 1:
            raise ProblemError(f"{source}: float pixel values must lie in [0, 1], found range [{lo:g}, {hi:g}]")
        return x.astype(np.float32)
    if x.dtype != np.uint8:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ProblemError(f"{source}: integer pixel values must lie in [0, 255], found range [{lo}, {hi}]")
    return x.astype(np.float32) / np.float32(255)  # correctly rounded, the same as float64 x / 255 cast to float32


def _mnist_labels(y: np.ndarray, source: str) -> np.ndarray:
    """1-D non-negative integer class labels; floats only when every value is exactly integral."""
    if y.ndim != 1:
        raise ProblemError(f"{source}: labels must be 1-D, got shape {y.shape}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            raise ProblemError(f"{source}: labels must be integers, found {float(y[bad][0])} "
                               f"({int(bad.sum())} non-integer value(s))")
    elif y.dtype.kind not in "ui":
        raise ProblemError(f"{source}: labels must be integers, got dtype {y.dtype}")
    if y.size and y.min() < 0:
        raise ProblemError(f"{source}: labels must be non-negative, found {y.min()}")
    if y.size and y.max() >= np.iinfo(np.int32).max:
        raise ProblemError(f"{source}: label {y.max()} is too large for a class index")
    return y.astype(np.int32)


def mnist(path: str) -> Dataset:
    """MNIST (or any MNIST-shaped set, e.g. Fashion-MNIST) from a local ``.npz`` (keys x_train, y_train, x_test,
    y_test, as Keras saves it; loaded without pickle) or a folder of the four IDX files, each optionally .gz.

    Images may be (n, rows, cols) or (n, features) and are flattened; uint8 pixels are divided by 255, float
    pixels must already lie in [0, 1]. Labels are non-negative integers and num_classes = max label + 1 (at
    least 2). Any defect in the files is a one-line ProblemError naming the file."""
    if path is None or not os.path.exists(path):
        raise ProblemError(f"MNIST is not downloaded by dragonjax; give a local .npz file or IDX folder "
                           f"(got {path!r})")
    path = os.fspath(path)
    if os.path.isdir(path):
        def find(stem):
            for name in (stem, stem + ".gz"):
                if os.path.exists(os.path.join(path, name)):
                    return os.path.join(path, name)
            raise ProblemError(f"{stem}[.gz] not found in {path}")
        sources = [find(stem) for stem in _IDX_FILES]
        arrays = [_read_idx(source) for source in sources]
    else:
        sources = [f"{path}[{key}]" for key in _NPZ_KEYS]
        arrays = _read_npz(path)

    x_tr, y_tr, x_te, y_te = arrays
    src_x_tr, src_y_tr, src_x_te, src_y_te = sources
    flat_tr, flat_te = _mnist_images(x_tr, src_x_tr), _mnist_images(x_te, src_x_te)
    y_tr, y_te = _mnist_labels(y_tr, src_y_tr), _mnist_labels(y_te, src_y_te)
    for x, y, src_x, src_y in ((flat_tr, y_tr, src_x_tr, src_y_tr), (flat_te, y_te, src_x_te, src_y_te)):
        if len(x) != len(y):
            raise ProblemError(f"{src_x} has {len(x)} images but {src_y} has {len(y)} labels")
    if len(y_tr) == 0:
        raise ProblemError(f"{src_x_tr}: no training examples")
    if flat_tr.shape[1] == 0:
        raise ProblemError(f"{src_x_tr}: images have no pixels (shape {x_tr.shape})")
    if flat_tr.shape[1] != flat_te.shape[1]:
        raise ProblemError(f"train and test images differ in size: {src_x_tr} has shape {x_tr.shape}, "
                           f"{src_x_te} has shape {x_te.shape}")
    num_classes = int(max(y_tr.max(), y_te.max(initial=0))) + 1
    if num_classes < 2:
        raise ProblemError(f"{src_y_tr}, {src_y_te}: labels must span at least 2 classes (largest label is "
                           f"{num_classes - 1})")
    return _check(Dataset(_mnist_pixels(flat_tr, src_x_tr), y_tr, _mnist_pixels(flat_te, src_x_te), y_te,
                          num_classes, "mnist"))


def load(name: str, path: str | None = None, **kwargs) -> Dataset:
    """The dataset ``name`` (one of :data:`DATASETS`): ``digits`` (bundled with scikit-learn, stratified
    70/30 split), ``teacher-student`` (generated, ``kwargs`` passed to :func:`teacher_student`) or ``mnist`` from the
    local ``path`` (never downloaded)."""
    if name == "digits":
        return digits(**kwargs)
    if name == "teacher-student":
        return teacher_student(**kwargs)
    if name == "mnist":
        return mnist(path)
    raise ProblemError(f"unknown dataset {name!r}; expected one of {DATASETS}")
