import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dragonjax import ProblemError
from dragonjax.nn import IsingNetwork
from dragonjax.train import AnnealerTrainer, select_negatives


@pytest.fixture
def net_and_params():
    net = IsingNetwork([5, 4, 3], num_classes=3, spins_per_class=2)
    params = net.init(jax.random.key(0))
    params["biases"] = [jax.random.normal(jax.random.key(i), b.shape) for i, b in enumerate(params["biases"])]
    return net, params


def random_spins(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape).astype(np.float32)


def test_conditioned_problem_energy_equals_network_energy(net_and_params, rng):
    net, params = net_and_params
    assert net.num_free == 4 + 3 + 6 and net.num_layers == 3
    x = rng.random(5).astype(np.float32)
    states = random_spins(rng, (20, net.num_free))
    model = net.conditioned_problem(params, x)
    np.testing.assert_allclose(model.energy(states), net.energy(params, x, states), rtol=1e-5, atol=1e-5)
    bqm = model.to_bqm()  # and so dimod agrees too
    np.testing.assert_allclose(bqm.energies((states, list(bqm.variables))), net.energy(params, x, states), atol=1e-4)
    # strong nudge: output clamped to t(y)
    clamped = net.conditioned_problem(params, x, clamp_output=2)
    hidden = states[:, :net.num_hidden]
    full = np.concatenate([hidden, np.broadcast_to(np.asarray(net.target_code(2)), (20, 6))], axis=1)
    np.testing.assert_allclose(clamped.energy(hidden), net.energy(params, x, full), rtol=1e-5, atol=1e-5)
    # weak nudge adds beta_nudge * sum (1 - o t) / 2
    weak = net.conditioned_problem(params, x, clamp_output=1, nudge=0.7)
    o = states[:, net.output_slice]
    penalty = 0.7 * np.sum(1 - o * np.asarray(net.target_code(1)), axis=1) / 2
    np.testing.assert_allclose(weak.energy(states), net.energy(params, x, states) + penalty, rtol=1e-5, atol=1e-5)


def test_couplings_are_layered_and_decode(net_and_params):
    net, params = net_and_params
    J = np.asarray(net.couplings(params).J)
    assert not J[:4, 7:].any() and J[:4, 4:7].any()  # layer 1 couples to layer 2 only
    o = -np.ones((2, 6))
    o[0, 2:4] = 1  # class 1
    o[1, 4] = 1
    np.testing.assert_array_equal(net.decode(o), [1, 2])


def test_loss_gradient_is_contrastive_hebbian(net_and_params, rng):
    net, params = net_and_params
    trainer = AnnealerTrainer(net, sampler="exact", num_reads=4, num_negatives=2)
    x = rng.random((3, 5)).astype(np.float32)
    correct = random_spins(rng, (3, net.num_free))
    negatives = random_spins(rng, (3, 2, net.num_free))
    weights = np.array([[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]], np.float32)
    grads = jax.grad(trainer._loss)(params, x, correct, negatives, weights)

    def outer(a, b):
        return np.einsum("bi,bj->bij", a, b)

    layers_c = [x] + [correct[:, s] for s in net.layer_slices]
    layers_n = [np.broadcast_to(x[:, None], (3, 2, 5))] + [negatives[..., s] for s in net.layer_slices]
    for l in range(net.num_layers):
        hebb_c = outer(layers_c[l], layers_c[l + 1])
        hebb_n = np.einsum("bk,bki,bkj->bij", weights, layers_n[l], layers_n[l + 1])
        np.testing.assert_allclose(grads["weights"][l], -(hebb_c - hebb_n).mean(0), atol=1e-5)
        bias_c = layers_c[l + 1]
        bias_n = np.einsum("bk,bki->bi", weights, layers_n[l + 1])
        np.testing.assert_allclose(grads["biases"][l], -(bias_c - bias_n).mean(0), atol=1e-5)


def test_wrong_label_negatives_on_constructed_cases():
    # 1 example, 5 reads: energies 0..4, two duplicates of the lowest state; labels: 1 is right
    s = np.array([[[1, 1], [1, 1], [1, -1], [-1, 1], [-1, -1]]], np.float32)
    e = np.array([[0.0, 0.0, 1.0, 2.0, 3.0]])
    labels = np.array([[1, 1, 0, 0, 1]])
    neg, w, count, first, _ = select_negatives(jnp.asarray(s), jnp.asarray(e), jnp.asarray(labels), jnp.array([1]), 3)
    np.testing.assert_array_equal(neg[0], [[1, 1], [1, -1], [-1, 1]])  # duplicate dropped
    assert int(count[0]) == 2 and int(first[0]) == 1
    np.testing.assert_allclose(w[0], [0.0, 0.5, 0.5])
    # no head: the best free state is the negative
    neg, w, count, first, _ = select_negatives(jnp.asarray(s), jnp.asarray(e), jnp.asarray(labels), jnp.array([1]), 1)
    assert int(count[0]) == 0 and int(first[0]) == -1
    np.testing.assert_allclose(w[0], [1.0])


def test_bad_network_inputs(net_and_params):
    net, params = net_and_params
    with pytest.raises(ProblemError, match=r"shape \(\.\.\., 5\)"):
        net.conditioned_problem(params, np.zeros(4))
    with pytest.raises(ProblemError, match="labels"):
        net.check_labels([0, 3])
    with pytest.raises(ProblemError, match="num_classes"):
        IsingNetwork([4], 1)
    with pytest.raises(ProblemError, match="layer_sizes"):
        IsingNetwork([4, 0], 2)
    for scale in (0.0, -1.0, float("nan")):
        with pytest.raises(ProblemError, match="init_scale"):
            IsingNetwork([4, 3], 2, init_scale=scale)


def test_contrastive_gradient_is_jax_grad_of_the_loss_and_order_free():
    """The written-out contrastive Hebbian rule equals jax.grad of mean[E(correct) - sum_k w_k E(neg_k)]; its
    batch sum does not depend on batching: a vmapped call gives the same bits as the single call; a layer the
    correct state and the negatives share gets exactly zero gradient."""
    import jax
    import jax.numpy as jnp

    from dragonjax.nn import IsingNetwork, fixed_order_sum

    net = IsingNetwork([5, 7, 3], num_classes=2, spins_per_class=2)
    params = net.init(jax.random.key(0))
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.uniform(-1, 1, (6, 5)), jnp.float32)
    correct = jnp.asarray(rng.choice([-1.0, 1.0], (6, net.num_free)), jnp.float32)
    negatives = jnp.asarray(rng.choice([-1.0, 1.0], (6, 3, net.num_free)), jnp.float32)
    weights = jnp.asarray(rng.dirichlet(np.ones(3), 6), jnp.float32)

    def loss(p):
        return jnp.mean(net.energy(p, x, correct) - jnp.sum(weights * net.energy(p, x[:, None, :], negatives), 1))

    expected = jax.grad(loss)(params)
    gradient = jax.jit(net.contrastive_gradient)
    got = gradient(params, x, correct, negatives, weights)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    copies = [a[None].repeat(3, 0) for a in (x, correct, negatives, weights)]
    batched = jax.jit(jax.vmap(net.contrastive_gradient, in_axes=(None, 0, 0, 0, 0)))(params, *copies)
    for a, b in zip(jax.tree_util.tree_leaves(batched), jax.tree_util.tree_leaves(got)):
        np.testing.assert_array_equal(a[2], b)
    np.testing.assert_array_equal(fixed_order_sum(jnp.arange(5.0)), 10.0)
    # negatives that share the correct state's first hidden layer (a window above it), with weights that sum to
    # 1 only up to float32 rounding: the gradient of W1 and b1 is exactly 0, not the rounding residue
    shared = negatives.at[:, :, :7].set(correct[:, None, :7])
    uneven = jnp.asarray(np.tile([0.5 - 2.0**-24, 0.25, 0.25], (6, 1)), jnp.float32)
    assert np.all(np.asarray(jnp.sum(uneven, 1)) != 1.0)
    g = gradient(params, x, correct, shared, uneven)  # same shapes: the compiled rule
    assert not np.any(np.asarray(g["weights"][0])) and not np.any(np.asarray(g["biases"][0]))
    assert np.any(np.asarray(g["weights"][1]))
