"""The dense worldline cluster move in pairs (dragonjax.kernels.piqmc._spin_by_spin, 2026-12-06) against the form
before it, one spin per loop iteration (reproduced below as it was), on dense SK N = 256 at P = 8 (bench_quantum's
problem): microseconds per cluster sweep of every worldline, 20 sweeps in one jit-compiled loop, median of 7 calls,
at 16, 64 and 256 chains; both forms alternate per chain count, so they see the same machine state.

    python benchmarks/results/cluster_pairs_cpu_2026-12-06.py > benchmarks/results/cluster_pairs_cpu_2026-12-06.txt
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

import dragonjax as dj
from dragonjax.experiments.results import provenance
from dragonjax.kernels import piqmc, sweeps as sw


def one_by_one(key, model, spins, beta_slice, coupling, extra_field=None, precision="highest"):
    """The cluster move before the pairs: one row product and one spin's rings per loop iteration."""
    shape = spins.shape
    p, n = shape[-2:]
    s_t = spins.reshape(-1, p, n).transpose(2, 1, 0)
    h_t = model.h[:, None, None]
    per_chain = shape[:-2] + (1, 1)
    beta_slice, coupling = (jnp.broadcast_to(jnp.asarray(x, spins.dtype), per_chain).reshape(1, -1)
                            for x in (beta_slice, coupling))
    keep_bond, u_flip = piqmc._segment_randomness(key, s_t.shape, coupling, spins.dtype)
    row_product = sw.row_products(model.J, precision)

    def one_spin(i, s_t):
        fields = h_t[i] + row_product(i, s_t.reshape(n, -1)).reshape(p, -1)
        return s_t.at[i].set(piqmc._flip_segments((keep_bond[i], u_flip[i]), s_t[i], fields, beta_slice))

    return jax.lax.fori_loop(0, n, one_spin, s_t).transpose(2, 1, 0).reshape(shape)


def per_sweep(move, model, chains, p=8, sweeps=20, repeats=7):
    spins = sw.random_spins(jax.random.key(0), (chains, p, model.num_variables))

    def run(key, s):
        def body(k, s):
            return move(jax.random.fold_in(key, k), model, s, 0.3, 0.5)
        return jax.lax.fori_loop(0, sweeps, body, s)

    run = jax.jit(run)
    run(jax.random.key(1), spins).block_until_ready()
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        run(jax.random.key(r), spins).block_until_ready()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / sweeps * 1e6


if __name__ == "__main__":
    model = dj.problems.sherrington_kirkpatrick(256, seed=0)
    record = provenance()
    print(f"commit {record['git_commit']} (dirty: {record['git_dirty']}), cpu {record['cpu'].get('model')}")
    print("chains  one per iteration (us/sweep)  pairs (us/sweep)  ratio")
    for chains in (16, 64, 256):
        a, b = per_sweep(one_by_one, model, chains), per_sweep(piqmc._spin_by_spin, model, chains)
        print(f"{chains:>6}  {a:>28.1f}  {b:>16.1f}  {a / b:5.2f}", flush=True)
