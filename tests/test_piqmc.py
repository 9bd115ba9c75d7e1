"""Path-integral QMC against exact diagonalisation and the exactly summed Trotter model."""
import unittest

import dimod
import dimod.testing
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dragonjax as dj
from dragonjax import ProblemError, exact, kernels
from dragonjax.kernels import piqmc
from dragonjax.samplers import PathIntegralQMCSampler
from stats import chi_square_pvalue, state_index
from test_exact import jordan_wigner_ring


class _FastPIQMC(PathIntegralQMCSampler):
    def sample(self, bqm, **kwargs):
        kwargs.setdefault("num_sweeps", 20)
        kwargs.setdefault("trotter_slices", 4)
        return super().sample(bqm, **kwargs)


@dimod.testing.load_sampler_bqm_tests(_FastPIQMC)
class TestPathIntegralQMCConformance(unittest.TestCase):
    pass


def test_trotter_model_converges_to_exact_diagonalisation_as_one_over_p_squared():
    """The exactly summed P-slice model (what PIQMC samples) approaches ED with slope -2 in log-log."""
    model = dj.problems.sherrington_kirkpatrick(6, seed=1, field=0.5)
    ed = exact.tfim_thermal(model, 0.5, 2.0)
    ps = np.array([8, 16, 32, 64])
    errors = [abs(exact.trotter_thermal(model, 0.5, 2.0, p)["problem_energy"] - ed["problem_energy"]) for p in ps]
    slope = np.polyfit(np.log(ps), np.log(errors), 1)[0]
    assert -2.2 < slope < -1.8, slope
    assert exact.trotter_thermal(model, 0.5, 2.0, 512)["sigma_x"] == pytest.approx(ed["sigma_x"], abs=1e-4)


@pytest.mark.parametrize("gamma, beta", [(1.0, 2.0), (0.8, 2.5)])
def test_thermal_matches_exact_trotter_model_and_error_falls_like_p_squared(gamma, beta):
    model = dj.problems.sherrington_kirkpatrick(6, seed=1, field=0.5)
    ed = exact.tfim_thermal(model, gamma, beta)
    ps, errors, sigmas = [2, 4, 8], [], []
    for p in ps:
        mc = piqmc.thermal(model, gamma, beta, trotter_slices=p, num_sweeps=600, num_replicas=256, seed=p)
        ref = exact.trotter_thermal(model, gamma, beta, p)
        for name in ("problem_energy", "sigma_x"):  # the sampler is exact for the Trotter model
            assert abs(mc[name] - ref[name]) < 4.5 * mc[f"{name}_error"], (p, name, mc, ref)
        errors.append(mc["problem_energy"] - ed["problem_energy"])
        sigmas.append(mc["problem_energy_error"])
    # measured Trotter error against ED: a log-log slope in a band around -2 (P = 2 is still pre-asymptotic,
    # about -1.7; the errors are several error bars even at P = 8)
    assert all(abs(e) > 3 * s for e, s in zip(errors, sigmas)), (errors, sigmas)
    slope = np.polyfit(np.log(ps), np.log(np.abs(errors)), 1)[0]
    assert -2.6 < slope < -1.4, (slope, errors)


def test_transverse_field_ring_energy_matches_jordan_wigner_at_low_temperature():
    n, gamma, beta = 8, 0.5, 8.0
    ring = dj.problems.ferromagnet_chain(n, coupling=1.0, periodic=True)
    runs = {p: piqmc.thermal(ring, gamma, beta, trotter_slices=p, num_sweeps=400, num_replicas=128, seed=p)
            for p in (32, 64)}
    # Richardson extrapolation P -> infinity from the O(1/P^2) Trotter error
    e_inf = (4 * runs[64]["energy"] - runs[32]["energy"]) / 3
    err = np.hypot(4 * runs[64]["energy_error"], runs[32]["energy_error"]) / 3
    e0 = jordan_wigner_ring(n, 1.0, gamma)
    thermal_shift = abs(exact.tfim_thermal(ring, gamma, beta)["energy"] - e0)  # finite temperature, tiny
    assert abs(e_inf - e0) < 4 * err + thermal_shift, (e_inf, e0, err)


def test_vanishing_field_reduces_to_classical_boltzmann():
    """At Gamma -> 0 the slices lock together; worldline cluster moves sample exp(-beta E)."""
    model = dj.problems.sherrington_kirkpatrick(6, seed=3, field=0.4)
    beta, p = 1.0, 4
    sweep = kernels.make_sweep(model)
    k1, k2 = jax.random.split(jax.random.key(0))
    spins = kernels.random_spins(k1, (3000, p, 6))
    out = jax.jit(lambda k, s: piqmc.quantum_annealing(k, model, sweep, s, beta, jnp.full(80, 1e-4),
                                                       jnp.ones(80)))(k2, spins)
    out = np.asarray(out)
    assert np.mean(np.all(out == out[:, :1], axis=(1, 2))) > 0.99  # slices locked
    counts = np.bincount(state_index(out[:, 0]), minlength=64)
    assert chi_square_pvalue(counts, exact.boltzmann_distribution(model, beta)) > 1e-3


def test_block_dense_and_random_scan_kernels_agree_with_exact_trotter_on_a_lattice():
    lattice = dj.problems.edwards_anderson(3, dim=2, seed=1, couplings="gaussian")  # 9 spins, 3 colours
    ref = exact.trotter_thermal(lattice, 0.8, 1.5, 4)
    for method in ("block", "dense", "random"):
        mc = piqmc.thermal(lattice, 0.8, 1.5, trotter_slices=4, num_sweeps=500, num_replicas=256, seed=1,
                           method=method)
        assert abs(mc["problem_energy"] - ref["problem_energy"]) < 4.5 * mc["problem_energy_error"], method
        assert abs(mc["sigma_x"] - ref["sigma_x"]) < 4.5 * mc["sigma_x_error"], method


def test_annealing_finds_planted_ground_state_in_most_reads():
    planted = dj.problems.wishart_planted(64, alpha=1.0, seed=64)
    ss = PathIntegralQMCSampler().sample(planted.model.to_bqm(), num_reads=32, num_sweeps=500, trotter_slices=8,
                                         seed=1)
    found = np.isclose(ss.record.energy, planted.ground_energy, rtol=1e-5, atol=1e-5)
    assert found.mean() > 0.5


def test_quantum_population_annealing_free_energy_and_final_ensemble():
    model = dj.problems.sherrington_kirkpatrick(5, seed=2, field=0.3)
    beta, p = 1.5, 4
    gammas = np.linspace(2.0, 0.3, 41)
    sweep = kernels.make_sweep(model)
    keys = jax.random.split(jax.random.key(4), 16)
    spins = kernels.random_spins(jax.random.key(5), (16, 500, p, 5))
    run = jax.jit(jax.vmap(lambda k, s: piqmc.quantum_population_annealing(k, model, sweep, s, beta, gammas,
                                                                            equilibration_sweeps=50)))
    out = run(keys, spins)
    truth = (exact.trotter_thermal(model, gammas[-1], beta, p)["log_z"]
             - exact.trotter_thermal(model, gammas[0], beta, p)["log_z"])
    ratios = np.asarray(out.log_z_ratio, np.float64)
    se = ratios.std(ddof=1) / np.sqrt(len(ratios))
    assert abs(ratios.mean() - truth) < 5 * se + 1e-4, (ratios.mean(), truth, se)
    final = np.asarray(jax.vmap(lambda s: piqmc.problem_energy(model, s))(out.spins)).mean(1)
    ref = exact.trotter_thermal(model, gammas[-1], beta, p)["problem_energy"]
    assert abs(final.mean() - ref) < 5 * final.std(ddof=1) / np.sqrt(len(final)) + 1e-3


def test_same_seed_same_result_and_all_slices():
    bqm = dj.problems.sherrington_kirkpatrick(10, seed=0).to_bqm()
    a = PathIntegralQMCSampler().sample(bqm, num_reads=8, num_sweeps=30, trotter_slices=4, seed=9,
                                        return_all_slices=True)
    b = PathIntegralQMCSampler().sample(bqm, num_reads=8, num_sweeps=30, trotter_slices=4, seed=9)
    np.testing.assert_array_equal(a.record.sample, b.record.sample)
    assert a.info["worldlines"].shape == (8, 4, 10)
    r = piqmc.thermal(dj.problems.sherrington_kirkpatrick(4), 1.0, 1.0, 4, 20, 8, seed=3)
    assert r == piqmc.thermal(dj.problems.sherrington_kirkpatrick(4), 1.0, 1.0, 4, 20, 8, seed=3)


@pytest.mark.parametrize("kwargs, message", [
    ({"trotter_slices": 1}, "trotter_slices"),
    ({"trotter_slices": 5}, "even"),
    ({"beta": 0.0}, "beta"),
    ({"beta": float("nan")}, "beta"),
    ({"gamma_range": (0.0, 1.0)}, "positive"),
    ({"gamma_range": (0.1, 2.0)}, "decrease"),
    ({"schedule": [(0.1, 1.0, 0.0), (1.0, 0.0, 1.0)]}, "from 0 to 1"),
    ({"schedule": [(0.0, 1.0, 0.0), (1.0, 0.0, 1.0)]}, "B"),
    ({"schedule": [(0.0, 1.0, 0.5), (1.0, np.inf, 1.0)]}, "non-finite"),
])
def test_bad_input(kwargs, message):
    bqm = dj.problems.sherrington_kirkpatrick(4).to_bqm()
    with pytest.raises(ValueError, match=message):
        PathIntegralQMCSampler().sample(bqm, num_sweeps=5, **kwargs)
    with pytest.raises(ProblemError, match="gamma"):
        piqmc.thermal(dj.problems.sherrington_kirkpatrick(4), -1.0, 1.0)


def test_dwave_style_schedule_table():
    table = [(0.0, 5.0, 0.1), (0.5, 1.0, 0.6), (1.0, 0.01, 1.0)]
    a, b = dj.samplers.quantum.annealing_schedule(5, schedule=table)
    np.testing.assert_allclose(a, [5.0, 3.0, 1.0, 0.505, 0.01])
    np.testing.assert_allclose(b, [0.1, 0.35, 0.6, 0.8, 1.0])
    ss = PathIntegralQMCSampler().sample(dj.problems.ferromagnet_chain(8).to_bqm(), num_reads=4, num_sweeps=50,
                                         schedule=table, seed=0, beta=4.0)
    assert ss.first.energy == pytest.approx(-8.0)


def _ring_reference(s, f, keep_bond, u_flip, beta_slice):
    """The worldline cluster move on one ring s (P,) with fields f, written out: bond k joins slices k, k + 1 when
    they are equal and keep_bond[k]; segments are labelled along the ring from 0 (the last joins the first across a
    live boundary bond); segment j flips when ln u_flip[j] < 2 beta_slice sum_{k in j} s_k f_k."""
    p = s.size
    active = [(s[k] == s[(k + 1) % p]) and keep_bond[k] for k in range(p)]
    label = np.zeros(p, int)
    for k in range(1, p):
        label[k] = label[k - 1] + (not active[k - 1])
    if active[p - 1]:
        label[label == label[p - 1]] = 0
    flip = np.array([np.log(u_flip[j]) < 2.0 * beta_slice * np.sum((s * f)[label == j]) for j in range(p)])
    return np.where(flip[label], -s, s)


@pytest.mark.parametrize("n, p, batch, per_chain, extra_shape, precision", [
    (7, 6, (40,), False, (40,), "highest"),  # odd N: the generator's padded draw
    (8, 4, (2, 3), True, (2, 1), "bf16x3"),  # two batch axes, beta and K per chain, an extra field broadcast
    (6, 2, (5,), False, None, "bf16x2"),  # P = 2, no extra field
    (1, 4, (3,), False, None, "highest"),  # N = 1
    (2, 4, (6,), False, (6,), "bf16x2"),  # N = 2
])
def test_spin_by_spin_worldline_cluster_sweep_is_the_sequential_dynamics(n, p, batch, per_chain, extra_shape,
                                                                         precision):
    """The dense (spin-by-spin) worldline cluster sweep against NumPy, written out from its drawn random numbers:
    spin i's rings, i = 0 .. N-1, each from the fields at that moment (integer couplings: exact fields at every
    precision). Fails if the fields, the layout, the per-chain parameters, the order or the segment rule is off
    (checked: without the boundary join; with the fields from the start of the sweep; with the uniforms taken by
    slice instead of by label). The kept bonds occur with
    probability 1 - exp(-2 K), within 4 standard errors."""
    from dragonjax.kernels.piqmc import _segment_randomness, worldline_cluster_sweep

    rng = np.random.default_rng(4)
    J = np.triu(rng.integers(-2, 3, (n, n)), 1).astype(np.float32)
    J = J + J.T
    h = rng.integers(-1, 2, n).astype(np.float32)
    model = dj.IsingModel(J, h)
    chains = int(np.prod(batch))
    spins = np.asarray(kernels.random_spins(jax.random.key(2), (*batch, p, n)))
    extra = None if extra_shape is None else rng.integers(-1, 2, (*extra_shape, n)).astype(np.float32)
    beta_slice = rng.uniform(0.2, 0.8, (batch[-1], 1, 1)).astype(np.float32) if per_chain else 0.4
    coupling = rng.uniform(0.3, 1.0, (batch[0],) + (1,) * len(batch) + (1,)).astype(np.float32) if per_chain else 0.7
    key = jax.random.key(6)
    sweep = kernels.make_sweep(model, "dense", precision=precision)
    out = np.asarray(worldline_cluster_sweep(key, model, sweep, jnp.asarray(spins), beta_slice, coupling,
                                             None if extra is None else jnp.asarray(extra)))

    b_chain = np.broadcast_to(beta_slice, (*batch, 1, 1)).reshape(chains)
    k_chain = np.broadcast_to(coupling, (*batch, 1, 1)).reshape(chains)
    e_chain = np.zeros((chains, n), np.float32) if extra is None else np.broadcast_to(extra, (*batch, n)).reshape(
        chains, n)
    keep_bond, u_flip = (np.asarray(u) for u in _segment_randomness(key, (n, p, chains), jnp.asarray(k_chain)[None],
                                                                     jnp.float32))
    expected = 1 - np.exp(-2 * k_chain)
    assert abs(keep_bond.mean() - expected.mean()) < 4 * np.sqrt(np.mean(expected * (1 - expected)) / keep_bond.size)
    s = spins.reshape(chains, p, n).copy()
    for i in range(n):
        for c in range(chains):
            f = h[i] + e_chain[c, i] + s[c] @ J[:, i]  # (P,): the problem field of spin i in each slice
            s[c, :, i] = _ring_reference(s[c, :, i], f, keep_bond[i, :, c], u_flip[i, :, c], b_chain[c])
    s = s.reshape(spins.shape)
    np.testing.assert_array_equal(out, s)
    assert 0 < np.mean(out != spins) < 1




@pytest.mark.parametrize("p, shape", [(8, (3, 50)), (2, (40,)), (6, (5, 7))])
def test_both_segment_flip_forms_make_the_same_decisions(p, shape):
    """The masked form of the worldline cluster move (colour classes) and the by-label form (the dense move) flip
    the same segments on the same random numbers; integer fields, so the segment sums are exact in both. Half the
    rings flip somewhere (not a vacuous comparison)."""
    from dragonjax.kernels.piqmc import _flip_segments, _segment_randomness

    rng = np.random.default_rng(p)
    spins = jnp.asarray(rng.choice([-1.0, 1.0], (*shape[:-1], p, shape[-1])), jnp.float32)
    fields = jnp.asarray(rng.integers(-3, 4, spins.shape), jnp.float32)
    randomness = _segment_randomness(jax.random.key(p), spins.shape, 0.4, jnp.float32)
    masked = np.asarray(_flip_segments(randomness, spins, fields, 0.3))
    labelled = np.asarray(_flip_segments(randomness, spins, fields, 0.3, by_label=True))
    np.testing.assert_array_equal(masked, labelled)
    assert 0.2 < np.mean(np.any(masked != np.asarray(spins), axis=-2)) < 1


@pytest.mark.parametrize("rule, precision, p", [("metropolis", "highest", 6), ("heat_bath", "bf16x3", 2)])
def test_block_worldlines_sample_the_trotter_model_with_fields_per_chain(rule, precision, p):
    """PIQMC on a layered net (2-3-2 spins: 2 colour classes, the block path in the colour layout) at fixed
    (Gamma, beta) with an extra field per batch row: each row's mean problem energy (with its field folded into h)
    and sigma_x (the inter-slice estimator: the imaginary-time structure) match the exactly summed Trotter model
    within 4.5 standard errors over independent chains. Two batch axes (2 fields and betas x 600 chains: beta_slice
    and K_perp per chain), both rules, P = 6 (three slices per parity: a wrong time neighbour shows) and the P = 2
    ring (each slice's two time neighbours are the same slice)."""
    model = dj.problems.layered([2, 3, 2], seed=3, field=0.3)
    sweep = kernels.make_sweep(model, rule=rule, precision=precision)
    assert sweep.method == "block" and piqmc._Worldlines.of(sweep) is not None
    gamma, sweeps, chains = 0.7, 300, 600
    betas = np.array([1.5, 1.0], np.float32)  # one beta per batch row: beta_slice and K_perp per chain
    fields = np.array([[0.0, 0.5, -0.4, 0.2, 0.0, -0.3, 0.6], [0.8, -0.2, 0.0, 0.0, 0.5, 0.1, -0.7]], np.float32)
    spins = kernels.random_spins(jax.random.key(1), (2, chains, p, 7))
    beta = jnp.asarray(betas)[:, None, None, None]  # broadcasting against (..., P, N), as every path takes it
    run = jax.jit(lambda k, s: piqmc.quantum_annealing(k, model, sweep, s, beta, jnp.full(sweeps, gamma),
                                                       jnp.ones(sweeps), extra_field=jnp.asarray(fields)[:, None]))
    out = np.asarray(run(jax.random.key(2), spins))
    for row, f in enumerate(fields):
        folded = dj.IsingModel(model.J, np.asarray(model.h) + f)
        ref = exact.trotter_thermal(folded, gamma, float(betas[row]), p)
        for name, x in (("problem_energy", piqmc.problem_energy(folded, jnp.asarray(out[row]))),
                        ("sigma_x", piqmc.sigma_x_estimator(jnp.asarray(out[row]), float(betas[row]), gamma))):
            x = np.asarray(x, np.float64)
            assert abs(x.mean() - ref[name]) < 4.5 * x.std(ddof=1) / np.sqrt(chains), (row, name, x.mean(), ref)
