"""How often tracking the energies changes a PA population: training's PA phase (``dragonjax.train.phases._pa``,
batch 32, 16 reads, 32 sweeps, geometric beta 0.1 -> 10, a random per-example field) on the default net's free spins
(256 + 80, random couplings of scale 1/sqrt(fan-in)), 40 batches, tracked against recomputed with the same keys.

    python benchmarks/results/pa_energies_population_diff_2026-12-06.py > pa_energies_population_diff_2026-12-06.txt
"""
import jax
import jax.numpy as jnp
import numpy as np

from dragonjax.ising import IsingModel
from dragonjax.kernels import beta_schedule, cached_sweep
from dragonjax.kernels.sweeps import Sweep
from dragonjax.train.phases import _pa

rng = np.random.default_rng(0)
n = 256 + 80
J = np.zeros((n, n))
W = rng.normal(size=(256, 80)) / 16
J[:256, 256:], J[256:, :256] = W, W.T
model = IsingModel(J, np.zeros(n))
tracked = cached_sweep(model)
plain = Sweep(tracked.method, tracked.rule, tracked.blocks, tracked.apply, tracked.precision, tracked.run,
              tracked.sweeps_per_draw, None)
betas = jnp.asarray(beta_schedule((0.1, 10.0), 32))
fields = jnp.asarray(rng.normal(size=(32, n)), jnp.float32)
offsets = jnp.zeros(32)
differ = lowest_differ = 0
for batch in range(40):
    a = _pa(jax.random.key(100 + batch), model, fields, offsets, betas, tracked, 16)
    b = _pa(jax.random.key(100 + batch), model, fields, offsets, betas, plain, 16)
    populations = np.asarray((a[0] != b[0]).any(axis=(1, 2)))
    lowest = np.asarray(a[1].min(1) != b[1].min(1))
    differ += int(populations.sum())
    lowest_differ += int(lowest.sum())
    if populations.any():
        print(f"batch {batch}: examples {np.flatnonzero(populations).tolist()} differ; lowest energy tracked - "
              f"recomputed {np.asarray(a[1].min(1) - b[1].min(1))[populations].round(4).tolist()}")
print(f"examples whose final population differs: {differ} of {40 * 32}; whose lowest energy differs: "
      f"{lowest_differ} of {40 * 32}")
