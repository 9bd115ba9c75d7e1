"""The dense worldline cluster move (dragonjax.kernels.piqmc._spin_by_spin) in four forms, on dense SK N = 256 at
P = 8 (bench_quantum's problem): microseconds per cluster sweep of every worldline, 20 sweeps in one jit-compiled
loop, median of 7 calls, at 16, 64 and 256 chains; the forms alternate per chain count, so they see the same machine
state. The forms (2026-12-06):

- one spin per loop iteration, the segments flipped by masks (the form before this session);
- spins in pairs (one product of two rows of J, the second spin's fields corrected by the first's change), masks;
- one spin per iteration, the segments flipped by label (``_flip_segments(..., by_label=True)``): the kept form,
  ``piqmc._spin_by_spin``;
- pairs, by label.

    python benchmarks/results/cluster_pairs_cpu_2026-12-06.py > benchmarks/results/cluster_pairs_cpu_2026-12-06.txt
"""
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

import dragonjax as dj
from dragonjax.experiments.results import provenance
from dragonjax.kernels import piqmc, sweeps as sw


def cluster_move(key, model, spins, beta_slice, coupling, pairs=False, by_label=False):
    """The dense cluster move of every spin, one per loop iteration or in pairs, with either segment-flip form."""
    shape = spins.shape
    p, n = shape[-2:]
    s_t = spins.reshape(-1, p, n).transpose(2, 1, 0)
    h_t = model.h[:, None, None]
    per_chain = shape[:-2] + (1, 1)
    beta_slice, coupling = (jnp.broadcast_to(jnp.asarray(x, spins.dtype), per_chain).reshape(1, -1)
                            for x in (beta_slice, coupling))
    keep_bond, u_flip = piqmc._segment_randomness(key, s_t.shape, coupling, spins.dtype)
    row_product = sw.row_products(model.J)
    pair_coupling = sw.pair_couplings(model.J)

    def move(i, rings, fields):
        return piqmc._flip_segments((keep_bond[i], u_flip[i]), rings, fields, beta_slice, by_label=by_label)

    def one_spin(i, s_t):
        fields = h_t[i] + row_product(i, s_t.reshape(n, -1)).reshape(p, -1)
        return s_t.at[i].set(move(i, s_t[i], fields))

    def visit_pair(k, s_t):
        i = 2 * k
        old = jax.lax.dynamic_slice_in_dim(s_t, i, 2, 0)
        fields = jax.lax.dynamic_slice_in_dim(h_t, i, 2, 0) + row_product(i, s_t.reshape(n, -1), 2).reshape(2, p, -1)
        first = move(i, old[0], fields[0])
        second = move(i + 1, old[1], fields[1] + pair_coupling[i] * (first - old[0]))
        return jax.lax.dynamic_update_slice_in_dim(s_t, jnp.stack([first, second]), i, 0)

    s_t = jax.lax.fori_loop(0, n // 2, visit_pair, s_t) if pairs else jax.lax.fori_loop(0, n, one_spin, s_t)
    return s_t.transpose(2, 1, 0).reshape(shape)


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
    forms = {"one, masks": {}, "pairs, masks": {"pairs": True}, "one, by label (kept)": {"by_label": True},
             "pairs, by label": {"pairs": True, "by_label": True}}
    record = provenance()
    print(f"commit {record['git_commit']} (dirty: {record['git_dirty']}), cpu {record['cpu'].get('model')}")
    print("us per cluster sweep; chains: " + ", ".join(forms))
    for chains in (16, 64, 256):
        times = [per_sweep(functools.partial(cluster_move, **kw), model, chains) for kw in forms.values()]
        print(f"{chains:>6}  " + "  ".join(f"{t:8.1f}" for t in times), flush=True)
