"""Simulated annealing and fixed-temperature Markov chains: a ``lax.scan`` of sweeps over a schedule.

Pure functions; the sweep (see :mod:`dragonjax.kernels.sweeps`) is passed in, so these know nothing of
the problem's structure.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from ..ising import IsingModel
from .sweeps import Sweep, SweepFn, run_sweeps

__all__ = ["AnnealResult", "simulated_annealing", "energies"]


class AnnealResult(NamedTuple):
    spins: jax.Array  # (..., N)
    energies: jax.Array  # (...,), including offset and extra field


def energies(model: IsingModel, spins: ArrayLike, extra_field: ArrayLike | None = None) -> jax.Array:
    """Energy including the optional per-replica ``extra_field . spins``."""
    e = model.energy(spins)
    return e if extra_field is None else e + jnp.sum(extra_field * spins, axis=-1)


def simulated_annealing(key: jax.Array, model: IsingModel, sweep: Sweep | SweepFn, spins: jax.Array, betas: ArrayLike,
                        extra_field: ArrayLike | None = None, sweeps_per_beta: int = 1,
                        progress: bool = False) -> AnnealResult:
    """Run ``sweeps_per_beta`` sweeps at each beta of ``betas`` (1-D) from the given spins (..., N).
    With a constant schedule this is an equilibrium Metropolis / heat-bath chain. The sweeps are made by
    :func:`~dragonjax.kernels.sweeps.run_sweeps` (a block sweep draws the thresholds of several at once).
    ``progress`` compiles in reports to :mod:`~dragonjax.kernels.progress` listeners."""
    betas = jnp.repeat(jnp.asarray(betas, spins.dtype), sweeps_per_beta, axis=0)  # one per sweep
    spins = run_sweeps(sweep, key, model, spins, betas, extra_field, progress)
    return AnnealResult(spins, energies(model, spins, extra_field))
