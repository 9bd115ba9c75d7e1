"""The Ising neural network: a layered spin system whose ground state, given an input, is the prediction.

Layers l = 0..L: layer 0 is the clamped input x (reals in [0, 1] or +-1), layers 1..L are +-1 spins, the
output layer L holds ``num_classes x spins_per_class`` spins (a population code). Given x the energy is

    E(s; x, theta) = - sum_{l=0}^{L-1} s_l^T W_l s_{l+1} - sum_{l=1}^{L} b_l . s_l,   s_0 = x,

an Ising problem over the free spins (layers 1..L, concatenated in order) whose couplings join only
neighbouring layers (an L-partite graph: two colours suffice, so block sweeps update a layer at once).
The input enters as the fields ``-W_0^T x`` on layer 1. Randomly initialised (W ~ N(0, scale^2 / fan_in))
this is a layered Sherrington-Kirkpatrick glass.

``params`` is a PyTree ``{"weights": [W_0, ..., W_{L-1}], "biases": [b_1, ..., b_L]}``.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt
from jax.typing import ArrayLike

from .ising import IsingModel, ProblemError, dot

__all__ = ["IsingNetwork", "ConditionedBatch", "fixed_order_sum"]


class ConditionedBatch(NamedTuple):
    """The Ising problems of a batch of inputs over the free spins of a window: one shared x-independent
    part ``base`` (couplings among the free spins, h = -biases) and per-example ``fields`` (B, n) and
    constant energies ``offsets`` (B,), so that E(s) = base.energy(s) + fields . s + offset."""
    base: IsingModel
    fields: jax.Array
    offsets: jax.Array


def fixed_order_sum(a: jax.Array) -> jax.Array:
    """Sum over the leading axis in a fixed pairwise order (zero-padded to a power of two): the result does
    not depend on how the compiled program batches or shards the computation."""
    n = a.shape[0]
    size = 1 << max(n - 1, 0).bit_length()
    if size != n:
        a = jnp.concatenate([a, jnp.zeros((size - n,) + a.shape[1:], a.dtype)])
    while a.shape[0] > 1:
        a = a[0::2] + a[1::2]
    return a[0]


class IsingNetwork:
    """``IsingNetwork([64, 256], num_classes=10, spins_per_class=4)``: 64 inputs, one hidden layer of 256
    spins and an output layer of 40 spins."""

    def __init__(self, layer_sizes: Sequence[int], num_classes: int, spins_per_class: int = 1,
                 init_scale: float = 1.0, layer_scales: Sequence[float] | None = None):
        sizes = [int(n) for n in layer_sizes]
        if len(sizes) < 1 or any(n < 1 for n in sizes) or any(int(n) != n for n in layer_sizes):
            raise ProblemError(f"layer_sizes must be positive integers [inputs, hidden...], got {layer_sizes!r}")
        if int(num_classes) != num_classes or num_classes < 2:
            raise ProblemError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        if int(spins_per_class) != spins_per_class or spins_per_class < 1:
            raise ProblemError(f"spins_per_class must be a positive integer, got {spins_per_class!r}")
        if not (np.isfinite(init_scale) and init_scale > 0):
            raise ProblemError(f"init_scale must be positive and finite, got {init_scale!r}")
        self.num_inputs = sizes[0]
        self.hidden_sizes = sizes[1:]
        self.num_classes = int(num_classes)
        self.spins_per_class = int(spins_per_class)
        self.sizes = sizes + [self.num_classes * self.spins_per_class]  # layers 0..L
        self.init_scale = float(init_scale)
        starts = np.cumsum([0] + self.sizes[1:])
        self.layer_slices = [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]  # layers 1..L
        self.num_free = int(starts[-1])
        self.output_slice = self.layer_slices[-1]
        self.num_hidden = self.output_slice.start
        if layer_scales is not None:
            try:
                scales = np.asarray(layer_scales, np.float64)
            except (TypeError, ValueError):
                scales = np.full(1, np.nan)
            if scales.shape != (self.num_layers,) or not np.all(np.isfinite(scales) & (scales > 0)):
                raise ProblemError(f"layer_scales must be {self.num_layers} positive finite factors, one per weight "
                                   f"matrix W1..W{self.num_layers}, got {layer_scales!r}")
            layer_scales = tuple(float(v) for v in scales)
        self.layer_scales = layer_scales  # per-matrix factors of the initial scale (None: all 1)

    @property
    def num_layers(self) -> int:
        """L: the number of spin layers (hidden layers + output)."""
        return len(self.sizes) - 1

    def __repr__(self):
        return (f"IsingNetwork(layer_sizes={self.sizes[:-1]}, num_classes={self.num_classes}, "
                f"spins_per_class={self.spins_per_class})")

    # -- parameters -----------------------------------------------------------------------------------
    def init(self, key: jax.Array, scale: float | None = None) -> dict:
        """Gaussian weights with variance (scale f_l)^2 / fan_in, f_l the ``layer_scales`` (default 1), zero biases.
        Layer scales falling with depth (e.g. 1, 0.5, 0.25, 0.125) make each layer's feedback from above weaker than
        its drive from below (the weak-feedback regime of contrastive Hebbian learning, Xie & Seung 2003)."""
        scale = self.init_scale if scale is None else scale
        keys = jax.random.split(key, self.num_layers)
        factors = self.layer_scales or (1.0,) * self.num_layers
        weights = [(scale * f) * jax.random.normal(k, (a, b)) / np.sqrt(a)
                   for k, f, a, b in zip(keys, factors, self.sizes[:-1], self.sizes[1:])]
        biases = [jnp.zeros(n) for n in self.sizes[1:]]
        return {"weights": weights, "biases": biases}

    # -- checks ---------------------------------------------------------------------------------------
    def check_inputs(self, x: npt.ArrayLike) -> None:
        """Raise a ProblemError unless ``x`` has shape (..., num_inputs) and finite values."""
        if np.ndim(x) < 1 or np.shape(x)[-1] != self.num_inputs:
            raise ProblemError(f"inputs must have shape (..., {self.num_inputs}), got {np.shape(x)}")
        if not isinstance(x, jax.core.Tracer) and not np.all(np.isfinite(np.asarray(x))):
            raise ProblemError("inputs contain non-finite values")

    def check_labels(self, y: npt.ArrayLike) -> None:
        """Raise a ProblemError unless ``y`` holds integer labels in [0, num_classes)."""
        y = np.asarray(y)
        if y.size and (y.min() < 0 or y.max() >= self.num_classes or not np.issubdtype(y.dtype, np.integer)):
            raise ProblemError(f"labels must be integers in [0, {self.num_classes}), got range "
                               f"[{y.min()}, {y.max()}] of dtype {y.dtype}")

    # -- physics --------------------------------------------------------------------------------------
    def layers(self, states: jax.Array) -> list[jax.Array]:
        """Split free spins (..., num_free) into the list of layers 1..L."""
        return [states[..., s] for s in self.layer_slices]

    def energy(self, params: dict, x: ArrayLike, states: jax.Array) -> jax.Array:
        """E(s; x, theta) for free spins ``states`` (..., num_free); x (..., num_inputs) broadcasts."""
        if np.shape(states)[-1:] != (self.num_free,):
            raise ProblemError(f"states must have shape (..., {self.num_free}) (the free spins), got "
                               f"{np.shape(states)}")
        if np.shape(x)[-1:] != (self.num_inputs,):
            raise ProblemError(f"inputs must have shape (..., {self.num_inputs}), got {np.shape(x)}")
        layers = [jnp.asarray(x, states.dtype)] + self.layers(states)
        e = 0.0
        for W, a, b in zip(params["weights"], layers[:-1], layers[1:]):
            e = e - jnp.sum(dot(a, W) * b, axis=-1)
        for bias, s in zip(params["biases"], layers[1:]):
            e = e - dot(s, bias)
        return e

    def contrastive_gradient(self, params: dict, x: jax.Array, correct: jax.Array, negatives: jax.Array,
                             weights: jax.Array, mask: jax.Array | None = None) -> dict:
        """Gradient of the contrastive loss  mean_b [E(correct_b) - sum_k w_bk E(negative_bk)]  with respect to
        ``params`` -- the contrastive Hebbian rule, dE/dW_l = -s_l s_{l+1}^T, dE/db_l = -s_l -- written out so
        that it is exact where it should vanish: each example's difference of outer products is formed
        elementwise, negative by negative (so a layer the phases share -- below a window -- gets exactly 0 even
        though the weights sum to 1 only up to rounding), and the batch is summed in a fixed pairwise order
        (:func:`fixed_order_sum`). With ``jax.grad`` the batch sum's order follows the compiled program (batched
        in an ensemble, split over devices), and Adam turns the rounding residue of exactly cancelling terms
        into steps of size lr. ``x`` (B, num_inputs), ``correct`` (B, num_free), ``negatives`` (B, M, num_free),
        ``weights`` (B, M); ``mask`` (B,) of 0/1 leaves out padding examples (the mean is then over the others)."""
        c_layers = [jnp.asarray(x, correct.dtype)] + self.layers(correct)
        n_layers = [jnp.broadcast_to(jnp.asarray(x, correct.dtype)[:, None, :], negatives.shape[:2] + (x.shape[-1],))]
        n_layers += self.layers(negatives)
        batch = x.shape[0]

        def contrast(term):  # sum_k w_k [term(negative_k) - term(correct)] per example: exactly 0 where they agree
            correct_term = term(c_layers, None)
            out = jnp.zeros_like(correct_term)
            for k in range(negatives.shape[1]):
                out = out + weights[:, k].reshape((batch,) + (1,) * (out.ndim - 1)) * (term(n_layers, k) - correct_term)
            if mask is None:
                return fixed_order_sum(out) / batch
            return fixed_order_sum(out * mask.reshape((batch,) + (1,) * (out.ndim - 1))) / jnp.sum(mask)

        pick = lambda layers, k, l: layers[l] if k is None else layers[l][:, k]  # noqa: E731
        weights_grad = [contrast(lambda layers, k, l=l: pick(layers, k, l)[:, :, None]
                                 * pick(layers, k, l + 1)[:, None, :]) for l in range(self.num_layers)]
        biases_grad = [contrast(lambda layers, k, l=l: pick(layers, k, l)) for l in range(1, self.num_layers + 1)]
        return {"weights": weights_grad, "biases": biases_grad}

    def couplings(self, params: dict, free_layers: Sequence[int] | None = None) -> IsingModel:
        """The x-independent part of the conditioned problem over the free spins of ``free_layers``
        (indices 1..L; default all): J from the weights between free layers, h = -b. The input and any
        fixed layers enter through :meth:`input_fields`."""
        free_layers = list(range(1, self.num_layers + 1)) if free_layers is None else list(free_layers)
        sizes = [self.sizes[l] for l in free_layers]
        starts = np.cumsum([0] + sizes)
        n = int(starts[-1])
        J = jnp.zeros((n, n))
        for a, (la, sa) in enumerate(zip(free_layers, starts[:-1])):
            for b, (lb, sb) in enumerate(zip(free_layers, starts[:-1])):
                if lb == la + 1:
                    W = -params["weights"][la]
                    J = J.at[sa:sa + sizes[a], sb:sb + sizes[b]].set(W)
                    J = J.at[sb:sb + sizes[b], sa:sa + sizes[a]].set(W.T)
        h = jnp.concatenate([-params["biases"][l - 1] for l in free_layers])
        return IsingModel(J, h)

    def target_code(self, y: ArrayLike) -> jax.Array:
        """t(y): +1 on class y's K output spins, -1 elsewhere; shape (..., C K)."""
        if not isinstance(y, jax.core.Tracer):
            self.check_labels(y)
        one_hot = jax.nn.one_hot(jnp.asarray(y), self.num_classes)
        return jnp.repeat(2.0 * one_hot - 1.0, self.spins_per_class, axis=-1)

    def input_fields(self, params: dict, x: ArrayLike, fixed: dict | None = None,
                     free_layers: Sequence[int] | None = None, nudge: ArrayLike | None = None,
                     target: ArrayLike | None = None) -> tuple[jax.Array, jax.Array]:
        """Per-example fields on the free spins and constant energy: ``(fields (..., n), offset (...,))``.

        ``fixed`` maps layer index -> spins held fixed (the clamped output t(y) for the strong nudge, or
        layers outside an active window); the input always contributes ``-W_0^T x`` to layer 1. A weak
        nudge adds ``nudge * sum_i (1 - o_i t_i) / 2`` on the output (which must then be free)."""
        free_layers = list(range(1, self.num_layers + 1)) if free_layers is None else list(free_layers)
        values = {0: jnp.asarray(x)}
        values.update(fixed or {})
        batch = jnp.shape(values[0])[:-1]
        fields, offset = [], jnp.zeros(batch)
        for l in free_layers:
            f = jnp.zeros(batch + (self.sizes[l],))
            if l - 1 in values:
                f = f - dot(values[l - 1], params["weights"][l - 1])
            if l + 1 in values:
                f = f - dot(values[l + 1], params["weights"][l].T)
            if nudge is not None and l == self.num_layers:
                f = f - 0.5 * nudge * target
                offset = offset + 0.5 * nudge * self.sizes[l]
            fields.append(f)
        for l, s in values.items():  # energy of the fixed layers among themselves and their biases
            if l == 0:
                continue
            offset = offset - dot(s, params["biases"][l - 1])
            if l - 1 in values:
                offset = offset - jnp.sum(dot(values[l - 1], params["weights"][l - 1]) * s, axis=-1)
        return jnp.concatenate(fields, axis=-1), offset

    def conditioned_problem(self, params: dict, x: ArrayLike, clamp_output: int | None = None,
                            nudge: float | None = None) -> IsingModel:
        """The Ising problem of one input x over the free spins (hidden + output, or hidden only when
        ``clamp_output`` = y clamps the output to t(y)); ``nudge`` with ``clamp_output`` = y instead adds
        the weak nudge. Energies equal :meth:`energy` on every state."""
        self.check_inputs(x)
        if np.ndim(x) != 1:
            raise ProblemError(f"conditioned_problem takes one input of shape ({self.num_inputs},), got {np.shape(x)}")
        fixed, free = {}, None
        target = None
        if clamp_output is not None:
            self.check_labels([clamp_output])
            target = self.target_code(clamp_output)
            if nudge is None:
                fixed = {self.num_layers: target}
                free = list(range(1, self.num_layers))
        base = self.couplings(params, free)
        fields, offset = self.input_fields(params, x, fixed, free, nudge, target)
        return IsingModel(base.J, base.h + fields, offset)

    def window_problem(self, params: dict, x: ArrayLike, window: Sequence[int], fixed: dict,
                       nudge: ArrayLike | None = None, target: jax.Array | None = None) -> ConditionedBatch:
        """The conditioned problem of the batch x (B, num_inputs) over the spins of the ``window`` layers
        (indices 1..L) that are not in ``fixed`` (layer -> spins (B, size) held fixed; layers outside the
        window must all be fixed). ``nudge`` (a weak-nudge strength) with ``target`` = t(y) pulls a free
        output towards the target. See :meth:`stitch` for the way back to full states."""
        free = [l for l in window if l not in fixed]
        missing = [l for l in range(1, self.num_layers + 1) if l not in window and l not in fixed]
        if missing:
            raise ProblemError(f"layers {missing} are outside the window {list(window)} but not fixed")
        if not free:
            raise ProblemError(f"every layer of the window {list(window)} is fixed: nothing to sample")
        fields, offsets = self.input_fields(params, x, fixed, free, nudge, target)
        return ConditionedBatch(self.couplings(params, free), fields, offsets)

    def stitch(self, window_states: jax.Array, window: Sequence[int], fixed: dict) -> jax.Array:
        """Full states (B, R, num_free) from the sampled spins of a window problem (B, R, n) and the
        ``fixed`` layers (layer -> (B, size), broadcast over the R reads); inverse of :meth:`window_problem`."""
        free = [l for l in window if l not in fixed]
        batch, reads = window_states.shape[:2]
        parts, start = [], 0
        for l in range(1, self.num_layers + 1):
            if l in free:
                parts.append(window_states[..., start:start + self.sizes[l]])
                start += self.sizes[l]
            else:
                parts.append(jnp.broadcast_to(fixed[l][:, None, :], (batch, reads, self.sizes[l])))
        return jnp.concatenate(parts, axis=-1)

    # -- readout --------------------------------------------------------------------------------------
    def decode(self, output_spins: ArrayLike) -> jax.Array:
        """Predicted class: argmax over classes of the sum of each class's K output spins."""
        o = jnp.asarray(output_spins)
        votes = o.reshape(o.shape[:-1] + (self.num_classes, self.spins_per_class)).sum(-1)
        return jnp.argmax(votes, axis=-1)

    def forward_pass(self, params: dict, x: ArrayLike) -> jax.Array:
        """Deterministic pass: each layer set to the sign of its field from the layer below."""
        s = jnp.asarray(x)
        out = []
        for W, b in zip(params["weights"], params["biases"]):
            s = jnp.where(dot(s, W) + b >= 0, 1.0, -1.0)
            out.append(s)
        return jnp.concatenate(out, axis=-1)
