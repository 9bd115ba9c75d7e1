"""The backprop baseline (DESIGN section 5): the same architecture as a feed-forward classifier in flax.

Hidden units tanh (or sign with a straight-through estimator), the output layer of C x K units read as
class logits = the mean of each class's K units (times ``logit_scale``), cross-entropy, optax Adam with the
same cosine schedule, batch size and data as the annealer trainer; weights drawn from the same
distribution (N(0, scale^2 / fan_in), zero biases).
"""
from __future__ import annotations

import time
from typing import Sequence

import flax.linen as fnn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..ising import ProblemError
from ..nn import IsingNetwork
from .annealer import TrainState, adam, start_fit

__all__ = ["FeedForward", "BackpropTrainer"]


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


class BackpropTrainer:
    """Cross-entropy training of :class:`FeedForward` with the network's architecture."""

    def __init__(self, network: IsingNetwork, learning_rate: float = 0.003, batch_size: int = 32,
                 activation: str = "tanh", logit_scale: float = 1.0, lr_schedule: str = "cosine", seed: int = 0):
        if activation not in ("tanh", "sign"):
            raise ProblemError(f"activation must be 'tanh' or 'sign' (straight-through), got {activation!r}")
        self.net = network
        self.model = FeedForward(tuple(network.sizes), activation, network.init_scale)
        self.learning_rate, self.batch_size, self.seed = float(learning_rate), int(batch_size), int(seed)
        self.logit_scale = float(logit_scale)
        self.lr_schedule = lr_schedule
        self.optimizer = None
        self.sampler_name = "backprop"

        def loss_fn(params, x, y):
            logits = self.logits(params, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        def update(params, opt_state, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
            updates, opt_state = self._tx.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        self._update = jax.jit(update)
        self._predict = jax.jit(lambda p, x: jnp.argmax(self.logits(p, x), axis=-1))

    def logits(self, params, x):
        out = self.model.apply(params, x)
        return self.logit_scale * out.reshape(out.shape[:-1] + (self.net.num_classes, self.net.spins_per_class)).mean(-1)

    def init(self, total_steps: int = 1000) -> TrainState:
        self._tx = self.optimizer or adam(self.learning_rate, total_steps, self.lr_schedule)
        key = jax.random.key(self.seed)
        k_init, key = jax.random.split(key)
        params = self.model.init(k_init, jnp.zeros((1, self.net.num_inputs)))
        return TrainState(params, self._tx.init(params), key, 0, 0)

    def evaluate(self, params, x, y) -> float:
        return float(np.mean(np.asarray(self._predict(params, jnp.asarray(x))) == np.asarray(y)))

    def fit(self, data, epochs: int, state: TrainState | None = None, eval_every: int = 1, progress: bool = False,
            on_epoch=None):
        state, epochs_left = start_fit(self, data, epochs, state, progress, "backprop epochs")
        steps_per_epoch = -(-len(data.x_train) // self.batch_size)
        history = []
        for epoch in epochs_left:
            start = time.perf_counter()
            order = np.random.default_rng((self.seed, epoch)).permutation(len(data.x_train))
            losses = []
            params, opt_state = state.params, state.opt_state
            for i in range(0, len(order), self.batch_size):
                idx = order[i:i + self.batch_size]
                params, opt_state, loss = self._update(params, opt_state, jnp.asarray(data.x_train[idx]),
                                                       jnp.asarray(data.y_train[idx]))
                losses.append(loss)
            state = TrainState(params, opt_state, state.key, state.step + steps_per_epoch, epoch + 1)
            record = {"epoch": epoch + 1, "examples_seen": (epoch + 1) * len(order),
                      "loss": float(np.mean(jnp.stack(losses))),
                      "train_accuracy": self.evaluate(params, data.x_train, data.y_train),
                      "train_seconds": time.perf_counter() - start, "sampler_calls": 0, "spin_updates": 0}
            if (epoch + 1) % eval_every == 0 or epoch + 1 == epochs:
                record["test_accuracy"] = self.evaluate(params, data.x_test, data.y_test)
            record["wall_seconds"] = time.perf_counter() - start
            history.append(record)
            if on_epoch is not None:
                on_epoch(state, record)
        return state, history
