import numpy as np
import pytest

import dragonjax as dj
from dragonjax import analysis, exact
from dragonjax.nn import IsingNetwork


def test_overlaps_on_constructed_states():
    a = np.array([1, 1, -1, -1])
    assert float(analysis.overlap(a, a)) == 1.0 and float(analysis.overlap(a, -a)) == -1.0
    assert float(analysis.overlap(a, np.array([1, -1, 1, -1]))) == 0.0
    chain = dj.problems.ferromagnet_chain(4, periodic=False)  # edges (0,1), (1,2), (2,3)
    b = np.array([1, 1, 1, -1])  # link products: a (+1, -1, +1), b (+1, +1, -1)
    assert float(analysis.link_overlap(a, b, chain.J)) == pytest.approx(-1 / 3)
    assert float(analysis.link_overlap(a, -a, chain.J)) == 1.0  # link overlap is gauge (global flip) blind
    np.testing.assert_allclose(analysis.pair_overlaps(np.array([a, a, -a])), [1, -1, -1])


def exact_samples(model, beta, count, seed):
    p = exact.boltzmann_distribution(model, beta)
    idx = np.random.default_rng(seed).choice(len(p), size=count, p=p)
    return np.asarray(exact.index_to_spins(idx, model.num_variables))


def test_overlap_distribution_of_ferromagnet_and_paramagnet():
    ferro = dj.problems.ferromagnet_lattice(4, dim=2)
    q = analysis.overlap_distribution(exact_samples(ferro, 1.0, 200, 0))["q"]
    assert np.mean(np.abs(q) > 0.7) > 0.8  # two peaks near +-1 below T_c
    para = dj.IsingModel(np.zeros((16, 16)), np.zeros(16))
    out = analysis.overlap_distribution(exact_samples(para, 1.0, 200, 1))
    assert abs(np.mean(out["q"])) < 0.02 and np.mean(out["q"] ** 2) == pytest.approx(1 / 16, rel=0.1)
    assert out["density"].sum() * (out["edges"][1] - out["edges"][0]) == pytest.approx(1.0)


def test_binder_cumulant_limits_and_edwards_anderson():
    deltas = np.random.default_rng(0).choice([-0.8, 0.8], size=1000)
    assert analysis.binder_cumulant(deltas)["g"] == pytest.approx(1.0)
    gaussian = np.random.default_rng(1).normal(size=20000)
    g = analysis.binder_cumulant(gaussian)
    assert abs(g["g"]) < 4 * g["g_error"] + 1e-3
    ea = analysis.edwards_anderson(deltas)
    assert ea["q2"] == pytest.approx(0.64) and ea["abs_q"] == pytest.approx(0.8)


def test_transition_tracker_sees_heads_vanish_after_training():
    """Untrained vs trained network on a small digits run: fewer heads, higher m, positive gap; the null
    control (hidden -> output couplings permuted) has forgotten the codes."""
    from dragonjax import data
    from dragonjax.experiments.transition import TransitionTracker, transition_point
    from dragonjax.train import AnnealerTrainer

    ds = data.digits().subset(256, 16).centered()
    net = IsingNetwork([64, 32], num_classes=10, spins_per_class=2)
    trainer = AnnealerTrainer(net, sampler="sa", num_reads=8, sampler_options={"num_sweeps": 16})
    tracker = TransitionTracker(net, ds.x_test, ds.y_test, num_samples=8, resamples=50)
    state = trainer.init(8 * 6)
    before = tracker.record(state.params, 0)
    state, _ = trainer.fit(ds, 6, state=state, on_epoch=lambda s, r: tracker.record(s.params, s.epoch))
    after = tracker.records[-1]
    assert after["mean_heads"] < before["mean_heads"]
    assert after["m"] > before["m"] + 0.3
    assert after["median_gap"] > 0 > before["median_gap"]
    assert after["null"]["m"] < after["m"] - 0.3  # the permuted hidden -> output couplings have forgotten the codes
    assert after["mean_heads_beyond_lowest"] <= after["mean_heads"]
    assert 0 < before["chi_sg"] and np.isfinite(after["binder"])
    point = transition_point(tracker.records)
    assert point["t_star"] is not None and 1 <= point["t_star"] <= 6
    assert transition_point([{"epoch": 0, "m": 0.1}, {"epoch": 1, "m": 0.2}])["t_star"] is None
