"""Is the deep net's gap to straight-through backprop a training failure or a readout failure? (report section 7)

The deep net 64-64-64-64-40 is trained whole on digits by the annealed strong-nudge rule with the study's settings
(``dragonjax.experiments.deep.QUICK``: population annealing, 16 reads, 32 sweeps, learning rate 0.003, 16 epochs,
initial scale 2), seeds 0-2. Its final weights are then read out on the test set by:

- the training sampler (PA, 16 reads, 32 sweeps: the accuracy the study reports);
- a stronger anneal (PA, 64 reads, 256 sweeps, the same beta range) -- if the gap were the sampler's failing to
  find the trained landscape's low states, this would close part of it;
- the deterministic pass alone (no sampler).

For each test input it also records whether the stronger anneal's lowest state lies below the training sampler's
(energy lower by more than 1e-3), and the label of the *lower* of the two states: the accuracy of the lowest state
either found, the best estimate of the landscape's own answer.

    python papers/deep_readout/readout.py   # ~12 minutes on 2 CPU cores; writes papers/deep_readout/readout.json
"""
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from dragonjax.experiments.deep import QUICK, deep_dataset
from dragonjax.experiments.results import provenance
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer

SEEDS = (0, 1, 2)
STRONG = {"num_reads": 64, "num_sweeps": 256}


def lowest_states(trainer, params, x, key):
    """The lowest of the trainer's reads for each input (the whole network annealed from scratch) and its energy."""
    window = trainer.windows[0]
    hyper = trainer.hyperparameters(1)
    states, energies = jax.jit(lambda k, p, xb: trainer._relax(k, p, xb, window, {}, hyper))(key, params, x)
    best = jnp.argmin(energies, axis=1)
    return states[jnp.arange(x.shape[0]), best], energies[jnp.arange(x.shape[0]), best]


if __name__ == "__main__":
    start = time.perf_counter()
    ds = deep_dataset("digits")
    options = {"sampler": QUICK["sampler"], "learning_rate": QUICK["learning_rate"]}
    out = {"settings": {**QUICK, "seeds": list(SEEDS), "strong_readout": STRONG}, "per_seed": []}
    x = jnp.asarray(ds.x_test, jnp.float32)
    for seed in SEEDS:
        net = IsingNetwork([ds.num_inputs, *QUICK["hidden"]], ds.num_classes, QUICK["spins_per_class"], 2.0)
        trainer = AnnealerTrainer(net, seed=seed, num_reads=QUICK["num_reads"],
                                  sampler_options={"num_sweeps": QUICK["num_sweeps"]}, **options)
        state, history = trainer.fit(ds, QUICK["epochs"])
        strong = AnnealerTrainer(net, seed=seed, num_reads=STRONG["num_reads"],
                                 sampler_options={"num_sweeps": STRONG["num_sweeps"]}, **options)
        key = jax.random.key(seed + 1)
        found = {}
        for name, t in (("training sampler", trainer), ("strong anneal", strong)):
            found[name] = lowest_states(t, state.params, x, key)
        labels = {name: np.asarray(net.decode(net.layers(s)[-1])) for name, (s, _) in found.items()}
        lower = np.asarray(found["strong anneal"][1] < found["training sampler"][1] - 1e-3)
        best = np.where(lower, labels["strong anneal"], labels["training sampler"])
        passed = np.asarray(net.decode(net.layers(net.forward_pass(state.params, x))[-1]))
        y = np.asarray(ds.y_test)
        row = {"test_accuracy_history": [h["test_accuracy"] for h in history],
               "training_sampler": float(np.mean(labels["training sampler"] == y)),
               "strong_anneal": float(np.mean(labels["strong anneal"] == y)),
               "lowest_of_both": float(np.mean(best == y)),
               "deterministic_pass": float(np.mean(passed == y)),
               "strong_lower_fraction": float(lower.mean()),
               "strong_lower_mean_gap": float(np.mean(np.asarray(found["training sampler"][1]
                                                                 - found["strong anneal"][1])[lower]))
               if lower.any() else 0.0,
               "label_changed_where_lower": (float(np.mean(labels["strong anneal"][lower]
                                                           != labels["training sampler"][lower]))
                                             if lower.any() else 0.0)}
        out["per_seed"].append(row)
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if not isinstance(v, list))
              + f" ({time.perf_counter() - start:.0f} s)", flush=True)
    keys = [k for k, v in out["per_seed"][0].items() if not isinstance(v, list)]
    out["summary"] = {}
    for k in keys:
        v = np.array([r[k] for r in out["per_seed"]])
        out["summary"][k] = {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size))}
    d = np.array([r["strong_anneal"] - r["training_sampler"] for r in out["per_seed"]])
    out["summary"]["strong_minus_training_sampler"] = {"mean": float(d.mean()),
                                                        "se": float(d.std(ddof=1) / np.sqrt(d.size))}
    out["provenance"] = provenance()
    out["study_seconds"] = time.perf_counter() - start
    pathlib.Path(__file__).with_name("readout.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out["summary"], indent=2))
