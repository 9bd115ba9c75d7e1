"""QPU calls packed per batch: calls, QPU access time and chain breaks of one training epoch, one call per
example against packed calls, on an offline MockDWaveSampler of an Advantage-sized Pegasus P16 graph.

    python benchmarks/bench_qpu_packing.py                  # the figures in benchmarks/RESULTS.md
    python benchmarks/bench_qpu_packing.py --quick          # 128 training examples

The run is the README's QPU command (``dragonjax train --sampler dwave --hidden 64 --num-reads 16``: digits,
64-64-40, batch 32) for one epoch on ``mock-dwave``, with ``--qpu-parallel`` 1 (today's path: a call per example
and phase) and the packed settings given. The mock answers by steepest descent and reports a constant ~8.6 ms of
"QPU access time" per call, so the access times it reports count calls, nothing more; the estimate column is
dwave-cloud-client's published timing model with an Advantage's timing data (``estimate_access_time_us``:
programming ~15 ms per call + per read anneal 20 us, readout (grows with the qubits programmed), delay), summed
over the epoch's calls -- an estimate of what the real QPU would charge, stated as one.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time


def epoch(parallel: int, train_size: int | None) -> dict:
    from dragonjax.experiments.training import build_run

    config = {"sampler": "mock-dwave", "hidden": [64], "num_reads": 16, "qpu_parallel": parallel, "epochs": 1}
    if train_size:
        config.update(train_size=train_size, test_size=64)
    cfg, ds, _, trainer = build_run(config)
    start = time.perf_counter()
    _, history = trainer.fit(ds, epochs=1)
    qpu = history[-1]["qpu"]
    sampler = trainer.sampler if hasattr(trainer, "sampler") else None
    searches = getattr(sampler, "embedding_searches", None)
    return {"parallel": parallel, "examples": len(ds.x_train), "batch_size": cfg.batch_size,
            "problems": qpu["problems"], "calls": qpu["calls"], "mock_access_time_s": qpu["access_time_s"],
            "estimated_access_time_s": qpu["estimated_access_time_s"],
            "chain_break_fraction": qpu["chain_break_fraction"], "physical_qubits_last_call": qpu["physical_qubits"],
            "embedding_searches": searches, "wall_s": time.perf_counter() - start,
            "test_accuracy": history[-1].get("test_accuracy")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="128 training examples instead of the full set")
    parser.add_argument("--parallel", default="1,4,32", help="comma-separated problems per call")
    parser.add_argument("--out", default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    rows = [epoch(int(p), 128 if args.quick else None) for p in args.parallel.split(",")]
    base = rows[0]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; MockDWaveSampler Pegasus P16")
    print(f"{'parallel':>8} {'problems':>8} {'calls':>6} {'mock access s':>13} {'est. access s':>13} "
          f"{'ratio':>6} {'chain breaks':>12} {'qubits/call':>11} {'wall s':>7}")
    for r in rows:
        ratio = base["estimated_access_time_s"] / r["estimated_access_time_s"]
        print(f"{r['parallel']:>8} {r['problems']:>8} {r['calls']:>6} {r['mock_access_time_s']:>13.2f} "
              f"{r['estimated_access_time_s']:>13.2f} {ratio:>6.1f} "
              f"{r['chain_break_fraction']:>12.4f} {r['physical_qubits_last_call']:>11} {r['wall_s']:>7.1f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"rows": rows, "machine": platform.platform(), "cpus": os.cpu_count()}, f, indent=1)


if __name__ == "__main__":
    main()
