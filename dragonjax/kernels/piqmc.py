"""Path-integral quantum Monte Carlo of the transverse-field Ising model
``H = -A sum_i sigma^x_i + B E(sigma^z)``.

Suzuki-Trotter with P slices (periodic imaginary time) maps the quantum partition function at inverse
temperature beta to a classical one over worldlines s (..., P, N):

    W(s) ∝ exp( -(beta B / P) sum_k E(s^k) + K_perp sum_k sum_i s_i^k s_i^{k+1} ),
    K_perp = -1/2 ln tanh(beta A / P),

exact as P -> infinity with O(1/P^2) Trotter error. Two moves, both exact for W:

- local moves: the classical sweep of :mod:`dragonjax.kernels.sweeps` on every slice, at
  ``beta_slice = beta B / P`` with the imaginary-time neighbours entering as an extra field
  ``-(K_perp / beta_slice) (s^{k-1} + s^{k+1})``; even slices, then odd slices (they do not interact);
- worldline cluster moves (Swendsen-Wang along imaginary time): bonds between equal neighbouring slices
  of one spin are activated with probability 1 - exp(-2 K_perp), and each resulting segment of the
  worldline is flipped with the Metropolis probability of its problem-energy change. Spins of one colour
  class of the coupling graph are treated together (a single spin at a time for dense problems).

On block-colourable problems (lattices, bipartite and layered nets) both moves run with the worldlines held
class by class, (m_c, P, chains) (:class:`_Worldlines`), for a whole anneal.

Estimators: ``problem_energy`` = <(1/P) sum_k E(s^k)>; ``sigma_x`` from the inter-slice estimator
<sigma^x_i> = < tanh(beta A / P) if s_i^k = s_i^{k+1} else coth(beta A / P) >.
"""
from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ..ising import IsingModel, ProblemError
from .annealing import energies
from . import progress as _progress
from .population import family_statistics, reweight_and_resample
from .rng import uniform_shaped
from .sweeps import (ColourLayout, SweepFn, _index, _thresholds, _update, block_fields, make_sweep, random_spins,
                     row_products)

__all__ = ["k_perp", "piqmc_sweep", "worldline_cluster_sweep", "quantum_annealing", "thermal",
           "sigma_x_estimator", "QuantumPAResult", "quantum_population_annealing", "check_trotter_slices"]


def check_trotter_slices(p: float) -> int:
    """``p`` as an int, or a ProblemError unless it is an even integer >= 2."""
    if int(p) != p or p < 2 or p % 2:
        raise ProblemError(f"trotter_slices must be an even integer >= 2, got {p!r}")
    return int(p)


def k_perp(beta: ArrayLike, gamma: ArrayLike, trotter_slices: ArrayLike) -> jax.Array:
    """Imaginary-time coupling K_perp = -1/2 ln tanh(beta gamma / P)."""
    return -0.5 * jnp.log(jnp.tanh(beta * gamma / trotter_slices))


def _flip_segments(randomness, spins, fields, beta_slice, by_label=False):
    """Swendsen-Wang on the imaginary-time rings of spins (..., P, m) with problem fields (..., P, m).

    Bonds between equal neighbours in imaginary time are kept with probability 1 - exp(-2 K_perp); each segment
    of kept bonds (labelled 0, 1, ... along the ring, the one across the periodic boundary joined to the first)
    flips with the Metropolis probability of its field energy, one uniform per label. ``randomness`` = (keep_bond,
    u_flip) from :func:`_segment_randomness`, each of the spins' shape: bond k joins slices k and k + 1 (when equal)
    where keep_bond, label j flips on u_flip[..., j, :]. Every array keeps the ring axis m innermost: laid out
    (..., m, P) instead, the move ran four times slower on a CPU.

    Two forms make the same decisions (up to the rounding of the segments' sums). By default the per-label sums and
    the label lookup are P passes of elementwise work, vectorised over the rings: the fast form for many rings at
    once (a colour class's). With ``by_label`` the segments' field energies are one product of the one-hot labels
    (..., P labels, P slices, m) with s f, and each slice reads its segment's energy and uniform back by its label
    (``take_along_axis``): the fast form for one spin's rings (P, chains), as the dense cluster move visits them
    (benchmarks/RESULTS.md, 2026-12-06)."""
    p = spins.shape[-2]
    keep_bond, u_flip = randomness
    active = (spins == jnp.roll(spins, -1, axis=-2)) & keep_bond
    broken = (~active).astype(jnp.int32)
    segment = jnp.concatenate([jnp.zeros_like(broken[..., :1, :]), jnp.cumsum(broken[..., :-1, :], axis=-2)],
                              axis=-2)
    # a live bond across the periodic boundary joins the last segment to the first
    segment = jnp.where(active[..., -1:, :] & (segment == segment[..., -1:, :]), 0, segment)
    x = spins * fields
    # flipping a segment changes beta_slice * E by -2 beta_slice sum_k s f
    if by_label:
        one_hot = (segment[..., None, :, :] == jnp.arange(p)[:, None, None]).astype(x.dtype)  # (..., labels, P, m)
        segment_field_energy = jnp.einsum("...lkm,...km->...lm", one_hot, x, precision=jax.lax.Precision.HIGHEST)
        energy = jnp.take_along_axis(segment_field_energy, segment, axis=-2)  # each slice: its segment's
        flip = jnp.log(jnp.take_along_axis(u_flip, segment, axis=-2)) < 2.0 * beta_slice * energy
        return jnp.where(flip, -spins, spins)
    in_segment = [segment == j for j in range(p)]
    segment_field_energy = jnp.stack([jnp.sum(jnp.where(mask, x, 0.0), axis=-2) for mask in in_segment],
                                     axis=-2)  # (..., P labels, m)
    flip_segment = jnp.log(u_flip) < 2.0 * beta_slice * segment_field_energy
    flip = jnp.any(jnp.stack([mask & flip_segment[..., j:j + 1, :] for j, mask in enumerate(in_segment)]), axis=0)
    return jnp.where(flip, -spins, spins)


def _segment_randomness(key, shape, coupling, dtype):
    """The random numbers of :func:`_flip_segments` for spins of ``shape``: which bonds are kept (probability
    1 - exp(-2 K_perp), ``coupling`` broadcasting against ``shape``; booleans, a quarter of the memory of their
    uniforms) and the flip uniforms. Drawn with the generator laid out in the output's shape (:func:`uniform_shaped`,
    its fast form, which needs an even leading axis: an odd one is drawn one longer and cut)."""
    k_bond, k_flip = jax.random.split(key)
    padded = (shape[0] + shape[0] % 2, *shape[1:])
    u_bond, u_flip = (uniform_shaped(k, padded, dtype)[:shape[0]] for k in (k_bond, k_flip))
    return u_bond < -jnp.expm1(-2.0 * coupling), u_flip


def worldline_cluster_sweep(key: jax.Array, model: IsingModel, sweep: SweepFn, spins: jax.Array,
                            beta_slice: ArrayLike, coupling: ArrayLike,
                            extra_field: jax.Array | None = None) -> jax.Array:
    """One cluster update of every worldline; spins (..., P, N), ``extra_field`` (..., N) per replica."""
    extra = None if extra_field is None else extra_field[..., None, :]
    blocks = getattr(sweep, "blocks", ())  # a Sweep's colour classes (any other sweep function: spin by spin)
    precision = getattr(sweep, "precision", "highest")
    if blocks:  # spins of one colour class share no coupling: their worldlines are updated together
        for k, block in zip(jax.random.split(key, len(blocks)), blocks):
            members = _index(block[0])  # a static slice when the class is a contiguous run (no gather/scatter)
            fields = block_fields(model, spins, block, extra, precision)
            rings = spins[..., members]
            randomness = _segment_randomness(k, rings.shape, coupling, spins.dtype)
            spins = spins.at[..., members].set(_flip_segments(randomness, rings, fields, beta_slice))
        return spins

    return _spin_by_spin(key, model, spins, beta_slice, coupling, extra_field, precision)


def _spin_by_spin(key, model, spins, beta_slice, coupling, extra_field=None, precision="highest"):
    """The worldline cluster move of every spin in turn, 0 .. N-1, each from its current fields: one product of its
    row of J with the spins per spin, and its rings flipped by :func:`_flip_segments`'s ``by_label`` form.

    The worldlines are held (N, P, chains): the product is one matrix-vector product over (P, chains), and a spin's
    rings (P, chains) are many rings with the chains innermost (the fast layout of :func:`_flip_segments`). The
    uniforms of every spin are drawn before the loop (drawn inside it, the generator runs unvectorised and the
    move took ~1.3x longer). Visiting the spins in pairs, as the dense sweep does (one product of two rows, the
    second spin's fields corrected by the first's change), was measured and not kept: with these flips it was 1.7x
    slower at 64 chains, and with the masked flips no faster (benchmarks/RESULTS.md, 2026-12-06)."""
    shape = spins.shape
    p, n = shape[-2:]
    s_t = spins.reshape(-1, p, n).transpose(2, 1, 0)
    h_t = (model.h[:, None, None] if extra_field is None else  # (N, 1, chains): the same in every slice
           (model.h + jnp.broadcast_to(extra_field, shape[:-2] + (n,))).reshape(-1, n).T[:, None, :])
    per_chain = shape[:-2] + (1, 1)  # beta_slice and coupling: scalars or broadcastable per chain
    beta_slice, coupling = (jnp.broadcast_to(jnp.asarray(x, spins.dtype), per_chain).reshape(1, -1)
                            for x in (beta_slice, coupling))
    keep_bond, u_flip = _segment_randomness(key, s_t.shape, coupling, spins.dtype)
    row_product = row_products(model.J, precision)

    def one_spin(i, s_t):
        fields = h_t[i] + row_product(i, s_t.reshape(n, -1)).reshape(p, -1)
        return s_t.at[i].set(_flip_segments((keep_bond[i], u_flip[i]), s_t[i], fields, beta_slice, by_label=True))

    return jax.lax.fori_loop(0, n, one_spin, s_t).transpose(2, 1, 0).reshape(shape)


def piqmc_sweep(key: jax.Array, model: IsingModel, sweep: SweepFn, spins: jax.Array, beta_slice: ArrayLike,
                coupling: ArrayLike, extra_field: jax.Array | None = None) -> jax.Array:
    """Local sweeps of even then odd slices, then a worldline cluster sweep. spins (..., P, N);
    ``extra_field`` (..., N) adds to h in every slice. On problems whose colour classes each take their fields
    in one product, the sweep runs in the :class:`_Worldlines` layout."""
    worldlines = _Worldlines.of(sweep)
    if worldlines is not None:
        state = worldlines.enter(model, spins, extra_field)
        return worldlines.leave(worldlines.sweep(key, state, beta_slice, coupling), spins.shape)
    keys = jax.random.split(key, 3)
    for parity in (0, 1):
        neighbours = jnp.roll(spins, 1, axis=-2) + jnp.roll(spins, -1, axis=-2)
        field = -(coupling / beta_slice) * neighbours[..., parity::2, :]
        if extra_field is not None:
            field = field + extra_field[..., None, :]
        new = sweep(keys[parity], model, spins[..., parity::2, :], beta_slice, field)
        spins = spins.at[..., parity::2, :].set(new)
    return worldline_cluster_sweep(keys[2], model, sweep, spins, beta_slice, coupling, extra_field)


class _Worldlines:
    """The PIQMC sweep of a colour-ordered block sweep (``Sweep.method == "block"``, every class's fields one
    product) with the worldlines held in the :class:`~dragonjax.kernels.sweeps.ColourLayout`: one array
    (m_c, P, chains) per colour class, imaginary time in the middle and the chains innermost. Both moves then work
    on whole classes without transposes or gathers: the local move of the slices of one parity is a product of
    the class's couplings with its neighbours' rows of those slices, the cluster move a product over all slices
    and :func:`_flip_segments` on rings (P, chains) -- its fast layout. The drivers enter the layout once per
    anneal (:func:`quantum_annealing`) or per sweep (:func:`piqmc_sweep`). The same moves, in the same order, as
    the generic path (local moves of even then odd slices, class by class, then the cluster move class by class),
    with the random numbers drawn per class and sweep ahead of the moves."""

    def __init__(self, sweep):
        self.rule, self.precision, self.layout = sweep.rule, sweep.precision, ColourLayout(sweep.blocks)

    @classmethod
    def of(cls, sweep) -> "_Worldlines | None":
        blocks = getattr(sweep, "blocks", ())
        if getattr(sweep, "method", None) != "block" or not all(table is None for _, _, table in blocks):
            return None
        return cls(sweep)

    def enter(self, model, spins, extra_field=None):
        """(..., P, N) worldlines -> (classes (m_c, P, C), extra field per class (m_c, 1, C) or None, the
        couplings, the batch shape)."""
        *batch, p, n = spins.shape
        classes = self.layout.split(spins.reshape(-1, p, n).transpose(2, 1, 0))
        extra = None
        if extra_field is not None:
            extra_t = jnp.broadcast_to(extra_field, (*batch, n)).reshape(-1, n).T[:, None, :]
            extra = self.layout.split(extra_t)
        return tuple(classes), extra, self.layout.couplings(model), tuple(batch)

    def leave(self, state, shape):
        return self.layout.join(list(state[0])).transpose(2, 1, 0).reshape(shape)

    def per_chain(self, x, batch, dtype):
        """A per-chain parameter as the other paths take it (broadcasting against (..., 1, 1)) -> (1, 1, C)."""
        return jnp.broadcast_to(jnp.asarray(x, dtype), (*batch, 1, 1)).reshape(1, 1, -1)

    def sweep(self, key, state, beta_slice, coupling):
        """One PIQMC sweep of the worldlines in ``state`` (from :meth:`enter`); returns the new state."""
        classes, extra, couplings, batch = state
        classes = list(classes)
        dtype = classes[0].dtype
        _, p, chains = classes[0].shape
        beta_slice, coupling = (self.per_chain(x, batch, dtype) for x in (beta_slice, coupling))
        keys = jax.random.split(key, 2 * len(self.layout))
        # the thresholds of both parities' local moves, (2, m_c, P / 2, C) per class, drawn before the moves
        noise = [_thresholds(self.rule, uniform_shaped(k, (2, c.shape[0], p // 2, chains), dtype))
                 for k, c in zip(keys[:len(self.layout)], classes)]
        time_field = -coupling / beta_slice
        for parity in (0, 1):
            for c in range(len(self.layout)):
                size = classes[c].shape[0]
                pairs = classes[c].reshape(size, p // 2, 2, chains)  # slice 2j + q at [:, j, q]
                mine, other = pairs[:, :, parity], pairs[:, :, 1 - parity]
                # slice 2j's imaginary-time neighbours are odd slices j - 1 and j; slice 2j + 1's even j and j + 1
                time_neighbours = other + jnp.roll(other, 1 if parity == 0 else -1, axis=1)
                s_nb = self.layout.neighbours(classes, c)
                if s_nb is not None:
                    s_nb = s_nb.reshape(s_nb.shape[0], p // 2, 2, chains)[:, :, parity].reshape(s_nb.shape[0], -1)
                fields = self.layout.fields(couplings, c, s_nb, self.precision)
                fields = (fields[:, :, None] if s_nb is None else fields.reshape(size, -1, chains))
                fields = fields + time_field * time_neighbours
                if extra is not None:
                    fields = fields + extra[c]
                new = _update(self.rule, noise[c][parity], mine, fields, beta_slice)
                classes[c] = jnp.stack([new, other] if parity == 0 else [other, new], axis=2).reshape(size, p, chains)
        for c, k in enumerate(keys[len(self.layout):]):
            size = classes[c].shape[0]
            s_nb = self.layout.neighbours(classes, c)
            fields = self.layout.fields(couplings, c, None if s_nb is None else s_nb.reshape(s_nb.shape[0], -1),
                                        self.precision)
            fields = jnp.broadcast_to(fields, (size, p * chains)).reshape(size, p, chains)
            if extra is not None:
                fields = fields + extra[c]
            randomness = _segment_randomness(k, classes[c].shape, coupling, dtype)
            classes[c] = _flip_segments(randomness, classes[c], fields, beta_slice)
        return tuple(classes), extra, couplings, batch


def sigma_x_estimator(spins: jax.Array, beta: ArrayLike, gamma: ArrayLike) -> jax.Array:
    """Per-configuration estimate of <(1/N) sum_i sigma^x_i> from slices (..., P, N)."""
    p = spins.shape[-2]
    t = jnp.tanh(beta * gamma / p)
    same = spins == jnp.roll(spins, -1, axis=-2)
    return jnp.mean(jnp.where(same, t, 1.0 / t), axis=(-2, -1))


def problem_energy(model, spins, extra_field=None):
    """(1/P) sum_k E(s^k) for spins (..., P, N)."""
    extra = None if extra_field is None else extra_field[..., None, :]
    return jnp.mean(energies(model, spins, extra), axis=-1)


def _log_sinh(x):
    return x + jnp.log1p(-jnp.exp(-2.0 * x)) - np.log(2.0)


def quantum_annealing(key: jax.Array, model: IsingModel, sweep: SweepFn, spins: jax.Array, beta: ArrayLike,
                      a_schedule: ArrayLike, b_schedule: ArrayLike, extra_field: jax.Array | None = None,
                      progress: bool = False) -> jax.Array:
    """Simulated quantum annealing: one PIQMC sweep at each (A_k, B_k) of the schedule, fixed beta.
    spins (R, P, N) -> final worldlines (R, P, N). ``progress``: see :mod:`~dragonjax.kernels.progress`."""
    p = spins.shape[-2]
    dtype = spins.dtype
    a_schedule = jnp.asarray(a_schedule, dtype)
    b_schedule = jnp.asarray(b_schedule, dtype)

    keys = jax.random.split(key, a_schedule.shape[0])
    worldlines = _Worldlines.of(sweep)
    if worldlines is not None:  # the worldlines stay in the colour layout for the whole anneal
        classes, *fixed = worldlines.enter(model, spins, extra_field)

        def layout_step(classes, inputs):
            k, a, b = inputs
            return worldlines.sweep(k, (classes, *fixed), beta * b / p, k_perp(beta, a, p))[0], None

        classes, _ = _progress.scan(layout_step, classes, (keys, a_schedule, b_schedule), progress)
        return worldlines.leave((classes,), spins.shape)

    def step(spins, inputs):
        k, a, b = inputs
        beta_slice = beta * b / p
        return piqmc_sweep(k, model, sweep, spins, beta_slice, k_perp(beta, a, p), extra_field), None

    spins, _ = _progress.scan(step, spins, (keys, a_schedule, b_schedule), progress)
    return spins


def thermal(model: IsingModel, gamma: float, beta: float, trotter_slices: int = 32, num_sweeps: int = 2000,
            num_replicas: int = 64, seed: int = 0, burn_in: float = 0.25, method: str = "auto") -> dict:
    """Thermal averages of H = -gamma sum sigma^x + E(sigma^z) at inverse temperature beta by PIQMC.

    ``num_replicas`` independent chains of ``num_sweeps`` sweeps; the first ``burn_in`` fraction is
    discarded; each chain's time average is one sample, so the standard errors are over independent
    chains. Returns ``problem_energy``, ``sigma_x``, ``energy`` (<H>) and their ``*_error`` s."""
    p = check_trotter_slices(trotter_slices)
    for name, value in (("gamma", gamma), ("beta", beta)):
        if not (np.isfinite(value) and value > 0):
            raise ProblemError(f"{name} must be positive and finite, got {value}")
    if int(num_sweeps) != num_sweeps or num_sweeps < 2:
        raise ProblemError(f"num_sweeps must be an integer >= 2, got {num_sweeps!r}")
    if not 0 <= burn_in < 1:
        raise ProblemError(f"burn_in must be a fraction in [0, 1), got {burn_in}")
    sweep = make_sweep(model, method)
    start = int(burn_in * num_sweeps)
    out = _thermal_run(jax.random.key(seed), model, float(gamma), float(beta), sweep, p, int(num_sweeps), start,
                       int(num_replicas))
    e_p, s_x = (np.asarray(x, np.float64) for x in out)
    n = model.num_variables
    energy = e_p - gamma * n * s_x

    def mean_and_error(x):
        return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))

    result = {}
    for name, x in (("problem_energy", e_p), ("sigma_x", s_x), ("energy", energy)):
        result[name], result[f"{name}_error"] = mean_and_error(x)
    return result


def _thermal_run(key, model, gamma, beta, sweep, p, num_sweeps, start, num_replicas):
    @jax.jit
    def run(key, model):
        k_init, k_run = jax.random.split(key)
        spins = random_spins(k_init, (num_replicas, p, model.num_variables), model.dtype)
        beta_slice = jnp.asarray(beta / p, model.dtype)
        coupling = k_perp(jnp.asarray(beta, model.dtype), gamma, p)

        def step(carry, inputs):
            spins, sums = carry
            k, t = inputs
            spins = piqmc_sweep(k, model, sweep, spins, beta_slice, coupling)
            take = (t >= start).astype(model.dtype)
            sums = (sums[0] + take * problem_energy(model, spins),
                    sums[1] + take * sigma_x_estimator(spins, beta, gamma))
            return (spins, sums), None

        zeros = jnp.zeros(num_replicas, model.dtype)
        (_, (e, x)), _ = jax.lax.scan(step, (spins, (zeros, zeros)),
                                      (jax.random.split(k_run, num_sweeps), jnp.arange(num_sweeps)))
        count = num_sweeps - start
        return e / count, x / count

    return run(key, model)


class QuantumPAResult(NamedTuple):
    spins: jax.Array  # (R, P, N) final worldlines
    log_q: jax.Array  # ln Q per Gamma step
    log_z_ratio: jax.Array  # ln Z_P(gamma_final) - ln Z_P(gamma_start) of the Trotter model
    num_families: jax.Array
    rho_t: jax.Array


def quantum_population_annealing(key: jax.Array, model: IsingModel, sweep: SweepFn, spins: jax.Array,
                                 beta: ArrayLike, gammas: ArrayLike,
                                 sweeps_per_step: int = 1, equilibration_sweeps: int = 100,
                                 resampling: str = "systematic", progress: bool = False) -> QuantumPAResult:
    """Population annealing in the transverse field at fixed beta (Gamma decreasing along ``gammas``).

    The population of worldlines (R, P, N) is first equilibrated at ``gammas[0]``. Each step reweights by
    W(Gamma')/W(Gamma) = exp(dK_perp sum_{k,i} s_i^k s_i^{k+1} + N P/2 ln[sinh(2 beta Gamma'/P) /
    sinh(2 beta Gamma/P)]), resamples with :func:`~dragonjax.kernels.population.reweight_and_resample` (the move the
    classical population annealing makes) and sweeps."""
    r, p, n = spins.shape
    dtype = spins.dtype
    gammas = jnp.asarray(gammas, dtype)
    beta = jnp.asarray(beta, dtype)
    beta_slice = beta / p

    def equilibrate(spins, k):
        return piqmc_sweep(k, model, sweep, spins, beta_slice, k_perp(beta, gammas[0], p)), None

    key, k_eq = jax.random.split(key)
    spins, _ = jax.lax.scan(equilibrate, spins, jax.random.split(k_eq, equilibration_sweeps))

    def step(carry, inputs):
        spins, family = carry
        k, gamma, gamma_next = inputs
        bonds = jnp.sum(spins * jnp.roll(spins, -1, axis=-2), axis=(-2, -1))
        d_coupling = k_perp(beta, gamma_next, p) - k_perp(beta, gamma, p)
        log_norm = 0.5 * n * p * (_log_sinh(2 * beta_slice * gamma_next) - _log_sinh(2 * beta_slice * gamma))
        k_res, k_sweep = jax.random.split(k)
        spins, family, log_q = reweight_and_resample(k_res, spins, family, d_coupling * bonds + log_norm, resampling)
        coupling = k_perp(beta, gamma_next, p)
        for kk in jax.random.split(k_sweep, sweeps_per_step):
            spins = piqmc_sweep(kk, model, sweep, spins, beta_slice, coupling)
        return (spins, family), log_q

    keys = jax.random.split(key, gammas.shape[0] - 1)
    (spins, family), log_q = _progress.scan(step, (spins, jnp.arange(r)), (keys, gammas[:-1], gammas[1:]), progress)
    stats = family_statistics(family, r)
    return QuantumPAResult(spins, log_q, jnp.sum(log_q), stats["num_families"], stats["rho_t"])
