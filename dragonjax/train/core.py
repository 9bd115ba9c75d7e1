"""What every trainer shares: the explicit training state, the optimiser step with a learning rate that
lives in the state, and the checks of a dataset.

A trainer (annealer-assisted or backprop) is a pair of pure functions in the optax/blackjax manner,

    state = trainer.init(key, total_steps)            # TrainState
    state, info = trainer.step(state, x, y)           # one mini-batch; info a NamedTuple of metrics

``step`` is one jit-compiled function (sampling, loss, gradient, optimiser update and metrics) with no host
round-trip, so that :class:`~dragonjax.train.ensemble.Ensemble` can ``vmap`` it over many networks.
Scalar hyperparameters (learning rate, beta range, weak-nudge strength, ...) are leaves of the state
(``state.hyper``), not constants of the compiled function: members of an ensemble may differ in them.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, NamedTuple, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from ..data import Dataset
from ..ising import ProblemError
from ..nn import IsingNetwork

if TYPE_CHECKING:  # the trainers import this module: a circular import at run time
    from .annealer import AnnealerTrainer
    from .backprop import BackpropTrainer

_T = TypeVar("_T")

__all__ = ["TrainState", "AdamState", "LR_SCHEDULES", "PARAMETRISATIONS", "REFERENCE_FAN_IN", "learning_rate_factor",
           "learning_rate_multipliers", "adam_init", "apply_gradients", "check_dataset", "compiled"]

LR_SCHEDULES = ("cosine", "constant")
PARAMETRISATIONS = ("standard", "width-aware")
REFERENCE_FAN_IN = 64  # the fan-in at which the two parametrisations coincide (digits' 64 pixels)


class TrainState(NamedTuple):
    """Everything a training run carries from step to step. ``step`` and ``epoch`` are integer scalars
    shared by all members of an ensemble; the other leaves carry the member axis there."""
    params: dict
    opt_state: optax.OptState
    key: jax.Array
    step: jax.Array
    epoch: jax.Array
    hyper: dict  # name -> float32 scalar: learning_rate, total_steps and the trainer's own
    eval_key: jax.Array  # the key of the member's evaluations (key(seed + 1) for a seed)


def learning_rate_factor(step: ArrayLike, total_steps: ArrayLike, schedule: str, warmup_steps: int = 0) -> jax.Array:
    """The schedule's factor at ``step``: 1 (constant) or optax's cosine decay to 0 over ``total_steps``; with
    ``warmup_steps`` > 0 it first rises linearly from 0 (step 0) to 1 over those steps and the cosine decays over
    the steps left (optax's ``warmup_cosine_decay_schedule`` from 0)."""
    if warmup_steps > 0:
        rise = jnp.minimum(step, warmup_steps) / warmup_steps
        rest = learning_rate_factor(step - warmup_steps, jnp.maximum(total_steps - warmup_steps, 1), schedule)
        return jnp.where(step < warmup_steps, rise, rest)
    if schedule == "constant":
        return jnp.float32(1.0)
    fraction = jnp.minimum(step, total_steps) / total_steps
    return 0.5 * (1.0 + jnp.cos(jnp.pi * fraction))


def learning_rate_multipliers(params: dict, parametrisation: str) -> dict | None:
    """Per-parameter factors of the learning rate: None for the ``standard`` parametrisation (one learning rate);
    for ``width-aware`` a weight matrix W (fan_in, fan_out) gets REFERENCE_FAN_IN / fan_in, a bias 1.

    Why: Adam moves every weight by about the learning rate per step, and the update of a layer is coherent
    across its inputs (the Hebbian / back-propagated gradient of W_ij carries the sign of s_i), so one step
    changes a unit's field sum_i W_ij s_i by ~ lr x fan_in, while the field itself is O(1) (weights
    ~ 1/sqrt(fan_in)). With one learning rate a wider network therefore takes relatively larger steps and its
    transition epoch t* falls ~ 1/width by construction; with lr ∝ 1/fan_in (the muP rule for Adam) the
    relative change per step is independent of width, so t*(N) measures the landscape, not the step size."""
    if parametrisation == "standard":
        return None
    return jax.tree_util.tree_map(lambda p: REFERENCE_FAN_IN / p.shape[0] if p.ndim == 2 else 1.0, params)


class AdamState(NamedTuple):
    mu: dict  # first moment
    nu: dict  # second moment


def adam_init(params: dict) -> AdamState:
    """Adam's zero first and second moments for ``params``."""
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return AdamState(zeros, zeros)


def apply_gradients(state: TrainState, grads: dict, transform: optax.GradientTransformation | None,
                    schedule: str | None, multipliers: dict | None = None,
                    warmup_steps: int = 0, weight_decay: float = 0.0) -> tuple[dict, AdamState | Any]:
    """One optimiser step. Default (``transform`` None): Adam (b1 0.9, b2 0.999, eps 1e-8, as optax.adam)
    scaled by -learning_rate x schedule factor, both read from the state -- with ``weight_decay`` w, AdamW (as
    optax.adamw: w x the parameter added to Adam's direction, every parameter); its bias corrections come from the
    state's shared ``step``, so every member of an ensemble computes them exactly as its single run does
    (optax's per-member step count is a vector under ``vmap``, whose power rounds differently). A user's
    optax transformation (``schedule`` None) is applied as it is."""
    if transform is not None:
        updates, opt_state = transform.update(grads, state.opt_state, state.params)
        return optax.apply_updates(state.params, updates), opt_state
    b1, b2, eps = 0.9, 0.999, 1e-8
    mu = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.opt_state.mu, grads)
    nu = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, state.opt_state.nu, grads)
    t = (state.step + 1).astype(jnp.float32)
    c1, c2 = 1 - b1 ** t, 1 - b2 ** t
    scale = -state.hyper["learning_rate"] * learning_rate_factor(state.step, state.hyper["total_steps"], schedule,
                                                                 warmup_steps)
    if multipliers is None:
        multipliers = jax.tree_util.tree_map(lambda p: 1.0, state.params)
    if weight_decay:
        params = jax.tree_util.tree_map(
            lambda p, m, v, k: p + (k * scale) * ((m / c1) / (jnp.sqrt(v / c2) + eps) + weight_decay * p),
            state.params, mu, nu, multipliers)
    else:
        params = jax.tree_util.tree_map(lambda p, m, v, k: p + (k * scale) * ((m / c1) / (jnp.sqrt(v / c2) + eps)),
                                        state.params, mu, nu, multipliers)
    return params, AdamState(mu, nu)


def base_hyperparameters(trainer, total_steps: int, overrides: dict) -> dict:
    """The hyperparameters every trainer has (learning rate, total steps), after checking that ``overrides``
    name only the trainer's ``hyperparameter_names``."""
    unknown = sorted(set(overrides) - set(trainer.hyperparameter_names))
    if unknown:
        raise ProblemError(f"unknown hyperparameter(s) {unknown} for {type(trainer).__name__}; it has "
                           f"{list(trainer.hyperparameter_names)}")
    if int(total_steps) != total_steps or total_steps < 1:
        raise ProblemError(f"total_steps must be a positive integer, got {total_steps!r}")
    return {"learning_rate": scalar_hyper("learning_rate", overrides.get("learning_rate", trainer.learning_rate)),
            "total_steps": np.float32(total_steps)}


def check_schedule_name(schedule: str) -> str:
    if schedule not in LR_SCHEDULES:
        raise ProblemError(f"lr_schedule must be 'cosine' or 'constant', got {schedule!r}")
    return schedule


def check_parametrisation(parametrisation: str, optimizer) -> str:
    if parametrisation not in PARAMETRISATIONS:
        raise ProblemError(f"parametrisation must be one of {', '.join(PARAMETRISATIONS)}; got {parametrisation!r}")
    if parametrisation != "standard" and optimizer is not None:
        raise ProblemError("the width-aware parametrisation scales the built-in Adam's steps; with a custom optax "
                           "optimizer scale its learning rates yourself (e.g. optax.multi_transform)")
    return parametrisation


def check_dataset(net: IsingNetwork, data: Dataset, batch_size: int) -> int:
    """The data fit the network: right input width, finite inputs, labels in range, a training set."""
    net.check_inputs(data.x_train)
    net.check_labels(data.y_train)
    if len(data.x_train) == 0:
        raise ProblemError("the training set is empty")
    if len(data.x_test):
        net.check_inputs(data.x_test)
        net.check_labels(data.y_test)
    return -(-len(data.x_train) // batch_size)


def scalar_hyper(name: str, value, positive: bool = True) -> np.float32:
    """A validated float32 hyperparameter."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ProblemError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or (positive and v <= 0):
        raise ProblemError(f"{name} must be {'positive and ' if positive else ''}finite, got {value!r}")
    return np.float32(v)


_COMPILED: dict = {}


def compiled(trainer: AnnealerTrainer | BackpropTrainer, name: str, build: Callable[[], _T]) -> _T:
    """``build()`` (a jit-compiled function of ``trainer``), shared by every trainer with the same
    ``compile_key()`` -- so that a second trainer of the same configuration (a second study, a second test,
    the next width's twin) reuses the compiled program instead of tracing and compiling it again. A trainer
    whose key is None (a custom optimiser, a host sampler) always builds its own."""
    key = trainer.compile_key()
    if key is None:
        return build()
    if (key, name) not in _COMPILED:
        _COMPILED[key, name] = build()
    return _COMPILED[key, name]
