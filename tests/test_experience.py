"""Results with provenance, arrays with named dimensions, and resuming a run killed with SIGKILL."""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from dragonjax.experiments.results import load, save_dataset

TRAIN_ARGS = ["train", "--train-size", "64", "--test-size", "32", "--epochs", "4", "--hidden", "16",
              "--sampler", "sa", "--num-reads", "4", "--num-sweeps", "8", "--seeds", "3:5", "--quiet"]

# the CLI, with the process SIGKILLed right after the checkpoint of epoch 2 is written
KILLED_AFTER_EPOCH_2 = """
import os, signal, sys
from dragonjax.experiments import training
save = training.save_checkpoint
def save_then_die(path, state, history, config=None):
    save(path, state, history, config)
    if state.epoch == 2:
        os.kill(os.getpid(), signal.SIGKILL)
training.save_checkpoint = save_then_die
from dragonjax.cli import main
sys.exit(main(sys.argv[1:]))
"""


def cli(*args, code=None):
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "dragonjax.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, JAX_PLATFORMS="cpu"))


def without_times(metrics):
    drop = {"started", "finished", "wall_seconds", "train_seconds", "session_seconds"}
    strip = lambda d: {k: v for k, v in d.items() if k not in drop}  # noqa: E731
    return {**strip(metrics), "history": [strip(h) for h in metrics["history"]]}


def test_sigkilled_ensemble_run_resumes_to_the_uninterrupted_result(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    done = cli(*TRAIN_ARGS, "--out", str(full))
    assert done.returncode == 0, done.stderr
    crash = cli(*TRAIN_ARGS, "--out", str(killed), code=KILLED_AFTER_EPOCH_2)
    assert crash.returncode == -signal.SIGKILL
    assert not (killed / "metrics.json").exists()
    resumed = cli("train", "--out", str(killed), "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    a = json.loads((full / "metrics.json").read_text())
    b = json.loads((killed / "metrics.json").read_text())
    assert [h["epoch"] for h in b["history"]] == [1, 2, 3, 4]
    assert without_times(b) == without_times(a)  # exactly equal: losses, accuracies, heads, final params' accuracy
    history_a, history_b = load(str(full / "history.nc")), load(str(killed / "history.nc"))
    assert history_a["test_accuracy"].dims == ("seed", "epoch") and list(history_a["seed"]) == [3, 4]
    np.testing.assert_array_equal(history_a["loss"], history_b["loss"])
    assert history_b.attrs["config"]["seeds"] == [3, 4] and history_b.attrs["provenance"]["packages"]["xarray"]
    assert history_b["test_accuracy"].to_dataframe().shape == (8, 1)  # pandas: one row per (seed, epoch)
    config = json.loads((killed / "config.json").read_text())
    assert config["seeds"] == [3, 4] and config["provenance"]["packages"]["jax"]
    # the stored config rules: a differing option is refused by name, a fresh run cannot reuse the folder
    refused = cli("train", "--out", str(killed), "--resume", "--num-reads", "8", "--quiet")
    assert refused.returncode == 2 and "num_reads: stored 4, given 8" in refused.stderr, refused.stderr
    mixed = cli(*TRAIN_ARGS, "--out", str(killed))
    assert mixed.returncode == 2 and "already holds a run" in mixed.stderr


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    out = cli("train", "--out", str(tmp_path / "nothing"), "--resume")
    assert out.returncode == 2 and "nothing to resume" in out.stderr


def test_datasets_round_trip_through_netcdf_with_config_and_provenance(tmp_path):
    path = str(tmp_path / "a.nc")
    errors = np.random.default_rng(0).random((3, 5))
    save_dataset(path, {"error": (("seed", "epoch"), errors), "heads": ("epoch", np.arange(5.0))},
                 {"epoch": np.arange(1, 6), "seed": [0, 1, 2]}, {"config": {"seeds": [0, 1, 2], "x": None}})
    ds = load(path)
    assert ds["error"].dims == ("seed", "epoch") and ds["heads"].dims == ("epoch",)
    np.testing.assert_array_equal(ds["error"], errors)
    np.testing.assert_array_equal(ds["epoch"], np.arange(1, 6))
    assert ds.attrs["config"] == {"seeds": [0, 1, 2], "x": None}
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    with pytest.raises(ValueError, match="2 axes but 1 dimension"):
        save_dataset(path, {"error": ("seed", errors)})
    with pytest.raises(ValueError):
        save_dataset(path, {"error": (("seed", "epoch"), errors), "heads": ("epoch", np.arange(4.0))})


def test_bench_runs_the_suite_and_writes_ratios(tmp_path):
    out = cli("bench", "--suite", "classical", "--quick", "--out", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "dwave" in out.stdout and "openjij" in out.stdout.lower()
    results = json.loads((tmp_path / "classical.json").read_text())
    for row in results["throughput"]:
        assert row["dragonjax_ns"] > 0 and row["speedup_vs_dwave"] > 0 and row["speedup_vs_openjij"] > 0
    assert json.loads((tmp_path / "bench.json").read_text())["failed"] == []
    bad = cli("bench", "--suite", "classical,foo")
    assert bad.returncode == 2 and "unknown suite" in bad.stderr


@pytest.mark.slow
def test_main_job_writes_the_report_figures_and_provenance(tmp_path):
    """The README's first command (about 5 minutes on 2 cores): `python -m pytest -m slow`."""
    out = cli("reproduce", "--out", str(tmp_path), "--quiet")
    assert out.returncode == 0, out.stderr[-3000:]
    report = (tmp_path / "REPORT.md").read_text()
    assert "paper: annealer 1.01, backprop 0.78" in report and "largest |z|" in report
    for figure in ("validation/validation", "transition/transition", "transition/binder", "scaling/scaling"):
        assert (tmp_path / f"{figure}.png").stat().st_size > 10_000 and (tmp_path / f"{figure}.pdf").exists()
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["training"]["annealer"]["test_accuracy"] > 0.9
    assert json.loads((tmp_path / "config.json").read_text())["provenance"]["packages"]["dragonjax"]
    for arrays in ("validation/arrays.nc", "transition/arrays.nc", "scaling/arrays.nc"):
        assert load(str(tmp_path / arrays)).data_vars


def test_the_paper_names_its_command_and_its_figures_exist():
    import pathlib
    import re

    papers = pathlib.Path(__file__).resolve().parent.parent / "papers"
    text = (papers / "reproduction.md").read_text()
    assert "dragonjax reproduce --out papers/run" in text
    figures = re.findall(r"\]\((run/[^)]+\.png)\)", text)
    assert len(figures) == 4
    tex = (papers / "reproduction.tex").read_text()
    for figure in figures:
        assert (papers / figure).stat().st_size > 10_000 and figure in tex
    # the committed glass validation (section 2.1) is the one in the text
    sk = json.loads((papers / "glass" / "sk" / "results.json").read_text())
    low, high = sk["crossing_interval"]
    assert f"T = {sk['crossing_temperature']:.2f}, 95 % interval [{low:.2f}, {high:.2f}]" in text
    assert (papers / "glass" / "sk" / "binder.png").stat().st_size > 10_000 and "glass/sk/binder.png" in tex
    # the committed run's numbers are the ones in the text
    results = json.loads((papers / "run" / "results.json").read_text())
    for trainer in ("annealer", "backprop"):
        fit = results["scaling"]["trainers"][trainer]["offset"]
        low, high = fit["alpha_interval"]
        assert f"{fit['alpha']:.2f} [{low:.2f}, {high:.2f}]" in text, trainer
    direction = results["verdicts"]["claim_3_direction"]
    assert f"{direction['difference']:+.2f} [{direction['interval'][0]:.2f}, {direction['interval'][1]:.2f}]".replace(
        "-", "−") in text
    for name, fit in results["fss"].items():
        assert f"{fit['inv_nu']:.2f} [{fit['inv_nu_interval'][0]:.2f}, {fit['inv_nu_interval'][1]:.2f}]" in text, name
    assert (papers / "fss" / "thermal.png").stat().st_size > 10_000 and "fss/thermal.png" in tex
    ablation = json.loads((papers / "ablation" / "results.json").read_text())
    for name, variant in ablation["variants"].items():
        assert f"{variant['accuracy_mean'][-1]:.4f} ± {variant['accuracy_sem'][-1]:.4f}" in text, name


# the CLI, with SIGINT (Ctrl-C) delivered right after the checkpoint of epoch 1 is written
# (a process started in the background of a non-interactive shell inherits SIGINT ignored: restore Python's
# handler, as in a terminal)
INTERRUPTED_AFTER_EPOCH_1 = KILLED_AFTER_EPOCH_2.replace("state.epoch == 2", "state.epoch == 1").replace(
    "signal.SIGKILL", "signal.SIGINT").replace(
    "import os, signal, sys\n", "import os, signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n")


def test_ctrl_c_exits_130_without_a_traceback_and_the_run_resumes(tmp_path):
    out = tmp_path / "run"
    stopped = cli(*TRAIN_ARGS, "--out", str(out), code=INTERRUPTED_AFTER_EPOCH_1)
    assert stopped.returncode == 130, stopped.stderr
    assert "interrupted" in stopped.stderr and "Traceback" not in stopped.stderr
    assert (out / "checkpoint.npz").exists() and not (out / "metrics.json").exists()
    resumed = cli("train", "--out", str(out), "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert [h["epoch"] for h in json.loads((out / "metrics.json").read_text())["history"]] == [1, 2, 3, 4]


def test_version_and_module_entry_point():
    from dragonjax import __version__

    shown = subprocess.run([sys.executable, "-m", "dragonjax", "--version"], capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stdout.strip() == f"dragonjax {__version__}"


def test_ruff_is_clean():
    """The lint configured in pyproject.toml ([tool.ruff]) passes on the package, tests and benchmarks."""
    import shutil

    ruff = shutil.which("ruff") or shutil.which("ruff", path=os.path.dirname(sys.executable))
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([ruff, "check", "."], capture_output=True, text=True, cwd=root)
    assert done.returncode == 0, done.stdout


def test_a_run_directory_is_never_mixed_and_overwrite_replaces_only_a_run(tmp_path):
    from dragonjax import ProblemError
    from dragonjax.experiments.results import RunDirectory, clear_run

    RunDirectory(str(tmp_path / "a"), {"x": 1})
    (tmp_path / "a" / "results.json").write_text("{}")
    with pytest.raises(ProblemError, match="already holds a run"):
        RunDirectory(str(tmp_path / "a"), {"x": 2})
    RunDirectory(str(tmp_path / "a"), {"x": 2}, overwrite=True)
    assert not (tmp_path / "a" / "results.json").exists()  # nothing of the old run is left beside the new one
    assert json.loads((tmp_path / "a" / "config.json").read_text())["x"] == 2
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    assert not clear_run(str(tmp_path / "b")) and (tmp_path / "b" / "notes.txt").exists()  # not a run: kept
    with pytest.raises(ProblemError, match="non-empty"):
        RunDirectory("", {})


def test_resume_with_more_epochs_extends_a_constant_rate_run_exactly(tmp_path):
    """--resume --epochs N on a finished constant-learning-rate run continues it: the result equals a run of N
    epochs from the start. A cosine run (planned for its epochs) and shortening are refused."""
    from dragonjax import ProblemError
    from dragonjax.experiments.training import run_training

    config = {"train_size": 64, "test_size": 32, "hidden": [8], "spins_per_class": 1, "sampler": "sa",
              "num_reads": 4, "num_sweeps": 4, "lr_schedule": "constant", "seed": 3}
    whole = run_training({**config, "epochs": 3}, out=str(tmp_path / "whole"))
    run_training({**config, "epochs": 2}, out=str(tmp_path / "ext"))
    extended = run_training({"epochs": 3}, out=str(tmp_path / "ext"), resume=True)
    assert without_times(extended) == without_times(whole)
    stored = json.loads((tmp_path / "ext" / "config.json").read_text())
    assert stored["epochs"] == 3 and stored["extended_from_epochs"] == 2
    with pytest.raises(ProblemError, match="cannot be shortened"):
        run_training({"epochs": 1}, out=str(tmp_path / "ext"), resume=True)
    run_training({**config, "epochs": 1, "lr_schedule": "cosine"}, out=str(tmp_path / "cos"))
    with pytest.raises(ProblemError, match="only runs with --lr-schedule constant"):
        run_training({"epochs": 2}, out=str(tmp_path / "cos"), resume=True)
    with pytest.raises(ProblemError, match="--overwrite"):
        run_training({**config, "epochs": 1}, out=str(tmp_path / "cos"))
    replaced = run_training({**config, "epochs": 1}, out=str(tmp_path / "cos"), overwrite=True)
    assert replaced["epochs"] == 1


def test_a_checkpoint_of_another_configuration_or_a_damaged_one_is_refused(tmp_path):
    """Same shapes, another configuration (a checkpoint copied between runs): refused, naming the difference; a
    damaged file: one line saying so."""
    import shutil

    from dragonjax import ProblemError
    from dragonjax.experiments.training import run_training

    config = {"train_size": 64, "test_size": 32, "hidden": [8], "spins_per_class": 1, "sampler": "sa",
              "num_reads": 4, "num_sweeps": 4, "epochs": 1}
    run_training({**config, "lr_schedule": "constant"}, out=str(tmp_path / "a"))
    run_training(config, out=str(tmp_path / "b"))
    shutil.copy(tmp_path / "b" / "checkpoint.npz", tmp_path / "a" / "checkpoint.npz")
    with pytest.raises(ProblemError, match="another configuration.*lr_schedule: checkpoint 'cosine', run 'constant'"):
        run_training({}, out=str(tmp_path / "a"), resume=True)
    (tmp_path / "a" / "checkpoint.npz").write_bytes(b"garbage")
    with pytest.raises(ProblemError, match="damaged or not a dragonjax checkpoint"):
        run_training({}, out=str(tmp_path / "a"), resume=True)


def test_anneal_labels_what_it_prints_and_writes_a_run(tmp_path, capsys):
    import dimod

    from dragonjax.cli import main

    out = tmp_path / "anneal"
    assert main(["--no-compile-cache", "anneal", "--problem", "sk", "--size", "12", "--num-reads", "16",
                 "--num-sweeps", "20", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "inverse temperature at the end of the anneal" in printed and "estimate of ln Z at beta_final" in printed
    results = json.loads((out / "results.json").read_text())
    # the default range is the local-field rule: the cold end 10 / (rms local field), not dwave's ~1e3 for SK
    from dragonjax.cli import _problem
    from dragonjax.ising import local_field_scale

    g = float(local_field_scale(_problem("sk", 12, 0)[0]))
    assert results["beta_range_rule"] == "local-field" and results["beta_final"] == pytest.approx(10 / g, rel=1e-5)
    assert "(1 / energy unit)" in printed and "how beta_range was chosen" in printed
    assert results["meanings"]["log_z"].startswith("population annealing")
    reads = dimod.SampleSet.from_serializable(json.loads((out / "sampleset.json").read_text()))
    assert len(reads) == 16 and reads.first.energy == pytest.approx(results["best_energy"])
    assert json.loads((out / "config.json").read_text())["command"] == "anneal"


# -- figures a journal would take (issue 19 item 4) -------------------------------------------------------------------
def test_one_colour_per_size_in_every_figure_and_zeros_shown_as_zeros():
    """size_colour depends on the number of spins only (a lattice of side L is coloured by L^d), distinct for
    neighbouring powers of two; on a log axis a zero is an open triangle on the axis edge, not a floored point."""
    from matplotlib.figure import Figure

    from dragonjax.experiments.figures import log_errorbar, size_colour

    hues = [size_colour(n) for n in (8, 16, 32, 64, 128, 256, 512, 1024)]
    assert len(set(hues)) == 8 and size_colour(36) == size_colour(32) and size_colour(4) == size_colour(8)
    with pytest.raises(ValueError, match="positive number of spins"):
        size_colour(0)
    ax = Figure().subplots()
    ax.set_yscale("log")
    log_errorbar(ax, [1, 2, 3], [0.1, 0.0, 0.01], [0.01, 0.0, 0.001], colour=size_colour(64))
    markers = [line for line in ax.lines if line.get_marker() == "v"]
    assert len(markers) == 1 and list(markers[0].get_xdata()) == [2]  # the zero, on the axis edge
    plotted = [line for line in ax.lines if line.get_marker() == "o"][0].get_ydata()
    assert np.isnan(plotted[1]) and plotted[0] == pytest.approx(0.1)  # no floor value in its place


def test_replot_redraws_the_committed_studies_in_the_journal_style(tmp_path, capsys):
    """dragonjax replot DIR redraws a study from its results.json alone (here the committed transition and scaling
    runs): 7.0 in or 3.4 in wide, no figure title, PNG and PDF; a results.json it cannot plot is named, in one line."""
    import pathlib
    import shutil

    from PIL import Image

    from dragonjax.cli import main

    papers = pathlib.Path(__file__).resolve().parent.parent / "papers"
    for study in ("transition", "scaling"):
        shutil.copytree(papers / "run" / study, tmp_path / "run" / study,
                        ignore=shutil.ignore_patterns("*.png", "*.pdf", "*.nc"))
    assert main(["--no-compile-cache", "replot", str(tmp_path / "run")]) == 0
    assert "3 figures redrawn" in capsys.readouterr().out
    for name, width in (("transition/transition", 7.0), ("transition/binder", 7.0), ("scaling/scaling", 3.4)):
        image = Image.open(tmp_path / "run" / f"{name}.png")
        assert image.size[0] == pytest.approx(300 * width, abs=2), name
        assert (tmp_path / "run" / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"study": "scaling"}')
    (broken / "results.json").write_text('{"settings": {}}')
    with pytest.raises(SystemExit) as exit_:
        main(["--no-compile-cache", "replot", str(broken)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "could not redraw" in err and len(err.strip().splitlines()) == 1


def test_provenance_records_the_host_cpu():
    """Results carry the host CPU (model, family, model number, stepping, SIMD sets): XLA's CPU code, and with it the
    rounding of a run, depends on it, so the same seed reproduces bit for bit only on a like host."""
    from dragonjax.experiments.results import provenance

    cpu = provenance()["cpu"]
    assert set(cpu) == {"model", "family", "model_number", "stepping", "simd"}
    if os.path.exists("/proc/cpuinfo") and "model name" in open("/proc/cpuinfo").read():
        assert cpu["model"] and cpu["family"] is not None
