"""The energy landscape of a conditioned problem: its local minima and the Hydra heads (DESIGN section 7).

A *local minimum* is a single-spin-flip-stable state: no single flip lowers the energy. Two observables,
neither of which restates the accuracy m:

- the **minima census** of K samples (independent anneals, or random starts) quenched to local minima:
  K, the number S_obs of distinct minima, the Chao1 estimate of the total number (Chao 1984:
  S_obs + f1^2 / (2 f2), f1 and f2 the numbers of minima hit once and twice) with its standard error, and
  the singleton fraction f1 / S_obs. Chao1 is a lower-bound estimator of richness; the census flags
  ``lower_bound = True`` when it is *only* a lower bound (rule in :func:`minima_census`);
- the **heads** of one input x with label y: the distinct wrong-label minima whose energy lies within
  dE = ``window`` x (rms local field at the lowest state found) of that lowest state, among the minima
  reached from K independent anneals. A correctly classified input (lowest state decodes to y) can carry
  heads -- a wrong-label minimum just above it -- so heads -> 0 is a statement about the landscape, not
  about m. Alongside: the number of deep minima (all labels, within dE), the number of distinct labels
  they decode to, and the label gap per spin Delta / N, Delta = E(best wrong-label minimum) -
  E(best right-label minimum).

The samples must come from independent runs (separate SA anneals, separate tempering chains), never from the
members of one population-annealing population: those descend from a few families and would count the
families, not the minima. This module takes states or a ``sample`` callable; it never calls a trainer.
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from .. import exact
from ..ising import IsingModel, ProblemError, check_spins, dot
from ..kernels import random_spins
from ..nn import IsingNetwork

__all__ = ["DEFAULT_WINDOW", "quench", "chao1", "minima_census", "count_local_minima", "heads", "probe_landscape"]

DEFAULT_WINDOW = 1.0  # dE = f_rms: closer to the lowest state than one typical single-spin excitation, 2 f_rms


def quench(model: IsingModel, spins: npt.ArrayLike, max_sweeps: int = 10_000) -> jax.Array:
    """Greedy descent: repeatedly flip, in order, every spin whose flip lowers the energy, until none does
    (or ``max_sweeps``). spins (..., N) -> local minima (..., N)."""
    n = model.num_variables
    check_spins(spins, n)

    def sweep(s):
        def flip(i, s):
            f = model.h[i] + dot(s, model.J[:, i])
            return s.at[..., i].set(jnp.where(s[..., i] * f > 0, -s[..., i], s[..., i]))
        return jax.lax.fori_loop(0, n, flip, s)

    def cond(carry):
        s, previous, k = carry
        return jnp.any(s != previous) & (k < max_sweeps)

    def body(carry):
        s, _, k = carry
        return sweep(s), s, k + 1

    s = jnp.asarray(spins, model.dtype)
    s, _, _ = jax.lax.while_loop(cond, body, (sweep(s), s, 1))
    return s


_quench = jax.jit(quench, static_argnames="max_sweeps")


def chao1(counts: npt.ArrayLike) -> tuple[float, float]:
    """Chao1 richness estimate and its standard error from per-class sample counts."""
    counts = np.asarray(counts)
    observed = int(np.sum(counts > 0))
    f1, f2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
    if f2 > 0:
        ratio = f1 / f2
        estimate = observed + f1 * f1 / (2.0 * f2)
        variance = f2 * (0.5 * ratio ** 2 + ratio ** 3 + 0.25 * ratio ** 4)
    else:  # bias-corrected form
        estimate = observed + f1 * (f1 - 1) / 2.0
        variance = f1 * (f1 - 1) / 2.0 + f1 * (2 * f1 - 1) ** 2 / 4.0 - f1 ** 4 / (4.0 * max(estimate, 1))
    return float(estimate), float(np.sqrt(max(variance, 0.0)))


def minima_census(states: npt.ArrayLike, model: IsingModel | None = None, max_sweeps: int = 10_000) -> dict:
    """Census of the local minima among K samples.

    ``states`` (K, N): already single-flip-stable minima, or any states when ``model`` is given (they are
    then quenched to the minima of ``model`` first). Returns ``num_samples`` (K), ``num_minima`` (S_obs,
    distinct minima), ``chao1`` and ``chao1_error`` (estimate of the total number and its standard error),
    ``singletons`` (f1), ``doubletons`` (f2), ``singleton_fraction`` (f1 / S_obs), ``lower_bound``, and the
    distinct ``states`` (S_obs, N) int8 with their ``hits``.

    Rule: ``lower_bound = f1 > 0 and (f2 == 0 or f1 > S_obs / 2)``. With most distinct minima seen only once,
    or none seen twice, the sample has not begun to repeat itself and Chao1 (which assumes roughly equal
    basins) can undercount by any factor: read it as "at least". When no minimum is a singleton the sample
    has saturated and S_obs is the count.
    """
    minima = np.asarray(states)
    if minima.ndim != 2 or len(minima) == 0:
        raise ProblemError(f"minima_census takes K >= 1 states of shape (K, N), got shape {minima.shape}")
    if model is not None:
        minima = np.asarray(_quench(model, jnp.asarray(minima, model.dtype), max_sweeps=max_sweeps))
    distinct, hits = np.unique(minima.astype(np.int8), axis=0, return_counts=True)
    estimate, error = chao1(hits)
    f1, f2 = int(np.sum(hits == 1)), int(np.sum(hits == 2))
    return {"num_samples": int(len(minima)), "num_minima": int(len(distinct)), "chao1": estimate,
            "chao1_error": error, "singletons": f1, "doubletons": f2, "singleton_fraction": f1 / len(distinct),
            "lower_bound": bool(f1 > 0 and (f2 == 0 or f1 > len(distinct) / 2)), "states": distinct, "hits": hits}


def count_local_minima(model: IsingModel, method: str = "exact", num_starts: int = 1000,
                       states: npt.ArrayLike | None = None, seed: int = 0) -> dict:
    """Number of single-spin-flip-stable states. ``exact``: all of them, by enumeration (N <= 26):
    ``num_minima`` and ``states``. ``sampled``: the :func:`minima_census` of quenches from ``num_starts``
    random starts (or from ``states``, e.g. K independent anneals)."""
    if method == "exact":
        minima = exact.local_minima(model)
        return {"num_minima": int(len(minima)), "states": minima}
    if method != "sampled":
        raise ProblemError(f"unknown method {method!r}; expected 'exact' or 'sampled'")
    if states is not None:
        check_spins(states, model.num_variables)
    starts = (random_spins(jax.random.key(seed), (num_starts, model.num_variables), model.dtype)
              if states is None else jnp.asarray(states, model.dtype))
    return minima_census(starts, model)


def _landscape_record(model: IsingModel, minima, decode, y: int, window: float) -> dict:
    """Census and heads of one conditioned problem from its quenched samples ``minima`` (K, N); ``decode``
    maps states (k, N) to labels. Energies and local fields in float64."""
    census = minima_census(minima)
    s = census["states"].astype(np.float64)
    J, h = np.asarray(model.J, np.float64), np.asarray(model.h, np.float64)
    coupling_fields = s @ J
    energies = s @ h + 0.5 * np.sum(coupling_fields * s, axis=-1) + float(model.offset)
    labels = np.asarray(decode(census["states"]))
    best = int(np.argmin(energies))
    energy_scale = float(np.sqrt(np.mean((h + coupling_fields[best]) ** 2)))  # rms f_i at the lowest state
    delta_e = window * energy_scale
    deep = energies - energies[best] <= delta_e
    right = labels == int(y)
    head = deep & ~right
    order = np.flatnonzero(head)[np.argsort(energies[head], kind="stable")]
    gap = float(energies[~right].min() - energies[right].min()) if right.any() and (~right).any() else np.nan
    return {**census, "heads": int(head.sum()), "heads_beyond_lowest": int(head.sum()) - int(not right[best]),
            "head_states": census["states"][order],
            "head_energies": energies[order], "deep_minima": int(deep.sum()),
            "deep_labels": int(len(np.unique(labels[deep]))), "gap": gap, "gap_per_spin": gap / model.num_variables,
            "num_spins": model.num_variables, "lowest_energy": float(energies[best]), "correct": bool(right[best]),
            "lowest_state": census["states"][best],
            "energy_scale": energy_scale, "window": float(window), "delta_e": float(delta_e)}


def _decoder(network):
    return lambda states: network.decode(np.asarray(states)[..., network.output_slice])


def _check_window(window):
    if not (np.isfinite(window) and window >= 0):
        raise ProblemError(f"window must be a non-negative number (units of the rms local field), got {window!r}")


def heads(network: IsingNetwork, params: dict, x: npt.ArrayLike, y: int, states: npt.ArrayLike,
          window: float = DEFAULT_WINDOW, max_sweeps: int = 10_000) -> dict:
    """Hydra heads of one input ``x`` (num_inputs,) with label ``y``, from ``states`` (K, num_free): K samples
    of the free phase from independent anneals (or random starts).

    The states are quenched to single-flip-stable minima of the conditioned problem E(.; x); among the
    distinct minima, with E_0 the lowest energy found and

        dE = window * f_rms,   f_rms = sqrt(mean_i f_i^2) at the lowest state, f_i = h_i + sum_j J_ij s_j

    (f_i is the local field of the conditioned problem, in energy units; flipping spin i costs -2 s_i f_i, so
    the default window 1 keeps the minima closer to the lowest state than one typical single-spin excitation,
    2 f_rms), the *deep* minima are those with E - E_0 <= dE and the *heads* the deep minima whose decoded
    label is not y. The scale is the landscape's own: when training strengthens the fields, dE grows with
    them, so networks are compared at equal energy scale.

    Returns a dict: ``heads`` (count; a misclassified input's lowest state is itself a head, so
    ``heads_beyond_lowest`` = heads - [lowest state wrong] is the part that does not contain the accuracy),
    ``head_states`` and ``head_energies`` (lowest first), ``deep_minima``,
    ``deep_labels`` (distinct decoded labels among the deep minima), ``gap`` = Delta = E(best wrong-label
    minimum) - E(best right-label minimum) (nan unless both labels occur) and ``gap_per_spin`` = Delta / N
    (N = num_free spins, ``num_spins``), ``lowest_energy`` and ``lowest_state``, ``correct`` (the lowest state
    decodes to y),
    ``energy_scale`` (f_rms), ``window``, ``delta_e``, and the :func:`minima_census` of the K samples
    (``num_samples`` = K, ``num_minima``, ``chao1``, ``singleton_fraction``, ``lower_bound``, ...).
    """
    _check_window(window)
    network.check_labels([y])
    model = network.conditioned_problem(params, jnp.asarray(x, jnp.float32))
    minima = _quench(model, jnp.asarray(states, model.dtype), max_sweeps=max_sweeps)
    return _landscape_record(model, np.asarray(minima), _decoder(network), int(y), window)


@jax.jit
def _quench_batch(base: IsingModel, fields, states):
    """Quench states (B, K, N) to the minima of the B conditioned problems base + fields (B, N)."""
    return jax.vmap(lambda f, s: quench(IsingModel(base.J, base.h + f), s))(fields, states)


def probe_landscape(network: IsingNetwork, params: dict, x: npt.ArrayLike, y: npt.ArrayLike,
                    sample: Callable[..., tuple[npt.ArrayLike, npt.ArrayLike]], key: jax.Array,
                    num_samples: int = 32, window: float = DEFAULT_WINDOW) -> list[dict]:
    """:func:`heads` records (with the minima census) of a batch of probe inputs x (B, num_inputs), labels y
    (B,), from ``num_samples`` = K independent anneals of each input's free phase.

    ``sample(key, base, fields, offsets, num_reads) -> (states (B, R, n), energies (B, R))`` is a phase
    sampler whose R reads are independent runs -- ``dragonjax.train.phase_sampler("sa", ...)`` (R separate
    annealing runs from independent random starts). A sampler that declares ``independent_reads = False``
    (population annealing: the R reads are one population) is refused."""
    _check_window(window)
    if getattr(sample, "independent_reads", True) is False:
        raise ProblemError("the heads are counted among independent anneals; this sampler's reads are not "
                           "independent (one population-annealing population?): use phase_sampler('sa', ...)")
    network.check_inputs(x)
    network.check_labels(y)
    x = jnp.atleast_2d(jnp.asarray(x, jnp.float32))
    y = np.atleast_1d(np.asarray(y))
    base = network.couplings(params)
    fields, offsets = network.input_fields(params, x)
    states, _ = sample(key, base, fields, offsets, int(num_samples))
    minima = np.asarray(_quench_batch(base, fields, jnp.asarray(states, base.dtype)))
    return [_landscape_record(IsingModel(base.J, base.h + fields[b], offsets[b]), minima[b], _decoder(network),
                              int(y[b]), window) for b in range(len(y))]
