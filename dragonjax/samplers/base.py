"""What every dragonjax dimod sampler shares: BQM <-> IsingModel, seeds, initial states, devices,
compiled-kernel caching and the SampleSet. Subclasses implement ``_run``."""
from __future__ import annotations

import contextlib
import numbers
import time
from typing import Any, Callable, Sequence, TypeVar

import dimod
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike, DTypeLike

from ..ising import IsingModel, check_memory
from ..kernels import cached_sweep, random_spins
from ..kernels.progress import tqdm_listener

__all__ = ["COMMON_PARAMETERS", "KernelSampler", "document_parameters", "replica_sharding", "shard_replicas",
           "to_host", "spin_energies"]

_F = TypeVar("_F", bound=Callable[..., Any])

COMMON_PARAMETERS = """\
bqm: the problem, any ``dimod.BinaryQuadraticModel`` (SPIN or BINARY; the samples come back in its
    vartype, its offset included in the energies).
num_reads: number of reads R (default: the number of ``initial_states``, or 1 without them, as
    dwave-samplers does).
seed: random seed, an integer in [0, 2**32) (default: a fresh random one, recorded in ``info["seed"]``);
    the same seed gives the same samples on one device or many.
initial_states: starting states (anything ``dimod.as_samples`` accepts); default uniformly random spins.
initial_states_generator: how ``initial_states`` become ``num_reads`` starts: "random" (default: the given ones,
    then uniformly random states; extra given states are dropped), "tile" (the given ones repeated) or "none"
    (exactly the given ones: at least ``num_reads`` of them).
sweep_method: "auto" (dense for dense problems, colour blocks for sparse ones), "dense", "block" or "random"
    (N updates of uniformly random spins per sweep).
randomize_order: dwave-samplers' name for ``sweep_method="random"``: True picks each updated spin uniformly at
    random (no order bias; slower); False (default) sweeps in a fixed order (``sweep_method`` decides which).
update_rule: "metropolis" or "heat_bath".
precision: arithmetic of the local fields: "highest" (float32 products, default), "bf16x3" / "bf16x2" (the
    couplings in three / two bfloat16 parts, float32 accumulation: tensor cores on GPUs; fields to ~1e-7 / ~1e-5
    of |J|), "default" (the backend's: TF32 matrix products on NVIDIA GPUs).
proposal_acceptance_criteria: dwave-samplers' name for the update rule: "Metropolis" or "Gibbs" (= heat bath).
progress: show a progress bar fed from inside the compiled kernel (about 20 updates)."""


INITIAL_STATES_GENERATORS = ("random", "tile", "none")
ACCEPTANCE_CRITERIA = {"metropolis": "metropolis", "gibbs": "heat_bath"}


def _update_rule(update_rule: str, criteria: str | None) -> str:
    """The update rule from ours (``update_rule``) or dwave-samplers' name (``proposal_acceptance_criteria``)."""
    if criteria is None:
        return update_rule
    rule = ACCEPTANCE_CRITERIA.get(str(criteria).lower())
    if rule is None:
        raise ValueError(f"proposal_acceptance_criteria must be 'Metropolis' or 'Gibbs', got {criteria!r}")
    if update_rule not in ("metropolis", rule):
        raise ValueError(f"update_rule={update_rule!r} and proposal_acceptance_criteria={criteria!r} disagree")
    return rule


def _check_integer(name: str, value, low: int, high: int | None):
    """dimod's convention: a non-integer is a TypeError, an integer out of [low, high) a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low or (high is not None and value >= high):
        raise ValueError(f"{name} must be an integer in [{low}, {'inf' if high is None else high}), got {value!r}")


def document_parameters(method: _F) -> _F:
    """Put :data:`COMMON_PARAMETERS` (one text for every sampler) in place of the ``{common}`` line of a
    ``sample`` docstring, at that line's indentation."""
    lines = method.__doc__.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "{common}")
    indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
    lines[at:at + 1] = [indent + line for line in COMMON_PARAMETERS.splitlines()]
    method.__doc__ = "\n".join(lines)
    return method


def replica_sharding(num_replicas: int, devices: Sequence[jax.Device] | None = None) -> NamedSharding | None:
    """A sharding that splits the leading (replica) axis over all visible devices, or ``None`` when
    there is one device or the replicas do not divide evenly."""
    devices = jax.devices() if devices is None else devices
    if len(devices) < 2 or num_replicas % len(devices):
        return None
    mesh = Mesh(np.asarray(devices), ("replicas",))
    return NamedSharding(mesh, PartitionSpec("replicas"))


def shard_replicas(spins: jax.Array | np.ndarray,
                   sharding: jax.sharding.Sharding | None) -> jax.Array | np.ndarray:
    """Place the replicas (leading axis) on ``sharding``. Across several processes (multi-host, after
    ``jax.distributed.initialize``) every process holds the same initial spins and keeps its own shards."""
    if sharding is None:
        return spins
    if jax.process_count() == 1:
        return jax.device_put(spins, sharding)
    host = np.asarray(spins)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def to_host(x: ArrayLike) -> np.ndarray:
    """A result as one numpy array on every process (gathered across processes when sharded over hosts)."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable and not x.is_fully_replicated:
        from jax.experimental import multihost_utils

        x = multihost_utils.process_allgather(x, tiled=True)
    return np.asarray(x)


def spin_energies(bqm: dimod.BinaryQuadraticModel, samples: np.ndarray, labels: Sequence) -> np.ndarray:
    """The energies of ``samples`` (R, N) of a SPIN ``bqm`` whose columns are ``labels``, in float64 from the BQM's
    own coefficients (the offset included) -- what ``bqm.energies`` returns, as matrix products: the coupling
    matrix dense when it is at least 1/16 full (and at most 16 Mi entries), sparse otherwise. dimod's loop over
    the couplings took half of a short ``sample()`` call (2.4 ms for 256 reads of a dense N = 128 problem)."""
    linear, (irow, icol, quad), offset = bqm.to_numpy_vectors(variable_order=list(labels))
    linear = np.asarray(linear, dtype=np.float64)
    n = len(labels)
    if 16 * quad.size >= n * n and n * n <= 2 ** 24:
        J = np.zeros((n, n))
        J[irow, icol] = quad  # each coupling once (dimod keeps one (u, v) per pair, no self-loops)
        pairs = lambda s: np.einsum("ri,ri->r", s @ J, s)  # noqa: E731
    else:
        import scipy.sparse

        J = scipy.sparse.csr_matrix((quad, (irow, icol)), shape=(n, n))
        pairs = lambda s: np.einsum("ri,ir->r", s, J @ s.T)  # noqa: E731
    chunk = max(1, 2 ** 22 // max(n, 1))  # reads per product: float64 copies of at most 32 MiB
    out = np.empty(len(samples))
    for start in range(0, len(samples), chunk):
        s = np.asarray(samples[start:start + chunk], dtype=np.float64)
        out[start:start + chunk] = s @ linear + pairs(s) + float(offset)
    return out


class KernelSampler(dimod.Sampler):
    """Base class: converts the BQM, checks common parameters, builds the SampleSet.

    ``progress=True`` shows a tqdm bar fed from inside the compiled kernel (about 20 updates; for the
    adaptive population-annealing schedule, twentieths of beta_final)."""

    _common_parameters = {"num_reads": [], "seed": [], "initial_states": [], "initial_states_generator": [],
                          "sweep_method": [], "randomize_order": [], "update_rule": [], "precision": [],
                          "proposal_acceptance_criteria": [], "progress": []}
    _independent_reads = False  # True where reads are independent chains (interrupt_function runs them one by one)

    def __init__(self, dtype: DTypeLike | None = None):
        self.dtype = dtype

    @property
    def properties(self) -> dict:
        return {"backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()]}

    def sample(self, bqm: dimod.BinaryQuadraticModel, num_reads: int | None = None, seed: int | None = None,
               initial_states: dimod.typing.SamplesLike | None = None,
               initial_states_generator: str = "random", sweep_method: str = "auto", update_rule: str = "metropolis",
               proposal_acceptance_criteria: str | None = None, randomize_order: bool = False,
               interrupt_function: Callable[[], bool] | None = None, precision: str = "highest",
               **kwargs) -> dimod.SampleSet:
        preprocessing = time.perf_counter_ns()
        kwargs = self.remove_unknown_kwargs(**kwargs)
        if randomize_order:
            if sweep_method not in ("auto", "random"):
                raise ValueError(f"randomize_order=True is sweep_method='random', not {sweep_method!r}")
            sweep_method = "random"
        if interrupt_function is not None:
            if not callable(interrupt_function):
                raise TypeError(f"interrupt_function must be callable, got {interrupt_function!r}")
            if not self._independent_reads:
                raise ValueError(f"{type(self).__name__} has no interrupt_function: its reads are one population, "
                                 "not independent chains")
        if initial_states_generator not in INITIAL_STATES_GENERATORS:
            raise ValueError(f"initial_states_generator must be one of {INITIAL_STATES_GENERATORS}, got "
                             f"{initial_states_generator!r}")
        update_rule = _update_rule(update_rule, proposal_acceptance_criteria)
        given = None if initial_states is None else dimod.as_samples(initial_states)
        if num_reads is None:  # "soft": as many as the initial states, else one
            num_reads = max(len(given[0]), 1) if given is not None else 1
        _check_integer("num_reads", num_reads, 1, None)
        num_reads = int(num_reads)
        if seed is not None:
            _check_integer("seed", seed, 0, 2 ** 32)
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
        spins = self._initial_spins(k_init, model, num_reads, given, initial_states_generator, bqm)
        sweep = cached_sweep(model, sweep_method, update_rule, precision)
        sampling = time.perf_counter_ns()
        with (tqdm_listener(type(self).__name__, unit="step") if kwargs.get("progress")
              else contextlib.nullcontext()):
            if interrupt_function is None:
                spins = shard_replicas(spins, replica_sharding(spins.shape[0]))
                samples, info = self._run(key, model, sweep, spins, **kwargs)
            else:
                samples, info = self._run_interruptible(key, model, sweep, spins, interrupt_function, kwargs)
        samples = to_host(samples).astype(np.int8)
        postprocessing = time.perf_counter_ns()
        info.update(seed=seed, sweep_method=sweep.method, update_rule=update_rule, precision=precision)
        energy = spin_energies(bqm.spin, samples, model.labels)
        sampleset = dimod.SampleSet.from_samples((samples, model.labels), dimod.SPIN, energy=energy, info=info)
        sampleset.change_vartype(bqm.vartype, inplace=True)
        done = time.perf_counter_ns()
        sampleset.info["timing"] = {"preprocessing_ns": sampling - preprocessing,
                                    "sampling_ns": postprocessing - sampling,
                                    "postprocessing_ns": done - postprocessing,
                                    "run_seconds": (postprocessing - sampling) * 1e-9}
        return sampleset

    def _initial_spins(self, key, model, num_reads, given, generator, bqm):
        """The ``num_reads`` starting states from the given ones (``dimod.as_samples`` output or None) by the
        ``initial_states_generator`` rule (see :data:`COMMON_PARAMETERS`)."""
        dtype = model.dtype
        if given is None or given[0].shape[0] == 0:
            if generator == "tile":
                raise ValueError("initial_states_generator='tile' needs initial_states to tile")
            if generator == "none":
                raise ValueError(f"initial_states_generator='none' needs {num_reads} initial states, got none")
            return random_spins(key, (num_reads, model.num_variables), dtype)
        array, labels = given
        missing = set(model.labels) - set(labels)
        if missing:
            raise ValueError(f"initial_states lacks variables {sorted(map(str, missing))[:5]}")
        order = [list(labels).index(v) for v in model.labels]
        array = np.asarray(array, dtype=np.float64)[:, order]
        if bqm.vartype is dimod.BINARY:
            array = 2 * array - 1
        if not np.all(np.isin(array, (-1, 1))):
            raise ValueError(f"initial_states must hold {sorted(bqm.vartype.value)} values")
        if generator == "none" and array.shape[0] < num_reads:
            raise ValueError(f"initial_states_generator='none' needs {num_reads} initial states, got "
                             f"{array.shape[0]}")
        if generator == "tile":
            array = np.tile(array, (-(-num_reads // array.shape[0]), 1))
        array = jnp.asarray(array[:num_reads], dtype)
        if array.shape[0] < num_reads:  # "random": the rest uniformly random
            array = jnp.concatenate([array, random_spins(key, (num_reads - array.shape[0], model.num_variables),
                                                         dtype)])
        return array

    def _run_interruptible(self, key, model, sweep, spins, interrupt_function, kwargs):
        """The reads one at a time (read r with key ``fold_in(key, r)``), calling ``interrupt_function()`` after
        each; when it returns True (or raises, as in dwave-samplers) the reads done so far are returned.
        ``info["interrupted"]`` says whether it stopped early."""
        done, worldlines = [], []
        for read in range(spins.shape[0]):
            out, info = self._run(jax.random.fold_in(key, read), model, sweep, spins[read:read + 1], **kwargs)
            done.append(to_host(out))
            if "worldlines" in info:  # PIQMC's return_all_slices: one read's (1, P, N) each time
                worldlines.append(info["worldlines"])
            try:
                stop = bool(interrupt_function())
            except Exception:  # dwave-samplers' convention: an exception interrupts
                stop = True
            if stop:
                break
        info["interrupted"] = len(done) < spins.shape[0]
        if worldlines:
            info["worldlines"] = np.concatenate(worldlines)
        return np.concatenate(done), info

    def _run(self, key, model, sweep, spins, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

