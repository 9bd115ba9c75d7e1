"""Scaling exponents (DESIGN section 6): test error against training effort, annealer vs backprop.

For each trainer and each seed the network is trained with a *constant* learning rate (a decaying schedule
would bend the curve by itself) and the test error eps(t) recorded after every epoch t. The exponent alpha
of eps ~ t^-alpha is fitted by least squares on log eps = -alpha log t + c over a window chosen by this
rule, applied to the seed-averaged curve:

    window rule: from epoch 2 (epoch 1 is the random-weights transient) to the first epoch at which the
    mean error has fallen 90% of the way from its epoch-2 value to its final value (plateau onset),
    with at least 4 epochs.

Confidence intervals: 2000 bootstrap resamples of the seeds (the window is re-chosen on each resample);
the 2.5 and 97.5 percentiles. The Grover cost model turns the measured search cost into a predicted
exponent: classically, an epoch costs ∝ D(t), the number of deep candidate states to search (measured as
1 + the trainer's mean number of wrong-label states per example among its M negatives, so D <= 1 + M); a
Grover search costs ∝ sqrt(D(t)). Refitting eps against the cumulative classical and Grover costs gives
alpha_classical-cost and alpha_Grover; their ratio is the predicted gain.
This is a model prediction, not a measurement of a quantum device.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..train import parse_seeds
from .results import RunDirectory
from .training import run_training

__all__ = ["QUICK", "FULL", "plateau_window", "fit_exponent", "bootstrap_exponent", "run_scaling", "plot_scaling"]

QUICK = {"epochs": 12, "seeds": 5, "hidden": [128], "spins_per_class": 4, "num_reads": 8, "num_sweeps": 32}
FULL = {"epochs": 40, "seeds": 10, "hidden": [256], "spins_per_class": 8, "num_reads": 16, "num_sweeps": 64}
PAPER = {"annealer": 1.01, "backprop": 0.78}


def plateau_window(mean_error, first: int = 2, fraction: float = 0.9, min_points: int = 4):
    """(start, stop) epochs (1-based, inclusive) of the power-law window by the rule in the module doc."""
    e = np.asarray(mean_error, float)
    n = len(e)
    start = min(first, n)
    drop = e[start - 1] - e[-1]
    stop = n
    if drop > 0:
        reached = np.flatnonzero(e[start - 1:] <= e[start - 1] - fraction * drop)
        if reached.size:
            stop = start + int(reached[0])
    stop = min(max(stop, start + min_points - 1), n)
    return start, stop


def fit_exponent(effort, error, window):
    """alpha, c of log error = -alpha log effort + c over the window (1-based epochs, inclusive)."""
    a, b = window
    t = np.asarray(effort, float)[a - 1:b]
    e = np.maximum(np.asarray(error, float)[a - 1:b], 1e-12)
    slope, intercept = np.polyfit(np.log(t), np.log(e), 1)
    return float(-slope), float(intercept)


def bootstrap_exponent(errors, effort=None, resamples: int = 2000, seed: int = 0):
    """errors (seeds, epochs) -> alpha on the mean curve, its 95% bootstrap interval over seeds, window."""
    errors = np.asarray(errors, float)
    effort = np.arange(1, errors.shape[1] + 1) if effort is None else np.asarray(effort, float)
    mean = errors.mean(0)
    window = plateau_window(mean)
    alpha, c = fit_exponent(effort, mean, window)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(resamples):
        sample = errors[rng.integers(0, len(errors), len(errors))].mean(0)
        draws.append(fit_exponent(effort, sample, plateau_window(sample))[0])
    low, high = np.percentile(draws, [2.5, 97.5])
    return {"alpha": alpha, "intercept": c, "ci95": [float(low), float(high)], "window_epochs": list(window)}


def grover_prediction(errors, wrong_label_states):
    """Exponents of error against cumulative classical (∝ D) and Grover (∝ sqrt D) search cost, with
    D = 1 + wrong-label states per example (seeds, epochs)."""
    mean = np.asarray(errors, float).mean(0)
    d = 1.0 + np.asarray(wrong_label_states, float).mean(0)
    window = plateau_window(mean)
    classical = fit_exponent(np.cumsum(d), mean, window)[0]
    grover = fit_exponent(np.cumsum(np.sqrt(d)), mean, window)[0]
    return {"alpha_classical_cost": classical, "alpha_grover_cost": grover,
            "predicted_gain": grover / classical if classical else None, "window_epochs": list(window),
            "mean_search_size_per_epoch": d.tolist()}


def run_scaling(out: str, settings: dict | None = None, sampler: str = "pa", dataset: str = "digits",
                progress: bool = True) -> dict:
    settings = {**QUICK, **(settings or {})}
    run = RunDirectory(out, {"study": "scaling", "sampler": sampler, "dataset": dataset, **settings})
    start = time.perf_counter()
    curves = {"annealer": [], "backprop": []}
    wrong, times = [], {}
    seeds = parse_seeds(settings["seeds"])  # a count N (0..N-1) or a list
    settings["seeds"] = seeds if not isinstance(settings["seeds"], int) else settings["seeds"]
    trainers = ("annealer", "backprop")
    if progress:
        from tqdm.auto import tqdm
        trainers = tqdm(trainers, desc="scaling trainers")
    for trainer in trainers:  # all seeds of a trainer as one ensemble
        config = {"dataset": dataset, "trainer": trainer, "sampler": sampler, "seeds": seeds,
                  "epochs": settings["epochs"], "hidden": settings["hidden"], "lr_schedule": "constant",
                  "spins_per_class": settings["spins_per_class"], "num_reads": settings["num_reads"],
                  "num_sweeps": settings["num_sweeps"]}
        metrics = run_training(config)
        history = metrics["history"]
        curves[trainer] = (1.0 - np.stack([h["test_accuracy"] for h in history], axis=1)).tolist()
        times[trainer] = metrics["wall_seconds"]
        if trainer == "annealer":
            wrong = np.stack([h["mean_wrong_label_states"] for h in history], axis=1).tolist()
    from .. import data as datasets

    n_train = len(datasets.load(dataset).x_train)
    results = {"settings": settings, "sampler": sampler, "dataset": dataset, "train_examples": n_train,
               "paper": PAPER, "test_error": curves, "mean_wrong_label_states": wrong, "wall_seconds": times}
    for trainer in curves:
        results[trainer] = bootstrap_exponent(curves[trainer])
    results["grover_model"] = grover_prediction(curves["annealer"], wrong)
    a, b = results["annealer"], results["backprop"]
    results["verdict"] = (
        f"measured alpha_annealer = {a['alpha']:.2f} [{a['ci95'][0]:.2f}, {a['ci95'][1]:.2f}] vs alpha_backprop = "
        f"{b['alpha']:.2f} [{b['ci95'][0]:.2f}, {b['ci95'][1]:.2f}] (paper: 1.01 vs 0.78); "
        + ("annealer-assisted training scales faster" if a["ci95"][0] > b["ci95"][1] else
           "backprop scales faster" if b["ci95"][0] > a["ci95"][1] else
           "the intervals overlap: no significant difference at this size"))
    results["study_seconds"] = time.perf_counter() - start
    run.save_dataset("arrays.nc", {
        "test_error_annealer": (("seed", "epoch"), curves["annealer"]),
        "test_error_backprop": (("seed", "epoch"), curves["backprop"]),
        "mean_wrong_label_states": (("seed", "epoch"), wrong),
        "wall_seconds": (("trainer",), [times["annealer"], times["backprop"]])},
        {"seed": np.asarray(seeds), "epoch": np.arange(1, settings["epochs"] + 1),
         "trainer": np.array(["annealer", "backprop"])})
    plot_scaling(results, os.path.join(out, "scaling"))
    run.finish(results, "results.json")
    return results


def plot_scaling(results: dict, stem: str):
    """Log-log test error vs epochs, mean over seeds with the seed range, fitted lines, alpha +- CI."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend (e.g. a notebook's) alone

    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.subplots()
    colours = {"annealer": "tab:red", "backprop": "tab:blue"}
    names = {"annealer": "annealer-assisted (PA)", "backprop": "backprop (tanh MLP)"}
    for trainer, colour in colours.items():
        errors = np.asarray(results["test_error"][trainer])
        t = np.arange(1, errors.shape[1] + 1)
        fit = results[trainer]
        ax.fill_between(t, errors.min(0), errors.max(0), color=colour, alpha=0.15)
        ax.plot(t, errors.mean(0), "o", color=colour, ms=4)
        a, b = fit["window_epochs"]
        tw = t[a - 1:b]
        ax.plot(tw, np.exp(fit["intercept"]) * tw ** (-fit["alpha"]), "-", color=colour, lw=2,
                label=f"{names[trainer]}: α = {fit['alpha']:.2f} [{fit['ci95'][0]:.2f}, {fit['ci95'][1]:.2f}]")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training effort t (epochs; 1 epoch = %d examples)" % results["train_examples"])
    ax.set_ylabel("test error ε(t)")
    seeds = len(results["test_error"]["annealer"])
    ax.set_title(f"Test error vs training effort on {results['dataset']}, {seeds} seeds\n"
                 "(points: mean; band: seed range; lines: power-law fits, 95% bootstrap CI)", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{stem}.{ext}", dpi=150)
