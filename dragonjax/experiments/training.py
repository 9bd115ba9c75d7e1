"""One training run from a config dict: data, network, trainer, per-epoch checkpoints, results directory."""
from __future__ import annotations

import os
import pickle

import jax
import jax.numpy as jnp
import numpy as np

from .. import data as datasets
from ..ising import ProblemError
from ..nn import IsingNetwork
from ..train import AnnealerTrainer, BackpropTrainer, TrainState
from .results import RunDirectory, records_to_arrays, save_arrays

__all__ = ["DEFAULTS", "build_run", "run_training", "save_checkpoint", "load_checkpoint"]

DEFAULTS = {
    "dataset": "digits", "data_path": None, "input_encoding": "centered", "train_size": None, "test_size": None,
    "trainer": "annealer", "sampler": "pa", "hidden": [256], "spins_per_class": 8, "init_scale": 1.0,
    "epochs": 20, "batch_size": 32, "learning_rate": None, "num_reads": 16, "num_negatives": 4, "num_sweeps": 32,
    "beta_range": [0.1, 10.0], "nudge": "strong", "weighting": "uniform", "boltzmann_beta": None, "active_layers": None,
    "max_variables": None, "activation": "tanh", "lr_schedule": "cosine", "seed": 0,
}
LEARNING_RATES = {"annealer": 0.01, "backprop": 0.003}


def load_data(cfg):
    ds = datasets.load(cfg["dataset"], cfg.get("data_path"))
    if cfg["train_size"] or cfg["test_size"]:
        ds = ds.subset(cfg["train_size"], cfg["test_size"])
    if cfg["input_encoding"] == "centered":
        ds = ds.centered()
    elif cfg["input_encoding"] != "unit":
        raise ProblemError(f"input_encoding must be 'centered' or 'unit', got {cfg['input_encoding']!r}")
    return ds


def make_sampler(name):
    """Sampler names of the CLI: the JAX kernels, 'dwave' (a QPU; needs credentials) or 'mock-dwave' (the
    same code path on dwave-system's offline MockDWaveSampler); a dimod.Sampler instance passes through."""
    if name in ("pa", "sa", "piqmc", "exact") or not isinstance(name, str):
        return name
    if name in ("dwave", "mock-dwave"):
        from ..samplers.dwave import qpu_sampler

        return qpu_sampler(mock=(name == "mock-dwave"))
    raise ProblemError(f"unknown sampler {name!r}; expected pa, sa, piqmc, exact, dwave or mock-dwave")


def build_run(config: dict):
    cfg = {**DEFAULTS, **{k: v for k, v in config.items() if v is not None}}
    if cfg["trainer"] not in ("annealer", "backprop"):
        raise ProblemError(f"trainer must be 'annealer' or 'backprop', got {cfg['trainer']!r}")
    if int(cfg["epochs"]) != cfg["epochs"] or cfg["epochs"] < 1:
        raise ProblemError(f"epochs must be a positive integer, got {cfg['epochs']!r}")
    cfg["learning_rate"] = cfg["learning_rate"] or LEARNING_RATES[cfg["trainer"]]
    ds = load_data(cfg)
    net = IsingNetwork([ds.num_inputs, *cfg["hidden"]], ds.num_classes, cfg["spins_per_class"], cfg["init_scale"])
    if cfg["trainer"] == "backprop":
        trainer = BackpropTrainer(net, cfg["learning_rate"], cfg["batch_size"], cfg["activation"],
                                  lr_schedule=cfg["lr_schedule"], seed=cfg["seed"])
    else:
        trainer = AnnealerTrainer(
            net, make_sampler(cfg["sampler"]), cfg["learning_rate"], num_reads=cfg["num_reads"],
            num_negatives=cfg["num_negatives"], nudge=cfg["nudge"], batch_size=cfg["batch_size"],
            weighting=cfg["weighting"], boltzmann_beta=cfg["boltzmann_beta"], active_layers=cfg["active_layers"],
            max_variables=cfg["max_variables"], seed=cfg["seed"], lr_schedule=cfg["lr_schedule"],
            sampler_options={"num_sweeps": cfg["num_sweeps"], "beta_range": tuple(cfg["beta_range"])}
            if cfg["sampler"] in ("pa", "sa", "piqmc") else {})
    return cfg, ds, net, trainer


def save_checkpoint(path, state: TrainState, history):
    host = {"params": jax.device_get(state.params), "opt_state": jax.device_get(state.opt_state),
            "key": np.asarray(jax.random.key_data(state.key)), "step": state.step, "epoch": state.epoch,
            "history": history}
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump(host, f)
    os.replace(tmp, path)


def load_checkpoint(path):
    with open(path, "rb") as f:
        host = pickle.load(f)
    to_device = lambda tree: jax.tree_util.tree_map(jnp.asarray, tree)  # noqa: E731
    state = TrainState(to_device(host["params"]), to_device(host["opt_state"]),
                       jax.random.wrap_key_data(jnp.asarray(host["key"])), host["step"], host["epoch"])
    return state, host["history"]


def run_training(config: dict, out: str | None = None, resume: bool = False, progress: bool = False,
                 on_epoch=None, return_state: bool = False):
    """Train as configured; with ``out`` write config.json, a checkpoint after every epoch,
    metrics.json (``test_accuracy``, ``train_accuracy``, ``history``) and history.npz (the per-epoch
    history as arrays over dimension ``epoch``; see :func:`~dragonjax.experiments.results.load_arrays`). ``resume`` continues from the
    checkpoint in ``out``, giving the same result as an uninterrupted run. ``on_epoch(state, record)`` is
    called after every epoch; ``return_state`` also returns the final TrainState."""
    if resume:
        if out is None or not os.path.exists(os.path.join(out, "checkpoint.pkl")):
            raise ProblemError(f"nothing to resume in {out!r} (no checkpoint.pkl)")
        run = RunDirectory.reopen(out)
        config = {k: v for k, v in run.config.items() if k in DEFAULTS}
    cfg, ds, net, trainer = build_run(config)
    if out and not resume:
        run = RunDirectory(out, {k: cfg[k] for k in DEFAULTS})
    checkpoint = os.path.join(out, "checkpoint.pkl") if out else None
    state, history = (load_checkpoint(checkpoint) if resume else (None, []))

    def after_epoch(state, record):
        history.append(record)
        if checkpoint:
            save_checkpoint(checkpoint, state, history)
        if on_epoch is not None:
            on_epoch(state, record)

    state, _ = trainer.fit(ds, cfg["epochs"], state=state, progress=progress, on_epoch=after_epoch)
    train_accuracy = trainer.evaluate(state.params, ds.x_train, ds.y_train)
    metrics = {"trainer": cfg["trainer"], "sampler": cfg["sampler"] if cfg["trainer"] == "annealer" else None,
               "seed": cfg["seed"], "test_accuracy": history[-1]["test_accuracy"], "train_accuracy": train_accuracy,
               "epochs": cfg["epochs"], "wall_seconds": float(sum(h["wall_seconds"] for h in history)),
               "history": history}
    if out:
        save_arrays(run.file("history.npz"), records_to_arrays(history, "epoch", skip=("epoch",)),
                    {"epoch": [h["epoch"] for h in history]})
        metrics = run.finish(metrics)
    return (metrics, state) if return_state else metrics
