"""Seeded generators of standard Ising problems (dimod sign convention: J < 0 is ferromagnetic).

Every generator takes ``seed`` (an int, passed to ``numpy.random.default_rng``) and returns an
:class:`~dragonjax.IsingModel`. :func:`wishart_planted` also returns its known ground state and energy.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
from jax.typing import DTypeLike

from .ising import IsingModel, ProblemError

__all__ = [
    "sherrington_kirkpatrick", "edwards_anderson", "ferromagnet_chain", "ferromagnet_lattice",
    "bipartite", "layered", "wishart_planted", "PlantedProblem",
]


def _symmetric(upper: np.ndarray) -> np.ndarray:
    upper = np.triu(upper, 1)
    return upper + upper.T


def _check_positive(**sizes):
    for name, value in sizes.items():
        if int(value) != value or value < 1:
            raise ProblemError(f"{name} must be a positive integer, got {value!r}")


def sherrington_kirkpatrick(n: int, seed: int = 0, couplings: str = "gaussian", field: float = 0.0,
                            dtype: DTypeLike | None = None) -> IsingModel:
    """SK glass: all-to-all J_ij ~ N(0, 1/N) (``couplings="gaussian"``) or +-1/sqrt(N) (``"pm"``),
    plus optional Gaussian fields of standard deviation ``field``."""
    _check_positive(n=n)
    rng = np.random.default_rng(seed)
    if couplings == "gaussian":
        raw = rng.normal(size=(n, n))
    elif couplings == "pm":
        raw = rng.choice([-1.0, 1.0], size=(n, n))
    else:
        raise ProblemError(f"unknown couplings {couplings!r}; expected 'gaussian' or 'pm'")
    h = field * rng.normal(size=n) if field else np.zeros(n)
    return IsingModel(_symmetric(raw) / np.sqrt(n), h, dtype=dtype)


def _lattice_edges(shape: Sequence[int], periodic: bool):
    index = np.arange(int(np.prod(shape))).reshape(shape)
    for axis, length in enumerate(shape):
        if length < 2:
            continue
        shifted = np.roll(index, -1, axis=axis)
        pairs = np.stack([index.ravel(), shifted.ravel()], 1)
        if not periodic:
            keep = np.moveaxis(np.ones(shape, bool), axis, 0)
            keep[-1] = False
            pairs = pairs[np.moveaxis(keep, 0, axis).ravel()]
        elif length == 2:  # avoid the doubled bond of a length-2 periodic direction
            pairs = pairs[np.take(index, 0, axis).ravel()]
        yield from pairs


def edwards_anderson(length: int, dim: int = 2, seed: int = 0, couplings: str = "pm",
                     periodic: bool = True, dtype: DTypeLike | None = None) -> IsingModel:
    """Edwards-Anderson glass on a ``length^dim`` hypercubic lattice, nearest-neighbour J_ij = +-1
    (``"pm"``) or N(0, 1) (``"gaussian"``)."""
    _check_positive(length=length, dim=dim)
    if couplings not in ("pm", "gaussian"):
        raise ProblemError(f"unknown couplings {couplings!r}; expected 'pm' or 'gaussian'")
    rng = np.random.default_rng(seed)
    n = length ** dim
    J = np.zeros((n, n))
    for i, j in _lattice_edges((length,) * dim, periodic):
        J[i, j] = J[j, i] = rng.choice([-1.0, 1.0]) if couplings == "pm" else rng.normal()
    return IsingModel(J, np.zeros(n), dtype=dtype)


def ferromagnet_chain(n: int, coupling: float = 1.0, periodic: bool = True, field: float = 0.0,
                      dtype: DTypeLike | None = None) -> IsingModel:
    """Uniform ferromagnetic chain/ring: E = -coupling sum s_i s_{i+1} + field sum s_i."""
    _check_positive(n=n)
    return ferromagnet_lattice(n, dim=1, coupling=coupling, periodic=periodic, field=field, dtype=dtype)


def ferromagnet_lattice(length: int, dim: int = 2, coupling: float = 1.0, periodic: bool = True,
                        field: float = 0.0, dtype: DTypeLike | None = None) -> IsingModel:
    """Uniform ferromagnet on a hypercubic lattice: J_ij = -coupling on nearest neighbours."""
    _check_positive(length=length, dim=dim)
    n = length ** dim
    J = np.zeros((n, n))
    for i, j in _lattice_edges((length,) * dim, periodic):
        J[i, j] = J[j, i] = -coupling
    return IsingModel(J, np.full(n, float(field)), dtype=dtype)


def layered(layer_sizes: Sequence[int], seed: int = 0, scale: float = 1.0, field: float = 0.0,
            dtype: DTypeLike | None = None) -> IsingModel:
    """Random layered (L-partite chain) couplings: layer l couples only to l +- 1, with
    J ~ N(0, scale^2 / fan_in) as in a randomly initialised Ising network; Gaussian fields of std
    ``field``. Spins are ordered layer by layer."""
    sizes = [int(k) for k in layer_sizes]
    _check_positive(**{f"layer_sizes[{i}]": k for i, k in enumerate(sizes)})
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    starts = np.cumsum([0] + sizes)
    J = np.zeros((n, n))
    for layer in range(len(sizes) - 1):
        a, b, c = starts[layer], starts[layer + 1], starts[layer + 2]
        J[a:b, b:c] = rng.normal(scale=scale / np.sqrt(sizes[layer]), size=(b - a, c - b))
    h = field * rng.normal(size=n) if field else np.zeros(n)
    return IsingModel(J + J.T, h, dtype=dtype)


def bipartite(n_left: int, n_right: int, seed: int = 0, scale: float = 1.0,
              dtype: DTypeLike | None = None) -> IsingModel:
    """Random bipartite glass (a restricted-Boltzmann-machine graph), J ~ N(0, scale^2 / n_left)."""
    return layered([n_left, n_right], seed=seed, scale=scale, dtype=dtype)


class PlantedProblem(NamedTuple):
    model: IsingModel
    ground_state: np.ndarray  # (N,) +-1; its global flip is also a ground state
    ground_energy: float


def wishart_planted(n: int, alpha: float = 0.75, seed: int = 0,
                    dtype: DTypeLike | None = None) -> PlantedProblem:
    """Wishart planted ensemble (Hamze et al., PRE 101, 052102, 2020).

    ``M = ceil(alpha N)`` Gaussian columns w_mu are projected orthogonal to a random planted state t;
    J = W W^T / N is positive semidefinite with J t = 0, so t minimises s^T J s; with the diagonal removed,
    E(s) = (s^T J s - tr J) / 2 and the ground-state energy is exactly -tr(J) / 2. Hardness grows as
    alpha falls (alpha < 1 is hard); for alpha well above ~0.5 the ground state is unique up to a global
    flip (almost surely)."""
    _check_positive(n=n)
    if not alpha > 0:
        raise ProblemError(f"alpha must be positive, got {alpha}")
    rng = np.random.default_rng(seed)
    t = rng.choice([-1.0, 1.0], size=n)
    m = int(np.ceil(alpha * n))
    W = rng.normal(size=(n, m))
    W -= np.outer(t, t @ W) / n  # project each column orthogonal to t
    J = W @ W.T / n
    ground_energy = -0.5 * float(np.trace(J))
    np.fill_diagonal(J, 0.0)
    return PlantedProblem(IsingModel(J, np.zeros(n), dtype=dtype), t.astype(np.int8), ground_energy)
