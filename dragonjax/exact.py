"""Exact answers for small systems: enumeration of all 2^N spin states, and exact diagonalisation of the
transverse-field Ising model. These are the references every sampler in dragonjax is tested against.

Enumeration is jit-compiled and chunked (``CHUNK_BITS`` spins enumerated per chunk), so memory stays
bounded; it is refused above ``MAX_ENUMERATION_VARIABLES`` spins. Bit i of the state index is spin i
(bit 1 -> s_i = +1). Exact diagonalisation builds the 2^N x 2^N Hamiltonian in float64 with numpy and is
refused above ``MAX_DIAGONALISATION_VARIABLES`` spins.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from .ising import IsingModel, ProblemError, dot

__all__ = [
    "MAX_ENUMERATION_VARIABLES", "MAX_DIAGONALISATION_VARIABLES", "log_partition", "thermal_averages",
    "ground_states", "local_minima", "boltzmann_distribution", "tfim_hamiltonian", "tfim_ground_energy",
    "tfim_thermal", "trotter_thermal", "index_to_spins",
]

MAX_ENUMERATION_VARIABLES = 26
MAX_DIAGONALISATION_VARIABLES = 12
CHUNK_BITS = 16


def _check_size(model: IsingModel, limit: int, what: str) -> int:
    n = model.num_variables
    if n > limit:
        raise ProblemError(f"{what} is limited to N <= {limit} spins (2^N states); this model has N = {n}")
    return n


def index_to_spins(index: ArrayLike, num_variables: int, dtype: DTypeLike = jnp.float32) -> jax.Array:
    """State indices -> spins (..., N): bit i of the index is spin i, 1 -> +1, 0 -> -1."""
    bits = (jnp.asarray(index)[..., None] >> jnp.arange(num_variables, dtype=jnp.int32)) & 1
    return (2 * bits - 1).astype(dtype)


def _chunking(n: int):
    bits = min(n, CHUNK_BITS)
    return 1 << bits, 1 << (n - bits)


def _chunk_spins(chunk, n, dtype):
    size, _ = _chunking(n)
    return index_to_spins(chunk * size + jnp.arange(size, dtype=jnp.int32), n, dtype)


@functools.partial(jax.jit, static_argnums=(2,))
def _chunk_energies(model: IsingModel, chunk, n: int):
    return model.energy(_chunk_spins(chunk, n, model.dtype))


def _check_beta(beta):
    """A concrete beta must be finite (it may be traced, e.g. under jax.grad)."""
    if not isinstance(beta, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(beta, np.float64))):
        raise ProblemError(f"beta must be finite, got {beta!r}")


def log_partition(model: IsingModel, beta: ArrayLike) -> jax.Array:
    """``ln Z = ln sum_s exp(-beta E(s))`` (E includes the offset), by a streaming log-sum-exp.

    Differentiable with respect to the model (``jax.grad`` gives ``-beta <dE/dtheta>``) and beta."""
    n = _check_size(model, MAX_ENUMERATION_VARIABLES, "exact enumeration")
    _check_beta(beta)
    return _log_partition(model, jnp.asarray(beta, model.dtype), n)


@functools.partial(jax.jit, static_argnums=(2,))
def _log_partition(model, beta, n):
    _, num_chunks = _chunking(n)

    def body(carry, chunk):
        running_max, running_sum = carry
        logw = -beta * model.energy(_chunk_spins(chunk, n, model.dtype))
        new_max = jnp.maximum(running_max, jnp.max(logw))
        running_sum = running_sum * jnp.exp(running_max - new_max) + jnp.sum(jnp.exp(logw - new_max))
        return (new_max, running_sum), None

    init = (jnp.asarray(-jnp.inf, model.dtype), jnp.asarray(0.0, model.dtype))
    (m, s), _ = jax.lax.scan(body, init, jnp.arange(num_chunks, dtype=jnp.int32))
    return m + jnp.log(s)


def thermal_averages(model: IsingModel, beta: ArrayLike) -> dict:
    """Exact Boltzmann averages at inverse temperature beta: ``energy`` <E>, ``magnetisation`` <s_i> (N,),
    ``correlations`` <s_i s_j> (N, N) and ``log_z``."""
    n = _check_size(model, MAX_ENUMERATION_VARIABLES, "exact enumeration")
    _check_beta(beta)
    beta = jnp.asarray(beta, model.dtype)
    log_z = _log_partition(model, beta, n)
    e, m, c = _moments(model, beta, log_z, n)
    return {"energy": e, "magnetisation": m, "correlations": c, "log_z": log_z}


@functools.partial(jax.jit, static_argnums=(3,))
def _moments(model, beta, log_z, n):
    _, num_chunks = _chunking(n)

    def body(acc, chunk):
        s = _chunk_spins(chunk, n, model.dtype)
        p = jnp.exp(-beta * model.energy(s) - log_z)
        return (acc[0] + dot(p, model.energy(s)), acc[1] + dot(p, s), acc[2] + dot((s * p[:, None]).T, s)), None

    zeros = (jnp.zeros((), model.dtype), jnp.zeros(n, model.dtype), jnp.zeros((n, n), model.dtype))
    out, _ = jax.lax.scan(body, zeros, jnp.arange(num_chunks, dtype=jnp.int32))
    return out


def boltzmann_distribution(model: IsingModel, beta: ArrayLike) -> np.ndarray:
    """Exact probabilities of all 2^N states (index order of :func:`index_to_spins`), float64."""
    n = _check_size(model, 20, "the full Boltzmann table")
    _check_beta(beta)
    energies = np.concatenate([np.asarray(_chunk_energies(model, c, n), np.float64)
                               for c in range(_chunking(n)[1])])
    logw = -float(beta) * energies
    logw -= logw.max()
    p = np.exp(logw)
    return p / p.sum()


def _exact_energies(model: IsingModel, spins: np.ndarray) -> np.ndarray:
    J, h = np.asarray(model.J, np.float64), np.asarray(model.h, np.float64)
    return spins @ h + 0.5 * np.einsum("ki,ij,kj->k", spins, J, spins) + float(model.offset)


def ground_states(model: IsingModel, rtol: float = 1e-9) -> tuple[float, np.ndarray]:
    """All degenerate ground states: ``(energy, states)`` with states (k, N) of +-1 in variable order.

    Candidates are selected in the model's dtype with a loose tolerance, then degeneracy is decided
    on float64 energies to ``rtol``."""
    n = _check_size(model, MAX_ENUMERATION_VARIABLES, "exact enumeration")
    if n == 0:
        return float(model.offset), np.zeros((1, 0))
    _, num_chunks = _chunking(n)
    emin = min(float(jnp.min(_chunk_energies(model, c, n))) for c in range(num_chunks))
    loose = 1e-4 * max(1.0, abs(emin))
    candidates = []
    for c in range(num_chunks):
        e = np.asarray(_chunk_energies(model, c, n))
        idx = np.flatnonzero(e <= emin + loose)
        if idx.size:
            candidates.append(np.asarray(_chunk_spins(c, n, jnp.float32))[idx])
    states = np.concatenate(candidates).astype(np.float64)
    energies = _exact_energies(model, states)
    best = energies.min()
    keep = energies <= best + rtol * max(1.0, abs(best))
    return float(best), states[keep].astype(np.int8)


@functools.partial(jax.jit, static_argnums=(2,))
def _stable_mask(model, chunk, n):
    s = _chunk_spins(chunk, n, model.dtype)
    delta = -2.0 * s * model.local_fields(s)  # energy change of each single-spin flip
    tol = 1e-5 * (1.0 + jnp.max(jnp.abs(model.J)) * n + jnp.max(jnp.abs(model.h)))
    return jnp.all(delta >= -tol, axis=-1)


def local_minima(model: IsingModel) -> np.ndarray:
    """All single-spin-flip-stable states (no single flip lowers the energy), shape (k, N), int8 +-1."""
    n = _check_size(model, MAX_ENUMERATION_VARIABLES, "exact enumeration")
    size, num_chunks = _chunking(n)
    found = []
    for c in range(num_chunks):
        idx = np.flatnonzero(np.asarray(_stable_mask(model, c, n)))
        if idx.size:
            found.append(np.asarray(index_to_spins(c * size + idx, n, jnp.float32)))
    if not found:
        return np.zeros((0, n), np.int8)
    return np.concatenate(found).astype(np.int8)


# -- transverse-field Ising model by exact diagonalisation --------------------------------------------

def _tfim_parts(model: IsingModel):
    """Diagonal E(sigma^z) and the sum_i sigma^x_i matrix, float64, in the index order of
    :func:`index_to_spins`."""
    n = _check_size(model, MAX_DIAGONALISATION_VARIABLES, "exact diagonalisation")
    index = np.arange(1 << n)
    spins = 2.0 * ((index[:, None] >> np.arange(n)) & 1) - 1.0
    sum_sigma_x = np.zeros((1 << n, 1 << n))
    for i in range(n):
        sum_sigma_x[index, index ^ (1 << i)] = 1.0
    return _exact_energies(model, spins), sum_sigma_x


def tfim_hamiltonian(model: IsingModel, gamma: float) -> np.ndarray:
    """Dense H = -gamma sum_i sigma^x_i + E(sigma^z) in the sigma^z basis, float64."""
    if not np.isfinite(gamma):
        raise ProblemError(f"gamma must be finite, got {gamma}")
    diag, sum_sigma_x = _tfim_parts(model)
    return np.diag(diag) - gamma * sum_sigma_x


def tfim_ground_energy(model: IsingModel, gamma: float) -> float:
    """Ground-state energy of H = -gamma sum sigma^x + E(sigma^z)."""
    return float(np.linalg.eigvalsh(tfim_hamiltonian(model, gamma))[0])


def tfim_thermal(model: IsingModel, gamma: float, beta: float) -> dict:
    """Thermal averages of H = -gamma sum sigma^x + E(sigma^z) at inverse temperature beta:
    ``energy`` <H>, ``problem_energy`` <E(sigma^z)>, ``sigma_x`` <(1/N) sum sigma^x>, ``log_z``."""
    if not (np.isfinite(beta) and beta > 0):
        raise ProblemError(f"beta must be positive and finite, got {beta}")
    if not np.isfinite(gamma):
        raise ProblemError(f"gamma must be finite, got {gamma}")
    diag, sum_sigma_x = _tfim_parts(model)
    evals, evecs = np.linalg.eigh(np.diag(diag) - gamma * sum_sigma_x)
    logw = -beta * evals
    shift = logw.max()
    w = np.exp(logw - shift)
    p = w / w.sum()
    problem = float(np.sum(p * np.einsum("ik,i,ik->k", evecs, diag, evecs)))
    sigma_x = float(np.sum(p * np.einsum("ik,ij,jk->k", evecs, sum_sigma_x, evecs)))
    return {"energy": float(np.sum(p * evals)), "problem_energy": problem,
            "sigma_x": sigma_x / model.num_variables, "log_z": float(shift + np.log(w.sum()))}


def trotter_thermal(model: IsingModel, gamma: float, beta: float, trotter_slices: int) -> dict:
    """Exact averages of the P-slice Suzuki-Trotter model that path-integral QMC samples,
    Z_P = Tr[(exp(-beta E / P) exp(beta gamma sum sigma^x / P))^P], by matrix products (no sampling):
    ``problem_energy`` <(1/P) sum_k E(s^k)>, ``sigma_x`` (the mean of the inter-slice estimator) and
    ``log_z`` = ln Z_P.
    They tend to :func:`tfim_thermal` as P -> infinity with O(1/P^2) error."""
    if not (np.isfinite(beta) and beta > 0 and np.isfinite(gamma) and gamma > 0):
        raise ProblemError(f"beta and gamma must be positive and finite, got beta={beta}, gamma={gamma}")
    p = int(trotter_slices)
    n = model.num_variables
    diag, sum_sigma_x = _tfim_parts(model)
    eps = beta / p
    evals, evecs = np.linalg.eigh(sum_sigma_x)
    kinetic = (evecs * np.exp(eps * gamma * evals)) @ evecs.T  # exp(eps gamma sum sigma^x)
    shift = diag.min()
    transfer = np.exp(-eps * (diag - shift))[:, None] * kinetic  # exp(-eps E) exp(eps gamma X), rescaled
    scale = np.linalg.norm(transfer, 2)
    transfer /= scale
    power = np.linalg.matrix_power(transfer, p)
    z = np.trace(power)
    problem = np.trace(power * diag[None, :]) / z  # Tr[T^P diag(E)] / Tr[T^P]
    x_term = np.trace(power @ (evecs * evals) @ evecs.T) / z  # Tr[T^P X] / Tr[T^P], X commutes with exp(X)
    log_z = np.log(z) + p * (np.log(scale) - eps * shift)
    return {"problem_energy": float(problem), "sigma_x": float(x_term) / n, "log_z": float(log_z)}
