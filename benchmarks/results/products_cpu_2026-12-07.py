"""Can narrower products lift the layered block sweep on this CPU? The layered net's per-colour products (K = 104 or
256 neighbours, 256 chains) timed in fp32 (precision highest), bfloat16 inputs with fp32 accumulation, and int8 with
int32 accumulation (the CPU has AVX512-BF16 and AVX512-VNNI). Timing only (the int8 couplings are a rounded copy).

    python benchmarks/results/products_cpu_2026-12-07.py > benchmarks/results/products_cpu_2026-12-07.txt
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

rng = np.random.default_rng(0)


def bench(f, *args, repeat=200):
    f(*args).block_until_ready()
    start = time.perf_counter()
    for _ in range(repeat):
        out = f(*args)
    out.block_until_ready()
    return (time.perf_counter() - start) / repeat


f32 = jax.jit(lambda J, s: jnp.dot(J.T, s, precision="highest"))
bf16 = jax.jit(lambda J, s: jnp.dot(J.T, s, preferred_element_type=jnp.float32))
int8 = jax.jit(lambda J, s: jnp.dot(J.T, s, preferred_element_type=jnp.int32))
chains = 256
for k, m in ((104, 256), (256, 104), (256, 256)):
    J = rng.normal(size=(k, m)).astype(np.float32)
    s = np.sign(rng.normal(size=(k, chains))).astype(np.float32)
    ops = 2 * k * m * chains
    t1 = bench(f32, jnp.asarray(J), jnp.asarray(s))
    t2 = bench(bf16, jnp.asarray(J, jnp.bfloat16), jnp.asarray(s, jnp.bfloat16))
    t3 = bench(int8, jnp.asarray(np.clip(J * 30, -127, 127), jnp.int8), jnp.asarray(s, jnp.int8))
    print(f"K={k} M={m} chains={chains}: fp32 {ops / t1 / 1e9:.0f} GFLOP/s, bf16 {ops / t2 / 1e9:.0f}, "
          f"int8 {ops / t3 / 1e9:.0f} GOP/s")
