"""The D-Wave backend, offline only: dwave-system's MockDWaveSampler stands in for the QPU."""
import json

import dimod
import jax
import numpy as np
import pytest
from dwave.system.testing import MockDWaveSampler

from dragonjax import data
from dragonjax.nn import IsingNetwork
from dragonjax.samplers.dwave import QPUError, QPUSampler, check_credentials
from dragonjax.train import AnnealerTrainer


def four_class(ds):
    keep_tr, keep_te = ds.y_train < 4, ds.y_test < 4
    return ds._replace(x_train=ds.x_train[keep_tr], y_train=ds.y_train[keep_tr], x_test=ds.x_test[keep_te],
                       y_test=ds.y_test[keep_te])


def test_embedding_found_once_and_reused_and_metrics_reported():
    ds = four_class(data.digits().subset(80, 20).centered()).subset(24, 8)  # 3 batches: reuse shows from the 2nd
    net = IsingNetwork([64, 8], num_classes=4, spins_per_class=1)
    qpu = QPUSampler(MockDWaveSampler(topology_type="pegasus", topology_shape=[6]), chain_strength=2.0)
    trainer = AnnealerTrainer(net, sampler=qpu, num_reads=4, num_negatives=2, batch_size=8)
    _, history = trainer.fit(ds, epochs=1)
    # two graphs only: the free phase (hidden + output) and the nudged phase (hidden alone)
    assert qpu.embedding_searches == 2 and len(qpu.embeddings) == 2
    record = history[0]["qpu"]
    assert record["calls"] == 2 * len(ds.x_train)  # one call per example and phase
    assert record["access_time_s"] > 0 and 0.0 <= record["chain_break_fraction"] <= 1.0
    assert record["physical_qubits"] >= 8


def test_chain_strength_reaches_the_composite(monkeypatch):
    from dwave.system import FixedEmbeddingComposite

    seen = []
    original = FixedEmbeddingComposite.sample

    def spy(self, bqm, **kwargs):
        seen.append(kwargs)
        return original(self, bqm, **kwargs)

    monkeypatch.setattr(FixedEmbeddingComposite, "sample", spy)
    qpu = QPUSampler(MockDWaveSampler(topology_type="pegasus", topology_shape=[6]), chain_strength=3.5)
    net = IsingNetwork([4, 3], 2)
    bqm = net.conditioned_problem(net.init(jax.random.key(0)), np.zeros(4)).to_bqm()
    qpu.sample(bqm, num_reads=3, annealing_time=20)
    assert seen[-1]["chain_strength"] == 3.5 and seen[-1]["num_reads"] == 3 and seen[-1]["annealing_time"] == 20


class FlakyQPU(MockDWaveSampler):
    """Fails like an unreachable solver while ``failing`` is set."""
    failing = False
    attempts = 0

    def sample(self, bqm, **kwargs):
        FlakyQPU.attempts += 1
        if FlakyQPU.failing:
            raise ConnectionError("solver unavailable")
        return super().sample(bqm, **kwargs)


def test_failures_retry_then_raise_and_training_resumes_from_checkpoint():
    ds = four_class(data.digits().subset(60, 20).centered())
    net = IsingNetwork([64, 8], num_classes=4, spins_per_class=1)
    qpu = QPUSampler(FlakyQPU(topology_type="pegasus", topology_shape=[6]), retries=2, backoff_seconds=0.0)
    trainer = AnnealerTrainer(net, sampler=qpu, num_reads=4, num_negatives=2, batch_size=8)
    saved = []

    def checkpoint(state, record):
        saved.append(state)
        if state.epoch == 1:
            FlakyQPU.failing = True  # the QPU goes away during epoch 2

    FlakyQPU.attempts = 0
    with pytest.raises(QPUError, match="3 attempts"):
        trainer.fit(ds, epochs=2, on_epoch=checkpoint)
    assert len(saved) == 1 and saved[0].epoch == 1
    FlakyQPU.failing = False
    state, history = trainer.fit(ds, epochs=2, state=saved[0])  # resume: no epoch lost or repeated
    assert state.epoch == 2 and [h["epoch"] for h in history] == [2]


def test_missing_credentials_give_the_clear_message(monkeypatch, tmp_path):
    monkeypatch.delenv("DWAVE_API_TOKEN", raising=False)
    empty = tmp_path / "dwave.conf"
    empty.write_text("")
    monkeypatch.setenv("DWAVE_CONFIG_FILE", str(empty))
    with pytest.raises(QPUError, match=r"DWAVE_API_TOKEN.*dwave config create"):
        check_credentials()
    with pytest.raises(QPUError, match="DWAVE_API_TOKEN"):
        QPUSampler()  # fails before any network access


def test_too_large_problem_has_a_clear_error():
    import dimod

    from dragonjax import ProblemError

    qpu = QPUSampler(MockDWaveSampler(topology_type="chimera", topology_shape=[1, 1, 4]))  # 8 qubits
    bqm = dimod.generators.ran_r(1, 12, seed=0)  # K12 cannot embed on 8 qubits
    with pytest.raises(ProblemError, match="cannot fit the QPU graph.*active-layers"):
        qpu.sample(bqm, num_reads=1)  # refused by the size check, before any embedding search
    assert qpu.embedding_searches == 0
    dense = dimod.generators.ran_r(1, 8, seed=0)  # 8 variables, 28 couplings > the 16 couplers of one cell
    with pytest.raises(ProblemError, match="28 couplings cannot fit"):
        qpu.sample(dense, num_reads=1)


def test_unreachable_solver_is_retried_then_a_qpu_error_with_exit_code_3(monkeypatch, capsys):
    """A bad token or endpoint: opening the solver fails inside the cloud client; it is retried with back-off and
    then reported as a QPUError, which the CLI turns into exit code 3 and one line."""
    import dwave.system

    from dragonjax.cli import main
    from dragonjax.samplers import dwave as backend

    attempts = []

    def unreachable(*args, **kwargs):
        attempts.append(1)
        raise RuntimeError("API request timed out")

    monkeypatch.setenv("DWAVE_API_TOKEN", "bogus")
    monkeypatch.setattr(dwave.system, "DWaveSampler", unreachable)
    monkeypatch.setattr(backend.time, "sleep", lambda seconds: None)
    with pytest.raises(QPUError, match="could not open a D-Wave solver.*after 3 attempts.*timed out"):
        QPUSampler(retries=2)
    assert len(attempts) == 3
    with pytest.raises(SystemExit) as exit_:
        main(["--no-compile-cache", "train", "--sampler", "dwave", "--hidden", "8", "--train-size", "8", "--quiet"])
    assert exit_.value.code == 3
    assert "QPU error: could not open a D-Wave solver" in capsys.readouterr().err


def test_cli_mock_is_advantage_sized():
    from dragonjax.samplers.dwave import qpu_sampler

    child = qpu_sampler(mock=True).child
    assert len(child.nodelist) > 5000 and child.properties["topology"]["shape"] == [16]


def test_embeddings_saved_and_reloaded(tmp_path):
    net = IsingNetwork([4, 6], 3)
    bqm = net.conditioned_problem(net.init(jax.random.key(1)), np.ones(4)).to_bqm()
    child = MockDWaveSampler(topology_type="pegasus", topology_shape=[6])
    path = str(tmp_path / "embeddings.json")
    first = QPUSampler(child, embedding_file=path)
    first.sample(bqm, num_reads=2)
    again = QPUSampler(child, embedding_file=path)
    assert again.embeddings == first.embeddings
    again.sample(bqm, num_reads=2)
    assert again.embedding_searches == 0


def test_the_readme_mock_command_runs_as_documented(tmp_path):
    """The README's offline mock command, verbatim (an Advantage-sized Pegasus mock; issue 16)."""
    import os
    import pathlib
    import shlex
    import subprocess
    import sys

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    line = next(l for l in readme.splitlines() if l.startswith("dragonjax train --sampler mock-dwave"))
    argv = shlex.split(line.split("#")[0])[1:]
    done = subprocess.run([sys.executable, "-m", "dragonjax", *argv, "--quiet"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=900, env=dict(os.environ, JAX_PLATFORMS="cpu"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "runs" / "mock" / "metrics.json").read_text())
    assert metrics["history"][-1]["qpu"]["calls"] > 0


class ComponentGroundStates(dimod.Sampler):
    """A deterministic stand-in for a QPU: each connected component of the programmed problem is set to its exact
    ground state (enumerated; ties to the first in enumeration order), repeated ``num_reads`` times. Components do
    not interact, so a problem's answer cannot depend on what else shares the call."""

    parameters = {"num_reads": []}
    properties = {}

    def sample(self, bqm, num_reads=1):
        import networkx as nx

        graph = nx.Graph(list(bqm.quadratic))
        graph.add_nodes_from(bqm.variables)
        state = {}
        for component in nx.connected_components(graph):
            labels = sorted(component)
            assert len(labels) <= 16
            sub = dimod.BinaryQuadraticModel({v: bqm.get_linear(v) for v in labels},
                                             {(u, v): b for (u, v), b in bqm.quadratic.items() if u in component},
                                             0.0, dimod.SPIN)
            spins = 1 - 2 * ((np.arange(2 ** len(labels))[:, None] >> np.arange(len(labels))) & 1)
            best = spins[np.argmin(sub.energies((spins, labels)))]
            state.update(zip(labels, best.tolist()))
        labels = list(bqm.variables)
        samples = np.tile([state[v] for v in labels], (num_reads, 1))
        return dimod.SampleSet.from_samples_bqm((samples, labels), bqm)


def exact_qpu(parallel):
    import dwave.graphs

    graph = dwave.graphs.pegasus_graph(4)
    child = dimod.StructureComposite(ComponentGroundStates(), list(graph.nodes), list(graph.edges))
    return QPUSampler(child, chain_strength=20.0, parallel=parallel)


def network_problems(count, seed=0):
    net = IsingNetwork([6, 4], 3)
    params = net.init(jax.random.key(seed))
    rng = np.random.default_rng(seed)
    return [net.conditioned_problem(params, rng.normal(size=6)).to_bqm() for _ in range(count)]


def test_packed_calls_return_what_one_call_per_example_returns_on_a_deterministic_child():
    """Issue 18 item 4: 7 problems in 2 packed calls (4 copies side by side) give, problem by problem, the samples
    of 7 separate calls through dwave-system's FixedEmbeddingComposite -- and both are the exact ground states."""
    bqms = network_problems(7)
    solo, packed = exact_qpu(1), exact_qpu(4)
    alone = [solo.sample(bqm, num_reads=2) for bqm in bqms]
    together = packed.sample_many(bqms, num_reads=2)
    assert solo.stats["qpu_calls"] == 7 and packed.stats["qpu_calls"] == 2 and packed.stats["problems"] == 7
    assert [s.info["packed"] for s in together[:5]] == [{"copies": 4, "slot": k} for k in range(4)] + [
        {"copies": 3, "slot": 0}]
    for bqm, a, b in zip(bqms, alone, together):
        labels = list(bqm.variables)
        np.testing.assert_array_equal(a.record.sample[:, [a.variables.index(v) for v in labels]],
                                      b.record.sample[:, [b.variables.index(v) for v in labels]])
        np.testing.assert_allclose(b.record.energy, bqm.energies(b))  # energies of the problem's own BQM
        assert b.first.energy == pytest.approx(dimod.ExactSolver().sample(bqm).first.energy)


def test_parallel_embeddings_are_disjoint_cached_and_saved(tmp_path):
    bqm = network_problems(1)[0]
    path = str(tmp_path / "embeddings.json")
    qpu = QPUSampler(MockDWaveSampler(topology_type="pegasus", topology_shape=[6]), parallel=5, embedding_file=path)
    copies = qpu.embeddings_for(bqm, 5)
    qubits = [q for embedding in copies for chain in embedding.values() for q in chain]
    assert len(copies) == 5 and len(qubits) == len(set(qubits))
    searches = qpu.embedding_searches
    assert qpu.embeddings_for(bqm, 5) == copies and qpu.embedding_searches == searches
    again = QPUSampler(MockDWaveSampler(topology_type="pegasus", topology_shape=[6]), parallel=5, embedding_file=path)
    assert again.embeddings_for(bqm, 5) == copies and again.embedding_searches == 0


def test_packed_training_makes_one_call_per_batch_and_phase():
    ds = four_class(data.digits().subset(80, 20).centered())
    net = IsingNetwork([64, 8], num_classes=4, spins_per_class=1)
    qpu = QPUSampler(MockDWaveSampler(topology_type="pegasus", topology_shape=[6]), chain_strength=2.0, parallel=8)
    trainer = AnnealerTrainer(net, sampler=qpu, num_reads=4, num_negatives=2, batch_size=8)
    _, history = trainer.fit(ds, epochs=1)
    record = history[0]["qpu"]
    batches = -(-len(ds.x_train) // 8)
    assert record["problems"] == 2 * len(ds.x_train) and record["calls"] == 2 * batches
    assert 0 < record["estimated_access_time_s"] < 2 * len(ds.x_train) * 0.0185 / 4  # packed: well under solo's


def test_access_time_estimate_is_the_published_timing_model():
    """dwave-cloud-client's model with an Advantage's timing data, recomputed here from its definition:
    programming (typical + thermalisation) + reads x (anneal + readout(qubits) + delay)."""
    from dwave.cloud.testing.mocks import qpu_problem_timing_data

    from dragonjax.samplers.dwave import estimate_access_time_us

    data = qpu_problem_timing_data("advantage")
    points = data["readout_time_model_parameters"]
    q, t = points[:len(points) // 2], points[len(points) // 2:]
    for qubits, reads, anneal in ((166, 16, None), (1500, 100, 50.0)):
        readout = 10 ** np.interp(np.log10(qubits), q, t)
        per_read = (anneal or data["default_annealing_time"]) + readout + data["qpu_delay_time_per_sample"]
        expected = data["typical_programming_time"] + data["default_programming_thermalization"] + reads * per_read
        assert estimate_access_time_us(qubits, reads, anneal) == pytest.approx(expected)
    assert estimate_access_time_us(166, 16, calls=8) == pytest.approx(8 * estimate_access_time_us(166, 16))
    assert 18_000 < estimate_access_time_us(166, 16) < 19_000  # ~15 ms of it programming: why packing pays


def test_parallel_must_be_a_positive_integer():
    from dragonjax import ProblemError

    with pytest.raises(ProblemError, match="parallel must be a positive integer"):
        QPUSampler(MockDWaveSampler(topology_type="pegasus", topology_shape=[6]), parallel=0)


class ProgrammedProblems(dimod.Sampler):
    """Records the BQM it is given (and answers all +1): what a packed call would program."""
    parameters = {"num_reads": [], "auto_scale": []}
    properties = {"h_range": [-4.0, 4.0], "j_range": [-1.0, 1.0]}

    def __init__(self):
        self.received = []

    def sample(self, bqm, num_reads=1, auto_scale=True):
        self.received.append(bqm)
        return dimod.SampleSet.from_samples_bqm((np.ones((num_reads, len(bqm.variables)), np.int8),
                                                 list(bqm.variables)), bqm)


def test_each_packed_copy_is_scaled_as_its_own_call_would_be():
    """Each copy divided by its own auto-scale factor, measured in Ising form whatever the problem's vartype (so no
    copy's scale depends on another's); auto_scale=False programs the copies as given."""
    import dwave.graphs

    from dragonjax.samplers.dwave import _autoscale_factor

    graph = dwave.graphs.pegasus_graph(4)
    recorder = ProgrammedProblems()
    child = dimod.StructureComposite(recorder, list(graph.nodes), list(graph.edges))
    child.properties.update(recorder.properties)
    qpu = QPUSampler(child, parallel=3)
    bqms = network_problems(3)
    bqms[1] = bqms[1].copy()
    bqms[1].scale(0.1)  # a problem ten times weaker: alone it would be scaled up to the full range
    for problems in (bqms, [b.binary for b in bqms]):
        qpu.sample_many(problems, num_reads=1)
        packed = recorder.received[-1]
        assert packed.vartype is dimod.SPIN
        for embedding in qpu.embeddings_for(bqms[0], 3):
            qubits = {q for chain in embedding.values() for q in chain}
            copy = dimod.BinaryQuadraticModel({q: packed.get_linear(q) for q in qubits},
                                              {(u, v): b for (u, v), b in packed.quadratic.items() if u in qubits},
                                              0.0, dimod.SPIN)
            assert _autoscale_factor(copy, (-4.0, 4.0), (-1.0, 1.0)) == pytest.approx(1.0)
    qpu.sample_many(bqms, num_reads=1, auto_scale=False)
    assert max(abs(b) for b in recorder.received[-1].quadratic.values()) > 1.0  # as given: the chains are strong
