"""Exploratory probes of the deep net's whole-network rule (report section 7, "Exploratory probes").

The deep net 64-64-64-64-40 trained whole on digits as in ``dragonjax.experiments.deep.QUICK`` (PA, 16 reads, 32
sweeps, Adam with cosine decay), with per-layer changes that the package does not offer as options:

- ``--scales a,b,c,d``: the initial weight scale of W1..W4 (the study: 2,2,2,2; the 0.5 hierarchy: 2,1,0.5,0.25);
- ``--lr-multipliers a,b,c,d``: factors of the learning rate for W_l and b_l (this process replaces
  ``dragonjax.train.annealer.learning_rate_multipliers``);
- ``--nudged-output-scale k``: in the strong nudge's phase (output clamped) the output couplings W_L are multiplied
  by k, so the clamp pulls harder (k > 1) or softer (k < 1) on the top hidden layer; the update is still formed with
  the true couplings;
- ``--sgd m``: plain SGD with momentum m (cosine-decayed ``--lr``) in place of the trainer's Adam, whose
  per-parameter normalisation moves every coupling by about the learning rate per step whatever the size of its
  contrastive signal (``--lr-multipliers`` then do not apply);
- ``--warmup-epochs w``: Adam (optax's) with the learning rate rising linearly from 0 over the first w epochs, then
  cosine-decayed (the classes merge in the first epoch, when Adam's bias-corrected first steps are already
  full-sized);
- ``--reads r``: reads per input in both phases (default the study's 16);
- ``--weight-decay w``: with ``--warmup-epochs``, optax's AdamW (decoupled weight decay w) in place of Adam;
- ``--lr``, ``--beta-cold`` (the anneal's cold end; default the sampler's 10).

Per seed it prints (and with ``--json`` writes) the test accuracy per epoch and, after training, the distinct codes
and majority bound of each layer on training inputs 0-1023 (``code_bound``) with the accuracy of that read; with
``--test-codes`` the same on the 540 test inputs (each code labelled by the test set's own majority: an in-sample
ceiling for a readout of that layer on the test set).

    python papers/deep_plateau/probes.py --seeds 0 1 2 3 --epochs 8 --scales 2,1,0.5,0.25
    python papers/deep_plateau/probes.py --seeds 0 1 2 3 --epochs 8 --lr-multipliers 4,2,1,1

The report's probe numbers were printed by an earlier form of this script and not archived; the hinge on free
negatives needed a trainer change that was not kept, so it is not reproduced here.
"""
import argparse
import json
import pathlib

import jax
import numpy as np
import optax

import dragonjax.train.annealer as annealer
from dragonjax import data
from dragonjax.experiments.deep import QUICK, _codes_record
from dragonjax.experiments.results import provenance
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer
from dragonjax.train.core import check_dataset


def floats(text):
    values = [float(v) for v in text.split(",")]
    if len(values) != 4 or not all(np.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected four positive numbers a,b,c,d, got {text!r}")
    return values


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--scales", type=floats, default=[2.0] * 4)
    parser.add_argument("--lr-multipliers", type=floats, default=[1.0] * 4)
    parser.add_argument("--lr", type=float, default=QUICK["learning_rate"])
    parser.add_argument("--beta-cold", type=float)
    parser.add_argument("--nudged-output-scale", type=float, default=1.0)
    parser.add_argument("--sgd", type=float, metavar="MOMENTUM", help="SGD with this momentum instead of Adam")
    parser.add_argument("--warmup-epochs", type=float, help="Adam with a linear warm-up over this many epochs")
    parser.add_argument("--reads", type=int, default=QUICK["num_reads"], help="reads per input (default 16)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW's decoupled weight decay (with "
                        "--warmup-epochs)")
    parser.add_argument("--test-codes", action="store_true", help="also the codes and bounds on the test inputs")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.weight_decay and (not args.warmup_epochs or args.sgd is not None):
        parser.error("--weight-decay needs --warmup-epochs without --sgd (it replaces that Adam by AdamW)")
    factors = args.lr_multipliers
    annealer.learning_rate_multipliers = lambda params, parametrisation: {"weights": list(factors),
                                                                          "biases": list(factors)}
    ds = data.digits().centered()
    options = {"num_sweeps": QUICK["num_sweeps"], **({"beta_range": (0.1, args.beta_cold)} if args.beta_cold else {})}
    rows = {}
    for seed in args.seeds:
        net = IsingNetwork([ds.num_inputs, *QUICK["hidden"]], ds.num_classes, QUICK["spins_per_class"], 2.0)
        optimizer = None
        per_epoch = check_dataset(net, ds, 32)  # the trainer's default batch of 32
        if args.sgd is not None:
            optimizer = optax.sgd(optax.cosine_decay_schedule(args.lr, per_epoch * args.epochs),
                                  momentum=args.sgd or None)
        elif args.warmup_epochs:
            schedule = optax.warmup_cosine_decay_schedule(0.0, args.lr, int(args.warmup_epochs * per_epoch),
                                                          per_epoch * args.epochs)
            optimizer = (optax.adamw(schedule, weight_decay=args.weight_decay) if args.weight_decay
                         else optax.adam(schedule))
        trainer = AnnealerTrainer(net, QUICK["sampler"], learning_rate=args.lr, num_reads=args.reads,
                                  optimizer=optimizer, sampler_options=options, seed=seed)
        if args.nudged_output_scale != 1.0:
            relax, last = trainer._relax, net.num_layers

            def clamp_scaled(key, params, x, window, fixed, hyper, *rest, relax=relax, last=last, **options):
                if last in fixed:  # the strong nudge's phase: the output is clamped
                    params = {"weights": [*params["weights"][:-1], params["weights"][-1] * args.nudged_output_scale],
                              "biases": params["biases"]}
                return relax(key, params, x, window, fixed, hyper, *rest, **options)

            trainer._relax = clamp_scaled
        state = trainer.init(seed, total_steps=check_dataset(net, ds, trainer.batch_size) * args.epochs)
        params = {"weights": [w * (s / 2.0) for w, s in zip(state.params["weights"], args.scales)],
                  "biases": state.params["biases"]}
        state, history = trainer.fit(ds, args.epochs, state=state._replace(params=params))
        lowest = trainer.lowest_states(state.params, ds.x_train[:1024], jax.random.key(seed + 1), state.hyper)
        rows[seed] = {"test_accuracy": [float(h["test_accuracy"]) for h in history],
                      "codes_on_training_inputs_0_1023": _codes_record(net, lowest, ds.y_train[:1024])}
        if args.test_codes:
            lowest = trainer.lowest_states(state.params, ds.x_test, jax.random.key(seed + 1), state.hyper)
            rows[seed]["codes_on_test_inputs"] = _codes_record(net, lowest, ds.y_test)
        print(f"seed {seed}: {json.dumps(rows[seed])}", flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps({"settings": vars(args), "per_seed": rows,
                                                       "provenance": provenance()}, indent=2))
