"""Is the deep net's gap to straight-through backprop a training failure or a readout failure? (report section 7)

The deep net 64-64-64-64-40 is trained whole on digits by the annealed strong-nudge rule with the study's settings
(``dragonjax.experiments.deep.QUICK``: population annealing, 16 reads, 32 sweeps, learning rate 0.003, 16 epochs,
initial scale 2), seeds 0-2. Its final weights are then read out on the test set by:

- the training sampler (PA, 16 reads, 32 sweeps: the accuracy the study reports);
- a stronger anneal (PA, 64 reads, 256 sweeps, the same beta range) -- if the gap were the sampler's failing to
  find the trained landscape's low states, this would close part of it;
- the deterministic pass alone (no sampler).

It compares, per test input, the lowest state of each read:

- strong anneal against the training sampler (same key): how often the strong anneal finds a lower state (energy
  lower by more than 1e-3), by how much (in energy units and in units of sigma, the trained problem's rms local
  field, ``dragonjax.ising.local_field_scale``), and where it does, how the label moves (right -> wrong, wrong ->
  right, wrong -> another wrong);
- the null: a second, independent read by the training sampler against the first (how much one read differs from
  another of the same sampler);
- convergence: a second, independent strong anneal against the first (does a still stronger readout keep finding
  lower states?).

It also records the trained net's deterministic-pass energy on the test inputs (the scale of the gaps), and the
accuracy of a majority (thermal) readout: the most frequent label over each sampler's reads.

    python papers/deep_readout/readout.py   # ~7 minutes on 2 CPU cores; writes papers/deep_readout/readout.json
"""
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from dragonjax.experiments.deep import QUICK, deep_dataset
from dragonjax.experiments.results import provenance
from dragonjax.ising import local_field_scale
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer

SEEDS = (0, 1, 2)
STRONG = {"num_reads": 64, "num_sweeps": 256}
_READ = {}


def lowest_states(trainer, params, x, key):
    """The lowest of the trainer's reads for each input (the whole network annealed from scratch), its energy, and
    the majority label over all the reads (ties to the lowest read's label): with PA, whose population samples the
    final beta's Boltzmann distribution, a thermal readout."""
    net = trainer.net
    if trainer not in _READ:  # one compiled read per trainer, not one per call
        window, hyper = trainer.windows[0], trainer.hyperparameters(1)
        _READ[trainer] = jax.jit(lambda k, p, xb: trainer._relax(k, p, xb, window, {}, hyper))
    states, energies = _READ[trainer](key, params, x)
    best = jnp.argmin(energies, axis=1)
    rows = jnp.arange(x.shape[0])
    labels = net.decode(net.layers(states)[-1])
    votes = jax.nn.one_hot(labels, net.num_classes).sum(1) + 0.5 * jax.nn.one_hot(labels[rows, best], net.num_classes)
    return states[rows, best], energies[rows, best], jnp.argmax(votes, axis=-1)


def compare(net, first, second, y, sigma):
    """How the second read's lowest states compare with the first's: where the second is lower, by how much, and
    how the label moves there; and the two accuracies."""
    (s1, e1), (s2, e2) = first[:2], second[:2]
    l1, l2 = (np.asarray(net.decode(net.layers(s)[-1])) for s in (s1, s2))
    lower = np.asarray(e2 < e1 - 1e-3)
    gap = np.asarray(e1 - e2)[lower]
    moved = lower & (l1 != l2)
    return {"accuracy_first": float(np.mean(l1 == y)), "accuracy_second": float(np.mean(l2 == y)),
            "second_lower_fraction": float(lower.mean()),
            "mean_gap": float(gap.mean()) if lower.any() else 0.0,
            "mean_gap_sigma": float(gap.mean() / sigma) if lower.any() else 0.0,
            "label_changed_where_lower": float(moved.sum() / max(lower.sum(), 1)),
            "right_to_wrong": int(np.sum(moved & (l1 == y))), "wrong_to_right": int(np.sum(moved & (l2 == y))),
            "wrong_to_wrong": int(np.sum(moved & (l1 != y) & (l2 != y)))}


if __name__ == "__main__":
    start = time.perf_counter()
    ds = deep_dataset("digits")
    options = {"sampler": QUICK["sampler"], "learning_rate": QUICK["learning_rate"]}
    out = {"settings": {**QUICK, "seeds": list(SEEDS), "strong_readout": STRONG}, "per_seed": []}
    x = jnp.asarray(ds.x_test, jnp.float32)
    y = np.asarray(ds.y_test)
    for seed in SEEDS:
        net = IsingNetwork([ds.num_inputs, *QUICK["hidden"]], ds.num_classes, QUICK["spins_per_class"], 2.0)
        trainer = AnnealerTrainer(net, seed=seed, num_reads=QUICK["num_reads"],
                                  sampler_options={"num_sweeps": QUICK["num_sweeps"]}, **options)
        state, history = trainer.fit(ds, QUICK["epochs"])
        strong = AnnealerTrainer(net, seed=seed, num_reads=STRONG["num_reads"],
                                 sampler_options={"num_sweeps": STRONG["num_sweeps"]}, **options)
        keys = jax.random.key(seed + 1), jax.random.key(seed + 1001)
        reads = {name: [lowest_states(t, state.params, x, k) for k in keys]
                 for name, t in (("training sampler", trainer), ("strong anneal", strong))}
        problem = net.window_problem(state.params, x, trainer.windows[0], {})
        sigma = float(local_field_scale(problem.base, problem.fields))
        passed = net.forward_pass(state.params, x)
        row = {"test_accuracy_history": [h["test_accuracy"] for h in history],
               "deterministic_pass": float(np.mean(np.asarray(net.decode(net.layers(passed)[-1])) == y)),
               "deterministic_pass_energy": float(jnp.mean(net.energy(state.params, x, passed))),
               "sigma": sigma,
               "strong_vs_training": compare(net, reads["training sampler"][0], reads["strong anneal"][0], y, sigma),
               "null_training_vs_training": compare(net, *reads["training sampler"], y, sigma),
               "convergence_strong_vs_strong": compare(net, *reads["strong anneal"], y, sigma),
               "majority_training_sampler": float(np.mean(np.asarray(reads["training sampler"][0][2]) == y)),
               "majority_strong_anneal": float(np.mean(np.asarray(reads["strong anneal"][0][2]) == y))}
        out["per_seed"].append(row)
        print(f"seed {seed}: {json.dumps({k: v for k, v in row.items() if k != 'test_accuracy_history'})} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
    out["summary"] = {}
    for k in ("deterministic_pass", "deterministic_pass_energy", "sigma", "majority_training_sampler",
              "majority_strong_anneal"):
        v = np.array([r[k] for r in out["per_seed"]])
        out["summary"][k] = {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size))}
    for c in ("strong_vs_training", "null_training_vs_training", "convergence_strong_vs_strong"):
        rows = [r[c] for r in out["per_seed"]]
        out["summary"][c] = {}
        for k in rows[0]:
            v = np.array([r[k] for r in rows], float)
            out["summary"][c][k] = {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size))}
        d = np.array([r["accuracy_second"] - r["accuracy_first"] for r in rows])
        out["summary"][c]["accuracy_second_minus_first"] = {"mean": float(d.mean()),
                                                            "se": float(d.std(ddof=1) / np.sqrt(d.size))}
    out["provenance"] = provenance()
    out["study_seconds"] = time.perf_counter() - start
    pathlib.Path(__file__).with_name("readout.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out["summary"], indent=2))
