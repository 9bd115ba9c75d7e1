"""Ablations of the annealer-assisted trainer's mechanism (DESIGN section 3; issue 14): does using several deep
states matter, and how much do the sampler's effort and its temperature scale matter?

One baseline (PA phase sampler, R reads, M negatives, a fixed number of sweeps, beta in absolute units) and
variants that change one thing each:

- ``negatives``: M in {1, 4, 16} -- M = 1 uses only the lowest free state (no "several deep states");
- ``reads``: R in {4, 16, 32} (M = min(4, R));
- ``sweeps``: {8, 32, 128} sweeps per anneal;
- ``beta_units``: the schedule in units of 1 / sigma, sigma the batch's rms local field
  (:func:`dragonjax.ising.local_field_scale`), its range the absolute one times sigma_0 (the free phase's sigma
  of the untrained networks on 256 training inputs, mean over seeds), so that the two start alike
  (approximately: the trainer takes sigma per batch and phase) and differ in that the absolute range anneals
  colder as training grows the couplings.

Each setting trains ``seeds`` networks as one ensemble with the trainer's cosine learning-rate schedule (a
constant rate leaves the final accuracy fluctuating from epoch to epoch) -- the seeds are the independent unit;
the same seeds for every setting, so their initial weights and example order agree and the comparison with the
baseline is paired. Reported per setting: the test accuracy after each epoch (mean, standard error), the final
accuracy's paired difference from the baseline with its 95 % t interval and p-value (the rule: a setting
*differs* when Holm's procedure over all settings rejects at family-wise rate 5 %; otherwise the data cannot
tell, which is not evidence of no effect), the mean number of wrong-label negatives per example, the mean gap,
the spin updates (all seeds) and the wall time; and the growth of sigma over training. With a few epochs of a
cosine schedule the comparison is mostly one of early learning speed.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Sequence

import numpy as np
import numpy.typing as npt
from scipy import stats

from ..ising import ProblemError
from .results import RunDirectory

__all__ = ["QUICK", "FULL", "VARIANTS", "compare_to_baseline", "holm", "paired_comparisons", "paired_interval",
           "paired_text", "run_ablation", "plot_ablation", "describe"]

QUICK = {"dataset": "digits", "hidden": [128], "spins_per_class": 4, "epochs": 3, "seeds": 8, "num_reads": 16,
         "num_negatives": 4, "num_sweeps": 32, "learning_rate": 0.01, "beta_range": [0.1, 10.0], "sampler": "pa"}
FULL = {**QUICK, "hidden": [256], "epochs": 10, "seeds": 16}
VARIANTS = {  # name -> (group, overrides of the baseline)
    "baseline": ("baseline", {}),
    "M=1": ("negatives", {"num_negatives": 1}),
    "M=16": ("negatives", {"num_negatives": 16}),
    "R=4": ("reads", {"num_reads": 4}),
    "R=32": ("reads", {"num_reads": 32}),
    "sweeps=8": ("sweeps", {"num_sweeps": 8}),
    "sweeps=128": ("sweeps", {"num_sweeps": 128}),
    "beta in local-field units": ("beta_units", {"beta_units": "local-field"}),
}

GROUP_TITLES = {"negatives": "negatives M", "reads": "reads R (M = min(4, R))", "sweeps": "sweeps per anneal",
                "beta_units": "β schedule units"}


def paired_interval(a: npt.ArrayLike, b: npt.ArrayLike, confidence: float = 0.95) -> dict:
    """mean(a - b) of paired values (the same seeds) with its Student t interval and two-sided p-value."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if d.size < 2:
        raise ProblemError("a paired interval needs at least two pairs")
    mean, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))
    if se == 0:
        return {"difference": mean, "interval": [mean, mean], "p_value": 0.0 if mean else 1.0}
    half = float(stats.t.ppf(0.5 + confidence / 2, d.size - 1)) * se
    p = float(2 * stats.t.sf(abs(mean) / se, d.size - 1))
    return {"difference": mean, "interval": [mean - half, mean + half], "p_value": p}


def holm(p_values: npt.ArrayLike, family_rate: float = 0.05) -> list[bool]:
    """Holm's step-down rejections at family-wise error rate ``family_rate`` (which of the tests reject)."""
    p = np.asarray(p_values, np.float64)
    reject = np.zeros(p.size, bool)
    for rank, i in enumerate(np.argsort(p)):
        if p[i] > family_rate / (p.size - rank):
            break
        reject[i] = True
    return reject.tolist()


def paired_comparisons(rows: dict, baseline_of: Callable[[str], str | None], key: str,
                       family_rate: float = 0.05) -> None:
    """For every row (name -> dict with ``test_accuracy`` (seeds, epochs)) whose ``baseline_of(name)`` names
    another row, store under ``key`` the paired difference of the final test accuracy over the shared seeds, its 95 %
    t interval and p-value, and ``differs`` by Holm's rule over all these comparisons at ``family_rate``."""
    final = {name: np.asarray(r["test_accuracy"])[:, -1] for name, r in rows.items()}
    compared = [name for name in rows if baseline_of(name) is not None]
    for name in compared:
        rows[name][key] = paired_interval(final[name], final[baseline_of(name)])
    for name, reject in zip(compared, holm([rows[n][key]["p_value"] for n in compared], family_rate)):
        rows[name][key]["differs"] = reject


def paired_text(d: dict | None) -> str:
    """A table cell for a :func:`paired_comparisons` entry ("—" for a baseline)."""
    if d is None:
        return "—"
    return (f"{d['difference']:+.4f} [{d['interval'][0]:+.4f}, {d['interval'][1]:+.4f}], p = {d['p_value']:.3f}"
            + (" **differs** (Holm)" if d["differs"] else ""))


def compare_to_baseline(results: dict, family_rate: float = 0.05) -> None:
    """Fill each variant's ``vs_baseline`` by :func:`paired_comparisons` against the baseline (None for it)."""
    paired_comparisons(results["variants"], lambda name: None if name == "baseline" else "baseline", "vs_baseline",
                       family_rate)
    results["variants"]["baseline"]["vs_baseline"] = None


def _field_scale(trainer, params, x) -> float:
    """sigma of the free phase's conditioned problems (the whole network) of the inputs x at ``params``."""
    from ..ising import local_field_scale

    net = trainer.net
    window = tuple(range(1, net.num_layers + 1))
    base, fields, _ = net.window_problem(params, x, window, trainer._outside(params, x, window))
    return float(local_field_scale(base, fields))


def _setting(settings: dict, overrides: dict, seeds) -> dict:
    keys = ("dataset", "hidden", "spins_per_class", "epochs", "num_reads", "num_negatives", "num_sweeps",
            "learning_rate", "beta_range", "sampler", "train_size", "test_size")  # the last two optional (subsets)
    config = {k: settings[k] for k in keys if k in settings}
    config.update(overrides)
    if "num_reads" in overrides and "num_negatives" not in overrides:
        config["num_negatives"] = min(config["num_negatives"], config["num_reads"])
    return {**config, "seeds": list(seeds), "lr_schedule": "cosine"}


def _train(config: dict):
    """(history, initial and final sigma per seed) of one setting's ensemble."""
    import jax

    from ..train import Ensemble, member
    from .training import build_run

    _, ds, _, trainer = build_run(config)
    ensemble = Ensemble(trainer, config["seeds"])
    steps = -(-len(ds.x_train) // trainer.batch_size) * config["epochs"]
    state = ensemble.init(steps)
    x = jax.numpy.asarray(ds.x_train[:256])
    sigma0 = [_field_scale(trainer, member(state, i).params, x) for i in range(ensemble.size)]
    state, history = ensemble.fit(ds, config["epochs"], state=state)
    sigma1 = [_field_scale(trainer, member(state, i).params, x) for i in range(ensemble.size)]
    return history, np.asarray(sigma0), np.asarray(sigma1)


def run_ablation(out: str, settings: dict | None = None, variants: Sequence[str] = tuple(VARIANTS),
                 progress: bool = True) -> dict:
    """The ablation table of the module docstring: results.json and ablation.png/pdf in ``out``."""
    from ..train import parse_seeds

    settings = {**QUICK, **(settings or {})}
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ProblemError(f"unknown ablation variant(s) {unknown}; expected some of {list(VARIANTS)}")
    variants = ("baseline", *[v for v in variants if v != "baseline"])  # first: it sets sigma_0
    seeds = parse_seeds(settings["seeds"])
    settings["seeds"] = seeds
    run = RunDirectory(out, {"study": "ablation", "variants": list(variants), **settings})
    start = time.perf_counter()
    results = {"settings": settings, "rule": "a setting differs from the baseline when the paired t-test of the final "
                                             "test accuracy over the shared seeds rejects at family-wise rate 5 % "
                                             "(Holm over all settings); otherwise the data cannot tell (no claim of "
                                             "no effect)",
               "variants": {}}
    names = variants
    if progress:
        from tqdm.auto import tqdm
        names = tqdm(variants, desc="ablation settings")
    sigma_init = None
    for name in names:
        group, overrides = VARIANTS[name]
        overrides = dict(overrides)
        if overrides.get("beta_units") == "local-field":  # equal to the absolute range at the untrained nets
            overrides["beta_range"] = [b * sigma_init for b in settings["beta_range"]]
        config = _setting(settings, overrides, seeds)
        t0 = time.perf_counter()
        history, sigma0, sigma1 = _train(config)
        if name == "baseline":
            sigma_init = float(sigma0.mean())
        accuracy = np.stack([np.asarray(h["test_accuracy"]) for h in history], axis=1)  # (seeds, epochs)
        last = history[-1]
        results["variants"][name] = {
            "group": group, "overrides": overrides, "config": config,
            "test_accuracy": accuracy.tolist(), "accuracy_mean": accuracy.mean(0).tolist(),
            "accuracy_sem": (accuracy.std(0, ddof=1) / np.sqrt(len(seeds))).tolist(),
            "mean_wrong_label_states": float(np.mean(last["mean_wrong_label_states"])),
            "mean_gap": float(np.nanmean(last["mean_gap"])),
            "spin_updates": int(sum(h["spin_updates"] for h in history)) * len(seeds),
            "sigma_initial": float(sigma0.mean()), "sigma_final": float(sigma1.mean()),
            "sigma_growth": float(np.mean(sigma1 / sigma0)), "seconds": time.perf_counter() - t0}
    compare_to_baseline(results)
    results["study_seconds"] = time.perf_counter() - start
    plot_ablation(results, os.path.join(out, "ablation"))
    run.finish(results, "results.json")
    return results


def describe(results: dict) -> list[str]:
    """Markdown table rows of the ablation, as measured."""
    s = results["settings"]
    lines = [f"Baseline: {s['dataset']}, hidden {s['hidden']}, K = {s['spins_per_class']}, PA, R = {s['num_reads']}, "
             f"M = {s['num_negatives']}, {s['num_sweeps']} sweeps, beta {s['beta_range']}, lr {s['learning_rate']} "
             f"(cosine), {s['epochs']} epochs, {len(s['seeds'])} seeds.", "",
             "| setting | final test accuracy (mean ± s.e.) | paired difference from baseline [95 % t], p | "
             "wrong-label negatives / example | sigma growth | spin updates (all seeds) |",
             "|---|---|---|---|---|---|"]
    for name, r in results["variants"].items():
        lines.append(f"| {name} | {r['accuracy_mean'][-1]:.4f} ± {r['accuracy_sem'][-1]:.4f} | "
                     f"{paired_text(r['vs_baseline'])} | "
                     f"{r['mean_wrong_label_states']:.2f} | {r['sigma_growth']:.2f}× | {r['spin_updates']:.2e} |")
    return lines


def plot_ablation(results: dict, stem: str | None) -> None:
    """Test accuracy per epoch (mean ± s.e. over seeds) per group of settings, the baseline (black) in every
    panel."""
    from .figures import PAGE, figure

    groups = [g for g in dict.fromkeys(r["group"] for r in results["variants"].values()) if g != "baseline"]
    hues = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
    base = results["variants"]["baseline"]
    epochs = np.arange(1, len(base["accuracy_mean"]) + 1)
    panels = max(len(groups), 1)
    with figure(stem, PAGE, 2.5, 1, panels, squeeze=False) as (fig, axes):
        for ax, group in zip(axes[0], groups):
            ax.errorbar(epochs, base["accuracy_mean"], yerr=base["accuracy_sem"], fmt="o-", color="k", ms=2.5,
                        label="baseline")
            members = [(n, r) for n, r in results["variants"].items() if r["group"] == group]
            for hue, (name, r) in zip(hues, members):
                ax.errorbar(epochs, r["accuracy_mean"], yerr=r["accuracy_sem"], fmt="s--", color=hue, ms=2.5,
                            label=name)
            ax.set(xlabel="epoch", ylabel="test accuracy", xticks=epochs)
            ax.set_title(GROUP_TITLES.get(group, group), loc="left")
            ax.grid(True)
            ax.legend(title=f"{len(results['settings']['seeds'])} seeds" if ax is axes[0][0] else None)
