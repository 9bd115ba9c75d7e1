"""dragonjax: neural-network training simulated as a spin glass that orders as it learns.

Core objects: :class:`IsingModel` (the problem), :mod:`dragonjax.exact` (ground truth),
:mod:`dragonjax.problems` (generators), :mod:`dragonjax.kernels` (pure JAX Monte Carlo) and
:mod:`dragonjax.samplers` (the kernels as ``dimod.Sampler`` s).
"""
from . import exact, kernels, problems
from .ising import IsingModel, ProblemError, check_spins, graph_colouring, stack_models
from .kernels import adaptive_population_annealing, population_annealing, simulated_annealing

__version__ = "0.1.0"

__all__ = [
    "IsingModel", "ProblemError", "check_spins", "graph_colouring", "stack_models", "exact", "kernels", "problems",
    "population_annealing", "adaptive_population_annealing", "simulated_annealing", "__version__",
]
