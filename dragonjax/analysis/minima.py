"""Counting single-spin-flip-stable states (local minima) and the Hydra heads of a network.

``count_local_minima(model, method="exact")`` enumerates (N <= 26). ``method="sampled"`` runs zero-temperature
quenches (greedy single-spin descent) from many random starts -- or from given states -- and counts the
distinct minima reached, with the Chao1 estimate of the total number (Chao 1984: S_obs + f1^2 / (2 f2), f1
and f2 the numbers of minima seen once and twice) and its standard error. Chao1 is a lower-bound estimator: it
is accurate when basins are not too unequal and undercounts otherwise.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import exact
from ..ising import IsingModel, ProblemError, dot
from ..kernels import random_spins

__all__ = ["quench", "count_local_minima", "chao1", "heads"]


def quench(model: IsingModel, spins, max_sweeps: int = 10_000):
    """Greedy descent: repeatedly flip, in order, every spin whose flip lowers the energy, until none does
    (or ``max_sweeps``). spins (..., N) -> local minima (..., N)."""
    n = model.num_variables

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


def chao1(counts) -> tuple[float, float]:
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


def count_local_minima(model: IsingModel, method: str = "exact", num_starts: int = 1000, states=None,
                       seed: int = 0) -> dict:
    """Number of single-spin-flip-stable states. ``exact``: by enumeration. ``sampled``: distinct minima
    reached by quenches from ``num_starts`` random starts (or from ``states``), the Chao1 estimate of the
    total and its standard error, and the states found (with their hit counts)."""
    if method == "exact":
        minima = exact.local_minima(model)
        return {"count": int(len(minima)), "states": minima}
    if method != "sampled":
        raise ProblemError(f"unknown method {method!r}; expected 'exact' or 'sampled'")
    starts = (random_spins(jax.random.key(seed), (num_starts, model.num_variables), model.dtype)
              if states is None else jnp.asarray(states, model.dtype))
    minima = np.asarray(jax.jit(quench)(model, starts)).astype(np.int8)
    unique, counts = np.unique(minima, axis=0, return_counts=True)
    estimate, error = chao1(counts)
    return {"count": int(len(unique)), "estimate": estimate, "estimate_error": error, "states": unique,
            "hits": counts, "num_starts": int(len(minima))}


def heads(network, params, x, y, states):
    """Hydra heads of one input: the distinct states (k, num_free) whose decoded label is not y and whose
    energy lies below the best correct-label state among ``states``. Returns (heads, their energies,
    gap = E(best head) - E(best correct) (> 0: ordered for this input; nan if either is missing))."""
    s = np.unique(np.asarray(states), axis=0)
    e = np.asarray(network.energy(params, jnp.asarray(x)[None, :], jnp.asarray(s, jnp.float32)))
    labels = np.asarray(network.decode(s[:, network.output_slice]))
    right = labels == int(y)
    best_correct = e[right].min() if right.any() else np.inf
    wrong = ~right & (e < best_correct)
    order = np.argsort(e[wrong])
    gap = (e[~right].min() - best_correct) if right.any() and (~right).any() else float("nan")
    return s[wrong][order], e[wrong][order], float(gap)
