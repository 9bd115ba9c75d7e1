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


# -- the same model inside the JAX phase samplers (vectorised over a batch) ------------------------------------
def _conditioned(n=30, batch=4, seed=0):
    import jax.numpy as jnp

    model = dj.problems.sherrington_kirkpatrick(n, seed=seed)
    fields = jnp.asarray(np.random.default_rng(seed).normal(0, 0.5, (batch, n)), jnp.float32)
    return model, fields


def test_jax_path_scales_like_the_composite_and_perturbs_by_the_requested_amount():
    import jax

    from dragonjax.train.phases import Hardware, realised_problems

    model, fields = _conditioned()
    exact = Hardware(coupling_range=(-2.0, 2.0))
    J0, h0, scale = realised_problems(jax.random.key(0), model, fields, exact)
    for b in range(fields.shape[0]):  # the same auto-scale as NoisyComposite on the same conditioned problem
        problem = dj.IsingModel(model.J, model.h + fields[b]).to_bqm()
        _, composite_scale = NoisyComposite(RecordingSampler(), coupling_range=(-2.0, 2.0)).perturb(problem)
        assert float(scale[b]) == pytest.approx(composite_scale, rel=1e-5)
    noisy = Hardware(coupling_noise=0.05, field_noise=0.02, coupling_range=(-2.0, 2.0))
    J, h, _ = realised_problems(jax.random.key(1), model, fields, noisy)
    J, J0, h, h0 = (np.asarray(a, np.float64) for a in (J, J0, h, h0))
    assert np.allclose(J, np.swapaxes(J, 1, 2)) and np.all(J[:, np.eye(30, dtype=bool)] == 0)
    upper = np.triu_indices(30, 1)
    for diffs, sigma in (((J - J0)[:, upper[0], upper[1]].ravel(), 0.1), ((h - h0).ravel(), 0.08)):
        assert abs(diffs.std() - sigma) < 4 * sigma / np.sqrt(2 * diffs.size)
    coarse = Hardware(precision_bits=2)
    Jq, hq, _ = realised_problems(jax.random.key(2), model, fields, coarse)
    assert len(np.unique(np.asarray(Jq)[:, upper[0], upper[1]])) <= 4 and len(np.unique(np.asarray(hq))) <= 4


def test_jax_path_readout_errors_and_original_energies():
    import jax
    import jax.numpy as jnp

    from dragonjax.train.phases import phase_sampler

    n, batch = 8, 64
    model = dj.IsingModel(np.zeros((n, n)), np.zeros(n))
    fields = jnp.full((batch, n), -1.0)  # ground state all +1, certain at beta_eff = 50 (hardware units)
    sample = phase_sampler("sa", num_sweeps=8, readout_error=0.25, beta_eff=50.0)
    states, energies = sample(jax.random.key(0), model, fields, jnp.zeros(batch), 4)
    flipped = float(np.mean(np.asarray(states) == -1))
    assert abs(flipped - 0.25) < 4 * np.sqrt(0.25 * 0.75 / states.size)
    assert np.allclose(energies, np.sum(np.asarray(states) * np.asarray(fields)[:, None, :], axis=-1))
    assert sample.final_beta is None
    with pytest.raises(dj.ProblemError, match="not 'piqmc'"):
        phase_sampler("piqmc", coupling_noise=0.01)
    with pytest.raises(dj.ProblemError, match="readout_error"):
        phase_sampler("sa", readout_error=2.0)


def test_training_with_an_emulated_noisy_annealer_runs_from_the_config():
    from dragonjax.experiments.training import TrainConfig, run_training

    m = run_training({"hidden": [8], "spins_per_class": 1, "train_size": 32, "test_size": 16, "epochs": 1,
                      "sampler": "sa", "num_reads": 4, "num_sweeps": 4, "coupling_noise": 0.02, "precision_bits": 6,
                      "readout_error": 0.01})
    assert 0 <= m["test_accuracy"] <= 1
    with pytest.raises(dj.ProblemError, match="sa or pa phase sampler"):
        from dragonjax.experiments.training import build_run
        build_run(TrainConfig(sampler="piqmc", coupling_noise=0.02))


def test_noise_study_compares_each_setting_with_the_noiseless_annealer(tmp_path):
    """A tiny run: the noiseless baseline of the sampler first, every other setting with its paired interval and
    Holm verdict, and the figure."""
    from dragonjax.experiments.noise import describe, run_noise

    settings = {"hidden": [4], "spins_per_class": 1, "epochs": 1, "seeds": 2, "num_reads": 4, "num_sweeps": 4,
                "samplers": ["sa"], "coupling_noise": [0.05], "precision_bits": [], "beta_eff": [3.0],
                "train_size": 64, "test_size": 32}
    r = run_noise(str(tmp_path), settings, progress=False)
    assert list(r["results"]) == ["sa: noiseless", "sa: noise 0.05", "sa: beta_eff 3"]
    assert "vs_noiseless" not in r["results"]["sa: noiseless"]
    assert isinstance(r["results"]["sa: noise 0.05"]["vs_noiseless"]["differs"], bool)
    assert any("beta_eff 3" in line for line in describe(r)) and (tmp_path / "noise.png").exists()
    with pytest.raises(dj.ProblemError, match="sa and pa"):
        run_noise(str(tmp_path / "x"), {**settings, "samplers": ["piqmc"]}, progress=False)


class BoltzmannSampler(dimod.Sampler):
    """Exact Boltzmann samples at ``beta`` by enumeration (a reference child for tiny problems)."""
    parameters = {"num_reads": []}
    properties = {}

    def __init__(self, beta, seed=0):
        self.beta, self.rng = beta, np.random.default_rng(seed)

    def sample(self, bqm, num_reads=1):
        labels = list(bqm.variables)
        states = 1 - 2 * ((np.arange(2 ** len(labels))[:, None] >> np.arange(len(labels))) & 1)
        energies = bqm.energies((states, labels))
        p = np.exp(-self.beta * (energies - energies.min()))
        pick = self.rng.choice(len(states), size=num_reads, p=p / p.sum())
        return dimod.SampleSet.from_samples_bqm((states[pick], labels), bqm)


def test_jax_path_and_composite_agree_in_distribution():
    """Issue 18: the same emulated annealer two ways on a 4-spin problem -- the composite around an exact Boltzmann
    child, and the JAX SA path at the fixed beta_eff (equilibrated: 4 spins, 64 sweeps) -- each realising a new
    noisy, quantised problem per call, then readout errors. Two-sample chi-square test of the 16-state histograms
    (3000 draws each; every draw its own realisation). Power, measured: the test separates the noisy mixture from
    the noiseless annealer's (asserted), and from the same path without readout errors (p ~ 1e-23) or without field
    errors; it is weak against halving the coupling errors or dropping the quantisation (p ~ 0.02) and blind to
    beta 2.5 instead of 2 -- a check of the gross model, not of its fine settings (those have their own tests)."""
    import jax
    import jax.numpy as jnp
    from scipy.stats import chi2_contingency

    from dragonjax.train.phases import phase_sampler

    n, draws = 4, 3000
    rng = np.random.default_rng(3)
    J = np.triu(rng.normal(0, 1, (n, n)), 1)
    model = dj.IsingModel(J + J.T, rng.normal(0, 0.5, n))
    noise = {"coupling_noise": 0.3, "field_noise": 0.1, "precision_bits": 3, "readout_error": 0.05}
    beta = 2.0

    def histogram(states):
        index = ((np.asarray(states).reshape(-1, n) < 0) * (1 << np.arange(n))).sum(axis=1)
        return np.bincount(index, minlength=2 ** n)

    sample = phase_sampler("sa", num_sweeps=64, beta_eff=beta, **noise)
    fields = jnp.zeros((draws, n), jnp.float32)  # one example repeated: each realises its own problem
    jax_states, _ = sample(jax.random.key(0), model, fields, jnp.zeros(draws), 1)
    bqm = model.to_bqm()

    def composite_states(**settings):
        composite = NoisyComposite(BoltzmannSampler(beta, seed=1), seed=2, **settings)
        out = []
        for _ in range(draws):
            ss = composite.sample(bqm, num_reads=1)
            out.append(ss.record.sample[0, [ss.variables.index(v) for v in range(n)]])
        return np.array(out)

    jax_counts, noisy_counts = histogram(jax_states), histogram(composite_states(**noise))
    keep = (jax_counts + noisy_counts) > 0
    assert chi2_contingency(np.stack([jax_counts, noisy_counts])[:, keep])[1] > 1e-3
    clean_counts = histogram(composite_states(precision_bits=None, coupling_noise=0.0, field_noise=0.0,
                                              readout_error=1e-12))  # noiseless hardware scale, same child
    keep = (jax_counts + clean_counts) > 0
    assert chi2_contingency(np.stack([jax_counts, clean_counts])[:, keep])[1] < 1e-6
