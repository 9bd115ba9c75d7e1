"""The glass -> order transition of training (DESIGN section 7): a tracker of order parameters on a fixed
probe set, the transition epoch t*, and a study over hidden widths.

After every epoch the tracker anneals the free phase of each probe input (R reads), quenches the reads to
single-flip-stable minima and records:
- P(q) of the hidden-spin overlaps between all pairs of the R quenched reads of the same input (pooled over
  inputs; independent low-energy states, so identical states give q = 1), q_EA = <q^2> and the Binder cumulant;
- m: the fraction of probe inputs whose lowest state decodes to the right label; m_out: the output
  magnetisation along the target, (1/|O|) sum o_i t_i, of that state;
- distinct deep minima per input and Hydra heads per input (distinct wrong-label minima below the best
  correct-label one);
- the gap Delta = min_{c != y} E_c - E_y, where E_c is the lowest energy found with the output clamped to the
  code t(c) of class c (one more anneal per class): > 0 means the right label is the lowest code state.

Transition rule (stated, not fitted by eye): t* is the first tracked epoch at which m >= 1/2; the sharpness is
the largest increase of m between consecutive tracked epochs divided by their epoch spacing.
"""
from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from ..analysis import binder_cumulant, heads, overlap_distribution, quench
from ..train.phases import phase_sampler
from .results import RunDirectory, save_arrays
from .training import run_training

__all__ = ["TransitionTracker", "transition_point", "run_transition", "plot_transition"]


class TransitionTracker:
    """Order parameters of a network on a fixed probe set; call :meth:`record` with the parameters."""

    def __init__(self, network, x_probe, y_probe, num_reads: int = 32, sampler="pa", seed: int = 0,
                 sampler_options: dict | None = None):
        self.net = network
        self.x = jnp.asarray(x_probe, jnp.float32)
        self.y = np.asarray(y_probe)
        self.num_reads = int(num_reads)
        self.sample = phase_sampler(sampler, **(sampler_options or {}))
        self.seed = seed
        self.records = []

    def record(self, params, epoch: int) -> dict:
        net = self.net
        base = net.couplings(params)
        fields, offsets = net.input_fields(params, self.x)
        key = jax.random.key(self.seed + epoch)
        states, _ = self.sample(key, base, fields, offsets, self.num_reads)
        minima = np.asarray(jax.vmap(lambda f, s: quench(type(base)(base.J, base.h + f), s))(fields, states))
        gaps = self._label_gaps(jax.random.fold_in(key, 1), params)
        q_all, n_minima, n_heads, right, m_out = [], [], [], [], []
        for k in range(len(self.y)):
            distinct = np.unique(minima[k], axis=0)
            n_minima.append(len(distinct))
            q_all.append(overlap_distribution(minima[k][:, :net.num_hidden])["q"])
            found, _, _ = heads(net, params, self.x[k], self.y[k], distinct)
            n_heads.append(len(found))
            energies = np.asarray(net.energy(params, self.x[k][None, :], jnp.asarray(distinct, jnp.float32)))
            best = distinct[np.argmin(energies)]
            right.append(int(net.decode(best[net.output_slice])) == int(self.y[k]))
            m_out.append(float(np.mean(best[net.output_slice] * np.asarray(net.target_code(self.y[k])))))
        q = np.concatenate(q_all) if q_all else np.zeros(0)
        dist = np.histogram(q, bins=41, range=(-1, 1), density=bool(len(q)))[0] if len(q) else np.zeros(41)
        rec = {"epoch": int(epoch), "m": float(np.mean(right)), "m_out": float(np.mean(m_out)),
               "mean_minima": float(np.mean(n_minima)), "mean_heads": float(np.mean(n_heads)),
               "median_gap": float(np.median(gaps)),
               "q_ea": float(np.mean(q ** 2)) if len(q) else None,
               "binder": binder_cumulant(q, resamples=50)["g"] if len(q) > 2 else None,
               "p_q": dist.tolist(), "gaps": [float(g) for g in gaps]}
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
            _, e = self.sample(key, net.couplings(params, hidden_layers), fields, offsets, self.num_reads)
            energies = e.min(axis=1)
        energies = np.asarray(energies).reshape(len(self.y), c)
        right = energies[np.arange(len(self.y)), self.y]
        wrong = np.where(np.arange(c)[None, :] == self.y[:, None], np.inf, energies).min(axis=1)
        return (wrong - right).tolist()


def transition_point(records) -> dict:
    """t* (first tracked epoch with m >= 1/2) and the sharpness (largest dm / d epoch)."""
    epochs = np.array([r["epoch"] for r in records], float)
    m = np.array([r["m"] for r in records], float)
    above = np.flatnonzero(m >= 0.5)
    t_star = float(epochs[above[0]]) if above.size else None
    rates = np.diff(m) / np.maximum(np.diff(epochs), 1)
    return {"t_star": t_star, "sharpness": float(rates.max()) if rates.size else None}


def run_transition(out: str, widths=(32, 64, 128), epochs: int = 10, probe_size: int = 24, num_reads: int = 32,
                   seed: int = 0, train_size: int = 256, progress: bool = True) -> dict:
    """Tracked annealer training (PA) on digits for each hidden width; JSON + figures in ``out``. An
    'epoch' here is ``train_size`` examples (a subset), so that the transition spans several epochs."""
    from .. import data as datasets
    from ..nn import IsingNetwork

    run = RunDirectory(out, {"study": "transition", "widths": list(widths), "epochs": epochs,
                             "probe_size": probe_size, "num_reads": num_reads, "seed": seed,
                             "train_size": train_size})
    start = time.perf_counter()
    ds = datasets.digits().centered()
    probe_x, probe_y = ds.x_test[:probe_size], ds.y_test[:probe_size]
    temperatures = np.geomspace(0.1, 10.0, 9)
    results = {"widths": {}, "train_size": train_size, "temperatures": temperatures.tolist(),
               "rule": "t* = first tracked epoch with m >= 1/2; sharpness = max dm/d(epoch)"}
    grid = widths
    if progress:
        from tqdm.auto import tqdm

        grid = tqdm(widths, desc="transition widths")
    for width in grid:
        net = IsingNetwork([ds.num_inputs, width], ds.num_classes, 4)
        tracker = TransitionTracker(net, probe_x, probe_y, num_reads, seed=seed)
        tracker.record(net.init(jax.random.split(jax.random.key(seed))[0]), 0)  # the trainer's initial params

        config = {"hidden": [width], "spins_per_class": 4, "epochs": epochs, "seed": seed, "num_reads": 8,
                  "lr_schedule": "constant", "train_size": train_size}
        metrics, final = run_training(config, progress=progress, return_state=True,
                                      on_epoch=lambda state, rec: tracker.record(state.params, state.epoch))
        trained = final.params
        untrained = net.init(jax.random.split(jax.random.key(seed))[0])
        results["widths"][str(width)] = {
            "records": tracker.records, **transition_point(tracker.records), "test_accuracy": metrics["test_accuracy"],
            "binder_untrained": binder_vs_temperature(net, untrained, probe_x[:8], temperatures, seed=seed),
            "binder_trained": binder_vs_temperature(net, trained, probe_x[:8], temperatures, seed=seed)}
        for phase in ("untrained", "trained"):
            results["widths"][str(width)][f"half_order_T_{phase}"] = half_order_temperature(
                results["widths"][str(width)][f"binder_{phase}"])
    names = list(results["widths"])
    results["binder_crossings"] = [
        {"widths": [a, b], **{f"{phase}_crossing_T": crossing_temperature(results["widths"][a][f"binder_{phase}"],
                                                                        results["widths"][b][f"binder_{phase}"])
                              for phase in ("untrained", "trained")}}
        for a, b in zip(names[:-1], names[1:])]
    results["study_seconds"] = time.perf_counter() - start
    save_transition_arrays(results, run.file("arrays.npz"))
    plot_transition(results, os.path.join(out, "transition"))
    plot_binder(results, os.path.join(out, "binder"))
    run.finish(results, "results.json")
    return results


def save_transition_arrays(results: dict, path: str):
    """The tracked observables as arrays over (width, epoch[, q | probe]) and the Binder curves over
    (width, temperature)."""
    widths = list(results["widths"])
    per_width = [results["widths"][w] for w in widths]

    def stack(field):
        return np.array([[np.nan if r[field] is None else r[field] for r in w["records"]] for w in per_width], float)

    variables = {f: (("width", "epoch"), stack(f))
                 for f in ("m", "m_out", "mean_minima", "mean_heads", "median_gap", "q_ea", "binder")}
    variables["p_q"] = (("width", "epoch", "q"), stack("p_q"))
    variables["gap"] = (("width", "epoch", "probe"), stack("gaps"))
    for phase in ("untrained", "trained"):
        for field in ("g", "g_error"):
            variables[f"binder_{field}_{phase}"] = (("width", "temperature"), np.array(
                [[p[field] for p in w[f"binder_{phase}"]] for w in per_width], float))
    edges = np.linspace(-1, 1, variables["p_q"][1].shape[-1] + 1)
    save_arrays(path, variables, {
        "width": np.array(widths, int), "epoch": [r["epoch"] for r in per_width[0]["records"]],
        "q": 0.5 * (edges[1:] + edges[:-1]), "probe": np.arange(variables["gap"][1].shape[-1]),
        "temperature": results["temperatures"]})


def plot_transition(results: dict, stem: str):
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend (e.g. a notebook's) alone

    widths = list(results["widths"])
    fig = Figure(figsize=(11, 8))
    axes = fig.subplots(2, 2)
    ax_pq, ax_heads, ax_m, ax_gap = axes.ravel()
    largest = results["widths"][widths[-1]]
    pq = np.array([r["p_q"] for r in largest["records"]]).T
    epochs = [r["epoch"] for r in largest["records"]]
    from matplotlib.colors import LogNorm

    floor = 1e-2  # log colours: the glass is the weak tail towards small q, next to the peak near q = 1
    im = ax_pq.imshow(np.maximum(pq, floor), aspect="auto", origin="lower", cmap="viridis",
                      extent=(epochs[0] - 0.5, epochs[-1] + 0.5, -1, 1), norm=LogNorm(vmin=floor, vmax=max(pq.max(), 1)))
    fig.colorbar(im, ax=ax_pq, label=f"P(q) (log; floored at {floor})")
    ax_pq.set(xlabel=f"epoch ({results['train_size']} examples each)", ylabel="hidden-spin overlap q",
              title=f"P(q) of quenched free-phase reads, width {widths[-1]}")
    for w in widths:
        recs = results["widths"][w]["records"]
        e = [r["epoch"] for r in recs]
        line, = ax_heads.plot(e, [max(r["mean_heads"], 1e-2) for r in recs], "o-", label=f"heads, width {w}")
        ax_heads.plot(e, [r["mean_minima"] for r in recs], "s--", color=line.get_color(), alpha=0.6,
                      label=f"distinct minima, width {w}")
        ax_m.plot(e, [r["m"] for r in recs], "o-", color=line.get_color(), label=f"m, width {w}")
        ax_m.plot(e, [r["q_ea"] if r["q_ea"] is not None else np.nan for r in recs], "^:", color=line.get_color(),
                  alpha=0.7, label=f"q_EA, width {w}")
        t_star = results["widths"][w]["t_star"]
        if t_star is not None:
            ax_m.axvline(t_star, color=line.get_color(), ls="--", lw=1)
        first, last = recs[0]["gaps"], recs[-1]["gaps"]
        if w == widths[-1]:
            bins = np.linspace(min(first + last), max(first + last), 25)
            ax_gap.hist(first, bins=bins, alpha=0.6, label=f"epoch {recs[0]['epoch']} (untrained)")
            ax_gap.hist(last, bins=bins, alpha=0.6, label=f"epoch {recs[-1]['epoch']}")
    ax_heads.set(yscale="log", xlabel=f"epoch ({results['train_size']} examples each)", ylabel="per probe input (heads floored at 0.01)",
                 title="Hydra heads and distinct deep minima")
    ax_m.set(xlabel=f"epoch ({results['train_size']} examples each)", ylabel="order parameter", ylim=(-0.05, 1.05),
             title="label order m and q_EA (dashed: t*, first m ≥ 1/2)")
    ax_gap.axvline(0, color="k", lw=1)
    ax_gap.set(xlabel="gap Δ = min over wrong codes E − E(right code)  (> 0: ordered)", ylabel="probe inputs",
               title=f"Energy gap before and after training, width {widths[-1]}")
    for ax in (ax_heads, ax_m, ax_gap):
        ax.legend(fontsize=7)
    fig.suptitle("Training as a glass → order transition (digits, annealer-assisted, PA)", fontsize=12)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{stem}.{ext}", dpi=130)


def binder_vs_temperature(network, params, x_probe, temperatures, num_replicas: int = 32, num_sweeps: int = 200,
                          seed: int = 0) -> list:
    """Binder cumulant g(T) of the hidden-spin overlap between independent equilibrium replicas (simulated
    annealing from T = 10 down to T, ``num_sweeps`` Metropolis sweeps), pooled over the probe inputs."""
    base = network.couplings(params)
    fields, offsets = network.input_fields(params, jnp.asarray(x_probe, jnp.float32))
    out = []
    for k, temperature in enumerate(temperatures):
        beta = 1.0 / temperature
        sample = phase_sampler("sa", num_sweeps=num_sweeps, beta_range=(min(0.1, beta), beta))
        states, _ = sample(jax.random.key(seed + k), base, fields, offsets, num_replicas)
        hidden = np.asarray(states)[..., :network.num_hidden]
        q = np.concatenate([overlap_distribution(h)["q"] for h in hidden])
        g = binder_cumulant(q, resamples=100)
        out.append({"temperature": float(temperature), "g": g["g"], "g_error": g["g_error"],
                    "q2": float(np.mean(q ** 2))})
    return out


def half_order_temperature(curve):
    """Temperature at which g(T) first falls through 1/2 (log-linear interpolation); None if it does not."""
    t = np.array([p["temperature"] for p in curve])
    g = np.array([p["g"] for p in curve])
    below = np.flatnonzero(g < 0.5)
    if not below.size or below[0] == 0:
        return None
    i = below[0] - 1
    frac = (g[i] - 0.5) / (g[i] - g[i + 1])
    return float(np.exp(np.log(t[i]) + frac * (np.log(t[i + 1]) - np.log(t[i]))))


def crossing_temperature(curve_a, curve_b):
    """Temperature where two g(T) curves (same temperature grid) cross, by linear interpolation of their
    difference; None when they do not cross on the grid."""
    t = np.array([p["temperature"] for p in curve_a])
    d = np.array([p["g"] for p in curve_a]) - np.array([p["g"] for p in curve_b])
    sign_change = np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)
    if not sign_change.size:
        return None
    i = sign_change[0]
    return float(t[i] - d[i] * (t[i + 1] - t[i]) / (d[i + 1] - d[i]))


def plot_binder(results: dict, stem: str):
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend (e.g. a notebook's) alone

    fig = Figure(figsize=(6.4, 4.6))
    ax = fig.subplots()
    for w, r in results["widths"].items():
        for key, style in (("binder_untrained", "--"), ("binder_trained", "-")):
            curve = r[key]
            t = [p["temperature"] for p in curve]
            ax.errorbar(t, [p["g"] for p in curve], yerr=[p["g_error"] for p in curve], fmt="o" + style, ms=3,
                        capsize=2, label=f"width {w}, {'trained' if key.endswith('_trained') else 'untrained'}")
    ax.set(xscale="log", xlabel="temperature T (energy units of the network)",
           ylabel="Binder cumulant g of hidden overlaps",
           title="Binder cumulant of hidden overlaps vs temperature\n"
                 "untrained (dashed) vs trained (solid) networks")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    for ext in ("png", "pdf"):
        fig.savefig(f"{stem}.{ext}", dpi=140)
