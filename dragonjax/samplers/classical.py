"""Simulated annealing and population annealing as ``dimod.Sampler`` s.

Parameter names follow dwave-samplers' ``SimulatedAnnealingSampler`` where they mean the same:
``num_reads`` (reads = population size for PA), ``num_sweeps``, ``num_sweeps_per_beta``, ``beta_range``,
``beta_schedule_type`` ("geometric", "linear", "custom"), ``beta_schedule``, ``seed``, ``initial_states``.
"""
from __future__ import annotations

import functools
import warnings
from typing import Callable, Sequence

import dimod
import jax
import numpy as np
import numpy.typing as npt
from jax.sharding import NamedSharding, PartitionSpec

from ..kernels import (adaptive_population_annealing, beta_schedule, check_schedule, default_beta_range,
                       population_annealing, simulated_annealing)
from ..kernels.population import check_resampling
from .base import KernelSampler, document_parameters, to_host

__all__ = ["SimulatedAnnealingSampler", "PopulationAnnealingSampler"]


def _beta_range(model, beta_range) -> tuple[float, float]:
    """``beta_range`` as (hot, cold): None is dwave-samplers' rule, a name one of
    :data:`dragonjax.kernels.BETA_RANGE_RULES` (see :func:`dragonjax.kernels.default_beta_range`)."""
    if beta_range is None:
        return default_beta_range(model)
    if isinstance(beta_range, str):
        return default_beta_range(model, beta_range)
    return tuple(beta_range)


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
    return beta_schedule(_beta_range(model, beta_range), num_sweeps // num_sweeps_per_beta, beta_schedule_type)


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
    sharded over devices). ``sweep_method`` is ``auto`` | ``dense`` | ``block`` | ``random``; ``update_rule`` is
    ``metropolis`` | ``heat_bath``."""

    _independent_reads = True

    @property
    def parameters(self) -> dict:
        return {**self._common_parameters, "num_sweeps": [], "num_sweeps_per_beta": [], "beta_range": [],
                "beta_schedule_type": ["beta_schedule_options"], "beta_schedule": [], "interrupt_function": []}

    @property
    def properties(self) -> dict:
        return {**super().properties, "beta_schedule_options": ("geometric", "linear", "custom")}

    @document_parameters
    def sample(self, bqm: dimod.BinaryQuadraticModel, num_reads: int | None = None, seed: int | None = None,
               initial_states: dimod.typing.SamplesLike | None = None,
               initial_states_generator: str = "random",
               num_sweeps: int = 1000, num_sweeps_per_beta: int = 1, beta_range: Sequence[float] | str | None = None,
               beta_schedule_type: str = "geometric", beta_schedule: npt.ArrayLike | None = None,
               sweep_method: str = "auto",
               update_rule: str = "metropolis", proposal_acceptance_criteria: str | None = None,
               randomize_order: bool = False, precision: str = "highest",
               interrupt_function: Callable[[], bool] | None = None,
               progress: bool = False, **kwargs) -> dimod.SampleSet:
        """Sample ``bqm`` by simulated annealing: ``num_reads`` independent chains, each swept ``num_sweeps``
        times while beta rises through the schedule.

        Args:
            {common}
            num_sweeps: sweeps of each chain (default 1000; 0 returns the initial states).
            num_sweeps_per_beta: sweeps at each beta of the schedule (default 1; must divide ``num_sweeps``).
            beta_range: (hot, cold) inverse temperatures in 1 / energy units of the BQM, or a rule: None (default)
                or "dwave" for dwave-samplers' rule from the BQM's coefficients, "local-field" for a cold end of
                10 / (rms local field) (see :func:`dragonjax.kernels.default_beta_range`).
            beta_schedule_type: "geometric" (default), "linear" or "custom".
            beta_schedule: the betas, with ``beta_schedule_type="custom"`` only.
            interrupt_function: called with no arguments after each read; when it returns True (or raises, as in
                dwave-samplers) the reads done so far are returned and ``info["interrupted"]`` is True. Given, the
                reads run one at a time (read r from ``fold_in(key, r)``): the same seed gives the same samples
                as another interruptible run, not as a vectorised one, and each read costs a kernel call.

        Returns:
            A ``dimod.SampleSet``; ``info`` holds ``beta_range`` (hot, cold), ``beta_schedule``, ``seed``,
            ``sweep_method``, ``update_rule`` and ``timing`` (``preprocessing_ns``, ``sampling_ns``,
            ``postprocessing_ns`` as dwave-samplers reports them, and ``run_seconds``)."""
        return super().sample(bqm, num_reads=num_reads, seed=seed, initial_states=initial_states,
                              initial_states_generator=initial_states_generator, sweep_method=sweep_method,
                              update_rule=update_rule, proposal_acceptance_criteria=proposal_acceptance_criteria,
                              randomize_order=randomize_order, precision=precision,
                              interrupt_function=interrupt_function, progress=progress,
                              num_sweeps=num_sweeps, num_sweeps_per_beta=num_sweeps_per_beta, beta_range=beta_range,
                              beta_schedule_type=beta_schedule_type, beta_schedule=beta_schedule, **kwargs)

    def _run(self, key, model, sweep, spins, num_sweeps=1000, num_sweeps_per_beta=1, beta_range=None,
             beta_schedule_type="geometric", beta_schedule=None, progress=False):
        if num_sweeps == 0 and beta_schedule_type != "custom":  # dwave-samplers: the initial states, unchanged
            hot_cold = _beta_range(model, beta_range)
            return spins, {"beta_schedule": np.zeros(0), "beta_range": [float(b) for b in hot_cold]}
        betas = _schedule(model, num_sweeps, num_sweeps_per_beta, beta_range, beta_schedule_type,
                          beta_schedule)
        result = _anneal(key, model, spins, betas, sweep, int(num_sweeps_per_beta), bool(progress))
        return result.spins, {"beta_schedule": betas, "beta_range": [float(betas[0]), float(betas[-1])]}


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

    @document_parameters
    def sample(self, bqm: dimod.BinaryQuadraticModel, num_reads: int | None = None, seed: int | None = None,
               initial_states: dimod.typing.SamplesLike | None = None,
               initial_states_generator: str = "random",
               num_sweeps: int = 1000, num_sweeps_per_beta: int = 1, beta_range: Sequence[float] | str | None = None,
               beta_schedule_type: str = "geometric", beta_schedule: npt.ArrayLike | None = None,
               resampling: str = "systematic",
               adaptive: bool = False, target_overlap: float = 0.85, max_steps: int = 1000,
               min_effective_population: float = 100, sweep_method: str = "auto", update_rule: str = "metropolis",
               proposal_acceptance_criteria: str | None = None, randomize_order: bool = False,
               precision: str = "highest",
               progress: bool = False, **kwargs) -> dimod.SampleSet:
        """Sample ``bqm`` by population annealing: a population of ``num_reads`` replicas annealed from
        beta = 0, reweighted and resampled at every step of the schedule (see the class docstring).

        Args:
            {common}
            num_sweeps: sweeps in all, ``num_sweeps_per_beta`` at each beta (default 1000).
            num_sweeps_per_beta: sweeps at each beta (default 1; must divide ``num_sweeps``).
            beta_range: (hot, cold) inverse temperatures in 1 / energy units, or a rule: None (default) or "dwave"
                (dwave-samplers' rule), "local-field" (see :func:`dragonjax.kernels.default_beta_range`).
            beta_schedule_type: "geometric" (default), "linear" or "custom".
            beta_schedule: the betas, with ``beta_schedule_type="custom"`` only.
            resampling: "systematic" (default), "multinomial", "residual" or "nearest".
            adaptive: choose the betas so that successive energy histograms overlap by ``target_overlap``, up
                to the cold end of ``beta_range`` (at most ``max_steps`` steps).
            target_overlap: the adaptive schedule's histogram overlap, in (0, 1) (default 0.85).
            max_steps: the adaptive schedule's largest number of steps (default 1000).
            min_effective_population: warn when R / rho_t falls below it (default 100; 0 switches it off).

        Returns:
            A ``dimod.SampleSet``; ``info`` holds ``log_z`` (ln Z at the final beta), ``beta_schedule``,
            ``num_families``, ``rho_t``, ``effective_population``, ``effective_population_ok``, ``seed`` and
            ``timing``."""
        return super().sample(bqm, num_reads=num_reads, seed=seed, initial_states=initial_states,
                              initial_states_generator=initial_states_generator, sweep_method=sweep_method,
                              update_rule=update_rule, proposal_acceptance_criteria=proposal_acceptance_criteria,
                              randomize_order=randomize_order, precision=precision, progress=progress,
                              num_sweeps=num_sweeps, num_sweeps_per_beta=num_sweeps_per_beta, beta_range=beta_range,
                              beta_schedule_type=beta_schedule_type, beta_schedule=beta_schedule,
                              resampling=resampling, adaptive=adaptive, target_overlap=target_overlap,
                              max_steps=max_steps, min_effective_population=min_effective_population, **kwargs)

    def _run(self, key, model, sweep, spins, num_sweeps=1000, num_sweeps_per_beta=1, beta_range=None,
             beta_schedule_type="geometric", beta_schedule=None, resampling="systematic", adaptive=False,
             target_overlap=0.85, max_steps=1000, min_effective_population=100, progress=False):
        check_resampling(resampling)
        if adaptive:
            if beta_schedule is not None:
                raise ValueError("adaptive=True chooses its own schedule; do not pass beta_schedule")
            beta_range = _beta_range(model, beta_range)
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
                "beta_range": [float(betas[0]), float(betas[-1])],
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
