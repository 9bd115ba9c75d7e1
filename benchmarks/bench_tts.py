"""Time to solution (TTS99) on Wishart planted instances, every solver at its own default schedule, in one run.

    python benchmarks/bench_tts.py --json benchmarks/results/tts_cpu.json   # N = 64, 96, 128, 3 instances each
    python benchmarks/bench_tts.py --quick    # N = 32, 2 instances, short grid (a smoke test)
    python benchmarks/bench_tts.py --sizes 128 --solvers "dragonjax PA,dwave-samplers SA,OpenJij SA"  # a subset
    dragonjax bench --suite tts               # the same through the command line

For each instance (``dragonjax.problems.wishart_planted(N, alpha, seed)``: the planted ground-state energy is
known) and each solver, the number of sweeps is chosen from a grid and the best TTS99 is kept:

    TTS99 = t_unit * max(1, ln(0.01) / ln(1 - p))   (infinite when p = 0; dragonjax.analysis.tts)

with p the success probability of one *independent unit* and t_unit its wall time: one read for simulated
annealing and SQA (reads are independent chains), one whole run for population annealing (its reads are one
correlated population; p is the fraction of ``--pa-runs`` runs whose population holds the ground state). The
error of TTS99 is a bootstrap over the units (reads or runs): the 16 % and 84 % quantiles of TTS99 recomputed on
resampled units, at the chosen sweep count. A solver's grid stops at the first count where every unit succeeded:
a longer anneal costs more per unit, and TTS99 is at least that cost. Population annealing is measured at each
population size of ``--pa-populations`` (default 32, 64, 128, 256) and its best (population, count) kept; the other
solvers at ``--reads`` (default 256) reads per call, a read being their unit whatever the call's size.

Each solver's best count is chosen knowing the planted energy, which a user does not know. For dragonjax SA and
PA the script also runs the sweep-budget rule (``dragonjax.samplers.sweep_budget``: the longest count of the grid
whose TTS99 in sweeps is within the least one's interval, success meaning the lowest energy the rule itself found,
with its own seeds; for PA also the population over ``--pa-populations``, the largest within the interval of the
least wall-clock TTS99) and
reports the wall-time TTS99 at the count it picked, from this script's own measurement at that count (measured
then if the grid had stopped before it) -- "(rule)" rows; the cost of the rule's own search is not included.

Solvers, each at its own default beta range (what a user gets out of the box):
- dragonjax SA and PA with ``beta_range="local-field"`` (dwave-samplers' hot end, cold end 10 / rms local
  field; the samplers' drop-in default is dwave-samplers' rule, which on continuous couplings puts the cold
  end at ~1e5 and spends most sweeps frozen) -- and dragonjax SA at dwave-samplers' rule as well;
- dragonjax PIQMC (its default beta = 10 / g and transverse-field range, P = 8);
- dwave-samplers SA at its default range;
- OpenJij SA and SQA at their defaults, **unseeded**: OpenJij given a ``seed`` returns identical reads (one
  distinct energy in 256 reads), which would make p 0 or 1; unseeded reads are independent.
dragonjax is timed after a warm-up call of the same shape (compilation excluded, as it is paid once per shape).
Prints a line per (instance, solver) and the ratios; ``--json PATH`` also writes every figure.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

import dragonjax as dj
from dragonjax.analysis.tts import tts99, tts99_interval
from dragonjax.experiments.results import provenance
from dragonjax.samplers import PathIntegralQMCSampler, PopulationAnnealingSampler, SimulatedAnnealingSampler
from dragonjax.samplers.budget import sweep_budget


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _energies(sampleset) -> np.ndarray:
    return np.asarray(sampleset.record.energy, float).repeat(np.asarray(sampleset.record.num_occurrences))


def solvers(reads: int, pa_runs: int, trotter: int):
    """name -> run(bqm, sweeps, seed) -> (list of per-unit hit arrays' energies, seconds per unit)."""

    def ours(sampler_cls, **kw):
        def run(bqm, sweeps, seed):
            sampler = sampler_cls()
            sampler.sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=seed + 7919, **kw)  # compile this shape
            ss, t = _timed(lambda: sampler.sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=seed, **kw))
            return [_energies(ss)], t / reads, "read"
        return run

    def pa(bqm, sweeps, seed, population=reads):
        sampler = PopulationAnnealingSampler()
        kw = dict(num_reads=population, num_sweeps=sweeps, beta_range="local-field", min_effective_population=0)
        sampler.sample(bqm, seed=seed + 7919, **kw)
        runs = [_timed(lambda k=k: sampler.sample(bqm, seed=seed + k, **kw)) for k in range(pa_runs)]
        return [np.array([_energies(ss).min()]) for ss, _ in runs], float(np.mean([t for _, t in runs])), "run"

    def dwave(bqm, sweeps, seed):
        from dwave.samplers import SimulatedAnnealingSampler as DW

        ss, t = _timed(lambda: DW().sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=seed))
        return [_energies(ss)], t / reads, "read"

    def openjij(name):
        def run(bqm, sweeps, seed):
            import openjij as oj

            sampler = getattr(oj, name)()
            kw = {"trotter": trotter} if name == "SQASampler" else {}
            ss, t = _timed(lambda: sampler.sample(bqm, num_reads=reads, num_sweeps=sweeps, **kw))  # unseeded
            return [_energies(ss)], t / reads, "read"
        return run

    return {"dragonjax SA": ours(SimulatedAnnealingSampler, beta_range="local-field"),
            "dragonjax SA (dwave beta)": ours(SimulatedAnnealingSampler),
            "dragonjax PA": pa,
            "dragonjax PIQMC": ours(PathIntegralQMCSampler, trotter_slices=trotter),
            "dwave-samplers SA": dwave,
            "OpenJij SA": openjij("SASampler"),
            "OpenJij SQA": openjij("SQASampler")}


RULED = (("dragonjax SA", SimulatedAnnealingSampler, {"beta_range": "local-field"}),
         ("dragonjax PA", PopulationAnnealingSampler, {"beta_range": "local-field", "min_effective_population": 0}))


def measure_point(instance, run, sweeps, seed, population=None) -> dict:
    """TTS99 of one solver at one sweep count (and PA population), with its bootstrap interval."""
    extra = {} if population is None else {"population": population}
    units, t_unit, unit = run(instance.model.to_bqm(), sweeps, seed, **extra)
    hits = np.concatenate([np.isclose(e, instance.ground_energy, rtol=1e-5, atol=1e-5) for e in units])
    if unit == "run":
        hits = np.array([np.isclose(e, instance.ground_energy, rtol=1e-5, atol=1e-5).any() for e in units])
    low, high = tts99_interval(t_unit, hits, seed=seed)
    return {"sweeps": sweeps, **({} if population is None else {"reads": population}),
            "tts99_s": tts99(t_unit, float(hits.mean())), "tts99_interval_68": [low, high],
            "p_success": float(hits.mean()), "units": int(hits.size), "unit": unit, "seconds_per_unit": t_unit}


def measure(instance, run, grid, seed, populations=(None,)) -> dict:
    """The best TTS99 over the sweep grid (and PA populations) for one solver on one instance, with its bootstrap
    interval; each population's grid stops at the first count where every unit succeeded."""
    points = []
    for population in populations:
        for sweeps in grid:
            try:
                points.append(measure_point(instance, run, sweeps, seed, population))
            except ImportError as err:
                return {"error": f"not installed: {err.name}"}
            if points[-1]["p_success"] == 1.0:
                break
    best = min(points, key=lambda q: q["tts99_s"])
    return {**best, "points": points}


def point_at(result, sweeps, population=None):
    """The measured point at ``sweeps`` (and ``population``), or None."""
    return next((q for q in result["points"] if q["sweeps"] == sweeps and q.get("reads") == population), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default=None, help="comma-separated N (default 64,96,128; quick: 32)")
    parser.add_argument("--instances", type=int, default=None, help="instances per size (default 3; quick: 2)")
    parser.add_argument("--alpha", type=float, default=1.2, help="Wishart load M / N (default 1.2)")
    parser.add_argument("--reads", type=int, default=None, help="reads per call (default 256; quick: 64)")
    parser.add_argument("--pa-runs", type=int, default=None, help="PA runs per sweep count (default 8; quick: 4)")
    parser.add_argument("--pa-populations", default=None,
                        help="comma-separated PA population sizes (default 32,64,128,256; quick: 16,32,64)")
    parser.add_argument("--trotter", type=int, default=8, help="Trotter slices of PIQMC and OpenJij SQA")
    parser.add_argument("--solvers", default=None, help="comma-separated subset of the solvers (default: all)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else ([32] if args.quick else [64, 96, 128])
    instances = args.instances or (2 if args.quick else 3)
    reads = args.reads or (64 if args.quick else 256)
    pa_runs = args.pa_runs or (4 if args.quick else 8)
    grid = [10, 30, 100] if args.quick else [10, 30, 100, 300, 1000, 3000]
    populations = (tuple(int(r) for r in args.pa_populations.split(",")) if args.pa_populations
                   else (16, 32, 64) if args.quick else (32, 64, 128, 256))
    table = solvers(reads, pa_runs, args.trotter)
    if args.solvers:
        chosen = [name.strip() for name in args.solvers.split(",")]
        unknown = sorted(set(chosen) - set(table))
        if unknown:
            parser.error(f"unknown solver(s) {unknown}; choose from {list(table)}")
        table = {name: run for name, run in table.items() if name in chosen}
    results = {"solvers": list(table), "machine": platform.platform(), "processor": platform.processor(),
               "cpus": os.cpu_count(),
               "jax_backend": __import__("jax").default_backend(), "sizes": sizes, "instances": instances,
               "alpha": args.alpha, "reads": reads, "pa_runs": pa_runs, "pa_populations": populations,
               "trotter": args.trotter, "grid": grid,
               "per_instance": [], "provenance": provenance()}
    for n in sizes:
        for k in range(instances):
            instance = dj.problems.wishart_planted(n, alpha=args.alpha, seed=k)
            row = {"N": n, "instance": k, "ground_energy": float(instance.ground_energy)}
            for name, run in table.items():
                row[name] = measure(instance, run, grid, seed=k,
                                    populations=populations if name == "dragonjax PA" else (None,))
                v = row[name]
                if "error" in v:
                    print(f"N={n} #{k} {name:<26} {v['error']}", flush=True)
                    continue
                lo, hi = v["tts99_interval_68"]
                at = f"{v['reads']} x {v['sweeps']}" if "reads" in v else f"{v['sweeps']}"
                print(f"N={n} #{k} {name:<26} TTS99 {v['tts99_s']:.3g} s [{lo:.3g}, {hi:.3g}] at {at} "
                      f"sweeps, p = {v['p_success']:.3f} per {v['unit']} ({v['units']} {v['unit']}s)", flush=True)
            for name, sampler, kw in (r for r in RULED if r[0] in table):  # the sweep-budget rule, blind to the
                # planted energy
                is_pa = name == "dragonjax PA"
                budget = sweep_budget(sampler(), instance.model.to_bqm(), num_reads=reads, grid=grid,
                                      runs=pa_runs if is_pa else None, populations=populations if is_pa else None,
                                      seed=k + 104729, **kw)
                population = budget.num_reads if is_pa else None
                at = point_at(row[name], budget.num_sweeps, population)
                if at is None:  # the grid stopped before the rule's count: measure it now
                    at = measure_point(instance, table[name], budget.num_sweeps, k, population)
                    row[name]["points"].append(at)
                row[name]["rule"] = {"sweeps": budget.num_sweeps, "reads": budget.num_reads, "tts99_s": at["tts99_s"],
                                     "tts99_interval_68": at["tts99_interval_68"], "stopped": budget.stopped,
                                     "tried": [list(c) for c in zip(budget.reads, budget.sweeps)],
                                     "found_ground_state": bool(np.isclose(
                                         budget.target_energy, instance.ground_energy, rtol=1e-5, atol=1e-5))}
                lo, hi = at["tts99_interval_68"]
                where = f"{budget.num_reads} x {budget.num_sweeps}" if is_pa else f"{budget.num_sweeps}"
                tried = ", ".join(f"{r}x{s}" if is_pa else f"{s}" for r, s in zip(budget.reads, budget.sweeps))
                print(f"N={n} #{k} {name + ' (rule)':<26} TTS99 {at['tts99_s']:.3g} s [{lo:.3g}, {hi:.3g}] at "
                      f"{where} sweeps (tried {tried})", flush=True)
            results["per_instance"].append(row)
    print("\nTTS99 ratio (best of dwave-samplers SA and OpenJij SA) / dragonjax, per instance (> 1: dragonjax faster;"
          " target >= 2):")
    summary = {}
    for name in ("dragonjax SA", "dragonjax SA (rule)", "dragonjax PA", "dragonjax PA (rule)", "dragonjax PIQMC"):
        ratios = []
        for row in results["per_instance"]:
            others = [row[o]["tts99_s"] for o in ("dwave-samplers SA", "OpenJij SA") if "tts99_s" in row.get(o, {})]
            ours = row.get(name.removesuffix(" (rule)"), {})
            ours = ours.get("rule", {}) if name.endswith("(rule)") else ours
            if others and "tts99_s" in ours:
                ratios.append(min(others) / ours["tts99_s"])
        summary[name] = ratios
        text = ", ".join(f"{r:.2f}" for r in ratios)
        finite = [r for r in ratios if 0 < r < np.inf]
        print(f"  {name:<16} {text}  (geometric mean {np.exp(np.mean(np.log(finite))):.2f})" if finite else
              f"  {name:<16} {text or '-'}")
    results["ratio_best_reference_over_ours"] = summary
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)
        print(f"-> {args.json}")


if __name__ == "__main__":
    main()
