"""Path-integral QMC simulated quantum annealing as a ``dimod.Sampler``."""
from __future__ import annotations

import functools
from typing import Callable, Iterable, Sequence

import dimod
import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from ..ising import IsingModel, ProblemError
from ..kernels.piqmc import check_trotter_slices, quantum_annealing
from .base import KernelSampler, document_parameters, to_host

__all__ = ["PathIntegralQMCSampler", "annealing_schedule", "energy_scale"]


def energy_scale(model: IsingModel) -> float:
    """Root-mean-square local field, sqrt(mean_i (h_i^2 + sum_j J_ij^2)): the typical energy of one flip / 2."""
    J, h = np.asarray(model.J, np.float64), np.asarray(model.h, np.float64)
    scale = float(np.sqrt(np.mean(h ** 2 + (J ** 2).sum(1)))) if model.num_variables else 0.0
    return scale if scale > 0 else 1.0


def annealing_schedule(num_sweeps: int, gamma_range: Iterable[float] | None = None,
                       schedule: npt.ArrayLike | None = None, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(A_k, B_k) for k = 0 .. num_sweeps - 1.

    ``gamma_range = (start, end)``: A falls linearly from start to end, B = 1 (annealing in Gamma).
    ``schedule``: a table of rows (s, A(s), B(s)) with s from 0 to 1 (as D-Wave publishes them); A and B
    are interpolated linearly at num_sweeps evenly spaced s. Default: gamma_range = (3, 0.01) x scale."""
    if int(num_sweeps) != num_sweeps or num_sweeps < 1:
        raise ProblemError(f"num_sweeps must be a positive integer, got {num_sweeps!r}")
    if schedule is not None:
        if gamma_range is not None:
            raise ProblemError("give either gamma_range or schedule, not both")
        table = np.asarray(schedule, dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != 3 or table.shape[0] < 2:
            raise ProblemError(f"schedule must be rows (s, A, B), at least two; got shape {table.shape}")
        s, a, b = table.T
        if not np.all(np.isfinite(table)):
            raise ProblemError("schedule has non-finite entries")
        if s[0] != 0.0 or s[-1] != 1.0 or np.any(np.diff(s) <= 0):
            raise ProblemError(f"schedule's s must increase from 0 to 1, got s = {s[0]} ... {s[-1]}")
        if np.any(a < 0) or np.any(b <= 0):
            raise ProblemError("schedule needs A(s) >= 0 and B(s) > 0 everywhere")
        grid = np.linspace(0.0, 1.0, int(num_sweeps))
        return np.interp(grid, s, a), np.interp(grid, s, b)
    if gamma_range is None:
        gamma_range = (3.0 * scale, 0.01 * scale)
    try:
        start, end = (float(g) for g in gamma_range)
    except (TypeError, ValueError):
        raise ProblemError(f"gamma_range must be a pair (start, end), got {gamma_range!r}") from None
    if not (np.isfinite(start) and np.isfinite(end)) or start <= 0 or end <= 0:
        raise ProblemError(f"gamma_range must hold two positive finite numbers, got {gamma_range!r}")
    if end > start:
        raise ProblemError(f"gamma_range must decrease (start, end) for annealing, got {gamma_range!r}")
    return np.linspace(start, end, int(num_sweeps)), np.ones(int(num_sweeps))


@functools.partial(jax.jit, static_argnames=("sweep", "trotter_slices", "progress"))
def _anneal(key, model, spins, beta, a_schedule, b_schedule, sweep, trotter_slices, progress):
    worldlines = jnp.repeat(spins[:, None, :], trotter_slices, axis=1)
    worldlines = quantum_annealing(key, model, sweep, worldlines, beta, a_schedule, b_schedule, progress=progress)
    slice_energies = model.energy(worldlines)  # (R, P)
    best = jnp.argmin(slice_energies, axis=1)
    return jnp.take_along_axis(worldlines, best[:, None, None], axis=1)[:, 0], worldlines


class PathIntegralQMCSampler(KernelSampler):
    """Simulated quantum annealing by path-integral Monte Carlo (an emulated quantum annealer).

    H(s) = -A(s) sum sigma^x + B(s) E_problem at fixed ``beta``, one PIQMC sweep (local moves on all
    slices plus worldline cluster moves) per schedule point; ``trotter_slices`` P (even). Each read returns
    its lowest-energy slice; ``return_all_slices=True`` also puts the final worldlines (R, P, N) in
    ``info['worldlines']``. Defaults scale with the problem's rms local field g: beta = 10 / g,
    gamma_range = (3 g, 0.01 g)."""

    _independent_reads = True

    @property
    def parameters(self) -> dict:
        return {**self._common_parameters, "num_sweeps": [], "trotter_slices": [], "beta": [],
                "gamma_range": [], "schedule": [], "return_all_slices": [], "interrupt_function": []}

    @document_parameters
    def sample(self, bqm: dimod.BinaryQuadraticModel, num_reads: int | None = None, seed: int | None = None,
               initial_states: dimod.typing.SamplesLike | None = None,
               initial_states_generator: str = "random",
               num_sweeps: int = 1000, trotter_slices: int = 16, beta: float | None = None,
               gamma_range: Sequence[float] | None = None, schedule: npt.ArrayLike | None = None,
               return_all_slices: bool = False, sweep_method: str = "auto",
               update_rule: str = "metropolis", proposal_acceptance_criteria: str | None = None,
               randomize_order: bool = False, precision: str = "highest",
               interrupt_function: Callable[[], bool] | None = None,
               progress: bool = False, **kwargs) -> dimod.SampleSet:
        """Sample ``bqm`` by simulated quantum annealing (path-integral Monte Carlo of the transverse-field
        Hamiltonian H(s) = -A(s) sum sigma^x + B(s) E_problem at fixed ``beta``).

        Args:
            {common}
            num_sweeps: schedule points, one PIQMC sweep each (default 1000).
            trotter_slices: imaginary-time slices P, even (default 16).
            beta: inverse temperature in 1 / energy units (default 10 / g, g the BQM's rms local field).
            gamma_range: (start, end) of the transverse field A, falling linearly, B = 1 (default (3 g, 0.01 g));
                or give ``schedule`` instead.
            schedule: rows (s, A(s), B(s)) with s from 0 to 1 (as D-Wave publishes them).
            return_all_slices: also return the final worldlines (R, P, N) in ``info["worldlines"]``.
            interrupt_function: called with no arguments after each read; when it returns True (or raises, as in
                dwave-samplers) the reads done so far are returned and ``info["interrupted"]`` is True. Given, the
                reads run one at a time (read r from ``fold_in(key, r)``): the same seed gives the same samples
                as another interruptible run, not as a vectorised one, and each read costs a kernel call.

        Returns:
            A ``dimod.SampleSet`` of each read's lowest-energy slice; ``info`` holds ``beta``,
            ``trotter_slices``, ``gamma_schedule``, ``b_schedule``, ``seed`` and ``timing``."""
        return super().sample(bqm, num_reads=num_reads, seed=seed, initial_states=initial_states,
                              initial_states_generator=initial_states_generator, sweep_method=sweep_method,
                              update_rule=update_rule, proposal_acceptance_criteria=proposal_acceptance_criteria,
                              randomize_order=randomize_order, precision=precision,
                              interrupt_function=interrupt_function, progress=progress,
                              num_sweeps=num_sweeps, trotter_slices=trotter_slices, beta=beta,
                              gamma_range=gamma_range, schedule=schedule, return_all_slices=return_all_slices,
                              **kwargs)

    def _run(self, key, model, sweep, spins, num_sweeps=1000, trotter_slices=16, beta=None, gamma_range=None,
             schedule=None, return_all_slices=False, progress=False):
        p = check_trotter_slices(trotter_slices)
        scale = energy_scale(model)
        beta = 10.0 / scale if beta is None else beta
        if not (np.isfinite(beta) and beta > 0):
            raise ProblemError(f"beta must be positive and finite, got {beta!r}")
        a, b = annealing_schedule(num_sweeps, gamma_range, schedule, scale)
        a = np.maximum(a, 1e-9 * scale)  # A = 0 would freeze imaginary time completely (K_perp = inf)
        best, worldlines = _anneal(key, model, spins, jnp.asarray(beta, model.dtype), a, b, sweep, p, bool(progress))
        info = {"beta": float(beta), "trotter_slices": p, "gamma_schedule": a, "b_schedule": b}
        if return_all_slices:
            info["worldlines"] = to_host(worldlines).astype(np.int8)
        return best, info
