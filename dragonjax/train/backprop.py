"""The backprop baseline (DESIGN section 5): the same architecture as a feed-forward classifier in flax.

Hidden units tanh (or sign with a straight-through estimator), the output layer of C x K units read as
class logits = the mean of each class's K units (times ``logit_scale``), cross-entropy, optax Adam with the
same cosine schedule, batch size and data as the annealer trainer; weights drawn from the same
distribution (N(0, scale^2 / fan_in), zero biases).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
import optax
from jax.typing import ArrayLike

from ..data import Dataset
from ..ising import ProblemError
from ..nn import IsingNetwork
from .core import (TrainState, adam_init, apply_gradients, base_hyperparameters, check_parametrisation,
                   check_schedule_name, compiled, learning_rate_multipliers, scalar_hyper)
from .phases import SamplerStats

__all__ = ["FeedForward", "BackpropTrainer", "BackpropStepInfo", "ising_parameters"]


@jax.custom_jvp
def sign_ste(x):
    return jnp.where(x >= 0, 1.0, -1.0)


@sign_ste.defjvp
def _sign_ste_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    return sign_ste(x), dx * (jnp.abs(x) <= 1.0)  # straight-through (hard-tanh gradient)


class FeedForward(fnn.Module):
    sizes: Sequence[int]  # all layer sizes, input to output
    activation: str = "tanh"
    init_scale: float = 1.0

    @fnn.compact
    def __call__(self, x):
        act = jnp.tanh if self.activation == "tanh" else sign_ste
        for i, width in enumerate(self.sizes[1:]):
            fan_in = self.sizes[i]
            x = fnn.Dense(width, kernel_init=jax.nn.initializers.normal(self.init_scale / np.sqrt(fan_in)),
                          bias_init=jax.nn.initializers.zeros)(x)
            if i < len(self.sizes) - 2:
                x = act(x)
        return x


def ising_parameters(params: dict) -> dict:
    """The :class:`FeedForward` parameters as :class:`~dragonjax.nn.IsingNetwork` parameters (weights W_l =
    Dense_l's kernel, biases b_{l+1} = its bias; any leading ensemble axis kept): with sign units the
    feed-forward pass is the network's zero-temperature pass layer by layer, so the same weights can be read out
    by annealing the Ising network's free phase -- the annealer's model class."""
    layers = sorted(params["params"], key=lambda name: int(name.rsplit("_", 1)[1]))
    return {"weights": [params["params"][n]["kernel"] for n in layers],
            "biases": [params["params"][n]["bias"] for n in layers]}


class BackpropStepInfo(NamedTuple):
    loss: jax.Array  # scalar cross-entropy of the mini-batch
    correct: jax.Array  # (B,) argmax of the logits is y (before the update)


class BackpropTrainer:
    """Cross-entropy training of :class:`FeedForward` with the network's architecture; the same pure
    ``init`` / ``step`` interface as :class:`~dragonjax.train.AnnealerTrainer` (hyperparameter:
    ``learning_rate``)."""

    jittable = True

    def __init__(self, network: IsingNetwork, learning_rate: float = 0.003, batch_size: int = 32,
                 activation: str = "tanh", logit_scale: float = 1.0, lr_schedule: str = "cosine", seed: int = 0,
                 optimizer: optax.GradientTransformation | None = None, parametrisation: str = "standard"):
        if activation not in ("tanh", "sign"):
            raise ProblemError(f"activation must be 'tanh' or 'sign' (straight-through), got {activation!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ProblemError(f"batch_size must be a positive integer, got {batch_size!r}")
        if network.layer_scales is not None:
            raise ProblemError("BackpropTrainer initialises every layer at the network's init_scale; layer_scales "
                               "are not supported here")
        self.net = network
        self.model = FeedForward(tuple(network.sizes), activation, network.init_scale)
        self.learning_rate = float(scalar_hyper("learning_rate", learning_rate))
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.logit_scale = float(logit_scale)
        self.lr_schedule = check_schedule_name(lr_schedule)
        self.optimizer = optimizer
        self._transform = optimizer  # None: the built-in Adam of train.core (bias corrections from the shared step)
        self.parametrisation = check_parametrisation(parametrisation, optimizer)
        self.sampler_name = "backprop"
        self.stats = SamplerStats()
        self.qpu_stats = None
        self.step = compiled(self, "step", lambda: jax.jit(self._step))
        self._predict = compiled(self, "predict", lambda: jax.jit(self._predict_fn))

    def compile_key(self) -> tuple | None:
        """What the compiled step depends on besides array shapes (None: do not share it)."""
        if self.optimizer is not None:
            return None
        return (type(self), tuple(self.net.sizes), self.net.spins_per_class, self.model.activation,
                self.model.init_scale, self.logit_scale, self.lr_schedule, self.parametrisation)

    def logits(self, params: dict, x: ArrayLike) -> jax.Array:
        """Class scores of the feed-forward network for inputs ``x``."""
        out = self.model.apply(params, x)
        votes = out.reshape(out.shape[:-1] + (self.net.num_classes, self.net.spins_per_class))
        return self.logit_scale * votes.mean(-1)

    def step_cost(self, step: int, batch: int) -> tuple[int, int, int, int]:
        """(sampler calls, spin updates, largest subproblem's spins and couplings) of a step: none for backprop."""
        return 0, 0, 0, 0

    @property
    def hyperparameter_names(self) -> tuple[str, ...]:
        """The hyperparameters that live in the state and may differ between ensemble members."""
        return () if self.optimizer is not None else ("learning_rate",)

    def hyperparameters(self, total_steps: int, **overrides) -> dict:
        """The state's hyperparameters: learning rate and total steps (see train.core)."""
        return base_hyperparameters(self, total_steps, overrides)

    def init(self, key: int | np.integer | None = None, total_steps: int = 1000, **hyperparameters) -> TrainState:
        """The initial state from an integer seed (default ``seed``): member ``seed`` of an ensemble (unlike
        :meth:`~dragonjax.train.AnnealerTrainer.init`, no PRNG key: the flax model draws its own from the seed)."""
        from .ensemble import Ensemble, member

        if key is not None and not isinstance(key, (int, np.integer)):
            raise TypeError(f"BackpropTrainer.init takes an integer seed, got {type(key).__name__}")
        seed = self.seed if key is None else int(key)
        return member(Ensemble(self, [seed], **hyperparameters).init(total_steps), 0)

    def init_from_seed(self, seed: ArrayLike, hyper: dict) -> TrainState:
        """Pure and vmappable over ``seed`` and the leaves of ``hyper``: the initial state of seed ``seed``."""
        key = jax.random.key(seed)
        k_init, key = jax.random.split(key)
        params = self.model.init(k_init, jnp.zeros((1, self.net.num_inputs)))
        hyper = {k: jnp.asarray(v, jnp.float32) for k, v in hyper.items()}
        opt_state = adam_init(params) if self._transform is None else self._transform.init(params)
        return TrainState(params, opt_state, key, jnp.int32(0), jnp.int32(0), hyper,
                          jax.random.key(seed + 1))

    def _step(self, state: TrainState, x, y, mask=None) -> tuple[TrainState, BackpropStepInfo]:
        def loss_fn(params):
            logits = self.logits(params, x)
            ce = optax.softmax_cross_entropy_with_integer_labels(logits, y)
            return (ce.mean() if mask is None else jnp.sum(mask * ce) / jnp.sum(mask)), logits

        (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        params, opt_state = apply_gradients(state, grads, self._transform, self.lr_schedule,
                                            learning_rate_multipliers(state.params, self.parametrisation))
        info = BackpropStepInfo(loss, jnp.argmax(logits, axis=-1) == y)
        return state._replace(params=params, opt_state=opt_state, step=state.step + 1), info

    def _predict_fn(self, params, x, key=None, hyper=None):
        return jnp.argmax(self.logits(params, x), axis=-1)

    def predict(self, params: dict, x: npt.ArrayLike, key: jax.Array | None = None,
                hyper: dict | None = None) -> np.ndarray:
        """Class predictions: the argmax of the logits (``key`` and ``hyper`` are not used)."""
        return np.asarray(self._predict(params, jnp.asarray(x, jnp.float32)))

    def evaluate(self, params: dict, x: npt.ArrayLike, y: npt.ArrayLike, key: jax.Array | None = None,
                 hyper: dict | None = None) -> float:
        """Accuracy of the argmax of :meth:`logits` on (x, y)."""
        if len(x) == 0:
            return float("nan")
        return float(np.mean(self.predict(params, x) == np.asarray(y)))

    def fit(self, data: Dataset, epochs: int, state: TrainState | None = None, eval_every: int = 1,
            progress: bool = False,
            on_epoch: Callable[[TrainState, dict], object] | None = None) -> tuple[TrainState, list[dict]]:
        """See :meth:`~dragonjax.train.AnnealerTrainer.fit`."""
        from .ensemble import fit_single

        return fit_single(self, data, epochs, state, eval_every, progress, on_epoch, "backprop epochs")
