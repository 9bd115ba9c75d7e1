"""The glass -> order transition of training (DESIGN section 7): a tracker of landscape and overlap observables
on a fixed probe set, the transition epoch t*, the thermal glass of the trained network, and a study over hidden
widths -- each beside its null control.

**Tracker** (the dynamical transition, T -> 0). After every epoch each probe input's free phase is annealed K
times by *independent* simulated-annealing runs (never members of one population-annealing population, which
share families) and the reads are quenched to single-flip-stable minima. Recorded:
- the landscape (:func:`dragonjax.analysis.probe_landscape`): distinct minima among the K (with Chao1, the
  singleton fraction and whether Chao1 is only a lower bound), Hydra heads (distinct wrong-label minima within
  dE = window x rms local field of the lowest state found), distinct labels among the deep minima, the gap per
  spin Delta / N, and how many correctly classified inputs still carry heads (heads are not a restatement of m);
- P(q) of the hidden-spin overlaps between the K independent minima of an input (pooled), q_EA = <q^2>, and
  the connected quantities per input, dq = q - <q>_input: chi_SG = n [<dq^2>] and the Binder cumulant of dq,
  with errors from a bootstrap over probe inputs (the independent unit);
- m (fraction of inputs whose lowest state decodes right: the accuracy) and m_out = (1/|O|) sum o_i t_i;
- the code gap: lowest energy with the output clamped to the best wrong code minus with the right code.
The null control is measured alongside at every epoch: the same network with its hidden -> output couplings
randomly permuted (:func:`permuted_output`: the same coupling values, no learned alignment with the codes). (The
decoupled network -- couplings zero -- is the thermal null below; at T -> 0 it has one minimum per input, so it
would control nothing here.) ``heads`` of a misclassified input include its lowest state;
``mean_heads_beyond_lowest`` leaves it out and does not contain the accuracy.

**Thermal glass** (:func:`thermal_glass`, the transition at fixed trained weights). K = 4 independent
parallel-tempering replicas per probe input, the replicon chi_SG and the connected overlap's Binder cumulant g
vs temperature,
errors by bootstrap over probe inputs, a stationarity check per temperature. Temperatures are given in units of
the conditioned problem's rms local-field scale sigma = sqrt(mean_i [sum_j J_ij^2 + (h_i + f_i)^2]) (the
standard deviation of a spin's local field when the others are random), so that an untrained and a trained
network -- whose fields grow in training -- are compared at equal energy scale; the null control is measured at
the network's own absolute temperatures. The decoupled null control has hidden -> output couplings zero, so
with one hidden layer its hidden spins are free spins in the same input fields. Crossings over widths follow
the resolved-crossing rule of :mod:`dragonjax.analysis.fss`; note that hidden width is not a thermodynamic size
(inputs, outputs and data stay fixed), so such crossings carry no finite-size-scaling meaning (DESIGN §7).

Transition rule (stated, not fitted by eye): t* is the first tracked epoch at which m >= 1/2; the sharpness is
the largest increase of m between consecutive tracked epochs divided by their epoch spacing.
"""
from __future__ import annotations

import os
import time
from typing import Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
from jax.typing import ArrayLike

from ..analysis import DEFAULT_WINDOW, probe_landscape
from ..ising import IsingModel, stack_models
from ..ising import local_field_scale as _local_field_scale
from ..nn import IsingNetwork
from ..analysis.fss import size_crossing
from ..analysis.overlaps import bootstrap_problems, connected_moments, glass_statistics, replicon_susceptibility
from ..analysis.replicas import equilibrium_replicas, family_z_max, stationarity_check
from ..train.phases import phase_sampler
from .results import RunDirectory
from .training import run_training

__all__ = ["TransitionTracker", "decoupled_output", "local_field_scale", "permuted_output", "plot_thermal",
           "plot_transition", "run_transition", "thermal_glass", "transition_point"]

REDUCED_TEMPERATURES = np.geomspace(0.1, 3.0, 9)  # in units of the rms local-field scale sigma


def decoupled_output(params: dict) -> dict:
    """The null control: the same parameters with the hidden -> output couplings (the last weight matrix) set
    to zero, so the hidden spins are non-interacting spins in the same input fields."""
    weights = list(params["weights"])
    weights[-1] = jnp.zeros_like(weights[-1])
    return {**params, "weights": weights}


def permuted_output(params: dict, key: jax.Array) -> dict:
    """A null control with an interacting landscape but no learned structure: the hidden -> output couplings
    randomly permuted (same values, same rms, any learned alignment with the codes destroyed). At T -> 0 the
    decoupled network (:func:`decoupled_output`) is trivial -- one minimum per input -- so the tracker uses
    this one."""
    weights = list(params["weights"])
    flat = weights[-1].ravel()
    weights[-1] = jax.random.permutation(key, flat).reshape(weights[-1].shape)
    return {**params, "weights": weights}


def local_field_scale(base: IsingModel, fields: ArrayLike) -> float:
    """sigma of :func:`dragonjax.ising.local_field_scale` (the rms local field of a spin whose neighbours are
    random) over the B conditioned problems base + fields (B, N), as a Python float."""
    return float(_local_field_scale(base, jnp.asarray(fields)))


def _overlap_statistics(states, num_hidden: int, resamples: int, seed: int) -> dict:
    """Pair overlaps of the hidden spins among the K anneal outcomes of each input (B, K, N): pooled P(q),
    q_EA, the replicon chi_SG = (1/n) sum_ij C_ij^2 of the outcomes' distribution (four-replica estimator over
    all pairs of pairs) and the connected Binder cumulant, with bootstrap errors over inputs. These describe
    where independent anneals land, not an equilibrium P(q) (for that see :func:`thermal_glass`)."""
    hidden = np.asarray(states, np.float64)[..., :num_hidden]
    k = hidden.shape[1]
    a, b = np.triu_indices(k, 1)
    q = np.einsum("bpi,bpi->bp", hidden[:, a], hidden[:, b]) / num_hidden  # (B, P)
    moments = connected_moments(q.T[:, :, None, None], symmetric=False)  # series axis = pairs
    m2, m4 = moments["m2"][:, 0], moments["m4"][:, 0]
    replicon = replicon_susceptibility(q[None, :, :, None], k, num_hidden)[:, 0]

    def statistics(m2, m4, replicon):
        return glass_statistics(m2, m4, num_hidden, replicon=replicon)

    stats = statistics(m2, m4, replicon)
    draws = bootstrap_problems(statistics, (m2, m4, replicon), resamples, seed)
    density = np.histogram(q.ravel(), bins=41, range=(-1, 1), density=True)[0]
    return {"q_ea": float(np.mean(q ** 2)), "chi_sg": float(stats["chi_sg"]),
            "chi_sg_error": float(np.std(draws["chi_sg"], ddof=1)), "binder": float(stats["g"]),
            "binder_error": _nan_std(draws["g"]), "p_q": density.tolist()}


def _nan_median(values):
    """Median of the finite values (the label gap is undefined for an input whose minima all share a
    label); None when there are none."""
    values = np.asarray(values, np.float64)
    return float(np.median(values[np.isfinite(values)])) if np.isfinite(values).any() else None


def _nan_std(values):
    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if values.size > 1 else None


class TransitionTracker:
    """Landscape and overlap observables of a network on a fixed probe set, and of its null control; call
    :meth:`record` with the parameters after each epoch.

    Args:
        num_samples: K independent simulated-annealing runs per probe input.
        window: heads window dE in units of the rms local field at the lowest state found.
        num_sweeps: sweeps of each simulated-annealing run.
        reduced_beta_range: the annealing schedule's (hot, cold) beta in units of 1 / sigma, sigma the
            conditioned problems' :func:`local_field_scale` at the parameters measured -- so that the anneals
            are equally thorough when training strengthens the fields.
        null_control: also measure the network with its hidden -> output couplings randomly permuted.
    """

    def __init__(self, network: IsingNetwork, x_probe: npt.ArrayLike, y_probe: npt.ArrayLike, num_samples: int = 32,
                 seed: int = 0, window: float = DEFAULT_WINDOW, num_sweeps: int = 64,
                 reduced_beta_range: Iterable[float] = (0.1, 10.0),
                 null_control: bool = True, resamples: int = 200):
        self.net = network
        self.x = jnp.asarray(x_probe, jnp.float32)
        self.y = np.asarray(y_probe)
        network.check_inputs(self.x)
        network.check_labels(self.y)
        self.num_samples = int(num_samples)
        self.window = float(window)
        self.num_sweeps = int(num_sweeps)
        self.reduced_beta_range = tuple(float(b) for b in reduced_beta_range)
        self.seed = seed
        self.null_control = null_control
        self.resamples = int(resamples)
        self.records = []

    def measure(self, params: dict, key: jax.Array) -> dict:
        """The observables of one set of parameters (no code gap; see :meth:`record`)."""
        net = self.net
        sample = self.sampler(params)
        found = probe_landscape(net, params, self.x, self.y, sample, key, self.num_samples, self.window)
        states = np.stack([np.repeat(r["states"], r["hits"], axis=0) for r in found])  # (B, K, N)
        correct = np.array([r["correct"] for r in found])
        heads = np.array([r["heads"] for r in found], float)
        beyond = np.array([r["heads_beyond_lowest"] for r in found], float)
        targets = np.asarray(net.target_code(jnp.asarray(self.y)))
        m_out = [float(np.mean(r["lowest_state"][net.output_slice] * t)) for r, t in zip(found, targets)]
        return {"m": float(np.mean(correct)), "m_out": float(np.mean(m_out)),
                "mean_heads": float(heads.mean()), "heads_error": float(heads.std(ddof=1) / np.sqrt(len(heads))),
                "mean_heads_beyond_lowest": float(beyond.mean()),
                "heads_beyond_lowest_error": float(beyond.std(ddof=1) / np.sqrt(len(beyond))),
                "heads_on_correct_inputs": float(np.mean(heads[correct] > 0)) if correct.any() else None,
                "mean_deep_labels": float(np.mean([r["deep_labels"] for r in found])),
                "mean_minima": float(np.mean([r["num_minima"] for r in found])),
                "deep_minima": [r["deep_minima"] for r in found],
                "mean_chao1": float(np.mean([r["chao1"] for r in found])),
                "singleton_fraction": float(np.mean([r["singleton_fraction"] for r in found])),
                "chao1_lower_bound_fraction": float(np.mean([r["lower_bound"] for r in found])),
                "median_gap_per_spin": _nan_median([r["gap_per_spin"] for r in found]),
                **_overlap_statistics(states, net.num_hidden, self.resamples, self.seed)}

    def sampler(self, params: dict) -> Callable[..., tuple[jax.Array, jax.Array]]:
        """Independent simulated-annealing runs with the beta range in units of 1 / sigma of these params."""
        fields, _ = self.net.input_fields(params, self.x)
        scale = local_field_scale(self.net.couplings(params), fields)
        hot, cold = self.reduced_beta_range
        return phase_sampler("sa", num_sweeps=self.num_sweeps, beta_range=(hot / scale, cold / scale))

    def record(self, params: dict, epoch: int) -> dict:
        """Measure ``params`` (and, with ``null_control``, the permuted-output null) as the record of ``epoch``,
        with the code gaps; appended to :attr:`records` and returned."""
        key = jax.random.fold_in(jax.random.key(self.seed), epoch)
        k_net, k_gap, k_null = jax.random.split(key, 3)
        gaps = self._label_gaps(k_gap, params)
        rec = {"epoch": int(epoch), **self.measure(params, k_net), "median_gap": float(np.median(gaps)),
               "gaps": [float(g) for g in gaps], "num_samples": self.num_samples, "window": self.window}
        if self.null_control:
            k_perm, k_null = jax.random.split(k_null)
            null = self.measure(permuted_output(params, k_perm), k_null)
            rec["null"] = {k: null[k] for k in ("mean_heads", "mean_heads_beyond_lowest", "mean_minima", "q_ea",
                                                "chi_sg", "chi_sg_error", "binder", "binder_error", "m")}
        self.records.append(rec)
        return rec

    def _label_gaps(self, key, params):
        """Delta per probe input: lowest energy with the output clamped to the best wrong code minus the
        lowest with it clamped to the right code (all C codes annealed in one batch)."""
        net = self.net
        c = net.num_classes
        x = jnp.repeat(self.x, c, axis=0)
        codes = jnp.tile(jnp.arange(c), len(self.y))
        hidden_layers = list(range(1, net.num_layers))
        if not hidden_layers:
            energies = net.energy(params, x, net.target_code(codes))
        else:
            fields, offsets = net.input_fields(params, x, {net.num_layers: net.target_code(codes)}, hidden_layers)
            _, e = self.sampler(params)(key, net.couplings(params, hidden_layers), fields, offsets, self.num_samples)
            energies = e.min(axis=1)
        energies = np.asarray(energies).reshape(len(self.y), c)
        right = energies[np.arange(len(self.y)), self.y]
        wrong = np.where(np.arange(c)[None, :] == self.y[:, None], np.inf, energies).min(axis=1)
        return (wrong - right).tolist()


def thermal_glass(network: IsingNetwork, params: dict | list[dict] | tuple[dict, ...], x_probe: npt.ArrayLike,
                  reduced_temperatures: npt.ArrayLike = REDUCED_TEMPERATURES, energy_scale: npt.ArrayLike | None = None,
                  replicas: int = 4, sweeps: int = 2048, seed: int = 0, resamples: int = 500) -> dict:
    """The thermal glass of a network at fixed weights: the replicon chi_SG (four-replica estimator) and the
    Binder cumulant g of the connected hidden-spin overlap vs temperature, from ``replicas`` independent
    parallel-tempering runs per probe input (the problems; errors by bootstrap over them). Temperatures are
    ``reduced_temperatures`` x ``energy_scale`` (default: this network's :func:`local_field_scale`); the
    tempering ladder holds them, two intermediate temperatures between neighbours, and hotter ones up to twice
    the highest. Returns the curve, the scale, the bootstrap draws (for crossings) and the stationarity check.

    ``params`` may also be a list of networks' parameters (e.g. the seeds of an ensemble): the problems are then
    every (network, probe input) pair, each divided by its own network's scale (or by ``energy_scale[i]``), so
    that all are measured at the same reduced temperatures, and the bootstrap resamples the networks (each with
    all its probe inputs: a cluster bootstrap); ``energy_scale`` in the result is then the list of scales and a
    curve point's ``temperature`` is the reduced one times their mean. Give each call its own ``seed`` when
    curves are compared (e.g. two sizes): equal seeds draw equal resampling indices."""
    x = jnp.asarray(x_probe, jnp.float32)
    several = isinstance(params, (list, tuple))
    if not several:
        base = network.couplings(params)
        fields, _ = network.input_fields(params, x)
        scale = local_field_scale(base, fields) if energy_scale is None else float(energy_scale)
        model, extra_field, factor, num_problems = base, fields, scale, len(fields)
        clusters = None
    else:
        given = [None] * len(params) if energy_scale is None else list(np.broadcast_to(energy_scale, (len(params),)))
        models, scale = [], []
        for p, s in zip(params, given):
            base = network.couplings(p)
            fields, _ = network.input_fields(p, x)
            scale.append(local_field_scale(base, fields) if s is None else float(s))
            models += [IsingModel(base.J / scale[-1], (base.h + f) / scale[-1]) for f in fields]
        model, extra_field, factor, num_problems = stack_models(models), None, 1.0, len(models)
        clusters = np.repeat(np.arange(len(params)), len(x))  # the networks are the independent unit
    reduced = np.sort(np.asarray(reduced_temperatures, np.float64))
    ladder = np.exp(np.interp(np.arange(3 * len(reduced) - 2) / 3.0, np.arange(len(reduced)), np.log(reduced)))
    measured = np.flatnonzero(np.isin(np.arange(len(ladder)) % 3, [0]))
    burn_in = sweeps // 2
    thin = max(1, (sweeps - burn_in) // 128)
    r = equilibrium_replicas(jax.random.key(seed), model, ladder * factor, num_replicas=replicas, burn_in=burn_in,
                             num_measurements=(sweeps - burn_in) // thin, thin=thin, extra_field=extra_field,
                             sites=np.arange(network.num_hidden), hottest=2.0 * float(reduced.max()) * factor)
    # keep the measured rungs; the exchange rate "above" a measured rung covers every ladder edge above it
    edges = [slice(3 * i, 3 * (i + 1) if i < len(measured) - 1 else None) for i in range(len(measured))]
    acceptance = np.stack([r.acceptance[..., e].min(axis=-1) for e in edges], axis=-1)
    r = r._replace(temperatures=r.temperatures[measured], energy=r.energy[..., measured],
                   overlap=r.overlap[..., measured], acceptance=acceptance)
    moments = connected_moments(r.overlap, symmetric=False)
    n = network.num_hidden
    replicon = replicon_susceptibility(r.overlap, replicas, n)

    def statistics(m2, m4, replicon):
        return glass_statistics(m2, m4, n, replicon=replicon)

    stats = statistics(moments["m2"], moments["m4"], replicon)
    draws = bootstrap_problems(statistics, (moments["m2"], moments["m4"], replicon), resamples, seed, clusters)
    checks = stationarity_check(r, z_max=family_z_max(2 * len(reduced), samples=num_problems))
    mean_scale = float(np.mean(scale))
    curve = [{"reduced_temperature": float(t), "temperature": float(t * mean_scale), "g": float(stats["g"][i]),
              "g_error": float(np.nanstd(draws["g"][:, i], ddof=1)), "chi_sg": float(stats["chi_sg"][i]),
              "chi_sg_error": float(np.std(draws["chi_sg"][:, i], ddof=1)),
              "mean_overlap": float(moments["mean"][:, i].mean()), "equilibrated": checks[i]["equilibrated"],
              "drift_z": checks[i]["z"], "q2_drift_z": checks[i]["q2_z"]} for i, t in enumerate(reduced)]
    return {"energy_scale": scale, "curve": curve, "draws": draws,
            "min_acceptance": float(acceptance.min()),
            "equilibrated": all(c["equilibrated"] for c in checks)}


def transition_point(records: Sequence[dict]) -> dict:
    """t* (first tracked epoch with m >= 1/2) and the sharpness (largest dm / d epoch)."""
    epochs = np.array([r["epoch"] for r in records], float)
    m = np.array([r["m"] for r in records], float)
    above = np.flatnonzero(m >= 0.5)
    t_star = float(epochs[above[0]]) if above.size else None
    rates = np.diff(m) / np.maximum(np.diff(epochs), 1)
    return {"t_star": t_star, "sharpness": float(rates.max()) if rates.size else None}


def run_transition(out: str, widths: Sequence[int] = (32, 64, 128), epochs: int = 10, probe_size: int = 24,
                   num_samples: int = 32, seed: int = 0, train_size: int = 256, thermal_probes: int = 8,
                   thermal_sweeps: int = 2048, window: float = DEFAULT_WINDOW, progress: bool = True,
                   seeds: str | int | list[int] | tuple[int, ...] | range | np.ndarray | None = None) -> dict:
    """Tracked annealer training (PA) on digits for each hidden width, with the null control; then the thermal
    glass of the untrained and trained network and of their null controls; crossings over widths. JSON, arrays
    and figures in ``out``. An 'epoch' here is ``train_size`` examples (a subset), so that the transition spans
    several epochs.

    ``seeds`` (a list; default ``[seed]``): the networks of one width train as one ensemble and each is tracked;
    per width, ``seeds`` holds every seed's t*, sharpness, m(t) and test accuracy, ``t_star_over_seeds`` their
    summary. The figures, the per-epoch records and the thermal study are those of the first seed."""
    from ..train import Ensemble, member, parse_seeds
    from .training import build_run, summary

    seeds = [seed] if seeds is None else parse_seeds(seeds)
    seed = seeds[0]
    from .. import data as datasets
    from ..nn import IsingNetwork

    config = {"study": "transition", "widths": list(widths), "epochs": epochs, "probe_size": probe_size,
              "num_samples": num_samples, "seed": seed, "train_size": train_size, "thermal_probes": thermal_probes,
              "thermal_sweeps": thermal_sweeps, "window": window, "seeds": seeds}
    run = RunDirectory(out, config)
    start = time.perf_counter()
    ds = datasets.digits().centered()
    probe_x, probe_y = ds.x_test[:probe_size], ds.y_test[:probe_size]
    results = {**config, "widths": {}, "reduced_temperatures": REDUCED_TEMPERATURES.tolist(),
               "rule": "t* = first tracked epoch with m >= 1/2; sharpness = max dm/d(epoch)"}
    draws = {}
    grid = widths
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(widths, desc="transition widths")
    for width in grid:
        net = IsingNetwork([ds.num_inputs, width], ds.num_classes, 4)
        trackers = [TransitionTracker(net, probe_x, probe_y, num_samples, seed=s, window=window) for s in seeds]
        training = {"hidden": [width], "spins_per_class": 4, "epochs": epochs, "seeds": seeds, "num_reads": 8,
                    "lr_schedule": "constant", "train_size": train_size}
        initial = Ensemble(build_run(training)[3], seeds).init()  # exactly the states the ensemble starts from
        starts = [member(initial, i).params for i in range(len(seeds))]
        for tracker, params in zip(trackers, starts):
            tracker.record(params, 0)
        untrained, tracker = starts[0], trackers[0]

        def track(state, record):
            for i, t in enumerate(trackers):
                t.record(member(state, i).params, int(state.epoch))

        metrics, states = run_training(training, progress=progress, return_state=True, on_epoch=track)
        final = member(states, 0)
        per_seed = {str(s): {**transition_point(t.records), "test_accuracy": a, "m": [r["m"] for r in t.records]}
                    for s, t, a in zip(seeds, trackers, metrics["test_accuracy"]["per_seed"])}
        reached = [p["t_star"] for p in per_seed.values() if p["t_star"] is not None]
        entry = {"records": tracker.records, **transition_point(tracker.records),
                 "test_accuracy": metrics["test_accuracy"]["per_seed"][0], "seeds": per_seed,
                 "t_star_over_seeds": {"reached": len(reached), "of": len(seeds),
                                       **(summary(reached) if reached else {})}}
        thermal_x = probe_x[:thermal_probes]
        for phase, params in (("untrained", untrained), ("trained", final.params)):
            glass = thermal_glass(net, params, thermal_x, sweeps=thermal_sweeps, seed=seed)
            null = thermal_glass(net, decoupled_output(params), thermal_x, energy_scale=glass["energy_scale"],
                                 sweeps=thermal_sweeps, seed=seed)
            for name, g in ((phase, glass), (f"null_{phase}", null)):
                draws.setdefault(name, {})[width] = ({"g": np.array([c["g"] for c in g["curve"]])}, g.pop("draws"))
                entry[f"thermal_{name}"] = g
        results["widths"][str(width)] = entry
    results["thermal_crossings"] = {
        name: [{"widths": [a, b], **size_crossing(REDUCED_TEMPERATURES, per[a], per[b], "g")}
               for a, b in zip(list(widths)[:-1], list(widths)[1:])]
        for name, per in draws.items()}
    results["study_seconds"] = time.perf_counter() - start
    save_transition_arrays(results, run)
    plot_transition(results, os.path.join(out, "transition"))
    plot_thermal(results, os.path.join(out, "binder"))
    run.finish(results, "results.json")
    return results


TRACKED = ("m", "m_out", "mean_heads", "heads_error", "mean_heads_beyond_lowest", "heads_beyond_lowest_error",
           "mean_minima", "mean_chao1", "singleton_fraction",
           "mean_deep_labels", "median_gap_per_spin", "median_gap", "q_ea", "chi_sg", "chi_sg_error", "binder",
           "binder_error")
THERMAL = ("untrained", "trained", "null_untrained", "null_trained")


def save_transition_arrays(results: dict, run):
    """The tracked observables over (width, epoch[, q | probe]) -- the null control's with a ``null_`` prefix --
    and the thermal curves over (width, temperature)."""
    widths = list(results["widths"])
    per_width = [results["widths"][w] for w in widths]

    def stack(field, null=False):
        return np.array([[np.nan if (v := (r["null"] if null else r).get(field)) is None else v
                          for r in w["records"]] for w in per_width], float)

    variables = {f: (("width", "epoch"), stack(f)) for f in TRACKED}
    variables.update({f"null_{f}": (("width", "epoch"), stack(f, True))
                      for f in ("mean_heads", "mean_heads_beyond_lowest", "mean_minima", "q_ea", "chi_sg",
                                "chi_sg_error", "binder", "m")})
    variables["p_q"] = (("width", "epoch", "q"), stack("p_q"))
    variables["gap"] = (("width", "epoch", "probe"), stack("gaps"))
    m_over_seeds = [[w["seeds"][str(s)]["m"] for s in results["seeds"]] for w in per_width]
    variables["m_over_seeds"] = (("width", "seed", "epoch"), np.array(m_over_seeds, float))
    for name in THERMAL:
        for field in ("g", "g_error", "chi_sg", "chi_sg_error", "temperature"):
            variables[f"thermal_{field}_{name}"] = (("width", "temperature"), np.array(
                [[c[field] for c in w[f"thermal_{name}"]["curve"]] for w in per_width], float))
    edges = np.linspace(-1, 1, variables["p_q"][1].shape[-1] + 1)
    run.save_dataset("arrays.nc", variables, {
        "width": np.array(widths, int), "epoch": [r["epoch"] for r in per_width[0]["records"]],
        "q": 0.5 * (edges[1:] + edges[:-1]), "probe": np.arange(variables["gap"][1].shape[-1]),
        "temperature": results["reduced_temperatures"], "seed": np.asarray(results["seeds"])})


def plot_transition(results: dict, stem: str | None) -> None:
    """(a) P(q) among the anneals of the widest net per epoch (log colours; white: no pair); (b) Hydra heads
    beyond the lowest state (network, with errors over probes; null control dotted) and distinct minima (dashed);
    (c) label order m, replicon chi_SG / n among anneal outcomes (network dashed, null dotted) and t* (vertical);
    (d) the code gap of the widest net before (dashed) and after (solid) training. One colour per width
    (:func:`dragonjax.experiments.figures.size_colour`); captions in the report."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm

    from .figures import NULL, PAGE, TRAINED, UNTRAINED, figure, key_legend, size_colour

    widths = list(results["widths"])
    largest = results["widths"][widths[-1]]
    epoch_label = f"epoch ({results['train_size']} examples each)"
    anneals = largest["records"][0]["num_samples"]
    probes = len(largest["records"][0]["gaps"])
    with figure(stem, PAGE, 5.0, 2, 2) as (fig, ((ax_pq, ax_heads), (ax_order, ax_gap))):
        pq = np.array([r["p_q"] for r in largest["records"]]).T
        epochs = [r["epoch"] for r in largest["records"]]
        cmap = colormaps["viridis"].with_extremes(bad="white")
        positive = pq[pq > 0]
        im = ax_pq.imshow(np.ma.masked_less_equal(pq, 0), aspect="auto", origin="lower", cmap=cmap,
                          extent=(epochs[0] - 0.5, epochs[-1] + 0.5, -1, 1), interpolation="nearest",
                          norm=LogNorm(vmin=positive.min() if positive.size else 1e-3, vmax=max(pq.max(), 1)))
        fig.colorbar(im, ax=ax_pq, label=f"P(q), width {widths[-1]}, {anneals} anneals", pad=0.01)
        ax_pq.set(xlabel=epoch_label, ylabel="hidden-spin overlap q")
        for w in widths:
            recs, colour = results["widths"][w]["records"], size_colour(int(w))
            e = [r["epoch"] for r in recs]
            ax_heads.errorbar(e, [r["mean_heads_beyond_lowest"] for r in recs],
                              yerr=[r["heads_beyond_lowest_error"] for r in recs], fmt="o" + TRAINED, color=colour)
            ax_heads.plot(e, [r["mean_minima"] for r in recs], "s" + UNTRAINED, color=colour, ms=2.5, lw=0.8)
            ax_heads.plot(e, [r["null"]["mean_heads_beyond_lowest"] for r in recs], "x" + NULL, color=colour)
            ax_order.plot(e, [r["m"] for r in recs], "o" + TRAINED, color=colour)
            ax_order.errorbar(e, [r["chi_sg"] / int(w) for r in recs], yerr=[r["chi_sg_error"] / int(w) for r in recs],
                              fmt="^" + UNTRAINED, ms=2.5, lw=0.8, color=colour)
            ax_order.plot(e, [r["null"]["chi_sg"] / int(w) for r in recs], "x" + NULL, color=colour)
            if results["widths"][w]["t_star"] is not None:
                ax_order.axvline(results["widths"][w]["t_star"], color=colour, lw=0.7, ls="-.")
        window = largest["records"][0]["window"]
        ax_heads.set(xlabel=epoch_label, ylabel="per probe input", ylim=(-0.5, 1.6 * ax_heads.get_ylim()[1]))
        key_legend(ax_heads, widths, "width", [
            (f"heads within {window:g} σ beyond the lowest", {"marker": "o", "ls": TRAINED}),
            ("distinct minima", {"marker": "s", "ls": UNTRAINED, "ms": 2.5}),
            ("heads, null control", {"marker": "x", "ls": NULL})], title=f"{probes} probes × {anneals} anneals",
            loc="upper right")
        ax_order.set(xlabel=epoch_label, ylabel="order parameter", ylim=(-0.05, 1.05))
        key_legend(ax_order, widths, "width", [
            ("label order m", {"marker": "o", "ls": TRAINED}), ("χ_SG / n among anneals", {"marker": "^",
                                                                                           "ls": UNTRAINED}),
            ("χ_SG / n, null control", {"marker": "x", "ls": NULL}), ("t*", {"ls": "-.", "lw": 0.7})],
            loc="center right")
        first, last = largest["records"][0]["gaps"], largest["records"][-1]["gaps"]
        bins = np.linspace(min(first + last), max(first + last), 25)
        colour = size_colour(int(widths[-1]))
        ax_gap.hist(first, bins=bins, histtype="step", ls=UNTRAINED, color=colour, lw=1.2,
                    label=f"epoch {largest['records'][0]['epoch']} (untrained)")
        ax_gap.hist(last, bins=bins, histtype="step", ls=TRAINED, color=colour, lw=1.2,
                    label=f"epoch {largest['records'][-1]['epoch']}")
        ax_gap.axvline(0, color="0.3", lw=0.6)
        ax_gap.set(xlabel="code gap Δ (wrong − right code energy)", ylabel="probe inputs")
        ax_gap.legend(title=f"width {widths[-1]}, {len(first)} probes", loc="upper right")


def plot_thermal(results: dict, stem: str | None) -> None:
    """The thermal glass vs reduced temperature: replicon chi_SG / n (top; zeros as open triangles on the axis)
    and the connected Binder cumulant (bottom, clipped to [-1, 1]: frozen states with rare jumps make it very
    negative), network (left) and decoupled null control (right); one colour per width, untrained dashed, trained
    solid; the resolved crossings are listed in the report."""
    from .figures import PAGE, TRAINED, UNTRAINED, figure, key_legend, log_errorbar, size_colour

    widths = list(results["widths"])
    with figure(stem, PAGE, 4.6, 2, 2, sharex=True) as (fig, axes):
        for column, prefix, name in ((0, "", "network"), (1, "null_", "null control: hidden → output = 0")):
            ax_chi, ax_g = axes[0, column], axes[1, column]
            for w in widths:
                r, colour = results["widths"][w], size_colour(int(w))
                for phase, style in (("untrained", UNTRAINED), ("trained", TRAINED)):
                    curve = r[f"thermal_{prefix}{phase}"]["curve"]
                    t = [c["reduced_temperature"] for c in curve]
                    log_errorbar(ax_chi, t, [c["chi_sg"] / int(w) for c in curve],
                                 [c["chi_sg_error"] / int(w) for c in curve], colour=colour, fmt="o" + style, ms=2.5)
                    ax_g.errorbar(t, [c["g"] for c in curve], yerr=[c["g_error"] for c in curve], fmt="o" + style,
                                  ms=2.5, color=colour)
            ax_chi.set(xscale="log", yscale="log", ylabel="replicon χ_SG / n")
            ax_chi.set_title(name, loc="left")
            ax_g.axhline(0, color="0.5", lw=0.5)
            ax_g.set(xscale="log", ylim=(-1.05, 1.05), xlabel="temperature T / σ (σ: rms local field)",
                     ylabel="Binder g (connected overlap)")
            for ax in (ax_chi, ax_g):
                ax.grid(True, which="major")
        key_legend(axes[0, 1], widths, "width", [("trained", {"ls": TRAINED}), ("untrained", {"ls": UNTRAINED})],
                   title=f"{results['thermal_probes']} probes, 4 replicas each", loc="upper left", ncol=2)
