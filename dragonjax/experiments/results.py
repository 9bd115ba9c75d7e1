"""Results directories with provenance: config, package versions, devices, git commit, times."""
from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
from importlib import metadata
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ising import ProblemError

if TYPE_CHECKING:  # imported where it is used (xarray takes about a second to import)
    import xarray as xr

__all__ = ["provenance", "finite", "write_json", "save_dataset", "load", "RunDirectory"]

PACKAGES = ("dragonjax", "jax", "jaxlib", "optax", "flax", "numpy", "scipy", "dimod", "scikit-learn", "matplotlib",
            "xarray", "h5netcdf")


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


def _cpu() -> dict:
    """The host CPU's model and SIMD instruction sets (Linux: /proc/cpuinfo): XLA's CPU code differs with them, and
    with it the rounding of floating-point results, so the same seed reproduces bit for bit only on a like host."""
    info = {"model": platform.processor() or None, "family": None, "model_number": None, "stepping": None, "simd": ""}
    keys = {"model name": "model", "cpu family": "family", "model": "model_number", "stepping": "stepping"}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = (part.strip() for part in line.partition(":"))
                if not key:  # the end of the first processor's block
                    break
                if key in keys and value:
                    info[keys[key]] = value
                elif key == "flags":
                    info["simd"] = " ".join(sorted(v for v in value.split()
                                                   if v.startswith(("avx", "fma", "sse4", "amx", "f16c"))))
    except OSError:
        pass
    return info


def provenance() -> dict:
    """Where a result came from: package versions, Python, platform, host CPU, JAX backend and devices, git commit
    (and whether the package source differed from it), and the running script with the hash of its text."""
    import jax

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit, dirty = _git_state()
    return {"packages": versions, "python": platform.python_version(), "platform": platform.platform(),
            "cpu": _cpu(), "jax_backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
            "git_commit": commit, "git_dirty": dirty, "script": _script()}


def _script() -> dict | None:
    """The script that is running (``sys.argv[0]``, e.g. one of papers/ or benchmarks/, which ``git_dirty`` does not
    cover) and the SHA-256 of its text; None for ``python -c``, a REPL or a module run with ``-m``'s package file
    inside dragonjax/ (covered by ``git_dirty``)."""
    import hashlib
    import sys

    path = sys.argv[0] if sys.argv else ""
    if not path or not os.path.isfile(path):
        return None
    path = os.path.abspath(path)
    if path.startswith(os.path.dirname(os.path.abspath(__file__)).rsplit(os.sep, 1)[0] + os.sep):
        return None
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"path": path, "sha256": digest}


def json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def finite(obj: Any) -> Any:
    """``obj`` with every non-finite float (nan, inf) replaced by None, so that the JSON written is valid."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return finite(obj.tolist())
    if isinstance(obj, (float, np.floating)) and not np.isfinite(obj):
        return None
    return obj


def format_interval(interval, missing: str = "[no interval]") -> str:
    """``[low, high]`` to two decimals, or ``missing`` when there is no interval (None)."""
    return f"[{interval[0]:.2f}, {interval[1]:.2f}]" if interval else missing


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """``obj`` as JSON (non-finite numbers as null), written to a temporary file and renamed."""
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(finite(obj), f, indent=2, default=json_default, allow_nan=False)
    os.replace(tmp, path)  # atomic: a killed run never leaves a half-written file


def save_dataset(path: str, variables: dict, coords: dict | None = None, attrs: dict | None = None) -> xr.Dataset:
    """Write arrays with named dimensions to ``path`` as an xarray Dataset in netCDF-4 (h5netcdf engine).

    ``variables`` maps a name to ``(dims, array)`` with one dimension name per axis; ``coords`` maps a
    dimension name to its 1-D coordinate values; ``attrs`` (e.g. ``config``, ``provenance``) are stored as
    JSON text and decoded again by :func:`load`. Written to a temporary file and renamed (never half-written)."""
    import xarray as xr

    data_vars = {}
    for name, (dims, values) in variables.items():
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        values = np.asarray(values)
        if values.ndim != len(dims):
            raise ValueError(f"{name!r} has {values.ndim} axes but {len(dims)} dimension names {dims}")
        data_vars[name] = (dims, values)
    ds = xr.Dataset(data_vars, coords={k: np.asarray(v) for k, v in (coords or {}).items()})
    ds.attrs = {k: json.dumps(v, default=json_default) for k, v in (attrs or {}).items()}
    tmp = f"{path}.tmp"
    ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)
    return ds


def load(path: str) -> xr.Dataset:
    """The xarray Dataset of a results file written by dragonjax (``history.nc``, ``arrays.nc``), in memory,
    with its ``config`` and ``provenance`` attributes decoded from JSON."""
    import xarray as xr

    with xr.open_dataset(path, engine="h5netcdf") as ds:
        ds = ds.load()
    for k, v in list(ds.attrs.items()):
        if isinstance(v, str):
            try:
                ds.attrs[k] = json.loads(v)
            except ValueError:
                pass
    return ds


def clear_run(path: str) -> bool:
    """Delete the run directory ``path`` if it is one (holds a ``config.json``); True when something was deleted.
    A directory without one is left alone, so a mistyped path cannot delete unrelated files."""
    if path and os.path.exists(os.path.join(path, "config.json")):
        shutil.rmtree(path)
        return True
    return False


class RunDirectory:
    """An output directory: ``config.json`` (parameters, seed, provenance, start time) written at once,
    ``metrics.json`` written by :meth:`finish` with the end time.

    A directory that already holds a run (its ``config.json``) is refused, so two runs are never mixed;
    ``overwrite=True`` deletes that run's directory first (only a directory with a ``config.json``, i.e. one
    of ours)."""

    def __init__(self, path: str, config: dict, overwrite: bool = False):
        if not path:
            raise ProblemError("the output directory must be a non-empty path")
        if os.path.isfile(path):
            raise ProblemError(f"{path} is a file, not a directory")
        if overwrite:
            clear_run(path)
        if os.path.exists(os.path.join(path, "config.json")):
            raise ProblemError(f"{path} already holds a run (config.json); choose a new output directory, "
                               f"or --overwrite to replace it")
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
        """The path of ``name`` inside the run directory."""
        return os.path.join(self.path, name)

    def save_dataset(self, name: str, variables: dict, coords: dict | None = None,
                     attrs: dict | None = None) -> xr.Dataset:
        """:func:`save_dataset` into this directory, with the run's config and provenance as attributes."""
        config = {k: v for k, v in self.config.items() if k != "provenance"}
        return save_dataset(self.file(name), variables, coords,
                            {"config": config, "provenance": self.config.get("provenance"), **(attrs or {})})

    def finish(self, metrics: dict, name: str = "metrics.json") -> dict:
        """Write ``metrics`` with the start and end times to ``name`` (JSON, non-finite numbers as null); returns
        them."""
        metrics = {**metrics, "started": self.started,
                   "finished": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        write_json(self.file(name), metrics)
        return metrics
