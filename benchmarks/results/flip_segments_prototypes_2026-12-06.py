"""Prototypes of the PIQMC worldline cluster move's segment flips (piqmc._flip_segments), timed and not kept
(benchmarks/RESULTS.md, quantum kernel, 2026-12-06): 256 spins' rings (P = 8, chains) flipped in a jit-compiled loop,
each from its fields, as in the dense cluster move. Run from /tmp on 2026-12-06; archived as run.

    python benchmarks/results/flip_segments_prototypes_2026-12-06.py
"""
import time

import jax
import jax.numpy as jnp
import numpy as np
from dragonjax.kernels import piqmc

def flip_scan(randomness, spins, fields, beta_slice):
    """Segmented scans along imaginary time: O(P) passes instead of O(P^2)."""
    p = spins.shape[-2]
    keep_bond, u_flip = randomness
    active = (spins == jnp.roll(spins, -1, axis=-2)) & keep_bond  # bond k joins k, k+1
    x = spins * fields
    a = [active[..., k, :] for k in range(p)]
    xs = [x[..., k, :] for k in range(p)]
    us = [u_flip[..., k, :] for k in range(p)]
    # forward: running sum within the segment, the segment's first uniform
    run, first_u = [xs[0]], [us[0]]
    for k in range(1, p):
        run.append(jnp.where(a[k - 1], run[-1] + xs[k], xs[k]))
        first_u.append(jnp.where(a[k - 1], first_u[-1], us[k]))
    # backward: the segment's total from its end
    tot = [None] * p
    tot[p - 1] = run[p - 1]
    for k in range(p - 2, -1, -1):
        tot[k] = jnp.where(a[k], tot[k + 1], run[k])
    # the periodic bond joins the last segment to the first (when they differ: some inner bond broken)
    inner_broken = ~a[0]
    for k in range(1, p - 1):
        inner_broken = inner_broken | ~a[k]
    wrap = a[p - 1] & inner_broken
    joined = tot[0] + tot[p - 1]
    # members of the first segment: no broken bond before k; of the last: none from k on (inner bonds)
    in_first, in_last = [None] * p, [None] * p
    in_first[0] = jnp.ones_like(a[0])
    for k in range(1, p):
        in_first[k] = in_first[k - 1] & a[k - 1]
    in_last[p - 1] = jnp.ones_like(a[0])
    for k in range(p - 2, -1, -1):
        in_last[k] = in_last[k + 1] & a[k]
    out = []
    for k in range(p):
        on_wrap = wrap & (in_first[k] | in_last[k])
        total = jnp.where(on_wrap, joined, tot[k])
        u = jnp.where(on_wrap, us[0], first_u[k])
        flip = jnp.log(u) < 2.0 * beta_slice * total
        out.append(jnp.where(flip, -spins[..., k, :], spins[..., k, :]))
    return jnp.stack(out, axis=-2)

def bench(f, chains, n=256, p=8, reps=7):
    key = jax.random.key(0)
    s = jnp.where(jax.random.uniform(key, (n, p, chains)) < 0.5, -1.0, 1.0)
    fields = jax.random.normal(jax.random.key(1), (n, p, chains))
    kb = jax.random.uniform(jax.random.key(2), (n, p, chains)) < 0.6
    u = jax.random.uniform(jax.random.key(3), (n, p, chains))
    def run(s):
        def body(i, s):
            return s.at[i].set(f((kb[i], u[i]), s[i], fields[i] + 0.01 * s[(i + 1) % n], 0.3))
        return jax.lax.fori_loop(0, n, body, s)
    run = jax.jit(run)
    run(s).block_until_ready()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run(s).block_until_ready()
        t.append(time.perf_counter() - t0)
    return np.median(t) * 1e6


def flip_doubling(randomness, spins, fields, beta_slice):
    p = spins.shape[-2]
    keep_bond, u_flip = randomness
    back = (spins == jnp.roll(spins, 1, axis=-2)) & jnp.roll(keep_bond, 1, axis=-2)  # bond (k-1, k) live
    fwd = jnp.roll(back, -1, axis=-2)  # bond (k, k+1) live
    x = spins * fields
    left, right, start = x, x, u_flip  # sums to the left/right within the segment, the first member's uniform
    reach_l, reach_r = back, fwd  # k joined to k -/+ d
    d = 1
    while d < p:
        left = left + jnp.where(reach_l, jnp.roll(left, d, axis=-2), 0.0)
        start = jnp.where(reach_l, jnp.roll(start, d, axis=-2), start)
        right = right + jnp.where(reach_r, jnp.roll(right, -d, axis=-2), 0.0)
        reach_l = reach_l & jnp.roll(reach_l, d, axis=-2)
        reach_r = reach_r & jnp.roll(reach_r, -d, axis=-2)
        d *= 2
    whole = jnp.all(back, axis=-2, keepdims=True)  # one segment around the whole ring
    total = jnp.where(whole, left, left + right - x)
    u = jnp.where(whole, u_flip[..., :1, :], start)
    flip = jnp.log(u) < 2.0 * beta_slice * total
    return jnp.where(flip, -spins, spins)

def flip_barrier(randomness, spins, fields, beta_slice, variant=0):
    p = spins.shape[-2]
    keep_bond, u_flip = randomness
    active = (spins == jnp.roll(spins, -1, axis=-2)) & keep_bond
    broken = (~active).astype(jnp.int32)
    segment = jnp.concatenate([jnp.zeros_like(broken[..., :1, :]), jnp.cumsum(broken[..., :-1, :], axis=-2)], axis=-2)
    segment = jnp.where(active[..., -1:, :] & (segment == segment[..., -1:, :]), 0, segment)
    x = spins * fields
    segment, x = jax.lax.optimization_barrier((segment, x))
    in_segment = [segment == j for j in range(p)]
    segment_field_energy = jnp.stack([jnp.sum(jnp.where(mask, x, 0.0), axis=-2) for mask in in_segment], axis=-2)
    flip_segment = jnp.log(u_flip) < 2.0 * beta_slice * segment_field_energy
    if variant:
        flip_segment = jax.lax.optimization_barrier(flip_segment)
    flip = jnp.any(jnp.stack([mask & flip_segment[..., j:j + 1, :] for j, mask in enumerate(in_segment)]), axis=0)
    return jnp.where(flip, -spins, spins)

def flip_onehot(randomness, spins, fields, beta_slice):
    """The label masks as one (labels, slices, chains) array."""
    p = spins.shape[-2]
    keep_bond, u_flip = randomness
    active = (spins == jnp.roll(spins, -1, axis=-2)) & keep_bond
    broken = (~active).astype(jnp.int32)
    segment = jnp.concatenate([jnp.zeros_like(broken[..., :1, :]), jnp.cumsum(broken[..., :-1, :], axis=-2)], axis=-2)
    segment = jnp.where(active[..., -1:, :] & (segment == segment[..., -1:, :]), 0, segment)
    x = spins * fields
    onehot = segment[..., None, :, :] == jnp.arange(p)[:, None, None]  # (..., labels, slices, m)
    energy = jnp.sum(jnp.where(onehot, x[..., None, :, :], 0.0), axis=-2)  # (..., labels, m)
    flip_segment = jnp.log(u_flip) < 2.0 * beta_slice * energy
    flip = jnp.any(onehot & flip_segment[..., :, None, :], axis=-3)
    return jnp.where(flip, -spins, spins)


def trivial(randomness, spins, fields, beta_slice):
    """The loop's floor: one elementwise update per spin."""
    return jnp.where(fields > 0, -spins, spins)


if __name__ == "__main__":
    print("microseconds per loop of 256 spins' segment flips, P = 8, median of 7 (chains 16, 64, 256)")
    for f in (piqmc._flip_segments, flip_scan, flip_onehot, flip_doubling, flip_barrier, trivial):
        print(f"{f.__name__:>16}", [round(bench(f, c)) for c in (16, 64, 256)], flush=True)
