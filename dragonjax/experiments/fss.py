"""Finite-size scaling of the dynamical training transition (DESIGN section 7) on a size sequence that is one:
a teacher-student task at fixed load alpha = P / N, the input and hidden layers scaled with N (N inputs, N
hidden spins; the output code of C classes x K spins fixed, C K = 16), P = alpha N training examples, the same
number of probe inputs at every size. Because the output does not grow, the hidden spins' only couplings (to the
16 output spins, weights of variance 1 / N) weaken as N grows -- sum_j J_ij^2 ~ 16 / N, 1.0 at N = 16 and 0.13
at N = 128 at initialisation -- while their input fields stay O(1): as a thermal system the hidden layer tends
to free spins in random fields, so this sequence is built for the dynamical transition (the label order), not
for a thermodynamic glass of the hidden spins.

For each size the ``seeds`` student networks train as one ensemble (annealer-assisted, PA) and the label order
m(t) -- the fraction of probe inputs whose free ground state decodes to the teacher's label, i.e. the accuracy
on the probe set -- is recorded before training and after every epoch (t in epochs: alpha N examples, so t is
examples per spin). Both parametrisations are run: ``standard`` (one learning rate, the control: its t* falls
with N by construction) and ``width-aware`` (learning rate ∝ 1/fan-in, so a step changes the fields equally at
every N). The collapse m = f((t - t*) N^{1/nu}) is fitted by :func:`dragonjax.analysis.fss.collapse` with
bootstrap intervals over seeds (the independent unit), and per seed t* = the first epoch with m >= 1/2.

One teacher per size (seed ``teacher_seed``): the teacher is the disorder; the seeds vary the student's initial
weights, sampler keys and example order.

**The thermal transition** (T_c(t), separate from the dynamical one in t at T -> 0): at the ``thermal_epochs``
the first ``thermal_seeds`` students of the ``thermal_parametrisation`` are frozen and their thermal glass is
measured (:func:`dragonjax.experiments.transition.thermal_glass`: independent parallel-tempering replicas of every
(student, probe input) problem, the connected Binder cumulant g and the replicon chi_SG of the hidden-spin
overlap, errors by a cluster bootstrap over the students -- each with its probe inputs) at temperatures in
units of each student's rms local field sigma. T_c(t) is the crossing of
g between neighbouring sizes by the resolved-crossing rule of :mod:`dragonjax.analysis.fss` (``transition`` only
for a resolved crossing with g* > 0). The null control: the final students with their hidden -> output couplings
set to zero, at the trained students' own scales. Every (epoch, size) gets its own seed, so the bootstrap
resamplings of two sizes are independent. In strong fields the connected g is dominated by rare samples and
can be large and negative (e.g. when fewer than one spin per problem is thermally active at low T); the crossing
test's power in fields has not been shown on a known system (a glass in a field below its AT line).
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..analysis.fss import collapse
from .results import RunDirectory, format_interval

__all__ = ["QUICK", "FULL", "describe_landscape", "describe_thermal", "landscape_along_sizes", "melting_temperature",
           "run_fss", "plot_fss", "plot_thermal_fss"]

QUICK = {"sizes": [16, 32, 64, 128], "seeds": 10, "load": 4, "epochs": 8, "probes": 200, "classes": 4,
         "spins_per_class": 4, "num_reads": 8, "num_sweeps": 32, "learning_rate": 0.01, "teacher_seed": 0,
         "parametrisations": ["width-aware", "standard"], "resamples": 200,
         "thermal_parametrisation": "width-aware", "thermal_epochs": [0, 2, 4, 8], "thermal_seeds": 10,
         "thermal_probes": 6, "thermal_sweeps": 1024, "landscape_probes": 24, "anneals": 32,
         "thermal_temperatures": [0.1, 0.17, 0.3, 0.5, 0.8, 1.3, 2.0]}
FULL = {**QUICK, "sizes": [32, 64, 128, 256, 512, 1024], "seeds": 16, "epochs": 16}


def _t_star(m, epochs):
    above = np.flatnonzero(np.asarray(m) >= 0.5)
    return float(epochs[above[0]]) if above.size else None


def label_order(size: int, settings: dict, parametrisation: str, seeds, snapshots=None) -> np.ndarray:
    """m(t) of every seed at one size: (seeds, epochs + 1), epoch 0 the untrained students. With ``snapshots``
    a dict, the test set and the parameters of the first ``thermal_seeds`` students at each of the
    ``thermal_epochs`` are stored in it (``"x"``, and epoch -> list of parameters)."""
    from .. import data as datasets
    from ..nn import IsingNetwork
    from ..train import AnnealerTrainer, Ensemble, member

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

    def keep(state, record=None):
        epoch = 0 if record is None else record["epoch"]
        if snapshots is not None and epoch in settings["thermal_epochs"]:
            snapshots[epoch] = [member(state, i).params for i in range(min(settings["thermal_seeds"], len(seeds)))]

    if snapshots is not None:
        snapshots["x"], snapshots["network"] = ds.x_test[:settings["thermal_probes"]], net
        probes = settings["landscape_probes"]
        snapshots["landscape_probes"] = (ds.x_test[:probes], ds.y_test[:probes])
        keep(state)
    _, history = ensemble.fit(ds, settings["epochs"], state=state, on_epoch=keep)
    return np.column_stack([m0] + [np.asarray(h["test_accuracy"]) for h in history])


LANDSCAPE_KEYS = ("m", "mean_heads_beyond_lowest", "heads_on_correct_inputs", "mean_minima", "median_gap_per_spin",
                  "chi_sg", "binder")


def landscape_along_sizes(snapshots: dict, settings: dict) -> dict:
    """Heads beyond the lowest state, distinct minima, the per-spin code gap, and the replicon chi_SG / Binder
    cumulant of the anneal outcomes of the frozen students at every snapshot epoch and size
    (:class:`~dragonjax.experiments.transition.TransitionTracker`: ``anneals`` independent SA runs per probe input,
    quenched; the permuted-output null control beside), mean and standard error over the students."""
    from .transition import TransitionTracker

    out = {}
    for n, snap in sorted(snapshots.items()):
        x, y = snap["landscape_probes"]
        tracker = TransitionTracker(snap["network"], x, y, settings["anneals"], seed=settings["teacher_seed"])
        epochs = sorted(e for e in snap if isinstance(e, (int, np.integer)))
        per_epoch = {}
        for e in epochs:
            records = [tracker.record(p, e) for p in snap[e]]
            entry = {}
            for k in LANDSCAPE_KEYS:
                for name, rows in (("", records), ("null_", [r["null"] for r in records])):
                    if k not in rows[0]:
                        continue
                    v = np.array([np.nan if r[k] is None else r[k] for r in rows], float)
                    entry[name + k] = float(np.nanmean(v)) if np.isfinite(v).any() else None
                    entry[name + k + "_sem"] = (float(np.nanstd(v, ddof=1) / np.sqrt(np.isfinite(v).sum()))
                                                if np.isfinite(v).sum() > 1 else None)
            per_epoch[str(e)] = entry
        out[str(n)] = per_epoch
    return {"probes": settings["landscape_probes"], "anneals": settings["anneals"], "per_size": out}


def describe_landscape(landscape: dict) -> list[str]:
    """A markdown table of :func:`landscape_along_sizes`: per size and snapshot epoch, mean ± s.e. over students."""
    def cell(entry, k, digits=2):
        v, e = entry.get(k), entry.get(k + "_sem")
        return "—" if v is None else f"{v:.{digits}f}" + ("" if e is None else f" ± {e:.{digits}f}")

    lines = ["| N | epoch | m | heads beyond lowest (null) | correct inputs with heads | distinct minima (null) | "
             "code gap / spin | χ_SG / N among anneals (null) |", "|---|---|---|---|---|---|---|---|"]
    for n, per_epoch in landscape["per_size"].items():
        for e, r in per_epoch.items():
            chi = {k: (None if r.get(k) is None else r[k] / int(n)) for k in ("chi_sg", "null_chi_sg")}
            chi |= {k + "_sem": (None if r.get(k + "_sem") is None else r[k + "_sem"] / int(n))
                    for k in ("chi_sg", "null_chi_sg")}
            lines.append(f"| {n} | {e} | {cell(r, 'm')} | {cell(r, 'mean_heads_beyond_lowest')} "
                         f"({cell(r, 'null_mean_heads_beyond_lowest')}) | {cell(r, 'heads_on_correct_inputs')} | "
                         f"{cell(r, 'mean_minima', 1)} "
                         f"({cell(r, 'null_mean_minima', 1)}) | {cell(r, 'median_gap_per_spin', 3)} | "
                         f"{cell(chi, 'chi_sg', 3)} ({cell(chi, 'null_chi_sg', 3)}) |")
    return lines


def melting_temperature(snapshots: dict, settings: dict, progress: bool = False) -> dict:
    """T_c(t): the thermal glass of the frozen students of every size at every snapshot epoch, the crossings of g
    between neighbouring sizes, and the null control at the last epoch (module docstring). ``snapshots``: size ->
    the dict filled by :func:`label_order`."""
    from ..analysis.fss import size_crossing
    from .transition import decoupled_output, thermal_glass

    sizes = sorted(snapshots)
    epochs = sorted(e for e in snapshots[sizes[0]] if isinstance(e, (int, np.integer)))
    reduced = np.asarray(settings["thermal_temperatures"], float)
    options = {"sweeps": settings["thermal_sweeps"], "resamples": settings["resamples"]}
    jobs = [(e, n) for e in epochs for n in sizes]
    if progress:
        from tqdm.auto import tqdm
        jobs = tqdm(jobs, desc="thermal glass (epoch, size)")
    glass, null = {}, {}
    for e, n in jobs:
        snap = snapshots[n]
        seed = 10_000 * int(e) + int(n)  # independent resampling indices per (epoch, size)
        glass[e, n] = thermal_glass(snap["network"], snap[e], snap["x"], reduced, seed=seed, **options)
        if e == epochs[-1]:
            null[n] = thermal_glass(snap["network"], [decoupled_output(p) for p in snap[e]], snap["x"], reduced,
                                    energy_scale=glass[e, n]["energy_scale"], seed=seed + 5_000, **options)

    def curves(measured):
        return {str(n): {k: [c[k] for c in measured[n]["curve"]] for k in ("g", "g_error", "chi_sg", "chi_sg_error")}
                | {"equilibrated": measured[n]["equilibrated"]} for n in measured}

    def crossings(measured):
        g = {n: ({"g": np.array([c["g"] for c in measured[n]["curve"]])}, measured[n]["draws"]) for n in measured}
        return [{"sizes": [a, b], **size_crossing(reduced, g[a], g[b])} for a, b in zip(sizes[:-1], sizes[1:])]

    per_epoch = {}
    for e in epochs:
        at = {n: glass[e, n] for n in sizes}
        per_epoch[str(e)] = {"curves": curves(at), "crossings": crossings(at),
                             "energy_scale": {str(n): at[n]["energy_scale"] for n in sizes}}
    return {"reduced_temperatures": reduced.tolist(), "epochs": epochs, "sizes": sizes, "per_epoch": per_epoch,
            "null_control": {"epoch": epochs[-1], "curves": curves(null), "crossings": crossings(null)},
            "problems_per_size": len(snapshots[sizes[0]][epochs[0]]) * len(snapshots[sizes[0]]["x"]),
            "equilibrated": all(g["equilibrated"] for g in glass.values())}


def _crossing_text(c) -> str:
    pair = f"{c['sizes'][0]}/{c['sizes'][1]}"
    if c["resolved"]:
        return (f"{pair}: T_c/σ = {c['temperature']:.2f} {format_interval(c['interval'])}"
                + ("" if c["transition"] else " (not a transition: g* interval not above 0 or crossing in < 97.5 % "
                                              "of resamples)"))
    return f"{pair}: none" + (f" (unresolved sign change at {c['unresolved_crossing']:.2f})"
                              if c["unresolved_crossing"] is not None else "")


def describe_thermal(thermal: dict) -> list[str]:
    """One line per snapshot epoch (and the null control): the g crossings of neighbouring sizes, as measured."""
    lines = [f"- epoch {e}: " + "; ".join(_crossing_text(c) for c in r["crossings"])
             for e, r in thermal["per_epoch"].items()]
    null = thermal["null_control"]
    lines.append(f"- null control (epoch {null['epoch']}, hidden → output couplings zero): "
                 + "; ".join(_crossing_text(c) for c in null["crossings"]))
    if not thermal["equilibrated"]:
        lines.append("- (the stationarity check failed at some temperature: the low-T points are not equilibrated)")
    return lines


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
        thermal = parametrisation == settings["thermal_parametrisation"] and settings["thermal_epochs"]
        snapshots = {n: {} for n in settings["sizes"]} if thermal else None
        m = np.stack([label_order(n, settings, parametrisation, seeds, snapshots[n] if thermal else None)
                      for n in sizes])  # (sizes, seeds, t)
        fit = collapse(settings["sizes"], epochs, m, resamples=settings["resamples"])
        per_size = {}
        for n, ms in zip(settings["sizes"], m):
            stars = [_t_star(row, epochs) for row in ms]
            reached = [s for s in stars if s is not None]
            per_size[str(n)] = {"m_mean": ms.mean(0).tolist(), "m_sem": (ms.std(0, ddof=1) / np.sqrt(len(ms))).tolist(),
                                "t_star_per_seed": stars, "t_star": summary(reached) if reached else None,
                                "reached": len(reached)}
        results["parametrisations"][parametrisation] = {"collapse": fit, "sizes": per_size}
        if thermal:
            results["thermal"] = {"parametrisation": parametrisation, **melting_temperature(snapshots, settings,
                                                                                           progress)}
            results["landscape"] = {"parametrisation": parametrisation, **landscape_along_sizes(snapshots, settings)}
        variables[f"m_{parametrisation.replace('-', '_')}"] = (("size", "seed", "epoch"), m)
    results["study_seconds"] = time.perf_counter() - start
    run.save_dataset("arrays.nc", variables, {"size": np.asarray(settings["sizes"]), "seed": np.asarray(seeds),
                                              "epoch": epochs})
    plot_fss(results, os.path.join(out, "fss"))
    if "thermal" in results:
        plot_thermal_fss(results, os.path.join(out, "thermal"))
    run.finish(results, "results.json")
    return results


def plot_fss(results: dict, stem: str | None) -> None:
    """Per parametrisation (rows): m(t) per size (mean ± s.e. over seeds; left) and the collapse at the fitted
    t*, 1/nu (right; the fitted values and intervals are in the report). One colour per size."""
    from .figures import PAGE, figure, key_legend, size_colour

    names = list(results["parametrisations"])
    epochs = np.arange(results["settings"]["epochs"] + 1)
    seeds = len(results["settings"]["seeds"])
    with figure(stem, PAGE, 2.3 * len(names), len(names), 2, squeeze=False) as (fig, axes):
        for row, name in zip(axes, names):
            r = results["parametrisations"][name]
            fit = r["collapse"]
            for i, (n, size) in enumerate(r["sizes"].items()):
                colour = size_colour(int(n))
                row[0].errorbar(epochs, size["m_mean"], yerr=size["m_sem"], fmt="o-", color=colour)
                row[1].errorbar(fit["scaled"][i], size["m_mean"], yerr=size["m_sem"], fmt="o", color=colour)
            row[0].set(xlabel="epoch t (load × N examples)", ylabel=f"label order m\n({name})")
            row[1].set(xlabel="(t − t*) N^(1/ν)", ylabel="m")
            row[1].text(0.97, 0.05, f"t* = {fit['t_star']:.2f}, 1/ν = {fit['inv_nu']:.2f}", ha="right",
                        transform=row[1].transAxes)
            for ax in row:
                ax.grid(True)
        key_legend(axes[0][0], list(results["parametrisations"][names[0]]["sizes"]), "N",
                   title=f"{seeds} seeds, mean ± s.e.", loc="lower right")


def plot_thermal_fss(results: dict, stem: str | None) -> None:
    """(a–c) The connected Binder cumulant g(T) per size at the first and last snapshot epoch and of the null
    control (symmetric-log axis: g can be large and negative in fields); (d) the replicon chi_SG / N at the last
    epoch (solid) beside its null (dotted); (e) the resolved crossings T_c(t) of neighbouring sizes against the
    epoch (filled: g* > 0, a transition; open: not). One colour per size (a crossing: the larger size's)."""
    from .figures import NULL, PAGE, TRAINED, figure, key_legend, log_errorbar, size_colour

    th = results["thermal"]
    t = np.asarray(th["reduced_temperatures"])
    first, last = str(th["epochs"][0]), str(th["epochs"][-1])
    sizes = [int(n) for n in th["sizes"]]
    with figure(stem, PAGE, 4.4, 2, 3) as (fig, axes):
        axes = axes.ravel()
        panels = [(f"epoch {first}", th["per_epoch"][first]["curves"]),
                  (f"epoch {last}", th["per_epoch"][last]["curves"]),
                  (f"null control, epoch {last}", th["null_control"]["curves"])]
        for ax, (name, curves) in zip(axes, panels):
            for n, c in curves.items():
                ax.errorbar(t, c["g"], yerr=c["g_error"], fmt="o-", ms=2.5, color=size_colour(int(n)))
            ax.axhline(0, color="0.5", lw=0.5)
            ax.set(xscale="log", xlabel="T / σ (rms local field)", ylabel="connected Binder g")
            ax.set_yscale("symlog", linthresh=0.1)
            ax.set_title(name, loc="left")
            ax.grid(True)
        ax = axes[3]
        for n in sizes:
            for curves, style in ((th["per_epoch"][last]["curves"], TRAINED), (th["null_control"]["curves"], NULL)):
                c = curves[str(n)]
                log_errorbar(ax, t, np.asarray(c["chi_sg"]) / n, np.asarray(c["chi_sg_error"]) / n,
                             colour=size_colour(n), fmt="o" + style, ms=2.5)
        ax.set(xscale="log", yscale="log", xlabel="T / σ (rms local field)", ylabel="replicon χ_SG / N")
        ax.set_title(f"χ_SG, epoch {last}", loc="left")
        ax.grid(True)
        ax = axes[4]
        resolved_count = sum(c["resolved"] for r in th["per_epoch"].values() for c in r["crossings"])
        total = sum(len(r["crossings"]) for r in th["per_epoch"].values())
        for i, pair in enumerate(zip(sizes[:-1], sizes[1:])):
            pts = [(int(e), c) for e, r in th["per_epoch"].items() for c in r["crossings"]
                   if tuple(c["sizes"]) == pair and c["resolved"]]
            for e, c in pts:
                colour = size_colour(pair[1])
                ax.errorbar(e + 0.12 * i, c["temperature"], yerr=[[max(c["temperature"] - c["interval"][0], 0)],
                                                                  [max(c["interval"][1] - c["temperature"], 0)]],
                            fmt="o", mfc=colour if c["transition"] else "none", color=colour)
        ax.set(xlabel="epoch t", ylabel="crossing T_c / σ", yscale="log", ylim=(t.min() / 1.5, t.max() * 1.5),
               xlim=(-0.5, max(th["epochs"]) + 0.5))
        ax.set_title(f"{resolved_count} of {total} crossings resolved", loc="left")
        if not resolved_count:
            ax.text(0.5, 0.5, "no crossing of neighbouring\nsizes resolved at any epoch", ha="center", va="center",
                    transform=ax.transAxes)
        ax.grid(True)
        axes[5].axis("off")  # the key of every panel
        key_legend(axes[5], sizes, "N", [(f"epoch {last} (d)", {"ls": TRAINED}), ("null control (d)", {"ls": NULL}),
                                         ("T_c, g* > 0 (e)", {"marker": "o", "ls": ""}),
                                         ("g* ≤ 0: no transition (e)", {"marker": "o", "mfc": "none", "ls": ""})],
                   title=f"{results['settings'].get('thermal_seeds')} students × "
                         f"{results['settings'].get('thermal_probes')} probes per size", loc="center")
