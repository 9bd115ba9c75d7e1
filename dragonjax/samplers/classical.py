"""Simulated annealing and population annealing as ``dimod.Sampler`` s.

Parameter names follow dwave-samplers' ``SimulatedAnnealingSampler`` where they mean the same:
``num_reads`` (reads = population size for PA), ``num_sweeps``, ``num_sweeps_per_beta``, ``beta_range``,
``beta_schedule_type`` ("geometric", "linear", "custom"), ``beta_schedule``, ``seed``, ``initial_states``.
"""
from __future__ import annotations

import functools
import warnings

import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec

from ..kernels import (adaptive_population_annealing, beta_schedule, check_schedule, default_beta_range,
                       population_annealing, simulated_annealing)
from ..kernels.population import check_resampling
from .base import KernelSampler, to_host

__all__ = ["SimulatedAnnealingSampler", "PopulationAnnealingSampler"]


def _schedule(model, num_sweeps, num_sweeps_per_beta, beta_range, beta_schedule_type, custom):
    if beta_schedule_type == "custom":
        if custom is None:
            raise ValueError("beta_schedule_type='custom' needs beta_schedule")
        return check_schedule(custom)
    if custom is not None:
        raise ValueError("beta_schedule is given only with beta_schedule_type='custom'")
    if int(num_sweeps) != num_sweeps or num_sweeps < 1:
        raise ValueError(f"num_sweeps must be a positive integer, got {num_sweeps!r}")
    if int(num_sweeps_per_beta) != num_sweeps_per_beta or num_sweeps_per_beta < 1:
        raise ValueError(f"num_sweeps_per_beta must be a positive integer, got {num_sweeps_per_beta!r}")
    if num_sweeps % num_sweeps_per_beta:
        raise ValueError(f"num_sweeps ({num_sweeps}) must be a multiple of num_sweeps_per_beta "
                         f"({num_sweeps_per_beta})")
    beta_range = default_beta_range(model) if beta_range is None else beta_range
    return beta_schedule(beta_range, num_sweeps // num_sweeps_per_beta, beta_schedule_type)


@functools.partial(jax.jit, static_argnames=("sweep", "sweeps_per_beta", "progress"))
def _anneal(key, model, spins, betas, sweep, sweeps_per_beta, progress):
    return simulated_annealing(key, model, sweep, spins, betas, sweeps_per_beta=sweeps_per_beta, progress=progress)


def _replicated(spins):
    sharding = getattr(spins, "sharding", None)
    if isinstance(sharding, NamedSharding) and sharding.mesh.size > 1:
        return NamedSharding(sharding.mesh, PartitionSpec())
    return None


@functools.partial(jax.jit, static_argnames=("sweep", "sweeps_per_beta", "resampling", "replicated", "progress"))
def _population(key, model, spins, betas, sweep, sweeps_per_beta, resampling, replicated, progress):
    return population_annealing(key, model, sweep, spins, betas, sweeps_per_beta=sweeps_per_beta,
                                resampling=resampling, replicated=replicated, progress=progress)


@functools.partial(jax.jit, static_argnames=("sweep", "sweeps_per_beta", "resampling", "max_steps",
                                             "replicated", "progress"))
def _adaptive_population(key, model, spins, beta_final, target, sweep, sweeps_per_beta, resampling, max_steps,
                         replicated, progress):
    return adaptive_population_annealing(key, model, sweep, spins, beta_final, target, max_steps,
                                         sweeps_per_beta=sweeps_per_beta, resampling=resampling,
                                         replicated=replicated, progress=progress)


class SimulatedAnnealingSampler(KernelSampler):
    """Simulated annealing in JAX: every read is an independent chain; reads are vectorised (and
    sharded over devices). ``sweep_method`` is ``auto`` | ``dense`` | ``block``; ``update_rule`` is
    ``metropolis`` | ``heat_bath``."""

    @property
    def parameters(self) -> dict:
        return {**self._common_parameters, "num_sweeps": [], "num_sweeps_per_beta": [], "beta_range": [],
                "beta_schedule_type": ["beta_schedule_options"], "beta_schedule": []}

    @property
    def properties(self) -> dict:
        return {**super().properties, "beta_schedule_options": ("geometric", "linear", "custom")}

    def _run(self, key, model, sweep, spins, num_sweeps=1000, num_sweeps_per_beta=1, beta_range=None,
             beta_schedule_type="geometric", beta_schedule=None, progress=False):
        betas = _schedule(model, num_sweeps, num_sweeps_per_beta, beta_range, beta_schedule_type,
                          beta_schedule)
        result = _anneal(key, model, spins, betas, sweep, int(num_sweeps_per_beta), bool(progress))
        return result.spins, {"beta_schedule": betas}


class PopulationAnnealingSampler(KernelSampler):
    """Population annealing in JAX; ``num_reads`` is the population size R.

    The population starts uniform at beta = 0 and is annealed through the schedule (0 is prepended when
    the schedule starts above it), ``num_sweeps_per_beta`` sweeps per step. With ``adaptive=True`` the
    steps are chosen so that successive energy histograms overlap by ``target_overlap`` up to
    ``beta_range[1]`` (at most ``max_steps`` steps). The SampleSet's ``info`` has ``log_z`` (estimate of
    ln sum_s exp(-beta_final E(s)), E including the BQM's offset), ``beta_schedule``, ``num_families``,
    ``rho_t`` and ``effective_population`` R / rho_t. The reads descend from ``num_families`` initial replicas
    and are *not* independent samples: thermal averages over them are trustworthy when R / rho_t is large, so a
    ``UserWarning`` is raised when it falls below ``min_effective_population`` (default 100; 0 switches the
    check off) and ``info["effective_population_ok"]`` records the verdict. For independent equilibrium
    replicas use :func:`dragonjax.analysis.equilibrium_replicas`.
    """

    @property
    def parameters(self) -> dict:
        return {**self._common_parameters, "num_sweeps": [], "num_sweeps_per_beta": [], "beta_range": [],
                "beta_schedule_type": ["beta_schedule_options"], "beta_schedule": [], "resampling": [],
                "adaptive": [], "target_overlap": [], "max_steps": [], "min_effective_population": []}

    @property
    def properties(self) -> dict:
        return {**super().properties, "beta_schedule_options": ("geometric", "linear", "custom")}

    def _run(self, key, model, sweep, spins, num_sweeps=1000, num_sweeps_per_beta=1, beta_range=None,
             beta_schedule_type="geometric", beta_schedule=None, resampling="systematic", adaptive=False,
             target_overlap=0.85, max_steps=1000, min_effective_population=100, progress=False):
        check_resampling(resampling)
        if adaptive:
            if beta_schedule is not None:
                raise ValueError("adaptive=True chooses its own schedule; do not pass beta_schedule")
            beta_range = default_beta_range(model) if beta_range is None else beta_range
            beta_final = float(beta_schedule_fn_final(beta_range))
            if not 0.0 < target_overlap < 1.0:
                raise ValueError(f"target_overlap must lie in (0, 1), got {target_overlap}")
            result = _adaptive_population(key, model, spins, beta_final, float(target_overlap), sweep,
                                          int(num_sweeps_per_beta), resampling, int(max_steps),
                                          _replicated(spins), bool(progress))
            num_steps = int(result.num_steps)
            betas = to_host(result.betas)[:num_steps]
        else:
            betas = _schedule(model, num_sweeps, num_sweeps_per_beta, beta_range, beta_schedule_type,
                              beta_schedule)
            result = _population(key, model, spins, betas, sweep, int(num_sweeps_per_beta), resampling,
                                 _replicated(spins), bool(progress))
        info = {"log_z": float(result.log_z), "beta_schedule": np.concatenate([[0.0], betas]),
                "num_families": int(result.num_families), "rho_t": float(result.rho_t),
                "effective_population": float(result.effective_population), "resampling": resampling,
                "effective_population_ok": bool(float(result.effective_population) >= min_effective_population)}
        if not info["effective_population_ok"]:
            warnings.warn(f"population annealing kept {info['num_families']} families, effective population "
                          f"R / rho_t = {info['effective_population']:.1f} < {min_effective_population}: the reads "
                          "are strongly correlated, thermal averages over them are unreliable (raise num_reads or "
                          "num_sweeps_per_beta, or use independent replicas)", UserWarning, stacklevel=3)
        return result.spins, info


def beta_schedule_fn_final(beta_range) -> float:
    """The cold end of a (hot, cold) range, checked."""
    return float(beta_schedule(beta_range, 1)[-1])
