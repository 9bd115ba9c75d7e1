"""Parallel tempering (replica exchange; Swendsen & Wang 1986, Hukushima & Nemoto 1996).

One chain per inverse temperature beta_0, beta_1, ..., beta_{T-1} of the same problem (any order; neighbours in
this order are exchanged, so list them monotonically). A step is one
sweep of every chain at its own beta (the sweep of :mod:`dragonjax.kernels.sweeps`), then exchange
proposals between neighbouring temperatures: configurations at beta_t and beta_{t+1} swap with probability
min(1, exp((beta_{t+1} - beta_t)(E_{t+1} - E_t))), which keeps the product of Boltzmann distributions
invariant. Even steps propose the pairs (0, 1), (2, 3), ...; odd steps (1, 2), (3, 4), ... Configurations
move, temperatures stay: ``spins[..., t, :]`` is always the chain at ``betas[t]``.

Unlike the members of one population-annealing population, two tempering runs started from independent
random spins with independent keys are independent replicas: vectorise over them (and over disorder samples)
with leading batch axes of ``spins`` or with ``jax.vmap``.

Pure functions in the blackjax shape: :func:`tempering_init` -> :class:`TemperingState`,
:func:`tempering_step` ``(key, state, ...) -> (state, info)`` and :func:`parallel_tempering`, a ``lax.scan``
of steps that records ``observe(state)`` after each.
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from ..ising import IsingModel
from . import progress as _progress
from .annealing import energies
from .rng import uniform
from .sweeps import SweepFn

__all__ = ["TemperingState", "TemperingInfo", "tempering_init", "tempering_step", "parallel_tempering"]


class TemperingState(NamedTuple):
    spins: jax.Array  # (..., T, N): chain t at betas[t]
    energies: jax.Array  # (..., T), including the extra field
    betas: jax.Array  # (T,) monotonic
    step: jax.Array  # number of steps taken (sets which neighbour pairs are proposed next)
    accepted: jax.Array  # (..., T - 1) accepted exchanges between t and t + 1
    proposed: jax.Array  # (T - 1,) proposals made between t and t + 1 (the same for every batch element)


class TemperingInfo(NamedTuple):
    swapped: jax.Array  # (..., T - 1) whether the pair (t, t + 1) exchanged in this step


def tempering_init(model: IsingModel, spins: jax.Array, betas: ArrayLike,
                   extra_field: ArrayLike | None = None) -> TemperingState:
    """State of chains ``spins`` (..., T, N) at the monotonic inverse temperatures ``betas`` (T,).
    ``extra_field`` (..., N) or (..., T, N) adds to h (e.g. a per-problem field)."""
    betas = jnp.asarray(betas, spins.dtype)
    batch = spins.shape[:-1]
    return TemperingState(spins, energies(model, spins, extra_field), betas, jnp.zeros((), jnp.int32),
                          jnp.zeros(batch[:-1] + (batch[-1] - 1,), jnp.int32),
                          jnp.zeros(betas.shape[0] - 1, jnp.int32))


def _exchange(key, state: TemperingState):
    """Propose swaps between the neighbour pairs of this step's parity; returns (state, swapped)."""
    t = state.betas.shape[0]
    parity = state.step % 2
    lower = jnp.arange(t - 1)
    active = (lower % 2) == parity  # pairs (t, t + 1) proposed now
    dbeta = state.betas[1:] - state.betas[:-1]
    de = state.energies[..., 1:] - state.energies[..., :-1]
    log_u = jnp.log(uniform(key, de.shape, de.dtype))
    swapped = active & (log_u < dbeta * de)
    # partner index of each temperature slot: t <-> t + 1 where the pair swaps
    up = jnp.concatenate([swapped, jnp.zeros(swapped.shape[:-1] + (1,), bool)], axis=-1)
    down = jnp.concatenate([jnp.zeros(swapped.shape[:-1] + (1,), bool), swapped], axis=-1)
    slots = jnp.arange(t)
    partner = jnp.where(up, slots + 1, jnp.where(down, slots - 1, slots))
    spins = jnp.take_along_axis(state.spins, partner[..., None], axis=-2)
    e = jnp.take_along_axis(state.energies, partner, axis=-1)
    state = state._replace(spins=spins, energies=e, accepted=state.accepted + swapped,
                           proposed=state.proposed + active)
    return state, swapped


def tempering_step(key: jax.Array, state: TemperingState, model: IsingModel, sweep: SweepFn,
                   extra_field: ArrayLike | None = None) -> tuple[TemperingState, TemperingInfo]:
    """One sweep of every chain at its own beta, then one round of neighbour exchanges."""
    k_sweep, k_swap = jax.random.split(key)
    spins = sweep(k_sweep, model, state.spins, state.betas, extra_field)
    state = state._replace(spins=spins, energies=energies(model, spins, extra_field))
    state, swapped = _exchange(k_swap, state)
    return state._replace(step=state.step + 1), TemperingInfo(swapped)


def parallel_tempering(key: jax.Array, state: TemperingState, model: IsingModel, sweep: SweepFn, num_steps: int,
                       observe: Callable | None = None, extra_field: ArrayLike | None = None,
                       progress: bool = False) -> tuple[TemperingState, Any]:
    """``num_steps`` tempering steps from ``state``. Returns ``(state, observations)`` where observations
    stacks ``observe(state)`` after every step along a new leading axis (None without ``observe``).
    ``progress`` compiles in reports to :mod:`~dragonjax.kernels.progress` listeners."""

    def body(state, k):
        state, _ = tempering_step(k, state, model, sweep, extra_field)
        return state, (None if observe is None else observe(state))

    return _progress.scan(body, state, jax.random.split(key, num_steps), progress)
