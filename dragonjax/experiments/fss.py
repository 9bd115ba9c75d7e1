"""Finite-size scaling of the dynamical training transition (DESIGN section 7) on a size sequence that is one:
a teacher-student task at fixed load alpha = P / N, every layer scaled with N (N inputs, N hidden spins; the
output code of C classes x K spins fixed), P = alpha N training examples, the same number of probe inputs at
every size.

For each size the ``seeds`` student networks train as one ensemble (annealer-assisted, PA) and the label order
m(t) -- the fraction of probe inputs whose free ground state decodes to the teacher's label, i.e. the accuracy
on the probe set -- is recorded before training and after every epoch (t in epochs: alpha N examples, so t is
examples per spin). Both parametrisations are run: ``standard`` (one learning rate, the control: its t* falls
with N by construction) and ``width-aware`` (learning rate ∝ 1/fan-in, so a step changes the fields equally at
every N). The collapse m = f((t - t*) N^{1/nu}) is fitted by :func:`dragonjax.analysis.fss.collapse` with
bootstrap intervals over seeds (the independent unit), and per seed t* = the first epoch with m >= 1/2.

One teacher per size (seed ``teacher_seed``): the teacher is the disorder; the seeds vary the student's initial
weights, sampler keys and example order.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..analysis.fss import collapse
from .results import RunDirectory, format_interval

__all__ = ["QUICK", "FULL", "run_fss", "plot_fss"]

QUICK = {"sizes": [16, 32, 64, 128], "seeds": 10, "load": 4, "epochs": 8, "probes": 200, "classes": 4,
         "spins_per_class": 4, "num_reads": 8, "num_sweeps": 32, "learning_rate": 0.01, "teacher_seed": 0,
         "parametrisations": ["width-aware", "standard"], "resamples": 200}
FULL = {**QUICK, "sizes": [32, 64, 128, 256, 512, 1024], "seeds": 16, "epochs": 16}


def _t_star(m, epochs):
    above = np.flatnonzero(np.asarray(m) >= 0.5)
    return float(epochs[above[0]]) if above.size else None


def label_order(size: int, settings: dict, parametrisation: str, seeds) -> np.ndarray:
    """m(t) of every seed at one size: (seeds, epochs + 1), epoch 0 the untrained students."""
    from .. import data as datasets
    from ..nn import IsingNetwork
    from ..train import AnnealerTrainer, Ensemble

    ds = datasets.teacher_student(num_inputs=size, hidden=size, num_classes=settings["classes"],
                                  num_train=settings["load"] * size, num_test=settings["probes"],
                                  seed=settings["teacher_seed"])
    net = IsingNetwork([size, size], settings["classes"], settings["spins_per_class"])
    trainer = AnnealerTrainer(net, "pa", settings["learning_rate"], num_reads=settings["num_reads"],
                              lr_schedule="constant", parametrisation=parametrisation,
                              sampler_options={"num_sweeps": settings["num_sweeps"]})
    ensemble = Ensemble(trainer, seeds)
    state = ensemble.init(-(-len(ds.x_train) // trainer.batch_size) * settings["epochs"])
    m0 = ensemble.evaluate(state, ds.x_test, ds.y_test)
    _, history = ensemble.fit(ds, settings["epochs"], state=state)
    return np.column_stack([m0] + [np.asarray(h["test_accuracy"]) for h in history])


def run_fss(out: str, settings: dict | None = None, progress: bool = True) -> dict:
    """The study of the module docstring; results.json, arrays.nc and fss.png/pdf in ``out``."""
    from ..train import parse_seeds
    from .training import summary

    settings = {**QUICK, **(settings or {})}
    seeds = parse_seeds(settings["seeds"])
    settings["seeds"] = seeds
    run = RunDirectory(out, {"study": "fss", **settings})
    start = time.perf_counter()
    epochs = np.arange(settings["epochs"] + 1, dtype=float)
    results = {"settings": settings, "rule": "t* = first epoch with m >= 1/2 (epoch = load x N examples)",
               "parametrisations": {}}
    variables = {}
    for parametrisation in settings["parametrisations"]:
        sizes = settings["sizes"]
        if progress:
            from tqdm.auto import tqdm
            sizes = tqdm(sizes, desc=f"fss sizes ({parametrisation})")
        m = np.stack([label_order(n, settings, parametrisation, seeds) for n in sizes])  # (sizes, seeds, t)
        fit = collapse(settings["sizes"], epochs, m, resamples=settings["resamples"])
        per_size = {}
        for n, ms in zip(settings["sizes"], m):
            stars = [_t_star(row, epochs) for row in ms]
            reached = [s for s in stars if s is not None]
            per_size[str(n)] = {"m_mean": ms.mean(0).tolist(), "m_sem": (ms.std(0, ddof=1) / np.sqrt(len(ms))).tolist(),
                                "t_star_per_seed": stars, "t_star": summary(reached) if reached else None,
                                "reached": len(reached)}
        results["parametrisations"][parametrisation] = {"collapse": fit, "sizes": per_size}
        variables[f"m_{parametrisation.replace('-', '_')}"] = (("size", "seed", "epoch"), m)
    results["study_seconds"] = time.perf_counter() - start
    run.save_dataset("arrays.nc", variables, {"size": np.asarray(settings["sizes"]), "seed": np.asarray(seeds),
                                              "epoch": epochs})
    plot_fss(results, os.path.join(out, "fss"))
    run.finish(results, "results.json")
    return results


def plot_fss(results: dict, stem: str):
    """Per parametrisation: m(t) per size (mean ± s.e. over seeds) and the collapse at the fitted t*, 1/nu."""
    from matplotlib.figure import Figure

    names = list(results["parametrisations"])
    fig = Figure(figsize=(11, 4.2 * len(names)))
    axes = fig.subplots(len(names), 2, squeeze=False)
    epochs = np.arange(results["settings"]["epochs"] + 1)
    for row, name in zip(axes, names):
        r = results["parametrisations"][name]
        fit = r["collapse"]
        for i, (n, s) in enumerate(r["sizes"].items()):
            row[0].errorbar(epochs, s["m_mean"], yerr=s["m_sem"], fmt="o-", ms=3, capsize=2, color=f"C{i}",
                            label=f"N = {n}")
            row[1].errorbar(fit["scaled"][i], s["m_mean"], yerr=s["m_sem"], fmt="o", ms=3, capsize=2, color=f"C{i}",
                            label=f"N = {n}")


        row[0].set(xlabel="epoch t (load × N examples)", ylabel="label order m (probe accuracy)",
                   title=f"{name} parametrisation: m(t, N), {len(results['settings']['seeds'])} seeds")
        row[1].set(xlabel="(t − t*) N^{1/ν}", ylabel="m",
                   title=f"collapse: t* = {fit['t_star']:.2f} {format_interval(fit['t_star_interval'], '')}, 1/ν = "
                         f"{fit['inv_nu']:.2f} {format_interval(fit['inv_nu_interval'], '')}, S = {fit['quality']:.2f}")
        row[1].title.set_fontsize(9)
        for ax in row:
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle("Teacher–student at fixed load α = P/N: finite-size scaling of the training transition",
                 fontsize=11)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{stem}.{ext}", dpi=130)
