"""Ensembles: many networks of one shape trained as one compiled computation, and the training loop that
every trainer shares.

``Ensemble(trainer, seeds, learning_rate=[...])`` ``vmap``s the trainer's pure ``init`` / ``step`` over a
member axis: members differ in their seed (initial weights, sampler keys, order of the examples) and in any
of the trainer's scalar hyperparameters (``trainer.hyperparameter_names``: learning rate, beta range, weak
nudge, Boltzmann beta). What changes an array shape -- widths, number of reads, number of sweeps, batch
size -- is fixed per ensemble: a study groups its members by shape and builds one ensemble per group
(one compilation each). The member axis is split over all devices when it divides evenly; a single network
(one member) has the examples of its batch split instead.

Member i of an ensemble follows the same computation as the single run with seed i (the single run is an
ensemble of one, run by the unbatched program), so it gives the same predictions, accuracies and wrong-label
counts; losses agree to float32 rounding (tested).
"""
from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..data import Dataset
from ..ising import ProblemError
from .core import TrainState, check_dataset, compiled

if TYPE_CHECKING:  # the trainers build on this module (they import it in their methods), not the other way
    from .annealer import AnnealerTrainer
    from .backprop import BackpropTrainer

__all__ = ["Ensemble", "MEMBER_AXES", "parse_seeds", "member", "member_record", "fit_single"]

MEMBER_AXES = TrainState(params=0, opt_state=0, key=0, step=None, epoch=None, hyper=0, eval_key=0)
EVAL_BATCH = 256


def parse_seeds(spec: str | int | list[int] | tuple[int, ...] | range | np.ndarray) -> list[int]:
    """Seeds from ``"a:b"`` (a, ..., b - 1), ``"a,b,c"``, a count ``"N"`` (0, ..., N - 1) or a sequence."""
    if isinstance(spec, (list, tuple, range, np.ndarray)):
        seeds = [int(s) for s in spec]
    else:
        text = str(spec).strip()
        try:
            if ":" in text:
                a, b = text.split(":")
                seeds = list(range(int(a), int(b)))
            elif "," in text:
                seeds = [int(s) for s in text.split(",") if s.strip()]
            else:
                seeds = list(range(int(text)))
        except ValueError:
            raise ProblemError(f"seeds must be 'a:b', 'a,b,c' or a count N, got {spec!r}") from None
    if not seeds:
        raise ProblemError(f"no seeds in {spec!r}")
    if any(s < 0 or s >= 2 ** 31 - 1 for s in seeds):
        raise ProblemError(f"seeds must lie in [0, 2^31 - 1), got {spec!r}")
    return seeds


def _members(state: TrainState, f):
    """Apply ``f`` to the member-axis leaves of a state."""
    return state._replace(**{name: jax.tree_util.tree_map(f, getattr(state, name))
                             for name, axis in MEMBER_AXES._asdict().items() if axis == 0})


def _first(tree):
    return jax.tree_util.tree_map(lambda leaf: leaf[0], tree)


def member(state: TrainState, i: int) -> TrainState:
    """Member ``i`` of an ensemble state, as a single run's state."""
    return _members(state, lambda leaf: leaf[i])


def _stack(state: TrainState) -> TrainState:
    return _members(state, lambda leaf: leaf[None])


def _member_sharding(num_members: int, batch: int):
    """(state sharding, batch sharding) over all devices: members when they divide evenly, else the
    examples of a lone network's batch, else nothing."""
    devices = jax.devices()
    if len(devices) < 2:
        return None, None
    mesh = Mesh(np.asarray(devices), ("d",))
    if num_members % len(devices) == 0:
        spec = NamedSharding(mesh, PartitionSpec("d"))
        return spec, spec
    if num_members == 1 and batch % len(devices) == 0:
        return None, NamedSharding(mesh, PartitionSpec(None, "d"))
    return None, None


class Ensemble:
    """``Ensemble(trainer, seeds, **hyperparameters)``: ``len(seeds)`` networks of ``trainer``'s shape.

    Each hyperparameter is one value for all members or a sequence with one value per member (for
    ``beta_range``, one pair or a sequence of pairs). A trainer with a ``dimod.Sampler`` (host calls)
    trains one member at a time only.
    """

    def __init__(self, trainer: AnnealerTrainer | BackpropTrainer, seeds: Sequence[int], **hyperparameters):
        self.trainer = trainer
        self.seeds = parse_seeds(seeds)
        self.size = len(self.seeds)
        if not trainer.jittable and self.size > 1:
            raise ProblemError("an ensemble needs a JAX sampler (pa, sa, piqmc, exact): a dimod sampler is called "
                               "from the host, one network at a time")
        self.member_hyper = [self._member_overrides(hyperparameters, i) for i in range(self.size)]
        for overrides in self.member_hyper:  # bad names or values are reported here, not at the first step
            trainer.hyperparameters(1, **overrides)
        if trainer.jittable and self.size > 1:
            self.step = compiled(trainer, "ensemble step", lambda: jax.jit(
                jax.vmap(trainer._step, in_axes=(MEMBER_AXES, 0, 0, 0), out_axes=(MEMBER_AXES, 0))))
            self._predict = compiled(trainer, "ensemble predict", lambda: jax.jit(
                jax.vmap(trainer._predict_fn, in_axes=(0, None, 0, 0))))
        elif trainer.jittable:  # one network: the unbatched program (vmap over one member costs ~70% in PA)
            self.step = compiled(trainer, "single step", lambda: jax.jit(self._one_step))
            self._predict = compiled(trainer, "single predict", lambda: jax.jit(
                lambda params, x, key, hyper: trainer._predict_fn(_first(params), x, key[0], _first(hyper))[None]))
        else:
            self.step = self._eager_step

    def _member_overrides(self, hyperparameters, i):
        out = {}
        for name, value in hyperparameters.items():
            per_member = np.ndim(value) >= (2 if name == "beta_range" else 1)
            if per_member and len(value) != self.size:
                raise ProblemError(f"hyperparameter {name!r} has {len(value)} values for {self.size} members")
            out[name] = value[i] if per_member else value
        return out

    def _one_step(self, state, x, y, mask=None):
        new, info = self.trainer._step(member(state, 0), x[0], y[0], None if mask is None else mask[0])
        return _stack(new), jax.tree_util.tree_map(lambda a: jnp.asarray(a)[None], info)

    _eager_step = _one_step  # a host sampler: the same, run op by op

    def init(self, total_steps: int = 1000) -> TrainState:
        """The members' initial states, stacked on a leading member axis (``step``, ``epoch`` shared)."""
        hypers = [self.trainer.hyperparameters(total_steps, **h) for h in self.member_hyper]
        hyper = {k: np.stack([h[k] for h in hypers]) for k in hypers[0]}
        init = compiled(self.trainer, "ensemble init",
                        lambda: jax.jit(jax.vmap(self.trainer.init_from_seed, out_axes=MEMBER_AXES)))
        state = init(jnp.asarray(self.seeds, jnp.int32), hyper)
        return self.place(state)

    def place(self, state: TrainState) -> TrainState:
        """Put the member axis of ``state`` on the devices (when it divides evenly over them)."""
        sharding, _ = _member_sharding(self.size, 1)
        return state if sharding is None else _members(state, lambda leaf: jax.device_put(leaf, sharding))

    def evaluate(self, state: TrainState, x: npt.ArrayLike, y: npt.ArrayLike) -> np.ndarray:
        """Accuracy of every member on (x, y): shape (members,); each member with its own evaluation key."""
        if len(x) == 0:
            return np.full(self.size, np.nan)
        if not self.trainer.jittable:
            one = member(state, 0)
            return np.array([self.trainer.evaluate(one.params, x, y, one.eval_key, one.hyper)])
        predict = lambda xb: np.asarray(self._predict(state.params, xb, state.eval_key, state.hyper))  # noqa: E731
        preds = np.concatenate([predict(xb)[:, :n] for xb, n in eval_batches(x)], axis=1)
        return np.mean(preds == np.asarray(y)[None, :], axis=1)

    def fit(self, data: Dataset, epochs: int, state: TrainState | None = None, eval_every: int = 1,
            progress: bool = False, on_epoch: Callable[[TrainState, dict], object] | None = None,
            description: str = "ensemble epochs",
            on_step: Callable[[TrainState, int], object] | None = None) -> tuple[TrainState, list[dict]]:
        """Train every member for ``epochs`` epochs on ``data``; each member sees the examples in its own order
        (``numpy.random.default_rng((seed, epoch))``); a short last batch is padded to the batch shape with
        repeats of its own examples, masked out of the loss, gradient and metrics (one compiled step; a host
        sampler gets the short batch). Returns (state, history): per epoch a record whose
        per-member entries are arrays of shape (members,). ``on_epoch(state, record)`` after each epoch;
        ``on_step(state, steps)`` after each step (``steps`` done so far, counted from the start of training)."""
        trainer = self.trainer
        if int(epochs) != epochs or epochs < 1:
            raise ProblemError(f"epochs must be a positive integer, got {epochs!r}")
        steps_per_epoch = check_dataset(trainer.net, data, trainer.batch_size)
        state = self.init(steps_per_epoch * epochs) if state is None else state
        members = jax.tree_util.tree_leaves(state.params)[0].shape[0]
        if members != self.size:
            raise ProblemError(f"the state holds {members} networks but the ensemble has {self.size} seeds")
        planned = float(np.max(np.asarray(state.hyper["total_steps"])))
        if steps_per_epoch * epochs > planned and trainer.lr_schedule == "cosine" and trainer.optimizer is None:
            warnings.warn(f"training to {steps_per_epoch * epochs} steps, past the {planned:.0f} steps its cosine "
                          f"schedule was made for: the learning rate stays 0 from there", stacklevel=2)
        x_train, y_train = np.asarray(data.x_train, np.float32), np.asarray(data.y_train)
        _, batch_sharding = _member_sharding(self.size, trainer.batch_size)
        epochs_left = range(int(state.epoch), epochs)
        if progress:
            from tqdm.auto import tqdm
            epochs_left = tqdm(epochs_left, desc=description, initial=int(state.epoch), total=epochs)
        history = []
        step = int(state.step)  # counted on the host from here: no device round-trip per step
        for epoch in epochs_left:
            start = time.perf_counter()
            calls0, updates0 = trainer.stats.calls, trainer.stats.spin_updates
            qpu0 = dict(trainer.qpu_stats) if isinstance(trainer.qpu_stats, dict) else None
            orders = np.stack([np.random.default_rng((seed, epoch)).permutation(len(x_train)) for seed in self.seeds])
            infos, calls, updates, largest, largest_couplings = [], 0, 0, 0, 0
            for i in range(0, len(x_train), trainer.batch_size):
                idx = orders[:, i:i + trainer.batch_size]
                real = idx.shape[1]
                if trainer.jittable and real < trainer.batch_size:  # one compiled shape: pad, masked out
                    idx = np.take(idx, np.arange(trainer.batch_size) % real, axis=1)
                mask = np.broadcast_to((np.arange(idx.shape[1]) < real).astype(np.float32), idx.shape)
                xb, yb = x_train[idx], y_train[idx]
                if batch_sharding is not None and (self.size > 1 or idx.shape[1] == trainer.batch_size):
                    xb, yb = jax.device_put(xb, batch_sharding), jax.device_put(yb, batch_sharding)
                    mask = jax.device_put(mask, batch_sharding)
                c, u, n, k = trainer.step_cost(step, idx.shape[1])
                step += 1
                calls, updates = calls + c, updates + u
                largest, largest_couplings = max(largest, n), max(largest_couplings, k)
                state, info = self.step(state, xb, yb, mask)
                infos.append((info, real))
                if on_step is not None:
                    on_step(state, step)
            state = state._replace(epoch=jnp.int32(epoch + 1))
            infos = jax.device_get(infos)
            if trainer.jittable:
                trainer.stats.record(calls * self.size, updates * self.size, largest)
            else:  # a host sampler counted its own calls
                calls, updates = trainer.stats.calls - calls0, trainer.stats.spin_updates - updates0
            record = {"epoch": epoch + 1, "examples_seen": (epoch + 1) * len(x_train), **_summarise(infos),
                      "sampler_calls": calls, "spin_updates": updates, "largest_subproblem": largest,
                      "largest_subproblem_couplings": largest_couplings,
                      "train_seconds": time.perf_counter() - start}
            if qpu0 is not None:  # QPU calls of the training phases (evaluation excluded)
                record["qpu"] = _qpu_delta(trainer.qpu_stats, qpu0)
            if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
                record["test_accuracy"] = self.evaluate(state, data.x_test, data.y_test)
            record["wall_seconds"] = time.perf_counter() - start
            history.append(record)
            if on_epoch is not None:
                on_epoch(state, record)
        return state, history


def eval_batches(x, size: int = EVAL_BATCH):
    """(batch, number of real rows) over x, each batch zero-padded to ``size`` rows: one compiled shape."""
    x = np.asarray(x, np.float32)
    for i in range(0, len(x), size):
        xb = x[i:i + size]
        n = len(xb)
        if n < size:
            xb = np.concatenate([xb, np.zeros((size - n,) + xb.shape[1:], xb.dtype)])
        yield jnp.asarray(xb), n


def _summarise(infos) -> dict:
    """Per-member epoch figures from the steps' (info, number of real examples); fields (members, ...)."""
    fields = infos[0][0]._fields
    column = {f: [np.asarray(getattr(i, f)) if f == "loss" else np.asarray(getattr(i, f))[:, :n] for i, n in infos]
              for f in fields}
    out = {"loss": np.mean(np.stack(column["loss"], axis=1), axis=1),
           "train_accuracy_running": np.mean(np.concatenate(column["correct"], axis=1), axis=1)}
    if "wrong_label_states" in fields:
        wrong = np.concatenate(column["wrong_label_states"], axis=1)
        gaps = np.concatenate(column["gap"], axis=1)
        out["mean_wrong_label_states"] = wrong.mean(axis=1)
        out["fraction_with_wrong_label_states"] = (wrong > 0).mean(axis=1)
        with warnings.catch_warnings():  # a member without any wrong-label state has no gap: nan
            warnings.simplefilter("ignore", RuntimeWarning)
            out["mean_gap"] = np.nanmean(np.where(wrong > 0, gaps, np.nan), axis=1)
    return out


def _qpu_delta(now: dict, before: dict) -> dict:
    calls, problems = now["qpu_calls"] - before["qpu_calls"], now["problems"] - before["problems"]
    return {"calls": calls, "access_time_s": 1e-6 * (now["qpu_access_time_us"] - before["qpu_access_time_us"]),
            "chain_break_fraction": (now["chain_break_fraction_sum"] - before["chain_break_fraction_sum"])
            / max(problems, 1), "physical_qubits": now["physical_qubits"], "problems": problems,
            "estimated_access_time_s": 1e-6 * (now["estimated_access_time_us"] - before["estimated_access_time_us"])}


def member_record(record: dict, i: int = 0) -> dict:
    """Member ``i``'s figures of an epoch record as plain numbers (None for a nan gap), as single runs report."""
    out = {}
    for k, v in record.items():
        if isinstance(v, (np.ndarray, list)):
            v = float(np.asarray(v, float).reshape(-1)[i])
            if k == "mean_gap" and np.isnan(v):
                v = None
        out[k] = v
    return out


def fit_single(trainer: AnnealerTrainer | BackpropTrainer, data: Dataset, epochs: int, state: TrainState | None,
               eval_every: int, progress: bool, on_epoch: Callable[[TrainState, dict], object] | None,
               description: str) -> tuple[TrainState, list[dict]]:
    """A single network's ``fit``: the ensemble loop with one member (seed ``trainer.seed``)."""
    ensemble = Ensemble(trainer, [trainer.seed])
    callback = None if on_epoch is None else (lambda s, r: on_epoch(member(s, 0), member_record(r)))
    state, history = ensemble.fit(data, epochs, None if state is None else ensemble.place(_stack(state)), eval_every,
                                  progress, callback, description)
    return member(state, 0), [member_record(r) for r in history]
