"""Local minima and Hydra heads (DESIGN section 7) against constructed cases and brute-force enumeration."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import all_spin_states

import dragonjax as dj
from dragonjax import ProblemError, analysis, exact
from dragonjax.nn import IsingNetwork
from dragonjax.train import phase_sampler


def test_exact_and_sampled_minima_counts():
    model = dj.problems.sherrington_kirkpatrick(14, seed=2)
    truth = analysis.count_local_minima(model)["num_minima"]
    assert truth == len(exact.local_minima(model))
    many = analysis.count_local_minima(model, method="sampled", num_starts=3000, seed=0)
    assert many["num_minima"] == truth and many["num_samples"] == 3000  # enough quenches find them all
    assert {tuple(s) for s in many["states"]} == {tuple(s) for s in exact.local_minima(model)}
    assert many["singletons"] == 0 and not many["lower_bound"]  # saturated: every minimum hit repeatedly
    covered = flagged = 0
    for seed in range(10):  # few starts: some minima missed, Chao1 +- 2 SE should usually cover the truth
        few = analysis.count_local_minima(model, method="sampled", num_starts=30, seed=seed)
        assert few["num_minima"] <= truth and few["chao1"] >= few["num_minima"]
        covered += abs(few["chao1"] - truth) <= 2 * few["chao1_error"] + 1
        flagged += few["lower_bound"]
    assert covered >= 6
    assert flagged >= 1  # 30 starts over ~2^(0.2 N) minima: the census says when Chao1 is only "at least"


def test_sk_minima_grow_exponentially():
    sizes = np.array([10, 14, 18])
    means = [np.mean([analysis.count_local_minima(dj.problems.sherrington_kirkpatrick(n, seed=s))["num_minima"]
                      for s in range(4)]) for n in sizes]
    slope = np.polyfit(sizes, np.log(means), 1)[0]
    assert 0.1 < slope < 0.3, slope  # theory: 0.199 per spin (Tanaka-Edwards, Bray-Moore)


def states_with_hits(hits, n=8):
    """Distinct +-1 states of n spins, the k-th repeated hits[k] times."""
    distinct = all_spin_states(n)[1:len(hits) + 1]
    return np.repeat(distinct, hits, axis=0)


@pytest.mark.parametrize("hits, chao1, lower_bound", [
    ([3, 2, 1, 1], 4 + 2 ** 2 / (2 * 1), False),  # f1 = 2 of S_obs = 4: not most; f2 = 1
    ([2, 1, 1, 1], 4 + 3 ** 2 / (2 * 1), True),  # f1 = 3 > S_obs / 2: mostly singletons
    ([1, 1, 3], 3 + 2 * 1 / 2, True),  # f2 = 0 (bias-corrected form): only a lower bound
    ([3, 4], 2.0, False),  # no singletons: saturated
])
def test_minima_census_of_constructed_hits(hits, chao1, lower_bound):
    census = analysis.minima_census(states_with_hits(hits))
    assert census["num_samples"] == sum(hits) and census["num_minima"] == len(hits)
    assert census["chao1"] == pytest.approx(chao1)
    assert census["singletons"] == hits.count(1) and census["doubletons"] == hits.count(2)
    assert census["singleton_fraction"] == pytest.approx(hits.count(1) / len(hits))
    assert census["lower_bound"] is lower_bound
    assert sorted(census["hits"]) == sorted(hits)


def test_census_quenches_samples_of_a_model():
    model = dj.problems.sherrington_kirkpatrick(12, seed=5)
    starts = all_spin_states(12)[::7]
    census = analysis.minima_census(starts, model)
    stable = {tuple(s) for s in exact.local_minima(model)}
    assert census["num_samples"] == len(starts) and {tuple(s) for s in census["states"]} <= stable
    assert census["num_minima"] == analysis.count_local_minima(model, "sampled", states=starts)["num_minima"]


def hand_built_network():
    """One hidden spin h and two output spins (o0, o1) = classes 0 and 1; E = -0.2 x h - h (o0 - o1). Two
    minima: (h, o0, o1) = (+1, +1, -1), label 0, E = -2.2, and (-1, -1, +1), label 1, E = -1.8."""
    net = IsingNetwork([1, 1], num_classes=2, spins_per_class=1)
    params = {"weights": [jnp.array([[0.2]]), jnp.array([[1.0, -1.0]])], "biases": [jnp.zeros(1), jnp.zeros(2)]}
    return net, params, np.array([1.0]), all_spin_states(3)


def test_a_correctly_classified_input_carries_heads():
    net, params, x, states = hand_built_network()
    record = analysis.heads(net, params, x, 0, states)
    assert record["correct"] and record["lowest_energy"] == pytest.approx(-2.2)
    f_rms = np.sqrt((2.2 ** 2 + 1 + 1) / 3)  # local fields at the lowest state: -2.2 (h), -1 (o0), +1 (o1)
    assert record["energy_scale"] == pytest.approx(f_rms) and record["delta_e"] == pytest.approx(f_rms)
    assert record["num_minima"] == 2 and record["deep_minima"] == 2 and record["deep_labels"] == 2
    assert record["heads"] == 1  # the wrong-label minimum 0.4 above the right one, within dE = 1.51
    np.testing.assert_array_equal(record["head_states"], [[-1, -1, 1]])
    np.testing.assert_allclose(record["head_energies"], net.energy(params, x, jnp.array([[-1.0, -1.0, 1.0]])))
    assert record["gap"] == pytest.approx(0.4) and record["gap_per_spin"] == pytest.approx(0.4 / 3)
    narrow = analysis.heads(net, params, x, 0, states, window=0.2)  # dE = 0.30 < 0.4: no head
    assert narrow["heads"] == 0 and narrow["deep_minima"] == 1 and narrow["deep_labels"] == 1
    wrong = analysis.heads(net, params, x, 1, states)  # label 1: misclassified, the lowest state is the head
    assert not wrong["correct"] and wrong["heads"] == 1 and wrong["gap"] == pytest.approx(-0.4)
    np.testing.assert_array_equal(wrong["head_states"], [[1, 1, -1]])


def brute_force_heads(net, params, x, y, window):
    """Heads by enumerating every state with a float64 energy written out here (not dragonjax's), single-flip
    stability by flipping each spin, and the local fields from the flip energies (dE_i = -2 s_i f_i)."""
    w0, w1 = (np.asarray(w, np.float64) for w in params["weights"])
    b1, b2 = (np.asarray(b, np.float64) for b in params["biases"])
    n_hidden = w0.shape[1]

    def energy(s):
        h, o = s[..., :n_hidden], s[..., n_hidden:]
        return -(x @ w0) @ h.T - np.sum((h @ w1) * o, -1) - h @ b1 - o @ b2

    states = all_spin_states(net.num_free).astype(np.float64)
    e = energy(states)
    flips = np.stack([energy(states * np.where(np.arange(net.num_free) == i, -1.0, 1.0))
                      for i in range(net.num_free)], axis=1) - e[:, None]
    stable = np.all(flips >= 0, axis=1)
    ground = int(np.argmin(e))
    f_rms = np.sqrt(np.mean((flips[ground] / 2) ** 2))  # |f_i| = |dE_i| / 2
    labels = np.argmax(states[:, n_hidden:].reshape(len(states), net.num_classes, -1).sum(-1), axis=1)
    deep = stable & (e - e[ground] <= window * f_rms)
    head = deep & (labels != y)
    right, wrong = e[stable & (labels == y)], e[stable & (labels != y)]
    gap = wrong.min() - right.min() if len(right) and len(wrong) else np.nan
    return {tuple(s) for s in states[head].astype(int)}, len(set(labels[deep])), gap, e[ground]


def test_heads_match_brute_force_enumeration():
    """Quenching all 2^N states reaches every minimum: the heads are exactly the brute-force ones. K = 64
    independent SA anneals find the ground state and only true heads (a cold anneal may miss shallow ones)."""
    net = IsingNetwork([6, 6], num_classes=3, spins_per_class=2, init_scale=1.5)  # 12 free spins
    params = net.init(jax.random.key(3))
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(6, 6)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    sampled = analysis.probe_landscape(net, params, x, y, phase_sampler("sa", num_sweeps=64), jax.random.key(0),
                                       num_samples=64, window=2.0)
    total = 0
    for k in range(len(y)):
        truth, labels, gap, ground = brute_force_heads(net, params, x[k], y[k], window=2.0)
        record = analysis.heads(net, params, x[k], y[k], all_spin_states(net.num_free), window=2.0)
        assert record["num_minima"] == len(exact.local_minima(net.conditioned_problem(params, x[k])))
        assert {tuple(s) for s in record["head_states"]} == truth and record["heads"] == len(truth)
        assert record["deep_labels"] == labels and record["gap"] == pytest.approx(gap, abs=1e-4, nan_ok=True)
        assert record["lowest_energy"] == pytest.approx(ground)
        assert sampled[k]["num_samples"] == 64 and sampled[k]["lowest_energy"] == pytest.approx(ground)
        assert {tuple(s) for s in sampled[k]["head_states"]} <= truth
        total += len(truth)
    assert total > 0 and sum(r["heads"] for r in sampled) > 0  # the comparison is not vacuous


def test_probe_landscape_refuses_population_reads_and_bad_windows():
    net = IsingNetwork([4, 3], num_classes=2)
    params = net.init(jax.random.key(0))
    x, y = np.ones((2, 4), np.float32), np.array([0, 1])
    with pytest.raises(ProblemError, match="independent"):
        analysis.probe_landscape(net, params, x, y, phase_sampler("pa"), jax.random.key(0))
    with pytest.raises(ProblemError, match="window"):
        analysis.heads(net, params, x[0], 0, all_spin_states(net.num_free), window=-1.0)
