"""Results directories with provenance: config, package versions, devices, git commit, times."""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from importlib import metadata

import numpy as np

__all__ = ["provenance", "write_json", "RunDirectory"]

PACKAGES = ("dragonjax", "jax", "jaxlib", "optax", "flax", "numpy", "dimod", "scikit-learn", "matplotlib")


def _git_commit():
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance() -> dict:
    import jax

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"packages": versions, "python": platform.python_version(), "platform": platform.platform(),
            "jax_backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
            "git_commit": _git_commit()}


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
