"""Replica overlaps and the spin-glass order parameters built from them (DESIGN section 7).

For two spin configurations a, b of N spins the site overlap is q_ab = (1/N) sum_i a_i b_i; for a coupling
graph with edge set E the link overlap is q_l = (1/|E|) sum_{(ij) in E} a_i a_j b_i b_j. From the overlaps of
all pairs of independent low-energy states: P(q), the Edwards-Anderson parameter q_EA = <q^2> (and <|q|>),
and the Binder cumulant g = (3 - <q^4>/<q^2>^2) / 2, which is 1 for two delta peaks at +-q and 0 for a
Gaussian P(q). Errors are bootstrap standard deviations over the samples of q.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

__all__ = ["overlap", "link_overlap", "pair_overlaps", "overlap_distribution", "edwards_anderson",
           "binder_cumulant"]


def overlap(a, b):
    """Site overlap (1/N) sum_i a_i b_i, batched over leading axes."""
    a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
    return jnp.mean(a * b, axis=-1)


def link_overlap(a, b, J):
    """Link overlap over the edges of the coupling graph J (non-zero entries, i < j)."""
    rows, cols = np.nonzero(np.triu(np.asarray(J) != 0, 1))
    if rows.size == 0:
        raise ValueError("the coupling graph has no edges")
    a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
    return jnp.mean(a[..., rows] * a[..., cols] * b[..., rows] * b[..., cols], axis=-1)


def pair_overlaps(states):
    """Overlaps of all distinct pairs of the states (R, N) -> (R (R - 1) / 2,)."""
    s = jnp.asarray(states, jnp.float32)
    q = s @ s.T / s.shape[-1]
    i, j = np.triu_indices(s.shape[0], 1)
    return q[i, j]


def overlap_distribution(states, bins: int = 41):
    """P(q) from all replica pairs of states (R, N): ``{"q": raw overlaps, "edges", "density"}``."""
    q = np.asarray(pair_overlaps(states))
    density, edges = np.histogram(q, bins=bins, range=(-1.0, 1.0), density=True)
    return {"q": q, "edges": edges, "density": density}


def _bootstrap(statistic, q, resamples, seed):
    rng = np.random.default_rng(seed)
    q = np.asarray(q, np.float64)
    draws = [statistic(q[rng.integers(0, len(q), len(q))]) for _ in range(resamples)]
    return float(np.std(draws, ddof=1))


def edwards_anderson(q, resamples: int = 200, seed: int = 0) -> dict:
    """q_EA = <q^2> and <|q|> with bootstrap errors."""
    q = np.asarray(q, np.float64)
    return {"q2": float(np.mean(q ** 2)), "q2_error": _bootstrap(lambda x: np.mean(x ** 2), q, resamples, seed),
            "abs_q": float(np.mean(np.abs(q))), "abs_q_error": _bootstrap(lambda x: np.mean(np.abs(x)), q, resamples, seed)}


def _binder(q):
    q2 = np.mean(q ** 2)
    return 0.5 * (3.0 - np.mean(q ** 4) / q2 ** 2) if q2 > 0 else float("nan")


def binder_cumulant(q, resamples: int = 200, seed: int = 0) -> dict:
    """g = (3 - <q^4>/<q^2>^2) / 2 with a bootstrap error."""
    q = np.asarray(q, np.float64)
    return {"g": float(_binder(q)), "g_error": _bootstrap(_binder, q, resamples, seed)}
