"""The Ising problem: ``E(s) = sum_i h_i s_i + sum_{i<j} J_ij s_i s_j + offset`` with ``s_i = +-1``.

:class:`IsingModel` is the one home of the problem in dragonjax. It is a JAX PyTree (``J``, ``h`` and
``offset`` are leaves; the variable ``labels`` are static), so it can be passed through ``jit``, ``grad``
and ``vmap``. ``J`` is stored dense, symmetric, with zero diagonal, so ``E(s) = h.s + s.J.s / 2 + offset``
-- exactly dimod's energy for the same binary quadratic model.

A coupling ``J_ij`` (i < j) appears twice in the dense matrix, so the derivative of any function with
respect to the coupling is ``grad.J[i, j] + grad.J[j, i]``.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Hashable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
from jax.typing import ArrayLike, DTypeLike

if TYPE_CHECKING:  # imported where it is used: ``import dragonjax`` does not load dimod
    import dimod

__all__ = ["IsingModel", "ProblemError", "check_memory", "check_spins", "graph_colouring", "dot", "local_field_scale",
           "stack_models"]


def dot(a: ArrayLike, b: ArrayLike) -> jax.Array:
    """Matrix product at full float32 precision (GPUs would otherwise round J to TF32 in matmuls)."""
    return jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST)


class ProblemError(ValueError):
    """An Ising problem, spin configuration or schedule is malformed."""


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def _validate_couplings(J: np.ndarray, h: np.ndarray, offset) -> None:
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ProblemError(f"J must be a square (N, N) matrix, got shape {J.shape}")
    n = J.shape[0]
    if h.shape != (n,):
        raise ProblemError(f"h must have shape ({n},) to match J of shape {J.shape}, got shape {h.shape}")
    bad = np.argwhere(~np.isfinite(J))
    if bad.size:
        i, j = bad[0]
        raise ProblemError(f"J has a non-finite entry J[{i}, {j}] = {J[i, j]}")
    bad = np.argwhere(~np.isfinite(h))
    if bad.size:
        (i,) = bad[0]
        raise ProblemError(f"h has a non-finite entry h[{i}] = {h[i]}")
    if not np.isfinite(offset):
        raise ProblemError(f"offset is not finite: {offset}")
    diag = np.flatnonzero(np.diag(J))
    if diag.size:
        i = diag[0]
        raise ProblemError(f"J must have a zero diagonal, but J[{i}, {i}] = {J[i, i]}")
    asym = np.abs(J - J.T)
    tol = 1e-6 * max(1.0, float(np.max(np.abs(J)))) if n else 0.0
    if n and asym.max() > tol:
        i, j = np.unravel_index(np.argmax(asym), J.shape)
        raise ProblemError(f"J must be symmetric, but J[{i}, {j}] = {J[i, j]} != J[{j}, {i}] = {J[j, i]}")


def _check_range(J: np.ndarray, h: np.ndarray, offset: float, dtype) -> None:
    """The largest |energy| the problem can reach, 1/2 sum |J| + sum |h| + |offset|, must be finite in the dtype
    the model is stored in (else values would silently become inf there)."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.floating):
        return
    limit = float(np.finfo(dtype).max)
    bound = 0.5 * float(np.abs(J).sum()) + float(np.abs(h).sum()) + abs(float(offset))
    if not bound < limit:
        raise ProblemError(f"the problem's energies can reach {bound:.3g}, beyond the {dtype.name} range "
                           f"({limit:.3g}) it is stored in: rescale the biases and offset (or enable float64 with "
                           f"JAX_ENABLE_X64=1)")


def available_memory() -> int | None:
    """Physical memory of this machine in bytes (None where the platform does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(num_bytes: float, what: str) -> None:
    """Refuse, with a one-line reason, an allocation larger than this machine's physical memory (before it is
    attempted: a dense problem of 60 000 variables needs 27 GiB)."""
    total = available_memory()
    if total is not None and num_bytes > total:
        raise ProblemError(f"{what} needs about {num_bytes / 2 ** 30:.1f} GiB, more than this machine's "
                           f"{total / 2 ** 30:.1f} GiB of memory")


def check_spins(spins: npt.ArrayLike, num_variables: int) -> None:
    """Raise :class:`ProblemError` unless ``spins`` has shape (..., N) with entries in {-1, +1}."""
    shape = np.shape(spins)
    if len(shape) == 0 or shape[-1] != num_variables:
        raise ProblemError(f"spins must have shape (..., {num_variables}), got shape {shape}")
    if _is_concrete(spins):
        s = np.asarray(spins)
        bad = np.argwhere((s != 1) & (s != -1))
        if bad.size:
            idx = tuple(int(k) for k in bad[0])
            raise ProblemError(f"spins must be +-1, but spins{list(idx)} = {s[idx]}")


@jax.tree_util.register_pytree_node_class
class IsingModel:
    """Ising problem with dense symmetric couplings ``J`` (zero diagonal), fields ``h`` and ``offset``.

    Args:
        J: (N, N) symmetric coupling matrix with zero diagonal (each coupling stored in both halves).
        h: (N,) linear biases.
        offset: constant energy.
        labels: variable labels (any hashables, default ``range(N)``), kept in this order.
        dtype: floating dtype of the arrays (default: JAX's default float, float32 unless x64 is on).
    """

    def __init__(self, J: npt.ArrayLike, h: npt.ArrayLike, offset: ArrayLike = 0.0,
                 labels: Sequence[Hashable] | None = None, dtype: DTypeLike | None = None):
        dtype = dtype or jnp.result_type(float)
        concrete = all(_is_concrete(x) for x in (J, h, offset))
        if concrete:
            Jn, hn = np.asarray(J, dtype=np.float64), np.asarray(h, dtype=np.float64)
            _validate_couplings(Jn, hn, float(offset))
            _check_range(Jn, hn, float(offset), dtype)
        n = np.shape(J)[0] if np.ndim(J) else 0
        if labels is None:
            labels = tuple(range(n))
        labels = tuple(labels)
        if len(labels) != n:
            raise ProblemError(f"got {len(labels)} labels for {n} variables")
        if len(set(labels)) != n:
            raise ProblemError("variable labels must be unique")
        self.J = jnp.asarray(J, dtype=dtype)
        self.h = jnp.asarray(h, dtype=dtype)
        self.offset = jnp.asarray(offset, dtype=dtype)
        self.labels = labels

    # -- PyTree protocol ------------------------------------------------------------------------------
    def tree_flatten(self) -> tuple[tuple[jax.Array, jax.Array, jax.Array], tuple[Hashable, ...]]:
        """The PyTree children (J, h, offset) and the labels as static data."""
        return (self.J, self.h, self.offset), self.labels

    @classmethod
    def tree_unflatten(cls, labels, children):
        obj = object.__new__(cls)
        obj.J, obj.h, obj.offset = children
        obj.labels = labels
        return obj

    # -- constructors ---------------------------------------------------------------------------------
    @classmethod
    def from_bqm(cls, bqm: dimod.BinaryQuadraticModel, dtype: DTypeLike | None = None) -> IsingModel:
        """Any dimod BQM (BINARY ones are converted to SPIN); variable order is ``bqm.variables``."""
        spin = bqm.spin
        labels = list(spin.variables)
        n = len(labels)
        check_memory(12.0 * n * n, f"a dense coupling matrix of {n} variables")  # float64 J + its float32 copy
        linear, (irow, icol, qdata), offset = spin.to_numpy_vectors(variable_order=labels)
        J = np.zeros((n, n))
        J[irow, icol] = qdata  # dimod holds each pair once, with no self-loops
        J[icol, irow] = qdata
        return cls(J, np.asarray(linear, dtype=np.float64), float(offset), labels, dtype=dtype)

    @classmethod
    def from_ising(cls, h: Mapping, J: Mapping, offset: float = 0.0, dtype: DTypeLike | None = None) -> IsingModel:
        """From dimod-style dicts ``h = {v: bias}``, ``J = {(u, v): bias}``."""
        import dimod

        return cls.from_bqm(dimod.BinaryQuadraticModel.from_ising(h, J, offset), dtype=dtype)

    def to_bqm(self) -> dimod.BinaryQuadraticModel:
        """A ``dimod.BinaryQuadraticModel`` (SPIN) with the same labels and energies."""
        import dimod

        J = np.asarray(self.J, dtype=np.float64)
        irow, icol = np.nonzero(np.triu(J, 1))
        return dimod.BinaryQuadraticModel.from_numpy_vectors(
            np.asarray(self.h, dtype=np.float64), (irow, icol, J[irow, icol]), float(self.offset),
            dimod.SPIN, variable_order=list(self.labels))

    # -- physics --------------------------------------------------------------------------------------
    @property
    def num_variables(self) -> int:
        """N, the number of spins."""
        return len(self.labels)

    @property
    def dtype(self) -> np.dtype:
        """The floating dtype the model is stored in (float32 unless JAX's x64 is on)."""
        return self.J.dtype

    def local_fields(self, spins: npt.ArrayLike) -> jax.Array:
        """``f_i = h_i + sum_j J_ij s_j``, so that flipping spin i changes the energy by ``-2 s_i f_i``."""
        check_spins(spins, self.num_variables)
        spins = jnp.asarray(spins, self.dtype)
        return self.h + dot(spins, self.J)

    def energy(self, spins: npt.ArrayLike) -> jax.Array:
        """Energy of spins with shape (N,) or batched (..., N)."""
        check_spins(spins, self.num_variables)
        spins = jnp.asarray(spins, self.dtype)
        return dot(spins, self.h) + 0.5 * jnp.sum(dot(spins, self.J) * spins, axis=-1) + self.offset

    def __repr__(self):
        return f"IsingModel(num_variables={self.num_variables}, dtype={self.dtype})"


def stack_models(models: Sequence[IsingModel]) -> IsingModel:
    """S problems of one size and labelling as one :class:`IsingModel` whose leaves carry a leading axis
    (J (S, N, N), h (S, N), offset (S,)), to ``jax.vmap`` over disorder samples."""
    models = list(models)
    if not models:
        raise ProblemError("stack_models needs at least one model")
    if len({m.labels for m in models}) != 1:
        raise ProblemError("stacked models must have the same variables (labels)")
    return jax.tree_util.tree_map(lambda *x: jnp.stack(x), *models)


def local_field_scale(model: IsingModel, fields: ArrayLike | None = None) -> jax.Array:
    """sigma = sqrt(mean_i [sum_j J_ij^2 + (h_i + f_i)^2]) over the spins (and the B conditioned problems
    ``model`` + ``fields`` (B, N) when given): the rms local field of a spin whose neighbours are random --
    the problem's own energy scale per spin. Traceable (a JAX scalar)."""
    return _local_field_scale(model.J, model.h, fields)


@jax.jit
def _local_field_scale(J, h, fields):  # compiled (arrays only, not the labelled model): the samplers call it eagerly
    f = h[None, :] + (0.0 if fields is None else fields)
    return jnp.sqrt(jnp.mean(jnp.sum(J ** 2, axis=1)[None, :] + f ** 2))


def graph_colouring(J: npt.ArrayLike) -> tuple[np.ndarray, ...]:
    """Greedy (largest-degree-first) colouring of the coupling graph: a tuple of index arrays, one per
    colour class. Spins of one class share no coupling, so a whole class can be updated at once.
    Bipartite graphs (lattices with even sides, layered networks) are 2-coloured by a BFS check first."""
    A = np.asarray(J) != 0
    n = A.shape[0]
    if n == 0:
        return ()
    side = _two_colouring(A)
    if side is not None:
        return tuple(c for c in (np.flatnonzero(side == 0), np.flatnonzero(side == 1)) if c.size)
    colour = -np.ones(n, dtype=int)
    for v in np.argsort(-A.sum(1), kind="stable"):
        used = set(colour[A[v]].tolist())
        c = 0
        while c in used:
            c += 1
        colour[v] = c
    return tuple(np.flatnonzero(colour == c) for c in range(colour.max() + 1))


def _two_colouring(A: np.ndarray):
    n = A.shape[0]
    side = -np.ones(n, dtype=int)
    neighbours = [np.flatnonzero(row) for row in A]
    for start in range(n):
        if side[start] >= 0:
            continue
        side[start] = 0
        stack = [start]
        while stack:
            v = stack.pop()
            for w in neighbours[v]:
                if side[w] < 0:
                    side[w] = 1 - side[v]
                    stack.append(w)
                elif side[w] == side[v]:
                    return None
    return side
