"""The ``dragonjax`` command line."""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

__all__ = ["main"]

PROBLEMS = ("sk", "ea2d", "ea3d", "layered", "planted")
SAMPLERS = ("pa", "sa", "piqmc")


def _problem(name: str, size: int, seed: int):
    from . import problems

    if name == "sk":
        return problems.sherrington_kirkpatrick(size, seed=seed), None
    if name == "ea2d":
        return problems.edwards_anderson(size, dim=2, seed=seed), None
    if name == "ea3d":
        return problems.edwards_anderson(size, dim=3, seed=seed), None
    if name == "layered":
        return problems.layered([size, size, size], seed=seed), None
    planted = problems.wishart_planted(size, alpha=1.0, seed=seed)
    return planted.model, planted.ground_energy


def _sampler(name: str):
    from . import samplers

    table = {"pa": "PopulationAnnealingSampler", "sa": "SimulatedAnnealingSampler",
             "piqmc": "PathIntegralQMCSampler"}
    if not hasattr(samplers, table[name]):
        raise SystemExit(f"dragonjax: sampler {name!r} is not available in this version")
    return getattr(samplers, table[name])()


def cmd_anneal(args) -> int:
    import dimod

    from .ising import IsingModel

    if args.bqm:
        with open(args.bqm, "rb") as f:
            bqm = dimod.BinaryQuadraticModel.from_file(f)
        model, known = IsingModel.from_bqm(bqm), None
        source = args.bqm
    else:
        model, known = _problem(args.problem, args.size, args.seed)
        bqm = model.to_bqm()
        source = f"{args.problem} (size {args.size}, seed {args.seed})"
    sampler = _sampler(args.sampler)
    params = {"num_reads": args.num_reads, "num_sweeps": args.num_sweeps, "seed": args.seed}
    start = time.perf_counter()
    sampleset = sampler.sample(bqm, **params)
    wall = time.perf_counter() - start
    energies = sampleset.record.energy
    out = {"problem": source, "num_variables": model.num_variables, "sampler": args.sampler, **params,
           "best_energy": float(energies.min()), "median_energy": float(np.median(energies)),
           "wall_seconds": wall, "kernel_seconds": sampleset.info["timing"]["run_seconds"]}
    if "log_z" in sampleset.info:
        out["log_z"] = sampleset.info["log_z"]
        out["beta_final"] = float(sampleset.info["beta_schedule"][-1])
        out["num_families"] = sampleset.info["num_families"]
    if known is not None:
        out["planted_ground_energy"] = known
        out["fraction_at_ground_state"] = float(np.mean(np.isclose(energies, known, rtol=1e-5, atol=1e-5)))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        width = max(map(len, out))
        for k, v in out.items():
            print(f"{k:<{width}}  {v:.6g}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dragonjax", description="Neural-network training simulated as a spin glass (JAX).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("anneal", help="anneal a generated problem or a BQM file and print the result",
                       description="Run a dragonjax sampler on a generated Ising problem or on a BQM file "
                                   "(dimod's serialisable format) and print energies, ln Z and timing.")
    p.add_argument("--problem", choices=PROBLEMS, default="planted",
                   help="generated problem: SK glass, 2D/3D Edwards-Anderson, layered net, Wishart planted "
                        "(default: planted)")
    p.add_argument("--size", type=int, default=64,
                   help="number of spins (sk, planted, layered width) or lattice side (ea2d, ea3d)")
    p.add_argument("--bqm", help="path to a BQM file written by dimod's BinaryQuadraticModel.to_file()")
    p.add_argument("--sampler", choices=SAMPLERS, default="pa", help="sampler (default: pa)")
    p.add_argument("--num-reads", type=int, default=256, help="reads / population size (default 256)")
    p.add_argument("--num-sweeps", type=int, default=1000, help="sweeps (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_anneal)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as err:  # ProblemError is a ValueError
        parser.exit(2, f"dragonjax {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
