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
Gaussian-disorder equilibrium identity and a drift check of the energy and of <q^2> flag temperatures that are
not equilibrated (necessary conditions, not proofs). In a field (the free model) four replicas give the
replicon chi_SG (:func:`~dragonjax.analysis.overlaps.replicon_susceptibility`).

The crossing rule (:mod:`dragonjax.analysis.fss`) is stated before looking: a crossing must be resolved by
the error bars on both sides, and a crossing at g* ~ 0 (two paramagnets) is not a transition. The study's
``crossing_temperature`` is that of the two largest sizes (null when unresolved), ``crossing_interval`` its
95 % bootstrap interval over disorder samples; on lattices the crossings of the finite-size correlation length
xi_L / L are the primary estimator (Katzgraber, Koerner & Young 2006 use it), the Binder crossings are reported too.

:func:`run_sk_ground_state` is the second check on SK: ground-state energies per spin found by population
annealing at several N, extrapolated with an N^(-2/3) correction to the Parisi value -0.7633.
"""
from __future__ import annotations

import os
import time
from typing import Iterable

import jax
import numpy as np
import numpy.typing as npt

from .. import problems
from ..analysis.fss import size_crossing
from ..analysis.overlaps import bootstrap_problems, connected_moments, glass_statistics, replicon_susceptibility
from ..analysis.replicas import equilibration_check, equilibrium_replicas, family_z_max, stationarity_check
from ..ising import IsingModel, ProblemError, stack_models
from .results import RunDirectory

__all__ = ["GLASS_MODELS", "PARISI_GROUND_STATE", "glass_problem", "parse_temperatures", "plot_glass",
           "run_glass", "run_sk_ground_state"]

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


def glass_problem(model: str, size: int, sample: int, seed: int = 0,
                  couplings: str = "gaussian") -> tuple[IsingModel, np.ndarray | None, np.ndarray | None]:
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


def _lattice_geometry(model: str, size: int):
    """(wavevectors (d, d), positions (N, d)) of the smallest non-zero wavevectors 2 pi / L along each axis,
    for the finite-size correlation length; (None, None) off a lattice."""
    if model not in ("ea2d", "ea3d"):
        return None, None
    dim = 2 if model == "ea2d" else 3
    positions = np.stack(np.unravel_index(np.arange(size ** dim), (size,) * dim), axis=1)
    return 2.0 * np.pi / size * np.eye(dim), positions


def _measure_size(key, model, size, temperatures, samples, seed, couplings, replicas, sweeps, hottest, num_sizes):
    built = [glass_problem(model, size, i, seed, couplings) for i in range(samples)]
    stacked = stack_models([b[0] for b in built])
    cv, fv = built[0][1], built[0][2]
    wavevectors, positions = _lattice_geometry(model, size)
    burn_in = sweeps // 2
    thin = max(1, (sweeps - burn_in) // 256)
    start = time.perf_counter()
    r = equilibrium_replicas(key, stacked, temperatures, num_replicas=replicas, burn_in=burn_in,
                             num_measurements=(sweeps - burn_in) // thin, thin=thin, hottest=hottest,
                             coupling_variance=cv, field_variance=fv, wavevectors=wavevectors,
                             positions=positions)
    seconds = time.perf_counter() - start
    moments = connected_moments(r.overlap, symmetric=model != "free")
    if replicas >= 4:
        moments["replicon"] = replicon_susceptibility(r.overlap, replicas, r.num_sites)
    if r.overlap_k2 is not None:
        moments["k2"] = r.overlap_k2.astype(np.float64).mean(axis=(0, 2))
    z_max = family_z_max(3 * len(temperatures) * num_sizes, samples=samples)  # identity, two drifts per size, T
    identity = equilibration_check(r, cv, fv, z_max=z_max) if cv is not None else None
    stationary = stationarity_check(r, z_max=z_max)
    checks = [{**s, **({"identity_z": i["z"], "identity_residual": i["residual"]} if identity else {}),
               "equilibrated": s["equilibrated"] and (identity is None or i["equilibrated"])}
              for s, i in zip(stationary, identity or stationary)]
    return r, moments, checks, seconds


def run_glass(model: str = "sk", sizes: Iterable[int] = (32, 64, 128), temperatures: str | npt.ArrayLike | None = None,
              samples: int = 64, seed: int = 0,
              couplings: str = "gaussian", replicas: int = 2, sweeps: int = 4096, hottest: float | None = None,
              resamples: int = 1000, out: str | None = None, progress: bool = True) -> dict:
    """Binder cumulant and chi_SG of the connected overlap vs temperature for several sizes; crossings with
    bootstrap intervals; equilibration diagnostics. ``sweeps`` per replica (half burn-in, then up to 256
    measurements); ``hottest``: top of the tempering ladder (default 1.6 x the highest measured T). Writes
    ``out/results.json``, ``out/arrays.nc`` and ``out/binder.{png,pdf}`` when ``out`` is given."""
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
    if model == "free":  # a field: the spin-glass susceptibility needs four replicas
        replicas = max(int(replicas), 4)
    config = {"study": "glass", "model": model, "sizes": sizes, "temperatures": temperatures.tolist(),
              "samples": int(samples), "seed": int(seed), "couplings": couplings, "replicas": int(replicas),
              "sweeps": int(sweeps), "hottest": hottest, "resamples": int(resamples)}
    run = RunDirectory(out, config) if out else None
    start = time.perf_counter()
    grid = sizes
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(sizes, desc=f"glass {model} sizes")
    per_size, measured = {}, {}
    for size in grid:
        key = jax.random.fold_in(jax.random.key(seed), size)
        r, mom, checks, seconds = _measure_size(key, model, size, temperatures, int(samples), seed, couplings,
                                                int(replicas), int(sweeps), hottest, len(sizes))
        n = num_spins(model, size)

        names = ["m2", "m4"] + [k for k in ("k2", "replicon") if k in mom]

        def statistics(*arrays, n=n, size=size, names=names):
            return glass_statistics(*arrays[:2], n, length=size, **dict(zip(names[2:], arrays[2:])))

        arrays = tuple(mom[k] for k in names)
        stats = statistics(*arrays)
        draws = bootstrap_problems(statistics, arrays, resamples, seed + size)
        measured[size] = (stats, draws)
        per_size[str(size)] = {
            "num_spins": n, "seconds": seconds, "ladder": r.ladder.tolist(),
            "acceptance": r.acceptance.mean(axis=(0, 1)).tolist(),
            **{k: stats[k].tolist() for k in stats},
            **{f"{k}_error": np.nanstd(draws[k], axis=0, ddof=1).tolist() for k in stats},
            "mean_overlap": mom["mean"].mean(axis=0).tolist(),
            "equilibration": checks,
            "equilibrated": None if checks is None else all(c["equilibrated"] for c in checks)}
    observables = ["g"] + (["xi_over_l"] if "xi_over_l" in measured[sizes[0]][0] else [])
    crossings = {obs: [size_crossing(temperatures, measured[a], measured[b], obs) | {"sizes": [a, b]}
                       for a, b in zip(sizes[:-1], sizes[1:])] for obs in observables}
    primary = observables[-1]  # lattices: xi / L (KKY 2006's main estimator); SK and free spins: g
    top = crossings[primary][-1]
    results = {**config, "per_size": per_size, "crossings": crossings, "crossing_observable": primary,
               "crossing_temperature": top["temperature"], "crossing_interval": top["interval"],
               "crossing_value": top["value"], "crossing_value_interval": top["value_interval"],
               "crossing_fraction": top["fraction"], "transition": top["transition"],
               "chi_sg_ratio_largest_smallest": _chi_ratio(per_size, sizes),
               "equilibrated": None if per_size[str(sizes[0])]["equilibrated"] is None else all(
                   p["equilibrated"] for p in per_size.values()),
               "rule": "crossing: sign change of d = y_large - y_small (y = g or xi/L) from + (low T) to - "
                       "(high T), the largest drop if several, resolved when d > 2 sigma_d below and d < -2 "
                       "sigma_d above it; interval: 95% bootstrap over disorder samples; transition: a resolved "
                       "crossing found in >= 97.5% of resamplings with the value's interval above 0",
               "study_seconds": time.perf_counter() - start}
    if run is not None:
        _save_glass_arrays(results, run)
        plot_glass(results, os.path.join(out, "binder"))
        run.finish(results, "results.json")
    return results


def _chi_ratio(per_size, sizes):
    """chi_SG(largest) / chi_SG(smallest) per temperature: grows like (L_L/L_S)^(2 - eta) at a transition (SK:
    (N_L/N_S)^(1/3)) and faster below it, stays near 1 for a paramagnet."""
    a, b = np.asarray(per_size[str(sizes[-1])]["chi_sg"]), np.asarray(per_size[str(sizes[0])]["chi_sg"])
    return (a / b).tolist()


def _save_glass_arrays(results, run):
    sizes = results["sizes"]
    per = [results["per_size"][str(s)] for s in sizes]
    names = [k for k in ("g", "chi_sg", "xi_over_l") if k in per[0]]
    variables = {k: (("size", "temperature"), np.array([p[k] for p in per], float))
                 for k in names + [f"{k}_error" for k in names] + ["mean_overlap"]}
    for k in ("identity_z", "identity_residual", "z", "q2_z"):
        if k in per[0]["equilibration"][0]:
            name = k if k.startswith("identity") else f"drift_{'energy_z' if k == 'z' else k}"
            variables[name] = (("size", "temperature"),
                               np.array([[c[k] for c in p["equilibration"]] for p in per], float))
    run.save_dataset("arrays.nc", variables,
                     {"size": np.array(sizes), "temperature": np.array(results["temperatures"])})


def plot_glass(results: dict, stem: str | None) -> None:
    """Binder cumulant (and xi_L / L on lattices), chi_SG and the equilibration z-scores vs temperature, one colour
    per size (a lattice of side L coloured by its N = L^d spins), the crossing interval shaded, the known T_c
    dotted. The verdict and the crossing values are in the report."""
    from .figures import PAGE, figure, key_legend, size_colour

    t = np.asarray(results["temperatures"])
    lattice = "xi_over_l" in results["per_size"][str(results["sizes"][0])]
    dim = {"ea2d": 2, "ea3d": 3}.get(results["model"], 1)
    spins = (lambda n: n ** dim) if lattice else (lambda n: n)
    with figure(stem, PAGE, 4.6 if lattice else 2.4, 2 if lattice else 1, 2 if lattice else 3) as (fig, axes):
        axes = np.ravel(axes)
        ax_g, ax_chi, ax_z = axes[0], axes[-2], axes[-1]
        ax_primary = axes[1] if lattice else ax_g
        for size in results["sizes"]:
            p = results["per_size"][str(size)]
            colour = size_colour(spins(int(size)))
            ax_g.errorbar(t, p["g"], yerr=p["g_error"], fmt="o-", ms=2.5, color=colour)
            if lattice:
                ax_primary.errorbar(t, p["xi_over_l"], yerr=p["xi_over_l_error"], fmt="o-", ms=2.5, color=colour)
            ax_chi.errorbar(t, p["chi_sg"], yerr=p["chi_sg_error"], fmt="o-", ms=2.5, color=colour)
            checks = p["equilibration"]
            if "identity_z" in checks[0]:
                ax_z.plot(t, [c["identity_z"] for c in checks], "o-", ms=2.5, color=colour)
            ax_z.plot(t, [c["q2_z"] for c in checks], "s:", ms=2.5, color=colour)
        if results["crossing_interval"] is not None:
            ax_primary.axvspan(*results["crossing_interval"], color="0.5", alpha=0.2, lw=0)
        if results["crossing_temperature"] is not None:
            ax_primary.axvline(results["crossing_temperature"], color="k", lw=0.8, ls="--")
        known = {"sk": 1.0, "ea3d": 0.95}.get(results["model"])
        if known is not None:
            ax_primary.axvline(known, color="#D55E00", lw=0.8, ls=":")
        ax_g.set(xlabel="temperature T", ylabel="Binder g (connected overlap)")
        ax_g.set_title(f"{results['model']} ({results['couplings']})", loc="left")
        if lattice:
            ax_primary.set(xlabel="temperature T", ylabel="ξ_L / L")
        ax_chi.set(xlabel="temperature T", ylabel="χ_SG", yscale="log")
        ax_z.axhspan(-3, 3, color="#009E73", alpha=0.12, lw=0)
        ax_z.set(xlabel="temperature T", ylabel="equilibration z (s.e. over samples)")
        for ax in axes:
            ax.grid(True)
        styles = ([("crossing (95 % interval)", {"ls": "--", "lw": 0.8})]
                  if results["crossing_temperature"] is not None else [])
        if known is not None:
            styles.append((f"known T_c = {known}", {"ls": ":", "color": "#D55E00"}))
        key_legend(ax_primary if lattice else ax_chi, results["sizes"], "N" if not lattice else "L", styles,
                   num_spins=spins, title=f"{results['samples']} samples × {results['replicas']} replicas",
                   loc="upper right")
        key_legend(ax_z, [], "", [("energy identity", {"marker": "o", "ls": "-"}),
                                  ("drift of ⟨q²⟩", {"marker": "s", "ls": ":"})], loc="best")


def run_sk_ground_state(sizes: Iterable[int] = (32, 64, 128, 256), samples: int = 16, seed: int = 0,
                        num_replicas: int = 512, num_betas: int = 400, beta_final: float = 5.0,
                        out: str | None = None) -> dict:
    """SK (Gaussian) ground-state energy per spin from population annealing, extrapolated to N -> infinity.

    Per size, ``samples`` disorder samples, each annealed by two independent PA runs (R = ``num_replicas``,
    ``num_betas`` geometric steps from beta = 0.1 to ``beta_final``); the ground-state estimate is the lowest
    energy either run found, and ``agreement`` the fraction of samples where both runs found the same lowest
    energy (a run-to-run check that the ground state was reached). The sample means e(N) (errors: standard
    error over samples) are fitted by weighted least squares with e(N) = e_inf + a N^(-2/3) (the leading
    finite-size correction of the SK ground state), and e_inf is compared with the Parisi value -0.7633."""
    from ..kernels import beta_schedule, cached_sweep, population_annealing, random_spins

    sizes = sorted(int(s) for s in sizes)
    if len(sizes) < 3:
        raise ProblemError(f"the N^(-2/3) extrapolation needs at least three sizes, got {sizes}")
    config = {"study": "sk_ground_state", "sizes": sizes, "samples": int(samples), "seed": int(seed),
              "num_replicas": int(num_replicas), "num_betas": int(num_betas), "beta_final": float(beta_final)}
    run = RunDirectory(out, config) if out else None
    start = time.perf_counter()
    betas = beta_schedule((0.1, beta_final), num_betas)
    per_size = {}
    for size in sizes:
        models = stack_models([glass_problem("sk", size, i, seed)[0] for i in range(samples)])
        sweep = cached_sweep(jax.tree_util.tree_map(lambda x: x[0], models))
        keys = jax.random.split(jax.random.fold_in(jax.random.key(seed), size), (2, samples, 2))

        def anneal(keys, model, sweep=sweep, size=size):
            spins = random_spins(keys[0], (num_replicas, size), model.dtype)
            return population_annealing(keys[1], model, sweep, spins, betas).energies.min()

        runs = jax.jit(jax.vmap(jax.vmap(anneal), in_axes=(0, None)))
        lowest = np.asarray(runs(keys, models), np.float64)  # (2 runs, samples)
        e = lowest.min(axis=0) / size
        per_size[str(size)] = {"energy_per_spin": float(e.mean()), "error": float(e.std(ddof=1) / np.sqrt(samples)),
                               "agreement": float(np.mean(np.isclose(lowest[0], lowest[1], rtol=1e-5))),
                               "energies": e.tolist()}
    n = np.array(sizes, np.float64)
    y = np.array([per_size[str(s)]["energy_per_spin"] for s in sizes])
    sigma = np.array([per_size[str(s)]["error"] for s in sizes])
    design = np.stack([np.ones_like(n), n ** (-2.0 / 3.0)], axis=1)
    w = 1.0 / sigma ** 2
    covariance = np.linalg.inv(design.T @ (design * w[:, None]))
    e_inf, slope = covariance @ design.T @ (w * y)
    chi2 = float(np.sum(w * (y - design @ np.array([e_inf, slope])) ** 2))
    error = float(np.sqrt(covariance[0, 0]))
    results = {**config, "per_size": per_size, "e_inf": float(e_inf), "e_inf_error": error,
               "correction_amplitude": float(slope), "chi2": chi2, "dof": len(sizes) - 2,
               "parisi": PARISI_GROUND_STATE, "z": float((e_inf - PARISI_GROUND_STATE) / error),
               "agrees": bool(abs(e_inf - PARISI_GROUND_STATE) <= 2.0 * error),
               "rule": "agrees when |e_inf - (-0.7633)| <= 2 x its standard error",
               "study_seconds": time.perf_counter() - start}
    if run is not None:
        run.finish(results, "ground_state.json")
    return results
