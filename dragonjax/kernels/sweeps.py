"""Monte Carlo sweeps: the one place where spins are updated.

A *sweep* proposes an update of every spin once. Two schedules of the same single-spin rule:

- ``dense``: sequential single-spin updates (spin 0, 1, ..., N-1) with the local fields maintained
  (O(N) per flip, vectorised over all leading batch axes) -- for all-to-all problems;
- ``block``: the spins of one colour class of the coupling graph share no coupling, so a whole class is
  updated at once from its local fields (a matrix product per class) -- for lattices, bipartite and
  layered problems (a layered network's layers are its colours).

Rules: ``metropolis`` (flip with probability min(1, exp(-beta dE))) and ``heat_bath`` (set the spin
from its conditional Boltzmann distribution). Both satisfy detailed balance for
``exp(-beta (E(s) + extra_field . s))``.

:func:`make_sweep` returns a pure function ``sweep(key, model, spins, beta, extra_field=None)`` with
the static structure (colouring, rule) closed over, so one compiled kernel serves every model with the
same sparsity pattern (e.g. every input of a network). Spins have shape (..., N); ``beta`` broadcasts
against the batch shape ``spins.shape[:-1]``; ``extra_field`` (..., N) is added to ``h`` (used for
per-example fields and for the imaginary-time coupling of path-integral QMC).
"""
from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ..ising import IsingModel, ProblemError, graph_colouring

__all__ = ["RULES", "METHODS", "SweepFn", "make_sweep", "choose_method", "random_spins"]

RULES = ("metropolis", "heat_bath")
METHODS = ("auto", "dense", "block")
MAX_BLOCK_COLOURS = 16

SweepFn = Callable[..., jax.Array]


def random_spins(key, shape, dtype=jnp.float32):
    """Uniformly random +-1 spins of the given shape."""
    return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1.0, -1.0).astype(dtype)


def _update(rule: str, u, spins, fields, beta):
    """New value of spins with local fields ``fields`` given uniforms ``u`` in [0, 1)."""
    if rule == "metropolis":
        # dE = -2 s f; accept the flip when u < exp(-beta dE)
        return jnp.where(jnp.log(u) < 2.0 * beta * spins * fields, -spins, spins)
    # heat bath: P(s = +1) = exp(-beta f) / (exp(-beta f) + exp(beta f))
    return jnp.where(u < jax.nn.sigmoid(-2.0 * beta * fields), 1.0, -1.0).astype(spins.dtype)


def choose_method(model: IsingModel, method: str = "auto") -> tuple[str, tuple]:
    """Pick ``dense`` or ``block`` from the coupling graph; returns (method, colouring)."""
    if method not in METHODS:
        raise ProblemError(f"unknown sweep method {method!r}; expected one of {METHODS}")
    if method == "dense":
        return "dense", ()
    colouring = graph_colouring(np.asarray(model.J))
    if method == "auto":
        n = model.num_variables
        method = "block" if len(colouring) <= MAX_BLOCK_COLOURS and len(colouring) < max(n, 2) else "dense"
        if method == "dense":
            return "dense", ()
    return "block", colouring


def make_sweep(model: IsingModel, method: str = "auto", rule: str = "metropolis") -> SweepFn:
    """Build ``sweep(key, model, spins, beta, extra_field=None) -> spins`` for models with the sparsity
    pattern of ``model``. ``method``: ``auto`` (block when the graph has few colours), ``dense``, ``block``."""
    if rule not in RULES:
        raise ProblemError(f"unknown update rule {rule!r}; expected one of {RULES}")
    method, colouring = choose_method(model, method)
    if method == "dense":
        return _dense_sweep(rule)
    A = np.asarray(model.J) != 0
    blocks = tuple((c, np.flatnonzero(A[:, c].any(axis=1))) for c in colouring)
    return _block_sweep(rule, blocks)


def _fields(model, spins, extra_field):
    f = model.h + spins @ model.J
    return f if extra_field is None else f + extra_field


def _dense_sweep(rule: str) -> SweepFn:
    def sweep(key, model, spins, beta, extra_field=None):
        n = spins.shape[-1]
        beta = jnp.asarray(beta, spins.dtype)
        fields = _fields(model, spins, extra_field)
        u = jax.random.uniform(key, (n,) + spins.shape[:-1], spins.dtype)
        # move the spin axis to the front so that step i reads and writes a contiguous row
        s_t, f_t = jnp.moveaxis(spins, -1, 0), jnp.moveaxis(fields, -1, 0)

        def step(i, carry):
            s_t, f_t = carry
            s_i = s_t[i]
            new = _update(rule, u[i], s_i, f_t[i], beta)
            ds = new - s_i
            f_t = f_t + model.J[i].reshape((n,) + (1,) * ds.ndim) * ds
            return s_t.at[i].set(new), f_t

        s_t, _ = jax.lax.fori_loop(0, n, step, (s_t, f_t))
        return jnp.moveaxis(s_t, 0, -1)

    sweep.method, sweep.rule = "dense", rule
    return sweep


def _block_sweep(rule: str, blocks) -> SweepFn:
    def sweep(key, model, spins, beta, extra_field=None):
        beta = jnp.asarray(beta, spins.dtype)[..., None]
        keys = jax.random.split(key, len(blocks))
        for k, (members, neighbours) in zip(keys, blocks):
            fields = model.h[members] + spins[..., neighbours] @ model.J[np.ix_(neighbours, members)]
            if extra_field is not None:
                fields = fields + extra_field[..., members]
            u = jax.random.uniform(k, fields.shape, spins.dtype)
            spins = spins.at[..., members].set(_update(rule, u, spins[..., members], fields, beta))
        return spins

    sweep.method, sweep.rule = "block", rule
    return sweep
