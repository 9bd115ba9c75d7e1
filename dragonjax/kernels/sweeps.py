"""Monte Carlo sweeps: the one place where spins are updated.

A *sweep* proposes N single-spin updates. Three schedules of the same single-spin rule:

- ``dense``: sequential single-spin updates (spin 0, 1, ..., N-1), each from its exact local field (a row of J
  times the spins: O(N) per update, vectorised over all leading batch axes) -- for all-to-all problems;
- ``block``: the spins of one colour class of the coupling graph share no coupling, so a whole class is
  updated at once from its local fields (a matrix product per class) -- for lattices, bipartite and
  layered problems (a layered network's layers are its colours);
- ``random``: N updates of spins drawn uniformly at random (with replacement), each chain its own sites --
  dwave-samplers' ``randomize_order=True``: detailed balance holds for every single update, so no order
  bias; the slowest of the three (a row of J is gathered per update).

Rules: ``metropolis`` (flip with probability min(1, exp(-beta dE))) and ``heat_bath`` (set the spin
from its conditional Boltzmann distribution). Both satisfy detailed balance for
``exp(-beta (E(s) + extra_field . s))``.

Precision of the local fields (``precision``): the products of spins with couplings are the work of a sweep.
The spins are small integers (+-1; the changes 0, +-2), exact in bfloat16, so the couplings alone decide the
accuracy: ``highest`` (float32 products, the default), ``bf16x3`` / ``bf16x2`` (J split into three / two
bfloat16 parts, hi + mid (+ lo), each product accumulated in float32: tensor-core speed on GPUs, with the
fields accurate to ~1e-7 / ~1e-5 relative to |J|), ``default`` (the backend's own: TF32 on NVIDIA GPUs, float32
on CPUs). Each mode is checked against the exact Boltzmann distribution in the tests.

:func:`make_sweep` returns a :class:`Sweep`: a pure callable ``sweep(key, model, spins, beta, extra_field=None)``
with its static structure named (``method``, ``rule``, ``blocks``: the colour classes), so one compiled kernel
serves every model with the same sparsity pattern (e.g. every input of a network), and other kernels (the
worldline cluster move of PIQMC) can reuse its colour classes. Spins have shape (..., N); ``beta`` broadcasts
against the batch shape ``spins.shape[:-1]``; ``extra_field`` (..., N) is added to ``h`` (used for
per-example fields and for the imaginary-time coupling of path-integral QMC). The annealing drivers make their
sweeps through :func:`run_sweeps`, which hands a sweep several betas at a time (``Sweep.run``): the colour-ordered
block sweep then keeps its spin-major layout between sweeps and draws their random thresholds in one go.
"""
from __future__ import annotations

import functools
import hashlib
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from ..ising import IsingModel, ProblemError, dot, graph_colouring
from . import progress as _progress
from .rng import uniform, uniform_shaped

__all__ = ["RULES", "METHODS", "PRECISIONS", "Sweep", "SweepFn", "make_sweep", "cached_sweep", "block_fields",
           "choose_method", "random_spins", "spin_dot", "row_products", "pair_couplings", "split_couplings", "as_sweep",
           "run_sweeps", "ColourLayout"]

RULES = ("metropolis", "heat_bath")
METHODS = ("auto", "dense", "block", "random")
PRECISIONS = ("highest", "bf16x3", "bf16x2", "default")
MAX_BLOCK_COLOURS = 16
SWEEPS_PER_DRAW = 8  # sweeps whose thresholds a block sweep draws at once (see Sweep.run)
MAX_DRAWN = 2 ** 24  # ... as long as they number at most this many (64 MiB of float32)

SweepFn = Callable[..., jax.Array]


class Sweep:
    """A sweep kernel and its static structure: ``method`` ("dense", "block" or "random"), ``rule`` ("metropolis" or
    "heat_bath"), ``blocks`` (the colour classes ``(members, neighbours, table)`` of a block sweep; () for dense),
    ``precision`` (of the local fields, one of :data:`PRECISIONS`) and ``apply(key, model, spins, beta,
    extra_field=None) -> spins``. Calling it applies it. ``run(key, model, spins, betas, extra_field=None)`` applies
    ``len(betas)`` sweeps, the k-th at ``betas[k]`` (one beta: ``apply`` itself); a kernel that gains from it
    (the colour-ordered block sweep) draws the thresholds of up to ``sweeps_per_draw`` sweeps at once and keeps
    its own spin layout between them -- the random stream of a call then depends on how many sweeps it makes,
    not its law. ``track`` (None where the kernel has none) is ``run`` that also returns each chain's energy
    change, summed from the accepted updates' ``(s' - s) f`` with the fields the updates used (exact up to
    float32 rounding; population annealing uses it instead of recomputing the energies, an O(N^2) product per
    replica and step). Hashed by identity, like a function, so it can be a static argument of compiled kernels."""

    __slots__ = ("method", "rule", "blocks", "apply", "precision", "run", "sweeps_per_draw", "track")

    def __init__(self, method: str, rule: str, blocks: tuple, apply: SweepFn, precision: str = "highest",
                 run: Callable[..., jax.Array] | None = None, sweeps_per_draw: int = 1,
                 track: Callable[..., tuple[jax.Array, jax.Array]] | None = None):
        self.method, self.rule, self.blocks, self.apply, self.precision = method, rule, blocks, apply, precision
        self.run = run if run is not None else _one_by_one(apply)
        self.sweeps_per_draw = sweeps_per_draw
        self.track = track

    def __call__(self, key, model, spins, beta, extra_field=None):
        return self.apply(key, model, spins, beta, extra_field)

    def __repr__(self):
        return (f"Sweep(method={self.method!r}, rule={self.rule!r}, colour_classes={len(self.blocks)}, "
                f"precision={self.precision!r})")


def _one_by_one(apply: SweepFn) -> Callable[..., jax.Array]:
    def run(key, model, spins, betas, extra_field=None):
        if betas.shape[0] == 1:
            return apply(key, model, spins, betas[0], extra_field)

        def step(s, inputs):
            return apply(inputs[0], model, s, inputs[1], extra_field), None

        return jax.lax.scan(step, spins, (jax.random.split(key, betas.shape[0]), betas))[0]

    return run


def as_sweep(sweep: Sweep | SweepFn) -> Sweep:
    """``sweep`` itself, or a plain function ``sweep(key, model, spins, beta, extra_field=None)`` as a
    :class:`Sweep` (method "custom") that applies it one sweep at a time."""
    return sweep if isinstance(sweep, Sweep) else Sweep("custom", "", (), sweep)


def run_sweeps(sweep: Sweep | SweepFn, key: jax.Array, model: IsingModel, spins: jax.Array, betas: ArrayLike,
               extra_field: ArrayLike | None = None, progress: bool = False,
               energy_change: bool = False) -> jax.Array | tuple[jax.Array, jax.Array]:
    """``len(betas)`` sweeps from ``spins`` (..., N), the k-th at ``betas[k]`` (a scalar or an array broadcasting
    against the batch shape): a ``lax.scan`` over calls of ``sweep.run`` on chunks of ``sweep.sweeps_per_draw``
    betas (fewer when their thresholds would exceed ``MAX_DRAWN`` numbers; under ``vmap`` the cap is per mapped
    instance). ``progress`` reports the sweeps done to :mod:`~dragonjax.kernels.progress` listeners. The one loop
    over sweeps of the annealing drivers. With ``energy_change`` (for a sweep with ``track``) it returns
    ``(spins, change)``, each chain's energy change over the sweeps; the same spins as without."""
    sweep = as_sweep(sweep)
    if energy_change and sweep.track is None:
        raise ProblemError(f"{sweep!r} does not track energy changes")
    betas = jnp.asarray(betas, spins.dtype)
    total = betas.shape[0]
    size = max(1, min(sweep.sweeps_per_draw, total, MAX_DRAWN // max(1, int(np.prod(spins.shape)))))
    whole = total // size
    keys = jax.random.split(key, whole + 1)
    chunks = betas[:whole * size].reshape(whole, size, *betas.shape[1:])

    def advance(carry, k, b):  # carry: the spins, or (spins, energy change so far)
        if not energy_change:
            return sweep.run(k, model, carry, b, extra_field)
        s, change = sweep.track(k, model, carry[0], b, extra_field)
        return s, carry[1] + change

    def step(carry, inputs):
        i, k, b = inputs
        carry = advance(carry, k, b)
        if progress:
            _progress.report((i + 1) * size, total, stride=size)  # in sweeps, not chunks
        return carry, None

    init = (spins, jnp.zeros(spins.shape[:-1], spins.dtype)) if energy_change else spins
    carry, _ = jax.lax.scan(step, init, (jnp.arange(whole, dtype=jnp.int32), keys[:whole], chunks))
    if total > whole * size:
        carry = advance(carry, keys[whole], betas[whole * size:])
        if progress:
            _progress.report(jnp.int32(total), total)
    return carry


def random_spins(key: jax.Array, shape: Sequence[int], dtype: DTypeLike = jnp.float32) -> jax.Array:
    """Uniformly random +-1 spins of the given shape."""
    return _random_spins(key, tuple(int(d) for d in shape), jnp.dtype(dtype))


@functools.partial(jax.jit, static_argnums=(1, 2))
def _random_spins(key, shape, dtype):  # compiled: called eagerly, its three operations cost a sampler call ~0.3 ms
    return jnp.where(jax.random.bernoulli(key, 0.5, shape), 1.0, -1.0).astype(dtype)


def _thresholds(rule: str, u):
    """The random threshold each single-spin decision compares against, from u uniform in [0, 1):
    ln u for Metropolis, logit(u) = ln u - ln(1 - u) for heat bath."""
    return jnp.log(u) if rule == "metropolis" else jnp.log(u) - jnp.log1p(-u)


def _noise(rule: str, key, shape, dtype):
    """:func:`_thresholds` drawn for a whole sweep at once."""
    return _thresholds(rule, uniform(key, shape, dtype))


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


def make_sweep(model: IsingModel, method: str = "auto", rule: str = "metropolis",
               precision: str = "highest") -> Sweep:
    """Build the :class:`Sweep` ``sweep(key, model, spins, beta, extra_field=None) -> spins`` for models with the
    sparsity pattern of ``model``. ``method``: ``auto`` (block when the graph has few colours), ``dense``,
    ``block``, ``random`` (random-scan order); ``precision`` of the local fields: one of :data:`PRECISIONS`."""
    if rule not in RULES:
        raise ProblemError(f"unknown update rule {rule!r}; expected one of {RULES}")
    if precision not in PRECISIONS:
        raise ProblemError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
    method, colouring = choose_method(model, method)
    if method == "dense":
        return _dense_sweep(rule, precision=precision)
    if method == "random":
        return _random_scan_sweep(rule)
    A = np.asarray(model.J) != 0
    blocks = tuple(_block(A, members) for members in colouring)
    return _block_sweep(rule, blocks, precision)


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


def cached_sweep(model: IsingModel, method: str = "auto", rule: str = "metropolis",
                 precision: str = "highest") -> Sweep:
    """:func:`make_sweep`, one function per (sparsity pattern, method, rule, precision), so that repeated calls on
    problems of one pattern hit the jit cache of the kernels that take the sweep as a static argument."""
    pattern = np.packbits(np.asarray(model.J) != 0)
    key = (hashlib.sha1(pattern.tobytes() + str(model.num_variables).encode()).hexdigest(), method, rule, precision)
    if key not in _SWEEPS:
        _SWEEPS[key] = make_sweep(model, method, rule, precision)
    return _SWEEPS[key]


def split_couplings(J: jax.Array, parts: int) -> tuple[jax.Array, ...]:
    """J as ``parts`` bfloat16 arrays whose float32 sum approximates J: the leading 8 significant bits, then the
    next 8 of the remainder, ... (two parts keep ~16 bits, three the 24 of float32)."""
    pieces, rest = [], J.astype(jnp.float32)
    for _ in range(parts):
        piece = rest.astype(jnp.bfloat16)
        pieces.append(piece)
        rest = rest - piece.astype(jnp.float32)
    return tuple(pieces)


def spin_dot(spins: jax.Array, couplings: jax.Array, precision: str = "highest", spins_first: bool = True) -> jax.Array:
    """``spins @ couplings`` (or ``couplings @ spins`` when not ``spins_first``) where ``spins`` holds small
    integers (+-1, 0, +-2), at the field precision ``precision`` (see the module docstring): float32 products,
    the backend default, or bfloat16 parts of the couplings with float32 accumulation (the spins are exact in
    bfloat16)."""
    if precision == "highest":
        return dot(spins, couplings) if spins_first else dot(couplings, spins)
    if precision == "default":
        return jnp.matmul(spins, couplings) if spins_first else jnp.matmul(couplings, spins)
    operand = _bf16_operand()
    s = spins.astype(operand)
    total = None
    for part in reversed(split_couplings(couplings, 3 if precision == "bf16x3" else 2)):  # small parts first
        part = part.astype(operand)
        term = (jnp.matmul(s, part, preferred_element_type=jnp.float32) if spins_first
                else jnp.matmul(part, s, preferred_element_type=jnp.float32))
        total = term if total is None else total + term
    return total.astype(spins.dtype)


def _bf16_operand():
    """The operand type of the bfloat16 parts: bfloat16 with float32 accumulation where the backend has such
    products (GPU tensor cores); XLA's CPU has none, so there the bfloat16 values, exact in float32, are multiplied
    in float32 (the same numbers)."""
    return jnp.bfloat16 if jax.default_backend() != "cpu" else jnp.float32


def row_products(J: jax.Array, precision: str = "highest") -> Callable[..., jax.Array]:
    """``product(i, s_t) = J[i] @ s_t`` for spins held spin-major, s_t (N, ...), at the field precision
    ``precision`` (as :func:`spin_dot`): the sequential sweeps' local field of spin i over all chains; and
    ``product(i, s_t, rows)``, rows i .. i + rows - 1 at once, (rows, ...). J is split into its bfloat16 parts once,
    here, not per row, and each row product reads the spins once."""
    if precision in ("highest", "default"):
        def product(i, s_t, rows=None):
            if rows is None:
                return spin_dot(s_t, J[i], precision, spins_first=False)
            return spin_dot(s_t, jax.lax.dynamic_slice_in_dim(J, i, rows, 0), precision, spins_first=False)

        return product
    operand = _bf16_operand()
    parts = jnp.stack(split_couplings(J, 3 if precision == "bf16x3" else 2)[::-1]).astype(operand)  # small first

    def product(i, s_t, rows=None):
        block = parts[:, i] if rows is None else jax.lax.dynamic_slice_in_dim(parts, i, rows, 1)
        terms = jnp.matmul(block, s_t.astype(operand), preferred_element_type=jnp.float32)
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total.astype(s_t.dtype)

    return product


def pair_couplings(J: jax.Array, precision: str = "highest") -> jax.Array:
    """J[i+1, i] for i = 0 .. N-2 as :func:`row_products` sees it at ``precision`` (in the bfloat16 modes the sum
    of its parts): the coupling with which the sweeps in pairs correct spin i + 1's field for spin i's change, so
    the chain stays in detailed balance for the couplings the products use (with ``"default"`` on a GPU, TF32
    products, it is the float32 value: a mismatch at TF32's rounding)."""
    pair = jnp.diagonal(J, -1)
    if precision in ("highest", "default"):
        return pair
    return sum(part.astype(jnp.float32) for part in split_couplings(pair, 3 if precision == "bf16x3" else 2)[::-1])


def _dense_sweep(rule: str, precision: str = "highest") -> Sweep:
    """Sequential single-spin updates in order 0 .. N-1, each from its exact local field, computed afresh from the
    spins held spin-major (N, B): no field array is carried through the loop (on a CPU 1.5-3x faster than delayed,
    blocked field updates with the same flops, benchmarks/RESULTS.md), and the fields carry no rounding accumulated
    over the sweep. The spins are visited in pairs (i, i + 1): one product of the pair's two rows of J with the
    spins gives both fields before spin i's update, then spin i + 1's field gains J[i+1, i] (s'_i - s_i), the change
    spin i just made. The same dynamics (on integer couplings the same spins, bit for bit) in half the loop's
    iterations: on this project's CPU a sweep of N = 128 ran 1.2-1.5x faster at 32-1024 chains
    (benchmarks/results/dense_pairs_cpu_2026-12-06.txt); a small population's sweep is latency-bound, one loop
    iteration per visit. The correction's coupling is J[i+1, i] as the products see it (in the bfloat16 modes the
    sum of its parts), so the chain stays in detailed balance for the couplings the products use; with
    ``precision="default"`` on a GPU (TF32 products) it is the float32 value, a mismatch at TF32's rounding. Rounding
    differs from one product per spin (the correction is added to the pair's field), so trajectories on non-integer
    couplings can differ from those before this form (in a referee's check on a Wishart and an SK instance, no chain
    of 256-512 did)."""

    def sweep(key, model, spins, beta, extra_field=None):
        n = spins.shape[-1]
        batch = spins.shape[:-1]
        s_t = spins.reshape(-1, n).T
        h_t = (model.h[:, None] if extra_field is None
               else (model.h + jnp.broadcast_to(extra_field, spins.shape)).reshape(-1, n).T)
        noise_t = _noise(rule, key, s_t.shape, spins.dtype)
        beta = jnp.broadcast_to(jnp.asarray(beta, spins.dtype), batch).reshape(-1)
        row_product = row_products(model.J, precision)
        pair_coupling = pair_couplings(model.J, precision)

        def visit_pair(k, s_t):
            i = 2 * k
            old = jax.lax.dynamic_slice_in_dim(s_t, i, 2, 0)
            fields = jax.lax.dynamic_slice_in_dim(h_t, i, 2, 0) + row_product(i, s_t, 2)  # before spin i moves
            first = _update(rule, noise_t[i], old[0], fields[0], beta)
            second = _update(rule, noise_t[i + 1], old[1], fields[1] + pair_coupling[i] * (first - old[0]), beta)
            return jax.lax.dynamic_update_slice_in_dim(s_t, jnp.stack([first, second]), i, 0)

        if n >= 2:  # (a body slicing two rows cannot even be traced for a single spin)
            s_t = jax.lax.fori_loop(0, n // 2, visit_pair, s_t)
        if n % 2:  # the last spin of an odd N on its own
            s_t = s_t.at[n - 1].set(_update(rule, noise_t[n - 1], s_t[n - 1], h_t[n - 1] + row_product(n - 1, s_t),
                                            beta))
        return s_t.T.reshape(spins.shape)

    # no ``track``: any second output of the loop body (an energy change carried or stored per spin) costs 2.5-4x
    # per sweep on a CPU (the row product is then no longer fused into the update), more than recomputing E
    return Sweep("dense", rule, (), sweep, precision)


def _random_scan_sweep(rule: str) -> Sweep:
    """N single-spin updates at sites drawn uniformly at random, independently for each chain (random-scan
    Metropolis or heat bath). Each update reads its spin's row of J: O(N) per update, like ``dense``, but a row
    gathered per chain."""

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
                 extra_field: jax.Array | None = None, precision: str = "highest") -> jax.Array:
    """Local fields (..., len(members)) of one colour class ``block = (members, neighbours, table)``: one
    matrix product with the rows of J of its neighbours (at ``precision``, see :func:`spin_dot`), or on sparse
    graphs (``table`` given) a sum over each member's own few neighbours. ``extra_field`` (..., N) adds to h."""
    members, neighbours, table = block
    if table is None:
        nb = _index(neighbours)
        fields = model.h[members] + spin_dot(spins[..., nb], model.J[nb][:, _index(members)], precision)
    else:
        fields = model.h[members] + jnp.sum(model.J[members[:, None], table] * spins[..., table], axis=-1)
    return fields if extra_field is None else fields + extra_field[..., members]


def _block_sweep(rule: str, blocks, precision: str = "highest") -> Sweep:
    """Colour classes updated one after another, each from its local fields: :func:`_colour_ordered_sweep` when
    every class's fields are one matrix product, else each class gathered from the spins (:func:`block_fields`)."""
    if all(table is None for _, _, table in blocks):
        apply, run = _colour_ordered_sweep(rule, blocks, precision)
        return Sweep("block", rule, blocks, apply, precision, run, SWEEPS_PER_DRAW,
                     functools.partial(run, track=True) if precision == "highest" else None)

    def sweep(key, model, spins, beta, extra_field=None):
        beta = jnp.asarray(beta, spins.dtype)[..., None]
        keys = jax.random.split(key, len(blocks))
        for k, block in zip(keys, blocks):
            members = block[0]
            fields = block_fields(model, spins, block, extra_field, precision)
            noise = _noise(rule, k, fields.shape, spins.dtype)
            spins = spins.at[..., members].set(_update(rule, noise, spins[..., members], fields, beta))
        return spins

    return Sweep("block", rule, blocks, sweep, precision)


def _index(rows: np.ndarray):
    """A static slice for a contiguous run of indices (so that XLA slices rather than gathers), else the indices;
    either one indexes one axis (``J[_index(a)][:, _index(b)]`` is the block ``J[np.ix_(a, b)]``)."""
    if rows.size and np.all(np.diff(rows) == 1):
        return slice(int(rows[0]), int(rows[-1]) + 1)
    return rows


class ColourLayout:
    """Spins held spin-major in colour order: one array (m_c, ...) per colour class ``c`` of ``blocks`` (its
    ``m_c`` members first, any chain axes after). Each class's neighbours are then a contiguous run of rows (or a
    row gather) and its local fields ``h + J[neighbours, class]^T @ s[neighbours]`` one product without minor-axis
    gathers or scatters (twice as fast on a CPU as indexing the spin axis of (B, N) spins). Used by the block sweep
    (:func:`_colour_ordered_sweep`) and by PIQMC's block path, which hold their spins in it across sweeps."""

    def __init__(self, blocks: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]]):
        order = np.concatenate([members for members, _, _ in blocks])
        self.position = np.argsort(order)  # row of each spin in colour order
        self.bounds = np.cumsum([0] + [len(members) for members, _, _ in blocks])
        self.in_order = np.array_equal(order, np.arange(order.size))
        self.plans = []
        for members, neighbours, _ in blocks:
            rows = np.sort(self.position[neighbours])
            source = None  # where the neighbours' rows are: (class, start, stop) when inside one class, else rows
            if rows.size and rows[-1] - rows[0] + 1 == rows.size:
                c = int(np.searchsorted(self.bounds, rows[0], side="right")) - 1
                if rows[-1] < self.bounds[c + 1]:
                    source = (c, int(rows[0] - self.bounds[c]), int(rows[-1] + 1 - self.bounds[c]))
            self.plans.append((members, order[rows], rows if source is None else source))

    def __len__(self):
        return len(self.plans)

    def split(self, s_t: jax.Array) -> list[jax.Array]:
        """Spin-major spins (N, ...) -> one (m_c, ...) array per class."""
        return [s_t[self.bounds[c]:self.bounds[c + 1]] if self.in_order else s_t[members]
                for c, (members, _, _) in enumerate(self.plans)]

    def join(self, classes: Sequence[jax.Array]) -> jax.Array:
        """The inverse of :meth:`split`."""
        s_t = jnp.concatenate(classes, axis=0)
        return s_t if self.in_order else s_t[self.position]

    def couplings(self, model: IsingModel) -> list[tuple[jax.Array, jax.Array]]:
        """Per class: its fields' h (m_c, 1) and J[neighbours, class]^T (m_c, n_c), sliced once per call."""
        return [(model.h[_index(members)][:, None], model.J[_index(neighbours)][:, _index(members)].T)
                for members, neighbours, _ in self.plans]

    def neighbours(self, classes: Sequence[jax.Array], c: int) -> jax.Array | None:
        """The rows (n_c, ...) of class ``c``'s neighbours (None when it has none)."""
        _, neighbours, source = self.plans[c]
        if not neighbours.size:
            return None
        if isinstance(source, tuple):
            return classes[source[0]][source[1]:source[2]]
        return jnp.concatenate(classes, axis=0)[source]

    def fields(self, coupling: Sequence[tuple[jax.Array, jax.Array]], c: int, s_nb: jax.Array | None,
               precision: str = "highest") -> jax.Array:
        """Local fields (m_c, C) of class ``c`` from its neighbours' rows ``s_nb`` (n_c, C) (None: h alone)."""
        h, J_t = coupling[c]
        if s_nb is None:
            return h
        return h + spin_dot(s_nb, J_t, precision, spins_first=False)


def _colour_ordered_sweep(rule: str, blocks, precision: str = "highest") -> tuple[SweepFn, Callable[..., jax.Array]]:
    """The block sweep in the :class:`ColourLayout`, one (m_c, B) array per class. Returns ``(apply, run)``:
    ``apply`` makes one sweep, its thresholds drawn as in the (B, N) layout (a key makes the decisions of the
    class-by-class update); ``run`` makes K > 1 sweeps in this layout, the thresholds of all K drawn per class
    before them (:func:`uniform_shaped`, (K, m_c, B): XLA vectorises the generator when it is not fused into the
    update -- about a third of the time of a sweep on a CPU)."""
    layout = ColourLayout(blocks)

    def enter(spins, extra_field):
        """(..., N) spins -> per-class (m_c, B) arrays, and the extra field's per-class (m_c, B) parts."""
        n = spins.shape[-1]
        classes = layout.split(spins.reshape(-1, n).T)
        if extra_field is None:
            return classes, None
        return classes, layout.split(jnp.broadcast_to(extra_field, spins.shape).reshape(-1, n).T)

    def leave(classes, shape):
        return layout.join(classes).T.reshape(shape)

    def class_fields(classes, c, coupling, extra):
        fields = layout.fields(coupling, c, layout.neighbours(classes, c), precision)
        return fields if extra is None else fields + extra[c]

    def per_chain(beta, batch):
        return jnp.broadcast_to(beta, batch).reshape(-1)

    def update(classes, c, noise, fields, beta, change):
        """Class ``c`` updated; with ``change`` (B,) given, the energy change of its accepted updates added."""
        new = _update(rule, noise, classes[c], fields, beta)
        if change is not None:
            change = change + jnp.sum((new - classes[c]) * fields, axis=0)
        classes[c] = new
        return change

    def finish(classes, change, spins):
        spins_out = leave(classes, spins.shape)
        return spins_out if change is None else (spins_out, change.reshape(spins.shape[:-1]))

    def apply(key, model, spins, beta, extra_field=None, track=False):
        classes, extra = enter(spins, extra_field)
        coupling = layout.couplings(model)
        beta = per_chain(jnp.asarray(beta, spins.dtype), spins.shape[:-1])
        change = jnp.zeros(classes[0].shape[1:], spins.dtype) if track else None
        for c, k in enumerate(jax.random.split(key, len(layout))):
            fields = jnp.broadcast_to(class_fields(classes, c, coupling, extra), classes[c].shape)
            noise = _noise(rule, k, fields.shape[::-1], spins.dtype).T
            change = update(classes, c, noise, fields, beta, change)
        return finish(classes, change, spins)

    def run(key, model, spins, betas, extra_field=None, track=False):
        count, batch = betas.shape[0], spins.shape[:-1]
        if count == 1:
            return apply(key, model, spins, betas[0], extra_field, track)
        classes, extra = enter(spins, extra_field)
        coupling = layout.couplings(model)
        chains = classes[0].shape[1]
        betas = jax.vmap(per_chain, (0, None))(jnp.asarray(betas, spins.dtype), batch)  # (K, B)
        noise = [_thresholds(rule, uniform_shaped(k, (count, len(members), chains), spins.dtype))
                 for k, (members, _, _) in zip(jax.random.split(key, len(layout)), layout.plans)]

        def one_sweep(carry, inputs):
            noise, beta = inputs
            classes, change = list(carry[0]), carry[1]
            for c in range(len(layout)):
                change = update(classes, c, noise[c], class_fields(classes, c, coupling, extra), beta, change)
            return (tuple(classes), change), None

        change = jnp.zeros((chains,), spins.dtype) if track else None
        (classes, change), _ = jax.lax.scan(one_sweep, (tuple(classes), change), (tuple(noise), betas))
        return finish(list(classes), change, spins)

    return apply, run
