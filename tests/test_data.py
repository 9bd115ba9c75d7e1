"""The MNIST loader (dragonjax.data.mnist): IDX folders (plain and .gz) and .npz files, and a one-line
ProblemError naming the file for every kind of bad input."""
import gzip
import os
import struct

import numpy as np
import pytest

from dragonjax import data
from dragonjax.ising import ProblemError

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
             np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
STEMS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
FASHION_MNIST = os.environ.get("DRAGONJAX_FASHION_MNIST", "/usr/share/datasets/fashion-mnist")  # Debian's path


def idx_bytes(array: np.ndarray, code: int | None = None) -> bytes:
    """``array`` in IDX layout: 0, 0, type code, ndim, big-endian uint32 dims, big-endian data."""
    array = np.asarray(array)
    code = IDX_CODES[array.dtype] if code is None else code
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_file(path, payload: bytes, gz: bool = False):
    path = f"{path}.gz" if gz else str(path)
    with open(path, "wb") as f:
        f.write(gzip.compress(payload) if gz else payload)
    return path


def make_set(n_train=20, n_test=10, rows=28, cols=28, seed=0):
    rng = np.random.default_rng(seed)
    x_tr = rng.integers(0, 256, size=(n_train, rows, cols), dtype=np.uint8)
    x_te = rng.integers(0, 256, size=(n_test, rows, cols), dtype=np.uint8)
    y_tr = (np.arange(n_train) % 10).astype(np.uint8)  # every class present
    y_te = rng.integers(0, 10, size=n_test, dtype=np.uint8)
    return x_tr, y_tr, x_te, y_te


def write_idx_set(folder, arrays=None, gz=False):
    """The four IDX files in ``folder``; ``gz`` is a bool or one bool per file. Returns their paths."""
    arrays = make_set() if arrays is None else arrays
    gz = [gz] * 4 if isinstance(gz, bool) else gz
    return [write_file(folder / stem, idx_bytes(a), g) for stem, a, g in zip(STEMS, arrays, gz)]


def write_npz(path, arrays=None, **overrides):
    arrays = dict(zip(("x_train", "y_train", "x_test", "y_test"), make_set() if arrays is None else arrays))
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return str(path)


def expect_problem(path, match):
    """mnist(path) raises ProblemError whose one-line message matches ``match``."""
    with pytest.raises(ProblemError, match=match) as info:
        data.mnist(str(path))
    assert "\n" not in str(info.value)
    return str(info.value)


def check_round_trip(ds, arrays):
    x_tr, y_tr, x_te, y_te = arrays
    assert ds.name == "mnist" and ds.num_classes == 10 and ds.num_inputs == 28 * 28
    assert ds.x_train.shape == (20, 784) and ds.x_test.shape == (10, 784)
    assert ds.y_train.shape == (20,) and ds.y_test.shape == (10,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert ds.x_test.dtype == np.float32 and ds.y_test.dtype == np.int32
    np.testing.assert_array_equal(ds.x_train, (x_tr.reshape(20, -1) / 255.0).astype(np.float32))
    np.testing.assert_array_equal(ds.x_test, (x_te.reshape(10, -1) / 255.0).astype(np.float32))
    np.testing.assert_array_equal(ds.y_train, y_tr)
    np.testing.assert_array_equal(ds.y_test, y_te)


# ---- good files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True, [True, False, False, True]], ids=["plain", "gz", "mixed"])
def test_idx_folder_round_trip(tmp_path, gz):
    arrays = make_set()
    write_idx_set(tmp_path, arrays, gz)
    check_round_trip(data.mnist(str(tmp_path)), arrays)


def test_npz_round_trip_and_load(tmp_path):
    arrays = make_set()
    path = write_npz(tmp_path / "mnist.npz", arrays)
    check_round_trip(data.mnist(path), arrays)
    check_round_trip(data.load("mnist", path), arrays)


@pytest.mark.parametrize("dtype", list(IDX_CODES), ids=str)
def test_read_idx_every_type_code(tmp_path, dtype):
    values = np.array([[0, 1, 2], [3, -4, 100]]).astype(dtype)
    if dtype.kind == "f":
        values = values + np.array(0.25, dtype)  # a fraction survives only if the float width is right
    out = data._read_idx(write_file(tmp_path / "a-idx", idx_bytes(values)))
    assert out.dtype == dtype and out.dtype.isnative and out.shape == (2, 3)
    np.testing.assert_array_equal(out, values)


def test_float_and_flat_images_taken_as_they_are(tmp_path):
    x_tr, y_tr, x_te, y_te = make_set()
    fx_tr, fx_te = x_tr.reshape(20, -1) / 255.0, (x_te / 255.0).astype(np.float32)  # 2-D train, 3-D test
    ds = data.mnist(write_npz(tmp_path / "f.npz", (fx_tr, y_tr.astype(np.float64), fx_te, y_te.astype(np.int64))))
    np.testing.assert_array_equal(ds.x_train, fx_tr.astype(np.float32))
    np.testing.assert_array_equal(ds.x_test, fx_te.reshape(10, -1))
    np.testing.assert_array_equal(ds.y_train, y_tr)  # integral floats are accepted
    assert ds.y_train.dtype == np.int32 and ds.num_classes == 10


def test_float_idx_images(tmp_path):
    arrays = list(make_set())
    arrays[0] = (arrays[0] / 255.0).astype(np.float32)
    write_idx_set(tmp_path, arrays)
    np.testing.assert_array_equal(data.mnist(str(tmp_path)).x_train, arrays[0].reshape(20, -1))


def test_num_classes_is_max_label_plus_one(tmp_path):
    x_tr, _, x_te, _ = make_set()
    y_tr, y_te = np.zeros(20, np.uint8), np.zeros(10, np.uint8)
    y_tr[3], y_te[4] = 2, 4  # the largest label only in the test split
    assert data.mnist(write_npz(tmp_path / "a.npz", (x_tr, y_tr, x_te, y_te))).num_classes == 5


@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST), reason=f"Fashion-MNIST not at {FASHION_MNIST} "
                    "(apt install dataset-fashion-mnist, or set DRAGONJAX_FASHION_MNIST)")
def test_real_fashion_mnist():
    ds = data.mnist(FASHION_MNIST)
    assert ds.x_train.shape == (60000, 784) and ds.x_test.shape == (10000, 784)
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert ds.num_inputs == 784 and ds.num_classes == 10
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    assert 0 <= ds.x_train.min() and ds.x_train.max() <= 1 and ds.x_train.max() > 0.99
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 6000))  # balanced by construction
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.full(10, 1000))


# ---- bad IDX files ----------------------------------------------------------------------------------------

IMAGES = idx_bytes(make_set()[0])  # the good train-images file, to damage
BAD_IDX = {
    "empty": (b"", "truncated IDX header"),
    "short header": (b"\0\0", "truncated IDX header"),
    "short dims": (IMAGES[:10], r"truncated IDX header \(10 bytes, 3 dims need 16\)"),
    "short data": (IMAGES[:-1], r"truncated IDX data: shape \(20, 28, 28\) of ubyte needs 15680 bytes .*found 15679"),
    "long data": (IMAGES + b"\0", "over-long IDX data.*found 15681"),
    "bad magic": (b"\x01\x00" + IMAGES[2:], "bad IDX magic 01000803"),
    "gzip content": (gzip.compress(IMAGES), "bad IDX magic.*looks gzip-compressed"),
    "type code": (IMAGES[:2] + b"\x0a" + IMAGES[3:], "unknown IDX type code 0x0A"),
    "ndim 0": (b"\0\0\x08\0", "ndim 0"),
    "wrong type code": (IMAGES[:2] + b"\x0c" + IMAGES[3:], "truncated IDX data.*int32"),
}


@pytest.mark.parametrize("case", list(BAD_IDX))
def test_bad_idx_file(tmp_path, case):
    payload, match = BAD_IDX[case]
    path = write_idx_set(tmp_path)[0]
    write_file(path, payload)
    assert path in expect_problem(tmp_path, match)


BAD_GZ = {
    "not gzip": lambda gz: b"this is not gzip data",
    "truncated": lambda gz: gz[:-20],
    "bad crc": lambda gz: gz[:-8] + bytes([gz[-8] ^ 0xFF]) + gz[-7:],
    "corrupt stream": lambda gz: gz[:12] + b"\xff" * 40 + gz[52:],
}


@pytest.mark.parametrize("case", list(BAD_GZ))
def test_corrupt_gz(tmp_path, case):
    path = write_idx_set(tmp_path, gz=True)[1]
    with open(path, "rb") as f:
        good = f.read()
    write_file(path, BAD_GZ[case](good))
    assert path in expect_problem(tmp_path, "corrupt .gz file")


def test_missing_idx_file(tmp_path):
    os.remove(write_idx_set(tmp_path)[3])
    expect_problem(tmp_path, r"t10k-labels-idx1-ubyte\[\.gz\] not found in")


def test_idx_file_that_is_a_directory(tmp_path):
    path = write_idx_set(tmp_path)[2]
    os.remove(path)
    os.mkdir(path)
    assert path in expect_problem(tmp_path, r"cannot read IDX file \(.*directory")


def test_unreadable_idx_path():
    with pytest.raises(ProblemError, match="cannot read IDX file"):
        data._read_idx("/nonexistent/train-images-idx3-ubyte")


def test_missing_path():
    with pytest.raises(ProblemError, match="not downloaded"):
        data.mnist("/nonexistent/mnist.npz")
    with pytest.raises(ProblemError, match="not downloaded"):
        data.mnist(None)


# ---- bad .npz files ---------------------------------------------------------------------------------------


def test_npz_missing_key(tmp_path):
    msg = expect_problem(write_npz(tmp_path / "a.npz", y_test=None), r"lacks key\(s\) \['y_test'\]")
    assert "a.npz" in msg


def test_npz_not_a_zip(tmp_path):
    path = write_file(tmp_path / "a.npz", b"hello, not a zip at all")
    expect_problem(path, "a.npz: not a readable .npz archive")


def test_npz_truncated_zip(tmp_path):
    path = write_npz(tmp_path / "a.npz")
    with open(path, "rb") as f:
        blob = f.read()
    write_file(path, blob[: len(blob) // 2])
    expect_problem(path, "a.npz: not a readable .npz archive")


def test_npz_pickle_only(tmp_path):
    path = write_npz(tmp_path / "a.npz", x_train=np.array([{"a": 1}, None], dtype=object))
    expect_problem(path, r"a.npz: cannot read 'x_train'.*allow_pickle")


def test_npy_instead_of_npz(tmp_path):
    path = str(tmp_path / "a.npy")
    np.save(path, make_set()[0])
    expect_problem(path, "single .npy array")


def test_pickle_file_instead_of_npz(tmp_path):
    import pickle

    path = write_file(tmp_path / "a.pkl", pickle.dumps(dict(zip(("x_train", "y_train"), make_set()))))
    expect_problem(path, "not a readable .npz archive")


# ---- inconsistent contents ------------------------------------------------------------------------------

X_TR, Y_TR, X_TE, Y_TE = make_set()
BAD_CONTENTS = {
    "count mismatch": ({"y_train": Y_TR[:-1]}, r"x_train\] has 20 images but .*y_train\] has 19 labels"),
    "test count mismatch": ({"x_test": X_TE[:-2]}, "has 8 images but .* has 10 labels"),
    "feature mismatch": ({"x_test": X_TE[:, :27]}, r"differ in size.*\(20, 28, 28\).*\(10, 27, 28\)"),
    "1-D images": ({"x_train": X_TR.reshape(-1)}, "images must be 3-D .* or 2-D"),
    "4-D images": ({"x_train": X_TR[..., None]}, "got shape \\(20, 28, 28, 1\\)"),
    "no pixels": ({"x_train": X_TR[:, :0], "x_test": X_TE[:, :0]}, "no pixels"),
    "no train examples": ({"x_train": X_TR[:0], "y_train": Y_TR[:0]}, "no training examples"),
    "string images": ({"x_train": X_TR.astype(str)}, "images must be integers or floats"),
    "bool images": ({"x_train": X_TR > 9}, "images must be integers or floats"),
    "2-D labels": ({"y_train": Y_TR[:, None]}, r"labels must be 1-D, got shape \(20, 1\)"),
    "non-integer float labels": ({"y_train": Y_TR + 0.5}, r"labels must be integers, found 0\.5 \(20 non-integer"),
    "one non-integer label": ({"y_test": np.where(np.arange(10) == 3, 2.25, Y_TE)}, "found 2.25 .1 non-integer"),
    "NaN label": ({"y_train": np.where(np.arange(20) == 0, np.nan, Y_TR)}, "labels must be integers, found nan"),
    "infinite label": ({"y_train": np.where(np.arange(20) == 0, np.inf, Y_TR)}, "labels must be integers, found inf"),
    "string labels": ({"y_train": Y_TR.astype(str)}, "labels must be integers, got dtype <U"),
    "negative label": ({"y_test": Y_TE.astype(np.int64) - 1}, "non-negative, found -1"),
    "huge label": ({"y_train": np.where(np.arange(20) == 0, 2**40, Y_TR.astype(np.int64))}, "too large"),
    "one class": ({"y_train": 0 * Y_TR, "y_test": 0 * Y_TE}, "at least 2 classes"),
    "float pixels above 1": ({"x_train": X_TR.astype(np.float32)}, r"\[0, 1\], found range \[0, 255\]"),
    "negative float pixels": ({"x_test": X_TE / 255.0 - 0.5}, r"\[0, 1\], found range \[-0\.5"),
    "NaN pixels": ({"x_train": np.where(X_TR == X_TR.max(), np.nan, X_TR / 255.0)}, "NaN or infinite"),
    "int16 pixels out of range": ({"x_train": X_TR.astype(np.int16) * 2}, r"\[0, 255\], found range \[0, 510\]"),
}


@pytest.mark.parametrize("case", list(BAD_CONTENTS))
def test_inconsistent_npz(tmp_path, case):
    overrides, match = BAD_CONTENTS[case]
    expect_problem(write_npz(tmp_path / "a.npz", **overrides), match)


def test_inconsistent_idx_names_the_file(tmp_path):
    arrays = list(make_set())
    arrays[3] = arrays[3][:7]
    paths = write_idx_set(tmp_path, arrays, gz=True)
    msg = expect_problem(tmp_path, "has 10 images but .* has 7 labels")
    assert paths[2] in msg and paths[3] in msg


def test_signed_idx_pixels_out_of_range(tmp_path):
    arrays = list(make_set())
    arrays[2] = arrays[2].astype(np.int8)  # values above 127 wrap to negatives
    paths = write_idx_set(tmp_path, arrays)
    assert paths[2] in expect_problem(tmp_path, r"integer pixel values must lie in \[0, 255\], found range \[-128")


def test_int_pixels_in_byte_range_are_divided_by_255(tmp_path):
    x_tr, y_tr, x_te, y_te = make_set()
    ds = data.mnist(write_npz(tmp_path / "a.npz", (x_tr.astype(np.int64), y_tr, x_te.astype(np.int16), y_te)))
    np.testing.assert_array_equal(ds.x_train, (x_tr.reshape(20, -1) / 255.0).astype(np.float32))


def test_teacher_relabels_given_inputs_as_it_labels_its_own():
    """``relabelled`` applies the teacher of ``teacher_student`` (same seed, same weights) to other inputs, minus
    their training mean; ``teacher_student``'s own labels are that teacher's (weights drawn here independently)."""
    ts = data.teacher_student(num_inputs=8, hidden=3, num_classes=4, num_train=50, num_test=20, seed=5)
    W1, W2 = _teacher_weights(5, 8, 3, 4)
    np.testing.assert_array_equal(ts.y_train, np.argmax(np.tanh(ts.x_train @ W1) @ W2, axis=1))
    own = ts._replace(y_train=ts.y_train * 0, y_test=ts.y_test * 0)
    shifted = own._replace(x_train=own.x_train + 3.0, x_test=own.x_test + 3.0)
    a, b = data.relabelled(own, hidden=3, seed=5), data.relabelled(shifted, hidden=3, seed=5)
    np.testing.assert_array_equal(a.y_train, b.y_train)  # the training mean is taken off: a shift changes nothing
    mean = ts.x_train.mean(0)
    np.testing.assert_array_equal(a.y_test, np.argmax(np.tanh((ts.x_test - mean) @ W1) @ W2, axis=1))
    assert a.num_classes == 4 and a.name.endswith("teacher labels")
    np.testing.assert_array_equal(a.x_train, own.x_train)
    for bad in ({"hidden": 0}, {"num_classes": 1}, {"hidden": 2.5}):
        with pytest.raises(ProblemError, match="a teacher needs"):
            data.relabelled(own, **bad)


def _teacher_weights(seed, num_inputs, hidden, num_classes):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(num_inputs, hidden)) / np.sqrt(num_inputs),
            rng.normal(size=(hidden, num_classes)) / np.sqrt(hidden))


def test_sign_projection_keeps_labels_and_gives_dense_pm1_inputs():
    """``sign_projected``: inputs are +-1 (dense: neither sign dominates), labels unchanged, the same seed the same
    projection, inputs close in angle stay close (a sign random projection preserves angles on average), and a
    common mode of the inputs does not survive (the training mean is taken off first)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 32)).astype(np.float32)
    near = (x + 0.05 * rng.normal(size=x.shape)).astype(np.float32)
    ds = data.Dataset(x, np.arange(400, dtype=np.int32) % 3, near, np.arange(400, dtype=np.int32) % 3, 3, "toy")
    p, q = data.sign_projected(ds, seed=1), data.sign_projected(ds, seed=1)
    np.testing.assert_array_equal(p.x_train, q.x_train)
    assert set(np.unique(p.x_train)) == {-1.0, 1.0} and abs(p.x_train.mean()) < 0.1
    np.testing.assert_array_equal(p.y_train, ds.y_train)
    agree_near = np.mean(p.x_train == p.x_test)  # x_test is x plus small noise: angle ~0.05 rad, ~98 % agree
    agree_random = np.mean(p.x_train == np.roll(p.x_test, 1, axis=0))  # unrelated pairs: ~50 %
    assert agree_near > 0.9 and abs(agree_random - 0.5) < 0.05
    shifted = data.sign_projected(ds._replace(x_train=x + 2.0, x_test=near + 2.0), seed=1)  # a common mode
    np.testing.assert_array_equal(shifted.x_train, p.x_train)  # is taken off with the training mean
    assert np.abs(shifted.x_train.mean(axis=0)).max() < 0.25
