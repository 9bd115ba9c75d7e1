"""Samplers for the free and nudged phases of a batch of conditioned problems.

Every conditioned problem of a batch shares its couplings (the weights) and differs only in its fields
(the input, the clamped output). A phase sampler is a function

    sample(key, base: IsingModel, fields (B, n), offsets (B,), num_reads) -> (states (B, R, n), energies (B, R))

returning R states per example and their energies (``base`` energy + fields . s + offset). The JAX kernels
sample the whole batch at once (no Python loop per example); any ``dimod.Sampler`` is called once per
example on the conditioned BQM.

Each sampler also says what it knows about its output: ``sample.final_beta``, the inverse temperature
(1 / energy unit) of the distribution its reads end in -- the cold end of ``beta_range`` for SA and PA,
the classical ``beta`` of PIQMC, the cold end of a ``beta_range`` passed to a dimod sampler, and None
where there is no such temperature (exact enumeration returns the R lowest states, a QPU's effective
temperature is unknown); and ``sample.independent_reads``: whether the R reads are independent runs
(SA, PIQMC: separate anneals from independent random starts) or not (PA: one population whose members
share ancestors; exact: the R lowest states), None when unknown (dimod samplers).
"""
from __future__ import annotations

import functools
from typing import Callable, NamedTuple, Sequence

import dimod
import jax
import jax.numpy as jnp
import numpy as np

from ..ising import IsingModel, ProblemError
from ..kernels import beta_schedule, cached_sweep, population_annealing, random_spins, simulated_annealing
from ..kernels.piqmc import check_trotter_slices, quantum_annealing
from ..samplers.base import replica_sharding, shard_replicas

__all__ = ["HARDWARE_OPTIONS", "Hardware", "PHASE_SAMPLERS", "phase_sampler", "realised_problems",
           "SamplerStats"]

PHASE_SAMPLERS = ("pa", "sa", "piqmc", "exact")


class SamplerStats:
    """Counts sampler calls and spin updates (reads x sweeps x spins, x slices for PIQMC)."""

    def __init__(self):
        self.calls = 0
        self.spin_updates = 0
        self.max_variables_seen = 0

    def record(self, calls: int, spin_updates: int, num_variables: int) -> None:
        """Add ``calls`` sampler calls and ``spin_updates`` spin updates; keep the largest problem size seen."""
        self.calls += int(calls)
        self.spin_updates += int(spin_updates)
        self.max_variables_seen = max(self.max_variables_seen, int(num_variables))


def shard_batch(x):
    """Split the leading (example) axis over all devices when it divides evenly: the compiled phase kernels
    then run the examples of a batch in parallel (their random bits do not depend on the sharding)."""
    return shard_replicas(x, replica_sharding(x.shape[0]))


def _energies(base, states, fields, offsets):
    return base.energy(states) + jnp.sum(states * fields[:, None, :], axis=-1) + offsets[:, None]


def _chains(key, base, fields, offsets, spins, betas, sweep):
    """R independent Metropolis chains per example from ``spins`` (B, R, n) over ``betas``; their energies."""
    out = simulated_annealing(key, base, sweep, spins, betas, extra_field=fields[:, None, :])
    return out.spins, out.energies + offsets[:, None]


@functools.partial(jax.jit, static_argnames=("sweep", "num_reads"))
def _sa(key, base, fields, offsets, betas, sweep, num_reads):
    k1, k2 = jax.random.split(key)
    spins = random_spins(k1, (fields.shape[0], num_reads, base.num_variables), base.dtype)
    return _chains(k2, base, fields, offsets, spins, betas, sweep)


@functools.partial(jax.jit, static_argnames=("sweep", "num_reads"))
def _from_state(key, base, fields, offsets, initial, betas, sweep, num_reads):
    spins = jnp.broadcast_to(initial[:, None, :], (fields.shape[0], num_reads, base.num_variables)).astype(base.dtype)
    return _chains(key, base, fields, offsets, spins, betas, sweep)


@functools.partial(jax.jit, static_argnames=("sweep", "num_reads"))
def _pa(key, base, fields, offsets, betas, sweep, num_reads):
    keys = jax.random.split(key, 2 * fields.shape[0])
    spins = jax.vmap(lambda k: random_spins(k, (num_reads, base.num_variables), base.dtype))(keys[::2])
    run = jax.vmap(lambda k, s, f: population_annealing(k, base, sweep, s, betas, extra_field=f))
    out = run(keys[1::2], spins, fields)
    return out.spins, out.energies + offsets[:, None]


@functools.partial(jax.jit, static_argnames=("sweep", "num_reads", "trotter_slices"))
def _piqmc(key, base, fields, offsets, beta, gammas, sweep, num_reads, trotter_slices):
    k1, k2 = jax.random.split(key)
    shape = (fields.shape[0], num_reads, trotter_slices, base.num_variables)
    worldlines = quantum_annealing(k2, base, sweep, random_spins(k1, shape, base.dtype), beta, gammas,
                                   jnp.ones_like(gammas), extra_field=fields[:, None, :])
    slice_energies = base.energy(worldlines) + jnp.sum(worldlines * fields[:, None, None, :], axis=-1)
    best = jnp.argmin(slice_energies, axis=-1)
    states = jnp.take_along_axis(worldlines, best[..., None, None], axis=2)[:, :, 0]
    return states, jnp.take_along_axis(slice_energies, best[..., None], axis=2)[..., 0] + offsets[:, None]


@functools.partial(jax.jit, static_argnames=("num_reads",))
def _exact(base, fields, offsets, num_reads):
    from ..exact import index_to_spins

    n = base.num_variables
    states = index_to_spins(jnp.arange(2 ** n), n, base.dtype)
    e = base.energy(states)[None, :] + fields @ states.T + offsets[:, None]
    k = min(num_reads, 2 ** n)
    neg, idx = jax.lax.top_k(-e, k)
    take = jnp.arange(num_reads) % k  # fewer than R states exist: repeat them (duplicates are not distinct)
    return states[idx[:, take]], -neg[:, take]


DEFAULT_BETA_RANGE = (0.1, 10.0)


class Hardware(NamedTuple):
    """An emulated annealer's imperfections (the JAX form of :class:`dragonjax.samplers.NoisyComposite`; units
    there): each example's conditioned problem is auto-scaled into the ranges, perturbed by Gaussian control errors
    drawn anew per call, clipped, quantised to ``precision_bits``, sampled (at the fixed ``beta_eff``, in hardware
    units, when given), and each returned spin flipped with probability ``readout_error``."""
    coupling_noise: float = 0.0
    field_noise: float = 0.0
    precision_bits: int | None = None
    readout_error: float = 0.0
    beta_eff: float | None = None
    coupling_range: tuple = (-1.0, 1.0)
    field_range: tuple = (-4.0, 4.0)


def _quantise(values, value_range, bits):
    low, high = value_range
    step = (high - low) / (2 ** bits - 1)
    return low + jnp.round((values - low) / step) * step


def realised_problems(key: jax.Array, base: IsingModel, fields: jax.Array,
                      hardware: Hardware) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The problems the emulated hardware realises for the B conditioned problems ``base`` + ``fields`` (B, n):
    couplings (B, n, n) and fields (B, n) after auto-scaling, control errors, clipping and quantisation, and the
    scale factors (B,). Traceable."""
    (c_low, c_high), (f_low, f_high) = hardware.coupling_range, hardware.field_range
    h = base.h[None, :] + fields
    J = jnp.broadcast_to(base.J, (fields.shape[0],) + base.J.shape)
    ratio_h = jnp.max(jnp.where(h > 0, h / f_high, h / f_low), axis=1)
    ratio_j = jnp.max(jnp.where(J > 0, J / c_high, J / c_low), axis=(1, 2))
    scale = jnp.maximum(jnp.maximum(ratio_h, ratio_j), 1e-30)
    k_h, k_j = jax.random.split(key)
    noise = jax.random.normal(k_j, J.shape, J.dtype) * hardware.coupling_noise * c_high
    noise = jnp.triu(noise, 1)
    noise = (noise + jnp.swapaxes(noise, 1, 2)) * (base.J != 0)[None]  # symmetric, on the coupled pairs only
    J = jnp.clip(J / scale[:, None, None] + noise, c_low, c_high) * (base.J != 0)[None]
    h = jnp.clip(h / scale[:, None] + jax.random.normal(k_h, h.shape, h.dtype) * hardware.field_noise * f_high,
                 f_low, f_high)
    if hardware.precision_bits is not None:
        J = _quantise(J, hardware.coupling_range, hardware.precision_bits) * (base.J != 0)[None]
        h = _quantise(h, hardware.field_range, hardware.precision_bits)
    return J, h, scale


@functools.partial(jax.jit, static_argnames=("sweep", "num_reads", "method", "hardware"))
def _on_hardware(key, base, fields, offsets, betas, sweep, num_reads, method, hardware):
    """SA or PA on each example's realised problem (vmapped over examples), readout errors, and the states'
    energies under the original problems."""
    k_real, k_init, k_run, k_read = jax.random.split(key, 4)
    J, h, _ = realised_problems(k_real, base, fields, hardware)
    if hardware.beta_eff is not None:
        betas = jnp.full_like(betas, hardware.beta_eff)
    batch, n = fields.shape
    spins = random_spins(k_init, (batch, num_reads, n), base.dtype)

    def one(key, J, h, spins):
        model = IsingModel.tree_unflatten(base.labels, (J, h, jnp.zeros((), base.dtype)))
        if method == "sa":
            return simulated_annealing(key, model, sweep, spins, betas).spins
        return population_annealing(key, model, sweep, spins, betas).spins

    states = jax.vmap(one)(jax.random.split(k_run, batch), J, h, spins)
    if hardware.readout_error > 0:
        flips = jax.random.uniform(k_read, states.shape) < hardware.readout_error
        states = jnp.where(flips, -states, states)
    return states, _energies(base, states, fields, offsets)


HARDWARE_OPTIONS = ("coupling_noise", "field_noise", "precision_bits", "readout_error", "beta_eff", "coupling_range",
                    "field_range")


def phase_sampler(sampler: str | dimod.Sampler = "pa", num_sweeps: int = 64, beta_range: Sequence[float] | None = None,
                  trotter_slices: int = 8, beta: float = 10.0, gamma_range: Sequence[float] = (3.0, 0.01),
                  stats: SamplerStats | None = None, sweep_method: str = "auto",
                  **dimod_kwargs) -> Callable[..., tuple[jax.Array, jax.Array]]:
    """Build a phase sampler. ``sampler``: "pa" (population annealing, R = num_reads per example),
    "sa" (R independent annealing runs), "piqmc" (simulated quantum annealing; best slice per read),
    "exact" (the R lowest states by enumeration, repeated when 2^n < R; n <= 20), or any ``dimod.Sampler``
    instance (extra keyword arguments are passed to its ``sample``). For "sa" and "pa" the options of
    :class:`Hardware` (``coupling_noise``, ``field_noise``, ``precision_bits``, ``readout_error``, ``beta_eff``,
    ``coupling_range``, ``field_range``) emulate an annealer's imperfections, vectorised over the batch; the
    schedule (``beta_range`` or ``beta_eff``) is then in hardware units, and ``final_beta`` is None."""
    stats = stats if stats is not None else SamplerStats()
    options = {k: dimod_kwargs.pop(k) for k in HARDWARE_OPTIONS if k in dimod_kwargs
               and not isinstance(sampler, dimod.Sampler)}
    hardware = _hardware(sampler, options) if options else None
    if isinstance(sampler, dimod.Sampler):
        return _dimod_phase(sampler, stats, dimod_kwargs)
    if dimod_kwargs:
        raise ProblemError(f"unknown sampler options {sorted(dimod_kwargs)} for sampler {sampler!r}")
    if sampler not in PHASE_SAMPLERS:
        raise ProblemError(f"unknown sampler {sampler!r}; expected one of {PHASE_SAMPLERS} or a dimod.Sampler")
    if beta_range is not None and sampler not in ("sa", "pa"):
        raise ProblemError(f"beta_range sets the SA/PA anneal; the {sampler!r} phase sampler does not use it"
                           + (" (PIQMC samples at its own beta)" if sampler == "piqmc" else ""))
    beta_range = DEFAULT_BETA_RANGE if beta_range is None else tuple(float(b) for b in beta_range)
    betas = jnp.asarray(beta_schedule(beta_range, num_sweeps, "geometric"), jnp.float32)
    slices = check_trotter_slices(trotter_slices) if sampler == "piqmc" else 1

    def cost(batch: int, n: int, num_reads: int) -> int:
        """Spin updates of one call: reads x sweeps x spins (x slices for PIQMC); 2^n per example for exact."""
        return batch * 2 ** n if sampler == "exact" else batch * num_reads * num_sweeps * n * slices

    def sample(key, base: IsingModel, fields, offsets, num_reads: int, *, sweep=None, betas=betas):
        """``sweep``: the sweep for ``base``'s sparsity pattern (required when ``base`` is traced, e.g. inside a
        jit-compiled training step, where the pattern cannot be read from its values); ``betas``: the
        SA/PA schedule (default from ``beta_range`` and ``num_sweeps``)."""
        batch, n = fields.shape
        if not isinstance(fields, jax.core.Tracer):  # eager call: place examples on devices, count the work
            fields, offsets = shard_batch(fields), shard_batch(offsets)
            stats.record(batch, cost(batch, n, num_reads), n)
        if sampler == "exact":
            if n > 20:
                raise ProblemError(f"the exact phase sampler enumerates 2^n states; n = {n} > 20")
            return _exact(base, fields, offsets, num_reads)
        # one compiled kernel per sparsity pattern, shared by every phase sampler
        sweep = cached_sweep(base, sweep_method, "metropolis") if sweep is None else sweep
        if hardware is not None:
            return _on_hardware(key, base, fields, offsets, betas, sweep, num_reads, sampler, hardware)
        if sampler == "sa":
            return _sa(key, base, fields, offsets, betas, sweep, num_reads)
        if sampler == "pa":
            return _pa(key, base, fields, offsets, betas, sweep, num_reads)
        gammas = jnp.asarray(np.linspace(gamma_range[0], gamma_range[1], num_sweeps), jnp.float32)
        return _piqmc(key, base, fields, offsets, jnp.float32(beta), gammas, sweep, num_reads, slices)

    def from_state(key, base: IsingModel, fields, offsets, initial, num_reads: int, *, betas, sweep=None):
        """A reverse anneal: ``num_reads`` independent Metropolis chains per example, all started from
        ``initial`` (B, n), over the schedule ``betas`` (one sweep each) -- SA's kernel for both "sa" and "pa"
        (a population must start from uniform random spins)."""
        if sampler not in ("sa", "pa") or hardware is not None:
            raise ProblemError(f"a reverse anneal from a given state needs the 'sa' or 'pa' sampler without "
                               f"hardware emulation, not {sampler!r}")
        batch, n = fields.shape
        if not isinstance(fields, jax.core.Tracer):
            fields, offsets, initial = shard_batch(fields), shard_batch(offsets), shard_batch(initial)
            stats.record(batch, batch * num_reads * len(betas) * n, n)
        sweep = cached_sweep(base, sweep_method, "metropolis") if sweep is None else sweep
        return _from_state(key, base, fields, offsets, initial, betas, sweep, num_reads)

    sample.stats = stats
    sample.from_state = from_state
    sample.beta_range = beta_range if sampler in ("sa", "pa") else None
    sample.cost = cost
    sample.jittable = True
    sample.num_sweeps = num_sweeps
    sample.sweep_method = sweep_method
    sample.final_beta = ({"sa": float(betas[-1]), "pa": float(betas[-1]), "piqmc": float(beta)}.get(sampler)
                         if hardware is None else None)  # an emulated QPU: per-example scales, no one temperature
    sample.hardware = hardware
    sample.independent_reads = sampler in ("sa", "piqmc")
    return sample


def _hardware(sampler, options) -> Hardware:
    """The checked :class:`Hardware` of the phase sampler's options (SA and PA only)."""
    if sampler not in ("sa", "pa"):
        raise ProblemError(f"hardware noise options {sorted(options)} are emulated for the 'sa' and 'pa' phase "
                           f"samplers, not {sampler!r} (for a dimod sampler wrap it in NoisyComposite)")
    for name in ("coupling_noise", "field_noise"):
        if not (np.isfinite(options.get(name, 0.0)) and options.get(name, 0.0) >= 0):
            raise ProblemError(f"{name} must be a non-negative number, got {options[name]!r}")
    if not 0.0 <= options.get("readout_error", 0.0) <= 1.0:
        raise ProblemError(f"readout_error must be a probability in [0, 1], got {options['readout_error']!r}")
    bits = options.get("precision_bits")
    if bits is not None and (isinstance(bits, bool) or int(bits) != bits or bits < 1):
        raise ProblemError(f"precision_bits must be a positive integer, got {bits!r}")
    beta_eff = options.get("beta_eff")
    if beta_eff is not None and not (np.isfinite(beta_eff) and beta_eff > 0):
        raise ProblemError(f"beta_eff must be a positive number, got {beta_eff!r}")
    ranges = {k: tuple(float(v) for v in options.get(k, d)) for k, d in (("coupling_range", (-1.0, 1.0)),
                                                                        ("field_range", (-4.0, 4.0)))}
    for name, (low, high) in ranges.items():
        if not low < 0 < high:
            raise ProblemError(f"{name} must be (low, high) with low < 0 < high, got {(low, high)!r}")
    return Hardware(float(options.get("coupling_noise", 0.0)), float(options.get("field_noise", 0.0)),
                    None if bits is None else int(bits), float(options.get("readout_error", 0.0)),
                    None if beta_eff is None else float(beta_eff), ranges["coupling_range"], ranges["field_range"])


def _dimod_phase(sampler, stats, kwargs):
    def sample(key, base: IsingModel, fields, offsets, num_reads: int, *, sweep=None, betas=None):
        fields, offsets = np.asarray(fields, np.float64), np.asarray(offsets, np.float64)
        J, h = np.asarray(base.J, np.float64), np.asarray(base.h, np.float64)
        seed = int(jax.random.randint(key, (), 0, 2 ** 31 - 1))
        bqms = [IsingModel(J, h + fields[b], offsets[b], dtype=jnp.float32).to_bqm() for b in range(fields.shape[0])]
        params = {"num_reads": num_reads, **kwargs}
        if hasattr(sampler, "sample_many"):  # a QPU: the batch's problems packed into as few calls as it can
            samplesets = sampler.sample_many(bqms, **params)
        else:
            samplesets = [sampler.sample(bqm, **params, **({"seed": seed + b} if "seed" in sampler.parameters else {}))
                          for b, bqm in enumerate(bqms)]
        all_states, all_energies = [], []
        for bqm, ss in zip(bqms, samplesets):
            order = [ss.variables.index(v) for v in range(base.num_variables)]
            spins = np.asarray(ss.record.sample[:, order], np.float32)
            if ss.vartype is dimod.BINARY:
                spins = 2 * spins - 1
            energy = np.asarray(bqm.energies((spins, list(range(base.num_variables)))))
            take = np.argsort(energy, kind="stable")[:num_reads]
            take = np.resize(take, num_reads)  # a sampler may return fewer reads: repeat the best
            all_states.append(spins[take])
            all_energies.append(energy[take])
            stats.record(1, 0, base.num_variables)
        return jnp.asarray(np.stack(all_states)), jnp.asarray(np.stack(all_energies), jnp.float32)

    sample.stats = stats
    sample.beta_range = None
    sample.cost = lambda batch, n, num_reads: 0
    sample.jittable = False  # a host call per example: the training step runs eagerly
    sample.final_beta = float(kwargs["beta_range"][1]) if "beta_range" in kwargs else None
    sample.independent_reads = None
    return sample
