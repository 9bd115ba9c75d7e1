"""What stops a whole-network run short of the others: the classes its hidden codes merge, and how far down the
nudge reaches on the examples it gets wrong. Reads the final states the deep study kept (``state_*.npz``) of the
variant "whole, layer scales, warm-up" at 64 epochs (seeds 0-14) and at 32 epochs (seeds 0-9); no training.

Per run, on the training set (1257 digits): the accuracy of the lowest free state found by the training sampler
(16 reads x 32 sweeps of PA, the run's own evaluation key), the most confused pair of classes (true -> predicted,
count), and per spin layer (hidden 1-3, output) of those lowest states the distinct codes and their majority bound
(``code_bound``: the best accuracy of any readout of that layer's code; the output's code is a function of every
layer's below it in the lowest state, so the first layer whose bound falls is where classes merge). Then, from one
free and one nudged phase of the trainer's own rule (output clamped to the target, the net annealed), on the
training examples the lowest free state gets wrong: per layer, the fraction of spins in which the nudged state
differs from the lowest free state -- the only place where the contrastive update of the matrix below that layer is
non-zero -- and the fraction of those examples where it differs in hidden layer 2 at all. A merge in hidden layer 2
can be undone only through W1 (hidden 1 -> 2), so only by examples whose nudged state differs there.

    python papers/deep_plateau/stall.py > papers/deep_plateau/stall.txt     # 1.5 minutes on 2 CPU cores
"""
import glob
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from dragonjax.experiments.deep import QUICK, code_bound, deep_dataset
from dragonjax.experiments.training import load_checkpoint
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer

papers = pathlib.Path(__file__).parent.parent
RUNS = {"64 epochs": ["deep_warmup64", "deep_warmup64_seeds5_9", "deep_warmup64_seeds10_14"],
        "32 epochs": ["deep_warmup32_readout"]}
ds = deep_dataset("digits")
x_train, y_train = jnp.asarray(ds.x_train, jnp.float32), np.asarray(ds.y_train)


def trainer_and_state(path: str, seed: int):
    net = IsingNetwork([ds.num_inputs, *QUICK["hidden"]], ds.num_classes, QUICK["spins_per_class"], 2.0,
                       QUICK["layer_scales"])
    trainer = AnnealerTrainer(net, seed=seed, sampler=QUICK["sampler"], num_reads=QUICK["num_reads"],
                              learning_rate=QUICK["learning_rate"],
                              sampler_options={"num_sweeps": QUICK["num_sweeps"]})
    state = load_checkpoint(path, trainer.init())
    return net, trainer, state[0] if isinstance(state, tuple) else state


def reach(net, trainer, state, seed: int, batch: int = 128):
    """Per layer, the mean fraction of spins the nudged state changes on the misclassified training examples; the
    fraction of them whose hidden layer 2 changes at all; and how many there were."""
    key = jax.random.PRNGKey(1000 + seed)
    wrong = []
    for b in range(0, len(y_train), batch):
        x, y = x_train[b:b + batch], y_train[b:b + batch]
        k_free, k_nudge = jax.random.split(jax.random.fold_in(key, b))
        states, energies, nudged, _ = trainer._phases(trainer.windows[0], k_free, k_nudge, state, x, jnp.asarray(y))
        lowest = np.asarray(states)[np.arange(len(y)), np.argmin(np.asarray(energies), axis=1)]
        miss = np.asarray(net.decode(net.layers(lowest)[-1])) != y
        changed = [np.mean(np.asarray(a) != np.asarray(c), axis=1)
                   for a, c in zip(net.layers(np.asarray(nudged)), net.layers(lowest))]
        wrong.append(np.stack(changed, 1)[miss])
    wrong = np.concatenate(wrong)
    return wrong.mean(0) if len(wrong) else np.full(4, np.nan), float(np.mean(wrong[:, 1] > 0)) if len(wrong) else \
        float("nan"), len(wrong)


start = time.perf_counter()
print("run        seed  train acc  confused pair (count)  codes:bound per layer (h1 h2 h3 out), training set"
      "        | misclassified: nudged state changes (h1 h2 h3 out), h2 changed in")
for label, dirs in RUNS.items():
    paths = sorted((p for d in dirs for p in glob.glob(str(papers / d / "state_whole_layer-scales_warm-up_seed*.npz"))),
                   key=lambda p: int(p.rsplit("seed", 1)[1][:-4]))
    for path in paths:
        seed = int(path.rsplit("seed", 1)[1][:-4])
        net, trainer, state = trainer_and_state(path, seed)
        lowest = np.asarray(trainer.lowest_states(state.params, x_train, state.eval_key, state.hyper))
        layers = net.layers(lowest)
        pred = np.asarray(net.decode(layers[-1]))
        confusion = np.zeros((10, 10), int)
        np.add.at(confusion, (y_train, pred), 1)
        np.fill_diagonal(confusion, 0)
        a, b = np.unravel_index(np.argmax(confusion), confusion.shape)
        bounds = " ".join(f"{d}:{v:.3f}" for d, v in (code_bound(layer, y_train) for layer in layers))
        changed, h2, n = reach(net, trainer, state, seed)
        print(f"{label}  {seed:4d}  {np.mean(pred == y_train):.3f}      {a} -> {b} ({confusion[a, b]:3d})"
              f"          {bounds:44s} | {n:3d}: {' '.join(f'{v:.3f}' for v in changed)}, {h2:.2f}", flush=True)
print(f"({time.perf_counter() - start:.0f} s)")
