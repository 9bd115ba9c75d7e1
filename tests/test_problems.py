import numpy as np
import pytest

from dragonjax import ProblemError, exact, problems


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wishart_planted_ground_energy_confirmed_by_enumeration(seed):
    planted = problems.wishart_planted(12, alpha=0.75, seed=seed)
    energy, states = exact.ground_states(planted.model)
    assert energy == pytest.approx(planted.ground_energy, rel=1e-6)
    assert float(planted.model.energy(planted.ground_state)) == pytest.approx(planted.ground_energy, rel=1e-5)
    assert any(np.array_equal(s, planted.ground_state) for s in states)


def test_generators_are_seeded_and_shaped():
    a = problems.sherrington_kirkpatrick(16, seed=3)
    b = problems.sherrington_kirkpatrick(16, seed=3)
    np.testing.assert_array_equal(a.J, b.J)
    assert not np.array_equal(a.J, problems.sherrington_kirkpatrick(16, seed=4).J)
    ea = problems.edwards_anderson(4, dim=3, seed=0)
    assert ea.num_variables == 64 and np.all((np.asarray(ea.J) != 0).sum(1) == 6)
    lat = problems.ferromagnet_lattice(4, dim=2)
    assert float(lat.energy(np.ones(16))) == pytest.approx(-32.0)
    chain = problems.ferromagnet_chain(5, periodic=False)
    assert float(chain.energy(np.ones(5))) == pytest.approx(-4.0)
    net = problems.layered([3, 4, 2], seed=0)
    J = np.asarray(net.J)
    assert not J[:3, 7:].any() and J[:3, 3:7].any() and J[3:7, 7:].any()
    assert problems.bipartite(3, 4).num_variables == 7
    with pytest.raises(ProblemError, match="couplings"):
        problems.sherrington_kirkpatrick(4, couplings="cauchy")
    with pytest.raises(ProblemError, match="positive integer"):
        problems.sherrington_kirkpatrick(0)
