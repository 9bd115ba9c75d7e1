"""Would another JAX PRNG make the block sweep's random thresholds cheaper on this CPU? ns per number for 32-bit
random words and for log(uniform) (the Metropolis threshold), in the shape the layered sweep draws (8 sweeps x 360
spins x 256 chains), with Threefry (the package's) against XLA's RngBitGenerator ("rbg", "unsafe_rbg"): the least and
the median of 7 rounds of 20 draws. Timing only.

    python benchmarks/results/rng_cpu_2026-12-07.py > benchmarks/results/rng_cpu_2026-12-07.txt
"""
import time

import jax
import jax.numpy as jnp

shape = (8, 360, 256)
count = 8 * 360 * 256
for impl in ("threefry2x32", "rbg", "unsafe_rbg"):
    key = jax.random.key(0, impl=impl)
    draws = {"log uniform": jax.jit(lambda k: jnp.log(jax.random.uniform(k, shape))),
             "32-bit words": jax.jit(lambda k: jax.random.bits(k, shape, jnp.uint32))}
    for name, draw in draws.items():
        draw(jax.random.fold_in(key, 0)).block_until_ready()  # compiles the draw and fold_in before the clock
        rounds = []
        for r in range(7):  # this shared CPU's timings of one draw jump by up to 5x between calls: min and median
            start = time.perf_counter()
            for i in range(20):
                draw(jax.random.fold_in(key, 20 * r + i)).block_until_ready()
            rounds.append((time.perf_counter() - start) / 20 / count * 1e9)
        print(f"{impl:13s} {name:13s} min {min(rounds):5.2f}, median {sorted(rounds)[3]:5.2f} ns per number")
