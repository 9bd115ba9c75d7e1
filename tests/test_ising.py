import dimod
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dragonjax as dj
from dragonjax import IsingModel, ProblemError


def random_bqm(rng, labels, vartype, density=0.6):
    linear = {v: rng.normal() for v in labels}
    quadratic = {(u, v): rng.normal() for i, u in enumerate(labels) for v in labels[i + 1:]
                 if rng.random() < density}
    return dimod.BinaryQuadraticModel(linear, quadratic, rng.normal(), vartype)


@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_energies_equal_dimod_with_string_labels(rng, vartype):
    labels = ["a", "b", ("c", 1), 7, "x", frozenset({2}), "z", 3.5]
    bqm = random_bqm(rng, labels, vartype)
    labels = list(bqm.variables)
    model = IsingModel.from_bqm(bqm)
    assert model.labels == tuple(bqm.variables)
    spins = rng.choice([-1, 1], size=(50, len(labels)))
    samples = spins if vartype is dimod.SPIN else (spins + 1) // 2
    expected = bqm.energies((samples, labels))
    np.testing.assert_allclose(model.energy(spins), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.energy(spins[0]), expected[0], rtol=1e-5, atol=1e-5)
    back = model.to_bqm()
    assert list(back.variables) == labels
    np.testing.assert_allclose(back.energies((spins, labels)), bqm.spin.energies((spins, labels)), atol=1e-5)


def test_from_ising_and_local_fields(rng):
    h = {"a": 0.5, "b": -1.0, "c": 0.0}
    J = {("a", "b"): 1.5, ("b", "c"): -0.5}
    model = IsingModel.from_ising(h, J, offset=2.0)
    s = np.array([1, -1, 1])
    assert float(model.energy(s)) == pytest.approx(0.5 + 1.0 + 1.5 * -1 + -0.5 * -1 + 2.0)
    # flipping spin i changes the energy by -2 s_i f_i
    f = np.asarray(model.local_fields(s))
    for i in range(3):
        t = s.copy()
        t[i] *= -1
        assert float(model.energy(t) - model.energy(s)) == pytest.approx(-2 * s[i] * f[i], abs=1e-6)


def test_pytree_roundtrip_and_jit():
    model = dj.problems.sherrington_kirkpatrick(6, seed=0)
    leaves, treedef = jax.tree_util.tree_flatten(model)
    assert len(leaves) == 3
    again = jax.tree_util.tree_unflatten(treedef, leaves)
    assert again.labels == model.labels
    s = jnp.ones(6)
    assert float(jax.jit(lambda m: m.energy(s))(model)) == pytest.approx(float(model.energy(s)))


@pytest.mark.parametrize("J, h, message", [
    (np.zeros((2, 3)), np.zeros(2), "square"),
    (np.array([[0, 1.0], [2.0, 0]]), np.zeros(2), "symmetric"),
    (np.array([[1.0, 0], [0, 0]]), np.zeros(2), r"zero diagonal.*J\[0, 0\]"),
    (np.array([[0, np.nan], [np.nan, 0]]), np.zeros(2), r"non-finite entry J\[0, 1\]"),
    (np.zeros((2, 2)), np.array([0.0, np.inf]), r"non-finite entry h\[1\]"),
    (np.zeros((2, 2)), np.zeros(3), r"h must have shape \(2,\)"),
])
def test_validation_errors(J, h, message):
    with pytest.raises(ProblemError, match=message):
        IsingModel(J, h)


def test_spin_validation():
    model = dj.problems.sherrington_kirkpatrick(4, seed=0)
    with pytest.raises(ProblemError, match=r"shape \(\.\.\., 4\)"):
        model.energy(np.ones(3))
    with pytest.raises(ProblemError, match=r"must be \+-1.*spins\[2\] = 0"):
        model.energy(np.array([1, -1, 0, 1]))
    assert issubclass(ProblemError, ValueError)


def test_offset_must_be_finite_and_labels_unique():
    with pytest.raises(ProblemError, match="offset"):
        IsingModel(np.zeros((1, 1)), np.zeros(1), offset=np.nan)
    with pytest.raises(ProblemError, match="unique"):
        IsingModel(np.zeros((2, 2)), np.zeros(2), labels=["a", "a"])


def test_graph_colouring_is_proper():
    for model in (dj.problems.edwards_anderson(4, dim=2, seed=0), dj.problems.layered([5, 7, 3], seed=1),
                  dj.problems.edwards_anderson(3, dim=2, seed=0), dj.problems.sherrington_kirkpatrick(6)):
        colours = dj.graph_colouring(model.J)
        J = np.asarray(model.J)
        assert sorted(np.concatenate(colours).tolist()) == list(range(model.num_variables))
        for c in colours:
            assert not np.any(J[np.ix_(c, c)])
    assert len(dj.graph_colouring(dj.problems.layered([5, 7, 3]).J)) == 2
