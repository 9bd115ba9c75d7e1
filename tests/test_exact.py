import dimod
import jax
import numpy as np
import pytest

import dragonjax as dj
from dragonjax import ProblemError, exact
from conftest import all_spin_states


def numpy_energies(model, states):
    J, h = np.asarray(model.J, float), np.asarray(model.h, float)
    return states @ h + 0.5 * np.einsum("ki,ij,kj->k", states, J, states) + float(model.offset)


@pytest.mark.parametrize("beta", [0.1, 1.0, 3.0, 20.0])
def test_log_partition_equals_direct_sum(beta):
    model = dj.problems.sherrington_kirkpatrick(10, seed=2, field=0.7)
    model = dj.IsingModel(model.J, model.h, offset=1.25)
    e = numpy_energies(model, all_spin_states(10))
    logw = -beta * e
    expected = logw.max() + np.log(np.exp(logw - logw.max()).sum())
    assert float(exact.log_partition(model, beta)) == pytest.approx(expected, rel=2e-6, abs=2e-5)


def test_log_partition_chunked_matches_direct(monkeypatch):
    monkeypatch.setattr(exact, "CHUNK_BITS", 6)  # force several chunks
    model = dj.problems.sherrington_kirkpatrick(11, seed=4, field=0.2)
    e = numpy_energies(model, all_spin_states(11))
    expected = np.log(np.exp(-1.5 * e).sum())
    assert float(exact.log_partition(model, 1.5)) == pytest.approx(expected, rel=2e-6)
    assert exact.ground_states(model)[0] == pytest.approx(e.min())


def test_thermal_averages_and_gradient():
    model = dj.problems.sherrington_kirkpatrick(8, seed=5, field=0.5)
    beta = 0.8
    states = all_spin_states(8)
    e = numpy_energies(model, states)
    p = np.exp(-beta * (e - e.min()))
    p /= p.sum()
    avg = exact.thermal_averages(model, beta)
    np.testing.assert_allclose(avg["energy"], p @ e, rtol=1e-5)
    np.testing.assert_allclose(avg["magnetisation"], p @ states, atol=1e-5)
    corr = (states * p[:, None]).T @ states
    np.testing.assert_allclose(avg["correlations"], corr, atol=1e-5)
    grad = jax.grad(lambda m: exact.log_partition(m, beta))(model)
    np.testing.assert_allclose(grad.h, -beta * (p @ states), atol=1e-5)
    # a coupling J_ij is stored in both halves: its derivative is grad.J[i, j] + grad.J[j, i]
    coupling_grad = np.asarray(grad.J) + np.asarray(grad.J).T
    off = ~np.eye(8, dtype=bool)
    np.testing.assert_allclose(coupling_grad[off], -beta * corr[off], atol=1e-5)
    assert float(grad.offset) == pytest.approx(-beta, rel=1e-5)


def test_ground_states_agree_with_dimod_exact_solver():
    for seed in range(3):
        model = dj.problems.edwards_anderson(3, dim=2, seed=seed)  # +-J: degenerate ground states
        bqm = model.to_bqm()
        ss = dimod.ExactSolver().sample(bqm)
        emin = ss.first.energy
        lowest = ss.lowest(atol=1e-9)
        expected = {tuple(r) for r in lowest.record.sample[:, [lowest.variables.index(v) for v in model.labels]]}
        energy, states = exact.ground_states(model)
        assert energy == pytest.approx(emin)
        assert {tuple(s) for s in states} == expected
        assert len(states) == len(expected) >= 2


def test_local_minima_by_brute_force():
    model = dj.problems.sherrington_kirkpatrick(10, seed=7, field=0.3)
    states = all_spin_states(10)
    e = numpy_energies(model, states)
    stable = []
    for k, s in enumerate(states):
        flips = np.where(np.eye(10, dtype=bool), -s, s)
        if np.all(numpy_energies(model, flips) >= e[k] - 1e-9):
            stable.append(tuple(s))
    found = {tuple(s) for s in exact.local_minima(model)}
    assert found == set(stable) and len(found) >= 2


def jordan_wigner_ring(n, coupling, gamma):
    k = (2 * np.arange(n) + 1) * np.pi / n  # even-parity (antiperiodic) sector
    return -np.sum(np.sqrt(coupling ** 2 + gamma ** 2 - 2 * coupling * gamma * np.cos(k)))


@pytest.mark.parametrize("gamma", [0.3, 1.0, 2.5])
def test_tfim_ring_ground_energy_is_jordan_wigner(gamma):
    model = dj.problems.ferromagnet_chain(8, coupling=1.0, periodic=True)
    assert exact.tfim_ground_energy(model, gamma) == pytest.approx(jordan_wigner_ring(8, 1.0, gamma), rel=1e-10)


def test_tfim_thermal_limits():
    model = dj.problems.sherrington_kirkpatrick(6, seed=1, field=0.4)
    beta = 1.3
    classical = exact.thermal_averages(model, beta)
    quantum = exact.tfim_thermal(model, 1e-6, beta)
    assert quantum["problem_energy"] == pytest.approx(float(classical["energy"]), rel=1e-5)
    assert quantum["log_z"] == pytest.approx(float(classical["log_z"]), rel=1e-5)
    # free spins: <sigma^x> = tanh(beta gamma), <H> = -N gamma tanh(beta gamma)
    free = dj.IsingModel(np.zeros((5, 5)), np.zeros(5))
    out = exact.tfim_thermal(free, 0.7, 2.0)
    assert out["sigma_x"] == pytest.approx(np.tanh(1.4), rel=1e-10)
    assert out["energy"] == pytest.approx(-5 * 0.7 * np.tanh(1.4), rel=1e-10)
    assert out["problem_energy"] == pytest.approx(0.0, abs=1e-12)


def test_size_limits_are_clear():
    big = dj.problems.sherrington_kirkpatrick(exact.MAX_ENUMERATION_VARIABLES + 1)
    with pytest.raises(ProblemError, match=r"N <= 26"):
        exact.log_partition(big, 1.0)
    with pytest.raises(ProblemError, match="exact diagonalisation"):
        exact.tfim_ground_energy(dj.problems.sherrington_kirkpatrick(13), 1.0)
