import json
import os
import subprocess
import sys
import unittest

import dimod
import dimod.testing
import numpy as np
import pytest

import dragonjax as dj
from dragonjax.samplers import PathIntegralQMCSampler, PopulationAnnealingSampler, SimulatedAnnealingSampler

SAMPLERS = [SimulatedAnnealingSampler, PopulationAnnealingSampler]


@dimod.testing.load_sampler_bqm_tests(SimulatedAnnealingSampler)
class TestSimulatedAnnealingConformance(unittest.TestCase):
    pass


@dimod.testing.load_sampler_bqm_tests(PopulationAnnealingSampler)
class TestPopulationAnnealingConformance(unittest.TestCase):
    pass


@pytest.mark.parametrize("Sampler", SAMPLERS)
def test_same_seed_same_samples_and_labels_kept(Sampler):
    bqm = dimod.BinaryQuadraticModel({"a": 0.5, ("x", 2): -0.3, 9: 0.1},
                                     {("a", ("x", 2)): 1.0, (("x", 2), 9): -2.0}, 3.0, "BINARY")
    first = Sampler().sample(bqm, num_reads=16, num_sweeps=50, seed=42)
    again = Sampler().sample(bqm, num_reads=16, num_sweeps=50, seed=42)
    other = Sampler().sample(dj.problems.sherrington_kirkpatrick(30).to_bqm(), num_reads=8, num_sweeps=20, seed=1)
    assert first.vartype is dimod.BINARY and list(first.variables) == list(bqm.variables)
    np.testing.assert_array_equal(first.record.sample, again.record.sample)
    dimod.testing.assert_sampleset_energies(first, bqm)
    assert other.record.sample.shape == (8, 30)


def test_population_annealing_info_and_log_z_with_offset():
    model = dj.problems.sherrington_kirkpatrick(10, seed=2, field=0.3)
    bqm = model.to_bqm()
    bqm.offset = 4.0
    ss = PopulationAnnealingSampler().sample(bqm, num_reads=2000, beta_range=(0.05, 1.0), num_sweeps=100,
                                             num_sweeps_per_beta=2, seed=3)
    truth = float(dj.exact.log_partition(dj.IsingModel.from_bqm(bqm), 1.0))
    assert ss.info["log_z"] == pytest.approx(truth, abs=0.05)  # ~5 standard errors at R = 2000
    assert ss.info["beta_schedule"][0] == 0.0 and ss.info["beta_schedule"][-1] == pytest.approx(1.0)
    assert 1 <= ss.info["num_families"] <= 2000 and ss.info["rho_t"] >= 1
    adaptive = PopulationAnnealingSampler().sample(bqm, num_reads=500, beta_range=(0.05, 1.0), adaptive=True,
                                                   seed=3)
    assert adaptive.info["beta_schedule"][-1] == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_reads": 0}, "num_reads"),
    ({"beta_range": (1.0, 0.5)}, "increasing"),
    ({"beta_range": (-1.0, 0.5)}, "positive"),
    ({"beta_schedule_type": "custom", "beta_schedule": [0.1, 0.05]}, "non-decreasing"),
    ({"beta_schedule_type": "cosine"}, "beta_schedule_type"),
    ({"sweep_method": "magic"}, "sweep method"),
    ({"update_rule": "glauberish"}, "update rule"),
    ({"num_sweeps": -1}, "num_sweeps"),  # 0 is valid for SA (the initial states, as dwave-samplers)
    ({"seed": -3}, "seed"),
])
def test_bad_parameters_raise_clear_errors(kwargs, message):
    bqm = dj.problems.sherrington_kirkpatrick(5).to_bqm()
    for Sampler in SAMPLERS:
        with pytest.raises(ValueError, match=message):
            Sampler().sample(bqm, **kwargs)


def test_bad_resampling_and_nan_couplings():
    bqm = dj.problems.sherrington_kirkpatrick(5).to_bqm()
    with pytest.raises(ValueError, match="resampling"):
        PopulationAnnealingSampler().sample(bqm, resampling="bootstrap")
    bad = dimod.BinaryQuadraticModel({"a": 0.0, "b": 0.0}, {("a", "b"): float("nan")}, 0.0, "SPIN")
    with pytest.raises(ValueError, match="non-finite"):
        SimulatedAnnealingSampler().sample(bad)


def test_unknown_kwargs_warn_like_dimod():
    bqm = dj.problems.sherrington_kirkpatrick(5).to_bqm()
    with pytest.warns(dimod.exceptions.SamplerUnknownArgWarning):
        SimulatedAnnealingSampler().sample(bqm, num_reads=2, num_sweeps=10, chain_strength=3)


def test_initial_states_are_used():
    bqm = dj.problems.ferromagnet_chain(6).to_bqm()
    start = {v: 1 for v in bqm.variables}
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=4, initial_states=start, initial_states_generator="tile",
                                            beta_schedule_type="custom", beta_schedule=[50.0] * 5, seed=0)
    assert np.all(ss.record.sample == 1)  # ground state at large beta stays put


def test_second_call_does_not_recompile():
    from dragonjax.samplers import classical

    sampler = SimulatedAnnealingSampler()
    a = dj.problems.sherrington_kirkpatrick(12, seed=0).to_bqm()
    b = dj.problems.sherrington_kirkpatrick(12, seed=1).to_bqm()
    sampler.sample(a, num_reads=4, num_sweeps=20, seed=0)
    size = classical._anneal._cache_size()
    sampler.sample(b, num_reads=4, num_sweeps=20, seed=1)
    assert classical._anneal._cache_size() == size


SHARDED = """
import json, sys
import jax, numpy as np
import dragonjax as dj
from dragonjax.samplers import PopulationAnnealingSampler, SimulatedAnnealingSampler
bqm = dj.problems.edwards_anderson(6, seed=1).to_bqm()
pa = PopulationAnnealingSampler().sample(bqm, num_reads=64, num_sweeps=50, seed=7)
sa = SimulatedAnnealingSampler().sample(dj.problems.sherrington_kirkpatrick(20, seed=2).to_bqm(),
                                        num_reads=16, num_sweeps=50, seed=7)
reports = []
with dj.kernels.progress.listening(lambda done, total: reports.append(done)):
    reported = PopulationAnnealingSampler().sample(bqm, num_reads=64, num_sweeps=50, seed=7, progress=True)
print(json.dumps({"devices": jax.device_count(), "pa": pa.record.sample.tolist(), "log_z": pa.info["log_z"],
                  "sa": sa.record.sample.tolist(), "reports": sorted(reports),
                  "reported_same": bool(np.array_equal(reported.record.sample, pa.record.sample))}))
"""


def run_with_devices(n):
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_replicas_sharded_over_four_devices_give_same_results():
    one, four = run_with_devices(1), run_with_devices(4)
    assert one["devices"] == 1 and four["devices"] == 4
    # threefry random bits do not depend on the sharding, so the samples are identical
    assert sorted(map(tuple, one["pa"])) == sorted(map(tuple, four["pa"]))
    assert sorted(map(tuple, one["sa"])) == sorted(map(tuple, four["sa"]))
    assert four["log_z"] == pytest.approx(one["log_z"], rel=1e-5)
    # progress reports from inside the sharded kernel: every ~1/20 of the 50 steps, none lost
    for run in (one, four):
        assert run["reports"] == list(range(2, 51, 2)) and run["reported_same"]


@pytest.mark.parametrize("name", ["SimulatedAnnealingSampler", "PopulationAnnealingSampler",
                                  "PathIntegralQMCSampler"])
def test_progress_reports_from_inside_the_kernel_leave_results_unchanged(name):
    import dragonjax.samplers as samplers
    from dragonjax.kernels import progress

    sampler = getattr(samplers, name)()
    bqm = dj.problems.sherrington_kirkpatrick(12, seed=3).to_bqm()
    reports = []
    with progress.listening(lambda done, total: reports.append((done, total))):
        reported = sampler.sample(bqm, num_reads=8, num_sweeps=100, seed=5, progress=True)
    plain = sampler.sample(bqm, num_reads=8, num_sweeps=100, seed=5)
    assert sorted(reports) == [(d, 100) for d in range(5, 101, 5)]  # 20 updates, the last at the end
    assert np.array_equal(reported.record.sample, plain.record.sample)


MULTI_PROCESS = """
import json, sys
import jax
process_id, port = int(sys.argv[1]), sys.argv[2]
jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2, process_id=process_id)
import dragonjax as dj
from dragonjax.samplers import PopulationAnnealingSampler
pa = PopulationAnnealingSampler().sample(dj.problems.edwards_anderson(6, seed=1).to_bqm(), num_reads=64,
                                         num_sweeps=50, seed=7)
print(json.dumps({"processes": jax.process_count(), "devices": jax.device_count(), "pa": pa.record.sample.tolist(),
                  "log_z": pa.info["log_z"]}))
"""


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_two_processes_like_two_hosts_give_the_single_device_result():
    """jax.distributed with 2 processes x 2 CPU devices (as on 2 hosts): the population is sharded over all 4
    devices and every process gets the same samples and ln Z as one process on one device."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    port = str(free_port())
    procs = [subprocess.Popen([sys.executable, "-c", MULTI_PROCESS, str(i), port], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    results = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    single = run_with_devices(1)
    for r in results:
        assert r["processes"] == 2 and r["devices"] == 4
        assert sorted(map(tuple, r["pa"])) == sorted(map(tuple, single["pa"]))
        assert r["log_z"] == pytest.approx(single["log_z"], rel=1e-5)


def test_cli_distributed_flags_are_checked():
    out = subprocess.run([sys.executable, "-m", "dragonjax.cli", "--process-id", "1", "anneal"], capture_output=True,
                         text=True)
    assert out.returncode == 2 and "go with --distributed" in out.stderr


TRAINING = """
import json, jax
from dragonjax.experiments.training import run_training
m = run_training({"hidden": [16], "spins_per_class": 2, "train_size": 64, "test_size": 64, "epochs": 2,
                  "num_reads": 4, "num_sweeps": 8, "batch_size": 16, "seed": 1})
e = run_training({"hidden": [16], "spins_per_class": 2, "train_size": 64, "test_size": 64, "epochs": 2,
                  "num_reads": 4, "num_sweeps": 8, "batch_size": 16, "seeds": [0, 1, 2, 3]})
print(json.dumps({"devices": jax.device_count(), "history": m["history"], "train_accuracy": m["train_accuracy"],
                  "ensemble": [[h["test_accuracy"], h["mean_wrong_label_states"], h["loss"]] for h in e["history"]],
                  "ensemble_train_accuracy": e["train_accuracy"]["per_seed"]}, default=lambda a: a.tolist()))
"""


@pytest.mark.slow
def test_training_batches_sharded_over_four_devices_match_one_device():
    """The examples of a batch (one network) or the members of an ensemble (four networks) are split over 4
    devices: the same states are sampled (identical wrong-label counts and accuracies); the losses agree to
    float32 rounding (the reported mean loss is reduced in the compiled program's order; the gradient is not)."""
    def run(n):
        env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}", JAX_PLATFORMS="cpu")
        out = subprocess.run([sys.executable, "-c", TRAINING], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    one, four = run(1), run(4)
    assert one["devices"] == 1 and four["devices"] == 4
    assert four["train_accuracy"] == one["train_accuracy"]
    for a, b in zip(one["history"], four["history"]):
        for key in ("test_accuracy", "mean_wrong_label_states", "fraction_with_wrong_label_states",
                    "train_accuracy_running", "spin_updates"):
            assert a[key] == b[key], key
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
    assert four["ensemble_train_accuracy"] == one["ensemble_train_accuracy"]
    for (acc_1, wrong_1, loss_1), (acc_4, wrong_4, loss_4) in zip(one["ensemble"], four["ensemble"]):
        assert acc_4 == acc_1 and wrong_4 == wrong_1
        np.testing.assert_allclose(loss_4, loss_1, rtol=1e-5)


def test_adaptive_population_annealing_reports_the_fraction_of_beta():
    from dragonjax.kernels import progress

    bqm = dj.problems.sherrington_kirkpatrick(12, seed=3).to_bqm()
    kw = dict(num_reads=64, adaptive=True, beta_range=(0.1, 3.0), seed=5)
    reports = []
    with progress.listening(lambda done, total: reports.append((done, total))):
        reported = PopulationAnnealingSampler().sample(bqm, progress=True, **kw)
    plain = PopulationAnnealingSampler().sample(bqm, **kw)
    done = sorted(d for d, _ in reports)
    assert {t for _, t in reports} == {20} and done[-1] == 20 and len(set(done)) == len(done) >= 5
    assert np.array_equal(reported.record.sample, plain.record.sample) and reported.info["log_z"] == plain.info["log_z"]


def test_population_annealing_warns_when_its_reads_are_few_families():
    """A PA population is not a set of independent samples: below R / rho_t = 100 the sampler says so."""
    import warnings

    from dragonjax.samplers import PopulationAnnealingSampler

    bqm = dj.problems.sherrington_kirkpatrick(32, seed=1).to_bqm()
    with pytest.warns(UserWarning, match="effective population"):
        ss = PopulationAnnealingSampler().sample(bqm, num_reads=16, num_sweeps=50, beta_range=(0.1, 5.0), seed=0)
    assert not ss.info["effective_population_ok"] and ss.info["effective_population"] < 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ss = PopulationAnnealingSampler().sample(bqm, num_reads=16, num_sweeps=50, beta_range=(0.1, 5.0), seed=0,
                                                 min_effective_population=0)
    assert ss.info["effective_population_ok"]


@pytest.mark.parametrize("cls", [SimulatedAnnealingSampler, PopulationAnnealingSampler, PathIntegralQMCSampler])
def test_sample_declares_and_documents_exactly_its_parameters(cls):
    """Each sampler's sample() names its own keyword parameters (so help() and a notebook's tooltip show them),
    `parameters` lists the same ones, and every one is documented in the docstring."""
    import inspect

    declared = [name for name, p in inspect.signature(cls.sample).parameters.items()
                if name not in ("self", "bqm") and p.kind is not inspect.Parameter.VAR_KEYWORD]
    assert set(declared) == set(cls().parameters)
    doc = cls.sample.__doc__
    assert "{common}" not in doc
    for name in declared:
        assert f"\n            {name}: " in doc, name


# -- a drop-in for dwave-samplers' SimulatedAnnealingSampler (issue 19): its conventions, tested here --------------
TRIANGLE = dimod.BinaryQuadraticModel.from_ising({}, {"ab": -1, "bc": 1, "ac": 1})
TWO_STARTS = dimod.SampleSet.from_samples_bqm([{"a": 1, "b": 1, "c": 1}, {"a": -1, "b": -1, "c": -1}], TRIANGLE)


def test_soft_num_reads_follow_the_initial_states():
    sampler = SimulatedAnnealingSampler()
    assert len(sampler.sample(TRIANGLE, num_sweeps=4)) == 1
    assert len(sampler.sample(TRIANGLE, initial_states=TWO_STARTS, num_sweeps=4)) == 2
    assert len(sampler.sample(TRIANGLE, initial_states=TWO_STARTS, num_reads=1, num_sweeps=4)) == 1
    assert len(sampler.sample(TRIANGLE, initial_states=TWO_STARTS, num_reads=3, num_sweeps=4)) == 3
    dimod.testing.assert_sampler_api(sampler)


@pytest.mark.parametrize("name, value, error", [("num_reads", 3.5, TypeError), ("num_reads", "2", TypeError),
                                                ("num_reads", 0, ValueError), ("seed", 3.5, TypeError),
                                                ("seed", -1, ValueError), ("seed", 2 ** 65, ValueError)])
def test_bad_integers_follow_dimods_error_types(name, value, error):
    with pytest.raises(error, match=name):
        SimulatedAnnealingSampler().sample(TRIANGLE, num_sweeps=4, **{name: value})


def test_initial_states_generators():
    sampler = SimulatedAnnealingSampler()
    start = np.asarray(TWO_STARTS.record.sample)
    tiled = sampler.sample(TRIANGLE, initial_states=TWO_STARTS, initial_states_generator="tile", num_reads=4,
                           num_sweeps=0)
    assert np.array_equal(tiled.record.sample, np.tile(start, (2, 1)))  # num_sweeps=0: the starts, unchanged
    padded = sampler.sample(TRIANGLE, initial_states=TWO_STARTS, num_reads=40, num_sweeps=0, seed=1)
    assert np.array_equal(padded.record.sample[:2], start) and len({tuple(r) for r in padded.record.sample}) > 2
    with pytest.raises(ValueError, match="'tile' needs initial_states"):
        sampler.sample(TRIANGLE, initial_states_generator="tile", num_reads=2)
    with pytest.raises(ValueError, match="'none' needs 3 initial states, got 2"):
        sampler.sample(TRIANGLE, initial_states=TWO_STARTS, initial_states_generator="none", num_reads=3)
    with pytest.raises(ValueError, match="initial_states_generator must be one of"):
        sampler.sample(TRIANGLE, initial_states_generator="zeros")


def test_info_has_beta_range_timing_and_the_gibbs_alias():
    one = dimod.BinaryQuadraticModel({"a": -1.0}, {}, 0.0, "SPIN")
    ss = SimulatedAnnealingSampler().sample(one, num_sweeps=10)
    hot, cold = ss.info["beta_range"]
    assert 0 < hot < cold < np.inf
    assert {"preprocessing_ns", "sampling_ns", "postprocessing_ns"} <= set(ss.info["timing"])
    gibbs = SimulatedAnnealingSampler().sample(TRIANGLE, num_sweeps=4, proposal_acceptance_criteria="Gibbs")
    assert gibbs.info["update_rule"] == "heat_bath"
    with pytest.raises(ValueError, match="'Metropolis' or 'Gibbs'"):
        SimulatedAnnealingSampler().sample(TRIANGLE, proposal_acceptance_criteria="Glauber")


def test_local_field_beta_range_rule():
    """beta_range="local-field": dwave's hot end, cold end 10 / g (g the rms local field); both scale as 1 / energy;
    an unknown rule is refused by name."""
    from dragonjax.ising import local_field_scale
    from dragonjax.kernels import default_beta_range

    model = dj.problems.sherrington_kirkpatrick(16, seed=2, field=0.3)
    hot, cold = default_beta_range(model, "local-field")
    assert hot == pytest.approx(default_beta_range(model)[0])
    assert cold == pytest.approx(10 / float(local_field_scale(model)), rel=1e-6)
    scaled = dj.IsingModel(3.0 * model.J, 3.0 * model.h)
    np.testing.assert_allclose(default_beta_range(scaled, "local-field"), (hot / 3, cold / 3), rtol=1e-5)
    ss = SimulatedAnnealingSampler().sample(model.to_bqm(), num_sweeps=10, beta_range="local-field", seed=0)
    assert ss.info["beta_range"] == pytest.approx([hot, cold], rel=1e-6)
    with pytest.raises(ValueError, match="unknown beta range rule 'cool'"):
        SimulatedAnnealingSampler().sample(model.to_bqm(), num_sweeps=10, beta_range="cool")


def test_randomize_order_is_the_random_scan_sweep():
    """dwave-samplers' randomize_order=True: each update picks a spin at random (the sweep is checked against the
    exact Boltzmann distribution in test_kernels); every sampler accepts it, a contradicting sweep_method is refused."""
    for cls in (SimulatedAnnealingSampler, PopulationAnnealingSampler, PathIntegralQMCSampler):
        extra = {"trotter_slices": 2} if cls is PathIntegralQMCSampler else {}
        ss = cls().sample(TRIANGLE, num_reads=4, num_sweeps=8, randomize_order=True, seed=1, **extra)
        assert ss.info["sweep_method"] == "random", cls
    fixed = SimulatedAnnealingSampler().sample(TRIANGLE, num_reads=4, num_sweeps=8, seed=1)
    assert fixed.info["sweep_method"] != "random"
    with pytest.raises(ValueError, match="randomize_order=True is sweep_method='random', not 'block'"):
        SimulatedAnnealingSampler().sample(TRIANGLE, randomize_order=True, sweep_method="block")


def test_precision_is_a_sampler_option():
    ss = SimulatedAnnealingSampler().sample(TRIANGLE, num_reads=4, num_sweeps=8, precision="bf16x2", seed=0)
    assert ss.info["precision"] == "bf16x2"
    assert PathIntegralQMCSampler().sample(TRIANGLE, num_reads=2, num_sweeps=4, trotter_slices=2,
                                           precision="bf16x3").info["precision"] == "bf16x3"
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        PopulationAnnealingSampler().sample(TRIANGLE, num_reads=4, num_sweeps=4, precision="half")


def test_interrupt_function_stops_between_reads():
    """dwave-samplers' interrupt_function: called after each read; True (or an exception) returns the reads done."""
    bqm = dimod.generators.ran_r(1, 6, seed=3)
    sampler = SimulatedAnnealingSampler()
    calls = []

    def after_three():
        calls.append(1)
        return len(calls) >= 3

    three = sampler.sample(bqm, num_reads=10, num_sweeps=20, seed=5, interrupt_function=after_three)
    assert len(three) == 3 and three.info["interrupted"] and len(calls) == 3

    def fail():
        raise RuntimeError("stop")

    assert len(sampler.sample(bqm, num_reads=10, num_sweeps=20, interrupt_function=fail)) == 1
    never = sampler.sample(bqm, num_reads=10, num_sweeps=20, seed=5, interrupt_function=lambda: False)
    assert len(never) == 10 and not never.info["interrupted"]
    # same seed, same reads: the first three of an uninterrupted run are the three of the interrupted one
    np.testing.assert_array_equal(never.record.sample[:3], three.record.sample)
    piqmc = PathIntegralQMCSampler().sample(bqm, num_reads=4, num_sweeps=10, trotter_slices=2, seed=1,
                                             return_all_slices=True, interrupt_function=lambda: False)
    assert piqmc.info["worldlines"].shape == (4, 2, 6)
    with pytest.raises(ValueError, match="reads are one population"):
        PopulationAnnealingSampler().sample(bqm, num_reads=4, interrupt_function=lambda: False)
    with pytest.raises(TypeError, match="interrupt_function must be callable"):
        sampler.sample(bqm, interrupt_function=3)


def test_default_beta_range_is_dwave_samplers_own():
    """The default (hot, cold) of every sampler equals dwave-samplers' ``_default_ising_beta_range`` -- on a +-1
    lattice (many spins share the smallest gap: the cold end counts them), Gaussian SK with and without fields, and
    a problem with an uncoupled, unbiased spin."""
    from dwave.samplers.sa.sampler import _default_ising_beta_range

    from dragonjax.kernels import default_beta_range

    problems = [dj.problems.edwards_anderson(6, dim=2, seed=0), dj.problems.sherrington_kirkpatrick(32, seed=0),
                dj.problems.sherrington_kirkpatrick(12, seed=1, field=0.5),
                dj.IsingModel(np.zeros((3, 3)), np.array([1.0, -1.0, 0.0]))]
    for model in problems:
        bqm = model.to_bqm()
        assert default_beta_range(model) == pytest.approx(_default_ising_beta_range(bqm.linear, bqm.quadratic))
    ss = SimulatedAnnealingSampler().sample(problems[0].to_bqm(), num_sweeps=4, num_reads=2)
    assert ss.info["beta_range"] == pytest.approx(default_beta_range(problems[0]))


@pytest.mark.parametrize("density", [1.0, 0.02])
@pytest.mark.parametrize("vartype", [dimod.SPIN, dimod.BINARY])
def test_sampleset_energies_are_dimods(density, vartype):
    """The SampleSet's energies (``spin_energies``: float64 matrix products, dense or sparse) equal
    ``bqm.energies`` of its samples, offset included, for SPIN and BINARY problems with string labels."""
    from dragonjax.samplers.base import spin_energies

    bqm = dimod.generators.gnp_random_bqm(60, density, vartype, random_state=3, bias_generator=np.random.default_rng(
        4).standard_normal)
    bqm.offset = 1.25
    bqm.relabel_variables({v: f"x{v}" for v in bqm.variables})
    ss = SimulatedAnnealingSampler().sample(bqm, num_reads=7, num_sweeps=20, seed=5)
    np.testing.assert_allclose(ss.record.energy, bqm.energies(ss), rtol=1e-12, atol=1e-12)
    spins = dimod.as_samples(ss.change_vartype(dimod.SPIN, inplace=False))
    labels = spins[1][::-1]  # columns in another order than the BQM's variables
    np.testing.assert_allclose(spin_energies(bqm.spin, spins[0][:, ::-1], labels), bqm.spin.energies(spins),
                               rtol=1e-12, atol=1e-12)
