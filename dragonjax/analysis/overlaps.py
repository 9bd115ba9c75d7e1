"""Replica overlaps and the spin-glass order parameters built from them (DESIGN section 7).

For two spin configurations a, b of N spins the site overlap is q_ab = (1/N) sum_i a_i b_i; for a coupling
graph with edge set E the link overlap is q_l = (1/|E|) sum_{(ij) in E} a_i a_j b_i b_j. From the overlaps of
all pairs of independent low-energy states: P(q), the Edwards-Anderson parameter q_EA = <q^2> (and <|q|>),
and the Binder cumulant g = (3 - <q^4>/<q^2>^2) / 2, which is 1 for two delta peaks at +-q and 0 for a
Gaussian P(q). Errors are bootstrap standard deviations over the samples of q.

Disorder-averaged, field-aware statistics (DESIGN section 7) from the overlap time series of independent
replicas (:func:`dragonjax.analysis.replicas.equilibrium_replicas`): per problem the thermal moments of the
*connected* overlap dq = q - <q> (:func:`connected_moments`; with input fields even a paramagnet has
<q> = q0 > 0, so the plain moments measure the fields), then over problems the spin-glass susceptibility
chi_SG = n [<dq^2>] and the Binder cumulant g = (3 - [<dq^4>] / [<dq^2>]^2) / 2 (:func:`glass_statistics`),
with errors and intervals from a bootstrap over the problems -- the independent unit -- never over the
correlated replica pairs of one problem (:func:`bootstrap_problems`).

In a field, n <dq^2> of two replicas is not the spin-glass susceptibility: it equals
(1/n) sum_ij C_ij^2 + (2/n) sum_ij C_ij m_i m_j (C the connected correlation, m the magnetisations), the second
term a longitudinal response along the magnetisation pattern. The spin-glass (replicon) susceptibility
chi_SG = (1/n) sum_ij C_ij^2 needs four replicas: n [<q_ab^2> - 2 <q_ab q_ac> + <q_ab q_cd>]
(:func:`replicon_susceptibility`); it is the one to use with fields. The connected Binder cumulant keeps the
longitudinal part and is reported as such.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

__all__ = ["binder_cumulant", "bootstrap_problems", "connected_moments", "edwards_anderson", "glass_statistics",
           "link_overlap", "overlap", "overlap_distribution", "pair_overlaps", "replicon_susceptibility"]


def overlap(a: npt.ArrayLike, b: npt.ArrayLike) -> jax.Array:
    """Site overlap (1/N) sum_i a_i b_i, batched over leading axes."""
    a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
    return jnp.mean(a * b, axis=-1)


def link_overlap(a: npt.ArrayLike, b: npt.ArrayLike, J: npt.ArrayLike) -> jax.Array:
    """Link overlap over the edges of the coupling graph J (non-zero entries, i < j)."""
    rows, cols = np.nonzero(np.triu(np.asarray(J) != 0, 1))
    if rows.size == 0:
        raise ValueError("the coupling graph has no edges")
    a, b = jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)
    return jnp.mean(a[..., rows] * a[..., cols] * b[..., rows] * b[..., cols], axis=-1)


def pair_overlaps(states: npt.ArrayLike) -> jax.Array:
    """Overlaps of all distinct pairs of the states (R, N) -> (R (R - 1) / 2,)."""
    s = jnp.asarray(states, jnp.float32)
    q = s @ s.T / s.shape[-1]
    i, j = np.triu_indices(s.shape[0], 1)
    return q[i, j]


def overlap_distribution(states: npt.ArrayLike, bins: int = 41) -> dict:
    """P(q) from all replica pairs of states (R, N): ``{"q": raw overlaps, "edges", "density"}``."""
    q = np.asarray(pair_overlaps(states))
    density, edges = np.histogram(q, bins=bins, range=(-1.0, 1.0), density=True)
    return {"q": q, "edges": edges, "density": density}


def _bootstrap(statistic, q, resamples, seed):
    rng = np.random.default_rng(seed)
    q = np.asarray(q, np.float64)
    draws = [statistic(q[rng.integers(0, len(q), len(q))]) for _ in range(resamples)]
    return float(np.std(draws, ddof=1))


def edwards_anderson(q: npt.ArrayLike, resamples: int = 200, seed: int = 0) -> dict:
    """q_EA = <q^2> and <|q|> with bootstrap errors."""
    q = np.asarray(q, np.float64)
    return {"q2": float(np.mean(q ** 2)), "q2_error": _bootstrap(lambda x: np.mean(x ** 2), q, resamples, seed),
            "abs_q": float(np.mean(np.abs(q))),
            "abs_q_error": _bootstrap(lambda x: np.mean(np.abs(x)), q, resamples, seed)}


def _binder(q):
    q2 = np.mean(q ** 2)
    return 0.5 * (3.0 - np.mean(q ** 4) / q2 ** 2) if q2 > 0 else float("nan")


def binder_cumulant(q: npt.ArrayLike, resamples: int = 200, seed: int = 0) -> dict:
    """g = (3 - <q^4>/<q^2>^2) / 2 with a bootstrap error."""
    q = np.asarray(q, np.float64)
    return {"g": float(_binder(q)), "g_error": _bootstrap(_binder, q, resamples, seed)}


def connected_moments(q_series: npt.ArrayLike, symmetric: bool) -> dict:
    """Thermal moments per problem and temperature from an overlap time series ``q_series`` (M, S, P, T)
    (M measurements, S problems, P replica pairs, T temperatures), in float64.

    ``symmetric``: the Hamiltonian is invariant under flipping every spin (no fields), so <q> = 0 exactly
    and q is used as it is (subtracting a finite-time estimate of <q> would remove the glass's +-q
    structure when the chains have not flipped globally); otherwise dq = q - <q>, with <q> the problem's own
    average over time and pairs. Returns ``mean`` <q>, ``m2`` <dq^2> and ``m4`` <dq^4>, each (S, T)."""
    q = np.asarray(q_series, np.float64)
    mean = q.mean(axis=(0, 2))
    dq = q if symmetric else q - mean[None, :, None, :]
    return {"mean": mean, "m2": np.mean(dq ** 2, axis=(0, 2)), "m4": np.mean(dq ** 4, axis=(0, 2))}


def replicon_susceptibility(q_series: npt.ArrayLike, num_replicas: int, num_sites: int) -> np.ndarray:
    """Per problem and temperature (S, T): chi_SG = n [<q_ab^2> - 2 <q_ab q_ac> + <q_ab q_cd>]
    = (1/n) sum_ij (<s_i s_j> - <s_i><s_j>)^2 from the overlap series (M, S, P, T) of K >= 4 replicas, pairs in
    the order of ``numpy.triu_indices(K, 1)``; products of overlaps at equal times, averaged over time and over
    all pairs of pairs of each kind (the same pair, one shared replica, disjoint)."""
    if num_replicas < 4:
        raise ValueError("the replicon susceptibility needs at least 4 replicas")
    a, b = np.triu_indices(num_replicas, 1)
    q = np.asarray(q_series, np.float64)
    products = np.einsum("mspt,msqt->spqt", q, q) / q.shape[0]  # (S, P, P, T)
    shared = (a[:, None] == a[None, :]).astype(int) + (a[:, None] == b[None, :]) + (b[:, None] == a[None, :]) \
        + (b[:, None] == b[None, :])
    same, one, none = shared == 2, shared == 1, shared == 0
    mean = lambda mask: products[:, mask].mean(axis=1)  # noqa: E731
    return num_sites * (mean(same) - 2.0 * mean(one) + mean(none))


def glass_statistics(m2: npt.ArrayLike, m4: npt.ArrayLike, num_sites: int, k2: npt.ArrayLike | None = None,
                     length: int | None = None, replicon: npt.ArrayLike | None = None) -> dict:
    """Disorder averages over the problems (axis 0) of per-problem moments (S, ...): ``chi_sg`` =
    n [<dq^2>] and the Binder cumulant ``g`` = (3 - [<dq^4>] / [<dq^2>]^2) / 2. With ``replicon`` (S, ...)
    per-problem four-replica susceptibilities (:func:`replicon_susceptibility`), ``chi_sg`` is their average and
    the two-replica n [<dq^2>] is kept as ``chi_two_replica``. With ``k2`` (S, ...) the per-problem
    <|q(k_min)|^2> of a lattice of side ``length`` (k_min = 2 pi / L), also the finite-size correlation length
    over L (Cooper, Freedman & Preston 1982; Ballesteros et al. 2000):
    ``xi_over_l`` = sqrt(chi(0) / chi(k_min) - 1) / (2 L sin(k_min / 2))."""
    m2, m4 = np.mean(m2, axis=0), np.mean(m4, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"chi_sg": num_sites * m2, "g": 0.5 * (3.0 - m4 / m2 ** 2)}
        if replicon is not None:
            out["chi_two_replica"], out["chi_sg"] = out["chi_sg"], np.mean(replicon, axis=0)
        if k2 is not None:
            ratio = m2 / np.mean(k2, axis=0)
            out["xi_over_l"] = np.sqrt(np.maximum(ratio - 1.0, 0.0)) / (2.0 * length * np.sin(np.pi / length))
    return out


def bootstrap_problems(statistic: Callable[..., Any], arrays: Iterable[npt.ArrayLike], resamples: int = 1000,
                       seed: int = 0, clusters: npt.ArrayLike | None = None) -> np.ndarray | dict:
    """``statistic(*arrays)`` recomputed on ``resamples`` resamplings (with replacement) of the problems,
    the leading axis shared by every array: the bootstrap over the independent unit. With ``clusters`` (one
    label per problem, e.g. the network a probe input's problem belongs to) the clusters are resampled and each
    drawn cluster brings all its problems (a cluster bootstrap: problems of one cluster are not independent).
    Returns the draws stacked along a new leading axis (pytrees of arrays are stacked leaf by leaf)."""
    arrays = [np.asarray(a) for a in arrays]
    s = arrays[0].shape[0]
    if any(a.shape[0] != s for a in arrays):
        raise ValueError("every array must have the problems on its leading axis")
    rng = np.random.default_rng(seed)
    if clusters is None:
        indices = rng.integers(0, s, (resamples, s))
    else:
        clusters = np.asarray(clusters)
        if clusters.shape != (s,):
            raise ValueError(f"clusters must hold one label per problem ({s}), got shape {clusters.shape}")
        members = [np.flatnonzero(clusters == c) for c in np.unique(clusters)]
        indices = [np.concatenate([members[k] for k in rng.integers(0, len(members), len(members))])
                   for _ in range(resamples)]
    draws = [statistic(*(a[idx] for a in arrays)) for idx in indices]
    if isinstance(draws[0], dict):
        return {k: np.stack([d[k] for d in draws]) for k in draws[0]}
    return np.stack(draws)
