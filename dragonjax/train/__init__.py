"""Training Ising networks: the annealer-assisted trainer, the backprop baseline, phase samplers, ensembles of
networks trained as one compiled computation, and greedy layer-wise training of deep nets."""
from .annealer import AnnealerStepInfo, AnnealerTrainer, select_negatives
from .backprop import BackpropStepInfo, BackpropTrainer, FeedForward
from .core import TrainState
from .ensemble import Ensemble, member, parse_seeds
from .layerwise import train_layerwise
from .phases import PHASE_SAMPLERS, SamplerStats, phase_sampler

__all__ = ["AnnealerTrainer", "AnnealerStepInfo", "BackpropTrainer", "BackpropStepInfo", "FeedForward", "TrainState",
           "Ensemble", "member", "parse_seeds", "select_negatives", "PHASE_SAMPLERS", "SamplerStats", "phase_sampler",
           "train_layerwise"]
