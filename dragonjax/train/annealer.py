"""Annealer-assisted training of an Ising network (DESIGN section 3): strong or weak nudge.

For each mini-batch:

1. free phase: the sampler returns R states per input; of the M lowest distinct ones (M = ``num_negatives``),
   those whose decoded label differs from y are the *wrong-label states*, the negatives of the update;
2. nudged phase: the output clamped to t(y) (strong nudge) or pulled towards it by ``nudge * sum (1 - o t)/2``
   (weak nudge); the lowest state found is the *correct* state;
3. update: minimise ``L = E(s_correct) - sum_k w_k E(s_wrong,k)`` with the states held fixed (w uniform, or
   Boltzmann at the sampler's final beta, over the wrong-label states; with none the best free state is the
   negative), by ``jax.grad`` of the network energy -- the contrastive Hebbian rule -- and an optax optimiser.

The per-step statistic ``wrong_label_states`` counts these negatives. It is not the Hydra heads of
:func:`dragonjax.analysis.heads` (distinct wrong-label *local minima* within an energy window of the lowest
state, among independent anneals): it is capped by M, its states are not quenched, and with a population
sampler its reads are not independent.

With ``active_layers = k`` only a window of k consecutive spin layers is sampled; the other layers are held
at the deterministic pass and enter as fields. The window slides by one layer per step. The sampler then
never receives more than the window's spins, which must not exceed ``max_variables``.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..ising import ProblemError
from ..nn import IsingNetwork
from .phases import SamplerStats, phase_sampler

__all__ = ["AnnealerTrainer", "TrainState", "Negatives", "WEIGHTINGS", "select_negatives", "adam"]


def adam(learning_rate: float, total_steps: int, schedule: str = "cosine"):
    """Adam with a cosine-decayed (over ``total_steps``) or constant learning rate."""
    if schedule == "cosine":
        return optax.adam(optax.cosine_decay_schedule(learning_rate, max(int(total_steps), 1)))
    if schedule == "constant":
        return optax.adam(learning_rate)
    raise ProblemError(f"lr_schedule must be 'cosine' or 'constant', got {schedule!r}")


class TrainState(NamedTuple):
    params: dict
    opt_state: optax.OptState
    key: jax.Array
    step: int
    epoch: int


WEIGHTINGS = ("uniform", "boltzmann")


class Negatives(NamedTuple):
    """The negatives of one mini-batch's update (see :func:`select_negatives`)."""
    states: jax.Array  # (B, M, n): the M lowest distinct free states, lowest first (padding: not distinct)
    weights: jax.Array  # (B, M): w_k >= 0 summing to 1
    wrong_label_states: jax.Array  # (B,): how many of the M have a wrong label
    first_wrong_label: jax.Array  # (B,): index of the lowest wrong-label state, -1 if none
    energies: jax.Array  # (B, M)


def select_negatives(states, energies, labels, y, num_negatives: int, weighting: str = "uniform",
                     beta=None) -> Negatives:
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


def start_fit(trainer, data, epochs: int, state, progress: bool, description: str):
    """Shared start of ``fit``: check the data, build the optimiser for the whole run (also when resuming),
    and the (optionally tqdm-wrapped) range of the epochs still to run."""
    trainer.net.check_inputs(data.x_train)
    trainer.net.check_labels(data.y_train)
    if len(data.x_train) == 0:
        raise ProblemError("the training set is empty")
    total_steps = -(-len(data.x_train) // trainer.batch_size) * epochs
    if state is None:
        state = trainer.init(total_steps)
    elif not hasattr(trainer, "_tx"):
        trainer._tx = trainer.optimizer or adam(trainer.learning_rate, total_steps, trainer.lr_schedule)
    epochs_left = range(state.epoch, epochs)
    if progress:
        from tqdm.auto import tqdm
        epochs_left = tqdm(epochs_left, desc=description, initial=state.epoch, total=epochs)
    return state, epochs_left


class AnnealerTrainer:
    """Annealer-assisted (contrastive, strong-nudge) trainer.

    Args:
        network: the :class:`~dragonjax.nn.IsingNetwork`.
        sampler: "pa", "sa", "piqmc", "exact" or any ``dimod.Sampler``.
        learning_rate: peak Adam learning rate (cosine-decayed over the run) unless ``optimizer`` is given.
        num_reads: R states per example and phase; ``num_negatives``: M lowest distinct free states examined.
        nudge: "strong" (clamped output) or a positive float (weak nudge strength).
        weighting: "uniform" or "boltzmann" weights over the wrong-label states among the M.
        boltzmann_beta: beta of the Boltzmann weights; default the sampler's final beta (``sample.final_beta``:
            the cold end of ``beta_range`` for SA/PA, ``beta`` for PIQMC, a dimod sampler's ``beta_range``).
            Required with ``weighting="boltzmann"`` for samplers without one (exact enumeration, a QPU).
        active_layers, max_variables: the sliding window for deep nets on a small annealer.
        sampler_options: passed to :func:`~dragonjax.train.phases.phase_sampler` (num_sweeps, beta_range...).
    """

    def __init__(self, network: IsingNetwork, sampler="pa", learning_rate: float = 0.01, optimizer=None,
                 num_reads: int = 8, num_negatives: int = 4, nudge="strong", batch_size: int = 32,
                 weighting: str = "uniform", boltzmann_beta: float | None = None, active_layers: int | None = None,
                 max_variables: int | None = None, sampler_options: dict | None = None, lr_schedule: str = "cosine",
                 seed: int = 0):
        if nudge != "strong" and not (isinstance(nudge, (int, float)) and nudge > 0):
            raise ProblemError(f"nudge must be 'strong' or a positive number, got {nudge!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ProblemError(f"batch_size must be a positive integer, got {batch_size!r}")
        if num_negatives > num_reads:
            raise ProblemError(f"num_negatives ({num_negatives}) cannot exceed num_reads ({num_reads})")
        if weighting not in WEIGHTINGS:
            raise ProblemError(f"unknown weighting {weighting!r}; expected one of {WEIGHTINGS}")
        self.net = network
        self.learning_rate = float(learning_rate)
        self.lr_schedule = lr_schedule
        self.optimizer = optimizer
        self.num_reads, self.num_negatives = int(num_reads), int(num_negatives)
        self.nudge, self.batch_size, self.weighting = nudge, int(batch_size), weighting
        self.seed = int(seed)
        self.stats = SamplerStats()
        self.sampler_options = dict(sampler_options or {})
        self.sample = phase_sampler(sampler, stats=self.stats, **self.sampler_options)
        self.boltzmann_beta = self.sample.final_beta if boltzmann_beta is None else float(boltzmann_beta)
        if weighting == "boltzmann" and not (self.boltzmann_beta is not None and self.boltzmann_beta > 0):
            raise ProblemError(f"Boltzmann weights need a positive beta; sampler {sampler!r} has no final beta "
                               f"(got {self.boltzmann_beta!r}): pass boltzmann_beta")
        self.sampler_name = sampler if isinstance(sampler, str) else type(sampler).__name__
        self.qpu_stats = getattr(sampler, "stats", None) if not isinstance(sampler, str) else None
        self.windows = self._windows(active_layers, max_variables)
        self._update = jax.jit(self._update_fn)

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

    # -- phases -----------------------------------------------------------------------------------------
    def _relax(self, key, params, x, window, fixed_values, nudge=None, target=None):
        """Sample ``window`` layers with the others held at ``fixed_values``; returns full states
        (B, R, num_free) and their energies (B, R) under the (possibly nudged) problem."""
        net = self.net
        free = [l for l in window if l not in fixed_values]
        fixed = {l: v for l, v in fixed_values.items()}
        batch = x.shape[0]
        full_fixed = [fixed[l] if l in fixed else None for l in range(1, net.num_layers + 1)]
        if not free:
            full = jnp.concatenate(full_fixed, axis=-1)[:, None, :]
            return full, net.energy(params, x[:, None, :], full)
        base = net.couplings(params, free)
        fields, offsets = net.input_fields(params, x, {l: v for l, v in fixed.items() if l not in free}, free,
                                           nudge, target)
        states, energies = self.sample(key, base, fields, offsets, self.num_reads)
        parts, start = [], 0
        for l in range(1, net.num_layers + 1):
            if l in free:
                parts.append(states[..., start:start + net.sizes[l]])
                start += net.sizes[l]
            else:
                parts.append(jnp.broadcast_to(full_fixed[l - 1][:, None, :], (batch, states.shape[1], net.sizes[l])))
        return jnp.concatenate(parts, axis=-1), energies

    def _outside(self, params, x, window, target=None):
        """The layers outside the window, held fixed while it is sampled. Below the window: the
        deterministic pass. Above it: relaxed top-down from the output (each layer set to the sign of its
        local field from its two neighbours, i.e. its conditional ground state), the output being the pass's
        own (free phase) or clamped to ``target`` = t(y) (nudged phase; then held even inside the window).
        Both phases are built alike, so their contrast comes from the output alone: relaxing only the nudged
        phase would add the top-down field of the target code's common mode (mostly -1) to every example's
        nudged state, and training would drive the hidden layers to one input-independent state."""
        net = self.net
        layers = net.layers(net.forward_pass(params, x))
        if target is not None:
            layers[-1] = target
        for l in range(net.num_layers - 1, max(window), -1):  # layer indices 1..L; list index l - 1
            field = jnp.dot(layers[l - 2] if l >= 2 else x, params["weights"][l - 1], precision="highest")
            field = field + jnp.dot(layers[l], params["weights"][l].T, precision="highest") + params["biases"][l - 1]
            layers[l - 1] = jnp.where(field >= 0, 1.0, -1.0)
        clamped = {net.num_layers} if target is not None else set()
        return {l: layers[l - 1] for l in range(1, net.num_layers + 1) if l not in window or l in clamped}

    def predict(self, params, x, key=None):
        """Lowest-energy free state found (sliding over the windows from the deterministic pass); decoded."""
        key = jax.random.key(self.seed + 1) if key is None else key
        x = jnp.asarray(x, jnp.float32)
        net = self.net
        current = net.layers(net.forward_pass(params, x))
        for k, window in zip(jax.random.split(key, len(self.windows)), self.windows):
            fixed = {l: current[l - 1] for l in range(1, net.num_layers + 1) if l not in window}
            states, energies = self._relax(k, params, x, window, fixed)
            best = states[jnp.arange(x.shape[0]), jnp.argmin(energies, axis=1)]
            current = net.layers(best)
        return np.asarray(net.decode(current[-1]))

    def evaluate(self, params, x, y, batch_size: int = 256) -> float:
        preds = np.concatenate([self.predict(params, x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
        return float(np.mean(preds == np.asarray(y)))

    # -- update -----------------------------------------------------------------------------------------
    def _loss(self, params, x, correct, negatives, weights):
        e_correct = self.net.energy(params, x, correct)
        e_negative = self.net.energy(params, x[:, None, :], negatives)
        return jnp.mean(e_correct - jnp.sum(weights * e_negative, axis=1))

    def _update_fn(self, params, opt_state, x, correct, negatives, weights):
        loss, grads = jax.value_and_grad(self._loss)(params, x, jax.lax.stop_gradient(correct),
                                                     jax.lax.stop_gradient(negatives), weights)
        updates, opt_state = self._tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def init(self, total_steps: int = 1000) -> TrainState:
        self._tx = self.optimizer or adam(self.learning_rate, total_steps, self.lr_schedule)
        key = jax.random.key(self.seed)
        k_init, key = jax.random.split(key)
        params = self.net.init(k_init)
        return TrainState(params, self._tx.init(params), key, 0, 0)

    def train_step(self, state: TrainState, x, y):
        """One update on the mini-batch (x, y). Metrics per example: ``wrong_label_states`` (how many of the M
        negatives have a wrong label), ``gap`` = E(lowest wrong-label negative) - E(correct state) under the
        free-phase energy (nan without one), ``correct`` (the lowest free state decodes to y); and the ``loss``."""
        net = self.net
        x = jnp.asarray(x, jnp.float32)
        y = jnp.asarray(y)
        key, k_free, k_nudge = jax.random.split(state.key, 3)
        window = self.windows[state.step % len(self.windows)]
        fixed = self._outside(state.params, x, window)
        states, energies = self._relax(k_free, state.params, x, window, fixed)
        labels = net.decode(states[..., net.output_slice])
        negatives = select_negatives(states, energies, labels, y, min(self.num_negatives, states.shape[1]),
                                     self.weighting, self.boltzmann_beta)
        target = net.target_code(y)
        if self.nudge == "strong":
            clamped = self._outside(state.params, x, window, target)
            nudged, nudged_e = self._relax(k_nudge, state.params, x, window, clamped)
        else:
            nudged, nudged_e = self._relax(k_nudge, state.params, x, window, fixed, self.nudge, target)
        correct = nudged[jnp.arange(x.shape[0]), jnp.argmin(nudged_e, axis=1)]
        params, opt_state, loss = self._update(state.params, state.opt_state, x, correct, negatives.states,
                                               negatives.weights)
        e_correct = net.energy(state.params, x, correct)
        e_wrong = jnp.take_along_axis(negatives.energies, jnp.maximum(negatives.first_wrong_label, 0)[:, None], 1)[:, 0]
        metrics = {"loss": float(loss), "wrong_label_states": np.asarray(negatives.wrong_label_states),
                   "gap": np.asarray(jnp.where(negatives.wrong_label_states > 0, e_wrong - e_correct, jnp.nan)),
                   "correct": np.asarray(labels[jnp.arange(x.shape[0]), jnp.argmin(energies, axis=1)] == y)}
        return TrainState(params, opt_state, key, state.step + 1, state.epoch), metrics

    # -- loop -------------------------------------------------------------------------------------------
    def fit(self, data, epochs: int, state: TrainState | None = None, eval_every: int = 1, progress: bool = False,
            on_epoch=None):
        """Train for ``epochs`` epochs on ``data`` (a :class:`~dragonjax.data.Dataset`). Returns
        (state, history), history a list of per-epoch metric dicts. ``on_epoch(state, record)`` is called
        after each epoch (checkpointing)."""
        state, epochs_left = start_fit(self, data, epochs, state, progress, "annealer epochs")
        history = []
        for epoch in epochs_left:
            start, calls0, updates0 = time.perf_counter(), self.stats.calls, self.stats.spin_updates
            qpu0 = dict(self.qpu_stats) if isinstance(self.qpu_stats, dict) else None
            order = np.random.default_rng((self.seed, epoch)).permutation(len(data.x_train))
            wrong, gaps, correct, losses = [], [], [], []
            for i in range(0, len(order), self.batch_size):
                idx = order[i:i + self.batch_size]
                state, m = self.train_step(state, data.x_train[idx], data.y_train[idx])
                wrong.append(m["wrong_label_states"]), gaps.append(m["gap"]), correct.append(m["correct"])
                losses.append(m["loss"])
            wrong = np.concatenate(wrong)
            state = state._replace(epoch=epoch + 1)
            train_time = time.perf_counter() - start
            record = {"epoch": epoch + 1, "examples_seen": (epoch + 1) * len(order), "loss": float(np.mean(losses)),
                      "train_accuracy_running": float(np.mean(np.concatenate(correct))),
                      "mean_wrong_label_states": float(np.mean(wrong)),
                      "fraction_with_wrong_label_states": float(np.mean(wrong > 0)),
                      "mean_gap": float(np.nanmean(np.concatenate(gaps))) if np.any(wrong > 0) else None,
                      "sampler_calls": self.stats.calls - calls0, "spin_updates": self.stats.spin_updates - updates0,
                      "train_seconds": train_time}
            if qpu0 is not None:  # QPU calls of the training phases (evaluation excluded)
                calls = self.qpu_stats["qpu_calls"] - qpu0["qpu_calls"]
                record["qpu"] = {
                    "calls": calls, "access_time_s": 1e-6 * (self.qpu_stats["qpu_access_time_us"] - qpu0["qpu_access_time_us"]),
                    "chain_break_fraction": (self.qpu_stats["chain_break_fraction_sum"] - qpu0["chain_break_fraction_sum"])
                    / max(calls, 1), "physical_qubits": self.qpu_stats["physical_qubits"]}
            if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
                record["test_accuracy"] = self.evaluate(state.params, data.x_test, data.y_test)
            record["wall_seconds"] = time.perf_counter() - start
            history.append(record)
            if on_epoch is not None:
                on_epoch(state, record)
        return state, history
