"""Kernel validation for the report: the samplers against exact answers, with error bars.

1. Population annealing: ln Z(beta) and <E>(beta) of an SK glass with fields (N = 14) against enumeration,
   over independent runs (error bar = standard error over runs, z = (mean - exact) / error).
2. Path-integral QMC: <E_problem> and <sigma_x> of the transverse-field SK glass (N = 8) against the exact
   P-slice Trotter model (what PIQMC samples; z-scores) and exact diagonalisation (P -> infinity). 12000
   sweeps per chain (a quarter discarded): at Gamma = 0.25 with 3000 sweeps the spread of the mean over seeds
   was about twice its error bar (rare chains still stuck in a metastable state after the burn-in).
The test suite makes the same comparisons with stated tolerances; this study records them in the report.
"""
from __future__ import annotations

import os
import time

import numpy as np

from .. import exact, problems
from ..kernels import piqmc
from ..samplers import PopulationAnnealingSampler
from .results import RunDirectory

__all__ = ["run_validation", "plot_validation"]


def run_validation(out: str, seed: int = 0, runs: int = 8, population: int = 2000, progress: bool = True) -> dict:
    """The kernels against exact answers (module docstring): population annealing's ln Z and <E> vs
    enumeration, PIQMC's energy and <sigma^x> vs the exact Trotter model and exact diagonalisation, as z-scores
    over ``runs`` independent runs; results.json, arrays.nc and validation.png in ``out``."""
    run = RunDirectory(out, {"study": "validation", "seed": seed, "runs": runs, "population": population})
    start = time.perf_counter()
    model = problems.sherrington_kirkpatrick(14, seed=seed + 1, field=0.3)
    bqm = model.to_bqm()
    sampler = PopulationAnnealingSampler()
    betas = [0.25, 0.5, 1.0, 2.0, 3.0]
    log_z, energy = np.zeros((len(betas), runs)), np.zeros((len(betas), runs))
    for i, beta in enumerate(betas):
        for r in range(runs):
            s = sampler.sample(bqm, num_reads=population, num_sweeps=400, beta_range=(0.05, beta),
                               seed=seed * 1000 + 17 * i + r)
            log_z[i, r], energy[i, r] = s.info["log_z"], s.record.energy.mean()
    exact_log_z = np.array([float(exact.log_partition(model, b)) for b in betas])
    exact_energy = np.array([float(exact.thermal_averages(model, b)["energy"]) for b in betas])

    small = problems.sherrington_kirkpatrick(8, seed=seed + 2)
    beta, slices, gammas = 2.0, 16, [0.25, 0.5, 1.0, 2.0, 3.0]
    qmc = [piqmc.thermal(small, g, beta, trotter_slices=slices, num_sweeps=12000, num_replicas=64, seed=seed)
           for g in gammas]
    trotter = [exact.trotter_thermal(small, g, beta, slices) for g in gammas]
    ed = [exact.tfim_thermal(small, g, beta) for g in gammas]

    def z(mean, error, truth):
        return ((np.asarray(mean) - np.asarray(truth)) / np.asarray(error)).tolist()

    se = lambda x: x.std(axis=1, ddof=1) / np.sqrt(x.shape[1])  # noqa: E731
    pa = {"num_variables": 14, "betas": betas, "population": population, "runs": runs, "num_sweeps": 400,
          "log_z": log_z.mean(1).tolist(), "log_z_error": se(log_z).tolist(), "exact_log_z": exact_log_z.tolist(),
          "log_z_z": z(log_z.mean(1), se(log_z), exact_log_z),
          "energy": energy.mean(1).tolist(), "energy_error": se(energy).tolist(),
          "exact_energy": exact_energy.tolist(), "energy_z": z(energy.mean(1), se(energy), exact_energy)}
    quantum = {"num_variables": 8, "beta": beta, "trotter_slices": slices, "gammas": gammas,
               "problem_energy": [q["problem_energy"] for q in qmc],
               "problem_energy_error": [q["problem_energy_error"] for q in qmc],
               "sigma_x": [q["sigma_x"] for q in qmc], "sigma_x_error": [q["sigma_x_error"] for q in qmc],
               "trotter_problem_energy": [t["problem_energy"] for t in trotter],
               "trotter_sigma_x": [t["sigma_x"] for t in trotter],
               "ed_problem_energy": [e["problem_energy"] for e in ed], "ed_sigma_x": [e["sigma_x"] for e in ed]}
    quantum["problem_energy_z"] = z(quantum["problem_energy"], quantum["problem_energy_error"],
                                    quantum["trotter_problem_energy"])
    quantum["sigma_x_z"] = z(quantum["sigma_x"], quantum["sigma_x_error"], quantum["trotter_sigma_x"])
    results = {"population_annealing": pa, "piqmc": quantum, "study_seconds": time.perf_counter() - start}
    run.save_dataset("arrays.nc", {
        "pa_log_z": (("beta", "run"), log_z), "pa_mean_energy": (("beta", "run"), energy),
        "exact_log_z": ("beta", exact_log_z), "exact_energy": ("beta", exact_energy)},
        {"beta": betas, "run": np.arange(runs)})
    plot_validation(results, os.path.join(out, "validation"))
    run.finish(results, "results.json")
    return results


def plot_validation(results: dict, stem: str | None) -> None:
    """(a) population annealing's ln Z and <E> minus enumeration (1 sigma bars); (b, c) PIQMC's problem energy and
    transverse magnetisation against the exact Trotter model and exact diagonalisation (PNG and PDF at ``stem``)."""
    from .figures import PAGE, figure

    pa, q = results["population_annealing"], results["piqmc"]
    with figure(stem, PAGE, 2.3, 1, 3) as (fig, ax):
        b = np.array(pa["betas"])
        ax[0].errorbar(b, np.array(pa["log_z"]) - pa["exact_log_z"], pa["log_z_error"], fmt="o", color="#0072B2",
                       label="ln Z")
        ax[0].errorbar(b * 1.03, np.array(pa["energy"]) - pa["exact_energy"], pa["energy_error"], fmt="s",
                       color="#D55E00", label="⟨E⟩")
        ax[0].axhline(0, color="0.3", lw=0.6)
        ax[0].set(xlabel="β", ylabel="PA − exact (1σ bars)")
        ax[0].set_title(f"PA, SK N = {pa['num_variables']}", loc="left")
        ax[0].legend(title=f"R = {pa['population']}")
        g = np.array(q["gammas"])
        for axis, key, label in ((ax[1], "problem_energy", "⟨E_problem⟩"), (ax[2], "sigma_x", "⟨σˣ⟩ per spin")):
            axis.errorbar(g, q[key], q[f"{key}_error"], fmt="o", color="#0072B2", label="PIQMC")
            axis.plot(g, q[f"trotter_{key}"], "--", color="0.2", label=f"exact Trotter, P = {q['trotter_slices']}")
            axis.plot(g, q[f"ed_{key}"], "-", color="#D55E00", lw=0.8, label="exact diagonalisation")
            axis.set(xlabel="transverse field Γ", ylabel=label)
        ax[1].set_title(f"PIQMC, SK N = {q['num_variables']}, β = {q['beta']}", loc="left")
        ax[1].legend()
