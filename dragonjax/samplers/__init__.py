"""dragonjax kernels as ``dimod.Sampler`` s (drop-in replacements for D-Wave's samplers)."""
from .base import KernelSampler, replica_sharding
from .budget import DEFAULT_SWEEP_GRID, SweepBudget, sweep_budget
from .classical import PopulationAnnealingSampler, SimulatedAnnealingSampler
from .noise import NoisyComposite
from .quantum import PathIntegralQMCSampler

__all__ = ["DEFAULT_SWEEP_GRID", "SweepBudget", "sweep_budget",
           "KernelSampler", "NoisyComposite", "replica_sharding", "SimulatedAnnealingSampler",
           "PopulationAnnealingSampler", "PathIntegralQMCSampler"]
