"""NoisyComposite: emulated control errors, precision and readout errors of an annealer (issue 18)."""
import dimod
import numpy as np
import pytest

import dragonjax as dj
from dragonjax.samplers import NoisyComposite, SimulatedAnnealingSampler


class RecordingSampler(dimod.Sampler):
    """Returns one all-up state and records the BQM it was given."""
    parameters = {"num_reads": []}
    properties = {}

    def __init__(self):
        self.received = []

    def sample(self, bqm, num_reads=1):
        self.received.append(bqm)
        return dimod.SampleSet.from_samples_bqm((np.ones((num_reads, len(bqm.variables)), np.int8),
                                                 list(bqm.variables)), bqm)


def sk_bqm(n=40, seed=0):
    return dj.problems.sherrington_kirkpatrick(n, seed=seed, field=0.5).to_bqm()


def test_zero_noise_returns_exactly_the_childs_samples():
    bqm = sk_bqm(12)
    child = SimulatedAnnealingSampler()
    plain = child.sample(bqm, num_reads=8, num_sweeps=50, seed=3)
    through = NoisyComposite(child, seed=1).sample(bqm, num_reads=8, num_sweeps=50, seed=3)
    assert np.array_equal(plain.record.sample, through.record.sample)
    assert np.array_equal(plain.record.energy, through.record.energy)


def test_the_perturbations_have_the_requested_size():
    """1/2 N (N-1) = 780 couplings per call, 5 calls: the empirical standard deviation of (realised - scaled) is the
    requested 0.05 x coupling_range[1] within 4 standard errors (s.e. of a standard deviation ~ sigma / sqrt(2n))."""
    bqm = sk_bqm(40)
    composite = NoisyComposite(RecordingSampler(), coupling_noise=0.05, field_noise=0.02, coupling_range=(-2, 2),
                               field_range=(-4, 4), seed=0)
    diffs_j, diffs_h = [], []
    for _ in range(5):
        realised, scale = composite.perturb(bqm)
        ideal = bqm.spin
        for (u, v), value in ideal.quadratic.items():
            diffs_j.append(realised.quadratic[u, v] - value / scale)
        for v, value in ideal.linear.items():
            diffs_h.append(realised.linear[v] - value / scale)
    for diffs, sigma in ((np.array(diffs_j), 0.05 * 2), (np.array(diffs_h), 0.02 * 4)):
        se = sigma / np.sqrt(2 * len(diffs))
        assert abs(diffs.std() - sigma) < 4 * se and abs(diffs.mean()) < 4 * sigma / np.sqrt(len(diffs))


def test_auto_scale_puts_the_largest_bias_at_its_range_bound():
    bqm = dimod.BinaryQuadraticModel({"a": 8.0, "b": -1.0}, {("a", "b"): -3.0}, 0.0, "SPIN")
    realised, scale = NoisyComposite(RecordingSampler(), precision_bits=8).perturb(bqm)
    assert scale == pytest.approx(3.0)  # |J| / 1 = 3 beats |h| / 4 = 2
    assert realised.quadratic["a", "b"] == pytest.approx(-1.0)


def test_quantisation_gives_at_most_2_to_the_bits_levels_in_range():
    bqm = sk_bqm(40)
    realised, _ = NoisyComposite(RecordingSampler(), coupling_noise=0.03, precision_bits=3).perturb(bqm)
    j = np.array(list(realised.quadratic.values()))
    levels = np.unique(np.round(j, 9))
    assert len(levels) <= 2 ** 3 and j.min() >= -1 and j.max() <= 1
    assert np.allclose((levels + 1) / (2 / 7), np.round((levels + 1) / (2 / 7)))  # on the grid of 8 levels


def test_readout_flips_at_the_requested_rate_and_energies_are_the_original_bqms():
    bqm = sk_bqm(20)
    composite = NoisyComposite(RecordingSampler(), readout_error=0.1, seed=2)
    ss = composite.sample(bqm, num_reads=200)
    flipped = np.mean(ss.record.sample == -1)  # the child returned all +1
    n = ss.record.sample.size
    assert abs(flipped - 0.1) < 4 * np.sqrt(0.1 * 0.9 / n)
    assert np.allclose(ss.record.energy, bqm.energies((ss.record.sample, ss.variables)))
    binary = composite.sample(bqm.binary, num_reads=5)
    assert binary.vartype is dimod.BINARY
    assert np.allclose(binary.record.energy, bqm.binary.energies((binary.record.sample, binary.variables)))


def test_same_seed_same_noise_and_bad_settings_are_refused():
    bqm = sk_bqm(10)
    a, _ = NoisyComposite(RecordingSampler(), coupling_noise=0.1, seed=5).perturb(bqm)
    b, _ = NoisyComposite(RecordingSampler(), coupling_noise=0.1, seed=5).perturb(bqm)
    assert a == b
    for kwargs, message in (({"coupling_noise": -0.1}, "coupling_noise"), ({"readout_error": 1.5}, "readout_error"),
                            ({"precision_bits": 0}, "precision_bits"), ({"coupling_range": (0, 1)}, "coupling_range")):
        with pytest.raises(ValueError, match=message):
            NoisyComposite(RecordingSampler(), **kwargs)
