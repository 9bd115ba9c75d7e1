"""The spin-glass transition study that validates the measurement pipeline (DESIGN section 10).

Before any observable is used on a network it must give the known answer on systems where the answer is
known, and nothing on a null model:

- ``sk``: Sherrington-Kirkpatrick, J_ij ~ N(0, 1/N): Binder curves of different N cross at T_c = 1;
- ``ea3d``: 3D Edwards-Anderson, Gaussian J, L^3 periodic: crossing near T_c = 0.95 (Katzgraber, Koerner
  & Young 2006);
- ``ea2d``: 2D Edwards-Anderson: T_c = 0, no crossing at T > 0;
- ``free``: non-interacting spins in Gaussian random fields of the SK's scale (h_i ~ N(0, 1), the variance
  of an SK spin's local field): no transition; chi_SG does not grow with N.

For each size, S disorder samples are drawn, K = 2 (or more) independent parallel-tempering replicas of each
are equilibrated (:func:`~dragonjax.analysis.replicas.equilibrium_replicas`) and the connected overlap's
Binder cumulant g(T) and chi_SG(T) are averaged over samples, with errors from a bootstrap over samples. The
Gaussian-disorder equilibrium identity flags temperatures that are not equilibrated.

Crossing rule (stated before looking): for two sizes N_small < N_large let d(T) = g_large - g_small on the
temperature grid. A crossing is a change of sign of d from + (ordered side, low T) to - (high T); when there
are several, the one with the largest drop d_i - d_{i+1}. Its temperature is linearly interpolated, its value
g* is the interpolated g. The study's ``crossing_temperature`` is that of the two largest sizes (null when
they do not cross on the grid) and ``crossing_interval`` the 2.5 / 97.5 % percentiles of the crossing
temperature over bootstrap resamplings of the disorder samples (``crossing_fraction``: the share of
resamplings that cross at all). A crossing at g* ~ 0 is the Gaussian (paramagnetic) fixed point, not a
transition: ``transition`` is true only when the crossing exists in >= 95 % of resamplings and the lower
end of g*'s interval is above 0.

:func:`run_sk_ground_state` is the second check on SK: ground-state energies per spin found by population
annealing at several N, extrapolated with an N^(-2/3) correction to the Parisi value -0.7633.
"""
from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from .. import problems
from ..analysis.overlaps import bootstrap_problems, connected_moments, glass_statistics
from ..analysis.replicas import equilibration_check, equilibrium_replicas
from ..ising import IsingModel, ProblemError, stack_models
from .results import RunDirectory, save_arrays

__all__ = ["GLASS_MODELS", "PARISI_GROUND_STATE", "glass_problem", "crossing", "run_glass", "plot_glass",
           "run_sk_ground_state", "parse_temperatures"]

GLASS_MODELS = ("sk", "ea2d", "ea3d", "free")
PARISI_GROUND_STATE = -0.7633  # SK ground-state energy per spin, N -> infinity (Parisi; Crisanti-Rizzo)


def parse_temperatures(text: str) -> np.ndarray:
    """``LO:HI:COUNT`` -> COUNT evenly spaced temperatures from LO to HI (a one-line error otherwise)."""
    try:
        lo, hi, count = text.split(":")
        lo, hi, count = float(lo), float(hi), int(count)
    except ValueError:
        raise ProblemError(f"temperatures must be LO:HI:COUNT (e.g. 0.5:1.5:11), got {text!r}") from None
    if not (0 < lo < hi and np.isfinite(hi)) or count < 2:
        raise ProblemError(f"temperatures need 0 < LO < HI and COUNT >= 2, got {text!r}")
    return np.linspace(lo, hi, count)


def glass_problem(model: str, size: int, sample: int, seed: int = 0, couplings: str = "gaussian"):
    """Disorder sample ``sample`` of ``model`` at ``size`` (N for sk/free, L for the lattices), seeded by
    (seed, model, size, sample). Returns (IsingModel, coupling_variance (N, N) or None, field_variance (N,)
    or None): the variances of the Gaussian disorder for the equilibrium identity (None for +-J)."""
    if model not in GLASS_MODELS:
        raise ProblemError(f"unknown glass model {model!r}; expected one of {GLASS_MODELS}")
    if couplings not in ("gaussian", "pm"):
        raise ProblemError(f"unknown couplings {couplings!r}; expected 'gaussian' or 'pm'")
    rng_seed = [int(seed), GLASS_MODELS.index(model), int(size), int(sample)]
    gaussian = couplings == "gaussian"
    if model == "sk":
        m = problems.sherrington_kirkpatrick(size, seed=rng_seed, couplings=couplings)
        variance = (1.0 - np.eye(size)) / size
        return m, (variance if gaussian else None), None
    if model == "free":
        rng = np.random.default_rng(rng_seed)
        h = rng.normal(size=size) if gaussian else rng.choice([-1.0, 1.0], size=size)
        return IsingModel(np.zeros((size, size)), h), (np.zeros((size, size)) if gaussian else None), (
            np.ones(size) if gaussian else None)
    m = problems.edwards_anderson(size, dim=2 if model == "ea2d" else 3, seed=rng_seed, couplings=couplings)
    return m, ((np.asarray(m.J) != 0).astype(np.float64) if gaussian else None), None


def num_spins(model: str, size: int) -> int:
    return size ** 2 if model == "ea2d" else size ** 3 if model == "ea3d" else size


def crossing(temperatures, g_small, g_large):
    """(T*, g*) of the crossing of two Binder curves by the rule of the module docstring; (None, None)
    when d = g_large - g_small never changes sign from + to - on the grid."""
    t = np.asarray(temperatures, np.float64)
    d = np.asarray(g_large, np.float64) - np.asarray(g_small, np.float64)
    changes = np.flatnonzero((d[:-1] > 0) & (d[1:] < 0))
    if not changes.size:
        return None, None
    i = changes[np.argmax(d[changes] - d[changes + 1])]
    frac = d[i] / (d[i] - d[i + 1])
    g = np.asarray(g_small, np.float64)
    return float(t[i] + frac * (t[i + 1] - t[i])), float(g[i] + frac * (g[i + 1] - g[i]))


def _measure_size(key, model, size, temperatures, samples, seed, couplings, replicas, sweeps, hottest):
    built = [glass_problem(model, size, i, seed, couplings) for i in range(samples)]
    stacked = stack_models([b[0] for b in built])
    cv, fv = built[0][1], built[0][2]
    burn_in = sweeps // 2
    thin = max(1, (sweeps - burn_in) // 256)
    start = time.perf_counter()
    r = equilibrium_replicas(key, stacked, temperatures, num_replicas=replicas, burn_in=burn_in,
                             num_measurements=(sweeps - burn_in) // thin, thin=thin, hottest=hottest,
                             coupling_variance=cv, field_variance=fv)
    seconds = time.perf_counter() - start
    symmetric = model != "free"
    moments = connected_moments(r.overlap, symmetric=symmetric)
    checks = equilibration_check(r, cv, fv) if cv is not None else None
    return r, moments, checks, seconds


def run_glass(model: str = "sk", sizes=(32, 64, 128), temperatures=None, samples: int = 64, seed: int = 0,
              couplings: str = "gaussian", replicas: int = 2, sweeps: int = 4096, hottest: float | None = None,
              resamples: int = 1000, out: str | None = None, progress: bool = True) -> dict:
    """Binder cumulant and chi_SG of the connected overlap vs temperature for several sizes; crossings with
    bootstrap intervals; equilibration diagnostics. ``sweeps`` per replica (half burn-in, then up to 256
    measurements); ``hottest``: top of the tempering ladder (default 1.6 x the highest measured T). Writes
    ``out/results.json``, ``out/arrays.npz`` and ``out/binder.{png,pdf}`` when ``out`` is given."""
    if model not in GLASS_MODELS:
        raise ProblemError(f"unknown glass model {model!r}; expected one of {GLASS_MODELS}")
    sizes = sorted(int(s) for s in sizes)
    if len(sizes) < 2 or len(set(sizes)) != len(sizes) or sizes[0] < 2:
        raise ProblemError(f"sizes need at least two distinct integers >= 2, got {sizes}")
    temperatures = parse_temperatures(temperatures) if isinstance(temperatures, str) else np.asarray(
        temperatures if temperatures is not None else np.linspace(0.5, 1.5, 11), np.float64)
    if int(samples) != samples or samples < 4:
        raise ProblemError(f"samples must be an integer >= 4 (errors come from the spread over samples), "
                           f"got {samples!r}")
    if int(sweeps) != sweeps or sweeps < 8:
        raise ProblemError(f"sweeps must be an integer >= 8, got {sweeps!r}")
    hottest = 1.6 * float(temperatures.max()) if hottest is None else float(hottest)
    config = {"study": "glass", "model": model, "sizes": sizes, "temperatures": temperatures.tolist(),
              "samples": int(samples), "seed": int(seed), "couplings": couplings, "replicas": int(replicas),
              "sweeps": int(sweeps), "hottest": hottest, "resamples": int(resamples)}
    run = RunDirectory(out, config) if out else None
    start = time.perf_counter()
    grid = sizes
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(sizes, desc=f"glass {model} sizes")
    per_size, moments = {}, {}
    for size in grid:
        key = jax.random.fold_in(jax.random.key(seed), size)
        r, mom, checks, seconds = _measure_size(key, model, size, temperatures, int(samples), seed, couplings,
                                                int(replicas), int(sweeps), hottest)
        n = num_spins(model, size)
        stats = glass_statistics(mom["m2"], mom["m4"], n)
        draws = bootstrap_problems(lambda a, b: glass_statistics(a, b, n), (mom["m2"], mom["m4"]),
                                   resamples, seed)
        moments[size] = (mom, n, draws)
        per_size[str(size)] = {
            "num_spins": n, "seconds": seconds, "ladder": r.ladder.tolist(),
            "acceptance": r.acceptance.mean(axis=(0, 1)).tolist(),
            "g": stats["g"].tolist(), "g_error": np.nanstd(draws["g"], axis=0, ddof=1).tolist(),
            "chi_sg": stats["chi_sg"].tolist(), "chi_sg_error": np.std(draws["chi_sg"], axis=0, ddof=1).tolist(),
            "mean_overlap": mom["mean"].mean(axis=0).tolist(),
            "equilibration": checks,
            "equilibrated": None if checks is None else all(c["equilibrated"] for c in checks)}
    pairs = [_pair_crossing(temperatures, moments[a], moments[b], a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    top = pairs[-1]
    results = {**config, "per_size": per_size, "crossings": pairs,
               "crossing_temperature": top["temperature"], "crossing_interval": top["interval"],
               "crossing_value": top["value"], "crossing_value_interval": top["value_interval"],
               "crossing_fraction": top["fraction"], "transition": top["transition"],
               "chi_sg_ratio_largest_smallest": _chi_ratio(per_size, sizes),
               "equilibrated": None if per_size[str(sizes[0])]["equilibrated"] is None else all(
                   p["equilibrated"] for p in per_size.values()),
               "rule": "crossing: sign change of g_large - g_small from + (low T) to - (high T), the largest "
                       "drop if several; interval: 95% bootstrap over disorder samples; transition: crosses in "
                       ">= 95% of resamplings and g* interval above 0",
               "study_seconds": time.perf_counter() - start}
    if run is not None:
        _save_glass_arrays(results, run.file("arrays.npz"))
        plot_glass(results, os.path.join(out, "binder"))
        run.finish(results, "results.json")
    return results


def _pair_crossing(temperatures, small, large, size_small, size_large) -> dict:
    (m_s, n_s, draws_s), (m_l, n_l, draws_l) = small, large
    g_s = glass_statistics(m_s["m2"], m_s["m4"], n_s)["g"]
    g_l = glass_statistics(m_l["m2"], m_l["m4"], n_l)["g"]
    t_star, g_star = crossing(temperatures, g_s, g_l)
    found = [crossing(temperatures, a, b) for a, b in zip(draws_s["g"], draws_l["g"])]
    ts = np.array([f[0] for f in found if f[0] is not None])
    gs = np.array([f[1] for f in found if f[1] is not None])
    fraction = len(ts) / len(found)
    interval = [float(np.percentile(ts, 2.5)), float(np.percentile(ts, 97.5))] if len(ts) else None
    value_interval = [float(np.percentile(gs, 2.5)), float(np.percentile(gs, 97.5))] if len(gs) else None
    transition = bool(t_star is not None and fraction >= 0.95 and value_interval[0] > 0)
    return {"sizes": [size_small, size_large], "temperature": t_star, "interval": interval, "value": g_star,
            "value_interval": value_interval, "fraction": fraction, "transition": transition}


def _chi_ratio(per_size, sizes):
    """chi_SG(largest) / chi_SG(smallest) per temperature: grows like (N_L/N_S)^(2 - eta) / d at and below
    a transition, stays near 1 for a paramagnet."""
    a, b = np.asarray(per_size[str(sizes[-1])]["chi_sg"]), np.asarray(per_size[str(sizes[0])]["chi_sg"])
    return (a / b).tolist()


def _save_glass_arrays(results, path):
    sizes = results["sizes"]
    per = [results["per_size"][str(s)] for s in sizes]
    variables = {k: (("size", "temperature"), np.array([p[k] for p in per], float))
                 for k in ("g", "g_error", "chi_sg", "chi_sg_error", "mean_overlap")}
    if per[0]["equilibration"] is not None:
        for k in ("residual", "residual_error", "z"):
            variables[f"equilibrium_{k}"] = (("size", "temperature"),
                                             np.array([[c[k] for c in p["equilibration"]] for p in per], float))
    save_arrays(path, variables, {"size": np.array(sizes), "temperature": np.array(results["temperatures"])})


def plot_glass(results: dict, stem: str):
    """Binder cumulant, chi_SG / n and the equilibrium-identity z-scores vs temperature, one colour per size,
    the crossing interval shaded."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend (e.g. a notebook's) alone

    t = np.asarray(results["temperatures"])
    fig = Figure(figsize=(13, 4.2))
    ax_g, ax_chi, ax_z = fig.subplots(1, 3)
    for i, size in enumerate(results["sizes"]):
        p = results["per_size"][str(size)]
        colour = f"C{i}"
        label = f"{'N' if results['model'] in ('sk', 'free') else 'L'} = {size}"
        ax_g.errorbar(t, p["g"], yerr=p["g_error"], fmt="o-", ms=3, capsize=2, color=colour, label=label)
        ax_chi.errorbar(t, np.asarray(p["chi_sg"]) / p["num_spins"], yerr=np.asarray(p["chi_sg_error"]) / p["num_spins"],
                        fmt="o-", ms=3, capsize=2, color=colour, label=label)
        if p["equilibration"] is not None:
            ax_z.plot(t, [c["z"] for c in p["equilibration"]], "o-", ms=3, color=colour, label=label)
    if results["crossing_interval"] is not None:
        ax_g.axvspan(*results["crossing_interval"], color="grey", alpha=0.2, label="crossing, 95% interval")
    if results["crossing_temperature"] is not None:
        ax_g.axvline(results["crossing_temperature"], color="k", lw=1, ls="--")
    known = {"sk": 1.0, "ea3d": 0.95}.get(results["model"])
    if known is not None:
        ax_g.axvline(known, color="r", lw=1, ls=":", label=f"known T_c = {known}")
    verdict = "transition" if results["transition"] else "no transition"
    ax_g.set(xlabel="temperature T", ylabel="Binder cumulant g of the connected overlap",
             title=f"{results['model']} ({results['couplings']}): {verdict}")
    ax_chi.set(xlabel="temperature T", ylabel="χ_SG / n = [⟨δq²⟩]", yscale="log",
               title="spin-glass susceptibility per spin")
    ax_z.axhspan(-3, 3, color="green", alpha=0.1, label="|z| ≤ 3: equilibrated")
    ax_z.set(xlabel="temperature T", ylabel="z = (E − identity) / error",
             title="equilibrium identity (Gaussian disorder)")
    for ax in (ax_g, ax_chi, ax_z):
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"Spin-glass validation: {results['samples']} disorder samples per size, "
                 f"{results['replicas']} independent tempering replicas, {results['sweeps']} sweeps", fontsize=10)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{stem}.{ext}", dpi=130)
