"""What in the annealed rule's lower-layer update helps (report section 7, the question the intervention of
``controls.py`` left open): the deep net 64-64-64-64-40 on digits, population annealing (16 reads, 32 sweeps),
trained 4 epochs by the annealed strong-nudge rule with the update of W1, W2, b1, b2 (hidden layers 1-2) replaced,
paired by seed against the same loop with nothing replaced:

- ``true``: nothing replaced (the reference of this loop);
- ``shuffled``: the lower-layer update computed from the same free phase but the nudged phase of the mini-batch's
  labels shuffled (the label-free null: what the rule's structure gives without the label);
- ``random``: the lower-layer update replaced by a Gaussian direction of the same norm, per matrix and per step
  (does moving the lower layers help, whatever the direction?);
- ``frozen``: the lower-layer update set to zero (``controls.py``'s intervention, rerun in this loop).

Every arm sees the same batches and keys; the upper layers (W3, W4, b3, b4) always get the true update; Adam with
cosine decay from 0.003 over the run (the optimiser of ``controls.py``). The loop uses full batches of 32 (the last
partial batch of an epoch is dropped) and evaluates the annealed prediction after every epoch.

    python papers/deep_reach/lower_update.py   # 4.5 minutes on 2 CPU cores; writes papers/deep_reach/lower_update.json
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

ARMS = ("true", "shuffled", "random", "frozen")
LOWER = (0, 1)  # W1, W2 and b1, b2


def train(trainer, ds, seed, arm, epochs, batch_size=32):
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
            shuffle = rng.permutation(batch_size)
            noise = [rng.standard_normal(np.shape(params[part][l])) for l in LOWER for part in ("weights", "biases")]
            key, k = jax.random.split(key)
            current = state._replace(params=params, key=k)
            g = grad(current, x, y)
            if arm == "shuffled":
                other = grad(current, x, y[shuffle])  # same keys: the same free phase, the nudged phase relabelled
            for i, (l, part) in enumerate((l, part) for l in LOWER for part in ("weights", "biases")):
                real = g[part][l]
                if arm == "shuffled":
                    g[part][l] = other[part][l]
                elif arm == "random":
                    n = noise[i]
                    g[part][l] = jnp.asarray(n * (float(jnp.linalg.norm(real)) / np.linalg.norm(n)), real.dtype)
                elif arm == "frozen":
                    g[part][l] = jnp.zeros_like(real)
            updates, opt_state = optimizer.update(g, opt_state, params)
            params = optax.apply_updates(params, updates)
        accuracy.append(trainer.evaluate(params, ds.x_test, ds.y_test))
    return accuracy


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
           "per_seed": {arm: [] for arm in ARMS}}
    for seed in REACH["seeds"]:
        net = IsingNetwork([ds.num_inputs, *REACH["hidden"]], ds.num_classes, REACH["spins_per_class"], 2.0)
        trainer = AnnealerTrainer(net, seed=seed, **options)
        for arm in ARMS:
            out["per_seed"][arm].append(train(trainer, ds, seed, arm, args.epochs))
            print(f"seed {seed}, {arm}: {np.round(out['per_seed'][arm][-1], 3)} ({time.perf_counter() - start:.0f} s)",
                  flush=True)
    final = {arm: np.array([a[-1] for a in out["per_seed"][arm]]) for arm in ARMS}
    se = lambda v: float(v.std(ddof=1) / np.sqrt(v.size))  # noqa: E731
    out["summary"] = {**{f"{arm}_mean": float(v.mean()) for arm, v in final.items()},
                      **{f"{arm}_se": se(v) for arm, v in final.items()},
                      **{f"{arm}_minus_true_mean": float((final[arm] - final["true"]).mean()) for arm in ARMS[1:]},
                      **{f"{arm}_minus_true_se": se(final[arm] - final["true"]) for arm in ARMS[1:]}}
    out["provenance"] = provenance()
    out["study_seconds"] = time.perf_counter() - start
    name = "lower_update.json" if args.epochs == REACH["train_epochs"] else f"lower_update_{args.epochs}.json"
    pathlib.Path(__file__).with_name(name).write_text(json.dumps(out, indent=2))
    print(json.dumps(out["summary"], indent=2))
