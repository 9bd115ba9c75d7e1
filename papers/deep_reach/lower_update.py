"""What in the annealed rule's lower-layer update helps (report section 7, the question the intervention of
``controls.py`` left open): the deep net 64-64-64-64-40 on digits, population annealing (16 reads, 32 sweeps),
trained 4 epochs by the annealed strong-nudge rule with the update of W1, W2, b1, b2 (hidden layers 1-2) replaced,
paired by seed against the same loop with nothing replaced:

- ``true``: nothing replaced (the reference of this loop);
- ``shuffled``: the lower-layer update computed from the same free phase (same key) but with the mini-batch's labels
  shuffled -- its nudged phase and its choice of wrong-label negatives follow the shuffled labels: a wrong pairing
  of inputs and labels, with the label-independent part of the update (common mode, label histogram) intact;
- ``shuffled, mean of 4``: the mean of four such updates, each with its own shuffle: mostly the label-independent
  part;
- ``random gradient``: the lower-layer gradient replaced by a Gaussian direction of the same norm, per matrix and
  step, *before* Adam (which rescales each element, so a fresh direction each step mostly cancels in its momentum);
- ``random step``: Adam's step for those matrices (computed from the true gradient) replaced by a Gaussian direction
  of the same norm *after* Adam -- the weights move as far per step as with the true update, in a random direction;
- ``frozen``: the lower-layer update set to zero (``controls.py``'s intervention, rerun in this loop).

How far each arm moved W1 and W2 (Frobenius norm of the change) is recorded with the accuracies.
Every arm sees the same batches and keys; the upper layers (W3, W4, b3, b4) always get the true update; Adam with
cosine decay from 0.003 over the run (the optimiser of ``controls.py``). The loop uses full batches of 32 (the last
partial batch of an epoch is dropped) and evaluates the annealed prediction after every epoch.

    python papers/deep_reach/lower_update.py   # ~10 minutes on 2 CPU cores; writes papers/deep_reach/lower_update.json
    python papers/deep_reach/lower_update.py --epochs 16 --arms true frozen   # lower_update_16.json, ~9 minutes
"""
import argparse
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from dragonjax import data
from dragonjax.experiments.deep import REACH
from dragonjax.experiments.results import provenance
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer

ARMS = ("true", "shuffled", "shuffled, mean of 4", "random gradient", "random step", "frozen")
LOWER = (0, 1)  # W1, W2 and b1, b2
PARTS = [(l, part) for l in LOWER for part in ("weights", "biases")]


def _same_norm(direction, like):
    return jnp.asarray(direction * (float(jnp.linalg.norm(like)) / np.linalg.norm(direction)), like.dtype)


def train(trainer, ds, seed, arm, epochs, batch_size=32):
    """Test accuracy after each epoch and the distance |W_l - W_l(initial)| (Frobenius) of W1, W2 at the end."""
    state = trainer.init(seed)
    grad = jax.jit(trainer.update_gradient)
    batches_per_epoch = len(ds.y_train) // batch_size
    optimizer = optax.adam(optax.cosine_decay_schedule(REACH["learning_rate"], batches_per_epoch * epochs))
    params, opt_state = state.params, optimizer.init(state.params)
    rng = np.random.default_rng(seed)  # batches, label shuffles and random directions: the same stream in every arm
    key = state.key
    accuracy = []
    for _ in range(epochs):
        order = rng.permutation(len(ds.y_train))
        for b in range(batches_per_epoch):
            index = order[b * batch_size:(b + 1) * batch_size]
            x, y = jnp.asarray(ds.x_train[index], jnp.float32), jnp.asarray(ds.y_train[index])
            shuffles = [rng.permutation(batch_size) for _ in range(4)]
            noise = [rng.standard_normal(np.shape(params[part][l])) for l, part in PARTS]
            key, k = jax.random.split(key)
            current = state._replace(params=params, key=k)
            g = grad(current, x, y)
            # the same key: the same free phase; the labels shuffled (their nudged phase and choice of negatives)
            others = [grad(current, x, y[p]) for p in shuffles[:{"shuffled": 1, "shuffled, mean of 4": 4}.get(arm, 0)]]
            for i, (l, part) in enumerate(PARTS):
                if others:
                    g[part][l] = sum(o[part][l] for o in others) / len(others)
                elif arm == "random gradient":  # before Adam: a random gradient of the true one's norm
                    g[part][l] = _same_norm(noise[i], g[part][l])
                elif arm == "frozen":
                    g[part][l] = jnp.zeros_like(g[part][l])
            updates, opt_state = optimizer.update(g, opt_state, params)
            if arm == "random step":  # after Adam: a random step of the true step's norm
                for i, (l, part) in enumerate(PARTS):
                    updates[part][l] = _same_norm(noise[i], updates[part][l])
            params = optax.apply_updates(params, updates)
        accuracy.append(trainer.evaluate(params, ds.x_test, ds.y_test))
    moved = [float(jnp.linalg.norm(params["weights"][l] - state.params["weights"][l])) for l in LOWER]
    return accuracy, moved


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=REACH["train_epochs"])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    args = parser.parse_args()
    if "true" not in args.arms:
        parser.error("--arms must include 'true', the paired reference")
    ARMS = tuple(a for a in ARMS if a in args.arms)
    start = time.perf_counter()
    ds = data.digits().centered()
    options = {"sampler": REACH["sampler"], "num_reads": REACH["num_reads"],
               "sampler_options": {"num_sweeps": REACH["num_sweeps"]}}
    out = {"settings": {**REACH, "train_epochs": args.epochs, "arms": ARMS, "replaced": "W1, W2, b1, b2"},
           "per_seed": {arm: [] for arm in ARMS}, "moved": {arm: [] for arm in ARMS}}
    for seed in REACH["seeds"]:
        net = IsingNetwork([ds.num_inputs, *REACH["hidden"]], ds.num_classes, REACH["spins_per_class"], 2.0)
        trainer = AnnealerTrainer(net, seed=seed, **options)
        for arm in ARMS:
            accuracy, moved = train(trainer, ds, seed, arm, args.epochs)
            out["per_seed"][arm].append(accuracy)
            out["moved"][arm].append(moved)
            print(f"seed {seed}, {arm}: {np.round(accuracy, 3)}, |W1 - W1(0)|, |W2 - W2(0)| = {np.round(moved, 2)} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    final = {arm: np.array([a[-1] for a in out["per_seed"][arm]]) for arm in ARMS}
    se = lambda v: float(v.std(ddof=1) / np.sqrt(v.size))  # noqa: E731
    out["summary"] = {**{f"{arm}_mean": float(v.mean()) for arm, v in final.items()},
                      **{f"{arm}_se": se(v) for arm, v in final.items()},
                      **{f"{arm}_minus_true_mean": float((final[arm] - final["true"]).mean()) for arm in ARMS[1:]},
                      **{f"{arm}_minus_true_se": se(final[arm] - final["true"]) for arm in ARMS[1:]},
                      **{f"{arm}_minus_frozen_mean": float((final[arm] - final["frozen"]).mean())
                         for arm in ARMS if "frozen" in ARMS and arm != "frozen"},
                      **{f"{arm}_minus_frozen_se": se(final[arm] - final["frozen"])
                         for arm in ARMS if "frozen" in ARMS and arm != "frozen"}}
    out["provenance"] = provenance()
    out["study_seconds"] = time.perf_counter() - start
    name = "lower_update.json" if args.epochs == REACH["train_epochs"] else f"lower_update_{args.epochs}.json"
    pathlib.Path(__file__).with_name(name).write_text(json.dumps(out, indent=2))
    print(json.dumps(out["summary"], indent=2))
