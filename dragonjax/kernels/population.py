"""Population annealing (Hukushima & Iba 2003; Machta 2010; Wang, Machta & Katzgraber 2015).

A population of R replicas starts in equilibrium at beta = 0 (uniform spins, ln Z = N ln 2 exactly).
Each step raises beta to beta', reweights replica i by exp(-(beta' - beta) E_i), records
``ln Q = ln mean_i exp(-(beta' - beta) E_i)``, resamples R replicas by those weights and runs
``sweeps_per_beta`` sweeps at beta'. Then ``ln Z(beta_final) = N ln 2 + sum ln Q`` (an estimator whose
bias falls like 1/R).

Family statistics: every replica remembers the initial replica it descends from. ``num_families`` is the
number of surviving families, ``rho_t = R sum_f nu_f^2`` (nu_f the fraction of the population in family
f) and ``R / rho_t`` the effective population size.

Differentiable ln Z: the returned ``log_z`` is differentiable with respect to the model (h, J, offset)
and the extra field. Its gradient is the thermodynamic identity d ln Z / d theta = -beta <dE/dtheta>,
estimated on the final population (states held fixed; E is linear in the couplings), i.e. the
Boltzmann-machine gradient. (Differentiating the sum of ln Q with the states of every step held fixed would
instead give -sum_k dbeta_k <dE/dtheta>_{beta_k}, which misses the change of the intermediate ensembles
and is wrong.) The value is the PA estimate; only the gradient comes from the final population.
"""
from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ..ising import IsingModel, ProblemError
from .annealing import energies
from . import progress as _progress
from .sweeps import SweepFn, as_sweep, run_sweeps

__all__ = ["RESAMPLING_METHODS", "PAResult", "PAState", "PAInfo", "resample", "reweight_and_resample",
           "family_statistics", "population_init", "population_step", "population_annealing",
           "adaptive_population_annealing", "histogram_overlap"]

RESAMPLING_METHODS = ("systematic", "multinomial", "residual", "nearest")


def check_resampling(method: str) -> None:
    if method not in RESAMPLING_METHODS:
        raise ProblemError(f"unknown resampling {method!r}; expected one of {RESAMPLING_METHODS}")


def _expand(counts, length: int):
    """Indices that repeat i counts[i] times, as an array of the given length (padding past the end)."""
    return jnp.searchsorted(jnp.cumsum(counts), jnp.arange(length), side="right")


def resample(key: jax.Array, log_weights: jax.Array, method: str = "systematic") -> jax.Array:
    """Indices (R,) of the R replicas kept, drawn with probabilities ∝ exp(log_weights).

    - ``multinomial``: R independent draws;
    - ``systematic``: one uniform offset, R evenly spaced pointers (copies are floor or ceil of R w_i);
    - ``residual``: floor(R w_i) copies, the rest multinomial on the remainders;
    - ``nearest``: nearest-integer (stochastic rounding) copies n_i = floor(R w_i + U_i) as in
      Wang-Machta-Katzgraber; the population is held at R by removing uniformly chosen copies or adding
      multinomial draws (a correction of order sqrt(R) replicas).
    """
    check_resampling(method)
    r = log_weights.shape[0]
    w = jax.nn.softmax(log_weights)
    k_main, k_fill = jax.random.split(key)
    if method == "multinomial":
        return jax.random.categorical(k_main, log_weights, shape=(r,))
    if method == "systematic":
        pointers = (jax.random.uniform(k_main) + jnp.arange(r)) / r
        return jnp.minimum(jnp.searchsorted(jnp.cumsum(w), pointers, side="right"), r - 1)
    if method == "residual":
        counts = jnp.floor(r * w).astype(jnp.int32)
        kept = _expand(counts, r)
        fill_log_weights = jnp.log(jnp.maximum(r * w - counts, 0.0))
    else:  # nearest
        k_main, k_order = jax.random.split(k_main)
        counts = jnp.floor(r * w + jax.random.uniform(k_main, (r,))).astype(jnp.int32)
        expanded = _expand(counts, 2 * r)
        valid = jnp.arange(2 * r) < counts.sum()
        priority = jnp.where(valid, jax.random.uniform(k_order, (2 * r,)), 2.0)
        kept = expanded[jnp.argsort(priority)[:r]]
        fill_log_weights = log_weights
    fill = jax.random.categorical(k_fill, fill_log_weights, shape=(r,))
    return jnp.where(jnp.arange(r) < counts.sum(), kept, fill)


def family_statistics(family: ArrayLike, num_replicas: int) -> dict:
    """Surviving families, rho_t = R sum_f nu_f^2 and effective population R / rho_t."""
    counts = jnp.bincount(family, length=num_replicas)
    rho_t = jnp.sum(counts.astype(jnp.float32) ** 2) / num_replicas
    return {"num_families": jnp.sum(counts > 0), "rho_t": rho_t, "effective_population": num_replicas / rho_t}


def histogram_overlap(log_weights: jax.Array) -> jax.Array:
    """Overlap of the population's energy histogram with its reweighted version:
    ``sum_i min(1/R, w_i)`` with normalised weights w (1 for dbeta = 0)."""
    r = log_weights.shape[0]
    return jnp.sum(jnp.minimum(1.0 / r, jax.nn.softmax(log_weights)))


class PAResult(NamedTuple):
    spins: jax.Array  # (R, N) final population
    energies: jax.Array  # (R,)
    log_z: jax.Array  # estimate of ln sum_s exp(-beta_final E(s)), E with offset (and extra field)
    betas: jax.Array  # schedule actually used (adaptive: padded with beta_final past num_steps)
    log_q: jax.Array  # ln Q per step (0 past num_steps)
    num_steps: jax.Array
    num_families: jax.Array
    rho_t: jax.Array
    effective_population: jax.Array


class PAState(NamedTuple):
    """The population between steps: spins (R, N), their energies (R,), the current beta, the running ln Z
    estimate and each replica's family (the initial replica it descends from)."""
    spins: jax.Array
    energies: jax.Array
    beta: jax.Array
    log_z: jax.Array
    family: jax.Array


class PAInfo(NamedTuple):
    """What one step saw: ln Q (the free-energy increment) and the overlap of the energy histogram with its
    reweighted version (1: the step changed nothing; near 0: the step was too large)."""
    log_q: jax.Array
    histogram_overlap: jax.Array


def reweight_and_resample(key: jax.Array, population: Any, family: jax.Array, log_weights: jax.Array,
                          resampling: str = "systematic", replicated: jax.sharding.Sharding | None = None
                          ) -> tuple:
    """The move every population annealing shares (classical here, quantum in
    :func:`~dragonjax.kernels.piqmc.quantum_population_annealing`): ``ln Q = ln mean_i exp(log_weights_i)``, and R
    members of ``population`` (an array, or a pytree of arrays with the replicas first, e.g. spins and their
    energies) and their ``family`` resampled with probabilities ∝ exp(log_weights). With
    ``replicated`` (a fully replicated sharding) the weights are gathered first, so the result does not depend on
    how the population is sharded. Returns (population, family, ln Q)."""
    if replicated is not None:
        log_weights = jax.lax.with_sharding_constraint(log_weights, replicated)
    log_q = jax.scipy.special.logsumexp(log_weights) - jnp.log(log_weights.shape[0])
    keep = resample(key, log_weights, resampling)
    return jax.tree_util.tree_map(lambda x: x[keep], population), family[keep], log_q


def population_init(model: IsingModel, spins: jax.Array, extra_field: ArrayLike | None = None) -> PAState:
    """The population at beta = 0: ``spins`` (R, N), which must be uniform random; ln Z = N ln 2 exactly."""
    r, n = spins.shape
    return PAState(spins, energies(model, spins, extra_field), jnp.zeros((), spins.dtype),
                   jnp.asarray(n * np.log(2.0), spins.dtype), jnp.arange(r, dtype=jnp.int32))


def population_step(key: jax.Array, state: PAState, beta_next: ArrayLike, model: IsingModel, sweep: SweepFn,
                    extra_field: ArrayLike | None = None, sweeps_per_beta: int = 1, resampling: str = "systematic",
                    replicated: jax.sharding.Sharding | None = None) -> tuple[PAState, PAInfo]:
    """One step of population annealing: reweight the population from ``state.beta`` to ``beta_next`` by
    exp(-(beta_next - beta) E), resample (:func:`reweight_and_resample`), then ``sweeps_per_beta`` sweeps at
    ``beta_next``. The new energies are the resampled ones plus the sweeps' energy changes where the sweep tracks
    them (``Sweep.track``), else recomputed. Pure: the fixed and adaptive schedules below are thin drivers."""
    if extra_field is not None and jnp.ndim(extra_field) > 1:
        raise ProblemError(f"extra_field must be one field (N,) for the whole population, got shape "
                           f"{jnp.shape(extra_field)} (resampling moves replicas between rows)")
    log_w = -(beta_next - state.beta) * state.energies
    k_resample, k_sweep = jax.random.split(key)
    (spins, energy), family, log_q = reweight_and_resample(k_resample, (state.spins, state.energies), state.family,
                                                           log_w, resampling, replicated)
    betas = jnp.full((sweeps_per_beta,), beta_next, spins.dtype)
    if as_sweep(sweep).track is not None:
        spins, change = run_sweeps(sweep, k_sweep, model, spins, betas, extra_field, energy_change=True)
        energy = energy + change
    else:
        spins = run_sweeps(sweep, k_sweep, model, spins, betas, extra_field)
        energy = energies(model, spins, extra_field)
    state = PAState(spins, energy, beta_next, state.log_z + log_q, family)
    return state, PAInfo(log_q, histogram_overlap(log_w))


def _finish(state: PAState, model, extra_field, betas, log_q, num_steps) -> PAResult:
    # value: the PA estimate; gradient: -beta <dE/dtheta> over the final population (states fixed)
    final = energies(model, state.spins, extra_field)  # exact, without the rounding a tracked energy carries
    surrogate = -state.beta * jnp.mean(final)
    log_z = jax.lax.stop_gradient(state.log_z) + surrogate - jax.lax.stop_gradient(surrogate)
    stats = family_statistics(state.family, state.spins.shape[0])
    return PAResult(state.spins, jax.lax.stop_gradient(final), log_z, betas, log_q, num_steps, **stats)


def population_annealing(key: jax.Array, model: IsingModel, sweep: SweepFn, spins: jax.Array, betas: ArrayLike,
                         extra_field: ArrayLike | None = None, sweeps_per_beta: int = 1,
                         resampling: str = "systematic", replicated: jax.sharding.Sharding | None = None,
                         progress: bool = False) -> PAResult:
    """Population annealing over a fixed schedule ``betas`` (1-D, non-decreasing, first step from 0).

    ``spins`` (R, N) is the initial population, which must be uniform random (equilibrium at beta = 0).
    ``extra_field`` (N,) adds to h for every replica. When the population is sharded over devices, pass
    ``replicated`` (a fully replicated sharding on the same mesh): the R weights are then gathered before
    the reductions of the reweighting and resampling, so results do not depend on the number of devices.
    Vectorise over independent runs with ``jax.vmap`` over ``key`` and ``spins``. ``progress`` compiles in
    reports to :mod:`~dragonjax.kernels.progress`."""
    check_resampling(resampling)
    betas = jnp.asarray(betas, spins.dtype)
    frozen = jax.lax.stop_gradient(model)
    frozen_extra = None if extra_field is None else jax.lax.stop_gradient(extra_field)
    state = population_init(frozen, spins, frozen_extra)

    def body(state, inputs):
        k, beta_next = inputs
        state, info = population_step(k, state, beta_next, frozen, sweep, frozen_extra, sweeps_per_beta, resampling,
                                      replicated)
        return state, info.log_q

    state, log_q = _progress.scan(body, state, (jax.random.split(key, betas.shape[0]), betas), progress)
    return _finish(state, model, extra_field, betas, log_q, betas.shape[0])


def adaptive_population_annealing(key: jax.Array, model: IsingModel, sweep: SweepFn, spins: jax.Array,
                                  beta_final: ArrayLike, target_overlap: ArrayLike = 0.85, max_steps: int = 1000,
                                  extra_field: ArrayLike | None = None, sweeps_per_beta: int = 1,
                                  resampling: str = "systematic", replicated: jax.sharding.Sharding | None = None,
                                  progress: bool = False) -> PAResult:
    """Population annealing from beta = 0 to ``beta_final`` with each step chosen (by bisection) so that
    the reweighted energy histogram overlaps the current one by ``target_overlap``. If ``max_steps`` is
    reached, the last step jumps to ``beta_final`` (check ``num_steps`` and ``log_q``). ``progress``
    reports beta / beta_final in twentieths (see :mod:`~dragonjax.kernels.progress`)."""
    check_resampling(resampling)
    if isinstance(target_overlap, (int, float)) and not 0.0 < target_overlap < 1.0:
        raise ProblemError(f"target_overlap must lie in (0, 1), got {target_overlap}")
    dtype = spins.dtype
    beta_final = jnp.asarray(beta_final, dtype)
    frozen = jax.lax.stop_gradient(model)
    frozen_extra = None if extra_field is None else jax.lax.stop_gradient(extra_field)

    def next_beta(state, last):
        def bisect(_, bounds):
            lo, hi = bounds
            mid = 0.5 * (lo + hi)
            ok = histogram_overlap(-(mid - state.beta) * state.energies) >= target_overlap
            return jnp.where(ok, mid, lo), jnp.where(ok, hi, mid)

        full_ok = histogram_overlap(-(beta_final - state.beta) * state.energies) >= target_overlap
        lo, _ = jax.lax.fori_loop(0, 40, bisect, (state.beta, beta_final))
        chosen = jnp.where(full_ok | last, beta_final, lo)
        # guarantee progress even when a single step of float resolution already breaks the target
        return jnp.maximum(chosen, jnp.minimum(beta_final, state.beta + 1e-6 * (1.0 + beta_final)))

    def cond(carry):
        state, step, *_ = carry
        return (state.beta < beta_final) & (step < max_steps)

    def body(carry):
        state, step, key, betas, log_qs = carry
        key, k = jax.random.split(key)
        beta_next = next_beta(state, step == max_steps - 1)
        if progress:
            _progress.report_fraction(state.beta / beta_final, beta_next / beta_final)
        state, info = population_step(k, state, beta_next, frozen, sweep, frozen_extra, sweeps_per_beta,
                                      resampling, replicated)
        return state, step + 1, key, betas.at[step].set(beta_next), log_qs.at[step].set(info.log_q)

    init = (population_init(frozen, spins, frozen_extra), jnp.asarray(0), key,
            jnp.full(max_steps, beta_final, dtype), jnp.zeros(max_steps, dtype))
    state, num_steps, _, betas, log_q = jax.lax.while_loop(cond, body, init)
    return _finish(state, model, extra_field, betas, log_q, num_steps)
