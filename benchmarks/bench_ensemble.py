"""Ensembles: S networks trained as one compiled computation against S single runs, in one run.

    python benchmarks/bench_ensemble.py                 # the figures recorded in benchmarks/RESULTS.md
    python benchmarks/bench_ensemble.py --quick         # smaller, for a smoke test
    python benchmarks/bench_ensemble.py --sizes 1,4,16,64 --nets small,default   # e.g. on a GPU

(1) Throughput: examples per second of an ensemble of S members (PA sampler, the CLI's defaults: 16 reads,
32 sweeps, batch 32) on the first ``--train-size`` digits, timed over one epoch after a first epoch that
compiles; the single run (S = 1) times S is the sequential baseline, so ratio = ensemble throughput /
single-run throughput. Nets: small = 64-32-40 (K = 4), default = 64-256-80 (K = 8).
(2) End to end, compilation included: ``dragonjax train --seeds 0:S`` against S separate ``dragonjax
train --seed N`` processes (64-32-40, full digits training set), with the persistent compilation cache off
(and once on, for the separate runs, where only the first compiles).
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

NETS = {"small": ([32], 4), "default": ([256], 8)}


def throughput(net: str, sizes, train_size: int) -> list[dict]:
    from dragonjax.experiments.training import build_run
    from dragonjax.train import Ensemble

    hidden, k = NETS[net]
    cfg, ds, _, trainer = build_run({"hidden": hidden, "spins_per_class": k, "train_size": train_size,
                                     "test_size": 64, "sampler": "pa"})
    rows = []
    for size in sizes:
        ensemble = Ensemble(trainer, list(range(size)))
        _, history = ensemble.fit(ds, 2)  # the first epoch compiles; the second is timed
        times = [h["train_seconds"] for h in history]
        per_epoch = times[1]
        rows.append({"net": net, "members": size, "compile_epoch_seconds": times[0], "epoch_seconds": per_epoch,
                     "examples_per_second": size * len(ds.x_train) / per_epoch})
        print(f"{net:>8} S = {size:>3}: first epoch {times[0]:7.2f} s, epoch {per_epoch:7.3f} s, "
              f"{rows[-1]['examples_per_second']:9.1f} examples/s", flush=True)
    single = next((r for r in rows if r["members"] == 1), None)
    for r in rows:
        r["ratio_vs_sequential"] = r["examples_per_second"] / single["examples_per_second"] if single else None
    return rows


def cli_seconds(args: list[str], cache: bool) -> float:
    env = dict(os.environ, DRAGONJAX_COMPILATION_CACHE=os.environ.get("BENCH_CACHE", "/tmp/dragonjax-bench-cache")
               if cache else "off")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dragonjax.cli", *args, "--quiet"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def end_to_end(members: int, epochs: int, out: str) -> dict:
    common = ["train", "--hidden", "32", "--spins-per-class", "4", "--epochs", str(epochs)]
    ensemble = cli_seconds(common + ["--seeds", f"0:{members}", "--out", f"{out}/ensemble"], cache=False)
    separate = sum(cli_seconds(common + ["--seed", str(s), "--out", f"{out}/seed{s}"], cache=False)
                   for s in range(members))
    cache_dir = f"{out}/cache"
    os.environ["BENCH_CACHE"] = cache_dir
    cached = sum(cli_seconds(common + ["--seed", str(s), "--out", f"{out}/cached{s}"], cache=True)
                 for s in range(members))
    row = {"members": members, "epochs": epochs, "ensemble_seconds": ensemble, "separate_seconds": separate,
           "separate_cached_seconds": cached, "speedup": separate / ensemble, "speedup_vs_cached": cached / ensemble}
    print(f"end to end, 64-32-40, {epochs} epochs: --seeds 0:{members} {ensemble:.1f} s; {members} x --seed "
          f"{separate:.1f} s (x{row['speedup']:.1f}); with the compilation cache {cached:.1f} s "
          f"(x{row['speedup_vs_cached']:.1f})", flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default=None, help="ensemble sizes (default 1,4,16,64 small; 1,4,16 default net)")
    parser.add_argument("--nets", default="small,default")
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--end-to-end", type=int, default=8, help="members of the CLI comparison (0: skip)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the CLI comparison")
    parser.add_argument("--out", default="/tmp/bench_ensemble")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    train_size = args.train_size or (64 if args.quick else 256)
    results = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                           "cpus": os.cpu_count(), "devices": [str(d) for d in jax.devices()],
                           "jax": jax.__version__}, "throughput": []}
    for net in args.nets.split(","):
        sizes = ([1, 4] if args.quick else [1, 4, 8, 16, 64] if net == "small" else [1, 4, 16])
        if args.sizes:
            sizes = [int(s) for s in args.sizes.split(",")]
        results["throughput"] += throughput(net, sizes, train_size)
    if args.end_to_end:
        members = 2 if args.quick else args.end_to_end
        results["end_to_end"] = end_to_end(members, 1 if args.quick else args.epochs, args.out)
    with open(os.path.join(args.out, "bench_ensemble.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("ratio = ensemble examples/s over the single run's (S sequential single runs):")
    for r in results["throughput"]:
        print(f"  {r['net']:>8} S = {r['members']:>3}: x{r['ratio_vs_sequential']:.2f}")
    print(f"-> {args.out}/bench_ensemble.json")


if __name__ == "__main__":
    main()
