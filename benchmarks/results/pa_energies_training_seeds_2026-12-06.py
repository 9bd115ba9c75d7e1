"""Default net, 3 epochs, PA: test accuracy with the energies tracked (argument 1) or recomputed (0), seeds 0-7.

    python benchmarks/results/pa_energies_training_seeds_2026-12-06.py 1   # writes seeds_1.json
    python benchmarks/results/pa_energies_training_seeds_2026-12-06.py 0   # writes seeds_0.json
"""
import json
import sys

import dragonjax.kernels.sweeps as sweeps

if sys.argv[1] == "0":
    make = sweeps.make_sweep

    def untracked(*args, **kwargs):
        sweep = make(*args, **kwargs)
        sweep.track = None
        return sweep

    sweeps.make_sweep = untracked

from dragonjax import data  # noqa: E402
from dragonjax.nn import IsingNetwork  # noqa: E402
from dragonjax.train import AnnealerTrainer  # noqa: E402

ds = data.digits().centered()
out = []
for seed in range(8):
    trainer = AnnealerTrainer(IsingNetwork([64, 256], 10, 8), "pa", num_reads=16, sampler_options={"num_sweeps": 32},
                              seed=seed)
    state, history = trainer.fit(ds, 3)
    out.append([float(h["test_accuracy"]) for h in history])
    print(seed, out[-1], flush=True)
with open(f"seeds_{sys.argv[1]}.json", "w") as f:
    json.dump(out, f)
