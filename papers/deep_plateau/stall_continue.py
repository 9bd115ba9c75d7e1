"""Is the merged pair of classes of the stalled run absorbing under the rule? The final states of the 64-epoch
warm-up runs (seed 7, stalled: classes 7 and 9 merged in hidden layer 2; seeds 5 and 14, the two next-lowest training
accuracies, as controls), trained on for 16 more epochs by the same rule at a constant learning rate (0.003, the
peak of the runs' schedule, and 0.001), the Adam state carried over: per epoch the running training accuracy and
the test accuracy (the training sampler's readout); at the end the lowest-state code bound of hidden layer 2 on the
training set and the most confused pair. The runs' own schedules had decayed the rate to 0 at epoch 64.

    python papers/deep_plateau/stall_continue.py > papers/deep_plateau/stall_continue.txt    # ~5 minutes
"""
import pathlib
import time

import numpy as np

from dragonjax.experiments.deep import QUICK, code_bound, deep_dataset
from dragonjax.experiments.training import load_checkpoint
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer

papers = pathlib.Path(__file__).parent.parent
ds = deep_dataset("digits")
EPOCHS = 16
start = time.perf_counter()
for seed in (7, 5, 14):
    # the split-0 runs only (deep_warmup64_split1 holds the same seeds on another split)
    path = next(p for d in ("deep_warmup64", "deep_warmup64_seeds5_9", "deep_warmup64_seeds10_14")
                if (p := papers / d / f"state_whole_layer-scales_warm-up_seed{seed}.npz").exists())
    for lr in (0.003, 0.001):
        net = IsingNetwork([ds.num_inputs, *QUICK["hidden"]], ds.num_classes, QUICK["spins_per_class"], 2.0,
                           QUICK["layer_scales"])
        trainer = AnnealerTrainer(net, seed=seed, sampler=QUICK["sampler"], num_reads=QUICK["num_reads"],
                                  learning_rate=lr, lr_schedule="constant",
                                  sampler_options={"num_sweeps": QUICK["num_sweeps"]})
        fresh = trainer.init()
        state = load_checkpoint(path, fresh)
        state = (state[0] if isinstance(state, tuple) else state)._replace(hyper=fresh.hyper)
        state, history = trainer.fit(ds, int(state.epoch) + EPOCHS, state=state)  # epochs counts from 0
        lowest = np.asarray(trainer.lowest_states(state.params, ds.x_train, state.eval_key, state.hyper))
        layers = net.layers(lowest)
        pred = np.asarray(net.decode(layers[-1]))
        confusion = np.zeros((10, 10), int)
        np.add.at(confusion, (ds.y_train, pred), 1)
        np.fill_diagonal(confusion, 0)
        a, b = np.unravel_index(np.argmax(confusion), confusion.shape)
        d2, b2 = code_bound(layers[1], ds.y_train)
        print(f"seed {seed}, lr {lr} constant, {EPOCHS} more epochs:")
        print("  running training accuracy:", " ".join(f"{h['train_accuracy_running']:.3f}" for h in history))
        print("  test accuracy:            ", " ".join(f"{h['test_accuracy']:.3f}" for h in history))
        print(f"  end: training accuracy {np.mean(pred == ds.y_train):.3f}, hidden 2 codes {d2}, bound {b2:.3f};"
              f" most confused {a} -> {b} ({confusion[a, b]})  ({time.perf_counter() - start:.0f} s)", flush=True)
