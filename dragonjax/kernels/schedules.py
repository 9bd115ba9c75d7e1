"""Inverse-temperature schedules and their validation."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import numpy.typing as npt

from ..ising import IsingModel, ProblemError, local_field_scale

__all__ = ["SCHEDULE_TYPES", "BETA_RANGE_RULES", "default_beta_range", "beta_schedule", "check_schedule"]

SCHEDULE_TYPES = ("geometric", "linear")
BETA_RANGE_RULES = ("dwave", "local-field")


def default_beta_range(model: IsingModel, rule: str = "dwave") -> tuple[float, float]:
    """A (hot, cold) inverse-temperature range from the problem's coefficients, in 1 / energy units.

    ``rule="dwave"`` (the samplers' default): dwave-samplers' rule (``_default_ising_beta_range`` with its
    defaults): the hot beta flips the largest possible energy change, 2 max_i (|h_i| + sum_j |J_ij|), with
    probability 1/2; the cold beta makes the expected number of excitations of the most easily excited spins 1/100,
    each spin's smallest gap approximated by twice its smallest non-zero |h_i| or |J_ij|: beta = ln(n_min / 0.01) /
    (2 min_gap), n_min the number of spins at that smallest value. (0.1, 1) when every coefficient is 0. With
    continuous (e.g. Gaussian) couplings the smallest coefficient is tiny and the cold end huge (~3000 for SK with
    N = 32): fine for optimisation, meaningless as a temperature.

    ``rule="local-field"``: the same hot end; the cold end 10 / g, g the rms local field
    (:func:`dragonjax.ising.local_field_scale`): a spin with the typical field is excited with probability e^-20,
    the weakest stay thermal -- PIQMC's default beta. Both ends scale as 1 / (energy unit)."""
    if rule not in BETA_RANGE_RULES:
        raise ProblemError(f"unknown beta range rule {rule!r}; expected one of {BETA_RANGE_RULES} or (hot, cold)")
    if rule == "local-field":
        hot, _ = default_beta_range(model)
        g = float(local_field_scale(model))
        return (hot, 10.0 / g) if g > 0 else (0.1, 1.0)
    J, h = np.abs(np.asarray(model.J, np.float64)), np.abs(np.asarray(model.h, np.float64))
    own = np.where(np.concatenate([J, h[:, None]], axis=1) > 0, np.concatenate([J, h[:, None]], axis=1), np.inf)
    smallest = own.min(axis=1)  # each spin's smallest non-zero coefficient (inf: none)
    if not np.isfinite(smallest).any():
        return 0.1, 1.0
    max_delta = 2.0 * float(np.max(h + J.sum(1)))
    min_field = float(smallest.min())
    num_min_gaps = int(np.sum(smallest == min_field))
    return float(np.log(2) / max_delta), float(np.log(num_min_gaps / 0.01) / (2.0 * min_field))


def check_schedule(betas: npt.ArrayLike, *, allow_zero: bool = True, name: str = "beta_schedule") -> np.ndarray:
    """A 1-D, finite, non-negative (positive unless ``allow_zero``), non-decreasing schedule."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.size == 0:
        raise ProblemError(f"{name} must be a non-empty 1-D sequence, got shape {betas.shape}")
    if not np.all(np.isfinite(betas)):
        raise ProblemError(f"{name} has non-finite entries: {betas[~np.isfinite(betas)][:3]}")
    low = betas.min()
    if low < 0 or (low == 0 and not allow_zero):
        raise ProblemError(f"{name} must be {'non-negative' if allow_zero else 'positive'}, got min {low}")
    if np.any(np.diff(betas) < 0):
        i = int(np.flatnonzero(np.diff(betas) < 0)[0])
        raise ProblemError(f"{name} must be non-decreasing, but beta[{i}] = {betas[i]} > beta[{i + 1}] = "
                           f"{betas[i + 1]}")
    return betas


def beta_schedule(beta_range: Iterable[float], num_betas: int, schedule_type: str = "geometric") -> np.ndarray:
    """``num_betas`` inverse temperatures from ``beta_range = (hot, cold)``, geometric or linear."""
    if schedule_type not in SCHEDULE_TYPES:
        raise ProblemError(f"unknown beta_schedule_type {schedule_type!r}; expected one of {SCHEDULE_TYPES}")
    if int(num_betas) != num_betas or num_betas < 1:
        raise ProblemError(f"the number of betas (num_sweeps) must be a positive integer, got {num_betas!r}")
    try:
        hot, cold = (float(b) for b in beta_range)
    except (TypeError, ValueError):
        raise ProblemError(f"beta_range must be a pair (hot, cold), got {beta_range!r}") from None
    if not (np.isfinite(hot) and np.isfinite(cold)) or hot <= 0 or cold <= 0:
        raise ProblemError(f"beta_range must hold two positive finite numbers, got {beta_range!r}")
    if cold < hot:
        raise ProblemError(f"beta_range must be increasing (hot, cold), got {beta_range!r}")
    if num_betas == 1:
        return np.array([cold])
    if schedule_type == "geometric":
        return np.geomspace(hot, cold, int(num_betas))
    return np.linspace(hot, cold, int(num_betas))
