"""Training Ising networks: the annealer-assisted trainer, the backprop baseline, phase samplers."""
from .annealer import AnnealerTrainer, TrainState, select_negatives
from .phases import PHASE_SAMPLERS, SamplerStats, phase_sampler

__all__ = ["AnnealerTrainer", "TrainState", "select_negatives", "PHASE_SAMPLERS", "SamplerStats", "phase_sampler"]
