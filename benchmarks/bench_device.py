"""dragonjax throughput on whatever JAX backend is present (run it on a GPU), no comparators needed.

    python benchmarks/bench_device.py [--reads 4096] [--json out.json]

Spin updates per nanosecond for simulated annealing (dense SK N = 256, bipartite 256x256, layered
64-256-40, layered 1024x1024), population annealing on the layered 1024x1024 problem, and spin-slice
updates per nanosecond for path-integral QMC (P = 16) on dense SK N = 256 and layered 64-256-40.
Every figure is timed after a warm-up call with identical shapes (compilation excluded).
"""
from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

import dragonjax as dj
from dragonjax import kernels
from dragonjax.kernels import piqmc


def _time(fn, *args):
    jax.block_until_ready(fn(*args))
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def sa_rate(model, reads, sweeps):
    sweep = kernels.make_sweep(model)
    betas = jnp.asarray(kernels.beta_schedule(kernels.default_beta_range(model), sweeps), model.dtype)
    spins = kernels.random_spins(jax.random.key(1), (reads, model.num_variables))
    run = jax.jit(lambda k, m, s: kernels.simulated_annealing(k, m, sweep, s, betas).energies)
    t = _time(run, jax.random.key(0), model, spins)
    return reads * sweeps * model.num_variables / (t * 1e9), sweep.method, t


def pa_rate(model, reads, steps):
    sweep = kernels.make_sweep(model)
    betas = jnp.asarray(np.linspace(0.0, 3.0, steps + 1)[1:], model.dtype)
    spins = kernels.random_spins(jax.random.key(1), (reads, model.num_variables))
    run = jax.jit(lambda k, m, s: kernels.population_annealing(k, m, sweep, s, betas).log_z)
    t = _time(run, jax.random.key(0), model, spins)
    return reads * steps * model.num_variables / (t * 1e9), t


def piqmc_rate(model, reads, sweeps, p):
    sweep = kernels.make_sweep(model)
    spins = kernels.random_spins(jax.random.key(1), (reads, p, model.num_variables))
    gammas = jnp.linspace(3.0, 0.01, sweeps)
    run = jax.jit(lambda k, m, s: piqmc.quantum_annealing(k, m, sweep, s, 10.0, gammas, jnp.ones(sweeps)))
    t = _time(run, jax.random.key(0), model, spins)
    return reads * sweeps * p * model.num_variables / (t * 1e9), t


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=4096)
    parser.add_argument("--sweeps", type=int, default=1000)
    parser.add_argument("--json")
    args = parser.parse_args()
    device = str(jax.devices()[0])
    print(f"backend {jax.default_backend()}, device {device}, reads {args.reads}, sweeps {args.sweeps}")
    out = {"device": device, "backend": jax.default_backend(), "sa": [], "pa": [], "piqmc": []}
    problems = {"dense SK N=256": dj.problems.sherrington_kirkpatrick(256, seed=0),
                "bipartite 256x256": dj.problems.bipartite(256, 256, seed=0),
                "layered 64-256-40": dj.problems.layered([64, 256, 40], seed=0),
                "layered 1024x1024": dj.problems.layered([1024, 1024], seed=0)}
    for name, model in problems.items():
        rate, method, t = sa_rate(model, args.reads, args.sweeps)
        out["sa"].append({"problem": name, "kernel": method, "spin_updates_per_ns": rate, "seconds": t})
        print(f"SA    {name:<20} {method:>6}  {rate:9.2f} spin updates / ns  ({t:.3f} s)")
    big = problems["layered 1024x1024"]
    rate, t = pa_rate(big, args.reads, args.sweeps)
    out["pa"].append({"problem": "layered 1024x1024", "spin_updates_per_ns": rate, "seconds": t})
    print(f"PA    layered 1024x1024       block  {rate:9.2f} spin updates / ns  ({t:.3f} s)")
    for name in ("dense SK N=256", "layered 64-256-40"):
        reads = max(args.reads // 16, 1)
        rate, t = piqmc_rate(problems[name], reads, max(args.sweeps // 10, 1), 16)
        out["piqmc"].append({"problem": name, "trotter": 16, "reads": reads, "spin_slice_updates_per_ns": rate,
                             "seconds": t})
        print(f"PIQMC {name:<20} P=16    {rate:9.2f} spin-slice updates / ns  ({t:.3f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
