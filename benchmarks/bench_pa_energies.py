"""Population annealing with the energies tracked through the sweeps against recomputed at every step, in one run.

    python benchmarks/bench_pa_energies.py --json benchmarks/results/pa_energies_cpu.json
    dragonjax bench --suite pa-energies                      # the same through the command line

Population annealing reweights its population at every step by exp(-(beta' - beta) E), so it needs every
replica's energy after every step. Recomputed, that is a product with the whole coupling matrix (N^2 per replica,
dense even when the problem is a layered network); tracked (``Sweep.track``, the colour-ordered block sweep), it is
the sum of the accepted updates' (s' - s) f over the fields the sweep computed anyway. Timed here:

1. one population-annealing phase of annealer training (``dragonjax.train.phases._pa``: batch 32, 16 reads, 32
   sweeps, a per-example field), on the free spins of the default net (64-256-80: 256 + 80 spins) and the deep
   net (64-64-64-64-40: 232 spins), tracked against the same sweep with ``track`` removed;
2. one epoch of annealer training of the default net on the digits (PA, 16 reads, 32 sweeps), tracked and not
   (each in its own process; the second epoch of two is timed, its evaluation included, compilation not);
3. the ``PopulationAnnealingSampler`` call on a dense problem (Wishart planted N = 128, 256 replicas, 30 sweeps),
   whose dense sweep has no ``track`` (it recomputes): the fixed cost of a call and the cost per step.
Prints milliseconds and the ratios recomputed / tracked.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np


def best_of(fn, repeats: int) -> float:
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def network_model(sizes, seed=0):
    from dragonjax.ising import IsingModel

    rng = np.random.default_rng(seed)
    n, offsets = sum(sizes), np.cumsum([0, *sizes])
    J = np.zeros((n, n))
    for layer in range(len(sizes) - 1):
        a, b, c = offsets[layer], offsets[layer + 1], offsets[layer + 2]
        W = rng.normal(size=(sizes[layer], sizes[layer + 1])) / np.sqrt(sizes[layer])
        J[a:b, b:c], J[b:c, a:b] = W, W.T
    return IsingModel(J, np.zeros(n))


def phases(repeats: int) -> list[dict]:
    from dragonjax.kernels import beta_schedule, cached_sweep
    from dragonjax.kernels.sweeps import Sweep
    from dragonjax.train.phases import _pa

    rows = []
    for name, sizes in (("default net 256+80 spins", [256, 80]), ("deep net 64+64+64+40 spins", [64, 64, 64, 40])):
        model = network_model(sizes)
        tracked = cached_sweep(model)
        plain = Sweep(tracked.method, tracked.rule, tracked.blocks, tracked.apply, tracked.precision, tracked.run,
                      tracked.sweeps_per_draw, None)
        fields = jnp.asarray(np.random.default_rng(1).normal(size=(32, model.num_variables)), jnp.float32)
        offsets, betas = jnp.zeros(32), jnp.asarray(beta_schedule((0.1, 10.0), 32))
        ms = {label: 1e3 * best_of(lambda s=sweep: _pa(jax.random.key(0), model, fields, offsets, betas, s, 16),
                                   repeats)
              for label, sweep in (("tracked", tracked), ("recomputed", plain))}
        rows.append({"problem": name, **{f"{k}_ms": v for k, v in ms.items()},
                     "ratio_recomputed_over_tracked": ms["recomputed"] / ms["tracked"]})
        print(f"PA phase, {name:<28} tracked {ms['tracked']:7.2f} ms   recomputed {ms['recomputed']:7.2f} ms   "
              f"ratio {ms['recomputed'] / ms['tracked']:.2f}", flush=True)
    return rows


def disable_tracking() -> None:
    """From now on every sweep this process builds has no ``track``: population annealing recomputes its energies."""
    import dragonjax.kernels.sweeps as sweeps

    make = sweeps.make_sweep

    def untracked(*args, **kwargs):
        sweep = make(*args, **kwargs)
        sweep.track = None
        return sweep

    sweeps.make_sweep = untracked


EPOCH = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
if sys.argv[1] == "0":
    from bench_pa_energies import disable_tracking
    disable_tracking()
from dragonjax import data
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer
ds = data.digits().centered()
trainer = AnnealerTrainer(IsingNetwork([64, 256], 10, 8), "pa", num_reads=16, sampler_options={"num_sweeps": 32},
                          seed=0)
stamps = [time.perf_counter()]
state, history = trainer.fit(ds, 2, on_epoch=lambda state, record: stamps.append(time.perf_counter()))
print(json.dumps({"seconds": stamps[2] - stamps[1], "test_accuracy": float(history[-1]["test_accuracy"])}))
"""


def epochs() -> dict:
    out = {}
    for label, flag in (("tracked", "1"), ("recomputed", "0")):
        run = subprocess.run([sys.executable, "-c", EPOCH, flag, os.path.dirname(os.path.abspath(__file__))],
                             capture_output=True, text=True, check=True)
        out[label] = json.loads(run.stdout.strip().splitlines()[-1])
    ratio = out["recomputed"]["seconds"] / out["tracked"]["seconds"]
    print(f"training epoch, default net:  tracked {out['tracked']['seconds']:.2f} s   recomputed "
          f"{out['recomputed']['seconds']:.2f} s   ratio {ratio:.2f}", flush=True)
    return {**out, "ratio_recomputed_over_tracked": ratio}


def dense_calls(repeats: int) -> dict:
    from dragonjax.problems import wishart_planted
    from dragonjax.samplers import PopulationAnnealingSampler

    bqm = wishart_planted(128, 1.2, seed=0).model.to_bqm()
    sampler = PopulationAnnealingSampler()
    ms = {}
    for sweeps in (1, 30):
        def call(s=sweeps):
            return sampler.sample(bqm, num_reads=256, num_sweeps=s, beta_range="local-field", seed=1,
                                  min_effective_population=0)

        ms[sweeps] = 1e3 * best_of(call, repeats)
    per_step = (ms[30] - ms[1]) / 29
    print(f"PA sampler call, Wishart N=128, 256 replicas: 1 sweep {ms[1]:.2f} ms, 30 sweeps {ms[30]:.2f} ms "
          f"({per_step:.3f} ms per step)", flush=True)
    return {"call_1_sweep_ms": ms[1], "call_30_sweeps_ms": ms[30], "per_step_ms": per_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--no-epochs", action="store_true", help="skip the training epochs (two processes)")
    parser.add_argument("--quick", action="store_true", help="3 repeats, no training epochs (a smoke test)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.no_epochs = 3, True
    results = {"machine": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
               "jax": jax.__version__, "backend": jax.default_backend(), "phases": phases(args.repeats),
               "dense_sampler_calls": dense_calls(args.repeats)}
    if not args.no_epochs:
        results["training_epoch"] = epochs()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
        print(f"-> {args.json}")


if __name__ == "__main__":
    main()
