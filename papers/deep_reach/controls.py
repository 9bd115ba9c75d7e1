"""Two controls for the nudge-reach diagnosis of report section 7 (a referee's request), on the deep net
64-64-64-64-40, digits, population annealing (16 reads, 32 sweeps), seeds 0-2, settings of
``dragonjax.experiments.deep.REACH``:

1. the null of "differs from lowest free": two independent free anneals at the initial weights (same batches as
   ``nudge_reach``, a second key), the fraction of spins per layer in which their lowest states differ -- how much
   of the annealed nudged phase's difference from the free state is one anneal differing from another;
2. the intervention: the annealed rule trained for 4 epochs with the updates of W1, W2, b1, b2 set to zero (hidden
   layers 1-2 never trained) against the same optimiser with nothing frozen (optax Adam, cosine decay over the run,
   peak 0.003), paired by seed. If freezing the lower layers alone brought the annealed rule down to the quench's
   0.29, the quench's missing lower-layer update could explain its failure.

    python papers/deep_reach/controls.py      # ~5 minutes on 2 CPU cores; writes papers/deep_reach/controls.json
"""
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

start = time.perf_counter()
ds = data.digits().centered()
options = {"sampler": REACH["sampler"], "num_reads": REACH["num_reads"],
           "sampler_options": {"num_sweeps": REACH["num_sweeps"]}}
out = {"settings": {**REACH, "controls": "free-free null at the initial weights; W1, W2, b1, b2 frozen"},
       "free_vs_free": [], "frozen_lower": [], "all_trained": []}
steps = -(-len(ds.y_train) // 32) * REACH["train_epochs"]
for seed in REACH["seeds"]:
    net = IsingNetwork([ds.num_inputs, *REACH["hidden"]], ds.num_classes, REACH["spins_per_class"], 2.0)
    trainer = AnnealerTrainer(net, seed=seed, **options)
    st = trainer.init(seed)
    rng = np.random.default_rng(seed)  # the batches of nudge_reach
    batches = [rng.choice(len(ds.y_train), REACH["batch_size"], replace=False) for _ in range(REACH["batches"])]
    rows = []
    for b, index in enumerate(batches):
        x, y = jnp.asarray(ds.x_train[index], jnp.float32), jnp.asarray(ds.y_train[index])
        keyed = st._replace(key=jax.random.fold_in(st.key, b))
        _, k_free, k_nudge = jax.random.split(keyed.key, 3)
        lowest = []
        for k in (k_free, jax.random.fold_in(k_free, 7)):  # the study's free phase, and an independent one
            states, energies, _, _ = trainer._phases(trainer.windows[0], k, k_nudge, keyed, x, y)
            lowest.append(np.asarray(states)[np.arange(len(y)), np.argmin(np.asarray(energies), axis=1)])
        rows.append([float(np.mean(a != c)) for a, c in zip(net.layers(lowest[0]), net.layers(lowest[1]))])
    out["free_vs_free"].append(np.mean(rows, axis=0).tolist())
    for name, frozen in (("all_trained", ()), ("frozen_lower", (0, 1))):
        labels = {"weights": ["freeze" if l in frozen else "train" for l in range(net.num_layers)],
                  "biases": ["freeze" if l in frozen else "train" for l in range(net.num_layers)]}
        optimizer = optax.multi_transform({"train": optax.adam(optax.cosine_decay_schedule(REACH["learning_rate"],
                                                                                             steps)),
                                           "freeze": optax.set_to_zero()}, labels)
        t = AnnealerTrainer(net, seed=seed, optimizer=optimizer, **options)
        state, history = t.fit(ds, REACH["train_epochs"], state=t.init(seed))
        changed = [bool(np.any(np.asarray(a) != np.asarray(c)))
                   for a, c in zip(state.params["weights"], t.init(seed).params["weights"])]
        out[name].append({"test_accuracy": [h["test_accuracy"] for h in history], "weights_changed": changed})
    accuracy = {k: out[k][-1]["test_accuracy"][-1] for k in ("all_trained", "frozen_lower")}
    print(f"seed {seed}: free-free {np.round(out['free_vs_free'][-1], 3)}, all trained {accuracy['all_trained']:.3f},"
          f" W1-W2 frozen {accuracy['frozen_lower']:.3f} ({time.perf_counter() - start:.0f} s)", flush=True)
final = {k: np.array([r["test_accuracy"][-1] for r in out[k]]) for k in ("all_trained", "frozen_lower")}
diff = final["frozen_lower"] - final["all_trained"]
ff = np.array(out["free_vs_free"])
out["summary"] = {
    "free_vs_free_mean": ff.mean(0).tolist(), "free_vs_free_se": (ff.std(0, ddof=1) / np.sqrt(len(ff))).tolist(),
    **{f"{k}_mean": float(v.mean()) for k, v in final.items()},
    **{f"{k}_se": float(v.std(ddof=1) / np.sqrt(v.size)) for k, v in final.items()},
    "paired_difference_mean": float(diff.mean()), "paired_difference_se": float(diff.std(ddof=1) / np.sqrt(diff.size))}
out["provenance"] = provenance()
out["study_seconds"] = time.perf_counter() - start
pathlib.Path(__file__).with_name("controls.json").write_text(json.dumps(out, indent=2))
print(json.dumps(out["summary"], indent=2))
