"""Annealer-assisted training of an Ising network (DESIGN section 3): strong or weak nudge.

For each mini-batch:

1. free phase: the sampler returns R states per input; of the M lowest distinct ones (M = ``num_negatives``),
   those whose decoded label differs from y are the *wrong-label states*, the negatives of the update;
2. nudged phase: the output clamped to t(y) (strong nudge) or pulled towards it by ``nudge * sum (1 - o t)/2``
   (weak nudge); the lowest state found is the *correct* state;
3. update: minimise ``L = E(s_correct) - sum_k w_k E(s_wrong,k)`` with the states held fixed (w uniform, or
   Boltzmann at the sampler's final beta, over the wrong-label states; with none the best free state is the
   negative), by the gradient of the network energy -- the contrastive Hebbian rule,
   :meth:`~dragonjax.nn.IsingNetwork.contrastive_gradient`, equal to ``jax.grad`` of L but summed over the
   batch in a fixed order -- and Adam (or any optax optimiser given).

The per-step statistic ``wrong_label_states`` counts these negatives. It is not the Hydra heads of
:func:`dragonjax.analysis.heads` (distinct wrong-label *local minima* within an energy window of the lowest
state, among independent anneals): it is capped by M, its states are not quenched, and with a population
sampler its reads are not independent.

``beta_units``: the SA/PA schedule's beta in absolute units (1 / energy unit; the default) or in units of
1 / sigma (``"local-field"``), sigma = sqrt(mean_i [sum_j J_ij^2 + (h_i + f_i)^2]) the rms local field of the
batch's conditioned problems at the current weights (:func:`dragonjax.ising.local_field_scale`): training grows
the couplings, so a fixed absolute range anneals ever colder relative to the problem; in local-field units it does not.

With ``active_layers = k`` only a window of k consecutive spin layers is sampled; the other layers are held
at the deterministic pass and enter as fields. The window slides by one layer per step. The sampler then
never receives more than the window's spins, which must not exceed ``max_variables``.

The trainer is the pure pair ``init`` / ``step`` of :mod:`dragonjax.train.core` (``step`` one compiled
function with a JAX sampler; it runs eagerly with a ``dimod.Sampler``, which is called from the host);
``fit`` and ``evaluate`` are thin wrappers over the shared loop of :mod:`dragonjax.train.ensemble`.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import dimod
import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
import optax
from jax.typing import ArrayLike

from ..data import Dataset
from ..ising import ProblemError, check_memory, local_field_scale
from ..kernels import beta_schedule, cached_sweep
from ..nn import IsingNetwork
from .core import (TrainState, adam_init, apply_gradients, base_hyperparameters, check_parametrisation,
                   check_schedule_name, compiled, learning_rate_multipliers, scalar_hyper)
from .phases import SamplerStats, phase_sampler

__all__ = ["AnnealerTrainer", "AnnealerStepInfo", "BETA_UNITS", "NEGATIVE_PHASES", "NUDGED_PHASES", "Negatives",
           "WEIGHTINGS", "select_negatives"]


class AnnealerStepInfo(NamedTuple):
    """Metrics of one step (per example unless noted)."""
    loss: jax.Array  # scalar: mean of E(correct) - sum_k w_k E(negative_k)
    correct: jax.Array  # (B,) the lowest free state decodes to y (before the update)
    wrong_label_states: jax.Array  # (B,) how many of the M negatives have a wrong label
    gap: jax.Array  # (B,) E(lowest wrong-label negative) - E(correct state); nan without one


WEIGHTINGS = ("uniform", "boltzmann")
BETA_UNITS = ("absolute", "local-field")
NUDGED_PHASES = ("anneal", "quench", "reverse")
NEGATIVE_PHASES = ("free", "clamped")


class Negatives(NamedTuple):
    """The negatives of one mini-batch's update (see :func:`select_negatives`)."""
    states: jax.Array  # (B, M, n): the M lowest distinct free states, lowest first (padding: not distinct)
    weights: jax.Array  # (B, M): w_k >= 0 summing to 1
    wrong_label_states: jax.Array  # (B,): how many of the M have a wrong label
    first_wrong_label: jax.Array  # (B,): index of the lowest wrong-label state, -1 if none
    energies: jax.Array  # (B, M)


def select_negatives(states: jax.Array, energies: jax.Array, labels: jax.Array, y: jax.Array, num_negatives: int,
                     weighting: str = "uniform", beta: ArrayLike | None = None) -> Negatives:
    """From R sampled states (B, R, n) with their energies and decoded labels (B, R) keep the M =
    ``num_negatives`` lowest *distinct* ones; the negatives of the update are those whose label is not y
    (B,), weighted uniformly or by Boltzmann weights exp(-beta E) at inverse temperature ``beta`` (1 / energy
    unit; required for ``weighting="boltzmann"``: the sampler's final beta, DESIGN section 3). With no
    wrong-label state the lowest state gets weight 1.

    A read is a duplicate when an identical state precedes it in energy order (ties broken by read order),
    compared over all pairs -- not only energy-sorted neighbours, which misses A, B, A with E(A) = E(B).
    Pure and vectorised (O(R^2 n) per example), so it runs under jit and vmap."""
    if weighting not in WEIGHTINGS:
        raise ProblemError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
    if weighting == "boltzmann" and beta is None:
        raise ProblemError("Boltzmann weights need the sampler's final beta; pass beta")
    order = jnp.argsort(energies, axis=1, stable=True)
    s = jnp.take_along_axis(states, order[..., None], axis=1)
    e = jnp.take_along_axis(energies, order, axis=1)
    lab = jnp.take_along_axis(labels, order, axis=1)
    identical = jnp.all(s[:, :, None, :] == s[:, None, :, :], axis=-1)  # (B, R, R)
    earlier = jnp.tril(jnp.ones(identical.shape[1:], bool), k=-1)  # [i, j]: j precedes i
    duplicate = jnp.any(identical & earlier, axis=-1)
    rank = jnp.where(duplicate, jnp.inf, jnp.arange(e.shape[1], dtype=e.dtype))
    pick = jnp.argsort(rank, axis=1, stable=True)[:, :num_negatives]
    distinct = ~jnp.take_along_axis(duplicate, pick, axis=1)
    s, e, lab = (jnp.take_along_axis(a, pick[..., None] if a.ndim == 3 else pick, axis=1) for a in (s, e, lab))
    wrong = distinct & (lab != y[:, None])
    count = wrong.sum(axis=1)
    if weighting == "boltzmann":
        logits = jnp.where(wrong, -beta * (e - e[:, :1]), -jnp.inf)
        weights = jnp.where(wrong, jax.nn.softmax(logits, axis=1), 0.0)
    else:
        weights = wrong / jnp.maximum(count, 1)[:, None]
    best_state = (jnp.arange(wrong.shape[1]) == 0)[None, :].astype(weights.dtype)
    weights = jnp.where(count[:, None] > 0, weights, best_state)
    first = jnp.where(count > 0, jnp.argmax(wrong, axis=1), -1)
    return Negatives(s, weights, count, first, e)


def geometric_betas(beta_range, num_sweeps: int):
    """``num_sweeps`` inverse temperatures from ``beta_range`` = (hot, cold), geometric, traceable."""
    if num_sweeps == 1:
        return beta_range[1:]
    hot, cold = beta_range[0], beta_range[1]
    return hot * (cold / hot) ** (jnp.arange(num_sweeps, dtype=jnp.float32) / (num_sweeps - 1))


class AnnealerTrainer:
    """Annealer-assisted (contrastive, strong-nudge) trainer.

    Args:
        network: the :class:`~dragonjax.nn.IsingNetwork`.
        sampler: "pa", "sa", "piqmc", "exact" or any ``dimod.Sampler``.
        learning_rate: peak Adam learning rate (cosine-decayed over the run, or constant with
            ``lr_schedule="constant"``) unless ``optimizer`` (any optax transformation) is given.
        num_reads: R states per example and phase; ``num_negatives``: M lowest distinct free states examined.
        nudge: "strong" (clamped output) or a positive float beta (weak nudge: the energy beta sum (1 - o t) / 2
            on the output spins, i.e. the field beta t(y) / 2; for a window without the output, equilibrium
            propagation's local form -- the nudged output is sign(its field from below + beta t(y)), relaxed
            top-down to the window's upper boundary, and the window is sampled against that boundary
            (:meth:`_outside`): at the same beta that boundary's field is twice the sampled output's).
        weighting: "uniform" or "boltzmann" weights over the wrong-label states among the M.
        boltzmann_beta: beta of the Boltzmann weights; default the sampler's final beta (the cold end of
            ``beta_range`` for SA/PA, ``beta`` for PIQMC, a dimod sampler's ``beta_range``).
            Required with ``weighting="boltzmann"`` for samplers without one (exact enumeration, a QPU).
        active_layers, max_variables: the sliding window for deep nets on a small annealer.
        nudged_phase: "anneal" (the nudged phase sampled afresh, like the free one) or "quench" (the nudged
            state relaxed at zero temperature from the free phase's lowest state, layers from the window's
            lowest up, ``quench_sweeps`` top-down sweeps: Laydevant et al.'s reverse anneal from the free state
            in its zero-temperature limit, computed without a sampler call; :meth:`_quench`) or "reverse" (the
            nudged phase as ``num_reads`` Metropolis chains started from the free phase's lowest state, restarted
            at ``reverse_beta`` and annealed geometrically to the cold end of the schedule in the sampler's
            ``num_sweeps``: Laydevant et al.'s reverse anneal with an instantaneous descent, between the quench
            (no thermal moves) and "anneal" (a fresh start); needs the "sa" or "pa" sampler, whose SA kernel runs it).
        negative_phase: "free" (the negatives are the wrong-label states among the free phase's M lowest; the
            best free state when there is none) or "clamped" (one negative per example: the lowest state found
            with the output clamped to t(y_hat), y_hat the *most offending wrong label* -- the wrong class whose
            output spins get the largest summed field from the lowest free state's last hidden layer -- sampled
            like the strong nudge's phase: the energy-based-learning loss E(x, y) - E(x, y_hat) of LeCun et al.
            2006, with a hinge: an example counts only while E(y_hat) - E(y) < ``margin`` (None: always)).
            Needs the strong nudge and the annealed nudged phase; costs one more sampler call per example.
        beta_units: "absolute" or "local-field" (the SA/PA schedule in units of 1 / sigma; module docstring).
        sampler_options: passed to :func:`~dragonjax.train.phases.phase_sampler` (num_sweeps, beta_range...).
        seed: the seed of :meth:`init` and of the evaluation key when none is given.
        lr_warmup_steps: the built-in Adam's learning rate rises linearly from 0 over this many steps before its
            schedule (the cosine then decays over the steps left). On the deep net the classes merge in the first
            epoch, while Adam's bias-corrected steps are already full-sized; with the weak-feedback
            ``layer_scales`` and a 2-epoch warm-up no seed of ten collapsed at 32 epochs, against four of ten
            without it (marginally resolved; papers/reproduction.md section 7).
        weight_decay: the built-in Adam becomes AdamW (optax.adamw's decoupled decay: each step also moves every
            parameter by -learning rate x ``weight_decay`` x itself). 0: plain Adam.

    Hyperparameters that may differ between members of an ensemble (``state.hyper``): ``learning_rate``,
    ``beta_range`` (SA and PA), ``nudge`` (weak nudge), ``boltzmann_beta`` (Boltzmann weighting).
    """

    def __init__(self, network: IsingNetwork, sampler: str | dimod.Sampler = "pa", learning_rate: float = 0.01,
                 optimizer: optax.GradientTransformation | None = None, num_reads: int = 8, num_negatives: int = 4,
                 nudge: str | float = "strong", batch_size: int = 32,
                 weighting: str = "uniform", boltzmann_beta: float | None = None, active_layers: int | None = None,
                 max_variables: int | None = None, sampler_options: dict | None = None, lr_schedule: str = "cosine",
                 seed: int = 0, parametrisation: str = "standard", beta_units: str = "absolute",
                 nudged_phase: str = "anneal", quench_sweeps: int = 4, reverse_beta: float = 1.0,
                 negative_phase: str = "free", margin: float | None = None, lr_warmup_steps: int = 0,
                 weight_decay: float = 0.0):
        if isinstance(lr_warmup_steps, bool) or int(lr_warmup_steps) != lr_warmup_steps or lr_warmup_steps < 0:
            raise ProblemError(f"lr_warmup_steps must be a non-negative integer, got {lr_warmup_steps!r}")
        if lr_warmup_steps and optimizer is not None:
            raise ProblemError("lr_warmup_steps shapes the built-in Adam's schedule; a custom optimizer has its own "
                               "(e.g. optax.warmup_cosine_decay_schedule)")
        if isinstance(weight_decay, bool) or not (isinstance(weight_decay, (int, float)) and
                                                  np.isfinite(weight_decay) and weight_decay >= 0):
            raise ProblemError(f"weight_decay must be a non-negative finite number, got {weight_decay!r}")
        if weight_decay and optimizer is not None:
            raise ProblemError("weight_decay turns the built-in Adam into AdamW; a custom optimizer has its own "
                               "(e.g. optax.adamw)")
        if nudged_phase not in NUDGED_PHASES:
            raise ProblemError(f"unknown nudged_phase {nudged_phase!r}; expected one of {NUDGED_PHASES}")
        if int(quench_sweeps) != quench_sweeps or quench_sweeps < 1:
            raise ProblemError(f"quench_sweeps must be a positive integer, got {quench_sweeps!r}")
        if negative_phase not in NEGATIVE_PHASES:
            raise ProblemError(f"unknown negative_phase {negative_phase!r}; expected one of {NEGATIVE_PHASES}")
        if negative_phase == "clamped" and (nudge != "strong" or nudged_phase != "anneal"):
            raise ProblemError("negative_phase='clamped' clamps the output to the most offending wrong label as the "
                               "strong nudge clamps it to the right one: it needs nudge='strong' and "
                               "nudged_phase='anneal'")
        if margin is not None and not (isinstance(margin, (int, float)) and np.isfinite(margin) and margin > 0):
            raise ProblemError(f"margin must be None or a positive finite number, got {margin!r}")
        if margin is not None and negative_phase != "clamped":
            raise ProblemError("margin applies to negative_phase='clamped' only")
        if not (isinstance(reverse_beta, (int, float)) and reverse_beta > 0):
            raise ProblemError(f"reverse_beta must be a positive number, got {reverse_beta!r}")
        if nudge != "strong" and not (isinstance(nudge, (int, float)) and nudge > 0):
            raise ProblemError(f"nudge must be 'strong' or a positive number, got {nudge!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ProblemError(f"batch_size must be a positive integer, got {batch_size!r}")
        if int(num_reads) != num_reads or num_reads < 1:
            raise ProblemError(f"num_reads must be a positive integer, got {num_reads!r}")
        if num_negatives > num_reads:
            raise ProblemError(f"num_negatives ({num_negatives}) cannot exceed num_reads ({num_reads})")
        if weighting not in WEIGHTINGS:
            raise ProblemError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
        if beta_units not in BETA_UNITS:
            raise ProblemError(f"unknown beta_units {beta_units!r}; expected one of {BETA_UNITS}")
        n = sum(network.sizes[1:])
        check_memory(12.0 * n * n + 4.0 * batch_size * num_reads * n * (4 + num_reads / 4),
                     f"a training step of this network ({n} free spins, {num_reads} reads, batch {batch_size})")
        self.net = network
        self.beta_units = beta_units
        self.nudged_phase, self.quench_sweeps, self.reverse_beta = nudged_phase, int(quench_sweeps), float(reverse_beta)
        self.negative_phase, self.margin = negative_phase, None if margin is None else float(margin)
        self.learning_rate = float(scalar_hyper("learning_rate", learning_rate))
        self.lr_schedule = check_schedule_name(lr_schedule)
        self.lr_warmup_steps = int(lr_warmup_steps)
        self.weight_decay = float(weight_decay)
        self.optimizer = optimizer
        self._transform = optimizer  # None: the built-in Adam of train.core (bias corrections from the shared step)
        self.parametrisation = check_parametrisation(parametrisation, optimizer)
        self.num_reads, self.num_negatives = int(num_reads), int(num_negatives)
        self.nudge, self.batch_size, self.weighting = nudge, int(batch_size), weighting
        self.seed = int(seed)
        self.stats = SamplerStats()
        self.sampler_options = dict(sampler_options or {})
        self.sample = phase_sampler(sampler, stats=self.stats, **self.sampler_options)
        self.jittable = self.sample.jittable
        self.boltzmann_beta = self.sample.final_beta if boltzmann_beta is None else float(boltzmann_beta)
        if weighting == "boltzmann" and not (self.boltzmann_beta is not None and self.boltzmann_beta > 0):
            raise ProblemError(f"Boltzmann weights need a positive beta; sampler {sampler!r} has no final beta "
                               f"(got {self.boltzmann_beta!r}): pass boltzmann_beta")
        self.sampler_name = sampler if isinstance(sampler, str) else type(sampler).__name__
        self.qpu_stats = getattr(sampler, "stats", None) if not isinstance(sampler, str) else None
        self._annealing_schedule = self.sampler_name in ("sa", "pa")
        if beta_units != "absolute" and not self._annealing_schedule:
            raise ProblemError(f"beta_units sets the SA/PA anneal; the {self.sampler_name!r} sampler does not use it")
        if beta_units != "absolute" and getattr(self.sample, "hardware", None) is not None:
            raise ProblemError("an emulated annealer auto-scales each problem itself; use beta_units='absolute' "
                               "with the hardware noise options")
        if beta_units != "absolute" and weighting == "boltzmann":
            raise ProblemError("Boltzmann weights need an absolute final beta; use beta_units='absolute'")
        self.beta_range = self.sample.beta_range
        if nudged_phase == "reverse" and (not self._annealing_schedule
                                          or getattr(self.sample, "hardware", None) is not None):
            raise ProblemError(f"nudged_phase='reverse' restarts Metropolis chains from the free state: it needs the "
                               f"'sa' or 'pa' sampler without hardware emulation, not {self.sampler_name!r}")
        if nudged_phase == "reverse" and beta_units == "absolute" and not reverse_beta < self.beta_range[1]:
            raise ProblemError(f"reverse_beta ({reverse_beta}) must lie below the cold end of beta_range "
                               f"({self.beta_range[1]}): the reverse anneal restarts hotter than the free phase ends")
        self.windows = self._windows(active_layers, max_variables)
        self._sweeps = self._pattern_sweeps()
        self.step = compiled(self, "step", lambda: jax.jit(self._step)) if self.jittable else self._step
        self._predict = (compiled(self, "predict", lambda: jax.jit(self._predict_fn)) if self.jittable
                         else self._predict_fn)
        self._lowest = (compiled(self, "lowest", lambda: jax.jit(self._lowest_fn)) if self.jittable
                        else self._lowest_fn)

    def compile_key(self) -> tuple | None:
        """What the compiled step depends on besides array shapes (None: do not share it). Hyperparameters
        that live in the state are not part of it."""
        if not self.jittable or self.optimizer is not None:
            return None
        net = self.net
        return (type(self), tuple(net.sizes), net.spins_per_class, net.init_scale, net.layer_scales, self.sampler_name,
                repr(sorted(self.sampler_options.items())), self.num_reads, self.num_negatives,
                self.nudge == "strong", self.weighting, tuple(self.windows), self.lr_schedule, self.parametrisation,
                self.beta_units, self.nudged_phase, self.quench_sweeps, self.reverse_beta, self.negative_phase,
                self.margin, self.lr_warmup_steps, self.weight_decay)

    # -- windows ----------------------------------------------------------------------------------------
    def _windows(self, k, max_variables):
        L = self.net.num_layers
        if k is None:
            windows = [tuple(range(1, L + 1))]
        else:
            if int(k) != k or not 1 <= k <= L:
                raise ProblemError(f"active_layers must be an integer in [1, {L}], got {k!r}")
            windows = [tuple(range(w, w + int(k))) for w in range(1, L - int(k) + 2)]
        if max_variables is not None:
            for w in windows:
                size = sum(self.net.sizes[l] for l in w)
                if size > max_variables:
                    raise ProblemError(f"an active window of layers {list(w)} has {size} spins > max_variables = "
                                       f"{max_variables}; use a smaller active_layers")
        return windows

    def _free_sets(self):
        """The sets of free layers the sampler sees: each window, and each window less a clamped output."""
        L = self.net.num_layers
        sets = {tuple(w) for w in self.windows}
        if self.nudge == "strong" and self.nudged_phase != "quench":
            sets |= {tuple(l for l in w if l != L) for w in self.windows}
        return sorted(s for s in sets if s)

    def _pattern_sweeps(self):
        """One sweep per set of free layers, built from the coupling *pattern* (every weight set to 1): inside
        the compiled step the couplings are traced and their pattern cannot be read from their values."""
        if not self.jittable or self.sampler_name == "exact":
            return {}
        ones = {"weights": [np.ones((a, b), np.float32) for a, b in zip(self.net.sizes[:-1], self.net.sizes[1:])],
                "biases": [np.zeros(n, np.float32) for n in self.net.sizes[1:]]}
        method = self.sample.sweep_method
        return {free: cached_sweep(self.net.couplings(ones, free), method, "metropolis") for free in self._free_sets()}

    def step_cost(self, step: int, batch: int) -> tuple[int, int, int, int]:
        """(sampler calls, spin updates, largest subproblem's spins, its couplings) of training step ``step`` on
        ``batch`` examples (one call per example and phase; the free phase's problem is the largest: the window's
        spins and the couplings between its consecutive layers; a quenched nudged phase calls no sampler)."""
        window = self.windows[step % len(self.windows)]
        L = self.net.num_layers
        sizes = self.net.sizes
        free = sum(sizes[l] for l in window)
        couplings = sum(sizes[l] * sizes[l + 1] for l in window if l + 1 in window)
        nudged = free - (sizes[L] if self.nudge == "strong" and L in window else 0)
        if self.nudged_phase == "quench":
            nudged = 0
        phases = 1 + (nudged > 0) * (2 if self.negative_phase == "clamped" else 1)  # free, nudged, clamped wrong
        calls = batch * phases
        updates = self.sample.cost(batch, free, self.num_reads) + (phases - 1) * (
            self.sample.cost(batch, nudged, self.num_reads) if nudged else 0)
        return calls, updates, free, couplings

    # -- hyperparameters and state --------------------------------------------------------------------
    @property
    def hyperparameter_names(self) -> tuple[str, ...]:
        """The hyperparameters that live in the state and may differ between ensemble members."""
        names = [] if self.optimizer is not None else ["learning_rate"]  # a custom optimiser has its own
        if self._annealing_schedule:
            names.append("beta_range")
        if self.nudge != "strong":
            names.append("nudge")
        if self.weighting == "boltzmann":
            names.append("boltzmann_beta")
        return tuple(names)

    def hyperparameters(self, total_steps: int, **overrides) -> dict:
        """The state's hyperparameters (float32 arrays): this trainer's values with ``overrides``."""
        hyper = base_hyperparameters(self, total_steps, overrides)
        if self._annealing_schedule:
            beta_range = overrides.get("beta_range", self.beta_range)
            beta_schedule(beta_range, 2)  # validates (hot, cold)
            hyper["beta_range"] = np.asarray(beta_range, np.float32)
        if self.nudge != "strong":
            hyper["nudge"] = scalar_hyper("nudge", overrides.get("nudge", self.nudge))
        if self.weighting == "boltzmann":
            default = (overrides["beta_range"][1] if "beta_range" in overrides and "boltzmann_beta" not in overrides
                       and self.boltzmann_beta == self.sample.final_beta else self.boltzmann_beta)
            hyper["boltzmann_beta"] = scalar_hyper("boltzmann_beta", overrides.get("boltzmann_beta", default))
        return hyper

    def init(self, key: int | np.integer | jax.Array | None = None, total_steps: int = 1000,
             **hyperparameters) -> TrainState:
        """The initial state. ``key``: a seed (int; default ``seed``) -- the state is then exactly that of
        member ``seed`` of an :class:`~dragonjax.train.Ensemble` (the same compiled initialisation) -- or a
        PRNG key; ``total_steps`` sets the cosine decay; ``hyperparameters`` override the trainer's."""
        if key is None or isinstance(key, (int, np.integer)):
            from .ensemble import Ensemble, member

            seed = self.seed if key is None else int(key)
            return member(Ensemble(self, [seed], **hyperparameters).init(total_steps), 0)
        hyper = self.hyperparameters(total_steps, **hyperparameters)
        return self._init_from_key(key, jax.random.fold_in(key, 1), hyper)

    def init_from_seed(self, seed: ArrayLike, hyper: dict) -> TrainState:
        """Pure and vmappable over ``seed`` and the leaves of ``hyper``: params from key(seed), the
        evaluation key key(seed + 1)."""
        return self._init_from_key(jax.random.key(seed), jax.random.key(seed + 1), hyper)

    def _init_from_key(self, key, eval_key, hyper) -> TrainState:
        k_init, key = jax.random.split(key)
        params = self.net.init(k_init)
        hyper = {k: jnp.asarray(v, jnp.float32) for k, v in hyper.items()}
        opt_state = adam_init(params) if self._transform is None else self._transform.init(params)
        return TrainState(params, opt_state, key, jnp.int32(0), jnp.int32(0), hyper, eval_key)

    # -- phases -----------------------------------------------------------------------------------------
    def _relax(self, key, params, x, window, fixed, hyper, nudge=None, target=None, start=None):
        """Sample the ``window`` layers with the others held at ``fixed``; returns full states
        (B, R, num_free) and their energies (B, R) under the (possibly nudged) problem. With ``start`` (full
        states (B, num_free)) the window is not annealed afresh but reverse-annealed from that state, from
        ``reverse_beta`` to the cold end of the schedule."""
        net = self.net
        free = tuple(l for l in window if l not in fixed)
        if not free:
            full = jnp.concatenate([fixed[l] for l in range(1, net.num_layers + 1)], axis=-1)[:, None, :]
            return full, net.energy(params, x[:, None, :], full)
        problem = net.window_problem(params, x, window, fixed, nudge, target)
        beta_range = hyper.get("beta_range") if start is None else (self.reverse_beta, hyper["beta_range"][1])
        betas = geometric_betas(beta_range, self.sample.num_sweeps) if self._annealing_schedule else None
        if self.beta_units == "local-field":
            betas = betas / local_field_scale(problem[0], problem[1])
        if start is not None:
            layers = net.layers(start)
            initial = jnp.concatenate([layers[l - 1] for l in free], axis=-1)
            states, energies = self.sample.from_state(key, *problem, initial, self.num_reads, betas=betas,
                                                      sweep=self._sweeps.get(free))
            return net.stitch(states, window, fixed), energies
        extra = {} if betas is None else {"betas": betas}
        states, energies = self.sample(key, *problem, self.num_reads, sweep=self._sweeps.get(free), **extra)
        return net.stitch(states, window, fixed), energies

    def _outside(self, params, x, window, target=None, nudge=None):
        """The layers outside the window, held fixed while it is sampled. Below the window: the
        deterministic pass. Above it: relaxed top-down from the output (each layer set to the sign of its
        local field from its two neighbours, i.e. its conditional ground state), the output being the pass's
        own (free phase) or clamped to ``target`` = t(y) (nudged phase; then held even inside the window) or,
        with a weak ``nudge`` beta (a window without the output), the pass's output nudged: sign(its field from
        the pass + beta t(y)), which differs from the free output only on spins whose field is weaker than
        beta. Both phases are built alike, so their contrast comes from the output alone: relaxing only the
        nudged phase would add the top-down field of the target code's common mode (mostly -1) to every
        example's nudged state, and training would drive the hidden layers to one input-independent state."""
        net = self.net
        layers = net.layers(net.forward_pass(params, x))
        if target is not None and nudge is not None:
            below = layers[-2] if net.num_layers >= 2 else x
            field = jnp.dot(below, params["weights"][-1], precision="highest") + params["biases"][-1]
            layers[-1] = jnp.where(field + nudge * target >= 0, 1.0, -1.0)
        elif target is not None:
            layers[-1] = target
        for l in range(net.num_layers - 1, max(window), -1):  # layer indices 1..L; list index l - 1
            field = jnp.dot(layers[l - 2] if l >= 2 else x, params["weights"][l - 1], precision="highest")
            field = field + jnp.dot(layers[l], params["weights"][l].T, precision="highest") + params["biases"][l - 1]
            layers[l - 1] = jnp.where(field >= 0, 1.0, -1.0)
        clamped = {net.num_layers} if target is not None and nudge is None else set()
        return {l: layers[l - 1] for l in range(1, net.num_layers + 1) if l not in window or l in clamped}

    def _quench(self, params, x, start, lowest, target=None, nudge=None):
        """The nudged phase as a quench from the free state (Laydevant et al. 2024's reverse anneal, in its
        zero-temperature limit): from ``start`` (..., num_free), the layers ``lowest``..L relaxed top-down,
        ``quench_sweeps`` times, each layer set to the sign of its local field from its two neighbours (its
        conditional ground state), the output clamped to ``target`` (strong nudge) or, with a weak ``nudge``
        beta, set to the sign of its field + beta t(y) / 2 (the weak nudge's field), or free (no ``target``: the
        free phase's reads quenched alike, so that both phases are zero-temperature states and their contrast is
        the nudge's, not the anneal's temperature). Each layer update minimises the (nudged) energy given the
        rest, so the quench never raises it; the layers below ``lowest`` keep their values."""
        net = self.net
        L = net.num_layers
        layers = net.layers(start)
        W, b = params["weights"], params["biases"]
        for _ in range(self.quench_sweeps):
            for l in range(L, lowest - 1, -1):  # layer indices 1..L; list index l - 1
                if l == L and target is not None and nudge is None:
                    layers[l - 1] = jnp.broadcast_to(target, layers[l - 1].shape)
                    continue
                field = jnp.dot(layers[l - 2] if l >= 2 else x, W[l - 1], precision="highest") + b[l - 1]
                if l < L:
                    field = field + jnp.dot(layers[l], W[l].T, precision="highest")
                elif target is not None:
                    field = field + 0.5 * nudge * target
                layers[l - 1] = jnp.where(field >= 0, 1.0, -1.0)
        return jnp.concatenate(layers, axis=-1)

    def _most_offending(self, params, x, lowest, y):
        """y_hat (B,): the wrong class whose output spins get the largest summed field from the layer below the
        output (the last hidden layer of the lowest free state ``lowest`` (B, num_free), or the input ``x`` for a
        net without hidden layers)."""
        net = self.net
        below = net.layers(lowest)[-2] if net.num_layers >= 2 else x
        field = jnp.dot(below, params["weights"][-1], precision="highest") + params["biases"][-1]
        scores = field.reshape(field.shape[:-1] + (net.num_classes, net.spins_per_class)).sum(-1)
        return jnp.argmax(jnp.where(jax.nn.one_hot(y, net.num_classes) > 0, -jnp.inf, scores), axis=-1)

    def _phases(self, window, k_free, k_nudge, state, x, y):
        """Free states and energies (B, R, ...), the correct (nudged) state (B, num_free) of a window and, with
        ``negative_phase="clamped"``, the lowest state with the output clamped to the most offending wrong label
        (B, num_free; else None)."""
        params, hyper = state.params, state.hyper
        fixed = self._outside(params, x, window)
        states, energies = self._relax(k_free, params, x, window, fixed, hyper)
        target = self.net.target_code(y)
        if self.nudged_phase == "quench":  # both phases at zero temperature: their contrast is the nudge's
            states = self._quench(params, x[:, None, :], states, min(window))
            energies = self.net.energy(params, x[:, None, :], states)
            lowest = states[jnp.arange(x.shape[0]), jnp.argmin(energies, axis=1)]
            return states, energies, self._quench(params, x, lowest, min(window), target,
                                                  None if self.nudge == "strong" else hyper["nudge"]), None
        start = (states[jnp.arange(x.shape[0]), jnp.argmin(energies, axis=1)] if self.nudged_phase == "reverse"
                 else None)  # the reverse anneal starts from the lowest free state
        if self.nudge == "strong":
            clamped = self._outside(params, x, window, target)
            nudged, nudged_e = self._relax(k_nudge, params, x, window, clamped, hyper, start=start)
        elif self.net.num_layers in window:  # the weak nudge acts on the output inside the sampled problem
            nudged, nudged_e = self._relax(k_nudge, params, x, window, fixed, hyper, hyper["nudge"], target, start)
        else:  # the weak nudge propagated to the window's upper boundary (equilibrium propagation, local form)
            boundary = self._outside(params, x, window, target, hyper["nudge"])
            nudged, nudged_e = self._relax(k_nudge, params, x, window, boundary, hyper, start=start)
        best = lambda s, e: s[jnp.arange(x.shape[0]), jnp.argmin(e, axis=1)]  # noqa: E731
        wrong = None
        if self.negative_phase == "clamped":  # the same phase as the strong nudge's, clamped to y_hat
            lowest = best(states, energies)
            code = self.net.target_code(self._most_offending(params, x, lowest, y))
            wrong = best(*self._relax(jax.random.fold_in(k_nudge, 1), params, x, window,
                                      self._outside(params, x, window, code), hyper))
        return states, energies, best(nudged, nudged_e), wrong

    # -- the step ---------------------------------------------------------------------------------------
    def _loss(self, params, x, correct, negatives, weights, mask=None):
        """mean_b sum_k w_bk [E(correct_b) - E(negative_bk)]: with weights summing to 1 (free negatives),
        E(correct) - sum_k w_k E(negative_k); with the clamped negative's hinge, 0 for an example outside the margin."""
        e_correct = self.net.energy(params, x, correct)
        e_negative = self.net.energy(params, x[:, None, :], negatives)
        if self.negative_phase == "clamped":
            per_example = jnp.sum(weights * (e_correct[:, None] - e_negative), axis=1)
        else:
            per_example = e_correct - jnp.sum(weights * e_negative, axis=1)
        return jnp.mean(per_example) if mask is None else jnp.sum(mask * per_example) / jnp.sum(mask)

    def _contrast(self, state: TrainState, x, y, k_free, k_nudge, window_index=None, mask=None):
        """Phases, negatives and the gradient of the contrastive loss for one mini-batch: the window of this step
        (``state.step`` modulo the windows) or the window ``window_index``. Returns (grads, loss, free states,
        free energies, decoded labels, negatives, correct states)."""
        net = self.net
        phases = [lambda w=w: self._phases(w, k_free, k_nudge, state, x, y) for w in self.windows]
        if window_index is not None:
            states, energies, correct, wrong = phases[window_index]()
        elif len(phases) == 1:
            states, energies, correct, wrong = phases[0]()
        elif self.jittable:
            states, energies, correct, wrong = jax.lax.switch(state.step % len(phases), phases)
        else:  # a host sampler cannot be traced in a branch: choose the window in Python
            states, energies, correct, wrong = phases[int(state.step) % len(phases)]()
        labels = net.decode(states[..., net.output_slice])
        negatives = select_negatives(states, energies, labels, y, min(self.num_negatives, states.shape[1]),
                                     self.weighting, state.hyper.get("boltzmann_beta"))
        against, weights = negatives.states, negatives.weights
        if wrong is not None:  # one clamped negative per example, counted while its energy is within the margin
            gap = net.energy(state.params, x, wrong) - net.energy(state.params, x, correct)
            within = jnp.ones_like(gap) if self.margin is None else (gap < self.margin).astype(gap.dtype)
            against, weights = wrong[:, None, :], within[:, None]
        loss = self._loss(state.params, x, correct, against, weights, mask)
        grads = net.contrastive_gradient(state.params, x, correct, against, weights, mask)
        return grads, loss, states, energies, labels, negatives, correct

    def update_gradient(self, state: TrainState, x: npt.ArrayLike, y: npt.ArrayLike,
                        window_index: int | None = None) -> dict:
        """The gradient of the contrastive loss that :meth:`step` would hand to the optimiser on (x, y) -- for
        the window ``window_index`` of :attr:`windows` (default: this step's) -- without applying it: for
        diagnostics such as its alignment with a backprop gradient. Uses the state's key like :meth:`step`."""
        _, k_free, k_nudge = jax.random.split(state.key, 3)
        x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y)
        return self._contrast(state, x, y, k_free, k_nudge, window_index)[0]

    def _step(self, state: TrainState, x, y, mask=None) -> tuple[TrainState, AnnealerStepInfo]:
        """One update on the mini-batch (x, y): free phase, negatives, nudged phase, loss, gradient, optimiser
        update, metrics (:class:`AnnealerStepInfo`). Pure; jit-compiled as :attr:`step`. ``mask`` (B,) of 0/1
        marks padding examples (a short last batch padded to the batch shape) that the update leaves out."""
        net = self.net
        x = jnp.asarray(x, jnp.float32)
        y = jnp.asarray(y)
        key, k_free, k_nudge = jax.random.split(state.key, 3)
        grads, loss, states, energies, labels, negatives, correct = self._contrast(state, x, y, k_free, k_nudge,
                                                                                  mask=mask)
        params, opt_state = apply_gradients(state, grads, self._transform, self.lr_schedule,
                                            learning_rate_multipliers(state.params, self.parametrisation),
                                            self.lr_warmup_steps, self.weight_decay)
        e_correct = net.energy(state.params, x, correct)
        first = jnp.maximum(negatives.first_wrong_label, 0)[:, None]
        e_wrong = jnp.take_along_axis(negatives.energies, first, 1)[:, 0]
        info = AnnealerStepInfo(
            loss, labels[jnp.arange(x.shape[0]), jnp.argmin(energies, axis=1)] == y, negatives.wrong_label_states,
            jnp.where(negatives.wrong_label_states > 0, e_wrong - e_correct, jnp.nan))
        return state._replace(params=params, opt_state=opt_state, key=key, step=state.step + 1), info

    # -- prediction -------------------------------------------------------------------------------------
    def _lowest_fn(self, params, x, key, hyper):
        net = self.net
        current = net.layers(net.forward_pass(params, x))
        for k, window in zip(jax.random.split(key, len(self.windows)), self.windows):
            fixed = {l: current[l - 1] for l in range(1, net.num_layers + 1) if l not in window}
            states, energies = self._relax(k, params, x, window, fixed, hyper)
            best = states[jnp.arange(x.shape[0]), jnp.argmin(energies, axis=1)]
            current = net.layers(best)
        return jnp.concatenate(current, axis=-1)

    def _predict_fn(self, params, x, key, hyper):
        return self.net.decode(self._lowest_fn(params, x, key, hyper)[..., self.net.output_slice])

    def lowest_states(self, params: dict, x: npt.ArrayLike, key: jax.Array | None = None,
                      hyper: dict | None = None) -> np.ndarray:
        """The free states (B, num_free) that :meth:`predict` decodes: the lowest-energy state the sampler finds for
        each input (sliding over the windows from the deterministic pass); same ``key`` and ``hyper`` defaults."""
        key = jax.random.key(self.seed + 1) if key is None else key
        hyper = self.hyperparameters(1) if hyper is None else hyper
        return np.asarray(self._lowest(params, jnp.asarray(x, jnp.float32), key, hyper))

    def predict(self, params: dict, x: npt.ArrayLike, key: jax.Array | None = None,
                hyper: dict | None = None) -> np.ndarray:
        """Lowest-energy free state found (sliding over the windows from the deterministic pass), decoded.
        ``key`` default: key(seed + 1); ``hyper``: a state's hyperparameters (its ``beta_range`` anneals;
        default the trainer's)."""
        key = jax.random.key(self.seed + 1) if key is None else key
        hyper = self.hyperparameters(1) if hyper is None else hyper
        return np.asarray(self._predict(params, jnp.asarray(x, jnp.float32), key, hyper))

    def evaluate(self, params: dict, x: npt.ArrayLike, y: npt.ArrayLike, key: jax.Array | None = None,
                 hyper: dict | None = None, batch_size: int = 256) -> float:
        """Accuracy of :meth:`predict` on (x, y) over batches of ``batch_size`` (each with the same key)."""
        if len(x) == 0:
            return float("nan")
        from .ensemble import eval_batches

        preds = np.concatenate([self.predict(params, xb, key, hyper)[:n] for xb, n in eval_batches(x, batch_size)])
        return float(np.mean(preds == np.asarray(y)))

    # -- loop -------------------------------------------------------------------------------------------
    def fit(self, data: Dataset, epochs: int, state: TrainState | None = None, eval_every: int = 1,
            progress: bool = False,
            on_epoch: Callable[[TrainState, dict], object] | None = None) -> tuple[TrainState, list[dict]]:
        """Train for ``epochs`` epochs on ``data`` (a :class:`~dragonjax.data.Dataset`). Returns
        (state, history), history a list of per-epoch metric dicts. ``on_epoch(state, record)`` is called
        after each epoch (checkpointing). The loop is the ensemble's, with one member."""
        from .ensemble import fit_single

        return fit_single(self, data, epochs, state, eval_every, progress, on_epoch, "annealer epochs")
