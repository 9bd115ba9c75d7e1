import dimod
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dragonjax import ProblemError, data
from dragonjax.experiments.training import build_run, run_training
from dragonjax.nn import IsingNetwork
from dragonjax.samplers import SimulatedAnnealingSampler
from dragonjax.train import AnnealerTrainer, BackpropTrainer, select_negatives


def separable_task():
    x = 2.0 * ((np.arange(16)[:, None] >> np.arange(4)) & 1) - 1.0
    y = (x @ np.array([1.0, -2.0, 0.5, 1.5]) > 0).astype(np.int32)
    x = x.astype(np.float32)
    return data.Dataset(x, y, x, y, 2, "separable")


def test_tiny_net_with_exact_sampler_learns_separable_task():
    ds = separable_task()
    net = IsingNetwork([4, 6], num_classes=2, spins_per_class=2)  # 10 free spins: enumerable
    trainer = AnnealerTrainer(net, sampler="exact", learning_rate=0.02, num_reads=8, num_negatives=4, batch_size=8)
    state, history = trainer.fit(ds, epochs=60)
    assert history[-1]["test_accuracy"] == 1.0
    assert history[0]["mean_wrong_label_states"] > history[-1]["mean_wrong_label_states"]  # fewer negatives


class RecordingSampler(dimod.Sampler):
    """Wraps dragonjax's SA and records the size of every problem it receives."""
    parameters = {"num_reads": [], "seed": []}
    properties = {}

    def __init__(self):
        self.sizes = []

    def sample(self, bqm, **kwargs):
        self.sizes.append(len(bqm.variables))
        self.couplings = max(getattr(self, "couplings", 0), len(bqm.quadratic))
        return SimulatedAnnealingSampler().sample(bqm, num_sweeps=20, **kwargs)


def test_active_layers_never_exceed_max_variables():
    ds = data.digits().subset(32, 24).centered()  # 4 steps: the window visits all 4 layers
    net = IsingNetwork([64, 8, 8, 8], num_classes=10, spins_per_class=1)  # layers of 8, 8, 8, 10 spins
    recorder = RecordingSampler()
    trainer = AnnealerTrainer(net, sampler=recorder, num_reads=2, num_negatives=2, batch_size=8, active_layers=1,
                              max_variables=10)
    _, history = trainer.fit(ds, epochs=1)
    assert recorder.sizes and max(recorder.sizes) <= 10
    assert {8, 10} <= set(recorder.sizes)  # the window slid over hidden layers and the output
    # the run's accounting: the largest problem handed over in training (spins, couplings)
    assert history[0]["largest_subproblem"] == max(recorder.sizes) == 10
    assert history[0]["largest_subproblem_couplings"] == recorder.couplings == 0  # one layer: no couplings inside
    two = AnnealerTrainer(net, sampler="sa", active_layers=2, max_variables=18)
    assert two.step_cost(0, 4)[2:] == (16, 64) and two.step_cost(2, 4)[2:] == (18, 80)
    with pytest.raises(ProblemError, match="max_variables"):
        AnnealerTrainer(net, active_layers=2, max_variables=10)


@pytest.mark.parametrize("nudge, nudged_phase", [("strong", "anneal"), (2.0, "anneal"), ("strong", "quench")])
def test_two_layer_toy_learns_a_separable_task_one_layer_at_a_time(nudge, nudged_phase):
    """Issue 17's toy: two layers (hidden 6, output 4) trained with the exact sampler one layer at a time
    (max_variables 6) learn the separable task -- with the strong nudge, with the weak nudge (beta 2)
    propagated to the hidden window's upper boundary, and with the nudged phase quenched from the free state.
    (Beta 0.5 trains this toy to 0.69-0.88 only, annealed whole too: measured over 2 seeds.)"""
    ds = separable_task()
    net = IsingNetwork([4, 6], num_classes=2, spins_per_class=2)
    trainer = AnnealerTrainer(net, sampler="exact", learning_rate=0.02, num_reads=8, num_negatives=4, batch_size=8,
                              active_layers=1, max_variables=6, nudge=nudge, nudged_phase=nudged_phase)
    _, history = trainer.fit(ds, epochs=60)
    assert history[-1]["test_accuracy"] == 1.0
    assert max(h["largest_subproblem"] for h in history) <= 6
    # calls per example and step: a quenched nudged phase calls no sampler; the strong nudge clamps the output
    # window's only layer (no nudged call there, one step in two); the weak nudge samples every nudged phase
    calls_per_example = 1 if nudged_phase == "quench" else 1.5 if nudge == "strong" else 2
    assert sum(h["sampler_calls"] for h in history) == calls_per_example * 60 * len(ds.y_train)


def test_quench_lowers_the_nudged_energy_to_a_layerwise_minimum():
    """The quenched nudged phase (Laydevant's reverse anneal at zero temperature): every layer update minimises the
    (nudged) energy given its neighbours, so the quench never raises it, it ends where each quenched layer is the
    sign of its local field (with enough sweeps), the layers below the window keep their values, and the strong
    nudge's output is the target."""
    net = IsingNetwork([8, 6, 5], num_classes=2, spins_per_class=2)
    params = net.init(jax.random.key(1))
    rng = np.random.default_rng(1)
    x = jnp.asarray(rng.choice([-1.0, 1.0], (32, 8)), jnp.float32)
    start = jnp.asarray(rng.choice([-1.0, 1.0], (32, net.num_free)), jnp.float32)
    target = net.target_code(jnp.asarray(np.arange(32) % 2))
    L = net.num_layers

    def nudged_energy(states, beta):
        o = net.layers(states)[-1]
        return net.energy(params, x, states) + (0.0 if beta is None else beta * jnp.sum(1 - o * target, -1) / 2)

    trainer = AnnealerTrainer(net, sampler="sa", nudged_phase="quench", quench_sweeps=20)
    clamped_start = jnp.concatenate(net.layers(start)[:-1] + [target], -1)
    cases = {"strong": (1, target, None, clamped_start),
             "strong, window from layer 2": (2, target, None, clamped_start),
             "weak": (1, target, 1.5, start), "free": (1, None, None, start)}
    for case, (lowest, tgt, beta, begin) in cases.items():
        quenched = trainer._quench(params, x, start, lowest, tgt, beta)
        assert np.all(np.asarray(nudged_energy(quenched, beta)) <= np.asarray(nudged_energy(begin, beta)) + 1e-4), case
        layers, initial = net.layers(quenched), net.layers(start)
        for l in range(1, lowest):
            np.testing.assert_array_equal(layers[l - 1], initial[l - 1])
        for l in range(lowest, L + 1):
            field = (layers[l - 2] if l >= 2 else x) @ params["weights"][l - 1] + params["biases"][l - 1]
            field = field + (layers[l] @ params["weights"][l].T if l < L else 0.5 * (beta or 0.0) * target)
            clamped = l == L and tgt is not None and beta is None
            expected = target if clamped else np.where(field >= 0, 1.0, -1.0)
            np.testing.assert_array_equal(layers[l - 1], expected, err_msg=f"{case}, layer {l}")
    with pytest.raises(ProblemError, match="nudged_phase"):
        AnnealerTrainer(net, nudged_phase="backwards")
    with pytest.raises(ProblemError, match="quench_sweeps"):
        AnnealerTrainer(net, nudged_phase="quench", quench_sweeps=0)


def test_reverse_anneal_from_a_given_state_reaches_the_boltzmann_distribution():
    """The sampler half of ``nudged_phase="reverse"``: chains started from one state (each example its own) at a
    constant beta forget it and sample exp(-beta E) of their conditioned problem (chi-squared against enumeration;
    the returned energies include the example's fields and offset); at a huge beta started from a local minimum
    -- no single flip lowers the energy -- they stay put."""
    from scipy import stats

    from dragonjax.exact import index_to_spins
    from dragonjax.ising import IsingModel
    from dragonjax.train.phases import phase_sampler

    rng = np.random.default_rng(5)
    n, batch, reads = 5, 2, 4000
    J = np.triu(rng.normal(size=(n, n)), 1)
    base = IsingModel(J + J.T, np.zeros(n))
    fields = jnp.asarray(rng.normal(size=(batch, n)), jnp.float32)
    offsets = jnp.asarray([0.5, -1.0], jnp.float32)
    sample = phase_sampler("sa")
    start = -jnp.ones((batch, n), jnp.float32)
    beta = 0.7
    states, energies = sample.from_state(jax.random.key(0), base, fields, offsets, start, reads,
                                         betas=jnp.full(400, beta, jnp.float32))
    every = index_to_spins(jnp.arange(2 ** n), n, jnp.float32)
    for b in range(batch):
        e = np.asarray(base.energy(every) + every @ fields[b] + offsets[b], np.float64)
        np.testing.assert_allclose(np.asarray(energies[b]),
                                   np.asarray(base.energy(states[b]) + states[b] @ fields[b] + offsets[b]), atol=1e-4)
        index = np.asarray(((states[b] + 1) / 2).astype(int) @ (2 ** np.arange(n)))
        p = np.exp(-beta * (e - e.min()))
        p /= p.sum()
        observed, expected = np.bincount(index, minlength=2 ** n), reads * p
        rare = expected < 5  # pooled, so that every cell of the chi-squared test expects at least 5
        observed = np.append(observed[~rare], observed[rare].sum())
        expected = np.append(expected[~rare], expected[rare].sum())
        assert stats.chisquare(observed, expected).pvalue > 1e-3, b
        # a local minimum of this example's energy: the chains at beta 1e4 never leave it
        flips = e[None, :] - e[np.arange(2 ** n)[:, None] ^ (1 << np.arange(n))[None, :]].T
        local = int(np.flatnonzero(np.all(flips.T < 0, axis=1))[0])
        stay, _ = sample.from_state(jax.random.key(1), base, fields[b:b + 1], offsets[b:b + 1], every[local][None],
                                    16, betas=jnp.full(10, 1e4, jnp.float32))
        np.testing.assert_array_equal(np.asarray(stay[0]), np.broadcast_to(every[local], (16, n)))
    with pytest.raises(ProblemError, match="reverse anneal"):
        phase_sampler("exact").from_state(jax.random.key(0), base, fields, offsets, start, 4, betas=jnp.ones(3))


def test_reverse_nudged_phase_trains_and_refuses_what_it_cannot_run():
    """``nudged_phase="reverse"``: the nudged phase restarted from the lowest free state at ``reverse_beta``.
    With one hidden layer and the output clamped the hidden spins are independent given input and output, so the
    reverse anneal's lowest state is the clamped problem's ground state (enumerated); training calls the sampler
    for both phases; it needs an SA/PA anneal whose cold end lies above ``reverse_beta``. (Trained whole with it,
    this net learns the separable task to 1.0 in 60 epochs on seed 0, as with a fresh anneal: measured, not a test.)"""
    import itertools

    ds = separable_task()
    net = IsingNetwork([4, 6], num_classes=2, spins_per_class=2)
    trainer = AnnealerTrainer(net, sampler="sa", learning_rate=0.02, num_reads=8, num_negatives=4, batch_size=8,
                              nudged_phase="reverse", reverse_beta=1.0, sampler_options={"num_sweeps": 16})
    state = trainer.init(total_steps=10)
    x, y = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    seen, from_state = {}, trainer.sample.from_state

    def recording(key, base, fields, offsets, initial, num_reads, **kwargs):
        seen.update(initial=initial, betas=kwargs["betas"])
        return from_state(key, base, fields, offsets, initial, num_reads, **kwargs)

    trainer.sample.from_state = recording
    free, free_e, correct, _ = trainer._phases(trainer.windows[0], jax.random.key(1), jax.random.key(2), state, x, y)
    trainer.sample.from_state = from_state
    # the chains start from the lowest free read's hidden layer (the output is clamped) and anneal from beta_r to
    # the cold end of the schedule
    lowest = free[jnp.arange(len(y)), jnp.argmin(free_e, axis=1)]
    np.testing.assert_array_equal(seen["initial"], net.layers(lowest)[0])
    np.testing.assert_allclose([seen["betas"][0], seen["betas"][-1]], [1.0, trainer.beta_range[1]], rtol=1e-6)
    assert len(seen["betas"]) == 16
    codes = jnp.asarray(list(itertools.product([-1.0, 1.0], repeat=6)), jnp.float32)
    target = net.target_code(y)
    every = jnp.concatenate([jnp.broadcast_to(codes, (len(y), 64, 6)),
                             jnp.broadcast_to(target[:, None, :], (len(y), 64, 4))], -1)
    ground = net.energy(state.params, x[:, None, :], every).min(axis=1)
    np.testing.assert_allclose(net.energy(state.params, x, correct), ground, atol=1e-4)
    _, history = trainer.fit(ds, epochs=2)
    assert sum(h["sampler_calls"] for h in history) == 2 * 2 * len(ds.y_train)
    for sampler in ("exact", "piqmc"):
        with pytest.raises(ProblemError, match="reverse"):
            AnnealerTrainer(net, sampler=sampler, nudged_phase="reverse")
    with pytest.raises(ProblemError, match="reverse_beta"):
        AnnealerTrainer(net, sampler="pa", nudged_phase="reverse", reverse_beta=10.0)
    with pytest.raises(ProblemError, match="reverse_beta"):
        AnnealerTrainer(net, sampler="pa", nudged_phase="reverse", reverse_beta=0)


def test_clamped_negative_is_the_exact_ground_state_of_the_most_offending_label():
    """``negative_phase="clamped"``: y_hat is the wrong class with the largest summed output field from the lowest
    free state's hidden layer; the negative is the ground state with the output clamped to t(y_hat) (exact sampler:
    checked against enumeration); the update is jax.grad of mean_b w_b [E(correct_b) - E(negative_b)], w_b = 1, or
    with a margin 1 only while E(negative_b) - E(correct_b) < margin (a hinge); three sampler calls per example."""
    import itertools

    ds = separable_task()
    net = IsingNetwork([4, 6], num_classes=2, spins_per_class=2, init_scale=2.0)
    x, y = jnp.asarray(ds.x_train), jnp.asarray(ds.y_train)
    codes = jnp.asarray(list(itertools.product([-1.0, 1.0], repeat=6)), jnp.float32)

    def clamped_ground(params, labels):
        t = net.target_code(labels)
        every = jnp.concatenate([jnp.broadcast_to(codes, (len(labels), 64, 6)),
                                 jnp.broadcast_to(t[:, None, :], (len(labels), 64, 4))], -1)
        return net.energy(params, x[:, None, :], every).min(axis=1)

    for margin in (None, 0.5):
        trainer = AnnealerTrainer(net, sampler="exact", num_reads=8, negative_phase="clamped", margin=margin)
        state = trainer.init(total_steps=10)
        params = state.params
        free, free_e, correct, wrong = trainer._phases(trainer.windows[0], jax.random.key(1), jax.random.key(2),
                                                       state, x, y)
        lowest = free[jnp.arange(len(y)), jnp.argmin(free_e, axis=1)]
        y_hat = 1 - np.asarray(y)  # two classes: the wrong class is the other one
        np.testing.assert_array_equal(trainer._most_offending(params, x, lowest, y), y_hat)
        np.testing.assert_allclose(net.energy(params, x, wrong), clamped_ground(params, jnp.asarray(y_hat)), atol=1e-4)
        np.testing.assert_allclose(net.energy(params, x, correct), clamped_ground(params, y), atol=1e-4)
        gap = net.energy(params, x, wrong) - net.energy(params, x, correct)
        w = jnp.ones_like(gap) if margin is None else (gap < margin).astype(gap.dtype)
        if margin is not None:
            assert 0 < float(w.sum()) < len(y)  # the hinge keeps some examples and drops others here
        # the hinge: an example outside the margin contributes nothing, its correct state included
        expected = jax.grad(lambda p: jnp.mean(w * (net.energy(p, x, correct) - net.energy(p, x, wrong))))(params)
        grads = trainer.update_gradient(state, x, y)
        for got, want in zip(jax.tree.leaves(grads), jax.tree.leaves(expected)):
            np.testing.assert_allclose(got, want, atol=1e-5)
    assert trainer.step_cost(0, 4)[0] == 12  # free, nudged and clamped-wrong phases
    # y_hat among several wrong classes: the largest summed output field, the true class excluded
    net4 = IsingNetwork([4, 5], num_classes=4, spins_per_class=3, init_scale=2.0)
    params4 = net4.init(jax.random.key(7))
    rng = np.random.default_rng(7)
    lowest = jnp.asarray(rng.choice([-1.0, 1.0], (64, net4.num_free)), jnp.float32)
    y4 = rng.integers(0, 4, 64)
    scores = (np.asarray(lowest[:, :5]) @ np.asarray(params4["weights"][1]) + np.asarray(params4["biases"][1]))
    scores = scores.reshape(64, 4, 3).sum(-1)
    scores[np.arange(64), y4] = -np.inf
    trainer4 = AnnealerTrainer(net4, sampler="exact", negative_phase="clamped")
    np.testing.assert_array_equal(trainer4._most_offending(params4, None, lowest, jnp.asarray(y4)),
                                  scores.argmax(1))
    for bad in ({"nudge": 2.0}, {"nudged_phase": "quench"}):
        with pytest.raises(ProblemError, match="negative_phase='clamped'"):
            AnnealerTrainer(net, sampler="exact", negative_phase="clamped", **bad)
    with pytest.raises(ProblemError, match="margin"):
        AnnealerTrainer(net, sampler="exact", margin=1.0)
    with pytest.raises(ProblemError, match="margin"):
        AnnealerTrainer(net, sampler="exact", negative_phase="clamped", margin=-1.0)
    with pytest.raises(ProblemError, match="negative_phase"):
        AnnealerTrainer(net, negative_phase="wrong")


def test_quench_is_the_exact_nudged_ground_state_with_one_hidden_layer_and_not_with_three():
    """The known answer behind the deep study's nudge-reach diagnostic: with one hidden layer and the output
    clamped, the hidden spins are independent given input and output, so the quench from any state is the exact
    ground state of the clamped problem (checked against enumeration); with three hidden layers a zero-temperature
    quench can stop above it (it does for some of these random examples)."""
    import itertools

    rng = np.random.default_rng(3)
    excess = {}
    for hidden in ([5], [3, 3, 3]):
        net = IsingNetwork([4, *hidden], num_classes=2, spins_per_class=2, init_scale=2.0)
        params = net.init(jax.random.key(2))
        x = jnp.asarray(rng.choice([-1.0, 1.0], (24, 4)), jnp.float32)
        target = net.target_code(jnp.asarray(np.arange(24) % 2))
        start = jnp.asarray(rng.choice([-1.0, 1.0], (24, net.num_free)), jnp.float32)
        quenched = AnnealerTrainer(net, sampler="sa", nudged_phase="quench")._quench(params, x, start, 1, target)
        codes = jnp.asarray(list(itertools.product([-1.0, 1.0], repeat=net.num_hidden)), jnp.float32)
        every = jnp.concatenate([jnp.broadcast_to(codes, (24, *codes.shape)),
                                 jnp.broadcast_to(target[:, None, :], (24, len(codes), target.shape[-1]))], -1)
        ground = net.energy(params, x[:, None, :], every).min(axis=1)
        excess[len(hidden)] = np.asarray(net.energy(params, x, quenched) - ground)
    np.testing.assert_allclose(excess[1], 0.0, atol=1e-4)
    assert np.all(excess[3] > -1e-4) and np.any(excess[3] > 1e-3)


def test_weak_nudge_reaches_a_window_through_its_upper_boundary():
    """Equilibrium propagation's local form: the nudged output is sign(field from the pass + beta t(y)), relaxed
    top-down to the window. A huge beta gives the strong nudge's boundary, a vanishing one the free boundary, and
    in between exactly the output spins whose field is weaker than beta and opposed to t(y) flip."""
    net = IsingNetwork([8, 6, 5], num_classes=2, spins_per_class=2)
    trainer = AnnealerTrainer(net, sampler="sa", active_layers=1, nudge=1.0)
    params = net.init(jax.random.key(0))
    x = jnp.asarray(np.random.default_rng(0).choice([-1.0, 1.0], (32, 8)), jnp.float32)
    target = net.target_code(jnp.asarray(np.arange(32) % 2))
    free, strong = trainer._outside(params, x, (1,)), trainer._outside(params, x, (1,), target)
    huge, tiny = trainer._outside(params, x, (1,), target, 1e6), trainer._outside(params, x, (1,), target, 1e-6)
    assert set(huge) == set(free) == {2, 3}
    for layer in (2, 3):
        np.testing.assert_array_equal(huge[layer], strong[layer])
        np.testing.assert_array_equal(tiny[layer], free[layer])
    layers = net.layers(net.forward_pass(params, x))
    field = np.asarray(layers[1] @ params["weights"][2] + params["biases"][2])
    magnitudes = np.unique(np.abs(field))
    beta = float(magnitudes[magnitudes.size // 2 - 1: magnitudes.size // 2 + 1].mean())  # between two fields: no tie
    flipped = (np.abs(field) < beta) & (np.sign(field) != np.asarray(target))
    nudged = trainer._outside(params, x, (1,), target, beta)[3]
    np.testing.assert_array_equal(np.asarray(nudged) != np.asarray(free[3]), flipped)
    assert 0 < flipped.sum() < flipped.size


def test_same_seed_same_metrics_and_bad_inputs():
    config = {"train_size": 64, "test_size": 32, "epochs": 2, "hidden": [32], "num_reads": 4, "num_sweeps": 8,
              "sampler": "sa", "seed": 3}
    a, b = run_training(config), run_training(config)
    strip = lambda m: [{k: v for k, v in h.items() if "seconds" not in k} for h in m["history"]]  # noqa: E731
    assert strip(a) == strip(b) and a["test_accuracy"] == b["test_accuracy"]
    net = IsingNetwork([64, 8], 10)
    empty = data.digits().subset(0, 10)
    with pytest.raises(ProblemError, match="no training examples|empty"):
        AnnealerTrainer(net).fit(data.digits()._replace(x_train=empty.x_train, y_train=empty.y_train), 1)
    bad = data.digits().subset(10, 10)
    with pytest.raises(ProblemError, match="labels"):
        AnnealerTrainer(net).fit(bad._replace(y_train=bad.y_train + 10), 1)
    with pytest.raises(ProblemError, match="inputs"):
        AnnealerTrainer(IsingNetwork([63, 8], 10)).fit(bad, 1)


def test_backprop_baseline_learns_digits():
    ds = data.digits().centered()
    state, history = BackpropTrainer(IsingNetwork([64, 64], 10, 2)).fit(ds, epochs=10)
    assert history[-1]["test_accuracy"] > 0.95


def test_checkpoint_resume_gives_identical_metrics(tmp_path, monkeypatch):
    config = {"train_size": 64, "test_size": 32, "epochs": 3, "hidden": [16], "num_reads": 4, "num_sweeps": 8,
              "sampler": "sa", "seed": 1}
    full = run_training(config, out=str(tmp_path / "full"))
    # crash after the second epoch's checkpoint, then resume
    from dragonjax.experiments import training

    original = training.save_checkpoint

    def crash_after_two(path, state, history, config=None):
        original(path, state, history, config)
        if state.epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_checkpoint", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_training(config, out=str(tmp_path / "crashed"))
    monkeypatch.setattr(training, "save_checkpoint", original)
    resumed = run_training({}, out=str(tmp_path / "crashed"), resume=True)
    keys = ("test_accuracy", "loss", "mean_wrong_label_states", "train_accuracy_running")
    assert [[h[k] for k in keys] for h in resumed["history"]] == [[h[k] for k in keys] for h in full["history"]]
    assert resumed["test_accuracy"] == full["test_accuracy"]


def test_layer_windows_keep_the_hidden_representations_input_dependent():
    """Training a 3-hidden-layer net one layer at a time must not collapse the hidden layers onto one state.
    (Relaxing the layers above the window only in the nudged phase did: the target code's common mode then
    pushed every example's hidden state the same way, leaving 66 / 19 / 8 distinct states of the hidden layers
    over 100 test inputs after one epoch; building both phases alike keeps 97 / 96 / 90.)"""
    config = {"hidden": [32, 32, 32], "spins_per_class": 2, "epochs": 1, "test_size": 100, "active_layers": 1,
              "num_sweeps": 16, "num_reads": 8, "seed": 0, "init_scale": 2.0}
    _, state = run_training(config, return_state=True)
    _, ds, net, _ = build_run(config)
    hidden = net.layers(net.forward_pass(state.params, jnp.asarray(ds.x_test, jnp.float32)))[:-1]
    distinct = [len(np.unique(np.asarray(s), axis=0)) for s in hidden]
    assert min(distinct) >= 50, distinct


def test_select_negatives_drops_duplicates_that_are_not_energy_neighbours():
    """Reads A, B, A, C with E(A) = E(B) < E(C): sorted by energy the two A's are not neighbours. Comparing only
    neighbours kept A twice and dropped C; every state must appear once. Also under jit and vmap."""
    a, b, c = [1.0, 1.0, 1.0], [1.0, -1.0, 1.0], [-1.0, -1.0, -1.0]
    states = jnp.array([[a, b, a, c]])
    energies, labels, y = jnp.array([[0.0, 0.0, 0.0, 1.0]]), jnp.array([[0, 0, 0, 0]]), jnp.array([1])
    negatives = select_negatives(states, energies, labels, y, 3)
    assert sorted(map(tuple, np.asarray(negatives[0][0]).tolist())) == sorted(map(tuple, [a, b, c]))
    assert int(negatives[2][0]) == 3
    np.testing.assert_allclose(negatives[1][0], [1 / 3] * 3)
    batched = jax.jit(jax.vmap(lambda *args: select_negatives(*args, 3)))(states[None], energies[None], labels[None],
                                                                            y[None])
    np.testing.assert_array_equal(batched[0][0], negatives[0])


def test_boltzmann_weights_use_the_sampler_final_beta(monkeypatch):
    """DESIGN section 3: Boltzmann weights over the wrong-label states at the sampler's final beta (here the
    cold end of beta_range, 4), not at beta = 1: w_i / w_j = exp(-4 (E_i - E_j))."""
    from dragonjax.train import annealer

    original, captured = annealer.select_negatives, []

    def recording(*args, **kwargs):
        captured.append(original(*args, **kwargs))
        return captured[-1]

    monkeypatch.setattr(annealer, "select_negatives", recording)
    net = IsingNetwork([8, 6], num_classes=4, spins_per_class=1)
    trainer = AnnealerTrainer(net, sampler="sa", num_reads=8, weighting="boltzmann", batch_size=16, nudge=1.0,
                              num_negatives=8, sampler_options={"num_sweeps": 4, "beta_range": (0.1, 4.0)})
    state = trainer.init(1)
    x = np.random.default_rng(0).choice([-1.0, 1.0], size=(16, 8)).astype(np.float32)
    trainer.update_gradient(state, x, np.zeros(16, np.int32))  # the step's phases, run outside jit: concrete arrays
    weights, energies = np.asarray(captured[0][1], np.float64), np.asarray(captured[0][4], np.float64)
    compared = 0
    for w, e in zip(weights, energies):
        pair = np.flatnonzero(w > 1e-6)[:2]  # two wrong-label states with non-negligible weight
        if len(pair) == 2 and abs(e[pair[1]] - e[pair[0]]) > 0.05:
            log_ratio = np.log(w[pair[1]] / w[pair[0]])
            assert log_ratio == pytest.approx(-4.0 * (e[pair[1]] - e[pair[0]]), rel=1e-3, abs=1e-3)
            compared += 1
    assert compared >= 3, compared


def test_boltzmann_weighting_needs_a_temperature():
    net = IsingNetwork([4, 3], num_classes=2)
    assert AnnealerTrainer(net, sampler="pa", weighting="boltzmann").boltzmann_beta == pytest.approx(10.0)
    assert AnnealerTrainer(net, sampler="piqmc", weighting="boltzmann",
                           sampler_options={"beta": 6.0}).boltzmann_beta == pytest.approx(6.0)
    with pytest.raises(ProblemError, match="boltzmann_beta"):
        AnnealerTrainer(net, sampler="exact", weighting="boltzmann")  # the R lowest states: no temperature
    assert AnnealerTrainer(net, sampler="exact", weighting="boltzmann", boltzmann_beta=2.0).boltzmann_beta == 2.0
    with pytest.raises(ProblemError, match="weighting"):
        AnnealerTrainer(net, weighting="softmax")


def test_ensemble_members_equal_the_single_runs_of_their_seeds():
    """Member i of an ensemble is the single run with seed i: same predictions, accuracies, wrong-label counts
    per epoch; losses to float32 rounding (the ensemble's reductions are batched)."""
    from dragonjax.train import member
    from dragonjax.train.ensemble import member_record

    config = {"train_size": 96, "test_size": 64, "epochs": 3, "hidden": [16], "num_reads": 4, "num_sweeps": 8,
              "spins_per_class": 2}
    ensemble, states = run_training({**config, "seeds": [5, 6, 7]}, return_state=True)
    single, state = run_training({**config, "seed": 6}, return_state=True)
    for a, b in zip([member_record(h, 1) for h in ensemble["history"]], single["history"]):
        for key in ("test_accuracy", "train_accuracy_running", "mean_wrong_label_states",
                    "fraction_with_wrong_label_states"):
            assert a[key] == b[key], key
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
    assert ensemble["train_accuracy"]["per_seed"][1] == single["train_accuracy"]
    _, ds, _, trainer = build_run({**config, "seed": 6})
    one = member(states, 1)
    np.testing.assert_allclose(one.params["weights"][0], state.params["weights"][0], rtol=0, atol=1e-5)
    np.testing.assert_array_equal(trainer.predict(one.params, ds.x_test, one.eval_key),
                                  trainer.predict(state.params, ds.x_test, state.eval_key))
    assert len(set(ensemble["test_accuracy"]["per_seed"])) > 1  # the members are different networks


def test_ensembles_over_hyperparameters_and_their_errors():
    from dragonjax.train import Ensemble, member

    ds = data.digits().subset(64, 32).centered()
    net = IsingNetwork([64, 12], 10, 2)
    options = {"num_reads": 4, "batch_size": 16, "nudge": 2.0, "sampler": "sa",
               "sampler_options": {"num_sweeps": 8, "beta_range": (0.1, 5.0)}}
    ensemble = Ensemble(AnnealerTrainer(net, **options), [0, 0], learning_rate=[0.01, 0.05], nudge=[2.0, 0.5],
                        beta_range=[(0.1, 5.0), (0.2, 3.0)])
    states, history = ensemble.fit(ds, 2)
    alone, alone_history = AnnealerTrainer(net, **{**options, "nudge": 0.5, "learning_rate": 0.05,
                                                   "sampler_options": {"num_sweeps": 8, "beta_range": (0.2, 3.0)}}
                                           ).fit(ds, 2)
    assert [h["test_accuracy"][1] for h in history] == [h["test_accuracy"] for h in alone_history]
    np.testing.assert_allclose(member(states, 1).params["weights"][0], alone.params["weights"][0], atol=1e-5)
    assert not np.allclose(member(states, 0).params["weights"][0], alone.params["weights"][0])
    with pytest.raises(ProblemError, match="unknown hyperparameter"):
        Ensemble(AnnealerTrainer(net), [0, 1], nudge=[1.0, 2.0]).init()  # a strong nudge has no strength
    with pytest.raises(ProblemError, match="3 values for 2 members"):
        Ensemble(AnnealerTrainer(net), [0, 1], learning_rate=[0.1, 0.2, 0.3])
    with pytest.raises(ProblemError, match="JAX sampler"):
        Ensemble(AnnealerTrainer(net, sampler=RecordingSampler()), [0, 1])


def test_train_config_is_typed_and_rejects_unknown_keys():
    from dragonjax.experiments.training import TrainConfig

    with pytest.raises(ProblemError, match=r"unknown configuration key\(s\) \['hiden'\]"):
        TrainConfig.from_dict({"hiden": [32]})
    with pytest.raises(ProblemError, match="hidden must be positive integers"):
        TrainConfig(hidden=(0,))
    with pytest.raises(ProblemError, match="beta_range"):
        TrainConfig(beta_range=(5.0, 1.0))
    with pytest.raises(ProblemError, match="not both"):
        run_training({"seed": 1, "seeds": [1, 2]})
    config = TrainConfig.from_dict({"seeds": "2:5", "hidden": [8, 8], "nudge": "0.5"})
    assert config.seeds == (2, 3, 4) and config.hidden == (8, 8) and config.nudge == 0.5
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert config.resolved().learning_rate == 0.01
    assert config.resolved().differences({"epochs": 20, "num_reads": 8}) == {"num_reads": (16, 8)}


def test_run_directories_are_never_mixed_and_bad_starts_leave_nothing_behind(tmp_path):
    """A configuration that fails its checks writes no folder content (so the same --out can be used at once);
    a run that got somewhere is refused to a new run; --resume names the options that differ, and compares
    only the options given against the stored run (not against the defaults)."""
    from dragonjax.experiments.training import TrainConfig

    out = str(tmp_path / "run")
    with pytest.raises(ProblemError, match="boltzmann_beta"):
        run_training({"sampler": "exact", "weighting": "boltzmann", "hidden": [4]}, out=out)
    with pytest.raises(ProblemError, match="beta_range"):
        run_training({"sampler": "piqmc", "beta_range": [0.1, 3.0]}, out=out)
    config = {"train_size": 32, "test_size": 16, "epochs": 1, "hidden": [8], "num_reads": 2, "num_negatives": 2,
              "num_sweeps": 4, "sampler": "sa", "seeds": [0, 1]}
    run_training(config, out=out)  # the same folder: nothing was written by the failed starts
    with pytest.raises(ProblemError, match="already holds a run"):
        run_training(config, out=out)
    with pytest.raises(ProblemError, match="num_sweeps: stored 4, given 8"):
        run_training({"num_reads": 2, "num_sweeps": 8}, out=out, resume=True)
    resumed = run_training({"num_reads": 2}, out=out, resume=True)  # given options agree with the stored run
    assert resumed["seeds"] == [0, 1]
    with open(f"{out}/metrics.json") as f:
        text = f.read()
    assert "NaN" not in text and "Infinity" not in text
    with pytest.raises(ProblemError, match="distinct"):
        TrainConfig(seeds="1,1")
    with pytest.raises(ProblemError, match="seed must be"):
        TrainConfig(seed=-1)


def _output_layer_change(trainer_name, parametrisation, width):
    """|Delta h_out| / |h_out| after one step: the output fields' change from the output weights' update, the
    hidden layer held at its sign pass (digits, 32 examples)."""
    from dragonjax import data
    from dragonjax.train.backprop import ising_parameters

    ds = data.digits().centered()
    x, y = ds.x_train[:32], ds.y_train[:32]
    net = IsingNetwork([64, width], 10, 4)
    if trainer_name == "annealer":
        trainer = AnnealerTrainer(net, "sa", 0.01, num_reads=4, lr_schedule="constant", parametrisation=parametrisation,
                                  sampler_options={"num_sweeps": 8})
        weights = lambda p: p["weights"]  # noqa: E731
    else:
        trainer = BackpropTrainer(net, 0.003, lr_schedule="constant", parametrisation=parametrisation)
        weights = lambda p: ising_parameters(p)["weights"]  # noqa: E731
    state = trainer.init(0, 10)
    new, _ = trainer.step(state, x, y)
    (w0, w1), (_, w1_new) = weights(state.params), weights(new.params)
    hidden = jnp.sign(x @ w0)
    return float(jnp.linalg.norm(hidden @ (w1_new - w1)) / jnp.linalg.norm(hidden @ w1))


@pytest.mark.parametrize("trainer_name", ["annealer", "backprop"])
def test_width_aware_parametrisation_makes_the_step_independent_of_width(trainer_name):
    """The control of issue 14: with one learning rate (standard) Adam's coherent steps change the output fields
    ~ lr x fan-in, so 16x the width gives ~16x the relative change (measured 24x annealer, 12x backprop); with
    lr ∝ 1/fan-in the change is O(1) at every width (measured within 1.7x)."""
    ratio = {p: _output_layer_change(trainer_name, p, 512) / _output_layer_change(trainer_name, p, 32)
             for p in ("standard", "width-aware")}
    assert ratio["standard"] > 8  # half the ~16x that lr x fan-in predicts
    assert 0.5 < ratio["width-aware"] < 2


def test_width_aware_needs_the_builtin_optimiser():
    import optax

    with pytest.raises(ProblemError, match="width-aware"):
        BackpropTrainer(IsingNetwork([4, 3], 2, 1), optimizer=optax.sgd(0.1), parametrisation="width-aware")
    with pytest.raises(ProblemError, match="parametrisation"):
        BackpropTrainer(IsingNetwork([4, 3], 2, 1), parametrisation="mup")


def test_local_field_beta_units_anneal_in_units_of_the_problems_own_scale():
    """beta_units='local-field' samples the conditioned problem as the absolute schedule beta / sigma does, sigma the
    batch's rms local field (same key, same states); scaling every coupling and field by c changes nothing in
    local-field units (the problem's own energy scale), whereas the absolute schedule anneals c times colder."""
    from dragonjax.ising import local_field_scale

    ds = separable_task()
    net = IsingNetwork([4, 6], num_classes=2, spins_per_class=2)
    x = jnp.asarray(ds.x_train[:8])
    relative = AnnealerTrainer(net, "sa", num_reads=4, beta_units="local-field", sampler_options={"num_sweeps": 8})
    absolute = AnnealerTrainer(net, "sa", num_reads=4, sampler_options={"num_sweeps": 8})
    params = net.init(jax.random.key(3))
    window = tuple(range(1, net.num_layers + 1))
    fixed = relative._outside(params, x, window)
    base, fields, _ = net.window_problem(params, x, window, fixed)
    sigma = float(local_field_scale(base, fields))
    assert sigma > 0
    key = jax.random.key(5)
    hyper = relative.hyperparameters(1)
    states, _ = relative._relax(key, params, x, window, fixed, hyper)
    scaled = absolute.hyperparameters(1, beta_range=tuple(np.asarray(hyper["beta_range"]) / sigma))
    expected, _ = absolute._relax(key, params, x, window, fixed, scaled)
    assert np.array_equal(np.asarray(states), np.asarray(expected))
    big = jax.tree_util.tree_map(lambda a: 7.0 * a, params)
    fixed_big = relative._outside(big, x, window)
    states_big, _ = relative._relax(key, big, x, window, fixed_big, hyper)
    assert np.mean(np.asarray(states_big) == np.asarray(states)) > 0.99  # equal up to float32 rounding of beta dE
    with pytest.raises(ProblemError, match="beta_units"):
        AnnealerTrainer(net, "sa", beta_units="kelvin")
    with pytest.raises(ProblemError, match="beta_units"):
        AnnealerTrainer(net, "exact", beta_units="local-field")


def test_layerwise_training_keeps_each_stage_within_max_variables_and_its_first_layer_learns():
    """Greedy layer-wise training (issue 17's classical control) with the exact sampler: each stage's problem is one
    hidden layer and the output (10 spins <= max_variables = 10); the first stage learns the separable task (1.0). The
    deep net ends at 0.88, not 1.0 (measured), and not for want of information: the first layer's deterministic
    pass gives 14 distinct codes, none shared by the two classes; the second stage does not learn them in 30 epochs
    (open, as claim 5 is)."""
    from dragonjax.train import train_layerwise

    ds = separable_task()
    net = IsingNetwork([4, 6, 6], num_classes=2, spins_per_class=2)
    params, history = train_layerwise(net, ds, 30, sampler="exact", learning_rate=0.02, num_reads=8,
                                      num_negatives=4, batch_size=8, max_variables=10)
    assert [h["layer"] for h in history] == [1] * 30 + [2] * 30
    assert max(h["largest_subproblem"] for h in history) == 10
    assert history[29]["test_accuracy"] == 1.0 and history[-1]["test_accuracy"] >= 0.8
    assert [np.shape(w) for w in params["weights"]] == [(4, 6), (6, 6), (6, 4)]
    with pytest.raises(ProblemError, match="max_variables"):
        train_layerwise(net, ds, 1, sampler="exact", max_variables=9)


def test_update_gradient_is_the_step_and_the_straight_through_reference_is_a_gradient():
    """update_gradient returns what step hands the optimiser (with plain SGD, the step moves the weights by
    -lr times it, window by window; exactly 0 on the weights below the window); ste_gradient of a net without
    hidden layers (smooth) is its exact gradient."""
    import optax

    from dragonjax.experiments.deep import _cosines, ste_gradient

    ds = separable_task()
    net = IsingNetwork([4, 3, 3], num_classes=2, spins_per_class=2)
    for windows in ({}, {"active_layers": 1, "max_variables": 4}):
        trainer = AnnealerTrainer(net, sampler="exact", optimizer=optax.sgd(0.1), num_reads=4, num_negatives=2,
                                  batch_size=8, **windows)
        state = trainer.init(0)
        x, y = ds.x_train[:8], ds.y_train[:8]
        for w in range(len(trainer.windows)):
            grads = trainer.update_gradient(state, x, y)
            for l in range(1, min(trainer.windows[w])):  # weights into a layer below the window: exactly unchanged
                assert not np.any(np.asarray(grads["weights"][l - 1])), (trainer.windows[w], l)
            after, _ = trainer.step(state, x, y)
            for before, moved, g in zip(state.params["weights"], after.params["weights"], grads["weights"]):
                np.testing.assert_allclose(np.asarray(moved) - np.asarray(before), -0.1 * np.asarray(g), atol=1e-6)
            state = after
    flat = IsingNetwork([4], num_classes=2, spins_per_class=2)
    params = flat.init(jax.random.key(1))
    g = ste_gradient(flat, params, ds.x_train, ds.y_train)
    W = params["weights"][0]
    step = 1e-3
    E = np.zeros_like(np.asarray(W))
    E[1, 2] = step
    bumped = {**params, "weights": [W + E]}
    lowered = {**params, "weights": [W - E]}

    def loss(p):
        logits = (ds.x_train @ np.asarray(p["weights"][0]) + np.asarray(p["biases"][0])).reshape(-1, 2, 2).mean(-1)
        logits = logits - logits.max(1, keepdims=True)
        return float(np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(len(ds.y_train)), ds.y_train]))

    assert float(g["weights"][0][1, 2]) == pytest.approx((loss(bumped) - loss(lowered)) / (2 * step), rel=1e-2)
    assert _cosines(g, g) == [pytest.approx(1.0)]


def _small_deep() -> dict:
    return {"hidden": [8, 8], "spins_per_class": 1, "seeds": [0], "max_variables": 18, "sampler": "sa",
            "num_reads": 4, "num_sweeps": 4, "layer_scales": [1.0, 0.5, 0.25]}


@pytest.mark.slow
def test_deep_variants_study_runs_small_within_max_variables(tmp_path):
    from dragonjax.experiments.deep import VARIANTS, describe, run_deep

    summary = run_deep(str(tmp_path / "deep"), {**_small_deep(), "seeds": [0, 1], "epochs": 1, "epochs_per_layer": 1,
                                                "variants": list(VARIANTS)})
    assert list(summary["results"]) == list(VARIANTS)
    for name in ("whole", "whole, quench", "whole, weak nudge", "whole, reverse anneal"):
        assert summary["results"][name]["largest_subproblem"] == 8 + 8 + 10
    for name in ("window 1", "window 1, weak nudge", "window 1, quench", "greedy"):
        assert summary["results"][name]["largest_subproblem"] <= 18
    for r in summary["results"].values():  # distinct states per layer over the 540 test inputs
        assert all(len(s["distinct_states"]) == 3 and all(1 <= d <= 256 for d in s["distinct_states"][:2])
                   and 1 <= s["distinct_states"][2] <= 540 for s in r["per_seed"])
    assert len(describe(summary)) == len(VARIANTS)
    teacher = run_deep(str(tmp_path / "teacher"), {**_small_deep(), "epochs": 1, "data": "teacher-student",
                                                    "variants": ["window 1", "straight-through backprop"]})
    assert list(teacher["results"]) == ["window 1", "straight-through backprop"]
    with pytest.raises(ProblemError, match="unknown data"):
        run_deep(str(tmp_path / "other"), {**_small_deep(), "data": "cifar"})


def test_deep_study_teacher_sizes_are_settings_and_checked():
    """The teacher-student task of the deep study takes sizes that keep the net's 64 inputs and 10 classes (a
    2-unit teacher labels with fewer classes, more examples give more rows) and refuses the rest by name."""
    from dragonjax.experiments.deep import TEACHER_STUDENT, deep_dataset

    base = deep_dataset("teacher-student")
    small = deep_dataset("teacher-student", {"hidden": 2, "num_train": 300})
    assert base.x_train.shape == (TEACHER_STUDENT["num_train"], 64) and small.x_train.shape == (300, 64)
    assert small.num_classes == base.num_classes == 10
    assert len(np.unique(small.y_test)) < len(np.unique(base.y_test))
    for bad, message in [({"num_classes": 4}, "cannot be set"), ({"hiden": 3}, "cannot be set"),
                         ({"hidden": 0}, "positive integers")]:
        with pytest.raises(ProblemError, match=message):
            deep_dataset("teacher-student", bad)
    with pytest.raises(ProblemError, match="apply to data 'teacher-student'"):
        deep_dataset("digits", {"hidden": 2})
    # the two crossed controls: digits' inputs with a teacher's labels, digits' labels on dense +-1 inputs
    digits = deep_dataset("digits")
    relabelled = deep_dataset("digits, teacher labels")
    np.testing.assert_array_equal(relabelled.x_test, digits.x_test)
    assert 3 <= len(np.unique(relabelled.y_test)) < 10 and np.bincount(relabelled.y_test).max() < 0.4 * 540
    projected = deep_dataset("digits, sign-projected")
    np.testing.assert_array_equal(projected.y_test, digits.y_test)
    assert set(np.unique(projected.x_test)) == {-1.0, 1.0}
    with pytest.raises(ProblemError, match="cannot be set for 'digits, teacher labels'"):
        deep_dataset("digits, teacher labels", {"num_train": 300})
    with pytest.raises(ProblemError, match="unknown data"):
        deep_dataset("mnist")


def test_deep_study_split_is_another_stratified_split_of_the_same_digits():
    """``split`` draws digits' train/test split anew: the same 1797 images and the same class counts in each part,
    a different partition; split 0 is the report's. The teacher-student task and bad values are refused by name."""
    from dragonjax.experiments.deep import deep_dataset

    first, second = deep_dataset("digits"), deep_dataset("digits", split=1)
    assert first.x_test.shape == second.x_test.shape == (540, 64)
    np.testing.assert_array_equal(np.bincount(first.y_test), np.bincount(second.y_test))
    def images(ds):
        x = np.concatenate([ds.x_train, ds.x_test])
        return x[np.lexsort(x.T[::-1])]

    np.testing.assert_array_equal(images(first), images(second))
    same = (first.x_test[:, None, :] == second.x_test[None, :, :]).all(-1).any(1).mean()
    assert same < 0.6  # about 0.3 of the test images would stay in a random re-split
    np.testing.assert_array_equal(deep_dataset("digits", split=0).x_test, first.x_test)
    with pytest.raises(ProblemError, match="split applies to the digits-based data"):
        deep_dataset("teacher-student", split=1)
    for bad in (-1, "1", 1.5, True):
        with pytest.raises(ProblemError, match="split must be a non-negative integer"):
            deep_dataset("digits", split=bad)


@pytest.mark.parametrize("args, message", [(["--hidden", "64", "0"], "--hidden takes positive layer widths"),
                                           (["--teacher", "hidden=x"], "--teacher takes KEY=N"),
                                           (["--lr", "-1"], "--lr must be positive"),
                                           (["--split", "-2"], "--split must be a non-negative integer")])
def test_deep_study_command_refuses_bad_settings_in_one_line(tmp_path, args, message):
    """The deep study's command line names a bad setting in a one-line usage error (exit 2), before any training
    and without writing its run directory."""
    import subprocess
    import sys

    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "dragonjax.experiments.deep", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert message in done.stderr.strip().splitlines()[-1]
    assert not out.exists()


@pytest.mark.slow
def test_alignment_diagnosis_reports_what_it_measures():
    """The claim-5 diagnosis at a toy size: '-' (None) exactly for the weights below a window, the
    shuffled-label null beside each update, cosines that are cosines, and the label-pairing part as the
    per-seed difference of the two."""
    from dragonjax.experiments.deep import describe_alignment, gradient_alignment, label_pairing, shuffle_floor

    result = gradient_alignment({**_small_deep(), "batches": 1, "batch_size": 8, "train_epochs": 0}, progress=False)
    rows = result["cosines"]["deep, initial"]
    updates = {"whole", "window [1]", "window [2]", "window [3]"}
    assert set(rows) == {"reference"} | {name + tag for name in updates
                                         for tag in ("", ", shuffled labels", ", reshuffled labels")}
    assert all(-1 <= c["mean"] <= 1 for c in rows.pop("reference"))
    for name, layers in rows.items():
        below = 0 if name.startswith("whole") else int(name.split("[")[1][0]) - 1
        assert all(c is None for c in layers[:below]) and all(c is not None for c in layers[below:]), name
        assert all(-1 <= c["mean"] <= 1 for c in layers[below:])
    assert result["null_sd"] == pytest.approx([1 / np.sqrt(64 * 8), 1 / np.sqrt(8 * 8), 1 / np.sqrt(8 * 10)])
    assert any("W1 -" in line for line in describe_alignment(result))
    for table, tag in ((label_pairing(result), ""), (shuffle_floor(result), ", reshuffled labels")):
        pairing = table["deep, initial"]
        assert set(pairing) == updates
        for name, layers in pairing.items():
            true, null = rows[name + tag], rows[f"{name}, shuffled labels"]
            for c, t, n in zip(layers, true, null):
                assert (c is None) == (t is None)
                if c is not None:
                    assert c["mean"] == pytest.approx(t["mean"] - n["mean"], abs=1e-12)


def test_code_bound_is_the_best_accuracy_of_any_readout_of_the_code():
    """``code_bound``: known answers by hand; all-distinct codes give 1 (the null: the bound says nothing when no
    two examples share a code); one code gives the majority rate; and no function of the code scores higher (the
    identity the collapse diagnostic rests on), checked over random codes, labels and readouts."""
    from dragonjax.experiments.deep import code_bound

    codes = np.array([[1, 1], [1, 1], [1, -1], [-1, -1], [1, 1]])
    assert code_bound(codes, np.array([0, 1, 1, 1, 1])) == (3, pytest.approx(4 / 5))
    assert code_bound(np.eye(6), np.arange(6) % 2) == (6, 1.0)
    assert code_bound(np.ones((10, 3)), np.array([2] * 7 + [0] * 3)) == (1, pytest.approx(0.7))
    rng = np.random.default_rng(0)
    for _ in range(20):
        codes = rng.choice([-1, 1], (200, 3))
        labels = rng.integers(0, 4, 200)
        table = rng.integers(0, 4, 8)  # a random readout: a label per code
        readout = table[((codes > 0) * [1, 2, 4]).sum(1)]
        distinct, bound = code_bound(codes, labels)
        assert distinct <= 8 and np.mean(readout == labels) <= bound + 1e-12
    with pytest.raises(ValueError, match="codes must be"):
        code_bound(np.ones(5), np.ones(5))


def test_lowest_states_are_what_predict_decodes():
    net = IsingNetwork([4, 6, 5], num_classes=2, spins_per_class=2, init_scale=2.0)
    ds = separable_task()
    trainer = AnnealerTrainer(net, sampler="pa", num_reads=4, sampler_options={"num_sweeps": 8})
    params = trainer.init().params
    states = trainer.lowest_states(params, ds.x_train, jax.random.key(3))
    assert states.shape == (len(ds.x_train), net.num_free) and set(np.unique(states)) <= {-1.0, 1.0}
    np.testing.assert_array_equal(net.decode(states[:, net.output_slice]),
                                  trainer.predict(params, ds.x_train, jax.random.key(3)))


def test_code_collapse_records_codes_bounds_and_the_identity():
    """The collapse diagnostic at a toy size: every checkpoint of every net and split; the accuracy of the lowest
    state never exceeds its output layer's majority bound (the label is a function of the output's code)."""
    from dragonjax.experiments.deep import code_collapse, describe_collapse

    result = code_collapse({**_small_deep(), "epochs": 1, "checkpoints": [0, 1]}, progress=False)
    assert set(result["results"]) == {"deep", "one hidden layer", "deep, straight-through backprop"}
    for name, splits in result["results"].items():
        assert set(splits) == {"train", "test"}
        for epochs in splits.values():
            assert list(epochs) == (["1"] if "backprop" in name else ["0", "1"])
            for c in epochs.values():
                bounds = c["bound"]["per_seed"][0]
                assert len(bounds) == (3 if name != "one hidden layer" else 2)
                if "backprop" not in name:  # its own readout (class scores) is not a function of the output's signs
                    assert c["accuracy"]["per_seed"][0] <= bounds[-1] + 1e-12
                assert all(1 <= d <= 2 ** 8 for d in c["distinct"]["per_seed"][0][:-1])
    assert len(describe_collapse(result)) == 2 * (2 + 2 + 1)


def test_layer_scales_scale_each_weight_matrix_and_are_refused_where_unsupported():
    """``layer_scales`` f_l multiply the initial scale of W_l: the same draws times f_l (exactly, for powers of two),
    an empirical spread of init_scale f_l / sqrt(fan_in) (tolerance 5 %, about 4 standard errors of a standard
    deviation over >= 2560 elements); the trainer's compiled initialisation is not shared with the plain net's; bad
    factors and the trainers that cannot honour them are refused in one line."""
    from dragonjax.train import train_layerwise

    factors = [1.0, 0.5, 0.25, 0.125]
    net = IsingNetwork([64, 64, 64, 64], 10, 4, 2.0, layer_scales=factors)
    plain = IsingNetwork([64, 64, 64, 64], 10, 4, 2.0)
    trained = [AnnealerTrainer(n, sampler="sa").init(0).params for n in (net, plain)]
    for a, b in ((net.init(jax.random.key(0)), plain.init(jax.random.key(0))), trained):
        for f, wa, wb in zip(factors, a["weights"], b["weights"]):
            np.testing.assert_array_equal(np.asarray(wa), np.asarray(wb) * f)
            assert np.std(np.asarray(wa)) * np.sqrt(wa.shape[0]) == pytest.approx(2.0 * f, rel=0.05)
    for bad in ([1.0, 0.5], [1.0, 0.5, 0.0, 1.0], [1.0, np.inf, 1.0, 1.0], ["a", "b", "c", "d"]):
        with pytest.raises(ProblemError, match="layer_scales"):
            IsingNetwork([64, 64, 64, 64], 10, 4, 2.0, layer_scales=bad)
    with pytest.raises(ProblemError, match="layer_scales"):
        BackpropTrainer(net)
    with pytest.raises(ProblemError, match="layer_scales"):
        train_layerwise(net, separable_task(), 1)


def test_learning_rate_warm_up_is_optax_warmup_cosine_and_holds_the_first_step():
    """``learning_rate_factor(..., warmup_steps=W)`` equals optax's ``warmup_cosine_decay_schedule`` from 0 (peak 1,
    decay over the run) at every step, and the constant schedule after a warm-up is 1; a trainer with
    ``lr_warmup_steps`` leaves the weights unchanged by its first step (factor 0) and changes them in its second,
    and refuses bad counts and a custom optimiser in one line."""
    import optax

    from dragonjax.train.core import learning_rate_factor

    reference = optax.warmup_cosine_decay_schedule(0.0, 1.0, 5, 40)
    for step in range(0, 45):
        assert float(learning_rate_factor(step, 40, "cosine", 5)) == pytest.approx(float(reference(step)), abs=1e-6)
        assert float(learning_rate_factor(step, 40, "constant", 5)) == pytest.approx(min(step / 5, 1.0), abs=1e-7)
    ds = separable_task()
    trainer = AnnealerTrainer(IsingNetwork([ds.num_inputs, 4], ds.num_classes, 2), sampler="sa", lr_warmup_steps=3)
    state = trainer.init(0, total_steps=10)
    first = trainer.step(state, ds.x_train[:32], ds.y_train[:32])[0]
    for before, after in zip(jax.tree_util.tree_leaves(state.params), jax.tree_util.tree_leaves(first.params)):
        np.testing.assert_array_equal(before, after)
    second = trainer.step(first, ds.x_train[:32], ds.y_train[:32])[0]
    assert any(np.any(a != b) for a, b in zip(jax.tree_util.tree_leaves(first.params),
                                              jax.tree_util.tree_leaves(second.params)))
    # the built-in Adam with the warm-up follows optax's Adam on the same schedule (the probes' optimiser), step by
    # step, with the exact sampler (no sampling noise): a full-sized step after the warm-up, 1/W of it before
    warm, total = 3, 6
    net = IsingNetwork([ds.num_inputs, 6], ds.num_classes, 2)
    built_in = AnnealerTrainer(net, sampler="exact", learning_rate=0.02, batch_size=16, lr_warmup_steps=warm)
    reference = AnnealerTrainer(net, sampler="exact", learning_rate=0.02, batch_size=16, optimizer=optax.adam(
        optax.warmup_cosine_decay_schedule(0.0, 0.02, warm, total)))
    a, b = built_in.init(0, total_steps=total), reference.init(0, total_steps=total)
    for _ in range(total):
        a, b = built_in.step(a, ds.x_train, ds.y_train)[0], reference.step(b, ds.x_train, ds.y_train)[0]
        for x, y in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params)):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)
    for bad in (-1, 1.5, True):
        with pytest.raises(ProblemError, match="lr_warmup_steps"):
            AnnealerTrainer(net, sampler="sa", lr_warmup_steps=bad)
    with pytest.raises(ProblemError, match="custom optimizer"):
        AnnealerTrainer(net, sampler="sa", lr_warmup_steps=2, optimizer=optax.sgd(0.1))


def test_weight_decay_is_optax_adamw_step_by_step():
    """``weight_decay`` w turns the built-in Adam into AdamW: with the exact sampler (no sampling noise) and the
    warm-up cosine, the trainer follows ``optax.adamw`` (decoupled decay of every parameter) step by step, and moves
    away from plain Adam (the decay is applied); bad values, a custom optimiser and backprop are refused."""
    import optax

    ds = separable_task()
    warm, total, wd = 2, 6, 0.5
    net = IsingNetwork([ds.num_inputs, 6], ds.num_classes, 2)
    built_in = AnnealerTrainer(net, sampler="exact", learning_rate=0.02, batch_size=16, lr_warmup_steps=warm,
                               weight_decay=wd)
    plain = AnnealerTrainer(net, sampler="exact", learning_rate=0.02, batch_size=16, lr_warmup_steps=warm)
    reference = AnnealerTrainer(net, sampler="exact", learning_rate=0.02, batch_size=16, optimizer=optax.adamw(
        optax.warmup_cosine_decay_schedule(0.0, 0.02, warm, total), weight_decay=wd))
    a, b, c = built_in.init(0, total_steps=total), reference.init(0, total_steps=total), plain.init(0, total)
    for _ in range(total):
        a, b = built_in.step(a, ds.x_train, ds.y_train)[0], reference.step(b, ds.x_train, ds.y_train)[0]
        c = plain.step(c, ds.x_train, ds.y_train)[0]
        for x, y in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params)):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(jax.tree_util.tree_leaves(a.params),
                                                             jax.tree_util.tree_leaves(c.params))) > 1e-4
    for bad in (-0.1, float("nan"), True, "0.1"):
        with pytest.raises(ProblemError, match="weight_decay"):
            AnnealerTrainer(net, sampler="sa", weight_decay=bad)
    with pytest.raises(ProblemError, match="custom optimizer"):
        AnnealerTrainer(net, sampler="sa", weight_decay=0.1, optimizer=optax.sgd(0.1))
    cfg, _, _, trainer = build_run({"hidden": [16], "weight_decay": 0.25, "train_size": 100})
    assert cfg.weight_decay == 0.25 and trainer.weight_decay == 0.25
    with pytest.raises(ProblemError, match="weight_decay"):
        build_run({"hidden": [16], "trainer": "backprop", "weight_decay": 0.1, "train_size": 100})


def test_training_config_layer_scales_and_warm_up_epochs():
    """``--layer-scales`` and ``--lr-warmup-epochs`` reach the network and the trainer (warm-up epochs x steps per
    epoch, rounded); bad values and backprop's warm-up are refused in one line."""
    from dragonjax.cli import build_parser

    args = build_parser().parse_args(["train", "--hidden", "16,16", "--layer-scales", "1,0.5,0.25",
                                      "--lr-warmup-epochs", "1.5", "--train-size", "100", "--batch-size", "32"])
    from dragonjax.cli import _training_config

    cfg, _, net, trainer = build_run(_training_config(args))
    assert cfg.layer_scales == (1.0, 0.5, 0.25) and net.layer_scales == (1.0, 0.5, 0.25)
    assert trainer.lr_warmup_steps == 6  # 1.5 epochs x 4 steps
    with pytest.raises(ProblemError, match="layer_scales"):
        build_run({"hidden": [16], "layer_scales": [1.0, -1.0], "train_size": 100})
    with pytest.raises(ProblemError, match="lr_warmup_epochs"):
        build_run({"hidden": [16], "trainer": "backprop", "lr_warmup_epochs": 1, "train_size": 100})
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--layer-scales", "1,x"])


def _deep_summary(seeds, finals, variants=("whole",), **settings):
    """A deep study's summary as run_deep writes it, with made-up accuracy curves ending at ``finals``."""
    per_seed = [{"test_accuracy": [0.1, 0.5, f], "largest_subproblem": 26, "largest_subproblem_couplings": 144,
                 "sampler_calls": 8} for f in finals]
    return {"settings": {"epochs": 3, "data": "digits", "seeds": list(seeds), "variants": list(variants),
                         **settings},
            "results": {v: {"per_seed": per_seed, "largest_subproblem": 26, "largest_subproblem_couplings": 144}
                        for v in variants}, "study_seconds": 1.0}


def test_deep_runs_of_one_study_pool_over_their_seeds_and_nothing_else():
    """Seeds run apart (0-1, then 2-4) pool into one summary whose mean and s.e. are those of the five final
    accuracies; a repeated seed, other variants, or runs that differ in a setting other than the seeds and the
    readout, are refused (a setting an older run lacks counts as its value before it existed)."""
    from dragonjax.experiments.deep import describe, pool_seeds

    a = _deep_summary([0, 1], [0.9, 0.8])
    b = _deep_summary([2, 3, 4], [0.7, 0.95, 0.85], readout=None, split=0)  # a, older, records neither
    pooled = pool_seeds(a, b)
    finals = np.array([0.9, 0.8, 0.7, 0.95, 0.85])
    assert pooled["settings"]["seeds"] == [0, 1, 2, 3, 4] and list(pooled["results"]) == ["whole"]
    assert pooled["settings"]["split"] == 0
    row = pooled["results"]["whole"]
    assert row["final_mean"] == pytest.approx(finals.mean())
    assert row["final_se"] == pytest.approx(finals.std(ddof=1) / np.sqrt(5))
    assert [s["test_accuracy"][-1] for s in row["per_seed"]] == list(finals)
    with pytest.raises(ProblemError, match="repeat seed"):
        pool_seeds(a, _deep_summary([1, 2], [0.5, 0.6]))
    with pytest.raises(ProblemError, match="differ in epochs"):
        pool_seeds(a, {**b, "settings": {**b["settings"], "epochs": 64}})
    with pytest.raises(ProblemError, match="differ in split"):  # a run without the key was on split 0
        pool_seeds(_deep_summary([0], [0.9]), _deep_summary([1], [0.9], split=1))
    with pytest.raises(ProblemError, match="only some record layer_scales"):
        pool_seeds(a, _deep_summary([5], [0.5], layer_scales=[1.0, 0.5]))
    with pytest.raises(ProblemError, match="hold different variants"):
        pool_seeds(a, _deep_summary([5], [0.5], variants=("whole", "greedy")))
    with pytest.raises(ProblemError, match="holds 2 runs for 3 seeds"):
        pool_seeds({**a, "settings": {**a["settings"], "seeds": [0, 1, 7]}})
    # readouts of different strengths are not averaged together; one seed has no s.e., and describe says so
    strong = {"num_reads": 64, "num_sweeps": 256}
    c, d = _deep_summary([0], [0.9], readout=strong), _deep_summary([1], [0.8], readout={"num_reads": 8})
    for summary, read in ((c, 0.91), (d, 0.81)):
        summary["results"]["whole"]["per_seed"][0]["test_accuracy_readout"] = read
    mixed = pool_seeds(c, d)
    assert "readout_mean" not in mixed["results"]["whole"] and mixed["settings"]["readout"] is None
    one = pool_seeds(c)
    assert one["results"]["whole"]["final_se"] is None and one["results"]["whole"]["readout_mean"] == 0.91
    assert describe(one)[0].startswith("whole: 0.900 (seeds: 0.900; strong readout 0.910 (seeds: 0.910)")


def test_deep_study_draws_its_accuracy_curves_and_replot_redraws_them(tmp_path):
    """A deep study's run directory gets curves.png/.pdf (every variant's test accuracy per epoch); plot_deep
    takes panels of several summaries, and `dragonjax replot` redraws the curves from results.json alone."""
    import json

    from dragonjax.cli import main
    from dragonjax.experiments.deep import plot_deep, run_deep

    run_deep(str(tmp_path / "deep"), {**_small_deep(), "epochs": 1, "variants": ["straight-through backprop"]})
    assert (tmp_path / "deep" / "curves.png").stat().st_size > 0 and (tmp_path / "deep" / "curves.pdf").exists()
    plot_deep([_deep_summary([0, 1], [0.9, 0.8]), [_deep_summary([0], [0.7], variants=("greedy",)),
                                                    _deep_summary([0, 1, 2], [0.95, 0.96, 0.97])]],
              str(tmp_path / "two"), ["a", "b"])
    assert (tmp_path / "two.png").exists()
    with pytest.raises(ValueError, match="1 titles for 2 panels"):
        plot_deep([_deep_summary([0], [0.9])] * 2, None, ["a"])
    plot_deep(_deep_summary([0, 1], [0.9, 0.8]), str(tmp_path / "zoom"), ylims=[(0.8, 1.0)])
    assert (tmp_path / "zoom.pdf").exists()
    with pytest.raises(ValueError, match="one increasing"):
        plot_deep(_deep_summary([0], [0.9]), None, ylims=[(1.0, 0.8)])
    (tmp_path / "deep" / "curves.png").unlink()
    with open(tmp_path / "deep" / "config.json") as f:
        assert json.load(f)["study"] == "deep"
    assert main(["--no-compile-cache", "replot", str(tmp_path / "deep")]) == 0
    assert (tmp_path / "deep" / "curves.png").exists()


def test_deep_study_keeps_final_states_and_reads_them_out(tmp_path):
    """Each annealer run's final state is kept in the run directory (a checkpoint that loads back into the
    trainer's state), and the readout option reads its weights out again: with the training sampler's own
    reads and sweeps it must give the final test accuracy exactly (same sampler, weights, key and β range)."""
    from dragonjax.experiments.deep import QUICK, _variant, deep_dataset, run_deep
    from dragonjax.experiments.training import load_checkpoint
    from dragonjax.nn import IsingNetwork
    from dragonjax.train import AnnealerTrainer

    settings = {**_small_deep(), "epochs": 1, "variants": ["whole, layer scales, warm-up"],
                "readout": {"num_reads": 4, "num_sweeps": 4}}
    summary = run_deep(str(tmp_path / "deep"), settings)
    row = summary["results"]["whole, layer scales, warm-up"]
    assert row["per_seed"][0]["test_accuracy_readout"] == row["per_seed"][0]["test_accuracy"][-1]
    assert row["readout_mean"] == row["per_seed"][0]["test_accuracy_readout"] and row["readout_se"] is None
    path = tmp_path / "deep" / "state_whole_layer-scales_warm-up_seed0.npz"
    ds = deep_dataset("digits")
    net = IsingNetwork([ds.num_inputs, 8, 8], ds.num_classes, 1, 2.0, [1.0, 0.5, 0.25])
    trainer = AnnealerTrainer(net, "sa", 0.003, num_reads=4, seed=0, sampler_options={"num_sweeps": 4})
    state, history = load_checkpoint(str(path), trainer.init())
    assert int(state.epoch) == 1 and len(history) == 1
    assert trainer.evaluate(state.params, ds.x_test, ds.y_test, state.eval_key, state.hyper) == pytest.approx(
        row["per_seed"][0]["test_accuracy"][-1])
    strong = {**QUICK, **settings, "readout": {"num_reads": 8, "num_sweeps": 16}}
    stronger = _variant("whole, layer scales, warm-up", strong, 0, ds)
    assert stronger["test_accuracy"] == row["per_seed"][0]["test_accuracy"]  # the readout does not touch training
    assert 0.0 <= stronger["test_accuracy_readout"] <= 1.0
