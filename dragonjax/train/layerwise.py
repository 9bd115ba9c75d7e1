"""Greedy layer-wise training of a deep Ising network on a small annealer (the classical control of claim 5).

A deep-belief-style schedule: hidden layer k (k = 1 ... L-1) is trained as the hidden layer of a one-hidden-layer
network whose input is layer k-1 in the deterministic pass of the layers already trained (the data for k = 1) and
whose output is a temporary readout of the classes; then layer k is frozen, its readout dropped, and layer k+1 is
trained on top. The last stage's readout becomes the deep network's output layer. Each stage is an ordinary
:class:`AnnealerTrainer` run, so the annealer only ever sees one hidden layer and the output: n_k + C K spins.

Unlike the sliding window of ``active_layers`` (all layers trained together, a window at a time), no label
information reaches a frozen layer afterwards: each layer is trained once, for its own readout.
"""
from __future__ import annotations

import numpy as np

from ..data import Dataset
from ..ising import ProblemError
from ..nn import IsingNetwork
from .annealer import AnnealerTrainer

__all__ = ["train_layerwise"]


def _sign_layer(x, W, b):
    return np.where(np.asarray(x, np.float32) @ np.asarray(W, np.float32) + np.asarray(b, np.float32) >= 0,
                    1.0, -1.0).astype(np.float32)


def train_layerwise(net: IsingNetwork, data: Dataset, epochs_per_layer: int, seed: int = 0, progress: bool = False,
                    **trainer_options) -> tuple[dict, list[dict]]:
    """Train ``net``'s hidden layers one at a time (module docstring), ``epochs_per_layer`` epochs each, every stage
    an :class:`AnnealerTrainer` with ``trainer_options`` (sampler, learning_rate, num_reads, max_variables, ...) and
    ``seed``. Returns (params of ``net``, history): one record per stage and epoch, the stage trainer's record with
    ``layer`` (k), ``epoch`` counted over the whole run and ``test_accuracy`` of the deep network as trained so far
    (the stage's annealer prediction: its hidden layer and readout relaxed, the layers below at the deterministic
    pass)."""
    if net.num_layers < 2:
        raise ProblemError("layer-wise training needs at least one hidden layer")
    if "active_layers" in trainer_options:
        raise ProblemError("layer-wise training sets its own windows (one hidden layer and the output); "
                           "do not pass active_layers")
    if isinstance(epochs_per_layer, bool) or int(epochs_per_layer) != epochs_per_layer or epochs_per_layer < 1:
        raise ProblemError(f"epochs_per_layer must be a positive integer, got {epochs_per_layer!r}")
    if net.layer_scales is not None:
        raise ProblemError("layer-wise training builds one network per hidden layer at the network's init_scale; "
                           "layer_scales are not supported here")
    net.check_inputs(data.x_train)
    x_train, x_test = np.asarray(data.x_train, np.float32), np.asarray(data.x_test, np.float32)
    weights, biases, history = [], [], []
    for k in range(1, net.num_layers):
        stage = IsingNetwork([net.sizes[k - 1], net.sizes[k]], net.num_classes, net.spins_per_class, net.init_scale)
        trainer = AnnealerTrainer(stage, seed=seed, **trainer_options)
        state, records = trainer.fit(data._replace(x_train=x_train, x_test=x_test), int(epochs_per_layer),
                                     progress=progress)
        for record in records:
            history.append({**record, "layer": k, "epoch": len(history) + 1})
        (W, readout), (b, readout_bias) = state.params["weights"], state.params["biases"]
        weights.append(W)
        biases.append(b)
        x_train, x_test = _sign_layer(x_train, W, b), _sign_layer(x_test, W, b)
    return {"weights": weights + [readout], "biases": biases + [readout_bias]}, history
