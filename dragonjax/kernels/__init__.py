"""Pure JAX Monte Carlo kernels. They take an :class:`~dragonjax.IsingModel`, explicit spins and PRNG
keys, and know nothing of dimod, networks or training."""
from .annealing import AnnealResult, energies, simulated_annealing
from .population import (RESAMPLING_METHODS, PAInfo, PAResult, PAState, adaptive_population_annealing,
                         family_statistics, histogram_overlap, population_annealing, population_init, population_step,
                         resample, reweight_and_resample)
from .schedules import BETA_RANGE_RULES, SCHEDULE_TYPES, beta_schedule, check_schedule, default_beta_range
from .sweeps import METHODS, PRECISIONS, RULES, Sweep, cached_sweep, choose_method, make_sweep, random_spins

__all__ = [
    "AnnealResult", "energies", "simulated_annealing", "RESAMPLING_METHODS", "PAResult",
    "adaptive_population_annealing", "family_statistics", "histogram_overlap", "population_annealing",
    "PAState", "PAInfo", "population_init", "population_step", "reweight_and_resample", "resample",
    "BETA_RANGE_RULES", "SCHEDULE_TYPES", "beta_schedule", "check_schedule", "default_beta_range", "METHODS",
    "PRECISIONS", "RULES", "Sweep", "cached_sweep", "choose_method", "make_sweep", "random_spins",
]
