"""Deep networks on a small annealer (claim 5, issue 17): how a 64-64-64-64-40 network trains when the annealer
sees the whole network, a sliding window of one layer, or one hidden layer at a time greedily.

Variants (each over the same seeds; test accuracy per epoch; the largest problem handed to the sampler, in spins
and couplings, and the number of sampler calls):

- ``whole``: :class:`~dragonjax.train.AnnealerTrainer` on the whole network (initial weight scale 2: with 1 the
  deep layers start too weak for the anneal's cold end);
- ``window 1``: the same trainer with ``active_layers=1`` (the window slides over the layers; the layers below at
  the deterministic pass, those above relaxed top-down in both phases; the output clamped to the target in the
  nudged phase), within ``max_variables``;
- ``window 1, weak nudge``: the same with the weak nudge ``weak_nudge`` = beta propagated to the window's upper
  boundary (equilibrium propagation's local form: the nudged output is sign(its field + beta t(y)), relaxed
  top-down; the output window gets the energy beta sum (1 - o t) / 2, i.e. the field beta t(y) / 2, inside its
  problem);
- ``whole, weak nudge``: the whole network with the weak nudge (the energy beta sum (1 - o t) / 2 on the output
  spins inside the sampled problem, the field beta t(y) / 2: half the window boundary's at the same
  ``weak_nudge`` = beta);
- ``whole, quench`` and ``window 1, quench``: the nudged phase as a zero-temperature quench from the free phase's
  lowest state with the output clamped (Laydevant et al.'s reverse anneal from the free state, in its
  zero-temperature limit; the free reads quenched alike; ``nudged_phase="quench"``);
- ``whole, reverse anneal``: the nudged phase as ``num_reads`` Metropolis chains restarted from the free phase's
  lowest state at ``reverse_beta`` and annealed to the schedule's cold end, the output clamped (Laydevant et al.'s
  reverse anneal with an instantaneous descent; ``nudged_phase="reverse"``): between the quench, which reaches
  too little of the lower layers, and a fresh anneal, which differs from the free state by its own noise too;
- ``whole, clamped negative``: the negative of the update is not a wrong-label free state but the lowest state with
  the output clamped to the most offending wrong label (``negative_phase="clamped"``; energy-based learning's
  E(x, y) - E(x, y_hat), with the hinge ``margin`` when set): a negative for every example, sampled like the
  correct state;
- ``whole, layer scales``: the whole network with initial scales falling layer by layer (``layer_scales``, default
  1, 0.5, 0.25, 0.125 times the initial scale 2: each layer's feedback from above weaker than its drive from below,
  Xie & Seung's weak-feedback regime; it keeps more codes in the upper hidden layers);
- ``whole, layer scales, warm-up``: the same with the learning rate rising linearly from 0 over the first
  ``warmup_epochs`` (2) epochs (``lr_warmup_steps``): the classes merge in the first epoch, while Adam's first steps
  are already full-sized;
- ``whole, layer scales, warm-up, weight decay``: the same with AdamW's decoupled weight decay ``weight_decay``
  (0.2): each step also shrinks every coupling and bias by the learning rate times 0.2 (over 32 epochs at 0.003 with
  the cosine, a factor of about exp(-0.2 x 1.92) = 0.68 on a parameter no gradient holds), against the test-set errors
  of hidden layers 2 and 3 (their codes fit the training inputs to 0.98-0.996 and the test inputs to ~0.93). Over ten
  seeds at 32 epochs neither 0.2 nor 0.1 (``--weight-decay``) was resolved from the warm-up alone (report section 7);
- ``greedy``: :func:`~dragonjax.train.train_layerwise`, each hidden layer trained with a temporary readout, then
  frozen (``epochs_per_layer`` each), within ``max_variables``;
- ``straight-through backprop``: ``BackpropTrainer(activation="sign")`` on the same network, the reference: a
  gradient method known to train it (no annealer).

Every annealer run keeps its final state in the run directory (``state_<variant>_seed<seed>.npz``, a checkpoint
that :func:`~dragonjax.experiments.training.load_checkpoint` reads back), and with ``--readout`` its final weights
are read out again on the test set by a stronger anneal (:data:`READOUT`: the training sampler with 64 reads and 256
sweeps, the strong readout of ``papers/deep_readout``), beside the training sampler's own readout: a net predicts by
its lowest free state, which 16 reads of 32 sweeps do not always find.

Every annealer variant runs at ``learning_rate`` (0.003: with 0.01, as first run, two of five whole-network seeds
stayed at 0.22-0.26 after 8 epochs; with 0.03 both seeds tried stayed at chance). Each run also records the distinct
states of every layer over the test set (:func:`distinct_states`, a collapse diagnostic).

    python -m dragonjax.experiments.deep --out papers/deep
    python -m dragonjax.experiments.deep --data teacher-student --seeds 0 1 2 --out papers/deep_teacher_student
    python -m dragonjax.experiments.deep --alignment --out papers/deep_alignment
    python -m dragonjax.experiments.deep --reach --out papers/deep_reach
    python -m dragonjax.experiments.deep --collapse --out papers/deep_collapse
    python -m dragonjax.experiments.deep --data "digits, teacher labels" --seeds 0 1 2 --variants whole \\
        "straight-through backprop" --out papers/deep_digits_teacher

The data (:data:`DATA`, :func:`deep_dataset`): digits, the teacher-student task, and two controls that cross them
(digits' inputs with a teacher's labels; digits' labels on sign-projected +-1 inputs), which tell the inputs' part
in a result from the labels'.

How far down the nudge reaches (``--reach``, :func:`nudge_reach`): per layer, how many spins of the nudged state
differ from the free one, annealed and quenched, and by how much the quench stops above the anneal in energy --
exactly 0 with one hidden layer (the known answer: there the quench is the clamped problem's ground state).

Where the whole-network rule stops (``--collapse``, :func:`code_collapse`): the distinct codes of each layer in the
lowest annealed state, and their majority bound (:func:`code_bound`: the best accuracy of any readout of that code),
through training -- the accuracy of the deep net sits on its top hidden layer's bound, whose few codes merge classes.

The diagnosis (``--alignment``, :func:`gradient_alignment`): per weight matrix W_l, the cosine between the update
the annealer-assisted rule would make (the contrastive gradient, :meth:`AnnealerTrainer.update_gradient`) and the
gradient that straight-through backprop follows on the same weights (:func:`ste_gradient`: the loss of
``BackpropTrainer(activation="sign")``, which trains this deep net -- the known answer, trained beside it), over
mini-batches of digits, for the whole network, for each one-layer window, and for a one-hidden-layer network that
trains well (the positive control); a random direction gives 0 ± 1/sqrt(size of W_l) (the isotropic null), and
the same update computed with the mini-batch's labels shuffled, against the reference of the true labels, is the
label-free null (the alignment the rule's structure gives without label information); and the test
accuracy of each trained state read three ways (deterministic pass, annealed whole, one-layer windows).

Error bars: standard errors over the seeds (the independent unit).
"""
from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from ..data import Dataset
    from ..nn import IsingNetwork

__all__ = ["QUICK", "READOUT", "ALIGNMENT", "REACH", "TEACHER_STUDENT", "VARIANTS", "STUDY_VARIANTS", "DATA",
           "deep_dataset", "run_deep", "describe", "pool_seeds", "plot_deep",
           "distinct_states", "ste_gradient", "gradient_alignment", "label_pairing", "shuffle_floor",
           "describe_alignment", "nudge_reach", "describe_reach", "COLLAPSE", "code_bound", "code_collapse",
           "describe_collapse"]

QUICK = {"hidden": [64, 64, 64], "spins_per_class": 4, "seeds": [0, 1, 2, 3, 4], "epochs": 16, "epochs_per_layer": 5,
         "learning_rate": 0.003,
         "max_variables": 104, "sampler": "pa", "num_reads": 16, "num_sweeps": 32, "weak_nudge": 8.0, "data": "digits",
         "reverse_beta": 1.0, "margin": None, "layer_scales": [1.0, 0.5, 0.25, 0.125], "warmup_epochs": 2,
         "weight_decay": 0.2, "readout": None, "split": 0}
READOUT = {"num_reads": 64, "num_sweeps": 256}  # the strong readout of papers/deep_readout (fixed there, not tuned)
TEACHER_STUDENT = {"num_inputs": 64, "hidden": 64, "num_classes": 10, "num_train": 1200, "num_test": 600, "seed": 0}
VARIANTS = ("whole", "whole, quench", "whole, weak nudge", "whole, reverse anneal", "whole, clamped negative",
            "whole, layer scales", "whole, layer scales, warm-up", "whole, layer scales, warm-up, weight decay",
            "window 1", "window 1, weak nudge", "window 1, quench", "greedy", "straight-through backprop")
STUDY_VARIANTS = tuple(v for v in VARIANTS if v not in ("whole, weak nudge", "whole, reverse anneal",
                                                        "whole, clamped negative", "whole, layer scales",
                                                        "whole, layer scales, warm-up",
                                                        "whole, layer scales, warm-up, weight decay"))
# (the seven of papers/deep)
SHUFFLED, RESHUFFLED = ", shuffled labels", ", reshuffled labels"


ALIGNMENT = {"hidden": [64, 64, 64], "spins_per_class": 4, "seeds": [0, 1, 2], "batches": 8, "batch_size": 32,
             "train_epochs": 8, "max_variables": 104, "sampler": "pa", "num_reads": 16, "num_sweeps": 32}


def ste_gradient(net: IsingNetwork, params: dict, x: npt.ArrayLike, y: npt.ArrayLike) -> dict:
    """Gradient, with respect to the Ising network's ``params``, of the loss that
    ``BackpropTrainer(net, activation="sign")`` minimises: the mean softmax cross-entropy of the feed-forward sign
    network (hidden layers s_l = sign(s_(l-1) W_l + b_l) with the straight-through hard-tanh derivative; class
    scores the mean pre-activation of each class's output spins). That trainer learns the deep net of this study
    (test accuracy 0.92 after 8 epochs), so this is a direction that is known to train it."""
    import jax
    import jax.numpy as jnp
    import optax

    from ..train.backprop import sign_ste

    def loss(p):
        s = jnp.asarray(x, jnp.float32)
        for l, (W, b) in enumerate(zip(p["weights"], p["biases"])):
            a = jnp.dot(s, W, precision="highest") + b
            s = sign_ste(a) if l < net.num_layers - 1 else a
        logits = s.reshape(s.shape[:-1] + (net.num_classes, net.spins_per_class)).mean(-1)
        return optax.softmax_cross_entropy_with_integer_labels(logits, jnp.asarray(y)).mean()

    return jax.grad(loss)(params)


def _cosines(a: dict, b: dict) -> list[float | None]:
    """Cosine between two gradients, weight matrix by weight matrix (None where either vanishes)."""
    out = []
    for u, v in zip(a["weights"], b["weights"]):
        u, v = np.ravel(np.asarray(u, np.float64)), np.ravel(np.asarray(v, np.float64))
        nu, nv = np.linalg.norm(u), np.linalg.norm(v)
        out.append(float(u @ v / (nu * nv)) if nu > 0 and nv > 0 else None)
    return out


def _digits_and_nets(settings: dict):
    """The diagnostics' data (digits, centred) and their two nets' layer sizes: the deep one of ``settings`` and
    the one-hidden-layer control."""
    from .. import data

    ds = data.digits().centered()
    nets = {"deep": [ds.num_inputs, *settings["hidden"]], "one hidden layer": [ds.num_inputs, settings["hidden"][0]]}
    return ds, nets


def _batches(seed: int, num_examples: int, settings: dict) -> list[np.ndarray]:
    """The ``batches`` mini-batches of ``batch_size`` training examples a diagnostic averages over, per seed."""
    rng = np.random.default_rng(seed)
    return [rng.choice(num_examples, settings["batch_size"], replace=False) for _ in range(settings["batches"])]


def _batch_means(rows: dict) -> dict:
    """Per quantity, the mean over mini-batches of each entry (per layer) of its rows, skipping None (an update
    that leaves that matrix unchanged); None where every batch gave None."""
    return {name: [None if all(r[l] is None for r in values) else
                   float(np.mean([r[l] for r in values if r[l] is not None])) for l in range(len(values[0]))]
            for name, values in rows.items()}


def _over_seeds(seeds: list[dict]) -> dict:
    """Per quantity and entry of :func:`_batch_means` results, one per seed: mean, standard error over the seeds
    that give a value (None with one), and how many do."""
    out = {}
    for name in seeds[0]:
        cells = []
        for l in range(len(seeds[0][name])):
            v = np.array([s[name][l] for s in seeds if s[name][l] is not None], float)
            cells.append(None if v.size == 0 else {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size))
                                                   if v.size > 1 else None, "seeds": int(v.size)})
        out[name] = cells
    return out


def gradient_alignment(settings: dict | None = None, progress: bool = True) -> dict:
    """The cosine, per weight matrix, between the annealer-assisted update and the straight-through backprop
    gradient (see the module docstring), for the deep network annealed whole, for each one-layer window of the
    same weights, and for the one-hidden-layer network (positive control), at initialisation, after
    ``train_epochs`` epochs of whole-network training and (deep network) after as many epochs of window
    training; each update also with the mini-batch's labels shuffled (rows ending ", shuffled labels": the
    label-free null) and shuffled again independently (", reshuffled labels": the null's noise floor); the row
    "reference" is the cosine between the reference with shuffled and with true labels (how much of the
    reference itself is label-histogram). Per seed the cosines are averaged over ``batches`` mini-batches of the
    training set; means and standard errors are over seeds."""
    import jax

    from ..nn import IsingNetwork
    from ..train import AnnealerTrainer, BackpropTrainer

    settings = {**ALIGNMENT, **(settings or {})}
    ds, nets = _digits_and_nets(settings)
    options = {"sampler": settings["sampler"], "num_reads": settings["num_reads"],
               "sampler_options": {"num_sweeps": settings["num_sweeps"]}}
    start = time.perf_counter()
    per_seed: dict = {}
    for seed in settings["seeds"]:
        batches = _batches(seed, len(ds.y_train), settings)
        for net_name, sizes in nets.items():
            net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 2.0)
            if settings["train_epochs"]:  # the known answer: the reference gradient, followed, trains this net
                _, history = BackpropTrainer(net, activation="sign", seed=seed).fit(ds, settings["train_epochs"])
                per_seed.setdefault(f"{net_name}, straight-through backprop, test accuracy", []).append(
                    {"deterministic pass": history[-1]["test_accuracy"]})
            whole = AnnealerTrainer(net, seed=seed, **options)
            state = whole.init(seed)
            windowed = (AnnealerTrainer(net, seed=seed, active_layers=1, max_variables=settings["max_variables"],
                                        **options) if net_name == "deep" else None)
            snapshots = {"initial": state}
            if settings["train_epochs"]:
                snapshots["trained whole"], _ = whole.fit(ds, settings["train_epochs"], state=state)
                if windowed is not None:
                    snapshots["trained by windows"], _ = windowed.fit(ds, settings["train_epochs"],
                                                                      state=windowed.init(seed))
            for snap, st in snapshots.items():
                forward = net.decode(net.layers(net.forward_pass(st.params, ds.x_test))[-1])
                accuracy = {"deterministic pass": float(np.mean(np.asarray(forward) == ds.y_test)),
                            "annealed whole": whole.evaluate(st.params, ds.x_test, ds.y_test, hyper=st.hyper)}
                if windowed is not None:
                    accuracy["one-layer windows"] = windowed.evaluate(st.params, ds.x_test, ds.y_test, hyper=st.hyper)
                per_seed.setdefault(f"{net_name}, {snap}, test accuracy", []).append(accuracy)
                hidden = net.layers(net.forward_pass(st.params, ds.x_test))[:-1]  # is the input still seen?
                per_seed.setdefault(f"{net_name}, {snap}, distinct codes", []).append(
                    {f"layer {l + 1}": len({row.tobytes() for row in np.asarray(h, np.int8)})
                     for l, h in enumerate(hidden)})
                rows: dict = {}
                for b, index in enumerate(batches):
                    x, y = ds.x_train[index], ds.y_train[index]
                    shuffled, reshuffled = (y[np.random.default_rng([seed, b, k]).permutation(len(y))]
                                            for k in (0, 1))  # the label-free null, and a second draw of it
                    reference = ste_gradient(net, st.params, x, y)
                    rows.setdefault("reference", []).append(
                        _cosines(ste_gradient(net, st.params, x, shuffled), reference))
                    keyed = st._replace(key=jax.random.fold_in(st.key, b))
                    w_state = (None if windowed is None else
                               windowed.init(seed)._replace(params=st.params, key=keyed.key))
                    for labels, tag in ((y, ""), (shuffled, SHUFFLED), (reshuffled, RESHUFFLED)):
                        rows.setdefault("whole" + tag, []).append(
                            _cosines(whole.update_gradient(keyed, x, labels), reference))
                        if windowed is not None:
                            for i, window in enumerate(windowed.windows):
                                rows.setdefault(f"window {list(window)}{tag}", []).append(
                                    _cosines(windowed.update_gradient(w_state, x, labels, i), reference))
                per_seed.setdefault(f"{net_name}, {snap}", []).append(_batch_means(rows))
                if progress:
                    print(f"seed {seed}, {net_name}, {snap}: done ({time.perf_counter() - start:.0f} s)", flush=True)
    summary, accuracy, codes = {}, {}, {}
    for case, seeds in per_seed.items():
        if case.endswith("distinct codes"):
            codes[case[:-len(", distinct codes")]] = {k: [s[k] for s in seeds] for k in seeds[0]}
            continue
        if case.endswith("test accuracy"):
            values = {k: np.array([s[k] for s in seeds]) for k in seeds[0]}
            accuracy[case[:-len(", test accuracy")]] = {
                k: {"mean": float(v.mean()), "se": float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else None}
                for k, v in values.items()}
            continue
        summary[case] = _over_seeds(seeds)
    sizes = [ds.num_inputs, *settings["hidden"], ds.num_classes * settings["spins_per_class"]]
    null = [1.0 / np.sqrt(a * b) for a, b in zip(sizes[:-1], sizes[1:])]
    return {"settings": settings, "cosines": summary, "test_accuracy": accuracy, "distinct_codes": codes,
            "test_inputs": len(ds.y_test), "per_seed": per_seed,
            "null_sd": null, "study_seconds": time.perf_counter() - start}


REACH = {"hidden": [64, 64, 64], "spins_per_class": 4, "seeds": [0, 1, 2], "batches": 8, "batch_size": 32,
         "train_epochs": 4, "learning_rate": 0.003, "sampler": "pa", "num_reads": 16, "num_sweeps": 32}


def nudge_reach(settings: dict | None = None, progress: bool = True) -> dict:
    """How far down the network the nudge reaches, for the nudged phase annealed (``nudged_phase="anneal"``) and
    quenched from the free state (``"quench"``), on the deep network and on the one-hidden-layer network (where
    both train), annealed whole, at initialisation and after ``train_epochs`` epochs of training by the same rule.
    Per spin layer: the fraction of spins in which the correct (nudged) state differs from the lowest free state,
    and from the negatives (weighted as in the update); per weight matrix W_l: the update's norm (Frobenius, per
    element) and its cosine with the straight-through backprop gradient (:func:`ste_gradient`); and, from one
    free phase, the energy by which the quenched nudged state lies above the annealed one (mean per example, in
    the network's energy units) and the fraction of examples where it does (the quench, from the lowest annealed
    free read, stopped after ``quench_sweeps`` top-down sweeps above the annealed nudged state). Averaged over
    ``batches`` mini-batches per seed; means and standard errors over the seeds."""
    import jax
    import jax.numpy as jnp

    from ..nn import IsingNetwork
    from ..train import AnnealerTrainer

    settings = {**REACH, **(settings or {})}
    ds, nets = _digits_and_nets(settings)
    options = {"sampler": settings["sampler"], "num_reads": settings["num_reads"],
               "learning_rate": settings["learning_rate"], "sampler_options": {"num_sweeps": settings["num_sweeps"]}}
    start = time.perf_counter()
    per_seed: dict = {}
    for seed in settings["seeds"]:
        batches = _batches(seed, len(ds.y_train), settings)
        for net_name, sizes in nets.items():
            net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 2.0)
            quencher = AnnealerTrainer(net, seed=seed, nudged_phase="quench", **options)
            for phase in ("anneal", "quench"):
                trainer = AnnealerTrainer(net, seed=seed, nudged_phase=phase, **options)
                annealer = trainer if phase == "anneal" else AnnealerTrainer(net, seed=seed, **options)
                snapshots = {"initial": trainer.init(seed)}
                if settings["train_epochs"]:
                    snapshots["trained"], history = trainer.fit(ds, settings["train_epochs"])
                    per_seed.setdefault(f"{net_name}, {phase}, test accuracy", []).append(
                        [h["test_accuracy"] for h in history])
                for snap, st in snapshots.items():
                    rows: dict = {"differs from lowest free": [], "differs from negatives": [], "update norm": [],
                                  "cosine with backprop": [], "quenched nudged energy above annealed": [],
                                  "quenched nudged state above annealed": []}
                    for b, index in enumerate(batches):
                        x, y = jnp.asarray(ds.x_train[index], jnp.float32), ds.y_train[index]
                        keyed = st._replace(key=jax.random.fold_in(st.key, b))
                        _, k_free, k_nudge = jax.random.split(keyed.key, 3)
                        grads, _, states, energies, _, negatives, correct = trainer._contrast(
                            keyed, x, np.asarray(y), k_free, k_nudge)
                        lowest = np.asarray(states)[np.arange(len(y)), np.argmin(np.asarray(energies), axis=1)]
                        c, w = np.asarray(correct), np.asarray(negatives.weights)
                        neg = np.asarray(negatives.states)
                        rows["differs from lowest free"].append(
                            [float(np.mean(a != b_)) for a, b_ in zip(net.layers(c), net.layers(lowest))])
                        rows["differs from negatives"].append(
                            [float(np.mean(np.sum(w * np.mean(a[:, None, :] != b_, axis=-1), axis=1)))
                             for a, b_ in zip(net.layers(c), net.layers(neg))])
                        rows["update norm"].append([float(np.sqrt(np.mean(np.asarray(g, np.float64) ** 2)))
                                                    for g in grads["weights"]])
                        rows["cosine with backprop"].append(_cosines(grads, ste_gradient(net, st.params, x, y)))
                        # the same nudged phase both ways from one free phase: is the quench stuck above the anneal?
                        free, free_e, annealed, _ = annealer._phases(annealer.windows[0], k_free, k_nudge, keyed, x,
                                                                  jnp.asarray(y))
                        lowest_free = free[jnp.arange(len(y)), jnp.argmin(free_e, axis=1)]
                        quenched = quencher._quench(st.params, x, lowest_free, 1, net.target_code(jnp.asarray(y)))
                        excess = np.asarray(net.energy(st.params, x, quenched) - net.energy(st.params, x, annealed))
                        rows["quenched nudged energy above annealed"].append([float(excess.mean())])
                        rows["quenched nudged state above annealed"].append([float(np.mean(excess > 1e-4))])
                    per_seed.setdefault(f"{net_name}, {phase}, {snap}", []).append(_batch_means(rows))
                    if progress:
                        print(f"seed {seed}, {net_name}, {phase}, {snap}: done ({time.perf_counter() - start:.0f} s)",
                              flush=True)
    summary: dict = {}
    for case, seeds in per_seed.items():
        if case.endswith("test accuracy"):
            curves = np.array(seeds, float)
            summary[case] = {"mean": curves.mean(0).tolist(),
                             "se": (curves.std(0, ddof=1) / np.sqrt(len(curves))).tolist() if len(curves) > 1
                             else None}
            continue
        summary[case] = _over_seeds(seeds)
    return {"settings": settings, "summary": summary, "per_seed": per_seed,
            "study_seconds": time.perf_counter() - start}


def describe_reach(result: dict) -> list[str]:
    """A line per (network, nudged phase, snapshot) and quantity of :func:`nudge_reach`, per layer, mean ± s.e."""
    lines = []
    seeds = len(result["settings"]["seeds"])
    for case, rows in result["summary"].items():
        if case.endswith("test accuracy"):
            se = rows["se"] or [None] * len(rows["mean"])
            lines.append(f"{case} per epoch: " + ", ".join(
                f"{m:.3f}" + (f" ± {e:.3f}" if e is not None else "") for m, e in zip(rows["mean"], se)))
            continue
        for name, cells in rows.items():
            lines.append(f"{case}, {name}: " + " | ".join(f"{l + 1}: {_cell(c, seeds)}" for l, c in enumerate(cells)))
    return lines


def _paired(result: dict, tag: str, null: str) -> dict:
    """Per (network, snapshot, update) and weight matrix: the cosine of the rows ``name + tag`` minus those of
    ``name + null``, paired seed by seed; mean ± s.e. over the seeds (None where the update leaves that matrix
    unchanged in every seed; ``seeds`` counts those where it does not)."""
    out: dict = {}
    for case, seeds in result["per_seed"].items():
        if not isinstance(seeds[0], dict) or not any(k.endswith(null) for k in seeds[0]):
            continue
        for name in seeds[0]:
            if name + null not in seeds[0] or name.endswith((SHUFFLED, RESHUFFLED)) or name + tag not in seeds[0]:
                continue
            cells = []
            for l in range(len(seeds[0][name])):
                d = np.array([s[name + tag][l] - s[name + null][l] for s in seeds if s[name + tag][l] is not None],
                             float)
                cells.append(None if d.size == 0 else
                             {"mean": float(d.mean()), "se": float(d.std(ddof=1) / np.sqrt(d.size))
                              if d.size > 1 else None, "seeds": int(d.size)})
            out.setdefault(case, {})[name] = cells
    return out


def label_pairing(result: dict) -> dict:
    """The change in each cosine when the labels are shuffled within the mini-batch: per (network, snapshot,
    update) and weight matrix, the cosine with the true labels minus that with the shuffled labels (same batch,
    same key, same reference), paired seed by seed; mean ± s.e. over the seeds (None where the update leaves
    that matrix unchanged). Shuffling keeps the batch's label histogram, so an update whose dependence on the
    labels factorises (no input-label interaction) gives 0. About 1/num_classes of the labels land on their own
    class, so the change slightly understates the label dependence. Its noise floor is :func:`shuffle_floor`."""
    return _paired(result, "", SHUFFLED)


def shuffle_floor(result: dict) -> dict:
    """The null of :func:`label_pairing`: the same difference between two independent shuffles of the labels
    (second minus first), which must be 0 within its error bars."""
    return _paired(result, RESHUFFLED, SHUFFLED)


def _cell(c: dict | None, seeds: int) -> str:
    """A mean ± s.e. cell; '-' where the update leaves the matrix unchanged; (n = k) where only k of the
    ``seeds`` contribute (the update vanished in the others)."""
    if c is None:
        return "-"
    text = f"{c['mean']:+.3f}" + (f" ± {c['se']:.3f}" if c["se"] is not None else "")
    return text + (f" (n = {c['seeds']})" if c.get("seeds", seeds) < seeds else "")


def describe_alignment(result: dict) -> list[str]:
    """A line per (network, snapshot, update): the cosine with the straight-through gradient per weight matrix,
    mean ± s.e. over seeds ('-' where the update leaves that matrix unchanged)."""
    lines = [f"null (random direction): ± {', '.join(f'{v:.3f}' for v in result['null_sd'])} per W_l"]
    seeds = len(result["settings"]["seeds"])
    for case, modes in result.get("test_accuracy", {}).items():
        cells = [f"{mode} {a['mean']:.3f}" + (f" ± {a['se']:.3f}" if a["se"] is not None else "")
                 for mode, a in modes.items()]
        lines.append(f"{case}: test accuracy " + ", ".join(cells))
    for case, layers in result.get("distinct_codes", {}).items():
        lines.append(f"{case}: distinct deterministic-pass codes over {result['test_inputs']} test inputs, per seed: "
                     + "; ".join(f"{layer} {values}" for layer, values in layers.items()))
    for case, rows in result["cosines"].items():
        for name, layers in rows.items():
            cells = " | ".join(f"W{l + 1} {_cell(c, seeds)}" for l, c in enumerate(layers))
            lines.append(f"{case}, {name}: {cells}")
    for what, table in (("true minus shuffled labels", label_pairing(result)),
                        ("second shuffle minus first (the floor)", shuffle_floor(result))):
        for case, rows in table.items():
            for name, layers in rows.items():
                lines.append(f"{case}, {name}, {what} (paired by seed): "
                             + " | ".join(f"W{l + 1} {_cell(c, seeds)}" for l, c in enumerate(layers)))
    return lines


def distinct_states(net: IsingNetwork, params: dict, x: npt.ArrayLike) -> list[int]:
    """How many distinct states each spin layer (hidden layers, then the output) takes over the inputs ``x`` in
    the deterministic pass: a collapse diagnostic (a layer with one state for every input carries no information
    about it, and no layer above can recover any; the bound is min(len(x), 2^size))."""
    layers = net.layers(net.forward_pass(params, np.asarray(x, np.float32)))
    return [len({row.tobytes() for row in np.asarray(layer, np.int8)}) for layer in layers]


def code_bound(codes: npt.ArrayLike, labels: npt.ArrayLike) -> tuple[int, float]:
    """(distinct codes, majority bound) of one layer's states ``codes`` (n, m) over examples with ``labels`` (n,):
    the bound is the accuracy of the best classifier that sees only the code -- each distinct code labelled with
    the most frequent label among its examples. Any readout that is a function of the code (in the network's
    lowest state, the output is one of the top hidden layer's code) scores at most this on these examples."""
    codes, labels = np.asarray(codes), np.asarray(labels)
    if codes.ndim != 2 or labels.shape != codes.shape[:1]:
        raise ValueError(f"codes must be (n, m) and labels (n,), got {codes.shape} and {labels.shape}")
    if not len(labels):
        return 0, float("nan")
    _, code = np.unique(codes, axis=0, return_inverse=True)
    _, label = np.unique(labels, return_inverse=True)
    counts = np.zeros((code.max() + 1, label.max() + 1), np.int64)
    np.add.at(counts, (code.ravel(), label.ravel()), 1)
    return int(counts.shape[0]), float(counts.max(axis=1).sum() / len(labels))


def _codes_record(net: IsingNetwork, states: npt.ArrayLike, y: npt.ArrayLike) -> dict:
    """Per spin layer of the lowest states (n, num_free): distinct codes and majority bound; and the accuracy."""
    layers = net.layers(np.asarray(states))
    out = [code_bound(layer, y) for layer in layers]
    accuracy = float(np.mean(np.asarray(net.decode(layers[-1])) == np.asarray(y)))
    return {"distinct": [d for d, _ in out], "bound": [b for _, b in out], "accuracy": accuracy}


COLLAPSE = {"hidden": [64, 64, 64], "spins_per_class": 4, "seeds": [0, 1, 2, 3, 4], "epochs": 16,
            "checkpoints": [0, 1, 2, 4, 8, 16], "learning_rate": 0.003, "sampler": "pa", "num_reads": 16,
            "num_sweeps": 32}


def code_collapse(settings: dict | None = None, progress: bool = True) -> dict:
    """Where the whole-network rule's accuracy stops: the codes of each layer in the lowest annealed free state.

    The deep net (and, as the control that learns, the one-hidden-layer net) is trained whole by the
    annealer-assisted rule; at each of ``checkpoints`` epochs the lowest free states of every training and test
    input are read out as :meth:`~dragonjax.train.AnnealerTrainer.predict` reads them (key(seed + 1)), and per
    layer we record the number of distinct codes and their majority bound (:func:`code_bound`), beside the
    accuracy of the read. The label is a function of the output's code, so the accuracy never exceeds the output
    layer's bound (an identity, a check on the pipeline); where the output is also a function of the top hidden
    layer's code (every output spin aligned with its field, as in a ground state) it cannot exceed that layer's
    bound either. What is measured is how low the hidden layers' bounds fall and whether the accuracy sits on
    them; with nearly every code distinct a bound is near 1 and says nothing (the one-hidden-layer net, and the
    deep net at initialisation, are that null). Reference: straight-through backprop on the deep net, its
    deterministic pass's codes, its accuracy its own readout (the argmax of the class scores, which the output's
    signs do not bound). Means and standard errors over the seeds."""
    from ..nn import IsingNetwork
    from ..train import AnnealerTrainer, BackpropTrainer
    from ..train.backprop import ising_parameters
    from ..train.core import check_dataset
    from ..train.ensemble import eval_batches
    import jax

    settings = {**COLLAPSE, **(settings or {})}
    ds, nets = _digits_and_nets(settings)
    options = {"sampler": settings["sampler"], "num_reads": settings["num_reads"],
               "learning_rate": settings["learning_rate"], "sampler_options": {"num_sweeps": settings["num_sweeps"]}}
    splits = {"train": (ds.x_train, ds.y_train), "test": (ds.x_test, ds.y_test)}
    start = time.perf_counter()
    per_seed: dict = {}
    for seed in settings["seeds"]:
        for net_name, sizes in nets.items():
            net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 2.0)
            trainer = AnnealerTrainer(net, seed=seed, **options)
            state = trainer.init(seed, total_steps=check_dataset(net, ds, trainer.batch_size) * settings["epochs"])
            rows: dict = {}

            def read(state, epoch, trainer=trainer, net=net, rows=rows):
                if epoch not in settings["checkpoints"]:
                    return
                key = jax.random.key(seed + 1)
                for split, (x, y) in splits.items():
                    lowest = np.concatenate([trainer.lowest_states(state.params, xb, key, state.hyper)[:n]
                                             for xb, n in eval_batches(x, 256)])
                    rows.setdefault(split, {})[str(epoch)] = _codes_record(net, lowest, y)

            read(state, 0)
            trainer.fit(ds, settings["epochs"], state=state, on_epoch=lambda st, rec: read(st, int(st.epoch)))
            per_seed.setdefault(net_name, []).append(rows)
            if progress:
                last = rows["train"][str(settings["epochs"])]
                print(f"seed {seed} {net_name}: train accuracy {last['accuracy']:.3f}, bounds "
                      f"{[round(b, 3) for b in last['bound']]}, codes {last['distinct']}", flush=True)
        net = IsingNetwork(nets["deep"], ds.num_classes, settings["spins_per_class"], 2.0)
        backprop = BackpropTrainer(net, activation="sign", seed=seed)
        bp_state, _ = backprop.fit(ds, settings["epochs"])
        params = ising_parameters(bp_state.params)
        rows = {}
        for split, (x, y) in splits.items():
            record = _codes_record(net, net.forward_pass(params, np.asarray(x, np.float32)), y)
            # its own readout (the class scores' argmax), not the decoded signs of the output spins
            record["accuracy"] = backprop.evaluate(bp_state.params, x, y)
            rows[split] = {str(settings["epochs"]): record}
        per_seed.setdefault("deep, straight-through backprop", []).append(rows)
    results = {}
    for name, seeds in per_seed.items():
        results[name] = {}
        for split in splits:
            results[name][split] = {}
            for epoch in seeds[0][split]:
                cell = {}
                for field in ("accuracy", "bound", "distinct"):
                    values = np.asarray([s[split][epoch][field] for s in seeds], np.float64)
                    cell[field] = {"mean": np.mean(values, axis=0).tolist(),
                                   "se": (np.std(values, axis=0, ddof=1) / np.sqrt(len(seeds))).tolist()
                                   if len(seeds) > 1 else None,
                                   "per_seed": values.tolist()}
                results[name][split][epoch] = cell
    return {"settings": settings, "results": results, "study_seconds": time.perf_counter() - start}


def describe_collapse(result: dict) -> list[str]:
    """One line per net, split and checkpoint: accuracy, and per layer the majority bound and distinct codes."""
    lines = []
    for name, splits in result["results"].items():
        for split, epochs in splits.items():
            for epoch, c in epochs.items():
                se = c["accuracy"]["se"]
                bounds = " / ".join(f"{m:.3f}" for m in c["bound"]["mean"])
                codes = " / ".join(f"{m:.0f}" for m in c["distinct"]["mean"])
                lines.append(f"{name}, {split}, epoch {epoch}: accuracy {c['accuracy']['mean']:.3f}"
                             + (f" ± {se:.3f}" if se is not None else "")
                             + f"; majority bound per layer {bounds}; distinct codes {codes}")
    return lines


def _variant(name: str, settings: dict, seed: int, ds, save=None) -> dict:
    """One variant trained for one seed: its record. ``save(state, history)``, when given, is called with an
    annealer variant's final state (the study keeps it for later readouts)."""
    from ..nn import IsingNetwork
    from ..train import AnnealerTrainer, BackpropTrainer, train_layerwise
    from ..train.backprop import ising_parameters

    options = {"sampler": settings["sampler"], "num_reads": settings["num_reads"],
               "learning_rate": settings["learning_rate"], "sampler_options": {"num_sweeps": settings["num_sweeps"]}}
    sizes = [ds.num_inputs, *settings["hidden"]]
    if name == "straight-through backprop":  # the reference: a gradient method that trains this deep net
        net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 2.0)
        state, history = BackpropTrainer(net, activation="sign", seed=seed).fit(ds, settings["epochs"])
        return {"test_accuracy": [h["test_accuracy"] for h in history],
                "distinct_states": distinct_states(net, ising_parameters(state.params), ds.x_test),
                "largest_subproblem": 0, "largest_subproblem_couplings": 0, "sampler_calls": 0}
    if name == "greedy":
        net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 1.0)
        params, history = train_layerwise(net, ds, settings["epochs_per_layer"], seed=seed,
                                          max_variables=settings["max_variables"], **options)
    else:
        net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 2.0,
                           settings["layer_scales"] if "layer scales" in name else None)
        window = {"active_layers": 1, "max_variables": settings["max_variables"]} if name.startswith("window") else {}
        if name.endswith("weak nudge"):
            window["nudge"] = settings["weak_nudge"]
        if name.endswith("quench"):
            window["nudged_phase"] = "quench"
        if name.endswith("reverse anneal"):
            window.update(nudged_phase="reverse", reverse_beta=settings["reverse_beta"])
        if "warm-up" in name:
            window["lr_warmup_steps"] = round(settings["warmup_epochs"] * -(-len(ds.x_train) // 32))
        if name.endswith("weight decay"):
            window["weight_decay"] = settings["weight_decay"]
        if name.endswith("clamped negative"):
            window.update(negative_phase="clamped", margin=settings["margin"])
        state, history = AnnealerTrainer(net, seed=seed, **window, **options).fit(ds, settings["epochs"])
        params = state.params
        if save is not None:
            save(state, history)
    extra = ({"fraction_with_wrong_label_states": [h["fraction_with_wrong_label_states"] for h in history]}
             if "fraction_with_wrong_label_states" in history[0] else {})  # free phases holding a wrong-label negative
    if settings.get("readout") and name != "greedy":  # the final weights read out again by a stronger anneal
        strong = AnnealerTrainer(net, seed=seed, **window, **{
            **options, "num_reads": settings["readout"]["num_reads"],
            "sampler_options": {"num_sweeps": settings["readout"]["num_sweeps"]}})
        extra["test_accuracy_readout"] = strong.evaluate(params, ds.x_test, ds.y_test, state.eval_key, state.hyper)
    return {"test_accuracy": [h["test_accuracy"] for h in history], **extra,
            "distinct_states": distinct_states(net, params, ds.x_test),
            "largest_subproblem": max(h["largest_subproblem"] for h in history),
            "largest_subproblem_couplings": max(h["largest_subproblem_couplings"] for h in history),
            "sampler_calls": int(sum(h["sampler_calls"] for h in history))}


DATA = ("digits", "teacher-student", "digits, teacher labels", "digits, sign-projected")


def deep_dataset(name: str, teacher: dict | None = None, split: int = 0) -> Dataset:
    """The study's data (one of :data:`DATA`): scikit-learn's digits (centred); the teacher-student task
    :data:`TEACHER_STUDENT` (64 +-1 inputs, 10 classes: the deep net's shape fits both), with ``teacher``
    overriding its sizes (e.g. ``{"hidden": 8, "num_train": 4800}``; the inputs and classes stay those the net is
    built for); and two controls that cross the two: digits' centred inputs labelled by the same random teacher
    (``"digits, teacher labels"``, :func:`~dragonjax.data.relabelled`: by default the 2-unit teacher with which the
    deep net's teacher-student control was run; ``teacher`` may set its hidden and seed) and
    digits' labels on sign-projected inputs (``"digits, sign-projected"``, :func:`~dragonjax.data.sign_projected`:
    dense +-1 inputs like the teacher's, projection seed 0). ``split`` picks digits' stratified 70/30 train/test
    split (:func:`~dragonjax.data.digits`' ``random_state``; 0, the default, is the split every study of the report
    used); it applies to the three digits-based data sets (for ``"digits, teacher labels"`` it changes the labels
    too: the teacher sees the inputs minus the training mean), and the teacher-student task takes
    ``teacher["seed"]`` instead."""
    from .. import data
    from ..ising import ProblemError

    if name not in DATA:
        raise ProblemError(f"unknown data {name!r}; expected one of {DATA}")
    teacher = dict(teacher or {})
    allowed = {"teacher-student": ("hidden", "num_train", "num_test", "seed"),
               "digits, teacher labels": ("hidden", "seed")}.get(name, ())
    if teacher and not allowed:
        raise ProblemError(f"teacher settings {sorted(teacher)} apply to data 'teacher-student' or 'digits, teacher "
                           f"labels', not {name!r}")
    refused = sorted(k for k in teacher if k not in allowed)
    if refused:
        raise ProblemError(f"teacher setting(s) {refused} cannot be set for {name!r}; expected some of "
                           f"{', '.join(allowed)}")
    bad = sorted(k for k, v in teacher.items() if int(v) != v or v < (0 if k == "seed" else 1))
    if bad:
        raise ProblemError(f"teacher setting(s) {bad} must be positive integers (seed: >= 0)")
    teacher = {k: int(v) for k, v in teacher.items()}
    if isinstance(split, bool) or not isinstance(split, (int, np.integer)) or split < 0:
        raise ProblemError(f"split must be a non-negative integer (digits' train/test split), got {split!r}")
    if name == "teacher-student":
        if split:
            raise ProblemError("split applies to the digits-based data; the teacher-student task is drawn by its "
                               "teacher seed (teacher={'seed': N})")
        return data.teacher_student(**{**TEACHER_STUDENT, **teacher})
    ds = data.digits(random_state=int(split)).centered()
    if name == "digits, teacher labels":
        return data.relabelled(ds, **{"hidden": 2, "seed": TEACHER_STUDENT["seed"], **teacher})
    if name == "digits, sign-projected":
        return data.sign_projected(ds, seed=0)
    return ds


def run_deep(out: str, settings: dict | None = None, overwrite: bool = False) -> dict:
    """Train every variant (``settings["variants"]``, default :data:`STUDY_VARIANTS`) for every seed; write
    ``out``/results.json (per seed and a summary) and each annealer run's final state
    (``out``/state_<variant>_seed<seed>.npz, :func:`~dragonjax.experiments.training.save_checkpoint`'s format with
    the variant, seed and settings as its config). With ``settings["readout"]`` (e.g. :data:`READOUT`) each annealer
    run's final weights are also read out on the test set by that stronger anneal (the same sampler, β range and
    evaluation key; ``test_accuracy_readout``): the net's prediction is its lowest free state, which the training
    sampler does not always find."""
    from .results import RunDirectory
    from .training import save_checkpoint

    settings = {**QUICK, **(settings or {})}
    ds = deep_dataset(settings["data"], settings.get("teacher"), settings.get("split", 0))  # refused before a run
    run = RunDirectory(out, {"study": "deep", **settings}, overwrite=overwrite)
    start = time.perf_counter()
    results = {}
    for name in settings.get("variants", STUDY_VARIANTS):
        per_seed = []
        for seed in settings["seeds"]:
            path = run.file(f"state_{name.replace(', ', '_').replace(' ', '-')}_seed{seed}.npz")
            keep = {"study": "deep", "variant": name, "seed": seed,
                    **{k: v for k, v in settings.items() if k not in ("seeds", "variants")}}
            per_seed.append(_variant(name, settings, seed, ds, save=lambda st, h, path=path, keep=keep:
                                     save_checkpoint(path, st, h, keep)))
        results[name] = {"per_seed": per_seed, **_mean_se([r["test_accuracy"][-1] for r in per_seed], "final"),
                         "largest_subproblem": max(r["largest_subproblem"] for r in per_seed),
                         "largest_subproblem_couplings": max(r["largest_subproblem_couplings"] for r in per_seed)}
        if all("test_accuracy_readout" in r for r in per_seed):
            results[name].update(_mean_se([r["test_accuracy_readout"] for r in per_seed], "readout"))
    summary = {"settings": settings, "results": results, "study_seconds": time.perf_counter() - start}
    run.finish(summary, "results.json")
    plot_deep(summary, run.file("curves"))
    return summary


# settings a run directory may lack because it predates them, and the value they had then
_ABSENT_MEANS = {"split": 0, "teacher": None, "readout": None}


def pool_seeds(*summaries: dict) -> dict:
    """One summary from several run directories of one study that differ only in their seeds (e.g. seeds 0-4 and
    5-9 run one after the other): for each variant, the per-seed records in the order given, and the mean and
    standard error recomputed over all the seeds (the seed is the independent unit). Refused: runs that hold
    different variants, repeat a seed, or differ in any setting but the seeds and the readout (a setting a run
    lacks counts as its value before it existed: split 0, no teacher, no readout; any other missing setting is
    refused). The readout's mean is kept only when every seed has one and all runs read out alike."""
    from ..ising import ProblemError

    if not summaries:
        raise ProblemError("pool_seeds needs at least one summary")
    keys = set().union(*(s["settings"] for s in summaries)) - {"seeds", "variants"}
    one_sided = sorted(k for k in keys - set(_ABSENT_MEANS) if not all(k in s["settings"] for s in summaries))
    if one_sided:
        raise ProblemError(f"cannot pool runs of which only some record {', '.join(one_sided)}")
    settings = [{**_ABSENT_MEANS, **s["settings"]} for s in summaries]
    differ = sorted(k for k in keys if k != "readout" and any(o[k] != settings[0][k] for o in settings))
    if differ:
        raise ProblemError(f"cannot pool runs whose settings differ in {', '.join(differ)}")
    names = list(summaries[0]["results"])
    if any(list(s["results"]) != names for s in summaries):
        raise ProblemError(f"cannot pool runs that hold different variants: "
                           f"{'; '.join(', '.join(s['results']) for s in summaries)}")
    seeds = [int(seed) for s in summaries for seed in s["settings"]["seeds"]]
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ProblemError(f"cannot pool runs that repeat seed(s) {repeated}")
    for s in summaries:
        for name, r in s["results"].items():
            if len(r["per_seed"]) != len(s["settings"]["seeds"]):
                raise ProblemError(f"{name!r} holds {len(r['per_seed'])} runs for {len(s['settings']['seeds'])} "
                                   "seeds")
    same_readout = all(o["readout"] == settings[0]["readout"] for o in settings)
    results = {}
    for name in names:
        parts = [s["results"][name] for s in summaries]
        per_seed = [r for part in parts for r in part["per_seed"]]
        results[name] = {"per_seed": per_seed, **_mean_se([r["test_accuracy"][-1] for r in per_seed], "final"),
                         "largest_subproblem": max(p["largest_subproblem"] for p in parts),
                         "largest_subproblem_couplings": max(p["largest_subproblem_couplings"] for p in parts)}
        if same_readout and all("test_accuracy_readout" in r for r in per_seed):
            results[name].update(_mean_se([r["test_accuracy_readout"] for r in per_seed], "readout"))
    pooled = {**settings[0], "seeds": seeds, "variants": names,
              "readout": settings[0]["readout"] if same_readout else None}
    return {"settings": pooled, "results": results,
            "study_seconds": float(sum(s.get("study_seconds", 0.0) for s in summaries))}


def _mean_se(values, prefix: str) -> dict:
    """``{prefix}_mean`` and ``{prefix}_se`` over seeds (s.e. with n - 1; None for one seed)."""
    values = np.asarray(values, np.float64)
    return {f"{prefix}_mean": float(values.mean()),
            f"{prefix}_se": float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None}


# one colour per variant in every panel (Okabe & Ito's and Tol's colour-blind-safe hues); backprop is the
# figures' backprop-sign green
_VARIANT_HUES = {"whole": "#D55E00", "whole, quench": "#E69F00", "whole, weak nudge": "#AA4499",
                 "whole, reverse anneal": "#882255", "whole, clamped negative": "#44AA99",
                 "whole, layer scales": "#332288", "whole, layer scales, warm-up": "#000000",
                 "whole, layer scales, warm-up, weight decay": "#DDCC77", "window 1": "#CC79A7",
                 "window 1, weak nudge": "#56B4E9", "window 1, quench": "#0072B2", "greedy": "#999999"}


def plot_deep(summaries: dict | list, stem: str | None, titles: list[str] | None = None, ncols: int = 1,
              ylims: list[tuple[float, float]] | None = None) -> None:
    """Test accuracy per epoch of every variant: one panel per entry of ``summaries`` (a summary of
    :func:`run_deep` or :func:`pool_seeds`, or a list of them drawn together, e.g. a variant and the backprop
    reference run apart; one summary alone is one panel). Each seed's curve is thin, the mean over seeds bold with
    a band of ± one standard error (the seeds are the independent unit; a 95 % interval is wider, ± 2.1 s.e. with
    15 seeds, ± 4.3 with 3); each mean curve is named at its end with its seeds and final mean ± s.e. On digits
    the issue's targets are dotted lines: 0.95 where a whole-network variant is drawn, 0.90 where a window or
    greedy one is. Straight-through backprop, the gradient reference, is green. Greedy layer-wise training's epochs
    run over its stages (``epochs_per_layer`` per hidden layer, each stage with a new temporary readout; dashed
    lines mark where a stage starts): only its last stage is the deep net. The panels fill ``ncols`` columns;
    ``ylims`` gives each panel's accuracy range (default 0 to 1), e.g. a narrow one to show a margin to a target."""
    import math

    from .figures import PAGE, TRAINER_COLOURS, figure

    panels = [summaries] if isinstance(summaries, dict) else list(summaries)
    panels = [[p] if isinstance(p, dict) else list(p) for p in panels]
    titles = list(titles) if titles is not None else [None] * len(panels)
    if len(titles) != len(panels):
        raise ValueError(f"{len(titles)} titles for {len(panels)} panels")
    if ncols < 1:
        raise ValueError(f"ncols must be a positive integer, got {ncols}")
    ylims = list(ylims) if ylims is not None else [(0.0, 1.0)] * len(panels)
    if len(ylims) != len(panels) or any(not lo < hi for lo, hi in ylims):
        raise ValueError(f"ylims must give one increasing (low, high) per panel, got {ylims}")
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    with figure(stem, PAGE, 3.0 * nrows, nrows, ncols, squeeze=False) as (fig, axes):
        for ax in axes.ravel()[len(panels):]:
            ax.set_visible(False)
        for ax, panel, title, (low, high) in zip(axes.ravel(), panels, titles, ylims):
            others = iter(("#117733", "#88CCEE", "#661100", "#6699CC") * 4)
            ends = []
            for summary in panel:
                for name, r in summary["results"].items():
                    curves = [np.asarray(s["test_accuracy"], float) for s in r["per_seed"]]
                    length = min(len(c) for c in curves)
                    acc = np.stack([c[:length] for c in curves])
                    epoch = np.arange(1, length + 1)
                    hue = (TRAINER_COLOURS["backprop-sign"] if name == "straight-through backprop"
                           else _VARIANT_HUES.get(name) or next(others))
                    for curve in acc:
                        ax.plot(epoch, curve, color=hue, lw=0.4, alpha=0.35)
                    mean = acc.mean(0)
                    se = acc.std(0, ddof=1) / np.sqrt(len(acc)) if len(acc) > 1 else np.zeros(length)
                    ax.fill_between(epoch, mean - se, mean + se, color=hue, alpha=0.25, lw=0)
                    ax.plot(epoch, mean, color=hue, lw=1.4)
                    final = f"{mean[-1]:.3f}" + (f" ± {se[-1]:.3f}" if len(acc) > 1 else "")
                    ends.append((float(mean[-1]), f"{name} ({len(acc)})\n{final}", hue, length))
                    if name == "greedy":
                        per_layer = summary["settings"].get("epochs_per_layer")
                        for start in range(per_layer or length, length, per_layer or length):
                            ax.axvline(start + 0.5, color=hue, ls="--", lw=0.6)
            # each mean curve named at its end, the names spaced downwards so that none overlap, a leader line
            # from a moved name to its curve's end
            placed: list[float] = []
            for final, label, hue, length in sorted(ends, reverse=True):
                y = min(final, placed[-1] - 0.085 * (high - low)) if placed else final
                placed.append(y)
                leader = {"arrowstyle": "-", "color": hue, "lw": 0.5, "shrinkA": 0, "shrinkB": 1}
                ax.annotate(label, (length, final), xytext=(1.03, y), textcoords=("axes fraction", "data"),
                            color=hue, fontsize=6, va="center", linespacing=1.0, annotation_clip=False,
                            arrowprops=None if abs(y - final) < 0.02 * (high - low) else leader)
            names = [n for summary in panel for n in summary["results"]]
            on_digits = all(summary["settings"].get("data", "digits") == "digits" for summary in panel)
            for target, text, shown in ((0.95, "whole-network target", any(n.startswith("whole") for n in names)),
                                        (0.90, "window target", any(n.startswith(("window", "greedy"))
                                                                    for n in names))):
                if on_digits and shown:
                    ax.axhline(target, color="0.3", ls=":", lw=0.8)
                    ax.text(0.5, target, text, transform=ax.get_yaxis_transform(), ha="center", va="bottom",
                            fontsize=6, color="0.3")
            ax.set(xlabel="epoch", ylabel="test accuracy", ylim=(low, high))
            if title:
                ax.set_title(title, loc="left")
            ax.grid(True)


def describe(summary: dict) -> list[str]:
    """One line per variant: final test accuracy mean ± s.e. over seeds, the largest subproblem."""
    lines = []
    for name, r in summary["results"].items():
        finals = ", ".join(f"{s['test_accuracy'][-1]:.3f}" for s in r["per_seed"])
        distinct = "; ".join("/".join(str(d) for d in s["distinct_states"]) for s in r["per_seed"]
                             if "distinct_states" in s)
        if "readout_mean" in r:
            reads = ", ".join(f"{s['test_accuracy_readout']:.3f}" for s in r["per_seed"])
            se = "" if r["readout_se"] is None else f" ± {r['readout_se']:.3f}"
            finals += f"; strong readout {r['readout_mean']:.3f}{se} (seeds: {reads})"
        se = "" if r["final_se"] is None else f" ± {r['final_se']:.3f}"
        lines.append(f"{name}: {r['final_mean']:.3f}{se} (seeds: {finals}); largest subproblem "
                     f"{r['largest_subproblem']} spins, {r['largest_subproblem_couplings']} couplings"
                     + (f"; distinct states per layer on the test set: {distinct}" if distinct else ""))
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--alignment", action="store_true", help="the gradient-alignment diagnosis instead")
    parser.add_argument("--reach", action="store_true", help="how far down the nudge reaches, annealed and "
                        "quenched (nudge_reach) instead")
    parser.add_argument("--collapse", action="store_true", help="the codes of each layer in the lowest annealed "
                        "state and their majority bound, through training (code_collapse) instead")
    parser.add_argument("--data", choices=DATA, default="digits")
    parser.add_argument("--seeds", type=int, nargs="+", help="default: QUICK's")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, help="default: STUDY_VARIANTS (all but 'whole, "
                        "weak nudge', 'whole, reverse anneal', 'whole, clamped negative' and the two 'whole, layer "
                        "scales' variants)")
    parser.add_argument("--epochs", type=int, help="epochs of every whole/window variant (default: QUICK's)")
    parser.add_argument("--lr", type=float, help="learning rate of every annealer variant (default: QUICK's)")
    parser.add_argument("--reverse-beta", type=float, help="where 'whole, reverse anneal' restarts its nudged "
                        "phase (default: QUICK's 1.0; below the anneal's cold end, 10)")
    parser.add_argument("--weight-decay", type=float, help="AdamW's decay of 'whole, layer scales, warm-up, weight "
                        "decay' (default: QUICK's 0.2)")
    parser.add_argument("--margin", type=float, help="the hinge of 'whole, clamped negative' in energy units "
                        "(default: none, every example counts)")
    parser.add_argument("--readout", action="store_true", help="also read each annealer run's final weights out on "
                        "the test set by a stronger anneal (READOUT: the training sampler with 64 reads, 256 sweeps)")
    parser.add_argument("--hidden", type=int, nargs="+", metavar="N", help="hidden-layer widths of the trained net "
                        "(default: QUICK's 64 64 64; e.g. --hidden 64 for the one-hidden-layer control)")
    parser.add_argument("--split", type=int, metavar="N", help="digits' stratified train/test split (its "
                        "random_state; default 0, the split of every study in the report)")
    parser.add_argument("--teacher", nargs="+", metavar="KEY=N", help="teacher-student sizes overriding "
                        "TEACHER_STUDENT's: hidden, num_train, num_test, seed (e.g. hidden=8 num_train=4800)")
    args = parser.parse_args()
    teacher = {}
    for item in args.teacher or ():
        key, _, value = item.partition("=")
        if not value.strip().isdigit():
            parser.error(f"--teacher takes KEY=N with N a non-negative integer, got {item!r}")
        teacher[key.strip()] = int(value)
    if args.hidden is not None and min(args.hidden) < 1:
        parser.error(f"--hidden takes positive layer widths, got {args.hidden}")
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be a positive integer, got {args.epochs}")
    if args.lr is not None and not (np.isfinite(args.lr) and args.lr > 0):
        parser.error(f"--lr must be positive and finite, got {args.lr}")
    if args.weight_decay is not None and not (np.isfinite(args.weight_decay) and args.weight_decay >= 0):
        parser.error(f"--weight-decay must be non-negative and finite, got {args.weight_decay}")
    if args.split is not None and args.split < 0:
        parser.error(f"--split must be a non-negative integer, got {args.split}")
    if args.split and (args.alignment or args.reach or args.collapse):
        parser.error("--split applies to the variants study; --alignment, --reach and --collapse use split 0")
    if args.split and args.data == "teacher-student":
        parser.error("--split applies to the digits-based data; the teacher-student task takes --teacher seed=N")
    if args.reverse_beta is not None and not (np.isfinite(args.reverse_beta) and args.reverse_beta > 0):
        parser.error(f"--reverse-beta must be positive and finite, got {args.reverse_beta}")
    if args.collapse:
        from .results import RunDirectory

        run = RunDirectory(args.out, {"study": "deep_collapse", **COLLAPSE,
                                      **({"seeds": args.seeds} if args.seeds else {})}, overwrite=args.overwrite)
        result = code_collapse({"seeds": args.seeds} if args.seeds else None)
        run.finish(result, "results.json")
        print("\n".join(describe_collapse(result)))
    elif args.reach:
        from .results import RunDirectory

        run = RunDirectory(args.out, {"study": "deep_reach", **REACH}, overwrite=args.overwrite)
        result = nudge_reach()
        run.finish(result, "results.json")
        print("\n".join(describe_reach(result)))
    elif args.alignment:
        from .results import RunDirectory

        run = RunDirectory(args.out, {"study": "deep_alignment", **ALIGNMENT}, overwrite=args.overwrite)
        result = gradient_alignment()
        run.finish(result, "results.json")
        print("\n".join(describe_alignment(result)))
    else:
        chosen = {"data": args.data, **({"seeds": args.seeds} if args.seeds else {}),
                  **({"variants": list(args.variants)} if args.variants else {}),
                  **({"epochs": args.epochs} if args.epochs is not None else {}),
                  **({"hidden": list(args.hidden)} if args.hidden else {}),
                  **({"learning_rate": args.lr} if args.lr is not None else {}),
                  **({"reverse_beta": args.reverse_beta} if args.reverse_beta is not None else {}),
                  **({"margin": args.margin} if args.margin is not None else {}),
                  **({"weight_decay": args.weight_decay} if args.weight_decay is not None else {}),
                  **({"readout": READOUT} if args.readout else {}),
                  **({"teacher": teacher} if teacher else {}),
                  **({"split": args.split} if args.split is not None else {})}
        print("\n".join(describe(run_deep(args.out, chosen, overwrite=args.overwrite))))
