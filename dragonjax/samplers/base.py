"""What every dragonjax dimod sampler shares: BQM <-> IsingModel, seeds, initial states, devices,
compiled-kernel caching and the SampleSet. Subclasses implement ``_run``."""
from __future__ import annotations

import contextlib
import time

import dimod
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..ising import IsingModel, check_memory
from ..kernels import cached_sweep, random_spins
from ..kernels.progress import tqdm_listener

__all__ = ["COMMON_PARAMETERS", "KernelSampler", "document_parameters", "replica_sharding", "shard_replicas",
           "to_host"]

COMMON_PARAMETERS = """\
bqm: the problem, any ``dimod.BinaryQuadraticModel`` (SPIN or BINARY; the samples come back in its
    vartype, its offset included in the energies).
num_reads: number of reads R (default 10).
seed: random seed, an integer in [0, 2**32) (default: a fresh random one, recorded in ``info["seed"]``);
    the same seed gives the same samples on one device or many.
initial_states: starting states (anything ``dimod.as_samples`` accepts; tiled to ``num_reads``); default
    uniformly random spins.
sweep_method: "auto" (dense for dense problems, colour blocks for sparse ones), "dense" or "block".
update_rule: "metropolis" or "heat_bath".
progress: show a progress bar fed from inside the compiled kernel (about 20 updates)."""


def document_parameters(method):
    """Put :data:`COMMON_PARAMETERS` (one text for every sampler) in place of the ``{common}`` line of a
    ``sample`` docstring, at that line's indentation."""
    lines = method.__doc__.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "{common}")
    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
    lines[at:at + 1] = [indent + line for line in COMMON_PARAMETERS.splitlines()]
    method.__doc__ = "\n".join(lines)
    return method


def replica_sharding(num_replicas: int, devices=None):
    """A sharding that splits the leading (replica) axis over all visible devices, or ``None`` when
    there is one device or the replicas do not divide evenly."""
    devices = jax.devices() if devices is None else devices
    if len(devices) < 2 or num_replicas % len(devices):
        return None
    mesh = Mesh(np.asarray(devices), ("replicas",))
    return NamedSharding(mesh, PartitionSpec("replicas"))


def shard_replicas(spins, sharding):
    """Place the replicas (leading axis) on ``sharding``. Across several processes (multi-host, after
    ``jax.distributed.initialize``) every process holds the same initial spins and keeps its own shards."""
    if sharding is None:
        return spins
    if jax.process_count() == 1:
        return jax.device_put(spins, sharding)
    host = np.asarray(spins)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def to_host(x) -> np.ndarray:
    """A result as one numpy array on every process (gathered across processes when sharded over hosts)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable and not x.is_fully_replicated:
        from jax.experimental import multihost_utils

        x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)


class KernelSampler(dimod.Sampler):
    """Base class: converts the BQM, checks common parameters, builds the SampleSet.

    ``progress=True`` shows a tqdm bar fed from inside the compiled kernel (about 20 updates; for the
    adaptive population-annealing schedule, twentieths of beta_final)."""

    _common_parameters = {"num_reads": [], "seed": [], "initial_states": [], "sweep_method": [],
                          "update_rule": [], "progress": []}

    def __init__(self, dtype=None):
        self.dtype = dtype

    @property
    def properties(self) -> dict:
        return {"backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()]}

    def sample(self, bqm, num_reads: int = 10, seed=None, initial_states=None, sweep_method: str = "auto",
               update_rule: str = "metropolis", **kwargs) -> dimod.SampleSet:
        kwargs = self.remove_unknown_kwargs(**kwargs)
        if int(num_reads) != num_reads or num_reads < 1:
            raise ValueError(f"num_reads must be a positive integer, got {num_reads!r}")
        num_reads = int(num_reads)
        if seed is not None and (int(seed) != seed or not 0 <= seed < 2**32):
            raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
        seed = int(np.random.default_rng().integers(2**32)) if seed is None else int(seed)
        variables = list(bqm.variables)
        if not variables:
            return dimod.SampleSet.from_samples(([], []), bqm.vartype, energy=[],
                                                info={"seed": seed})
        model = IsingModel.from_bqm(bqm, dtype=self.dtype)
        slices = int(kwargs.get("trotter_slices") or 1)
        check_memory(32.0 * num_reads * slices * model.num_variables,  # spins, proposals, PA copies, the SampleSet
                     f"{num_reads} reads of {model.num_variables} variables" + (f" x {slices} slices" if slices > 1
                                                                                 else ""))
        key = jax.random.key(seed)
        key, k_init = jax.random.split(key)
        spins = self._initial_spins(k_init, model, num_reads, initial_states, bqm, kwargs)
        spins = shard_replicas(spins, replica_sharding(spins.shape[0]))
        sweep = cached_sweep(model, sweep_method, update_rule)
        start = time.perf_counter()
        with (tqdm_listener(type(self).__name__, unit="step") if kwargs.get("progress")
              else contextlib.nullcontext()):
            samples, info = self._run(key, model, sweep, spins, **kwargs)
        samples = to_host(samples).astype(np.int8)
        info["timing"] = {"run_seconds": time.perf_counter() - start}
        info.update(seed=seed, sweep_method=sweep.method, update_rule=update_rule)
        sampleset = dimod.SampleSet.from_samples_bqm((samples, model.labels), bqm.spin, info=info)
        return sampleset.change_vartype(bqm.vartype, inplace=True)

    def _initial_spins(self, key, model, num_reads, initial_states, bqm, kwargs):
        dtype = model.dtype
        if initial_states is None:
            return random_spins(key, (num_reads, model.num_variables), dtype)
        array, labels = dimod.as_samples(initial_states)
        if array.shape[0] == 0:
            return random_spins(key, (num_reads, model.num_variables), dtype)
        missing = set(model.labels) - set(labels)
        if missing:
            raise ValueError(f"initial_states lacks variables {sorted(map(str, missing))[:5]}")
        order = [list(labels).index(v) for v in model.labels]
        array = np.asarray(array, dtype=np.float64)[:, order]
        if bqm.vartype is dimod.BINARY:
            array = 2 * array - 1
        if not np.all(np.isin(array, (-1, 1))):
            raise ValueError(f"initial_states must hold {sorted(bqm.vartype.value)} values")
        reps = -(-num_reads // array.shape[0])
        return jnp.asarray(np.tile(array, (reps, 1))[:num_reads], dtype)

    def _run(self, key, model, sweep, spins, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

