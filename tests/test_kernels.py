"""Kernels against exact answers. Tolerances are multiples of measured standard errors."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import dragonjax as dj
from dragonjax import exact, kernels
from stats import chi_square_pvalue, state_index


def independent_pa_runs(model, betas, num_runs, num_replicas, seed, sweep, **kw):
    keys = jax.random.split(jax.random.key(seed), 2 * num_runs)
    spins = jax.vmap(lambda k: kernels.random_spins(k, (num_replicas, model.num_variables)))(keys[:num_runs])
    run = functools.partial(kernels.population_annealing, model=model, sweep=sweep, betas=betas, **kw)
    return jax.jit(jax.vmap(lambda k, s: run(k, spins=s)))(keys[num_runs:], spins)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0, 3.0])
def test_population_annealing_log_z_within_error_bars(beta):
    model = dj.problems.sherrington_kirkpatrick(14, seed=11, field=0.5)
    sweep = kernels.make_sweep(model)
    betas = np.linspace(0, beta, 101)[1:]
    out = independent_pa_runs(model, betas, num_runs=16, num_replicas=1000, seed=int(10 * beta), sweep=sweep,
                              sweeps_per_beta=2)
    log_z = np.asarray(out.log_z, np.float64)
    mean, standard_error = log_z.mean(), log_z.std(ddof=1) / np.sqrt(len(log_z))
    truth = float(exact.log_partition(model, beta))
    assert abs(mean - truth) < 5 * standard_error + 1e-5 * abs(truth), (mean, truth, standard_error)
    assert np.all(np.asarray(out.num_families) >= 1)
    assert np.all(np.asarray(out.rho_t) >= 1.0)


def _pa_log_z_error(sweep, model, extras, sweeps_per_beta):
    """(mean of ln Z - exact over runs, its standard error): one PA run per extra field (vmapped, as training maps
    over examples), each against enumeration of the model with h + that field, at beta 1.5."""
    keys = jax.random.split(jax.random.key(7), 2 * len(extras))
    spins = jax.vmap(lambda k: kernels.random_spins(k, (500, model.num_variables)))(keys[:len(extras)])
    betas = np.linspace(0, 1.5, 61)[1:]
    run = jax.jit(jax.vmap(lambda k, s, f: kernels.population_annealing(
        k, model, sweep, s, betas, extra_field=f, sweeps_per_beta=sweeps_per_beta).log_z))
    errors = np.asarray(run(keys[len(extras):], spins, extras), np.float64) - np.array(
        [float(exact.log_partition(dj.IsingModel(model.J, model.h + f, model.offset), 1.5)) for f in extras])
    return errors.mean(), errors.std(ddof=1) / np.sqrt(len(errors))


@pytest.mark.parametrize("rule, sweeps_per_beta", [("metropolis", 1), ("heat_bath", 2)])
def test_population_annealing_with_tracked_energies_log_z_within_error_bars(rule, sweeps_per_beta):
    """The block sweep's tracked energies (``Sweep.track``) drive the reweighting: ln Z of a layered net with a field
    and a different extra field per run (vmapped, as in training) agrees with enumeration of each model with
    h + extra, within 5 standard errors of 16 runs (the file's convention). Null control: the same runs with the
    tracked change scaled by 1.05 miss it by far more."""
    from dragonjax.kernels.sweeps import Sweep

    model = dj.problems.layered([5, 6, 4], seed=4, field=0.3)
    extras = 0.4 * jax.random.normal(jax.random.key(5), (16, model.num_variables))
    sweep = kernels.make_sweep(model, "block", rule)
    assert sweep.track is not None
    mean, standard_error = _pa_log_z_error(sweep, model, extras, sweeps_per_beta)
    assert abs(mean) < 5 * standard_error + 1e-4, (mean, standard_error)

    def scaled(*args):
        spins, change = sweep.track(*args)
        return spins, 1.05 * change

    wrong = Sweep(sweep.method, sweep.rule, sweep.blocks, sweep.apply, sweep.precision, sweep.run,
                  sweep.sweeps_per_draw, scaled)
    wrong_mean, wrong_error = _pa_log_z_error(wrong, model, extras, sweeps_per_beta)
    assert abs(wrong_mean) > 5 * wrong_error + 1e-4, (wrong_mean, wrong_error)


def test_adaptive_schedule_log_z_and_overlap():
    model = dj.problems.sherrington_kirkpatrick(12, seed=1, field=0.3)
    sweep = kernels.make_sweep(model)
    runs = []
    for seed in range(6):
        k1, k2 = jax.random.split(jax.random.key(seed))
        spins = kernels.random_spins(k1, (1000, 12))
        res = kernels.adaptive_population_annealing(k2, model, sweep, spins, 2.0, target_overlap=0.9,
                                                    max_steps=500, sweeps_per_beta=2)
        n = int(res.num_steps)
        assert 1 < n < 500 and float(res.betas[n - 1]) == pytest.approx(2.0)
        assert np.all(np.diff(np.asarray(res.betas[:n])) > 0)
        runs.append(float(res.log_z))
    se = np.std(runs, ddof=1) / np.sqrt(len(runs))
    assert abs(np.mean(runs) - float(exact.log_partition(model, 2.0))) < 4 * se + 1e-4


@pytest.mark.parametrize("method, rule", [("dense", "metropolis"), ("dense", "heat_bath"),
                                          ("block", "metropolis"), ("block", "heat_bath"),
                                          ("random", "metropolis"), ("random", "heat_bath")])
def test_equilibrium_chain_matches_boltzmann(method, rule):
    model = (dj.problems.sherrington_kirkpatrick(8, seed=3, field=0.4) if method != "block"
             else dj.problems.edwards_anderson(3, dim=2, seed=2, couplings="gaussian"))
    beta = 0.9
    sweep = kernels.make_sweep(model, method, rule)
    assert isinstance(sweep, kernels.Sweep) and (sweep.method, sweep.rule) == (method, rule)
    assert (len(sweep.blocks) >= 2) if method == "block" else sweep.blocks == ()  # colour classes of the lattice
    num_chains = 4000  # independent chains: their final states are independent samples
    k1, k2 = jax.random.split(jax.random.key(7))
    spins = kernels.random_spins(k1, (num_chains, model.num_variables))
    out = jax.jit(lambda k, s: kernels.simulated_annealing(k, model, sweep, s, jnp.full(60, beta)))(k2, spins)
    counts = np.bincount(state_index(out.spins), minlength=2 ** model.num_variables)
    p = exact.boltzmann_distribution(model, beta)
    assert chi_square_pvalue(counts, p) > 1e-3
    np.testing.assert_allclose(out.energies, model.energy(out.spins), rtol=1e-5, atol=1e-5)


def test_population_matches_boltzmann():
    model = dj.problems.sherrington_kirkpatrick(8, seed=5, field=0.4)
    beta = 1.5
    sweep = kernels.make_sweep(model)
    out = independent_pa_runs(model, np.linspace(0, beta, 41)[1:], num_runs=3000, num_replicas=32, seed=3,
                              sweep=sweep)
    one_per_run = np.asarray(out.spins[:, 0])  # replicas of one run are correlated; runs are not
    counts = np.bincount(state_index(one_per_run), minlength=256)
    assert chi_square_pvalue(counts, exact.boltzmann_distribution(model, beta)) > 1e-3


def test_log_z_gradient_approaches_exact():
    model = dj.problems.sherrington_kirkpatrick(10, seed=9, field=0.5)
    beta, r = 1.0, 20000
    sweep = kernels.make_sweep(model)
    betas = np.linspace(0, beta, 51)[1:]
    k1, k2 = jax.random.split(jax.random.key(0))
    spins = kernels.random_spins(k1, (r, 10))
    run = jax.jit(lambda m: kernels.population_annealing(k2, m, sweep, spins, betas))
    grad = jax.jit(jax.grad(lambda m: run(m).log_z))(model)
    truth = jax.grad(lambda m: exact.log_partition(m, beta))(model)
    # error bars from the final population, with the effective sample size R / rho_t
    out = run(model)
    s = np.asarray(out.spins, np.float64)
    scale = np.sqrt(float(out.rho_t) / r)
    se_h = beta * s.std(0) * scale
    se_J = 0.5 * beta * (s[:, :, None] * s[:, None, :]).std(0) * scale
    off = ~np.eye(10, dtype=bool)
    z_h = (np.asarray(grad.h) - np.asarray(truth.h)) / se_h
    z_J = ((np.asarray(grad.J) - np.asarray(truth.J))[off]) / se_J[off]
    z = np.concatenate([z_h, z_J])
    assert np.sqrt(np.mean(z ** 2)) < 2.0 and np.max(np.abs(z)) < 5.0, (np.sqrt(np.mean(z ** 2)), np.abs(z).max())
    rel = np.linalg.norm(np.asarray(grad.J - truth.J)) / np.linalg.norm(np.asarray(truth.J))
    assert rel < 0.05  # the stated accuracy at R = 20000
    assert float(grad.offset) == pytest.approx(-beta, rel=1e-5)


@pytest.mark.parametrize("method", ["systematic", "multinomial", "residual", "nearest"])
def test_resampling_is_unbiased(method):
    r = 64
    log_w = jnp.log(jax.random.uniform(jax.random.key(1), (r,)) ** 3)
    w = np.asarray(jax.nn.softmax(log_w))
    trials = 3000
    idx = jax.vmap(lambda k: kernels.resample(k, log_w, method))(jax.random.split(jax.random.key(2), trials))
    assert idx.shape == (trials, r) and int(idx.min()) >= 0 and int(idx.max()) < r
    counts = jax.vmap(lambda i: jnp.bincount(i, length=r))(idx)
    mean = np.asarray(counts).mean(0)
    se = np.asarray(counts).std(0) / np.sqrt(trials) + 1e-3
    assert np.all(np.abs(mean - r * w) < 5 * se + 0.02), np.max(np.abs(mean - r * w) / se)
    if method in ("systematic", "residual"):  # each count is floor or ceil of R w_i (residual: at least floor)
        assert np.all(np.asarray(counts) >= np.floor(r * w) - (method == "systematic"))


def test_family_statistics():
    stats = kernels.family_statistics(jnp.array([0, 0, 0, 1, 1, 2, 2, 2]), 8)
    assert int(stats["num_families"]) == 3
    assert float(stats["rho_t"]) == pytest.approx((9 + 4 + 9) / 8)


@pytest.mark.parametrize("sampler_name", ["sa", "pa"])
def test_planted_ground_state_found_in_most_reads(sampler_name):
    from dragonjax.samplers import PopulationAnnealingSampler, SimulatedAnnealingSampler

    sampler = SimulatedAnnealingSampler() if sampler_name == "sa" else PopulationAnnealingSampler()
    for n in (64, 128):
        planted = dj.problems.wishart_planted(n, alpha=2.0, seed=n)
        ss = sampler.sample(planted.model.to_bqm(), num_reads=32, num_sweeps=1000, seed=5)
        found = np.isclose(ss.record.energy, planted.ground_energy, rtol=1e-5, atol=1e-5)
        assert found.mean() > 0.5, (n, found.mean())


def test_schedules_validate():
    with pytest.raises(ValueError, match="increasing"):
        kernels.beta_schedule((2.0, 1.0), 10)
    with pytest.raises(ValueError, match="positive"):
        kernels.beta_schedule((0.0, 1.0), 10)
    with pytest.raises(ValueError, match="non-decreasing"):
        kernels.check_schedule([0.1, 0.5, 0.3])
    np.testing.assert_allclose(kernels.beta_schedule((0.1, 10.0), 3), [0.1, 1.0, 10.0])


@pytest.mark.parametrize("method, precision", [("dense", "bf16x2"), ("dense", "bf16x3"), ("block", "bf16x2"),
                                               ("block", "bf16x3"), ("dense", "default")])
def test_reduced_precision_sweeps_match_boltzmann(method, precision):
    """The bfloat16-split field products (tensor-core modes) sample the exact Boltzmann distribution."""
    model = (dj.problems.sherrington_kirkpatrick(8, seed=3, field=0.4) if method == "dense"
             else dj.problems.edwards_anderson(3, dim=2, seed=2, couplings="gaussian"))
    beta = 0.9
    sweep = kernels.make_sweep(model, method, "metropolis", precision)
    assert sweep.precision == precision
    k1, k2 = jax.random.split(jax.random.key(8))
    spins = kernels.random_spins(k1, (4000, model.num_variables))
    out = jax.jit(lambda k, s: kernels.simulated_annealing(k, model, sweep, s, jnp.full(60, beta)))(k2, spins)
    counts = np.bincount(state_index(out.spins), minlength=2 ** model.num_variables)
    assert chi_square_pvalue(counts, exact.boltzmann_distribution(model, beta)) > 1e-3


def test_split_couplings_give_fields_to_their_stated_accuracy():
    """Local fields from bfloat16 parts of J against float64: the split keeps 8 more significant bits per part, so
    each coupling is exact to 2^-17 (two parts) / 2^-25 (three parts) of itself, plus float32 accumulation."""
    from dragonjax.kernels.sweeps import spin_dot, split_couplings

    model = dj.problems.sherrington_kirkpatrick(200, seed=5)
    J = np.asarray(model.J, np.float64)
    spins = np.asarray(kernels.random_spins(jax.random.key(0), (16, 200)))
    exact_fields = spins.astype(np.float64) @ J
    scale = np.abs(J).sum(axis=0)  # sum_j |J_ij|: the size of a field's terms
    accumulation = 200 * 2.0 ** -24
    for precision, bits in (("bf16x2", 17), ("bf16x3", 25), ("highest", 25)):
        error = np.abs(np.asarray(spin_dot(jnp.asarray(spins), model.J, precision), np.float64) - exact_fields)
        assert np.all(error <= (2.0 ** -bits + accumulation) * scale), precision
    hi, lo = split_couplings(model.J, 2)
    assert hi.dtype == jnp.bfloat16 and np.all(np.abs(J - np.asarray(hi, np.float64) - np.asarray(lo, np.float64))
                                               <= 2.0 ** -16 * np.abs(J))
    # the two-part fields are measurably coarser than float32 (the test would not notice a silent fallback)
    coarse = np.abs(np.asarray(spin_dot(jnp.asarray(spins), model.J, "bf16x2"), np.float64) - exact_fields).max()
    fine = np.abs(np.asarray(spin_dot(jnp.asarray(spins), model.J, "bf16x3"), np.float64) - exact_fields).max()
    assert coarse > fine
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        kernels.make_sweep(model, "dense", "metropolis", "fp8")


@pytest.mark.parametrize("precision", ["highest", "default", "bf16x3", "bf16x2"])
def test_pair_couplings_are_the_couplings_the_row_products_use(precision):
    """The sweeps in pairs correct spin i + 1's field with pair_couplings(J)[i]: it must be J[i+1, i] exactly as
    the row product of spin i + 1 sees it (the product with the unit spin e_i), on non-integer couplings where the
    bfloat16 modes round it (the sequential-dynamics tests use integer couplings, exact in every mode)."""
    from dragonjax.kernels.sweeps import pair_couplings, row_products

    J = dj.problems.sherrington_kirkpatrick(17, seed=3).J
    pairs = np.asarray(pair_couplings(J, precision))
    product = row_products(J, precision)
    seen = np.array([float(product(i + 1, jnp.eye(17, dtype=jnp.float32)[:, i:i + 1])[0]) for i in range(16)])
    np.testing.assert_array_equal(pairs, seen)
    if precision == "bf16x2":  # not vacuous: two bfloat16 parts do round these couplings
        assert np.any(pairs != np.asarray(jnp.diagonal(J, -1)))


@pytest.mark.parametrize("rule, precision, with_extra, n", [
    ("metropolis", "highest", True, 9), ("heat_bath", "highest", True, 9), ("metropolis", "bf16x3", False, 9),
    ("heat_bath", "bf16x2", True, 9), ("metropolis", "default", False, 9), ("metropolis", "highest", True, 1),
    ("heat_bath", "highest", True, 2), ("metropolis", "bf16x2", True, 10)])
def test_dense_sweep_is_the_sequential_dynamics(rule, precision, with_extra, n):
    """One dense sweep is spins 0 .. N-1 updated in turn, each from its field at that moment, against the thresholds
    of the sweep's key drawn (N, chains): a NumPy loop gives the same spins (integer couplings: exact fields at every
    precision), with or without an extra field, with a beta per chain, for odd and even N (the sweep visits spins in
    pairs, an odd N's last alone). It fails if the updates used fields from the start of the sweep (checked)."""
    from dragonjax.kernels.sweeps import _dense_sweep, _noise

    rng = np.random.default_rng(3)
    chains = 64
    J = np.triu(rng.integers(-2, 3, (n, n)), 1).astype(np.float32)
    model = dj.IsingModel(J + J.T, rng.integers(-1, 2, n).astype(np.float32))
    spins = np.asarray(kernels.random_spins(jax.random.key(1), (4, chains // 4, n)))
    extra = rng.integers(-1, 2, (4, chains // 4, n)).astype(np.float32)
    beta = rng.uniform(0.2, 1.5, (4, 1)).astype(np.float32)
    key = jax.random.key(5)
    if not with_extra:
        extra = np.zeros_like(extra)
    out = np.asarray(_dense_sweep(rule, precision)(key, model, jnp.asarray(spins), jnp.asarray(beta),
                                                   jnp.asarray(extra) if with_extra else None))

    noise = np.asarray(_noise(rule, key, (n, chains), jnp.float32))
    s = spins.reshape(chains, n).copy()
    h = np.asarray(model.h) + extra.reshape(chains, n)
    b = np.broadcast_to(beta, (4, chains // 4)).reshape(chains)
    for i in range(n):
        f = h[:, i] + s @ np.asarray(model.J)[:, i]
        if rule == "metropolis":
            s[:, i] = np.where(noise[i] < 2 * b * s[:, i] * f, -s[:, i], s[:, i])
        else:
            s[:, i] = np.where(noise[i] < -2 * b * f, 1.0, -1.0)
    np.testing.assert_array_equal(out.reshape(chains, n), s)


def test_population_step_is_the_kernel_and_the_schedules_are_thin_drivers():
    """A loop over ``population_step`` from ``population_init`` with the driver's keys gives population_annealing's
    population bit for bit, and its ln Q and ln Z to float32 rounding (eager steps against one compiled scan); the
    step's info reports the histogram overlap of its reweighting."""
    from dragonjax.kernels import (PAState, make_sweep, population_annealing, population_init, population_step,
                                   random_spins)

    model = dj.problems.sherrington_kirkpatrick(16, seed=3)
    sweep = make_sweep(model)
    spins = random_spins(jax.random.key(0), (32, 16))
    betas = jnp.linspace(0.2, 1.5, 8)
    reference = population_annealing(jax.random.key(1), model, sweep, spins, betas)
    state = population_init(model, spins)
    assert isinstance(state, PAState) and float(state.log_z) == pytest.approx(16 * np.log(2.0))
    log_q = []
    for key, beta in zip(jax.random.split(jax.random.key(1), betas.shape[0]), betas):
        state, info = population_step(key, state, beta, model, sweep)
        log_q.append(info.log_q)
        assert 0.0 < float(info.histogram_overlap) <= 1.0
    np.testing.assert_array_equal(state.spins, reference.spins)
    np.testing.assert_allclose(jnp.stack(log_q), reference.log_q, rtol=1e-5)
    assert float(state.log_z) == pytest.approx(float(reference.log_z), rel=1e-6)


@pytest.mark.parametrize("rule", ["metropolis", "heat_bath"])
@pytest.mark.parametrize("sizes", [[5, 7, 3], [6, 6]])
def test_colour_ordered_block_sweep_is_the_class_by_class_update(rule, sizes):
    """The block sweep holds the spins spin-major in colour order; with integer couplings and fields (sums exact
    in any order) it makes exactly the decisions of the plain class-by-class update on (batch, N) spins, the
    same key drawing the same thresholds -- classes that are not contiguous (layers 1 and 3 of 5-7-3), an extra
    field and a beta per chain included."""
    from dragonjax.kernels.sweeps import _noise, _update, block_fields

    layered = dj.problems.layered(sizes, seed=4)
    J = np.round(4 * np.asarray(layered.J))
    model = dj.IsingModel(J, np.round(3 * np.asarray(layered.h)) + 1)
    sweep = kernels.make_sweep(model, "block", rule)
    assert sweep.method == "block" and all(table is None for _, _, table in sweep.blocks)
    k1, k2, k3 = jax.random.split(jax.random.key(11), 3)
    spins = kernels.random_spins(k1, (3, 5, model.num_variables))
    extra = jnp.round(2 * jax.random.normal(k2, spins.shape))
    beta = jnp.linspace(0.05, 0.6, 15).reshape(3, 5)

    def reference(key, spins):
        b = beta[..., None]
        for k, block in zip(jax.random.split(key, len(sweep.blocks)), sweep.blocks):
            members = block[0]
            fields = block_fields(model, spins, block, extra)
            noise = _noise(rule, k, fields.shape, spins.dtype)
            spins = spins.at[..., members].set(_update(rule, noise, spins[..., members], fields, b))
        return spins

    for key in jax.random.split(k3, 4):
        new = sweep(key, model, spins, beta, extra)
        np.testing.assert_array_equal(new, reference(key, spins))
        assert np.any(new != spins)
        spins = new

    # several sweeps at once (Sweep.run): per class, the thresholds of all K sweeps are the uniforms of shape
    # (K, m_c, chains) under that class's key; sweep k uses slice k, chain-major in the (batch, N) layout
    from dragonjax.kernels.rng import uniform
    from dragonjax.kernels.sweeps import _thresholds

    betas = jnp.stack([beta * f for f in (1.0, 0.5, 2.0, 1.5)])  # an even count: the production layout
    keys = jax.random.split(k3, len(sweep.blocks))
    noise = [_thresholds(rule, uniform(k, (4, len(block[0]), 15))) for k, block in zip(keys, sweep.blocks)]
    expected = spins
    for k in range(4):
        for block, drawn in zip(sweep.blocks, noise):
            members = block[0]
            fields = block_fields(model, expected, block, extra)
            update = _update(rule, drawn[k].T.reshape(fields.shape), expected[..., members], fields,
                             betas[k][..., None])
            expected = expected.at[..., members].set(update)
    new = sweep.run(k3, model, spins, betas, extra)
    np.testing.assert_array_equal(new, expected)
    assert np.any(new != spins)
    one = sweep.run(k3, model, spins, betas[:1], extra)
    np.testing.assert_array_equal(one, sweep(k3, model, spins, betas[0], extra))

    # the drivers' loop: chunks of sweeps_per_draw betas, then the remainder, each under its own key
    from dragonjax.kernels.sweeps import run_sweeps

    many = jnp.concatenate([betas] * 3)[:10]
    first, rest = jax.random.split(k3, 2)
    assert sweep.sweeps_per_draw == 8
    chunked = sweep.run(rest, model, sweep.run(first, model, spins, many[:8], extra), many[8:], extra)
    np.testing.assert_array_equal(run_sweeps(sweep, k3, model, spins, many, extra), chunked)


@pytest.mark.parametrize("rule", ["metropolis", "heat_bath"])
def test_tracked_energy_change_equals_the_recomputed_one(rule):
    """``run_sweeps(..., energy_change=True)`` (the colour-ordered block sweep's ``track``): the same spins as the
    untracked sweeps, and each chain's energy change equal to E(after) - E(before) up to float32 rounding, with a
    per-chain extra field, for one sweep and for chunked runs (8 per draw, then a remainder); sweeps without it
    (dense, random, reduced precision) refuse. Inside population annealing the tracked energies stay those of their
    replicas through resampling (60 steps, 1-3 sweeps each; float32 rounding only); a per-replica extra field
    is refused there."""
    from dragonjax.kernels.annealing import energies
    from dragonjax.kernels.sweeps import run_sweeps

    model = dj.problems.layered([6, 9, 4], seed=2)
    sweep = kernels.make_sweep(model, "block", rule)
    assert sweep.track is not None
    spins = kernels.random_spins(jax.random.key(1), (3, 5, model.num_variables))
    extra = jax.random.normal(jax.random.key(2), spins.shape)
    for count in (1, 3, 11):
        betas = jnp.linspace(0.2, 1.5, count)
        plain = run_sweeps(sweep, jax.random.key(3), model, spins, betas, extra)
        new, change = run_sweeps(sweep, jax.random.key(3), model, spins, betas, extra, energy_change=True)
        np.testing.assert_array_equal(new, plain)
        assert change.shape == spins.shape[:-1] and np.any(np.asarray(change) != 0)
        exact = energies(model, new, extra) - energies(model, spins, extra)
        scale = float(jnp.max(jnp.abs(energies(model, spins, extra))))
        # float32 rounding: measured 2e-7 to 9e-7 of max |E| (1-11 sweeps); allowed 1e-5 per sweep
        np.testing.assert_allclose(change, exact, atol=1e-5 * scale * count, rtol=0)
    for other in (kernels.make_sweep(model, "dense", rule), kernels.make_sweep(model, "random", rule),
                  kernels.make_sweep(model, "block", rule, precision="bf16x2")):
        assert other.track is None
        with pytest.raises(dj.ProblemError, match="does not track"):
            run_sweeps(other, jax.random.key(3), model, spins, betas, extra, energy_change=True)
    # inside population annealing: the tracked energies stay with their (resampled) replicas over 60 steps
    state = kernels.population_init(model, spins[0], extra[0, 0])
    steps = {k: jax.jit(lambda key, state, beta, k=k: kernels.population_step(key, state, beta, model, sweep,
                                                                              extra[0, 0], sweeps_per_beta=k))
             for k in (1, 2, 3)}
    for step, (key, beta) in enumerate(zip(jax.random.split(jax.random.key(4), 60), jnp.linspace(0.05, 3.0, 60))):
        state, _ = steps[1 + step % 3](key, state, beta)
        np.testing.assert_allclose(state.energies, energies(model, state.spins, extra[0, 0]), atol=1e-4 * scale,
                                   rtol=0)
    with pytest.raises(dj.ProblemError, match="one field"):
        kernels.population_step(key, state, beta, model, sweep, extra[0])


def test_sweeps_drawn_in_chunks_report_progress_in_sweeps():
    """Simulated annealing on a block problem (8 sweeps per call): progress counts sweeps, ends at the total,
    and reporting does not change the result."""
    from dragonjax.kernels import progress

    model = dj.problems.layered([6, 9, 4], seed=2)
    sweep = kernels.make_sweep(model, "block")
    spins = kernels.random_spins(jax.random.key(1), (5, model.num_variables))
    betas = jnp.linspace(0.1, 2.0, 50)
    reports = []
    with progress.listening(lambda done, total: reports.append((done, total))):
        reported = kernels.simulated_annealing(jax.random.key(2), model, sweep, spins, betas, sweeps_per_beta=2,
                                               progress=True)
    plain = kernels.simulated_annealing(jax.random.key(2), model, sweep, spins, betas, sweeps_per_beta=2)
    np.testing.assert_array_equal(reported.spins, plain.spins)
    done = sorted(d for d, _ in reports)
    assert {t for _, t in reports} == {100} and done[-1] == 100 and 10 <= len(done) <= 21
    assert all(b > a for a, b in zip(done, done[1:]))


def test_uniforms_are_the_same_numbers_in_either_counter_layout():
    """The thresholds of several sweeps drawn at once (uniform_shaped: counters laid out in the output's shape)
    are the numbers of the flat-counter uniform for the same key -- even and odd leading axes -- and differ
    between keys; 24-bit values in [0, 1)."""
    from dragonjax.kernels.rng import uniform, uniform_shaped

    for shape in [(8, 16, 6), (3, 4), (5,), (2, 7, 3)]:
        u = uniform(jax.random.key(5), shape)
        np.testing.assert_array_equal(uniform_shaped(jax.random.key(5), shape), u)
        assert float(u.min()) >= 0.0 and float(u.max()) < 1.0
        np.testing.assert_array_equal(np.asarray(u) * 2 ** 24 % 1, 0)
        assert np.mean(np.asarray(uniform(jax.random.key(6), shape)) == np.asarray(u)) < 0.05
