"""When did the stalled run merge its two classes, and did the nudge reach the merge before it set? Seeds 7
(stalled at 64 epochs: training 7s read as 9), 2, 5 and 14 (the runs whose running training accuracy sat at
0.88-0.90 around epochs 24-36 and then recovered) retrained with the deep study's settings for the variant "whole,
layer scales, warm-up" at 64 epochs, the state kept at epochs 1, 2, 4, 8, ..., 64; each run's final test accuracy is
checked against the archived run's first (the same code path; trajectories are not promised bit for bit across code
versions).

At each kept state, over the 1257 training digits: the training accuracy of the lowest free state (the training
sampler, the run's evaluation key); the majority bound of hidden layers 1 and 2 over all classes and over the pairs
{7, 9} and {1, 8} alone (the pairs the runs confuse most); how many 7s read as 9 and 1s as 8 (and back). Then the
update the rule would make, from one free and one nudged phase per mini-batch of 128 (a fixed key): for each matrix
W_l the per-example contrastive term t_l = a_l b_l^T (nudged) - sum_k w_k a_l b_l^T (negatives: the wrong-label
states among the 4 lowest distinct free reads, uniformly weighted) -- the update is its mean over the batch -- and,
over the examples the lowest free state gets wrong, the fraction with a non-zero term on W1 (hidden 1 -> hidden 2)
and the mean Frobenius norm of the term on W1 relative to that on W3 (hidden 3 -> output); over the examples it gets
right, the fraction with a non-zero term on W1 (their negatives: the wrong-label reads among the 4, or with none
the lowest read at weight 1). And the worst pair: of the 45
pairs of classes, the one whose training examples hidden layer 2's code separates worst (its majority bound over
those two classes alone), with that bound.

With ``--seeds`` other runs of the same study (all 15 with ``--seeds 0 1 ... 14``). The counts this gives were fixed
before the run over all 15 (2026-12-07): a run *merged a pair* if at some kept epoch its worst pair's bound is below
0.75 (a quarter of the pair's examples share codes with the other class), and it *split* it if at epoch 64 that
pair's bound is at least 0.9.

    python papers/deep_plateau/stall_trajectory.py > papers/deep_plateau/stall_trajectory.txt   # ~16 minutes
    python papers/deep_plateau/stall_trajectory.py --seeds 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 \
        > papers/deep_plateau/stall_trajectory_all.txt                                            # ~60 minutes
"""
import argparse
import itertools
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np

from dragonjax.experiments.deep import QUICK, code_bound, deep_dataset
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer

papers = pathlib.Path(__file__).parent.parent
ds = deep_dataset("digits")
x_train, y_train = jnp.asarray(ds.x_train, jnp.float32), np.asarray(ds.y_train)
parser = argparse.ArgumentParser()
parser.add_argument("--seeds", type=int, nargs="+", default=[7, 2, 5, 14])
SEEDS = parser.parse_args().seeds
PAIRS = list(itertools.combinations(range(10), 2))
KEPT = (1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64)
ARCHIVED = {}
for d in ("deep_warmup64", "deep_warmup64_seeds5_9", "deep_warmup64_seeds10_14"):
    result = json.loads((papers / d / "results.json").read_text())
    for seed, run in zip(result["settings"]["seeds"], result["results"]["whole, layer scales, warm-up"]["per_seed"]):
        ARCHIVED[seed] = run["test_accuracy"][-1]


def terms(net, trainer, state, batch=128):
    """Per training example: wrong (lowest free read), non-zero W1 term, |t_W1|_F, |t_W3|_F."""
    key = jax.random.PRNGKey(2026)
    rows = []
    for b in range(0, len(y_train), batch):
        x, y = x_train[b:b + batch], y_train[b:b + batch]
        k_free, k_nudge = jax.random.split(jax.random.fold_in(key, b))
        _, _, states, energies, labels, negatives, correct = trainer._contrast(state, x, np.asarray(y), k_free,
                                                                                 k_nudge)
        lowest_label = np.asarray(labels)[np.arange(len(y)), np.argmin(np.asarray(energies), axis=1)]
        c = net.layers(np.asarray(correct))  # per layer (B, m)
        n = net.layers(np.asarray(negatives.states))  # per layer (B, M, m)
        w = np.asarray(negatives.weights)  # (B, M)

        def term(lo, hi):  # per example sum over matrix entries of the squared contrastive term
            t = c[lo][:, :, None] * c[hi][:, None, :] - np.einsum("bk,bki,bkj->bij", w, n[lo], n[hi])
            return np.sqrt(np.sum(t ** 2, axis=(1, 2)))

        rows.append(np.stack([lowest_label != y, term(0, 1) > 0, term(0, 1), term(2, 3)], 1))
    return np.concatenate(rows)


start = time.perf_counter()
for seed in SEEDS:
    net = IsingNetwork([ds.num_inputs, *QUICK["hidden"]], ds.num_classes, QUICK["spins_per_class"], 2.0,
                       QUICK["layer_scales"])
    trainer = AnnealerTrainer(net, seed=seed, sampler=QUICK["sampler"], num_reads=QUICK["num_reads"],
                              learning_rate=QUICK["learning_rate"], sampler_options={"num_sweeps": QUICK["num_sweeps"]},
                              lr_warmup_steps=round(QUICK["warmup_epochs"] * -(-len(ds.x_train) // 32)))
    kept = {}
    state, history = trainer.fit(ds, 64, on_epoch=lambda s, r: kept.__setitem__(int(s.epoch), s)
                                 if int(s.epoch) in KEPT else None)
    final = history[-1]["test_accuracy"]
    print(f"seed {seed}: final test accuracy {final:.4f}, archived {ARCHIVED[seed]:.4f} "
          f"({'same' if abs(final - ARCHIVED[seed]) < 1e-9 else 'DIFFERENT'}); {time.perf_counter() - start:.0f} s",
          flush=True)
    print("  epoch  train acc  h1 bound  h2 bound  h2 bound {7,9} {1,8}  7->9 9->7 1->8 8->1 | wrong: W1 term "
          "non-zero, |t_W1|/|t_W3|  | right: W1 term non-zero | worst pair (h2 bound)")
    for epoch in KEPT:
        st = kept[epoch]
        lowest = np.asarray(trainer.lowest_states(st.params, x_train, st.eval_key, st.hyper))
        layers = net.layers(lowest)
        pred = np.asarray(net.decode(layers[-1]))
        pair = {p: np.isin(y_train, p) for p in ((7, 9), (1, 8))}
        confused = [int(np.sum((y_train == a) & (pred == b))) for a, b in ((7, 9), (9, 7), (1, 8), (8, 1))]
        worst = min(((a, b, code_bound(layers[1][np.isin(y_train, (a, b))], y_train[np.isin(y_train, (a, b))])[1])
                     for a, b in PAIRS), key=lambda r: r[2])
        t = terms(net, trainer, st)
        wrong, right = t[t[:, 0] > 0], t[t[:, 0] == 0]
        ratio = np.mean(wrong[:, 2]) / np.mean(wrong[:, 3]) if len(wrong) and np.mean(wrong[:, 3]) > 0 else np.nan
        print(f"  {epoch:5d}  {np.mean(pred == y_train):.3f}      {code_bound(layers[0], y_train)[1]:.3f}    "
              f"{code_bound(layers[1], y_train)[1]:.3f}     "
              f"{code_bound(layers[1][pair[7, 9]], y_train[pair[7, 9]])[1]:.3f} "
              f"{code_bound(layers[1][pair[1, 8]], y_train[pair[1, 8]])[1]:.3f}     "
              + " ".join(f"{v:4d}" for v in confused)
              + f" | {len(wrong):4d}: {np.mean(wrong[:, 1]) if len(wrong) else np.nan:.2f}, {ratio:.3f}"
              f"  | {np.mean(right[:, 1]):.3f} | {worst[0]}{worst[1]} ({worst[2]:.3f})", flush=True)
print(f"({time.perf_counter() - start:.0f} s)")
