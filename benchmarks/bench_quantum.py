"""Path-integral QMC (simulated quantum annealing) vs OpenJij SQA and dwave-samplers' PathIntegralAnnealing.

    python benchmarks/bench_quantum.py            # the suite recorded in benchmarks/RESULTS.md
    python benchmarks/bench_quantum.py --quick
    python benchmarks/bench_quantum.py --repeat 5 --no-race   # the time per update only, five times over

(1) Nanoseconds per spin-slice update (wall time / (reads x sweeps x Trotter slices x N)) of dragonjax's
PathIntegralQMCSampler and OpenJij's SQASampler at the same Trotter number, reads and sweeps
(dragonjax timed after a warm-up call; one dragonjax sweep = local moves on every slice + one worldline
cluster move per spin, so it does more work per sweep than OpenJij's).
(2) Median residual energy (E - E_ref, E_ref the lowest energy any solver found) against wall time for
dwave-samplers' PathIntegralAnnealingSampler, OpenJij's SQASampler (unseeded: seeded, its reads are identical) and
dragonjax over grids of sweeps, each at its default schedule; for each reference point, the wall time dragonjax
needs to reach the same median residual energy, and the ratio.
Problems: dense SK N = 256 and a layered net 64-256-40.
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import numpy as np

import dragonjax as dj
from dragonjax.experiments.results import provenance
from dragonjax.samplers import PathIntegralQMCSampler, SimulatedAnnealingSampler


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def ours(bqm, reads, sweeps, trotter, seed=0):
    sampler = PathIntegralQMCSampler()
    kw = dict(num_reads=reads, num_sweeps=sweeps, trotter_slices=trotter)
    sampler.sample(bqm, seed=seed + 1, **kw)
    return _timed(lambda: sampler.sample(bqm, seed=seed, **kw))


def openjij_sqa(bqm, reads, sweeps, trotter, seed=None):
    """OpenJij's SQA, unseeded by default: given a seed it returns identical reads (one energy), whose median is no
    median of independent reads (the time per update, the only use of a seed here, does not depend on it)."""
    import openjij as oj

    return _timed(lambda: oj.SQASampler().sample(bqm, num_reads=reads, num_sweeps=sweeps, trotter=trotter, seed=seed))


def dwave_pia(bqm, reads, sweeps, seed=0):
    from dwave.samplers import PathIntegralAnnealingSampler

    return _timed(lambda: PathIntegralAnnealingSampler().sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=seed))


def spin_slice_rates(problems, reads, sweeps, trotter):
    rows = []
    for name, model in problems.items():
        bqm = model.to_bqm()
        updates = reads * sweeps * trotter * model.num_variables
        ss, t = ours(bqm, reads, sweeps, trotter)
        row = {"problem": name, "trotter": trotter, "reads": reads, "sweeps": sweeps,
               "dragonjax_ns": 1e9 * t / updates, "dragonjax_best": float(ss.first.energy)}
        try:
            other, t_oj = openjij_sqa(bqm, reads, sweeps, trotter)
            row["openjij_ns"] = 1e9 * t_oj / updates
            row["openjij_best"] = float(other.first.energy)
            row["time_ratio_dragonjax_over_openjij"] = row["dragonjax_ns"] / row["openjij_ns"]
        except ImportError:
            row["openjij_ns"] = None
        rows.append(row)
    return rows


def residual_energy_race(name, model, reads, our_grid, reference_grid, trotter):
    """Median residual energy against wall time for dragonjax's PIQMC over ``our_grid`` sweeps and each reference
    (dwave-samplers' PathIntegralAnnealingSampler, OpenJij's SQASampler at the same P, both at their default
    schedules) over ``reference_grid``; for each reference point, the fastest dragonjax point whose median residual
    energy is as low or lower, and the ratio of the wall times."""
    bqm = model.to_bqm()
    references = {"dwave": lambda sweeps: dwave_pia(bqm, reads, sweeps),
                  "openjij": lambda sweeps: openjij_sqa(bqm, reads, sweeps, trotter)}
    runs = {"dragonjax": []}
    for sweeps in our_grid:
        ss, t = ours(bqm, reads, sweeps, trotter)
        runs["dragonjax"].append((sweeps, t, ss.record.energy))
    for label, run in references.items():
        try:
            runs[label] = [(sweeps, *_energies_timed(run, sweeps)) for sweeps in reference_grid]
        except ImportError:
            continue
    reference = SimulatedAnnealingSampler().sample(bqm, num_reads=64, num_sweeps=5000, seed=0).first.energy
    e_ref = min([reference] + [float(e.min()) for v in runs.values() for _, _, e in v])
    table = {k: [{"sweeps": s, "wall_s": t, "median_residual": float(np.median(e) - e_ref)} for s, t, e in v]
             for k, v in runs.items()}
    comparisons = {}
    for label in (k for k in table if k != "dragonjax"):
        comparisons[label] = []
        for point in table[label]:
            good = [p for p in table["dragonjax"] if p["median_residual"] <= point["median_residual"] + 1e-9]
            row = {"sweeps": point["sweeps"], "wall_s": point["wall_s"], "median_residual": point["median_residual"],
                   "dragonjax_wall_s": None, "dragonjax_sweeps": None, "speedup": None}
            if good:
                fastest = min(good, key=lambda p: p["wall_s"])
                row.update(dragonjax_wall_s=fastest["wall_s"], dragonjax_sweeps=fastest["sweeps"],
                           speedup=point["wall_s"] / fastest["wall_s"])
            comparisons[label].append(row)
    return {"problem": name, "reads": reads, "trotter": trotter, "e_ref": e_ref, "runs": table,
            "comparisons": comparisons}


def _energies_timed(run, sweeps):
    ss, t = run(sweeps)
    return t, ss.record.energy


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--repeat", type=int, default=1, help="measure the time per spin-slice update this many "
                        "times, alternating the solvers (this shared machine's speed drifts; default 1)")
    parser.add_argument("--no-race", action="store_true", help="skip the residual-energy race (minutes: "
                        "dwave-samplers' PathIntegralAnnealingSampler at 1000 sweeps takes ~2 min per problem)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat must be a positive integer, got {args.repeat}")
    problems = {"dense SK N=256": dj.problems.sherrington_kirkpatrick(256, seed=0),
                "layered 64-256-40": dj.problems.layered([64, 256, 40], seed=0)}
    reads = 16 if args.quick else 64
    results = {"machine": {"platform": platform.platform(), "backend": jax.default_backend()},
               "provenance": provenance()}
    results["spin_slice"] = []
    for rep in range(args.repeat):
        results["spin_slice"] += [dict(r, repeat=rep) for r in spin_slice_rates(problems, reads, 20 if args.quick
                                                                                  else 100, 8)]
    print(f"\nns per spin-slice update, P = 8, {reads} reads ({results['machine']['backend']}):")
    for r in results["spin_slice"]:
        oj = r.get("openjij_ns")
        print(f"  {r['problem']:<22} dragonjax {r['dragonjax_ns']:8.2f}   openjij {oj if oj is None else round(oj, 2)}"
              f"   dragonjax/openjij = {r.get('time_ratio_dragonjax_over_openjij', float('nan')):.2f}")
    if args.repeat > 1:
        for name in problems:
            ratios = [r["time_ratio_dragonjax_over_openjij"] for r in results["spin_slice"]
                      if r["problem"] == name and r.get("openjij_ns")]
            if ratios:
                print(f"  {name:<22} dragonjax/openjij over {len(ratios)} repeats: median {np.median(ratios):.2f}, "
                      f"range {min(ratios):.2f}-{max(ratios):.2f}")
    if args.no_race:
        _write(results, args.json)
        return
    our_grid = (5, 20, 50) if args.quick else (5, 10, 20, 50, 100, 200, 500)
    reference_grid = (10, 100) if args.quick else (10, 100, 1000)
    results["race"] = [residual_energy_race(n, m, reads, our_grid, reference_grid, 8) for n, m in problems.items()]
    for race in results["race"]:
        print(f"\nmedian residual energy vs wall time, {race['problem']} (E_ref = {race['e_ref']:.4f}; "
              "reference time / dragonjax time to the same median):")
        for label, rows in race["comparisons"].items():
            for c in rows:
                head = (f"  {label:<8}{c['sweeps']:>5} sweeps: residual {c['median_residual']:.4f} in "
                        f"{c['wall_s']:.3f} s")
                print(head + ("; dragonjax never reached it" if c["speedup"] is None else
                              f"; dragonjax {c['dragonjax_sweeps']} sweeps in {c['dragonjax_wall_s']:.3f} s -> "
                              f"{c['speedup']:.1f}x"))
    _write(results, args.json)


def _write(results, path):
    if path:
        with open(path, "w") as f:
            json.dump(results, f, indent=2, default=float)


if __name__ == "__main__":
    main()
