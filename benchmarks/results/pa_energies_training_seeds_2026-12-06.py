"""Default net, 3 epochs, PA: test accuracy with the energies tracked (argument 1) or recomputed (0), seeds 0-7.

    python benchmarks/results/pa_energies_training_seeds_2026-12-06.py 1   # writes seeds_1.json
    python benchmarks/results/pa_energies_training_seeds_2026-12-06.py 0   # writes seeds_0.json
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
if sys.argv[1] == "0":
    from bench_pa_energies import disable_tracking

    disable_tracking()

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
