"""Independent equilibrium replicas and the checks that they are in equilibrium (DESIGN sections 7 and 10).

:func:`equilibrium_replicas` draws K independent replicas of each problem of a batch at every temperature of
a list: K separate parallel-tempering runs (:mod:`dragonjax.kernels.tempering`), each from its own random
spins with its own key, vectorised over replicas and problems -- never K members of one population-annealing
population, which share families. After ``burn_in`` sweeps it records, every ``thin`` sweeps, the energy of
every replica and, for every pair of replicas, the site overlap q_ab = (1/n) sum_i s_i^a s_i^b over the
chosen ``sites``; with coupling and field variances given (Gaussian disorder) also the variance-weighted link
overlap used by the equilibrium identity below.

Equilibrium identity for Gaussian disorder (integration by parts; Katzgraber, Palassini & Young 2001): when
every coupling J_ij (field h_i) is an independent Gaussian of variance V_ij (v_i),

    [<E>] = -beta ( sum_{i<j} V_ij (1 - [<s_i s_j>^2]) + sum_i v_i (1 - [<s_i>^2]) ),

and <s_i s_j>^2 = <s_i^a s_j^a s_i^b s_j^b> for two independent replicas a, b. For SK (V = 1/N) this is
<E>/N = -(beta/2)(1 - 1/N)(1 - [q_l]). Out of equilibrium the two sides differ (a run started from random
spins approaches from E too high); :func:`equilibration_check` reports the difference per temperature with
its error over the disorder samples and flags the temperatures where it exceeds ``z_max`` standard errors.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from ..ising import IsingModel, ProblemError, dot, stack_models  # noqa: F401  (re-exported for users)
from ..kernels import cached_sweep, random_spins
from ..kernels.tempering import parallel_tempering, tempering_init

__all__ = ["ReplicaSamples", "equilibration_check", "equilibrium_replicas", "family_z_max", "replica_pairs",
           "stationarity_check"]


class ReplicaSamples(NamedTuple):
    """Measurements of K independent replicas of S problems at T temperatures (M measurements each)."""
    temperatures: np.ndarray  # (T,) the measured temperatures, increasing
    spins: np.ndarray  # (S, K, T, N) final configurations
    energy: np.ndarray  # (M, S, K, T) energies (with the problem's offset and extra field)
    overlap: np.ndarray  # (M, S, P, T) site overlaps of the P = K (K - 1) / 2 replica pairs over `sites`
    link: np.ndarray | None  # (M, S, P, T) sum_{i<j} V_ij c_i c_j + sum_i v_i c_i with c = s^a s^b
    overlap_k2: np.ndarray | None  # (M, S, P, T) |q(k)|^2 averaged over the given wavevectors
    acceptance: np.ndarray  # (S, K, L - 1) exchange acceptance between neighbours of the tempering ladder
    ladder: np.ndarray  # (L,) temperatures of the tempering ladder (the measured ones and hotter ones)
    num_sites: int  # n, the number of spins in the overlap
    sweeps: int  # sweeps per replica in all (burn-in + measurement)


def family_z_max(num_tests: int, family_rate: float = 0.01, samples: int | None = None) -> float:
    """One-sided threshold that keeps the chance of any false alarm among ``num_tests`` independent tests of an
    equilibrated run at ``family_rate`` (Bonferroni); the z-scores of means over ``samples`` problems are
    Student-t distributed with samples - 1 degrees of freedom (normal when None). At least 3."""
    from scipy import stats

    tail = family_rate / max(int(num_tests), 1)
    quantile = stats.norm.isf(tail) if samples is None or samples < 2 else stats.t.isf(tail, int(samples) - 1)
    return max(3.0, float(quantile))


def replica_pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (a, b) of the K (K - 1) / 2 pairs a < b."""
    return np.triu_indices(k, 1)


def _ladder(temperatures, hottest):
    """The measured temperatures plus geometric steps above them up to ``hottest`` (so that every chain
    can decorrelate by visiting a hot temperature), with the top spacing ratio of the measured grid."""
    t = np.sort(np.asarray(temperatures, np.float64))
    if hottest is None or hottest <= t[-1]:
        return t
    ratio = t[-1] / t[-2] if t.size > 1 else 1.25
    ratio = min(max(ratio, 1.05), 1.25)
    extra = int(np.ceil(np.log(hottest / t[-1]) / np.log(ratio)))
    return np.concatenate([t, t[-1] * np.geomspace(1.0, hottest / t[-1], extra + 1)[1:]])


@functools.partial(jax.jit, static_argnames=("num_measured", "sweep", "num_replicas", "burn_in",
                                             "num_measurements", "thin", "batched_model", "num_problems",
                                             "with_link"))
def _tempering_replicas(key, model, extra_field, betas, sites, coupling_variance, field_variance, fourier, *,
                        num_measured, sweep, num_replicas, burn_in, num_measurements, thin, batched_model,
                        num_problems, with_link):
    """K tempering runs per problem, vmapped over problems: (final spins, (energy, q, link) series,
    exchange acceptance)."""
    a, b = replica_pairs(num_replicas)

    def observe(state):
        s = state.spins[..., :num_measured, :]  # (K, T, N)
        c = s[a] * s[b]  # (P, T, N)
        q = jnp.mean(c[..., sites], axis=-1)
        link = (0.5 * jnp.sum(dot(c, coupling_variance) * c, axis=-1) + dot(c, field_variance)
                if with_link else None)
        qk2 = None
        if fourier is not None:  # |q(k)|^2 = |(1/n) sum_i c_i exp(i k.r_i)|^2, averaged over the wavevectors
            amplitudes = dot(c[..., sites], fourier) / sites.shape[0]  # (P, T, 2W): cos and sin parts
            qk2 = 2.0 * jnp.mean(amplitudes ** 2, axis=-1)
        return state.energies[..., :num_measured], q, link, qk2

    def one_problem(key, model, extra_field):
        k_init, k_burn, k_measure = jax.random.split(key, 3)
        spins = random_spins(k_init, (num_replicas, betas.shape[0], model.h.shape[-1]), model.dtype)
        state = tempering_init(model, spins, betas, extra_field)
        state, _ = parallel_tempering(k_burn, state, model, sweep, burn_in, extra_field=extra_field)

        def measure(state, k):
            state, _ = parallel_tempering(k, state, model, sweep, thin, extra_field=extra_field)
            return state, observe(state)

        state, series = jax.lax.scan(measure, state, jax.random.split(k_measure, num_measurements))
        acceptance = state.accepted / jnp.maximum(state.proposed, 1)
        return state.spins[..., :num_measured, :], series, acceptance

    in_axes = (0, 0 if batched_model else None, None if extra_field is None else 0)
    return jax.vmap(one_problem, in_axes=in_axes)(jax.random.split(key, num_problems), model, extra_field)


def equilibrium_replicas(key: jax.Array, model: IsingModel, temperatures: npt.ArrayLike, num_replicas: int = 2,
                         burn_in: int = 1024, num_measurements: int = 256, thin: int = 4,
                         extra_field: npt.ArrayLike | None = None, sites: npt.ArrayLike | None = None,
                         hottest: float | None = None, coupling_variance: npt.ArrayLike | None = None,
                         field_variance: npt.ArrayLike | None = None, wavevectors: npt.ArrayLike | None = None,
                         positions: npt.ArrayLike | None = None, method: str = "auto") -> ReplicaSamples:
    """K = ``num_replicas`` independent parallel-tempering replicas of each of S problems at each of the
    ``temperatures``.

    Args:
        model: one problem, or S problems stacked along a leading axis of J (S, N, N) and h (S, N) (see
            :func:`dragonjax.stack_models`).
        temperatures: measured temperatures (> 0); the tempering ladder adds hotter ones up to ``hottest``.
        burn_in: sweeps before the first measurement; then ``num_measurements`` measurements ``thin``
            sweeps apart (each sweep is followed by one round of neighbour exchanges).
        extra_field: (S, N) per-problem fields added to h (e.g. a network's input fields), or None.
        sites: indices of the spins entering the overlap (default all; e.g. a network's hidden spins).
        coupling_variance, field_variance: (N, N) and (N,) variances of the Gaussian disorder, for the
            equilibrium identity (:func:`equilibration_check`); None skips the link overlap.
        wavevectors, positions: (W, d) wavevectors and (n, d) positions of the ``sites``: records the
            Fourier-transformed overlap |q(k)|^2 averaged over the W wavevectors (for the finite-size
            correlation length of lattices).
        method: the sweep schedule (``auto``, ``dense``, ``block``; see :func:`~dragonjax.kernels.make_sweep`).
    """
    t = np.asarray(temperatures, np.float64)
    if t.ndim != 1 or t.size < 1 or not np.all(np.isfinite(t)) or t.min() <= 0:
        raise ProblemError(f"temperatures must be a 1-D list of positive numbers, got {temperatures!r}")
    if np.any(np.diff(np.sort(t)) == 0):
        raise ProblemError("temperatures must be distinct")
    if int(num_replicas) != num_replicas or num_replicas < 2:
        raise ProblemError(f"num_replicas must be an integer >= 2 (overlaps need pairs), got {num_replicas!r}")
    for name, value in (("burn_in", burn_in), ("num_measurements", num_measurements), ("thin", thin)):
        if int(value) != value or value < (0 if name == "burn_in" else 1):
            raise ProblemError(f"{name} must be a {'non-negative' if name == 'burn_in' else 'positive'} "
                               f"integer, got {value!r}")
    t = np.sort(t)
    ladder = _ladder(t, hottest)
    batched_model = np.ndim(model.J) == 3
    n = model.h.shape[-1]
    single = model if not batched_model else jax.tree_util.tree_map(lambda x: x[0], model)
    sweep = cached_sweep(_pattern_model(model) if batched_model else single, method)
    sites = np.arange(n) if sites is None else np.asarray(sites)
    with_link = coupling_variance is not None or field_variance is not None
    cv = jnp.zeros((n, n), single.dtype) if coupling_variance is None else jnp.asarray(coupling_variance, single.dtype)
    fv = jnp.zeros(n, single.dtype) if field_variance is None else jnp.asarray(field_variance, single.dtype)
    fourier = None
    if wavevectors is not None:
        phase = np.asarray(positions, np.float64) @ np.asarray(wavevectors, np.float64).T  # (n, W)
        fourier = jnp.asarray(np.concatenate([np.cos(phase), np.sin(phase)], axis=1), single.dtype)
    num_problems = model.J.shape[0] if batched_model else (1 if extra_field is None else np.shape(extra_field)[0])
    spins, series, acceptance = _tempering_replicas(
        key, model, None if extra_field is None else jnp.asarray(extra_field, single.dtype),
        jnp.asarray(1.0 / ladder, single.dtype), jnp.asarray(sites), cv, fv, fourier, num_measured=len(t), sweep=sweep,
        num_replicas=int(num_replicas), burn_in=int(burn_in), num_measurements=int(num_measurements),
        thin=int(thin), batched_model=batched_model, num_problems=num_problems, with_link=with_link)
    energy, q, link, qk2 = (np.moveaxis(np.asarray(x), 1, 0) if x is not None else None for x in series)
    return ReplicaSamples(t, np.asarray(spins), energy, q, link, qk2, np.asarray(acceptance), ladder, len(sites),
                          int(burn_in) + int(num_measurements) * int(thin))


def _pattern_model(model):
    """One model whose coupling graph is the union of the graphs of a stack (for the sweep's colouring)."""
    J = np.asarray(model.J)
    pattern = (np.abs(J) > 0).any(axis=0).astype(np.float64)
    return IsingModel(pattern, np.zeros(J.shape[-1]))


def equilibration_check(samples: ReplicaSamples, coupling_variance: npt.ArrayLike,
                        field_variance: npt.ArrayLike | None = None, z_max: float = 3.0,
                        min_acceptance: float = 0.05) -> list[dict]:
    """The Gaussian-disorder equilibrium identity per measured temperature (module docstring), averaged over
    the S problems of ``samples`` (which must have been drawn with the same variances).

    Per temperature: ``energy`` = [<E>] / N and ``identity`` = -beta (sum V - [<link>]) / N, their
    difference ``residual`` with its standard error over the problems (the independent unit) and
    ``z = residual / error``; ``equilibrated`` is False when z > ``z_max`` -- one-sided: a run started from
    random spins has E above and the link overlap below equilibrium, both of which make the residual positive
    (3 sigma: one false alarm in ~740 temperatures of an equilibrated run; studies that test many temperatures
    raise ``z_max`` to keep their family-wise rate, see :func:`family_z_max`) -- or when the slowest exchange
    of the tempering ladder above this temperature accepts fewer than ``min_acceptance`` of its proposals in
    some problem (the ladder then does not connect the chain to the hot end). The identity involves only the
    energy and the link overlap, which relax faster than P(q): a pass does not show that g or chi_SG are equilibrated --
    combine it with :func:`stationarity_check`. Offsets and extra fields must be zero-mean Gaussian parts
    of the disorder or absent."""
    if samples.link is None:
        raise ProblemError("these replicas were drawn without coupling/field variances: no link overlap")
    n = samples.spins.shape[-1]
    cv = np.asarray(coupling_variance, np.float64)
    total_variance = 0.5 * cv.sum() + (0.0 if field_variance is None else float(np.sum(field_variance)))
    energy = samples.energy.astype(np.float64).mean(axis=(0, 2))  # (S, T): over time and replicas
    link = samples.link.astype(np.float64).mean(axis=(0, 2))
    beta = 1.0 / samples.temperatures
    residual = (energy + beta * (total_variance - link)) / n  # (S, T)
    acceptance = samples.acceptance.min(axis=(0, 1))  # (L - 1,): the slowest problem and replica
    out = []
    for t, temperature in enumerate(samples.temperatures):
        s = residual.shape[0]
        error = float(residual[:, t].std(ddof=1) / np.sqrt(s)) if s > 1 else float("nan")
        mean = float(residual[:, t].mean())
        z = mean / error if error > 0 else (0.0 if mean == 0 else float("inf"))
        slowest = float(acceptance[t:].min()) if acceptance[t:].size else 1.0
        out.append({"temperature": float(temperature), "energy": float(energy[:, t].mean() / n),
                    "identity": float(-beta[t] * (total_variance - link[:, t].mean()) / n), "residual": mean,
                    "residual_error": error, "z": float(z), "min_acceptance_above": slowest,
                    "equilibrated": bool(z <= z_max and slowest >= min_acceptance)})
    return out


def stationarity_check(samples: ReplicaSamples, z_max: float = 3.0, min_acceptance: float = 0.05) -> list[dict]:
    """A check that needs no known identity (e.g. for trained networks), on the energy *and* on the overlap
    moment <q^2> that the Binder cumulant and chi_SG are built from: per measured temperature, the mean of the
    second half of the measurements minus that of the first half (averaged over replicas or replica pairs),
    with its standard error over the S problems (paired differences). A run still relaxing from random spins
    drifts one way: the energy down, <q^2> up. ``equilibrated`` is False when the energy's z < -``z_max`` or
    the overlap's z > ``z_max`` (one-sided) or when an exchange of the ladder above this
    temperature accepts fewer than ``min_acceptance`` of its proposals in some problem. A pass is necessary, not
    sufficient, for equilibrium."""
    half = samples.energy.shape[0] // 2

    def drift(series):
        x = series.astype(np.float64).mean(axis=2)  # (M, S, T)
        d = x[half:].mean(axis=0) - x[:half].mean(axis=0)  # (S, T)
        s = d.shape[0]
        error = d.std(axis=0, ddof=1) / np.sqrt(s) if s > 1 else np.full(d.shape[1], np.nan)
        mean = d.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(error > 0, mean / error, np.where(mean == 0, 0.0, np.inf))
        return mean, error, z

    e_drift, e_error, e_z = drift(samples.energy)
    q_drift, q_error, q_z = drift(samples.overlap.astype(np.float64) ** 2)
    acceptance = samples.acceptance.min(axis=(0, 1))
    out = []
    for t, temperature in enumerate(samples.temperatures):
        slowest = float(acceptance[t:].min()) if acceptance[t:].size else 1.0
        out.append({"temperature": float(temperature), "drift": float(e_drift[t]), "drift_error": float(e_error[t]),
                    "z": float(e_z[t]), "q2_drift": float(q_drift[t]), "q2_drift_error": float(q_error[t]),
                    "q2_z": float(q_z[t]), "min_acceptance_above": slowest,
                    "equilibrated": bool(e_z[t] >= -z_max and q_z[t] <= z_max and slowest >= min_acceptance)})
    return out
