"""Training Ising networks: the annealer-assisted trainer, the backprop baseline, phase samplers."""
from .annealer import AnnealerTrainer, TrainState, select_negatives
from .backprop import BackpropTrainer, FeedForward
from .phases import PHASE_SAMPLERS, SamplerStats, phase_sampler

__all__ = ["AnnealerTrainer", "BackpropTrainer", "FeedForward", "TrainState", "select_negatives", "PHASE_SAMPLERS", "SamplerStats", "phase_sampler"]
