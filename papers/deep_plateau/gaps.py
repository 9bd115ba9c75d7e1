"""At the whole-network rule's plateau: what the update sees on training examples (report section 7).

The deep net 64-64-64-64-40 is trained whole on digits with the study's settings
(``dragonjax.experiments.deep.QUICK``: population annealing, 16 reads, 32 sweeps, learning rate 0.003, 16 epochs,
initial scale 2), seeds 0-2. On its first 512 training examples, the free phase and the strong-nudge (clamped)
phase are sampled as a training step samples them (``AnnealerTrainer._phases``), by the training sampler and by a
strong anneal (PA, 64 reads, 256 sweeps, both phases), and we record:

- the training accuracy of the lowest free state;
- for examples it classifies correctly: in how many the clamped state *is* the lowest free state, the fraction of
  spins per layer in which they differ, and in how many the update is nonzero all the same -- the update's
  negatives (``select_negatives``, as a training step takes them: the wrong-label states among the 4 lowest
  distinct free reads, else the lowest) include a wrong-label state -- with that state's energy above the clamped
  one;
- for misclassified examples: E(clamped) - E(lowest free) (quantiles; a negative value means the free phase
  missed a lower state of the right label), and the spins per layer in which the two differ;
- whether the output of each lowest free state follows its field (every output spin the sign of its field from the
  top hidden layer and its bias: then the output is a function of that layer's code);
- the codes of the top hidden layer in the lowest free states and the labels of the examples sharing each code
  (which classes are merged), with the majority bound (``dragonjax.experiments.deep.code_bound``).

    python papers/deep_plateau/gaps.py   # ~6 minutes on 2 CPU cores; writes papers/deep_plateau/gaps.json
    python papers/deep_plateau/gaps.py --null   # from gaps.json: the permuted-label null, gaps_null.json

The null of the top hidden layer's bound: the same codes with the inputs' labels permuted (200 permutations; the
bound then measures only how many codes there are and how large).
"""
import json
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from dragonjax.experiments.deep import QUICK, code_bound, deep_dataset
from dragonjax.experiments.results import provenance
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer, select_negatives

SEEDS = (0, 1, 2)
EXAMPLES = 512
SAMPLERS = {"training sampler": {"num_reads": QUICK["num_reads"], "num_sweeps": QUICK["num_sweeps"]},
            "strong anneal": {"num_reads": 64, "num_sweeps": 256}}


def phases(trainer, state, x, y, key):
    """Lowest free state, its energy and label; the clamped (correct) state and its energy."""
    net = trainer.net
    k_free, k_nudge = jax.random.split(key)
    states, energies, correct, _ = trainer._phases(trainer.windows[0], k_free, k_nudge, state, x, y)
    rows = jnp.arange(x.shape[0])
    best = jnp.argmin(energies, axis=1)
    lowest, e_free = states[rows, best], energies[rows, best]
    label = net.decode(lowest[..., net.output_slice])
    negatives = select_negatives(states, energies, net.decode(states[..., net.output_slice]), y, trainer.num_negatives)
    # the example's update is zero exactly when every weighted negative is the clamped state itself
    moves = jnp.any((negatives.weights > 0) & jnp.any(negatives.states != correct[:, None, :], axis=-1), axis=1)
    wrong_gap = jnp.where(negatives.wrong_label_states > 0, jnp.take_along_axis(
        negatives.energies, jnp.maximum(negatives.first_wrong_label, 0)[:, None], 1)[:, 0]
        - net.energy(state.params, x, correct), jnp.nan)
    layers = net.layers(lowest)
    field = layers[-2] @ state.params["weights"][-1] + state.params["biases"][-1]
    aligned = jnp.all(layers[-1] * field >= 0, axis=-1)
    return (np.asarray(lowest), np.asarray(e_free), np.asarray(label), np.asarray(correct),
            np.asarray(net.energy(state.params, x, correct)), np.asarray(moves), np.asarray(wrong_gap),
            np.asarray(aligned))


def analyse(net, lowest, e_free, label, correct, e_correct, moves, wrong_gap, aligned, y):
    ok = label == y
    differ = correct != lowest
    per_layer = lambda rows: [float(differ[rows][:, s].mean()) if rows.any() else None  # noqa: E731
                              for s in net.layer_slices]
    gap = e_correct - e_free
    top = lowest[:, net.layer_slices[-2]]
    _, code = np.unique(top, axis=0, return_inverse=True)
    code = code.ravel()
    table = []
    values, counts = np.unique(np.round(gap[~ok], 4), return_counts=True)
    modal = {"value": float(values[counts.argmax()]), "fraction": float(counts.max() / max((~ok).sum(), 1))} \
        if (~ok).any() else None
    for c in range(code.max() + 1):
        labels, counts = np.unique(y[code == c], return_counts=True)
        table.append({str(int(lab)): int(n) for lab, n in zip(labels, counts)})
    distinct, bound = code_bound(top, y)
    return {"train_accuracy": float(ok.mean()), "correct_examples": int(ok.sum()),
            "correct_clamped_is_free": float(np.all(~differ[ok], axis=1).mean()) if ok.any() else None,
            "correct_differing_spins_per_layer": per_layer(ok),
            "correct_with_nonzero_update": float(moves[ok].mean()) if ok.any() else None,
            "correct_with_wrong_label_negative": float(np.isfinite(wrong_gap[ok]).mean()) if ok.any() else None,
            "correct_wrong_negative_gap_median": float(np.nanmedian(wrong_gap[ok]))
            if np.isfinite(wrong_gap[ok]).any() else None,
            "misclassified_with_nonzero_update": float(moves[~ok].mean()) if (~ok).any() else None,
            "output_follows_its_field": float(aligned.mean()),
            "misclassified_differing_spins_per_layer": per_layer(~ok),
            "misclassified_gap_quantiles_10_25_50_75_90": np.quantile(gap[~ok], [.1, .25, .5, .75, .9]).tolist()
            if (~ok).any() else None,
            "misclassified_gap_most_frequent": modal,
            "misclassified_clamped_lower_than_free": float(np.mean(gap[~ok] < -1e-3)) if (~ok).any() else None,
            "top_hidden_codes": distinct, "top_hidden_bound": bound, "labels_per_top_code": table}


def permuted_null(path, permutations=200):
    """The top hidden layer's bound with the labels permuted over the same codes, per seed and sampler."""
    rng = np.random.default_rng(0)
    result = json.loads(path.read_text())
    out = {}
    for seed, row in result["per_seed"].items():
        for name in SAMPLERS:
            table = row[name]["labels_per_top_code"]
            codes = np.concatenate([[i] * sum(d.values()) for i, d in enumerate(table)])[:, None]
            labels = np.concatenate([[int(k)] * n for d in table for k, n in d.items()])
            null = [code_bound(codes, rng.permutation(labels))[1] for _ in range(permutations)]
            out[f"seed {seed}, {name}"] = {"bound": code_bound(codes, labels)[1], "null_mean": float(np.mean(null)),
                                           "null_sd": float(np.std(null)), "null_max": float(np.max(null)),
                                           "majority_rate": float(np.bincount(labels).max() / len(labels))}
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["--null"]:
        here = pathlib.Path(__file__)
        null = permuted_null(here.with_name("gaps.json"))
        here.with_name("gaps_null.json").write_text(json.dumps(null, indent=2))
        print(json.dumps(null, indent=2))
        sys.exit(0)
    start = time.perf_counter()
    ds = deep_dataset("digits")
    x, y = jnp.asarray(ds.x_train[:EXAMPLES], jnp.float32), np.asarray(ds.y_train[:EXAMPLES])
    out = {"settings": {**QUICK, "seeds": list(SEEDS), "examples": EXAMPLES, "samplers": SAMPLERS}, "per_seed": {}}
    for seed in SEEDS:
        net = IsingNetwork([ds.num_inputs, *QUICK["hidden"]], ds.num_classes, QUICK["spins_per_class"], 2.0)
        base = {"sampler": QUICK["sampler"], "learning_rate": QUICK["learning_rate"], "seed": seed}
        trainer = AnnealerTrainer(net, num_reads=QUICK["num_reads"],
                                  sampler_options={"num_sweeps": QUICK["num_sweeps"]}, **base)
        state, history = trainer.fit(ds, QUICK["epochs"])
        row = {"test_accuracy": float(history[-1]["test_accuracy"])}
        for name, opts in SAMPLERS.items():
            reader = AnnealerTrainer(net, num_reads=opts["num_reads"],
                                     sampler_options={"num_sweeps": opts["num_sweeps"]}, **base)
            row[name] = analyse(net, *phases(reader, state, x, jnp.asarray(y), jax.random.key(1000 + seed)), y)
        out["per_seed"][str(seed)] = row
        print(f"seed {seed}: " + json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "labels_per_top_code"}
                                                 if isinstance(v, dict) else v) for k, v in row.items()}), flush=True)
    out["study_seconds"] = time.perf_counter() - start
    out["provenance"] = provenance()
    pathlib.Path(__file__).with_name("gaps.json").write_text(json.dumps(out, indent=2))
