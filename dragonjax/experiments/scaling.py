"""Scaling exponents (DESIGN section 6): test error against training effort, annealer vs backprop.

**Fits.** eps(t) = test error against t = examples seen, from >= 10 seeds (the independent unit). Two models,
both fitted by weighted least squares to the seed-mean curve with the standard error over seeds as the error
of each point (so the fit is a chi^2 fit):

    power:   eps = c t^-alpha
    offset:  eps = eps_inf + c t^-alpha        (eps_inf >= 0: the error the trainer levels off at)

compared by the Akaike information criterion AIC = chi^2 + 2k (k = 2 or 3 parameters); the model with the
lower AIC is preferred when it is lower by more than 2, else the simpler one (power). 95 % intervals for alpha
(and eps_inf) are BCa bootstrap intervals over seeds (``scipy.stats.bootstrap``: resample the seeds, refit).
The fit window is stated before looking: from the first evaluation at which the seed-mean error is below half
the untrained network's (the random-weights transient is over) to the last; a window shorter than one decade
is flagged (``decades``).

**Verdicts** (:func:`verdict`), by this rule: for claim 3 (alpha_annealer 1.01 > alpha_backprop 0.78)
*contradicted* when the paper's annealer value lies outside our annealer interval or backprop's interval lies
entirely above the annealer's; *supported* when the paper's annealer value lies inside our interval and the
annealer's interval lies entirely above backprop's; *inconclusive* otherwise.

**Grover model** (:func:`grover_cost`): a classical search for a head among D candidates costs ∝ D, a coherent
(Grover) one ∝ sqrt(D), with D the number of distinct deep candidate states among *independent* anneals (not
capped by the trainer's M). The total-cost ratio int D dt / int sqrt(D) dt is a constant factor when D is constant;
an exponent gain needs D to grow with training time: with D ∝ t^delta and eps ∝ t^-alpha, eps falls as
(classical cost)^(-alpha / (1 + delta)) and (Grover cost)^(-alpha / (1 + delta / 2)), a gain
(1 + delta) / (1 + delta / 2) -> 2 as delta -> infinity (claim 4's factor 2). This is a model prediction, not a
measurement of a quantum device.
"""
from __future__ import annotations

import os
import time
import warnings
from typing import TYPE_CHECKING, Sequence

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

from ..data import Dataset
from ..ising import ProblemError
from .results import RunDirectory, format_interval

if TYPE_CHECKING:
    from .transition import TransitionTracker  # imports the trainers (flax, optax): only when it is used

__all__ = ["PAPER", "QUICK", "FULL", "MODELS", "fit_exponent", "compare_models", "fit_window", "verdict",
           "exponent_difference", "direction",
           "grover_cost", "tune_learning_rate", "learning_curve", "run_scaling", "exponent_summary", "describe",
           "plot_scaling"]

PAPER = {"annealer": 1.01, "backprop": 0.78}
MODELS = ("power", "offset")
VERDICTS = ("supported", "contradicted", "inconclusive")


def _curve(errors):
    """Seed-mean curve and its standard error (floored so that a point every seed agrees on keeps a finite
    weight: at least 1/4 of the median error bar, and 1e-4)."""
    errors = np.atleast_2d(np.asarray(errors, np.float64))
    mean = errors.mean(0)
    if len(errors) > 1:
        sem = errors.std(0, ddof=1) / np.sqrt(len(errors))
        floor = max(0.25 * float(np.median(sem)), 1e-4)
    else:
        sem, floor = np.full_like(mean, np.nan), 1.0
    return mean, np.where(np.isfinite(sem), np.maximum(sem, floor), floor)


ALPHA_GRID = np.linspace(0.0, 10.0, 2001)


def _least_squares(t, mean, sigma, model: str):
    """(parameters (c, alpha, eps_inf), chi^2) of the weighted fit, eps_inf = 0 for power. For fixed alpha the
    model is linear in (c, eps_inf), solved in closed form with c, eps_inf >= 0; chi^2(alpha) is minimised on a
    grid of alpha in [0, 10] (step 0.005) and refined by a bounded scalar search around the best point."""
    w = 1.0 / sigma ** 2
    logt = np.log(t)

    def solve(alpha):
        """(c, eps_inf, chi^2) for each alpha of the array ``alpha``."""
        x = np.exp(-np.outer(np.atleast_1d(alpha), logt))  # (A, points)
        sw, sx, sxx = w.sum(), (w * x).sum(1), (w * x * x).sum(1)
        sy, sxy = (w * mean).sum(), (w * x * mean).sum(1)
        c_only = np.maximum(sxy / sxx, 0.0)  # eps_inf = 0
        if model == "power":
            c, e = c_only, np.zeros_like(c_only)
        else:
            det = sw * sxx - sx * sx
            with np.errstate(divide="ignore", invalid="ignore"):
                c = (sw * sxy - sx * sy) / det
                e = (sy - c * sx) / sw
            bad = ~((c >= 0) & (e >= 0) & np.isfinite(c) & np.isfinite(e))
            e_only = sy / sw  # c = 0: a flat line
            chi_c = (w * (mean - c_only[:, None] * x) ** 2).sum(1)
            chi_e = (w * (mean - e_only) ** 2).sum()
            use_c = chi_c <= chi_e
            c = np.where(bad, np.where(use_c, c_only, 0.0), c)
            e = np.where(bad, np.where(use_c, 0.0, e_only), e)
        chi2 = (w * (mean - e[:, None] - c[:, None] * x) ** 2).sum(1)
        return c, e, chi2

    _, _, chi2 = solve(ALPHA_GRID)
    best = int(np.argmin(chi2))
    lo, hi = ALPHA_GRID[max(best - 1, 0)], ALPHA_GRID[min(best + 1, len(ALPHA_GRID) - 1)]
    refined = optimize.minimize_scalar(lambda a: solve(a)[2][0], bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-6})
    alpha = float(refined.x) if refined.fun <= chi2[best] else float(ALPHA_GRID[best])
    c, e, chi = solve(alpha)
    return np.array([c[0], alpha, e[0]]), float(chi[0])


def fit_window(t: npt.ArrayLike, mean_error: npt.ArrayLike, untrained_error: float | None = None) -> np.ndarray:
    """Indices of the fit window by the module's rule: from the first point whose error is below half the
    untrained network's (default: the first point's) to the last."""
    mean_error = np.asarray(mean_error, np.float64)
    half = 0.5 * (mean_error[0] if untrained_error is None else float(untrained_error))
    below = np.flatnonzero(mean_error < half)
    first = int(below[0]) if below.size else 0
    return np.arange(first, len(mean_error))


def fit_exponent(t: npt.ArrayLike, errors: npt.ArrayLike, model: str = "offset", *, resamples: int = 2000,
                 seed: int = 0, confidence: float = 0.95) -> dict:
    """Fit eps(t) = [eps_inf +] c t^-alpha to ``errors`` (seeds, points) measured at efforts ``t`` (points,).

    The fit is to the seed-mean curve, weighted by its standard error over seeds (chi^2); the interval of
    ``alpha`` (and of ``epsilon_inf``) is a BCa bootstrap over seeds (``scipy.stats.bootstrap``; the
    percentile interval when BCa is undefined, e.g. every resample equal). Fit the points you pass: choose the
    window first (:func:`fit_window`). Returns ``model``, ``alpha``, ``alpha_interval``, ``c``,
    ``epsilon_inf`` (0 for ``power``), ``epsilon_inf_interval``, ``chi2``, ``dof``, ``aic`` (= chi^2 + 2k),
    ``seeds``, ``t_range``, ``decades`` (log10 of its span), ``interval_method`` and ``at_bound`` (alpha at 0
    or 10, the ends of the search: the model does not describe the curve, e.g. an error that rises).
    ``resamples=0``: no intervals."""
    if model not in MODELS:
        raise ProblemError(f"model must be one of {', '.join(MODELS)}; got {model!r}")
    t = np.asarray(t, np.float64)
    errors = np.atleast_2d(np.asarray(errors, np.float64))
    if t.ndim != 1 or errors.shape[1] != len(t):
        raise ProblemError(f"errors must have shape (seeds, {len(t)}) for {len(t)} efforts; got {errors.shape}")
    if not (np.all(np.isfinite(t)) and np.all(t > 0)) or not np.all(np.isfinite(errors)):
        raise ProblemError("efforts must be positive and finite and errors finite")
    k = 2 if model == "power" else 3
    if len(t) < k + 2:
        raise ProblemError(f"the {model} model needs at least {k + 2} points, got {len(t)}")
    mean, sigma = _curve(errors)
    (c, alpha, eps_inf), chi2 = _least_squares(t, mean, sigma, model)
    out = {"model": model, "alpha": float(alpha), "c": float(c), "epsilon_inf": float(eps_inf), "chi2": chi2,
           "dof": len(t) - k, "aic": chi2 + 2 * k, "seeds": len(errors), "t_range": [float(t[0]), float(t[-1])],
           "decades": float(np.log10(t[-1] / t[0])), "alpha_interval": None, "epsilon_inf_interval": None,
           "interval_method": None, "confidence": confidence,
           "at_bound": bool(alpha <= ALPHA_GRID[0] or alpha >= ALPHA_GRID[-1])}
    if len(errors) < 3 or resamples == 0:
        return out

    def statistic(index):
        params, _ = _least_squares(t, *_curve(errors[index.astype(int)]), model)
        return params[1], params[2]

    seeds = np.arange(len(errors), dtype=float)
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.bootstrap((seeds,), statistic, n_resamples=resamples, confidence_level=confidence,
                                     method=method, vectorized=False, paired=False, random_state=seed)
        low, high = result.confidence_interval
        if np.all(np.isfinite(low)) and np.all(np.isfinite(high)):
            break
    out["alpha_interval"] = [float(low[0]), float(high[0])]
    if model == "offset":
        out["epsilon_inf_interval"] = [float(low[1]), float(high[1])]
    out["interval_method"] = method
    return out


def compare_models(t: npt.ArrayLike, errors: npt.ArrayLike, **kwargs) -> dict:
    """Both fits and the preferred model: the one with the lower AIC when lower by more than 2, else power."""
    fits = {model: fit_exponent(t, errors, model, **kwargs) for model in MODELS}
    preferred = "offset" if fits["offset"]["aic"] < fits["power"]["aic"] - 2 else "power"
    return {**fits, "preferred": preferred, "delta_aic": fits["power"]["aic"] - fits["offset"]["aic"]}


def _inside(value, interval):
    return interval is not None and interval[0] <= value <= interval[1]


def verdict(annealer: dict, backprop: dict, paper: dict = PAPER) -> dict:
    """Claim 3's verdict from the two trainers' fits (each a :func:`fit_exponent` result) by the module's rule."""
    a, b = annealer["alpha_interval"], backprop["alpha_interval"]
    if a is None or b is None:
        return {"verdict": "inconclusive", "reason": "no intervals (fewer than 3 seeds)"}
    faster = a[0] > b[1]
    slower = b[0] > a[1]
    paper_inside = _inside(paper["annealer"], a)
    order = ("the annealer's interval lies entirely above backprop's" if faster else
             "backprop's interval lies entirely above the annealer's" if slower else
             "the two trainers' intervals overlap")
    if not paper_inside or slower:
        word = "contradicted"
        reason = (f"the paper's alpha_annealer {paper['annealer']} lies outside our interval [{a[0]:.2f}, {a[1]:.2f}]; "
                  f"{order}" if not paper_inside else order)
    elif faster:
        word = "supported"
        reason = "the paper's value lies in our interval and the annealer's interval lies above backprop's"
    else:
        word, reason = "inconclusive", "the paper's value lies in our interval but the two trainers' intervals overlap"
    return {"verdict": word, "reason": reason, "paper_annealer_in_interval": paper_inside,
            "paper_backprop_in_interval": _inside(paper["backprop"], b), "annealer_faster": faster,
            "backprop_faster": slower}


def exponent_difference(t: npt.ArrayLike, errors_a: npt.ArrayLike, errors_b: npt.ArrayLike, model: str = "offset", *,
                        resamples: int = 2000, seed: int = 0, confidence: float = 0.95) -> dict:
    """alpha_a - alpha_b of two trainers measured at the same efforts ``t`` (points,), fitted by ``model`` over the
    *same* window (pass the common one), with a percentile bootstrap interval: the seeds of each trainer are
    resampled independently (the trainers' seeds are not paired) and both refitted. The direction of claim 3
    (alpha_annealer > alpha_backprop) is ``supported`` when the interval lies above 0, ``contradicted`` when it
    lies below, else ``inconclusive``."""
    t = np.asarray(t, np.float64)
    a, b = (np.atleast_2d(np.asarray(e, np.float64)) for e in (errors_a, errors_b))
    if a.shape[1] != len(t) or b.shape[1] != len(t):
        raise ProblemError(f"both error arrays need {len(t)} points; got {a.shape} and {b.shape}")
    if min(len(a), len(b)) < 3:
        raise ProblemError("the difference interval needs at least 3 seeds per trainer")
    fit = lambda e: _least_squares(t, *_curve(e), model)[0][1]  # noqa: E731
    diff = fit(a) - fit(b)
    rng = np.random.default_rng(seed)
    draws = np.array([fit(a[rng.integers(0, len(a), len(a))]) - fit(b[rng.integers(0, len(b), len(b))])
                      for _ in range(resamples)])
    tail = 50 * (1 - confidence)
    low, high = (float(v) for v in np.percentile(draws, [tail, 100 - tail]))
    word = "supported" if low > 0 else "contradicted" if high < 0 else "inconclusive"
    return {"model": model, "alpha_a": float(fit(a)), "alpha_b": float(fit(b)), "difference": float(diff),
            "interval": [low, high], "direction": word, "t_range": [float(t[0]), float(t[-1])],
            "decades": float(np.log10(t[-1] / t[0])), "points": len(t), "resamples": resamples}


def direction(results: dict, model: str | None = None, resamples: int = 2000) -> dict:
    """Claim 3's direction from a :func:`run_scaling` result: :func:`exponent_difference` of the annealer and
    backprop over the common window -- the points (examples seen) inside both trainers' own windows. ``model``
    default: the model AIC prefers for both trainers, offset when they disagree."""
    a, b = results["trainers"]["annealer"], results["trainers"]["backprop"]
    if model is None:
        preferred = {r["fits"]["examples"]["preferred"] for r in (a, b)}
        model = preferred.pop() if len(preferred) == 1 else "offset"
    if a["examples"] != b["examples"]:
        raise ProblemError("the two trainers were evaluated at different efforts: no common window")
    t = np.asarray(a["examples"], np.float64)
    common = np.intersect1d(a["window"], b["window"])
    common = common[t[common] > 0]
    out = exponent_difference(t[common], np.asarray(a["test_error"])[:, common], np.asarray(b["test_error"])[:, common],
                              model, resamples=resamples)
    return {**out, "window_examples": [int(t[common[0]]), int(t[common[-1]])]}


def grover_cost(t: npt.ArrayLike, deep_candidates: npt.ArrayLike, resamples: int = 2000, seed: int = 0) -> dict:
    """The corrected Grover model from D(t) = ``deep_candidates`` (probes, points): distinct deep states per
    probe input among independent anneals at training efforts ``t``. Returns the total-cost ratio classical /
    Grover = int D dt / int sqrt(D) dt over training (D linear between the points: every example costs one
    search, so log-spaced points are not weighted equally), the growth exponent delta of D ∝ t^delta (log-log fit of the
    probe-mean D, 95 % bootstrap interval over probe inputs), the exponent gain (1 + delta) / (1 + delta / 2)
    it would give when delta > 0 (1 otherwise: a falling D gives no exponent gain, since the anneal itself costs
    at least a constant per example) and the condition under which claim 4's factor 2 would appear."""
    t = np.asarray(t, np.float64)
    d = np.atleast_2d(np.asarray(deep_candidates, np.float64))
    mean = d.mean(0)
    rng = np.random.default_rng(seed)

    def growth(values):
        return float(np.polyfit(np.log(t), np.log(np.maximum(values, 1.0)), 1)[0])

    delta = growth(mean)
    draws = [growth(d[rng.integers(0, len(d), len(d))].mean(0)) for _ in range(resamples)]
    low, high = np.percentile(draws, [2.5, 97.5])
    gain = lambda x: (1 + x) / (1 + x / 2) if x > 0 else 1.0  # noqa: E731
    return {"mean_deep_candidates": mean.tolist(), "t": t.tolist(),
            "total_cost_ratio": float(np.trapezoid(mean, t) / np.trapezoid(np.sqrt(mean), t)),
            "delta": delta, "delta_interval": [float(low), float(high)], "exponent_gain": gain(delta),
            "exponent_gain_interval": [gain(low), gain(high)],
            "condition": "an exponent gain needs D to grow with training time (delta > 0); the factor 2 of claim 4 "
                         "needs delta -> infinity. With D constant the Grover saving is the constant factor "
                         "total_cost_ratio, not an exponent."}


# -- the study --------------------------------------------------------------------------------------------------
QUICK = {"epochs": 6, "seeds": 10, "hidden": [128], "spins_per_class": 4, "num_reads": 8, "num_sweeps": 32,
         "evaluations": 14, "learning_rate_grid": [0.3, 1.0, 3.0], "tuning_seeds": 2, "tuning_epochs": 2,
         "validation_fraction": 0.2, "probes": 24, "anneals": 32}
FULL = {**QUICK, "epochs": 30, "seeds": 16, "hidden": [256], "spins_per_class": 8, "num_reads": 16, "num_sweeps": 64,
        "evaluations": 24, "tuning_seeds": 4, "tuning_epochs": 4, "probes": 64}
TRAINERS = {"annealer": {"trainer": "annealer"}, "backprop": {"trainer": "backprop", "activation": "tanh"},
            "backprop-sign": {"trainer": "backprop", "activation": "sign"}}
NAMES = {"annealer": "annealer-assisted (PA)", "backprop": "backprop (tanh MLP)",
         "backprop-sign": "backprop (sign + STE), read out as an Ising network"}


def _split(ds, fraction: float):
    """(training part, validation part as the 'test' split) of ``ds``'s training set: the last ``fraction``."""
    n_val = max(1, int(round(fraction * len(ds.x_train))))
    return ds._replace(x_train=ds.x_train[:-n_val], y_train=ds.y_train[:-n_val],
                       x_test=ds.x_train[-n_val:], y_test=ds.y_train[-n_val:])


def _config(name: str, settings: dict, sampler: str, dataset: str, seeds, learning_rate=None) -> dict:
    return {"dataset": dataset, "sampler": sampler, "seeds": list(seeds), "epochs": settings["epochs"],
            "hidden": settings["hidden"], "lr_schedule": "constant", "spins_per_class": settings["spins_per_class"],
            "num_reads": settings["num_reads"], "num_sweeps": settings["num_sweeps"], "learning_rate": learning_rate,
            **TRAINERS[name]}


class _IsingReadout:
    """Accuracy of backprop-trained (sign) weights read out as an Ising network: the annealer's free phase
    (its sampler, reads and evaluation keys) with the feed-forward weights as couplings."""

    def __init__(self, config: dict, seeds):
        from ..train import Ensemble
        from .training import build_run

        annealer = build_run({**config, "trainer": "annealer", "activation": "tanh"})[3]
        self.ensemble = Ensemble(annealer, seeds)
        self.state = self.ensemble.init(1)

    def __call__(self, state, x, y):
        from ..train.backprop import ising_parameters

        return self.ensemble.evaluate(self.state._replace(params=ising_parameters(state.params)), x, y)


def tune_learning_rate(name: str, settings: dict, sampler: str, dataset: str, ds: Dataset) -> dict:
    """The learning rate of trainer ``name`` from the grid (factors of its default) with the lowest mean
    validation error after ``tuning_epochs`` on the training part of the split; seeds 1000, 1001, ... (never
    the study's). The test set is not used."""
    from ..train import Ensemble
    from .training import LEARNING_RATES, build_run

    grid = [LEARNING_RATES[TRAINERS[name]["trainer"]] * f for f in settings["learning_rate_grid"]]
    seeds = list(range(1000, 1000 + settings["tuning_seeds"] * len(grid)))
    split = _split(ds, settings["validation_fraction"])
    config = {**_config(name, settings, sampler, dataset, seeds), "epochs": settings["tuning_epochs"]}
    trainer = build_run(config)[3]
    rates = np.repeat(grid, settings["tuning_seeds"])
    ensemble = Ensemble(trainer, seeds, learning_rate=rates)
    state, _ = ensemble.fit(split, settings["tuning_epochs"], eval_every=settings["tuning_epochs"])
    error = 1.0 - ensemble.evaluate(state, split.x_test, split.y_test)
    per_rate = [float(error[rates == r].mean()) for r in grid]
    return {"grid": grid, "validation_error": per_rate, "chosen": float(grid[int(np.argmin(per_rate))]),
            "validation_examples": len(split.x_test), "epochs": settings["tuning_epochs"],
            "seeds_per_rate": settings["tuning_seeds"]}


def learning_curve(name: str, settings: dict, sampler: str, dataset: str, ds: Dataset, learning_rate: float,
                   seeds: Sequence[int], tracker: TransitionTracker | None = None) -> dict:
    """Test error of every seed at log-spaced points of training (and before it), trained as one ensemble
    with a constant learning rate; with ``tracker`` (a TransitionTracker) the deep candidates D of member 0's
    landscape at each point."""
    import jax

    from ..train import Ensemble, member
    from .training import build_run

    config = _config(name, settings, sampler, dataset, seeds, learning_rate)
    trainer = build_run(config)[3]
    ensemble = Ensemble(trainer, seeds)
    per_epoch = -(-len(ds.x_train) // trainer.batch_size)
    total = per_epoch * settings["epochs"]
    points = np.unique(np.round(np.geomspace(1, total, settings["evaluations"])).astype(int))
    evaluate = _IsingReadout(config, seeds) if name == "backprop-sign" else ensemble.evaluate
    curve = {"steps": [0], "errors": [], "deep": []}
    cost = np.cumsum([(1,) + tuple(trainer.step_cost(s, trainer.batch_size)[:2]) for s in range(total)], axis=0)

    def observe(state, step):
        curve["errors"].append(1.0 - evaluate(state, ds.x_test, ds.y_test))
        if tracker is not None:
            found = tracker.measure(member(state, 0).params, jax.random.fold_in(jax.random.key(7), step))
            curve["deep"].append(found["deep_minima"])

    state = ensemble.init(total)
    observe(state, 0)

    def on_step(state, step):
        if step in points:
            curve["steps"].append(step)
            observe(state, step)

    start = time.perf_counter()
    ensemble.fit(ds, settings["epochs"], state=state, eval_every=settings["epochs"] + 1, on_step=on_step)
    steps = np.asarray(curve["steps"])
    full, part = np.divmod(steps, per_epoch)  # the last batch of an epoch is short
    examples = full * len(ds.x_train) + np.minimum(part * trainer.batch_size, len(ds.x_train))
    calls = np.concatenate([[0], cost[steps[1:] - 1, 1]])
    updates = np.concatenate([[0], cost[steps[1:] - 1, 2]])
    return {"learning_rate": learning_rate, "steps": steps.tolist(), "examples": examples.tolist(),
            "sampler_calls": calls.tolist(), "spin_updates": updates.tolist(),
            "test_error": np.stack(curve["errors"], axis=1).tolist(), "deep_candidates": curve["deep"],
            "seconds": time.perf_counter() - start}


def run_scaling(out: str, settings: dict | None = None, sampler: str = "pa", dataset: str = "digits",
                progress: bool = True, trainers: Sequence[str] = tuple(TRAINERS)) -> dict:
    """The exponent study: per trainer a learning rate tuned on a validation split, then ``seeds`` networks
    trained as one ensemble with the test error recorded at ``evaluations`` log-spaced points; both models
    fitted over the stated window against examples seen (and sampler calls and spin updates), claim 3's verdict
    and the corrected Grover model from the annealer's deep candidates. JSON, arrays and a figure in ``out``."""
    from ..nn import IsingNetwork
    from ..train import parse_seeds
    from .training import load_data, TrainConfig
    from .transition import TransitionTracker

    settings = {**QUICK, **(settings or {})}
    seeds = parse_seeds(settings["seeds"])
    settings["seeds"] = seeds
    run = RunDirectory(out, {"study": "scaling", "sampler": sampler, "dataset": dataset, "trainers": list(trainers),
                             **settings})
    start = time.perf_counter()
    ds = load_data(TrainConfig(dataset=dataset))
    results = {"settings": settings, "sampler": sampler, "dataset": dataset, "train_examples": len(ds.x_train),
               "test_examples": len(ds.x_test), "paper": PAPER, "trainers": {}}
    names = trainers
    if progress:
        from tqdm.auto import tqdm
        names = tqdm(trainers, desc="scaling trainers")
    for name in names:
        tuning = tune_learning_rate(name, settings, sampler, dataset, ds)
        tracker = None
        if name == "annealer":
            net = IsingNetwork([ds.num_inputs, *settings["hidden"]], ds.num_classes, settings["spins_per_class"])
            tracker = TransitionTracker(net, ds.x_test[:settings["probes"]], ds.y_test[:settings["probes"]],
                                        settings["anneals"], null_control=False)
        curve = learning_curve(name, settings, sampler, dataset, ds, tuning["chosen"], seeds, tracker)
        errors = np.asarray(curve["test_error"])
        window = fit_window(curve["examples"], errors.mean(0))
        window = window[np.asarray(curve["examples"])[window] > 0]
        rule_met = len(window) >= 5  # the offset model needs 5 points; else the last 5, flagged
        if not rule_met:
            window = np.flatnonzero(np.asarray(curve["examples"]) > 0)[-5:]
        fits = {effort: compare_models(np.asarray(curve[effort], float)[window], errors[:, window],
                                       resamples=2000 if effort == "examples" else 0)  # intervals: examples only
                for effort in ("examples", "sampler_calls", "spin_updates") if curve[effort][-1] > 0}
        results["trainers"][name] = {"tuning": tuning, **curve, "window": window.tolist(), "window_rule_met": rule_met,
                                     "fits": fits}
    a, b = results["trainers"].get("annealer"), results["trainers"].get("backprop")
    if a and b:
        fa, fb = (r["fits"]["examples"] for r in (a, b))
        results["verdicts"] = {"claim_3": {**verdict(fa[fa["preferred"]], fb[fb["preferred"]]),
                                           "models": [fa["preferred"], fb["preferred"]]}}
        if len(np.intersect1d(a["window"], b["window"])) >= 5:
            results["verdicts"]["claim_3_direction"] = direction(results)
    if a and a["deep_candidates"]:
        deep = np.asarray(a["deep_candidates"], float).T  # (probes, points)
        keep = np.asarray(a["examples"]) > 0
        results["grover_model"] = {**grover_cost(np.asarray(a["examples"])[keep], deep[:, keep]),
                                   "anneals_per_probe": settings["anneals"], "probes": settings["probes"]}
    results["study_seconds"] = time.perf_counter() - start
    variables, coords = {}, {"seed": np.asarray(seeds)}
    for name, r in results["trainers"].items():
        coords[f"point_{name}"] = np.arange(len(r["steps"]))
        variables[f"test_error_{name}"] = (("seed", f"point_{name}"), np.asarray(r["test_error"]))
        for effort in ("steps", "examples", "sampler_calls", "spin_updates"):
            variables[f"{effort}_{name}"] = ((f"point_{name}",), np.asarray(r[effort], float))
    run.save_dataset("arrays.nc", variables, coords)
    plot_scaling(results, os.path.join(out, "scaling"))
    run.finish(results, "results.json")
    return results


def exponent_summary(results: dict) -> dict:
    """The headline numbers of a :func:`run_scaling` result: per trainer the tuned learning rate, the window and
    both fits against examples seen; claim 3's verdict; the Grover model."""
    def fit(f):
        return {k: f.get(k) for k in ("alpha", "alpha_interval", "epsilon_inf", "epsilon_inf_interval", "aic", "chi2",
                                      "dof", "decades", "seeds", "at_bound")}

    trainers = {name: {"learning_rate": r["learning_rate"], "preferred": r["fits"]["examples"]["preferred"],
                       "window_examples": [r["examples"][r["window"][0]], r["examples"][r["window"][-1]]],
                       **{m: fit(r["fits"]["examples"][m]) for m in MODELS}}
                for name, r in results["trainers"].items()}
    return {"trainers": trainers, "verdicts": results.get("verdicts", {}),
            "grover_model": {k: v for k, v in results.get("grover_model", {}).items()
                             if k not in ("mean_deep_candidates", "t")}}


def describe(summary: dict) -> list[str]:
    """Markdown lines of an :func:`exponent_summary` (for the CLI and the report)."""

    lines = []
    for name, r in summary["trainers"].items():
        p, o = r["power"], r["offset"]
        bound = " — α at a bound of the search: neither model describes this curve" if o.get("at_bound") else ""
        lines.append(f"- {NAMES[name]}: power α = {p['alpha']:.2f} {format_interval(p['alpha_interval'])}; offset "
                     f"α = {o['alpha']:.2f} {format_interval(o['alpha_interval'])}, ε∞ = {o['epsilon_inf']:.3f} "
                     f"{format_interval(o['epsilon_inf_interval'])}; AIC prefers {r['preferred']} "
                     f"(lr {r['learning_rate']:g}, "
                     f"window {r['window_examples'][0]}–{r['window_examples'][1]} examples, {p['decades']:.1f} "
                     f"decades, {p['seeds']} seeds){bound}")
    claim = summary["verdicts"].get("claim_3")
    if claim:
        lines.append(f"- claim 3 verdict: **{claim['verdict']}** ({claim['reason']})")
    d = summary["verdicts"].get("claim_3_direction")
    if d:
        lines.append(f"- claim 3 direction (α_annealer > α_backprop), both fitted ({d['model']}) over the common "
                     f"window {d['window_examples'][0]}–{d['window_examples'][1]} examples: α {d['alpha_a']:.2f} vs "
                     f"{d['alpha_b']:.2f}, difference {d['difference']:+.2f} {format_interval(d['interval'])} → "
                     f"**{d['direction']}**")
    g = summary["grover_model"]
    if g:
        lines.append(f"- Grover model: total-cost ratio classical/Grover {g['total_cost_ratio']:.2f} (a constant "
                     f"factor); D ∝ t^δ with δ = {g['delta']:.2f} {format_interval(g['delta_interval'])}, "
                     f"exponent gain "
                     f"{g['exponent_gain']:.2f} ({g['anneals_per_probe']} independent anneals on {g['probes']} "
                     f"probe inputs)")
    return lines


def plot_scaling(results: dict, stem: str | None) -> None:
    """Log-log test error vs examples seen (seed mean ± standard error) and both fitted models over each trainer's
    window: the pure power law (dashed) and the power law with an offset (solid); the fitted exponents with their
    intervals are in the legend, the verdicts in the report."""
    from .figures import COLUMN, TRAINER_COLOURS, figure

    seeds = len(results["settings"]["seeds"])
    with figure(stem, COLUMN, 4.2) as (fig, ax):
        for name, r in results["trainers"].items():
            colour = TRAINER_COLOURS.get(name, "k")
            t, errors = np.asarray(r["examples"], float), np.asarray(r["test_error"])
            keep = t > 0
            mean, sem = errors.mean(0), errors.std(0, ddof=1) / np.sqrt(len(errors))
            ax.errorbar(t[keep], mean[keep], yerr=sem[keep], fmt="o", ms=2.5, color=colour, label=NAMES[name])
            tw = np.geomspace(t[r["window"][0]], t[r["window"][-1]], 100)
            for model, style in (("power", "--"), ("offset", "-")):
                fit = r["fits"]["examples"][model]
                if fit.get("at_bound"):
                    continue  # the model does not describe the curve (see describe)
                low, high = fit["alpha_interval"] or (np.nan, np.nan)
                preferred = "*" if r["fits"]["examples"]["preferred"] == model else ""
                ax.plot(tw, fit["epsilon_inf"] + fit["c"] * tw ** -fit["alpha"], style, color=colour, lw=1.0,
                        label=f"  {'c t^−α' if model == 'power' else 'ε∞ + c t^−α'}{preferred}: α = "
                              f"{fit['alpha']:.2f} [{low:.2f}, {high:.2f}]")
        ax.set(xscale="log", yscale="log", xlabel="examples seen t", ylabel="test error ε(t)")
        handles, labels = ax.get_legend_handles_labels()
        data = [i for i, label in enumerate(labels) if not label.startswith("  ")]
        order = data + [i for i in range(len(labels)) if i not in data]
        fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center",
                   title=f"{seeds} seeds, mean ± s.e.; fits with 95 % intervals (*: AIC-preferred)", fontsize=5.5,
                   title_fontsize=5.5)
        ax.grid(True, which="major")
