"""dragonjax kernels as ``dimod.Sampler`` s (drop-in replacements for D-Wave's samplers)."""
from .base import KernelSampler, replica_sharding
from .classical import PopulationAnnealingSampler, SimulatedAnnealingSampler

__all__ = ["KernelSampler", "replica_sharding", "SimulatedAnnealingSampler", "PopulationAnnealingSampler"]
