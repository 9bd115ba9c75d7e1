"""Monte Carlo sweeps: the one place where spins are updated.

A *sweep* proposes N single-spin updates. Three schedules of the same single-spin rule:

- ``dense``: sequential single-spin updates (spin 0, 1, ..., N-1) with the local fields maintained
  (O(N) per flip, vectorised over all leading batch axes) -- for all-to-all problems;
- ``block``: the spins of one colour class of the coupling graph share no coupling, so a whole class is
  updated at once from its local fields (a matrix product per class) -- for lattices, bipartite and
  layered problems (a layered network's layers are its colours);
- ``random``: N updates of spins drawn uniformly at random (with replacement), each chain its own sites --
  dwave-samplers' ``randomize_order=True``: detailed balance holds for every single update, so no order
  bias; the slowest of the three (a row of J is gathered per update).

Rules: ``metropolis`` (flip with probability min(1, exp(-beta dE))) and ``heat_bath`` (set the spin
from its conditional Boltzmann distribution). Both satisfy detailed balance for
``exp(-beta (E(s) + extra_field . s))``.

:func:`make_sweep` returns a :class:`Sweep`: a pure callable ``sweep(key, model, spins, beta, extra_field=None)``
with its static structure named (``method``, ``rule``, ``blocks``: the colour classes), so one compiled kernel
serves every model with the same sparsity pattern (e.g. every input of a network), and other kernels (the
worldline cluster move of PIQMC) can reuse its colour classes. Spins have shape (..., N); ``beta`` broadcasts
against the batch shape ``spins.shape[:-1]``; ``extra_field`` (..., N) is added to ``h`` (used for
per-example fields and for the imaginary-time coupling of path-integral QMC).
"""
from __future__ import annotations

import hashlib
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from ..ising import IsingModel, ProblemError, dot, graph_colouring
from .rng import uniform

__all__ = ["RULES", "METHODS", "Sweep", "SweepFn", "make_sweep", "cached_sweep", "block_fields", "choose_method",
           "random_spins"]

RULES = ("metropolis", "heat_bath")
METHODS = ("auto", "dense", "block", "random")
MAX_BLOCK_COLOURS = 16
DENSE_BLOCK = 32

SweepFn = Callable[..., jax.Array]


class Sweep:
    """A sweep kernel and its static structure: ``method`` ("dense", "block" or "random"), ``rule`` ("metropolis" or
    "heat_bath"), ``blocks`` (the colour classes ``(members, neighbours, table)`` of a block sweep; () for dense)
    and ``apply(key, model, spins, beta, extra_field=None) -> spins``. Calling it applies it. Hashed by identity,
    like a function, so it can be a static argument of compiled kernels."""

    __slots__ = ("method", "rule", "blocks", "apply")

    def __init__(self, method: str, rule: str, blocks: tuple, apply: SweepFn):
        self.method, self.rule, self.blocks, self.apply = method, rule, blocks, apply

    def __call__(self, key, model, spins, beta, extra_field=None):
        return self.apply(key, model, spins, beta, extra_field)

    def __repr__(self):
        return f"Sweep(method={self.method!r}, rule={self.rule!r}, colour_classes={len(self.blocks)})"


def random_spins(key: jax.Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> jax.Array:
    """Uniformly random +-1 spins of the given shape."""
    return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1.0, -1.0).astype(dtype)


def _noise(rule: str, key, shape, dtype):
    """The random threshold each single-spin decision compares against, drawn for a whole sweep at once:
    ln u for Metropolis, logit(u) = ln u - ln(1 - u) for heat bath (u uniform in [0, 1))."""
    u = uniform(key, shape, dtype)
    return jnp.log(u) if rule == "metropolis" else jnp.log(u) - jnp.log1p(-u)


def _update(rule: str, noise, spins, fields, beta):
    """New spin values given local fields and the thresholds from :func:`_noise`."""
    if rule == "metropolis":
        # dE = -2 s f; accept the flip when u < exp(-beta dE), i.e. ln u < 2 beta s f
        return jnp.where(noise < 2.0 * beta * spins * fields, -spins, spins)
    # heat bath: P(s = +1) = sigmoid(-2 beta f), i.e. s = +1 when logit(u) < -2 beta f
    return jnp.where(noise < -2.0 * beta * fields, 1.0, -1.0).astype(spins.dtype)


def choose_method(model: IsingModel, method: str = "auto") -> tuple[str, tuple]:
    """Pick ``dense`` or ``block`` from the coupling graph; returns (method, colouring)."""
    if method not in METHODS:
        raise ProblemError(f"unknown sweep method {method!r}; expected one of {METHODS}")
    if method in ("dense", "random"):
        return method, ()
    colouring = graph_colouring(np.asarray(model.J))
    if method == "auto":
        n = model.num_variables
        method = "block" if len(colouring) <= MAX_BLOCK_COLOURS and len(colouring) < max(n, 2) else "dense"
        if method == "dense":
            return "dense", ()
    return "block", colouring


def make_sweep(model: IsingModel, method: str = "auto", rule: str = "metropolis") -> Sweep:
    """Build the :class:`Sweep` ``sweep(key, model, spins, beta, extra_field=None) -> spins`` for models with the
    sparsity pattern of ``model``. ``method``: ``auto`` (block when the graph has few colours), ``dense``,
    ``block``, ``random`` (random-scan order)."""
    if rule not in RULES:
        raise ProblemError(f"unknown update rule {rule!r}; expected one of {RULES}")
    method, colouring = choose_method(model, method)
    if method == "dense":
        return _dense_sweep(rule)
    if method == "random":
        return _random_scan_sweep(rule)
    A = np.asarray(model.J) != 0
    blocks = tuple(_block(A, members) for members in colouring)
    return _block_sweep(rule, blocks)


SPARSE_RATIO = 24  # gather neighbours one by one when a spin has 24x fewer than its class (3D L >= 8)


def _block(A, members):
    """(members, neighbours, table) of a colour class: ``neighbours`` the spins coupled to any member;
    ``table`` (len(members), max degree) each member's own neighbours (padded with the member itself, whose
    coupling J_ii = 0) when the graph is sparse enough that gathering beats the dense product, else None."""
    neighbours = np.flatnonzero(A[:, members].any(axis=1))
    degree = int(A[members].sum(axis=1).max()) if members.size else 0
    if degree == 0 or SPARSE_RATIO * degree >= neighbours.size:
        return members, neighbours, None
    table = np.repeat(members[:, None], degree, axis=1)
    for row, i in enumerate(members):
        own = np.flatnonzero(A[i])
        table[row, :own.size] = own
    return members, neighbours, table


_SWEEPS: dict = {}


def cached_sweep(model: IsingModel, method: str = "auto", rule: str = "metropolis") -> Sweep:
    """:func:`make_sweep`, one function per (sparsity pattern, method, rule), so that repeated calls on
    problems of one pattern hit the jit cache of the kernels that take the sweep as a static argument."""
    pattern = np.packbits(np.asarray(model.J) != 0)
    key = (hashlib.sha1(pattern.tobytes() + str(model.num_variables).encode()).hexdigest(), method, rule)
    if key not in _SWEEPS:
        _SWEEPS[key] = make_sweep(model, method, rule)
    return _SWEEPS[key]


def _fields(model, spins, extra_field):
    f = model.h + dot(spins, model.J)
    return f if extra_field is None else f + extra_field


def _dense_sweep(rule: str, block: int = DENSE_BLOCK) -> Sweep:
    """Sequential sweep with delayed field updates. Spins are visited in order, in blocks of ``block``;
    inside a block only the block's own fields are updated after each flip (a column of the B x B slice of
    J), and the fields of all N spins are brought up to date once per block by one matrix product
    ``J[:, block] @ ds_block``. Exactly the sequential single-spin dynamics, at matrix-product speed.
    Internally the spin axis leads (N, batch) so that each step touches contiguous rows."""

    def sweep(key, model, spins, beta, extra_field=None):
        n = spins.shape[-1]
        batch = spins.shape[:-1]
        fields = _fields(model, spins, extra_field)
        s_t, f_t = spins.reshape(-1, n).T, fields.reshape(-1, n).T
        noise_t = _noise(rule, key, s_t.shape, spins.dtype)
        beta = jnp.broadcast_to(jnp.asarray(beta, spins.dtype), batch).reshape(-1)

        def visit_block(start, size, s_t, f_t):
            s_b = jax.lax.dynamic_slice_in_dim(s_t, start, size, 0)
            f_b = jax.lax.dynamic_slice_in_dim(f_t, start, size, 0)
            J_bb = jax.lax.dynamic_slice(model.J, (start, start), (size, size))

            def step(j, carry):
                new_b, f_b = carry
                new = _update(rule, noise_t[start + j], new_b[j], f_b[j], beta)
                f_b = f_b + J_bb[:, j, None] * (new - new_b[j])
                return new_b.at[j].set(new), f_b

            new_b, _ = jax.lax.fori_loop(0, size, step, (s_b, f_b))
            f_t = f_t + dot(jax.lax.dynamic_slice_in_dim(model.J, start, size, 1), new_b - s_b)
            return jax.lax.dynamic_update_slice_in_dim(s_t, new_b, start, 0), f_t

        size = min(block, n)
        full = n // size
        s_t, f_t = jax.lax.fori_loop(0, full, lambda k, c: visit_block(k * size, size, *c), (s_t, f_t))
        if n - full * size:
            s_t, f_t = visit_block(full * size, n - full * size, s_t, f_t)
        return s_t.T.reshape(spins.shape)

    return Sweep("dense", rule, (), sweep)


def _random_scan_sweep(rule: str) -> Sweep:
    """N single-spin updates at sites drawn uniformly at random, independently for each chain (random-scan
    Metropolis or heat bath). Each update reads its spin's row of J: O(N) per update, like ``dense``, without
    the delayed-update blocking."""

    def sweep(key, model, spins, beta, extra_field=None):
        n = spins.shape[-1]
        batch = spins.shape[:-1]
        s = spins.reshape(-1, n)
        h = jnp.broadcast_to(model.h if extra_field is None else model.h + extra_field, spins.shape).reshape(-1, n)
        k_site, k_noise = jax.random.split(key)
        sites = jax.random.randint(k_site, (n, s.shape[0]), 0, n)
        noise = _noise(rule, k_noise, (n, s.shape[0]), spins.dtype)
        beta = jnp.broadcast_to(jnp.asarray(beta, spins.dtype), batch).reshape(-1)
        chains = jnp.arange(s.shape[0])

        def step(t, s):
            i = sites[t]
            fields = h[chains, i] + jnp.sum(model.J[i] * s, axis=-1)
            return s.at[chains, i].set(_update(rule, noise[t], s[chains, i], fields, beta))

        return jax.lax.fori_loop(0, n, step, s).reshape(spins.shape)

    return Sweep("random", rule, (), sweep)


def block_fields(model: IsingModel, spins: jax.Array, block: tuple[np.ndarray, np.ndarray, np.ndarray | None],
                 extra_field: jax.Array | None = None) -> jax.Array:
    """Local fields (..., len(members)) of one colour class ``block = (members, neighbours, table)``: one
    matrix product with the rows of J of its neighbours, or on sparse graphs (``table`` given) a sum over each
    member's own few neighbours. ``extra_field`` (..., N) adds to h."""
    members, neighbours, table = block
    if table is None:
        fields = model.h[members] + dot(spins[..., neighbours], model.J[np.ix_(neighbours, members)])
    else:
        fields = model.h[members] + jnp.sum(model.J[members[:, None], table] * spins[..., table], axis=-1)
    return fields if extra_field is None else fields + extra_field[..., members]


def _block_sweep(rule: str, blocks) -> Sweep:
    """Colour classes updated one after another, each from its :func:`block_fields`."""

    def sweep(key, model, spins, beta, extra_field=None):
        beta = jnp.asarray(beta, spins.dtype)[..., None]
        keys = jax.random.split(key, len(blocks))
        for k, block in zip(keys, blocks):
            members = block[0]
            fields = block_fields(model, spins, block, extra_field)
            noise = _noise(rule, k, fields.shape, spins.dtype)
            spins = spins.at[..., members].set(_update(rule, noise, spins[..., members], fields, beta))
        return spins

    return Sweep("block", rule, blocks, sweep)
