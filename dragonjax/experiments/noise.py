"""How robust is annealer-assisted training to an annealer's imperfections? (issue 18)

The default digits network is trained with an emulated annealer (:class:`dragonjax.train.phases.Hardware`: every
example's conditioned problem auto-scaled into the coupler range [-1, 1] and field range [-4, 4], Gaussian control
errors drawn anew per call, a finite precision, readout errors) across

- ``coupling_noise`` levels (standard deviation in units of the coupler range; the fields get the same relative
  error), for each phase sampler (SA and PA);
- ``precision_bits`` (couplings and fields quantised to 2^b levels of their ranges), SA;
- ``beta_eff`` (sampling at a fixed inverse temperature in hardware units instead of annealing), SA.

Each setting trains ``seeds`` networks as one ensemble, the same seeds in every setting (the same initial weights and
example order), so each setting is compared with the noiseless emulated annealer of its sampler (auto-scaled, no
errors) by a paired t interval of the final test accuracy, with Holm's family-wise rule over all comparisons
(:func:`dragonjax.experiments.ablation.paired_comparisons`). A setting *differs* only when Holm rejects.
The emulation is a model of a QPU, not a measurement of one.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..ising import ProblemError
from .ablation import paired_comparisons, paired_text
from .results import RunDirectory

__all__ = ["QUICK", "FULL", "run_noise", "describe", "plot_noise"]

QUICK = {"dataset": "digits", "hidden": [64], "spins_per_class": 4, "epochs": 3, "seeds": 4, "num_reads": 8,
         "num_sweeps": 32, "learning_rate": 0.01, "beta_range": [0.1, 10.0], "samplers": ["sa", "pa"],
         "coupling_noise": [0.01, 0.02, 0.05, 0.1], "precision_bits": [4, 6, 8], "beta_eff": [1.0, 3.0, 10.0]}
FULL = {**QUICK, "hidden": [256], "spins_per_class": 8, "epochs": 10, "seeds": 10, "num_reads": 16}


def _settings(settings: dict) -> list[tuple[str, str, dict]]:
    """(name, sampler, hardware options) of every setting; each sampler's baseline first."""
    out = []
    for sampler in settings["samplers"]:
        out.append((f"{sampler}: noiseless", sampler, {"coupling_noise": 0.0}))
        out += [(f"{sampler}: noise {c:g}", sampler, {"coupling_noise": c, "field_noise": c})
                for c in settings["coupling_noise"]]
    first = settings["samplers"][0]
    out += [(f"{first}: {b} bits", first, {"precision_bits": b}) for b in settings["precision_bits"]]
    out += [(f"{first}: beta_eff {b:g}", first, {"beta_eff": b}) for b in settings["beta_eff"]]
    return out


def _train(settings: dict, sampler: str, hardware: dict, seeds) -> np.ndarray:
    """Test accuracy per seed and epoch (seeds, epochs) of one setting."""
    from ..train import Ensemble
    from .training import build_run

    config = {k: settings[k] for k in ("dataset", "hidden", "spins_per_class", "epochs", "num_reads", "num_sweeps",
                                       "learning_rate", "beta_range")}
    config.update(sampler=sampler, seeds=list(seeds), **hardware)
    for key in ("train_size", "test_size"):
        if key in settings:
            config[key] = settings[key]
    _, ds, _, trainer = build_run(config)
    _, history = Ensemble(trainer, seeds).fit(ds, settings["epochs"])
    return np.stack([np.asarray(h["test_accuracy"]) for h in history], axis=1)


def run_noise(out: str, settings: dict | None = None, progress: bool = True) -> dict:
    """The study of the module docstring: results.json and noise.png/pdf in ``out``."""
    from ..train import parse_seeds

    settings = {**QUICK, **(settings or {})}
    unknown = [s for s in settings["samplers"] if s not in ("sa", "pa")]
    if unknown:
        raise ProblemError(f"the emulated annealer runs with the sa and pa phase samplers, not {unknown}")
    seeds = parse_seeds(settings["seeds"])
    settings["seeds"] = seeds
    run = RunDirectory(out, {"study": "noise", **settings})
    start = time.perf_counter()
    jobs = _settings(settings)
    if progress:
        from tqdm.auto import tqdm
        jobs = tqdm(jobs, desc="noise settings")
    results = {"settings": settings, "rule": "paired t over the shared seeds against the noiseless emulated annealer "
                                             "of the same sampler; differs when Holm's rule over all comparisons "
                                             "rejects at family-wise rate 5 %", "results": {}}
    for name, sampler, hardware in jobs:
        t0 = time.perf_counter()
        accuracy = _train(settings, sampler, hardware, seeds)
        results["results"][name] = {"sampler": sampler, "hardware": hardware, "test_accuracy": accuracy.tolist(),
                                    "final_mean": float(accuracy[:, -1].mean()),
                                    "final_sem": float(accuracy[:, -1].std(ddof=1) / np.sqrt(len(seeds))),
                                    "seconds": time.perf_counter() - t0}
    rows = results["results"]
    paired_comparisons(rows, lambda n: None if n.endswith("noiseless") else f"{rows[n]['sampler']}: noiseless",
                       "vs_noiseless")
    results["study_seconds"] = time.perf_counter() - start
    plot_noise(results, os.path.join(out, "noise"))
    run.finish(results, "results.json")
    return results


def describe(results: dict) -> list[str]:
    """Markdown table of the study, as measured."""
    s = results["settings"]
    lines = [f"{s['dataset']}, hidden {s['hidden']}, K = {s['spins_per_class']}, R = {s['num_reads']}, "
             f"{s['num_sweeps']} sweeps, {s['epochs']} epochs, {len(s['seeds'])} seeds per setting.", "",
             "| setting | final test accuracy (mean ± s.e.) | paired difference from noiseless [95 % t], p |",
             "|---|---|---|"]
    for name, r in results["results"].items():
        cell = paired_text(r.get("vs_noiseless"))
        lines.append(f"| {name} | {r['final_mean']:.4f} ± {r['final_sem']:.4f} | {cell} |")
    return lines


def plot_noise(results: dict, stem: str | None) -> None:
    """Final test accuracy (mean ± s.e. over seeds) against the control-error level per sampler, against the
    precision and against beta_eff (first sampler); the noiseless emulated annealer as a dashed line."""
    from .figures import PAGE, figure

    r = results["results"]
    s = results["settings"]
    hues = ("#0072B2", "#D55E00", "#009E73")
    with figure(stem, PAGE, 2.4, 1, 3) as (fig, axes):
        for hue, sampler in zip(hues, s["samplers"]):
            base = r[f"{sampler}: noiseless"]
            levels = [0.0] + list(s["coupling_noise"])
            points = [base] + [r[f"{sampler}: noise {c:g}"] for c in s["coupling_noise"]]
            axes[0].errorbar(levels, [p["final_mean"] for p in points], yerr=[p["final_sem"] for p in points],
                             fmt="o-", color=hue, label=sampler.upper())
        axes[0].set(xlabel="control-error s.d. (fraction of the range)", ylabel="final test accuracy")
        axes[0].set_title("control errors", loc="left")
        axes[0].legend(title=f"{len(s['seeds'])} seeds, mean ± s.e.")
        first = s["samplers"][0]
        base = r[f"{first}: noiseless"]
        for ax, key, label in ((axes[1], "bits", "precision (bits)"), (axes[2], "beta_eff", "β_eff (hardware units)")):
            names = [n for n in r if n.startswith(f"{first}: ") and key in n]
            xs = [float(n.split()[1 if key == "bits" else 2]) for n in names]
            ax.errorbar(xs, [r[n]["final_mean"] for n in names], yerr=[r[n]["final_sem"] for n in names], fmt="o-",
                        color=hues[0], label=first.upper())
            ax.axhline(base["final_mean"], ls="--", color="0.4", lw=0.8, label="noiseless")
            ax.set(xlabel=label)
            ax.set_title(f"{first.upper()}: {label.split(' (')[0]}", loc="left")
            if key == "beta_eff":
                ax.set_xscale("log")
            ax.legend()
        for ax in axes:
            ax.grid(True)
