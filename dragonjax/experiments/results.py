"""Results directories with provenance: config, package versions, devices, git commit, times."""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from importlib import metadata

import numpy as np

__all__ = ["provenance", "write_json", "save_arrays", "load_arrays", "records_to_arrays", "RunDirectory"]

PACKAGES = ("dragonjax", "jax", "jaxlib", "optax", "flax", "numpy", "dimod", "scikit-learn", "matplotlib")


def _git(*args):
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(["git", *args], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _git_state():
    """(commit, dirty): the checkout's HEAD and whether the package's source (dragonjax/, new files
    included) differs from it; (None, None) outside a git checkout."""
    commit = _git("rev-parse", "HEAD") or None
    if commit is None:
        return None, None
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    status = _git("status", "--porcelain", "--", package)
    return commit, (None if status is None else bool(status))


def provenance() -> dict:
    import jax

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit, dirty = _git_state()
    return {"packages": versions, "python": platform.python_version(), "platform": platform.platform(),
            "jax_backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
            "git_commit": commit, "git_dirty": dirty}


def _default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def write_json(path, obj):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, default=_default)
    os.replace(tmp, path)  # atomic: a killed run never leaves a half-written file


def save_arrays(path: str, variables: dict, coords: dict | None = None):
    """Write arrays with named dimensions to ``path`` (.npz), in the spirit of an xarray Dataset.

    ``variables`` maps a name to ``(dims, array)`` with one dimension name per axis; ``coords`` maps a
    dimension name to its 1-D coordinate values. The dimension names are stored as the JSON entry
    ``__dims__`` (read back with :func:`load_arrays`); every dimension has one length across variables."""
    coords = dict(coords or {})
    sizes, dims, arrays = {}, {}, {}
    for name, (names, values) in variables.items():
        values = np.asarray(values)
        names = (names,) if isinstance(names, str) else tuple(names)
        if len(names) != values.ndim:
            raise ValueError(f"{name!r} has {values.ndim} axes but {len(names)} dimension names {names}")
        for dim, size in zip(names, values.shape):
            if sizes.setdefault(dim, size) != size:
                raise ValueError(f"dimension {dim!r} has length {sizes[dim]} elsewhere but {size} in {name!r}")
        dims[name], arrays[name] = list(names), values
    for dim, values in coords.items():
        values = np.asarray(values)
        if dim in arrays:
            raise ValueError(f"coordinate {dim!r} clashes with a variable of that name")
        if values.ndim != 1 or sizes.get(dim, values.size) != values.size:
            raise ValueError(f"coordinate {dim!r} must be 1-D with the dimension's length {sizes.get(dim)}")
        dims[dim], arrays[dim] = [dim], values
    tmp = f"{path}.tmp.npz"
    np.savez_compressed(tmp, __dims__=np.asarray(json.dumps(dims)), **arrays)
    os.replace(tmp, path)


def load_arrays(path: str) -> tuple[dict, dict]:
    """``(arrays, dims)`` from a file written by :func:`save_arrays`: name -> array and name -> dimension
    names (coordinates are variables named after their dimension)."""
    with np.load(path) as f:
        dims = {k: tuple(v) for k, v in json.loads(str(f["__dims__"])).items()}
        return {k: f[k] for k in dims}, dims


def records_to_arrays(records: list, dim: str, skip=()) -> dict:
    """The numeric fields shared by a list of dict records, each as ``((dim,) + extra, array)``
    (list-valued fields of equal length per record get one extra dimension, ``<field>_index``)."""
    variables = {}
    for name in records[0] if records else ():
        values = [r.get(name) for r in records]
        if name in skip or any(v is None or isinstance(v, (str, dict)) for v in values):
            continue
        if isinstance(values[0], (list, tuple)):
            if len({len(v) for v in values}) != 1:
                continue
            variables[name] = ((dim, f"{name}_index"), np.asarray(values, dtype=float))
        else:
            variables[name] = ((dim,), np.asarray(values, dtype=float))
    return variables


class RunDirectory:
    """An output directory: ``config.json`` (parameters, seed, provenance, start time) written at once,
    ``metrics.json`` written by :meth:`finish` with the end time."""

    def __init__(self, path: str, config: dict):
        os.makedirs(path, exist_ok=True)
        self.path = path
        self.started = datetime.datetime.now(datetime.timezone.utc).isoformat()
        self.config = {**config, "provenance": provenance(), "started": self.started}
        write_json(os.path.join(path, "config.json"), self.config)

    @classmethod
    def reopen(cls, path: str) -> "RunDirectory":
        """An existing run directory (to resume it); its config and start time are kept."""
        with open(os.path.join(path, "config.json")) as f:
            config = json.load(f)
        run = cls.__new__(cls)
        run.path, run.config, run.started = path, config, config.get("started")
        return run

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    def finish(self, metrics: dict, name: str = "metrics.json"):
        metrics = {**metrics, "started": self.started,
                   "finished": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        write_json(self.file(name), metrics)
        return metrics
