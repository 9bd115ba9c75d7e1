"""The headline study in one command: annealer-assisted vs backprop training on digits, the glass -> order
transition, both scaling exponents, and a short report beside the paper's claims.

Quick default (this 2-core CPU: 13.7 minutes measured): the kernels against exact answers (validation), the
default training run of each trainer, the transition study over widths 32/64/128, the finite-size-scaling study
(teacher-student sizes 16-128 at fixed load, with T_c(t) and the landscape along the sizes) and the exponent
study (10 seeds x 6 epochs per trainer). ``full=True`` uses the paper-sized settings (widths up to 512, larger
sizes and more seeds; meant for a GPU, not run).
"""
from __future__ import annotations

import os
import time

from .results import RunDirectory, format_interval
from .scaling import FULL, PAPER, QUICK, describe, exponent_summary, run_scaling
from ..ising import ProblemError
from .training import holds_run, run_training
from .transition import run_transition
from .validation import run_validation

__all__ = ["run_reproduce", "write_report"]


def run_reproduce(out: str, full: bool = False, seed: int = 0, progress: bool = True) -> dict:
    """The headline study into ``out`` (module docstring): validation, both trainers, the transition over
    widths, the finite-size-scaling and exponent studies, ``REPORT.md`` and ``results.json``. Refuses an ``out``
    that already holds a reproduction."""
    for trainer in ("annealer", "backprop"):  # refuse before any work, not after the validation stage
        if holds_run(os.path.join(out, f"train_{trainer}")):
            raise ProblemError(f"{out} already holds a reproduction (train_{trainer}/); choose a new --out or "
                               f"remove it")
    run = RunDirectory(out, {"study": "reproduce", "full": full, "seed": seed})
    start = time.perf_counter()
    results = {"training": {}}
    validation = run_validation(os.path.join(out, "validation"), seed=seed, progress=progress)
    results["validation"] = {"pa_log_z_max_abs_z": max(map(abs, validation["population_annealing"]["log_z_z"])),
                             "pa_energy_max_abs_z": max(map(abs, validation["population_annealing"]["energy_z"])),
                             "piqmc_energy_max_abs_z": max(map(abs, validation["piqmc"]["problem_energy_z"])),
                             "piqmc_sigma_x_max_abs_z": max(map(abs, validation["piqmc"]["sigma_x_z"])),
                             "comparisons": 2 * len(validation["population_annealing"]["betas"])
                             + 2 * len(validation["piqmc"]["gammas"])}
    for trainer in ("annealer", "backprop"):
        metrics = run_training({"trainer": trainer, "seed": seed, "epochs": 40 if full else 20},
                               out=os.path.join(out, f"train_{trainer}"), progress=progress)
        results["training"][trainer] = {k: metrics[k] for k in ("test_accuracy", "train_accuracy", "wall_seconds")}
    transition = run_transition(os.path.join(out, "transition"), (32, 64, 128, 256, 512) if full else (32, 64, 128),
                                seed=seed, progress=progress)
    results["transition"] = {w: {k: r[k] for k in ("t_star", "sharpness", "test_accuracy")}
                             for w, r in transition["widths"].items()}
    results["transition"]["first_and_last"] = {
        w: {"heads": [r["records"][0]["mean_heads"], r["records"][-1]["mean_heads"]],
            "heads_beyond_lowest": [r["records"][0]["mean_heads_beyond_lowest"],
                                    r["records"][-1]["mean_heads_beyond_lowest"]],
            "null_heads_beyond_lowest": [r["records"][0]["null"]["mean_heads_beyond_lowest"],
                                         r["records"][-1]["null"]["mean_heads_beyond_lowest"]],
            "heads_on_correct_inputs": r["records"][-1]["heads_on_correct_inputs"],
            "m": [r["records"][0]["m"], r["records"][-1]["m"]],
            "chi_sg_per_spin": [r["records"][0]["chi_sg"] / int(w), r["records"][-1]["chi_sg"] / int(w)],
            "null_chi_sg_per_spin": [r["records"][0]["null"]["chi_sg"] / int(w),
                                     r["records"][-1]["null"]["chi_sg"] / int(w)],
            "minima": [r["records"][0]["mean_minima"], r["records"][-1]["mean_minima"]],
            "median_gap": [r["records"][0]["median_gap"], r["records"][-1]["median_gap"]]}
        for w, r in transition["widths"].items()}
    results["transition"]["thermal_crossings"] = {
        name: [{k: c[k] for k in ("widths", "temperature", "interval", "resolved", "transition")} for c in pairs]
        for name, pairs in transition["thermal_crossings"].items()}
    from . import fss

    finite_size = fss.run_fss(os.path.join(out, "fss"), dict(fss.FULL if full else fss.QUICK), progress=progress)
    results["fss"] = {name: {k: r["collapse"][k] for k in ("t_star", "t_star_interval", "inv_nu", "inv_nu_interval",
                                                           "nu", "quality", "collapses")}
                      for name, r in finite_size["parametrisations"].items()}
    if "thermal" in finite_size:
        th = finite_size["thermal"]
        results["fss_thermal"] = {"per_epoch": {e: {"crossings": r["crossings"]} for e, r in th["per_epoch"].items()},
                                  "null_control": {k: th["null_control"][k] for k in ("epoch", "crossings")},
                                  "equilibrated": th["equilibrated"]}
    if "landscape" in finite_size:
        results["fss_landscape"] = finite_size["landscape"]
    scaling = run_scaling(os.path.join(out, "scaling"), dict(FULL if full else QUICK), progress=progress)
    results["scaling"] = exponent_summary(scaling)
    results["verdicts"] = scaling.get("verdicts", {})
    results["paper"] = PAPER
    results["study_seconds"] = time.perf_counter() - start
    write_report(results, os.path.join(out, "REPORT.md"))
    run.finish(results, "results.json")
    return results


def _fss_lines(fss: dict | None, thermal: dict | None = None, landscape: dict | None = None) -> list[str]:
    """The finite-size-scaling section of the report (teacher-student at fixed load; figure fss/fss.png)."""
    if not fss:
        return []
    from .fss import describe_landscape, describe_thermal

    thermal_lines = [] if not thermal else [
        "Thermal transition of the frozen students (T_c(t): Binder crossings of neighbouring sizes in T, T in units "
        "of each student's rms local field; resolved-crossing rule; figure `fss/thermal.png`):", "",
        *describe_thermal(thermal), ""]
    if landscape:
        thermal_lines += [f"Landscape of the frozen students along the sizes ({landscape['anneals']} independent "
                          f"anneals on {landscape['probes']} probe inputs, mean ± s.e. over students; null: output "
                          f"couplings permuted):", "", *describe_landscape(landscape), ""]

    return ["## Finite-size scaling of the training transition (teacher–student at fixed load)", "",
            "Collapse m = f((t − t*)·N^{1/ν}) of the label order over sizes, bootstrap intervals over seeds; the "
            "standard parametrisation is the control (t* ∝ 1/N from the step size alone gives 1/ν ≈ 1). Figure: "
            "`fss/fss.png`.", "",
            *[f"- {name}: t* = {c['t_star']:.2f} {format_interval(c['t_star_interval'])} epochs, "
              f"1/ν = {c['inv_nu']:.2f} {format_interval(c['inv_nu_interval'])}, quality S = {c['quality']:.2f}"
              for name, c in fss.items()], "", *thermal_lines]


def write_report(results: dict, path: str) -> None:
    """Write the Markdown report of a :func:`run_reproduce` result to ``path``."""
    t, s = results["training"], results["scaling"]
    lines = [
        "# dragonjax reproduction report", "",
        "Zhang & Kamenev, *How to Train Your Dragon: Quantum Neural Networks* (arXiv:2506.05244), claims tested "
        "with the measured numbers of this run (regenerate with `dragonjax reproduce --out DIR`).", "",
        "## Kernels against exact answers", "",
        *([f"Population annealing (SK N = 14, 5 temperatures) and path-integral QMC (transverse-field SK N = 8, 5 "
           f"values of Γ) against enumeration, the exact Trotter model and exact diagonalisation, "
           f"{v['comparisons']} comparisons: largest |z| = {max(v[k] for k in v if k.endswith('_z')):.2f} "
           f"(ln Z {v['pa_log_z_max_abs_z']:.2f}, ⟨E⟩ {v['pa_energy_max_abs_z']:.2f}, PIQMC ⟨E⟩ "
           f"{v['piqmc_energy_max_abs_z']:.2f}, ⟨σˣ⟩ {v['piqmc_sigma_x_max_abs_z']:.2f}). Figure: "
           f"`validation/validation.png`.", ""] if (v := results.get("validation")) else []),
        "## Training on digits (64 inputs, 1257 train / 540 test)", "",
        "| trainer | test accuracy | train accuracy | wall time |", "|---|---|---|---|",
        *[f"| {name} | {r['test_accuracy']:.4f} | {r['train_accuracy']:.4f} | {r['wall_seconds']:.0f} s |"
          for name, r in t.items()], "",
        "## Claims 1–2 (the paper's): training is a glass → order transition that removes the Hydra heads", "",
        "Rule: t* = first epoch (of 256 examples) with label order m ≥ 1/2. Heads: distinct wrong-label minima "
        "within one rms local field of the lowest state, among 32 independent anneals per probe input; 'beyond "
        "lowest' leaves out a misclassified input's lowest state (so it does not contain the accuracy). Null "
        "control: the same network with its hidden → output couplings permuted. χ_SG: replicon susceptibility of "
        "the anneal outcomes. Figures: `transition/transition.png`, `transition/binder.png`.", "",
        "| hidden width | t* | m | heads beyond lowest: untrained → trained (null control) | distinct minima | "
        "χ_SG / n among anneals (null control) | median code gap Δ |", "|---|---|---|---|---|---|---|",
    ]
    for w, r in results["transition"].items():
        if w in ("first_and_last", "thermal_crossings"):
            continue
        fl = results["transition"]["first_and_last"][w]
        lines.append(f"| {w} | {r['t_star']} | {fl['m'][0]:.2f} → {fl['m'][1]:.2f} | "
                     f"{fl['heads_beyond_lowest'][0]:.2f} → {fl['heads_beyond_lowest'][1]:.2f} "
                     f"({fl['null_heads_beyond_lowest'][0]:.2f} → {fl['null_heads_beyond_lowest'][1]:.2f}) | "
                     f"{fl['minima'][0]:.1f} → {fl['minima'][1]:.1f} | {fl['chi_sg_per_spin'][0]:.3f} → "
                     f"{fl['chi_sg_per_spin'][1]:.3f} ({fl['null_chi_sg_per_spin'][0]:.3f} → "
                     f"{fl['null_chi_sg_per_spin'][1]:.3f}) | {fl['median_gap'][0]:.1f} → {fl['median_gap'][1]:.1f} |")
    crossings = results["transition"].get("thermal_crossings", {})
    if crossings:
        lines += ["", "Thermal Binder crossings over widths (connected overlap, T in units of the network's rms "
                      "local-field scale; a crossing counts only when resolved by the error bars on both sides, and "
                      "is a transition only with g* > 0; null: hidden → output couplings zero; widths are not a "
                      "thermodynamic size sequence):", ""]
        for name, pairs in crossings.items():
            text = "; ".join(f"{c['widths']}: " + (f"T/σ = {c['temperature']:.2f}"
                                                   + ("" if c["transition"] else " (g* ≈ 0: not a transition)")
                                                   if c["resolved"] else "none") for c in pairs)
            lines.append(f"- {name.replace('_', ' ')}: {text}")
    lines += [
        "", "## Claims 3–4: scaling exponents (paper: annealer 1.01, backprop 0.78) and the Grover model", "",
        "Test error against examples seen, learning rates tuned on a validation split; both models fitted by χ² "
        "to the seed mean, 95 % BCa bootstrap intervals over seeds. Verdict rule: contradicted when the paper's "
        "α_annealer lies outside our interval (or backprop's interval lies above the annealer's), supported when "
        "it lies inside and the annealer's interval lies above backprop's, else inconclusive. Figure: "
        "`scaling/scaling.png`.", "",
        *describe(s), "",
        *_fss_lines(results.get("fss"), results.get("fss_thermal"), results.get("fss_landscape")),
        "## Claim 5: a small annealer trains a deep net a few layers at a time", "",
        "Not reproduced (measured separately, not in this run; see papers/reproduction.md): annealing the whole "
        "network, three hidden layers of 64 reach 0.71 test accuracy after 4 epochs with initial weights of scale 2 "
        "(0.13 with scale 1); trained one or two layers at a time they reach only 0.22-0.23.", "",
        f"Total run time: {results['study_seconds'] / 60:.1f} minutes.",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
