"""The ``dragonjax`` command line."""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

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


ANNEAL_MEANINGS = {
    "problem": "the problem sampled", "num_variables": "spins", "sampler": "the dragonjax sampler",
    "num_reads": "reads (population size for pa)", "num_sweeps": "sweeps of the anneal", "seed": "random seed",
    "best_energy": "lowest energy among the reads", "median_energy": "median energy of the reads",
    "wall_seconds": "wall time of sample(), compilation included", "kernel_seconds": "time inside the compiled kernel",
    "beta_range": "hot and cold inverse temperature of the anneal (1 / energy unit)",
    "beta_range_rule": "how beta_range was chosen (--beta-range)",
    "beta": "PIQMC's fixed inverse temperature (1 / energy unit; default 10 / rms local field)",
    "log_z": "population annealing's estimate of ln Z at beta_final (natural log)",
    "beta_final": "inverse temperature at the end of the anneal (1 / energy unit)",
    "num_families": "distinct initial replicas with descendants in the final population",
    "planted_ground_energy": "the planted ground-state energy (the known answer)",
    "fraction_at_ground_state": "fraction of reads at the planted ground-state energy",
    "devices": "JAX devices the reads were spread over",
    "num_sweeps_tried": "--num-sweeps auto: the sweep counts tried",
    "tts99_sweeps": "--num-sweeps auto: time to solution (99 %) in sweeps per count tried (replica-sweeps for pa)",
    "num_reads_tried": "--populations: the population of each count tried"}


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
    beta = {} if args.sampler == "piqmc" else {"beta_range": _beta_range_option(args.beta_range)}
    budget = None
    if args.populations and (args.sampler != "pa" or args.num_sweeps != "auto"):
        raise ValueError("--populations chooses population annealing's population with --num-sweeps auto: give it "
                         "with --sampler pa --num-sweeps auto")
    if args.num_sweeps == "auto":
        from .samplers import sweep_budget

        quiet = {"min_effective_population": 0} if args.sampler == "pa" else {}  # the search reads energies only
        budget = sweep_budget(sampler, bqm, num_reads=args.num_reads, seed=args.seed, populations=args.populations,
                              **beta, **quiet)
        params["num_sweeps"], params["num_reads"] = budget.num_sweeps, budget.num_reads
        if not args.json:
            print(budget.table())
    run = None
    if args.out:
        from .experiments.results import RunDirectory

        run = RunDirectory(args.out, {"command": "anneal", "problem": source, "sampler": args.sampler, **params,
                                      **({} if budget is None else {"num_sweeps_rule": "auto"}),
                                      **({} if args.sampler == "piqmc" else {"beta_range": args.beta_range})})
    start = time.perf_counter()
    sampleset = sampler.sample(bqm, progress=not args.quiet, **params, **beta)
    wall = time.perf_counter() - start
    energies = sampleset.record.energy
    out = {"problem": source, "num_variables": model.num_variables, "sampler": args.sampler, **params,
           "best_energy": float(energies.min()), "median_energy": float(np.median(energies)),
           "wall_seconds": wall, "kernel_seconds": sampleset.info["timing"]["run_seconds"]}
    if budget is not None:
        out["num_sweeps_tried"], out["tts99_sweeps"] = list(budget.sweeps), list(budget.tts99_sweeps)
        if args.populations:
            out["num_reads_tried"] = list(budget.reads)
    if "beta_range" in sampleset.info:
        out["beta_range"] = [float(b) for b in sampleset.info["beta_range"]]
        out["beta_range_rule"] = args.beta_range if isinstance(beta["beta_range"], str) else "given"
    if "beta" in sampleset.info:
        out["beta"] = float(sampleset.info["beta"])
    if "log_z" in sampleset.info:
        out["log_z"] = sampleset.info["log_z"]
        out["beta_final"] = float(sampleset.info["beta_schedule"][-1])
        out["num_families"] = sampleset.info["num_families"]
    if known is not None:
        out["planted_ground_energy"] = known
        out["fraction_at_ground_state"] = float(np.mean(np.isclose(energies, known, rtol=1e-5, atol=1e-5)))
    import jax

    out["devices"] = jax.device_count()
    if jax.process_index() != 0:  # multi-host: every process holds the same gathered result; one prints it
        return 0
    if run is not None:
        from .experiments.results import write_json

        run.finish({**out, "meanings": {k: ANNEAL_MEANINGS[k] for k in out}}, "results.json")
        write_json(run.file("sampleset.json"), sampleset.to_serializable())
    if args.json:
        from .experiments.results import finite

        print(json.dumps(finite(out), indent=2))
    else:
        width = max(map(len, out))
        for k, v in out.items():
            value = (f"{v:.6g}" if isinstance(v, float) else
                     "(" + ", ".join(f"{b:.4g}" for b in v) + ")" if isinstance(v, list) else f"{v}")
            print(f"{k:<{width}}  {value:<14}  {ANNEAL_MEANINGS[k]}")
        if args.out:
            print(f"-> {args.out}/results.json, {args.out}/sampleset.json")
    return 0


def _beta_range_option(text: str):
    """--beta-range: a rule name (see dragonjax.kernels.BETA_RANGE_RULES) or "HOT,COLD"."""
    from .kernels import BETA_RANGE_RULES

    if text in BETA_RANGE_RULES:
        return text
    try:
        hot, cold = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--beta-range must be one of {', '.join(BETA_RANGE_RULES)} or HOT,COLD (two numbers), "
                         f"got {text!r}") from None
    if not 0 <= hot < cold < float("inf"):
        raise ValueError(f"--beta-range needs 0 <= HOT < COLD (finite), got {text!r}")
    return hot, cold


def _populations_option(text):
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1 or any(b <= a for a, b in zip(values, values[1:])):
        raise argparse.ArgumentTypeError(f"expected increasing population sizes R1,R2,..., got {text!r}")
    return values


def _sweeps_option(text):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of sweeps (0 or more) or 'auto', got {text!r}")
    return value


def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _float_list(text):
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or not all(np.isfinite(v) and v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def _float_pair(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected two comma-separated numbers hot,cold, got {text!r}")
    return values


def _seeds(text):
    from .train import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


ARGUMENT_TYPES = {"positive": _positive_int, "int": int, "seed": int, "float": float, "nonnegative": float,
                  "ints": _int_list, "floats": _float_list,
                  "pair": _float_pair,
                  "str": str, "nudge": str, "seeds": _seeds}
TRAINING_GROUPS = {"data and network": ("dataset", "data_path", "input_encoding", "train_size", "test_size", "hidden",
                                        "spins_per_class", "init_scale", "layer_scales")}


def _shown(value):
    return ",".join(str(v) for v in value) if isinstance(value, tuple) else value


def add_training_arguments(p):
    """One option per :class:`~dragonjax.experiments.training.TrainConfig` field, its default and help from the
    dataclass. Options not given are absent from the namespace (so ``--resume`` can tell them apart)."""
    import dataclasses

    from .experiments.training import TrainConfig

    groups = {name: p.add_argument_group(name) for name in ("data and network", "training")}
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        group = groups["data and network" if f.name in TRAINING_GROUPS["data and network"] else "training"]
        flags = [meta.get("flag", "--" + f.name.replace("_", "-"))]
        default = "" if f.default is None else f" (default {_shown(f.default)})"
        kwargs = {"dest": f.name, "default": argparse.SUPPRESS, "help": meta["help"] + default}
        if "choices" in meta:
            kwargs["choices"] = meta["choices"]
        else:
            kwargs["type"] = ARGUMENT_TYPES[meta["kind"]]
        group.add_argument(*flags, **kwargs)


def _training_config(args) -> dict:
    import dataclasses

    from .experiments.training import TrainConfig

    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)}


def cmd_train(args) -> int:
    from .experiments.training import run_training

    if args.overwrite and args.resume:
        raise ValueError("--overwrite replaces the run in --out and --resume continues it: give one of them")
    metrics = run_training(_training_config(args), out=args.out, resume=args.resume, progress=not args.quiet,
                           overwrite=args.overwrite)
    ensemble = "seeds" in metrics
    if not args.quiet:
        for h in metrics["history"]:
            test = np.atleast_1d(np.asarray(h.get("test_accuracy", np.nan), float))
            wrong = h.get("mean_wrong_label_states")
            extra = "" if wrong is None else f"  wrong-label states {np.mean(wrong):.3f}"
            sem = test.std(ddof=1) / np.sqrt(test.size) if test.size > 1 else 0.0
            shown = (f"test {test.mean():.4f} +- {sem:.4f} (mean of {test.size} seeds)" if ensemble
                     else f"test {test[0]:.4f}")
            print(f"epoch {h['epoch']:>3}  {shown}{extra}  {h['wall_seconds']:.1f} s")
    if ensemble:
        t, tr = metrics["test_accuracy"], metrics["train_accuracy"]
        print(f"{len(metrics['seeds'])} seeds: test_accuracy {t['mean']:.4f} +- {t['sem']:.4f} "
              f"(sem; min {t['min']:.4f}, "
              f"max {t['max']:.4f})  train_accuracy {tr['mean']:.4f}  wall {metrics['wall_seconds']:.1f} s"
              + (f"  -> {args.out}/metrics.json, {args.out}/history.nc" if args.out else ""))
    else:
        print(f"test_accuracy {metrics['test_accuracy']:.4f}  train_accuracy {metrics['train_accuracy']:.4f}  "
              f"wall {metrics['wall_seconds']:.1f} s" + (f"  -> {args.out}/metrics.json" if args.out else ""))
    return 0


def _study_settings(args, quick: dict, full: dict, keys=("epochs", "seeds"), min_seeds: int = 2, what: str = "",
                    advised: int = 10) -> dict:
    """A study's settings: its quick or ``--full`` defaults with the options given on the command line, and at least
    ``min_seeds`` seeds (the independent unit of its intervals)."""
    from .train import parse_seeds

    settings = dict(full if args.full else quick)
    settings.update({key: getattr(args, key) for key in keys if getattr(args, key) is not None})
    if len(parse_seeds(settings["seeds"])) < min_seeds:
        raise ValueError(f"the {what} needs at least {min_seeds} seeds for its intervals ({advised} or more advised)")
    return settings


def cmd_scaling(args) -> int:
    from .experiments.scaling import FULL, QUICK, describe, exponent_summary, run_scaling

    settings = _study_settings(args, QUICK, FULL, min_seeds=3, what="scaling study")
    results = run_scaling(args.out, settings, sampler=args.sampler, dataset=args.dataset, progress=not args.quiet)
    print("\n".join(describe(exponent_summary(results))))
    print(f"-> {args.out}/results.json, {args.out}/scaling.png, {args.out}/scaling.pdf "
          f"({results['study_seconds']:.0f} s)")
    return 0


def cmd_fss(args) -> int:
    from .experiments.fss import FULL, QUICK, run_fss
    from .experiments.results import format_interval

    settings = _study_settings(args, QUICK, FULL, keys=("epochs", "seeds", "load"), what="finite-size-scaling study")
    if args.sizes is not None:
        settings["sizes"] = args.sizes
    results = run_fss(args.out, settings, progress=not args.quiet)
    for name, r in results["parametrisations"].items():
        c = r["collapse"]
        print(f"{name:12s} t* = {c['t_star']:.2f} {format_interval(c['t_star_interval'])} epochs, "
              f"1/nu = {c['inv_nu']:.2f} "
              f"{format_interval(c['inv_nu_interval'])}, collapse quality S = {c['quality']:.2f} "
              f"({'collapses' if c['collapses'] else 'does not collapse'})")
    if "thermal" in results:
        from .experiments.fss import describe_thermal

        print("thermal Binder crossings of neighbouring sizes (T in units of each student's rms local field):")
        print("\n".join(describe_thermal(results["thermal"])))
    if "landscape" in results:
        from .experiments.fss import describe_landscape

        print("\n".join(describe_landscape(results["landscape"])))
    print(f"-> {args.out}/results.json, {args.out}/fss.png, {args.out}/thermal.png ({results['study_seconds']:.0f} s)")
    return 0


def cmd_ablate(args) -> int:
    from .experiments.ablation import FULL, QUICK, VARIANTS, describe, run_ablation

    settings = _study_settings(args, QUICK, FULL, what="ablation", advised=8)
    variants = tuple(VARIANTS) if args.variants is None else tuple(v.strip() for v in args.variants.split(";"))
    results = run_ablation(args.out, settings, variants, progress=not args.quiet)
    print("\n".join(describe(results)))
    print(f"-> {args.out}/results.json, {args.out}/ablation.png ({results['study_seconds']:.0f} s)")
    return 0


def cmd_noise(args) -> int:
    from .experiments.noise import FULL, QUICK, describe, run_noise

    settings = _study_settings(args, QUICK, FULL, what="noise study", advised=4)
    results = run_noise(args.out, settings, progress=not args.quiet)
    print("\n".join(describe(results)))
    print(f"-> {args.out}/results.json, {args.out}/noise.png ({results['study_seconds']:.0f} s)")
    return 0


def cmd_transition(args) -> int:
    from .experiments.transition import run_transition

    if args.dataset != "digits":
        raise ValueError("the transition study runs on digits in this version")
    if args.seed is not None and args.seeds is not None:
        raise ValueError("give --seed (one network per width) or --seeds (an ensemble per width), not both")
    results = run_transition(args.out, args.widths, args.epochs, args.probe_size, args.num_samples, args.seed or 0,
                             args.train_size, window=args.window, progress=not args.quiet, seeds=args.seeds)
    print(f"{args.probe_size} probe inputs x {args.num_samples} independent anneals; heads within {args.window:g} "
          f"rms local field of the lowest state, not counting a misclassified input's lowest state; null control: "
          f"hidden -> output couplings permuted (tracker) or zero (thermal)")
    for width, r in results["widths"].items():
        first, last = r["records"][0], r["records"][-1]
        print(f"width {width:>4}: t* = {r['t_star']}  m {first['m']:.2f} -> {last['m']:.2f}  heads "
              f"{first['mean_heads_beyond_lowest']:.2f} -> {last['mean_heads_beyond_lowest']:.2f} (null "
              f"{first['null']['mean_heads_beyond_lowest']:.2f} -> {last['null']['mean_heads_beyond_lowest']:.2f})  "
              f"minima {first['mean_minima']:.1f} -> {last['mean_minima']:.1f}  "
              f"chi_SG/n {first['chi_sg'] / int(width):.3f} -> {last['chi_sg'] / int(width):.3f} (null "
              f"{first['null']['chi_sg'] / int(width):.3f} -> {last['null']['chi_sg'] / int(width):.3f})  "
              f"test acc {r['test_accuracy']:.3f}")
        if len(r["seeds"]) > 1:
            t = r["t_star_over_seeds"]
            print(f"            over {t['of']} seeds: t* reached by {t['reached']}"
                  + (f", mean {t['mean']:.2f} +- {t['sem']:.2f} (sem)" if t["reached"] else ""))
    for name, pairs in results["thermal_crossings"].items():
        text = [f"{c['widths']}: " + (f"T/sigma = {c['temperature']:.2f} [{c['interval'][0]:.2f}, "
                                      f"{c['interval'][1]:.2f}]" if c["resolved"] else "none resolved")
                for c in pairs]
        print(f"Binder crossings over widths, {name.replace('_', ' ')}: " + "; ".join(text))
    print(f"-> {args.out}/results.json, arrays.nc, transition.png/pdf, binder.png/pdf "
          f"({results['study_seconds']:.0f} s)")
    return 0


def cmd_glass(args) -> int:
    from .experiments.glass import parse_temperatures, run_glass, run_sk_ground_state

    if args.ground_state and args.model != "sk":
        raise ValueError("--ground-state is the SK check (Parisi's -0.7633); use it with --model sk")
    temperatures = parse_temperatures(args.temperatures)
    r = run_glass(args.model, args.sizes, temperatures, samples=args.samples, seed=args.seed,
                  couplings=args.couplings, replicas=args.replicas, sweeps=args.sweeps, hottest=args.hottest,
                  out=args.out, progress=not args.quiet)
    size_name = "L" if args.model.startswith("ea") else "N"
    print(f"{args.model} ({args.couplings}), {args.samples} disorder samples per size, {r['replicas']} independent "
          f"tempering replicas, {args.sweeps} sweeps each (half burn-in)")
    print("T        " + "  ".join(f"{t:6.3f}" for t in r["temperatures"]))
    for size, p in r["per_size"].items():
        for name in ("g", "xi_over_l"):
            if name in p:
                print(f"{name:<4} {size_name}={size:<4}" + "  ".join(f"{v:6.3f}" for v in p[name]))
        print(f"chi  {size_name}={size:<4}" + "  ".join(f"{c:6.2f}" for c in p["chi_sg"]))
        checks = p["equilibration"]
        bad = [c["temperature"] for c in checks if not c["equilibrated"]]
        identity = (f"energy identity max |z| = {max(abs(c['identity_z']) for c in checks):.1f}, "
                    if "identity_z" in checks[0] else "")
        print(f"   {identity}drift of <q^2> max |z| = {max(abs(c['q2_z']) for c in checks):.1f}"
              + (f"; NOT equilibrated at T = {', '.join(f'{t:.3f}' for t in bad)}" if bad else
                 " (checks passed)"))
    for obs, pairs in r["crossings"].items():
        for c in pairs:
            if c["resolved"]:
                print(f"crossing of {obs} for {size_name} = {c['sizes']}: T = {c['temperature']:.3f} "
                      f"[{c['interval'][0]:.3f}, {c['interval'][1]:.3f}] (95% over samples)")
            else:
                print(f"crossing of {obs} for {size_name} = {c['sizes']}: none resolved"
                      + (f" (mean curves change sign near T = {c['unresolved_crossing']:.3f}, within errors)"
                         if c["unresolved_crossing"] is not None else ""))
    print(f"verdict ({r['crossing_observable']}, largest sizes): "
          f"{'transition' if r['transition'] else 'no transition'} ({r['study_seconds']:.0f} s)")
    if args.ground_state:
        gs = run_sk_ground_state(args.ground_state, samples=args.samples, seed=args.seed, out=args.out)
        for size, p in gs["per_size"].items():
            print(f"ground state N={size:<4} e = {p['energy_per_spin']:.4f} +- {p['error']:.4f} "
                  f"(two PA runs agree on {100 * p['agreement']:.0f}% of samples)")
        print(f"e_inf = {gs['e_inf']:.4f} +- {gs['e_inf_error']:.4f} (Parisi -0.7633; z = {gs['z']:.2f}, "
              f"chi2 = {gs['chi2']:.1f} for {gs['dof']} dof)")
    if args.out:
        print(f"-> {args.out}/results.json, arrays.nc, binder.png/pdf"
              + (", ground_state.json" if args.ground_state else ""))
    return 0


def cmd_reproduce(args) -> int:
    from .experiments.reproduce import run_reproduce

    results = run_reproduce(args.out, full=args.full, seed=args.seed, progress=not args.quiet)
    with open(f"{args.out}/REPORT.md") as f:
        print(f.read())
    print(f"-> {args.out}/REPORT.md, results.json and the figures under {args.out}/ "
          f"({results['study_seconds'] / 60:.1f} min)")
    return 0


BENCH_SUITES = {"classical": "bench_classical.py", "quantum": "bench_quantum.py", "device": "bench_device.py",
                "tts": "bench_tts.py", "pa-energies": "bench_pa_energies.py"}


def benchmarks_folder():
    """The source checkout's benchmarks/ folder (the suite is a set of scripts beside the package)."""
    import os

    from . import __file__ as package_file

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(package_file))), "benchmarks")


def cmd_bench(args) -> int:
    import os
    import subprocess

    from .experiments.results import RunDirectory

    folder = args.benchmarks or benchmarks_folder()
    scripts = {name: os.path.join(folder, BENCH_SUITES[name]) for name in args.suite}
    missing = [path for path in scripts.values() if not os.path.exists(path)]
    if missing:
        raise OSError(f"benchmark scripts not found: {', '.join(missing)} (dragonjax bench runs the scripts of a "
                      f"source checkout; install with `pip install -e .` from a clone, or pass --benchmarks DIR)")
    run = RunDirectory(args.out, {"command": "bench", "suite": args.suite, "quick": args.quick, "gpu": args.gpu}) \
        if args.out else None
    failed = []
    for name, script in scripts.items():
        command = [sys.executable, script]
        if args.quick and name != "device":
            command.append("--quick")
        if args.gpu and name == "classical":
            command.append("--gpu")
        if run is not None:
            command += ["--json", run.file(f"{name}.json")]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        if subprocess.run(command).returncode:
            failed.append(name)
    if run is not None:
        run.finish({"failed": failed}, "bench.json")
        print(f"-> {args.out}/config.json, " + ", ".join(f"{args.out}/{n}.json" for n in scripts))
    if failed:
        print(f"dragonjax bench: {', '.join(failed)} failed", file=sys.stderr)
        return 1
    return 0


def _suites(text):
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in names if v not in BENCH_SUITES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown suite {unknown or text!r}; choose from {', '.join(BENCH_SUITES)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dragonjax", description="Neural-network training simulated as a spin glass (JAX).")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"dragonjax {__version__}")
    g = parser.add_argument_group("multi-host (before the command; see README 'Several hosts')")
    g.add_argument("--distributed", action="store_true",
                   help="call jax.distributed.initialize() first, so samplers shard their reads over the devices "
                        "of every process (arguments auto-detected under Slurm, Open MPI and Cloud TPU)")
    g.add_argument("--coordinator", help="coordinator host:port (with --num-processes and --process-id)")
    g.add_argument("--num-processes", type=_positive_int, help="number of processes")
    g.add_argument("--process-id", type=int, help="this process's index, 0 .. num-processes - 1")
    parser.add_argument("--no-compile-cache", action="store_true",
                        help="do not keep compiled programs between runs (default: kept under ~/.cache/dragonjax/jax "
                             "or $DRAGONJAX_COMPILATION_CACHE; 'off' there also turns it off)")
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
    p.add_argument("--num-sweeps", type=_sweeps_option, default=1000, metavar="N|auto",
                   help="sweeps (default 1000), or 'auto': first try 10, 30, ..., 10000 sweeps and anneal with the "
                        "longest count whose time to solution is within the least one's 68%% interval "
                        "(dragonjax.samplers.sweep_budget; success = the lowest energy it found)")
    p.add_argument("--populations", type=_populations_option, metavar="R1,R2,...",
                   help="with --sampler pa --num-sweeps auto: search these population sizes too, timing the calls, "
                        "and anneal with the largest whose wall-clock time to solution on this machine is within the "
                        "least one's interval (e.g. 32,64,128,256; replaces --num-reads)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--beta-range", default="local-field", metavar="RULE|HOT,COLD",
                   help="inverse temperatures of sa/pa (1 / energy unit): 'local-field' (default: cold end 10 / rms "
                        "local field, sensible for Gaussian couplings), 'dwave' (dwave-samplers' rule, the samplers' "
                        "own default: huge cold end with continuous couplings) or two numbers HOT,COLD")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--out", help="also write DIR/config.json, DIR/results.json and the reads as DIR/sampleset.json "
                                 "(dimod's serialisable format: dimod.SampleSet.from_serializable)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--quiet", action="store_true", help="no progress bar (reported from inside the kernel)")
    p.set_defaults(func=cmd_anneal)

    p = sub.add_parser("train", help="train an Ising network (annealer-assisted) or its backprop baseline",
                       description="Train an Ising network (or, with --seeds, an ensemble of one network per seed as "
                                   "one compiled computation) on a dataset and write DIR/config.json (all parameters, "
                                   "seeds, package versions, devices, git commit), DIR/checkpoint.npz (every epoch), "
                                   "DIR/history.nc (xarray/netCDF, dims seed x epoch) and DIR/metrics.json (final "
                                   "test and train accuracy; per seed, mean and spread for an ensemble).")
    add_training_arguments(p)
    p.add_argument("--out", help="output directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint (options given must match its config)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("scaling", help="fit test-error scaling exponents, annealer vs backprop, over seeds",
                       description="Tune each trainer's learning rate on a validation split, train annealer-assisted, "
                                   "backprop (tanh) and backprop (sign + STE, read out as an Ising network) over seeds "
                                   "with a constant learning rate, record the test error at log-spaced points, fit "
                                   "eps = c t^-alpha and eps = eps_inf + c t^-alpha with BCa bootstrap 95%% intervals "
                                   "over seeds, state claim 3's verdict and the corrected Grover model, and write "
                                   "results.json, arrays.nc and scaling.png/pdf. Quick default: 10 seeds x 6 epochs, "
                                   "64-128-40 net; --full is the paper-sized version (for a GPU).")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--dataset", choices=("digits", "teacher-student"), default="digits",
                   help="digits (bundled with scikit-learn) or a synthetic teacher-student task (default digits)")
    p.add_argument("--sampler", choices=("pa", "sa", "piqmc"), default="pa", help="annealer trainer's sampler")
    p.add_argument("--seeds", type=_seeds,
                   help="seeds, trained as one ensemble per trainer: a count N (0..N-1), 'a:b' or 'a,b,c' "
                        "(default 10; full 16)")
    p.add_argument("--epochs", type=_positive_int, help="epochs per run (default 6; full 30)")
    p.add_argument("--full", action="store_true", help="paper-sized settings")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_scaling)

    p = sub.add_parser("fss", help="finite-size scaling of the training transition (teacher-student, fixed load)",
                       description="Train teacher-student networks of N inputs and N hidden spins on load x N examples "
                                   "for every size N, seeds as one ensemble per size, with the width-aware and the "
                                   "standard parametrisation; record the label order m(t) on the probe set and fit the "
                                   "collapse m = f((t - t*) N^(1/nu)) with bootstrap intervals over seeds.")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--sizes", type=lambda text: [_positive_int(v) for v in text.split(",")],
                   help="sizes N, e.g. 16,32,64,128 (default)")
    p.add_argument("--seeds", type=_seeds, help="seeds per size (default 10)")
    p.add_argument("--epochs", type=_positive_int, help="epochs (default 8)")
    p.add_argument("--load", type=_positive_int, help="training examples per spin alpha = P / N (default 4)")
    p.add_argument("--full", action="store_true", help="sizes 32..1024 (for a GPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_fss)

    p = sub.add_parser("ablate", help="ablations of annealer-assisted training: negatives M, reads R, sweeps, beta",
                       description="Train the baseline annealer-assisted network and variants that change one thing "
                                   "each (M in {1, 4, 16} negatives, R in {4, 16, 32} reads, {8, 32, 128} sweeps, the "
                                   "beta schedule in units of the rms local field), seeds as one ensemble per setting; "
                                   "report the final test accuracy's paired difference from the baseline over the "
                                   "shared seeds (95%% t interval; Holm over the settings). Writes results.json and "
                                   "ablation.png/pdf.")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--seeds", type=_seeds, help="seeds per setting (default 8; full 16)")
    p.add_argument("--epochs", type=_positive_int, help="epochs (default 3; full 10)")
    p.add_argument("--variants", help="settings separated by ';' (default all: baseline; M=1; M=16; R=4; R=32; "
                                      "sweeps=8; sweeps=128; beta in local-field units)")
    p.add_argument("--full", action="store_true", help="hidden 256, 16 seeds, 10 epochs (for a GPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("noise", help="training with an emulated noisy annealer: control errors, precision, beta_eff",
                       description="Train the digits network with an emulated annealer (auto-scaled problems, "
                                   "Gaussian control errors drawn per call, finite precision, a fixed effective "
                                   "temperature) across noise levels for SA and PA, seeds as one ensemble per setting; "
                                   "compare each setting with the noiseless emulated annealer by a paired t interval "
                                   "(Holm over the settings). Writes results.json and noise.png/pdf.")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--seeds", type=_seeds, help="seeds per setting (default 4; full 10)")
    p.add_argument("--epochs", type=_positive_int, help="epochs (default 3; full 10)")
    p.add_argument("--full", action="store_true", help="hidden 256, K = 8, 10 seeds, 10 epochs (for a GPU)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_noise)

    p = sub.add_parser("transition", help="track the glass -> order transition during training, over widths",
                       description="Train annealer-assisted networks of several hidden widths on digits and, after "
                                   "every epoch, measure on a fixed probe set from independent anneals: P(q) of hidden "
                                   "overlaps, q_EA, connected chi_SG and Binder cumulant, label order m, output "
                                   "magnetisation, distinct minima (Chao1), Hydra heads and the energy gap -- and the "
                                   "same for the null control (hidden -> output couplings zero). Then the thermal "
                                   "Binder cumulant of untrained and trained nets and their null controls vs T in "
                                   "units of the local-field scale. Writes results.json, arrays.nc, "
                                   "transition.png/pdf and binder.png/pdf; t* = first epoch with m >= 1/2.")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--dataset", choices=("digits",), default="digits", help="digits (the only choice here)")
    p.add_argument("--widths", type=_int_list, default=[32, 64, 128], help="hidden widths (default 32,64,128)")
    p.add_argument("--epochs", type=_positive_int, default=10, help="epochs per width (default 10)")
    p.add_argument("--train-size", type=_positive_int, default=256,
                   help="training examples per epoch (a subset, so the transition spans epochs; default 256)")
    p.add_argument("--probe-size", type=_positive_int, default=24, help="probe inputs (default 24)")
    p.add_argument("--num-samples", type=_positive_int, default=32,
                   help="independent simulated-annealing runs per probe input (default 32)")
    p.add_argument("--window", type=float, default=1.0,
                   help="heads window dE in units of the rms local field at the lowest state (default 1)")
    p.add_argument("--seed", type=int, help="random seed (default 0); same seed, same results")
    p.add_argument("--seeds", type=_seeds,
                   help="train these seeds per width as one ensemble and track each ('a:b', 'a,b,c' or a count N); "
                        "figures and the thermal study use the first")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_transition)

    p = sub.add_parser("glass", help="validate the spin-glass observables on known transitions (SK, EA, free spins)",
                       description="Binder cumulant g and chi_SG of the connected overlap (and xi_L/L on lattices) vs "
                                   "temperature for several sizes, from independent parallel-tempering replicas of "
                                   "many disorder samples; crossings with 95%% bootstrap intervals over samples; the "
                                   "Gaussian-disorder equilibrium identity per temperature. Known answers: sk T_c = 1, "
                                   "ea3d T_c ~ 0.95, ea2d and free: no transition.")
    p.add_argument("--model", choices=("sk", "ea2d", "ea3d", "free"), default="sk",
                   help="SK, 2D/3D Edwards-Anderson, or free spins in random fields (null model); default sk")
    p.add_argument("--couplings", choices=("gaussian", "pm"), default="gaussian",
                   help="Gaussian or +-J disorder (the equilibrium identity needs gaussian); default gaussian")
    p.add_argument("--sizes", type=_int_list, default=[32, 64, 128],
                   help="N for sk/free, lattice side L for ea2d/ea3d (default 32,64,128)")
    p.add_argument("--temperatures", default="0.5:1.5:11", help="LO:HI:COUNT evenly spaced (default 0.5:1.5:11)")
    p.add_argument("--samples", type=_positive_int, default=64, help="disorder samples per size (default 64)")
    p.add_argument("--replicas", type=_positive_int, default=2, help="independent replicas per sample (default 2)")
    p.add_argument("--sweeps", type=_positive_int, default=4096,
                   help="sweeps per replica, the first half burn-in (default 4096)")
    p.add_argument("--hottest", type=float, help="top of the tempering ladder (default 1.6 x the highest T)")
    p.add_argument("--ground-state", type=_int_list, metavar="SIZES",
                   help="sk only: also extrapolate the ground-state energy from PA at these N (e.g. 32,64,128,256)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same results")
    p.add_argument("--out", help="output directory (results.json, arrays.nc, binder.png/pdf, config.json)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_glass)

    p = sub.add_parser("reproduce", help="the headline study: training, transition, scaling exponents, report",
                       description="The samplers against exact answers, annealer-assisted vs backprop training on "
                                   "digits, the tracked glass -> order transition over widths, both scaling exponents "
                                   "with bootstrap CIs, and REPORT.md stating them beside the paper's claims (1.01 vs "
                                   "0.78). Quick default: about 15 minutes on 2 CPU cores, population annealing, "
                                   "no QPU, no network. --full: the paper-sized version (for a GPU).")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--full", action="store_true", help="paper-sized settings")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same results")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("replot", help="redraw the figures of finished studies from their results.json",
                       description="Redraw every figure of a study's run directory (or of every study below a "
                                   "directory, e.g. a reproduce run or papers/) from its results.json, in the "
                                   "package's current figure style (dragonjax.experiments.figures). Nothing is "
                                   "recomputed; only the PNG and PDF files are replaced.")
    p.add_argument("directories", nargs="+", metavar="DIR", help="run directories (searched recursively)")
    p.set_defaults(func=cmd_replot)

    p = sub.add_parser("bench", help="run the benchmark suite (vs dwave-samplers and OpenJij) and print ratios",
                       description="Run the benchmark scripts of benchmarks/ in one go: classical (SA/PA ns per spin "
                                   "update and time-to-solution vs dwave-samplers and OpenJij), quantum (PIQMC vs "
                                   "OpenJij's SQA and dwave's path-integral annealer), device (throughput of large "
                                   "layered problems; meant for a GPU). Needs the dev extra (dwave-samplers, openjij). "
                                   "Figures recorded in benchmarks/RESULTS.md.")
    p.add_argument("--suite", type=_suites, default=["classical", "quantum"],
                   help="comma-separated: classical, quantum, device, tts, pa-energies (default classical,quantum; "
                        "tts: time to solution on planted instances, about 30 min; pa-energies: population annealing "
                        "with tracked against recomputed energies, about 2 min)")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test, about 30 s on 2 cores)")
    p.add_argument("--gpu", action="store_true", help="add the 1024x1024 layered figure to the classical suite")
    p.add_argument("--out", help="write config.json (provenance) and one JSON of results per suite here")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (deleted once the options are checked)")
    p.add_argument("--benchmarks", help="folder holding the bench_*.py scripts (default: the checkout's benchmarks/)")
    p.set_defaults(func=cmd_bench)
    return parser


def cmd_replot(args) -> int:
    from .experiments.figures import replot

    for directory in args.directories:
        written = replot(directory)
        print(f"{directory}: {len(written) // 2} figures redrawn (PNG + PDF)")
    return 0


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings on the command line: one line naming the problem, no source excerpt."""
    return f"dragonjax: {category.__name__}: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dragonjax`` command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status
    (errors exit with 2, QPU errors with 3, Ctrl-C with 130)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    import warnings

    warnings.formatwarning = _one_line_warning
    if getattr(args, "out", None) == "":
        parser.exit(2, f"dragonjax {args.command}: error: --out must be a non-empty path\n")
    if getattr(args, "resume", False) and not args.out:
        parser.error("--resume needs --out DIR")
    manual = (args.coordinator, args.num_processes, args.process_id)
    if any(v is not None for v in manual) and not args.distributed:
        parser.error("--coordinator, --num-processes and --process-id go with --distributed")
    if not args.no_compile_cache:
        from .compilation import enable_compilation_cache

        enable_compilation_cache()
    if args.distributed:
        import jax

        try:
            jax.distributed.initialize(coordinator_address=args.coordinator, num_processes=args.num_processes,
                                       process_id=args.process_id)
        except Exception as err:  # bad or missing coordinator, process id, cluster detection
            parser.exit(2, f"dragonjax: --distributed: {str(err).splitlines()[0] if str(err) else type(err).__name__} "
                           f"(give --coordinator host:port, --num-processes and --process-id, or run under Slurm / "
                           f"Open MPI)\n")
    try:
        if getattr(args, "overwrite", False) and args.command != "train":  # train deletes after its checks
            from .experiments.results import clear_run

            clear_run(args.out)
        return args.func(args)
    except KeyboardInterrupt:  # a training run has written its checkpoint after its last whole epoch
        out = getattr(args, "out", None)
        parser.exit(130, f"dragonjax {args.command}: interrupted"
                         + (f"; {out} keeps the last completed epoch (--resume continues it)\n"
                            if args.command == "train" and out else "\n"))
    except (ValueError, OSError) as err:  # ProblemError is a ValueError
        parser.exit(2, f"dragonjax {args.command}: error: {err}\n")
    except RuntimeError as err:
        from .samplers.dwave import QPUError

        if isinstance(err, QPUError):
            parser.exit(3, f"dragonjax {args.command}: QPU error: {err}\n")
        raise


if __name__ == "__main__":
    sys.exit(main())
