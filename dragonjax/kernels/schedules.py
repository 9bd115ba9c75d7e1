"""Inverse-temperature schedules and their validation."""
from __future__ import annotations

import numpy as np

from ..ising import IsingModel, ProblemError

__all__ = ["SCHEDULE_TYPES", "default_beta_range", "beta_schedule", "check_schedule"]

SCHEDULE_TYPES = ("geometric", "linear")


def default_beta_range(model: IsingModel) -> tuple[float, float]:
    """dwave-samplers' rule (``_default_ising_beta_range`` with its defaults): the hot beta flips the largest
    possible energy change, 2 max_i (|h_i| + sum_j |J_ij|), with probability 1/2; the cold beta makes the
    expected number of excitations of the most easily excited spins 1/100, each spin's smallest gap approximated
    by twice its smallest non-zero |h_i| or |J_ij|: beta = ln(n_min / 0.01) / (2 min_gap), n_min the number of
    spins at that smallest value. (0.1, 1) when every coefficient is 0."""
    J, h = np.abs(np.asarray(model.J, np.float64)), np.abs(np.asarray(model.h, np.float64))
    own = np.where(np.concatenate([J, h[:, None]], axis=1) > 0, np.concatenate([J, h[:, None]], axis=1), np.inf)
    smallest = own.min(axis=1)  # each spin's smallest non-zero coefficient (inf: none)
    if not np.isfinite(smallest).any():
        return 0.1, 1.0
    max_delta = 2.0 * float(np.max(h + J.sum(1)))
    min_field = float(smallest.min())
    num_min_gaps = int(np.sum(smallest == min_field))
    return float(np.log(2) / max_delta), float(np.log(num_min_gaps / 0.01) / (2.0 * min_field))


def check_schedule(betas, *, allow_zero: bool = True, name: str = "beta_schedule") -> np.ndarray:
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


def beta_schedule(beta_range, num_betas: int, schedule_type: str = "geometric") -> np.ndarray:
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
