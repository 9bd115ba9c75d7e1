"""Bad input gets a clear one-line error naming the problem (issue 16): a table of API cases and of CLI cases,
each of which used to return a silent wrong result, crash with a traceback or allocate without limit."""
import dimod
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dragonjax import IsingModel, ProblemError, exact
from dragonjax.analysis.landscape import count_local_minima, quench
from dragonjax.cli import main
from dragonjax.nn import IsingNetwork
from dragonjax.problems import sherrington_kirkpatrick
from dragonjax.train import AnnealerTrainer

NET = IsingNetwork([4, 3], 2, 1)


@pytest.fixture(autouse=True)
def a_16_gib_machine(monkeypatch):
    """The memory checks compare with this machine's memory: pin it, so that the cases are refused (and never
    allocated) on any machine."""
    import dragonjax.ising

    monkeypatch.setattr(dragonjax.ising, "available_memory", lambda: 16 * 2 ** 30)
PARAMS = NET.init(jax.random.key(0))
SK = sherrington_kirkpatrick(6, seed=0)

API_CASES = [
    ("a state of the wrong width", lambda: NET.energy(PARAMS, jnp.ones(4), jnp.ones(7)), r"shape \(\.\.\., 5\)"),
    ("an input of the wrong width", lambda: NET.energy(PARAMS, jnp.ones(3), jnp.ones(5)), r"inputs must have shape"),
    ("a label beyond the classes", lambda: NET.target_code(jnp.asarray(7)), r"labels must be integers in \[0, 2\)"),
    ("0/1 spins to quench", lambda: quench(SK, jnp.zeros((2, 6))), r"spins must be \+-1"),
    ("0/1 spins to count minima", lambda: count_local_minima(SK, "sampled", states=np.zeros((2, 6))),
     r"spins must be \+-1"),
    ("beta nan", lambda: exact.log_partition(SK, float("nan")), "beta must be finite"),
    ("beta inf", lambda: exact.thermal_averages(SK, float("inf")), "beta must be finite"),
    ("a bias beyond float32", lambda: IsingModel(np.zeros((2, 2)), [1e39, 0.0]), "beyond the float32 range"),
    ("an offset beyond float32", lambda: IsingModel(np.zeros((2, 2)), [0.0, 0.0], 1e300), "beyond the float32 range"),
    ("no reads", lambda: AnnealerTrainer(NET, "sa", num_reads=0), "num_reads must be a positive integer"),
    ("reads that cannot fit in memory", lambda: AnnealerTrainer(NET, "sa", num_reads=10 ** 8, num_negatives=1),
     "needs about .* GiB, more than this machine"),
]


@pytest.mark.parametrize("case, call, message", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_refuses_bad_input_with_a_clear_error(case, call, message):
    with pytest.raises(ProblemError, match=message):
        call()


def test_a_huge_sparse_bqm_is_refused_before_the_dense_allocation():
    bqm = dimod.BinaryQuadraticModel({v: 0.0 for v in range(60_000)}, {(0, 1): 1.0}, 0.0, "SPIN")
    with pytest.raises(ProblemError, match="dense coupling matrix of 60000 variables needs about"):
        IsingModel.from_bqm(bqm)


def _bqm_file(tmp_path, offset):
    path = tmp_path / "problem.bqm"
    path.write_bytes(dimod.BinaryQuadraticModel({0: 1.0, 1: 1.0}, {(0, 1): 1.0}, offset, "SPIN").to_file().read())
    return str(path)


CLI_CASES = [
    ("an offset beyond float32", lambda tmp: ["anneal", "--bqm", _bqm_file(tmp, 1e300), "--quiet"],
     "beyond the float32 range"),
    ("reads that cannot fit in memory", lambda tmp: ["anneal", "--num-reads", "100000000", "--quiet"],
     "100000000 reads of 64 variables needs about"),
    ("a beta range that is no rule", lambda tmp: ["anneal", "--beta-range", "0.1,x", "--quiet"],
     "--beta-range must be one of dwave, local-field or HOT,COLD"),
    ("a reversed beta range", lambda tmp: ["anneal", "--beta-range", "5,1", "--quiet"], "0 <= HOT < COLD"),
    ("a hidden layer that cannot fit", lambda tmp: ["train", "--hidden", "100000", "--quiet"],
     "100080 free spins.*GiB, more than this machine's 16.0 GiB"),
    ("an empty --out", lambda tmp: ["train", "--out", "", "--quiet"], "--out must be a non-empty path"),
    ("a zero learning rate", lambda tmp: ["train", "--lr", "0", "--quiet"], "learning_rate must be a positive"),
    ("a seed beyond 2^31", lambda tmp: ["train", "--seed", "99999999999999999999999", "--quiet"],
     r"seed must be an integer in \[0, 2\^31 - 1\)"),
    ("--overwrite with --resume", lambda tmp: ["train", "--out", str(tmp / "r"), "--resume", "--overwrite"],
     "give one of them"),
    ("--distributed with a bad process id", lambda tmp: ["--distributed", "--coordinator", "localhost:1",
                                                         "--num-processes", "2", "--process-id", "5", "anneal"],
     "dragonjax: --distributed: "),
]


@pytest.mark.parametrize("case, argv, message", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_refuses_bad_input_with_one_line_and_exit_2(case, argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--no-compile-cache", *argv(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2
    assert len(err.splitlines()) <= 2 and "Traceback" not in err  # argparse adds a usage line for its own errors
    assert __import__("re").search(message, err), err


def test_a_run_that_fails_before_its_first_checkpoint_leaves_no_folder(tmp_path, monkeypatch):
    from dragonjax.experiments import training
    from dragonjax.train import Ensemble

    def broken(self, *args, **kwargs):
        raise RuntimeError("the sampler went away")

    monkeypatch.setattr(Ensemble, "fit", broken)
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="went away"):
        training.run_training({"hidden": [4], "train_size": 16, "test_size": 8, "epochs": 1}, out=str(out))
    assert not out.exists()  # no half-made folder that a later run would refuse or mix with
