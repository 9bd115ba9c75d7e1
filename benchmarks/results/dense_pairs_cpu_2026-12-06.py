"""The dense sweep in pairs (dragonjax.kernels.sweeps._dense_sweep, 2026-12-06) against the form before it, one spin
per loop iteration (reproduced below as it was), on a planted Wishart instance N = 128: microseconds per sweep of
100 sweeps in one jit-compiled scan, median of 7 calls, at 32, 64, 256 and 1024 chains; both forms alternate per
chain count, so they see the same machine state.

    python benchmarks/results/dense_pairs_cpu_2026-12-06.py > benchmarks/results/dense_pairs_cpu_2026-12-06.txt
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

import dragonjax as dj
from dragonjax.experiments.results import provenance
from dragonjax.kernels import sweeps as sw


def one_by_one(rule="metropolis", precision="highest"):
    """The dense sweep before the pairs: one row product and one update per loop iteration."""
    def sweep(key, model, spins, beta, extra_field=None):
        n = spins.shape[-1]
        batch = spins.shape[:-1]
        s_t = spins.reshape(-1, n).T
        h_t = model.h[:, None]
        noise_t = sw._noise(rule, key, s_t.shape, spins.dtype)
        beta = jnp.broadcast_to(jnp.asarray(beta, spins.dtype), batch).reshape(-1)
        row_product = sw.row_products(model.J, precision)

        def visit(i, s_t):
            return s_t.at[i].set(sw._update(rule, noise_t[i], s_t[i], h_t[i] + row_product(i, s_t), beta))

        return jax.lax.fori_loop(0, n, visit, s_t).T.reshape(spins.shape)
    return sw.Sweep("dense", rule, (), sweep, precision)


def per_sweep(sweep, model, chains, repeats=7):
    spins = sw.random_spins(jax.random.key(0), (chains, model.num_variables))
    betas = jnp.linspace(0.1, 3.0, 100)
    run = jax.jit(lambda k, s: sw.run_sweeps(sweep, k, model, s, betas))
    run(jax.random.key(1), spins).block_until_ready()
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        run(jax.random.key(r), spins).block_until_ready()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / 100 * 1e6


if __name__ == "__main__":
    model = dj.problems.wishart_planted(128, alpha=1.2, seed=0).model
    pairs, single = sw._dense_sweep("metropolis"), one_by_one()
    record = provenance()
    print(f"commit {record['git_commit']} (dirty: {record['git_dirty']}), cpu {record['cpu'].get('model')}")
    print("chains  one per iteration (us/sweep)  pairs (us/sweep)  ratio")
    for chains in (32, 64, 256, 1024):
        a, b = per_sweep(single, model, chains), per_sweep(pairs, model, chains)
        print(f"{chains:>6}  {a:>28.1f}  {b:>16.1f}  {a / b:5.2f}", flush=True)
