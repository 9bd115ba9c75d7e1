"""Training runs from one typed configuration: data, network, trainer, ensembles of seeds, per-epoch
checkpoints (no pickle) and a results directory that is never mixed with another run.

:class:`TrainConfig` is the single source of defaults: the command line reads its defaults and help from
it, ``config.json`` is it serialised, and ``--resume`` compares the command line against it.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
import zipfile
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import numpy.typing as npt

from .. import data as datasets
from ..ising import ProblemError
from ..nn import IsingNetwork
from ..train import AnnealerTrainer, BackpropTrainer, Ensemble, TrainState, member, parse_seeds
from ..train.annealer import BETA_UNITS, NEGATIVE_PHASES, NUDGED_PHASES
from ..train.core import PARAMETRISATIONS
from ..train.phases import DEFAULT_BETA_RANGE
from ..train.ensemble import member_record
from .results import RunDirectory, clear_run, finite, json_default, write_json

__all__ = ["TrainConfig", "LEARNING_RATES", "build_run", "run_training", "save_checkpoint", "load_checkpoint",
           "history_dataset", "summary"]

LEARNING_RATES = {"annealer": 0.01, "backprop": 0.003}
SAMPLER_NAMES = ("pa", "sa", "piqmc", "exact", "dwave", "mock-dwave")


def _field(default, help: str, **cli):
    return dataclasses.field(default=default, metadata={"help": help, **cli})


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. ``seeds`` (several seeds trained as one ensemble) replaces
    ``seed`` when given; ``learning_rate`` None means the trainer's default (0.01 annealer, 0.003 backprop)."""
    dataset: str = _field("digits", "digits (scikit-learn's bundled 8x8 digits, stratified 70/30 split), "
                                    "teacher-student, or mnist from --data-path", choices=datasets.DATASETS)
    data_path: str | None = _field(None, "local MNIST .npz or IDX folder (never downloaded)", kind="str")
    input_encoding: str = _field("centered", "inputs as 2x-1 in [-1, 1] (centered) or x in [0, 1] (unit)",
                                 choices=("centered", "unit"))
    train_size: int | None = _field(None, "use only the first N training examples", kind="positive")
    test_size: int | None = _field(None, "use only the first N test examples", kind="positive")
    hidden: tuple = _field((256,), "hidden layer sizes, e.g. 256 or 128,128", kind="ints")
    spins_per_class: int = _field(8, "output spins per class K", kind="positive")
    init_scale: float = _field(1.0, "initial weights N(0, scale^2 / fan-in) (2 helps nets with several hidden "
                                    "layers)", kind="float")
    layer_scales: tuple | None = _field(None, "per-matrix factors of init_scale, one per weight matrix, e.g. "
                                              "1,0.5,0.25,0.125 (the weak-feedback hierarchy; annealer only)",
                                        kind="floats")
    parametrisation: str = _field("standard", "learning rate of every layer the same (standard) or scaled by "
                                              "64 / fan-in (width-aware, muP-style: one step changes a unit's field "
                                              "equally at every width)", choices=PARAMETRISATIONS)
    trainer: str = _field("annealer", "annealer-assisted or the backprop baseline", choices=("annealer", "backprop"))
    sampler: str = _field("pa", "phase sampler of the annealer trainer: population annealing, simulated annealing, "
                                "path-integral QMC, exact enumeration (tiny nets), a D-Wave QPU (needs DWAVE_API_TOKEN "
                                "or `dwave config create`) or its offline mock", choices=SAMPLER_NAMES)
    epochs: int = _field(20, "epochs", kind="positive")
    batch_size: int = _field(32, "mini-batch size", kind="positive")
    learning_rate: float | None = _field(None, "peak Adam learning rate (see lr_schedule; default 0.01 annealer, "
                                               "0.003 backprop)", kind="float", flag="--lr")
    num_reads: int = _field(16, "states per example and phase", kind="positive")
    num_negatives: int = _field(4, "lowest distinct free states examined for wrong labels (M)", kind="positive")
    num_sweeps: int = _field(32, "sweeps per anneal", kind="positive")
    beta_range: tuple = _field(DEFAULT_BETA_RANGE, "hot,cold inverse temperatures of the SA/PA anneal", kind="pair")
    beta_units: str = _field("absolute", "beta_range in 1 / energy units (absolute) or in units of 1 / the batch's "
                                         "rms local field (local-field: the anneal follows the couplings' growth)",
                             choices=BETA_UNITS)
    coupling_noise: float | None = _field(None, "emulated annealer: Gaussian control errors on the auto-scaled "
                                                "couplings, in units of the coupler range (e.g. 0.02; sa/pa only)",
                                          kind="nonnegative")
    field_noise: float | None = _field(None, "emulated annealer: control errors on the auto-scaled fields, in units "
                                             "of the field range (sa/pa only)", kind="nonnegative")
    precision_bits: int | None = _field(None, "emulated annealer: quantise couplings and fields to 2^bits levels "
                                              "(sa/pa only)", kind="positive")
    readout_error: float | None = _field(None, "emulated annealer: probability of flipping each returned spin "
                                               "(sa/pa only)", kind="nonnegative")
    beta_eff: float | None = _field(None, "emulated annealer: sample at this fixed inverse temperature in hardware "
                                          "units instead of annealing (sa/pa only)", kind="float")
    qpu_parallel: int = _field(1, "QPU samplers (dwave, mock-dwave): pack up to this many problems of a batch into "
                                  "one QPU call, on disjoint embeddings side by side", kind="positive")
    nudge: Any = _field("strong", "'strong' (clamped output) or a weak-nudge strength", kind="nudge")
    nudged_phase: str = _field("anneal", "nudged phase: annealed afresh, quenched at zero temperature from the free "
                                         "phase's lowest state, or reverse-annealed from it (Laydevant's reverse "
                                         "anneal; sa/pa only)", choices=NUDGED_PHASES)
    reverse_beta: float = _field(1.0, "the inverse temperature at which a reverse nudged phase restarts (below the "
                                      "cold end of beta_range)", kind="float")
    negative_phase: str = _field("free", "negatives: wrong-label states of the free phase, or the lowest state with "
                                         "the output clamped to the most offending wrong label (strong nudge, "
                                         "annealed nudged phase)", choices=NEGATIVE_PHASES)
    margin: float | None = _field(None, "hinge of the clamped negative: an example counts while E(wrong) - "
                                        "E(correct) < margin (default: always)", kind="float")
    weighting: str = _field("uniform", "weights of the wrong-label negatives", choices=("uniform", "boltzmann"))
    boltzmann_beta: float | None = _field(None, "beta of Boltzmann weights (default: the sampler's final beta)",
                                          kind="float")
    active_layers: int | None = _field(None, "train deep nets a window of k layers at a time", kind="positive")
    max_variables: int | None = _field(None, "refuse windows larger than this many spins", kind="positive")
    activation: str = _field("tanh", "backprop hidden units", choices=("tanh", "sign"))
    lr_schedule: str = _field("cosine", "learning-rate schedule", choices=("cosine", "constant"))
    lr_warmup_epochs: float | None = _field(None, "annealer: the learning rate rises linearly from 0 over this many "
                                                  "epochs first (rounded to steps)", kind="nonnegative")
    weight_decay: float = _field(0.0, "annealer: AdamW's decoupled weight decay (each step also shrinks every "
                                      "parameter by learning rate x this)", kind="nonnegative")
    seed: int = _field(0, "random seed; same seed, same result", kind="seed")
    seeds: tuple | None = _field(None, "train several seeds as one ensemble: 'a:b' (a..b-1), 'a,b,c' or a count N",
                                 kind="seeds")

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if value is None:
                continue
            kind, choices = meta.get("kind"), meta.get("choices")
            if choices and value not in choices:
                raise ProblemError(f"{f.name} must be one of {', '.join(choices)}; got {value!r}")
            if kind == "seed":
                if isinstance(value, bool) or int(value) != value or not 0 <= value < 2 ** 31 - 1:
                    raise ProblemError(f"seed must be an integer in [0, 2^31 - 1), got {value!r}")
                set_(f.name, int(value))
            elif kind in ("positive", "int"):
                if isinstance(value, bool) or int(value) != value or (kind == "positive" and value < 1):
                    raise ProblemError(f"{f.name} must be a{' positive' if kind == 'positive' else 'n'} integer, "
                                       f"got {value!r}")
                set_(f.name, int(value))
            elif kind in ("float", "nonnegative"):
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                if not number or not np.isfinite(value) or value < 0 or (kind == "float" and value == 0):
                    raise ProblemError(f"{f.name} must be a {'positive' if kind == 'float' else 'non-negative'} "
                                       f"finite number, got {value!r}")
                set_(f.name, float(value))
            elif kind == "ints":
                values = (value,) if isinstance(value, int) else tuple(value)
                if not values or any(isinstance(v, bool) or int(v) != v or v < 1 for v in values):
                    raise ProblemError(f"{f.name} must be positive integers, got {value!r}")
                set_(f.name, tuple(int(v) for v in values))
            elif kind == "floats":
                values = (value,) if isinstance(value, (int, float)) else tuple(value)
                if not values or any(isinstance(v, bool) or not np.isfinite(float(v)) or float(v) <= 0
                                     for v in values):
                    raise ProblemError(f"{f.name} must be positive finite numbers, got {value!r}")
                set_(f.name, tuple(float(v) for v in values))
            elif kind == "pair":
                values = tuple(float(v) for v in value)
                if len(values) != 2 or not all(np.isfinite(v) and v > 0 for v in values) or values[0] > values[1]:
                    raise ProblemError(f"{f.name} must be two positive numbers hot <= cold, got {value!r}")
                set_(f.name, values)
            elif kind == "nudge" and value != "strong":
                try:
                    strength = float(value)
                except (TypeError, ValueError):
                    raise ProblemError(f"nudge must be 'strong' or a positive number, got {value!r}") from None
                if not (np.isfinite(strength) and strength > 0):
                    raise ProblemError(f"nudge must be 'strong' or a positive number, got {value!r}")
                set_(f.name, strength)
            elif kind == "seeds":
                seeds = tuple(parse_seeds(value))
                if len(set(seeds)) != len(seeds):
                    raise ProblemError(f"seeds must be distinct, got {value!r}")
                set_(f.name, seeds)
        if self.num_negatives > self.num_reads:
            raise ProblemError(f"num_negatives ({self.num_negatives}) cannot exceed num_reads ({self.num_reads})")

    @classmethod
    def from_dict(cls, config: dict) -> "TrainConfig":
        """A config from a dict; unknown keys are an error; None means the default."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(config) - names)
        if unknown:
            raise ProblemError(f"unknown configuration key(s) {unknown}; known keys: {', '.join(sorted(names))}")
        return cls(**{k: v for k, v in config.items() if v is not None})

    def to_dict(self) -> dict:
        """The config as plain JSON types (tuples as lists), as stored in ``config.json``."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @property
    def member_seeds(self) -> list[int]:
        """The seeds of the networks trained: ``seeds``, or ``[seed]``."""
        return list(self.seeds) if self.seeds is not None else [self.seed]

    @property
    def is_ensemble(self) -> bool:
        """Whether several seeds are trained as one ensemble."""
        return self.seeds is not None

    def resolved(self) -> "TrainConfig":
        """The config with the trainer's default learning rate filled in."""
        if self.learning_rate is not None:
            return self
        return dataclasses.replace(self, learning_rate=LEARNING_RATES[self.trainer])

    def differences(self, given: dict) -> dict:
        """{key: (stored, given)} for the keys of ``given`` whose value differs from this config's (a given
        value that is invalid beside the stored ones differs by definition)."""
        try:
            other = TrainConfig.from_dict({**self.to_dict(), **given}).resolved()
        except ProblemError:
            return {k: (getattr(self, k, None), v) for k, v in given.items() if getattr(self, k, None) != v}
        return {k: (getattr(self, k), getattr(other, k)) for k in given
                if getattr(self, k) != getattr(other, k)}


def load_data(cfg: TrainConfig):
    ds = datasets.load(cfg.dataset, cfg.data_path)
    if cfg.train_size or cfg.test_size:
        ds = ds.subset(cfg.train_size, cfg.test_size)
    return ds.centered() if cfg.input_encoding == "centered" else ds


def make_sampler(name, qpu_parallel: int = 1):
    """Sampler names of the CLI: the JAX kernels, 'dwave' (a QPU; needs credentials) or 'mock-dwave' (the
    same code path on dwave-system's offline MockDWaveSampler), packing up to ``qpu_parallel`` problems into a QPU
    call; a dimod.Sampler instance passes through."""
    if qpu_parallel != 1 and name not in ("dwave", "mock-dwave"):
        raise ProblemError(f"qpu_parallel packs problems into QPU calls (sampler dwave or mock-dwave), not {name!r}")
    if name in ("pa", "sa", "piqmc", "exact") or not isinstance(name, str):
        return name
    if name in ("dwave", "mock-dwave"):
        from ..samplers.dwave import qpu_sampler

        return qpu_sampler(mock=(name == "mock-dwave"), parallel=qpu_parallel)
    raise ProblemError(f"unknown sampler {name!r}; expected pa, sa, piqmc, exact, dwave or mock-dwave")


HARDWARE_KEYS = ("coupling_noise", "field_noise", "precision_bits", "readout_error", "beta_eff")


def _sampler_options(cfg: TrainConfig) -> dict:
    """The phase sampler's options of a config: sweeps and beta range, and the emulated-annealer settings given."""
    hardware = {k: getattr(cfg, k) for k in HARDWARE_KEYS if getattr(cfg, k) is not None}
    if hardware and cfg.sampler not in ("sa", "pa"):
        raise ProblemError(f"{', '.join(sorted(hardware))} emulate an annealer with the sa or pa phase sampler, "
                           f"not {cfg.sampler!r}")
    if cfg.sampler in ("pa", "sa"):
        return {"num_sweeps": cfg.num_sweeps, "beta_range": cfg.beta_range, **hardware}
    return {"num_sweeps": cfg.num_sweeps} if cfg.sampler == "piqmc" else {}


def build_run(config: TrainConfig | dict
              ) -> tuple[TrainConfig, datasets.Dataset, IsingNetwork, AnnealerTrainer | BackpropTrainer]:
    """(config, dataset, network, trainer) from a :class:`TrainConfig` or a dict of its keys."""
    cfg = (config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)).resolved()
    ds = load_data(cfg)
    net = IsingNetwork([ds.num_inputs, *cfg.hidden], ds.num_classes, cfg.spins_per_class, cfg.init_scale,
                       None if cfg.layer_scales is None else list(cfg.layer_scales))
    seed = cfg.member_seeds[0]
    if cfg.trainer == "backprop" and cfg.lr_warmup_epochs:
        raise ProblemError("lr_warmup_epochs applies to the annealer trainer, not backprop")
    if cfg.trainer == "backprop" and cfg.weight_decay:
        raise ProblemError("weight_decay applies to the annealer trainer, not backprop")
    if cfg.trainer == "backprop":
        trainer = BackpropTrainer(net, cfg.learning_rate, cfg.batch_size, cfg.activation, lr_schedule=cfg.lr_schedule,
                                  seed=seed, parametrisation=cfg.parametrisation)
    else:
        trainer = AnnealerTrainer(
            net, make_sampler(cfg.sampler, cfg.qpu_parallel), cfg.learning_rate, num_reads=cfg.num_reads,
            num_negatives=cfg.num_negatives, nudge=cfg.nudge, batch_size=cfg.batch_size, weighting=cfg.weighting,
            boltzmann_beta=cfg.boltzmann_beta, active_layers=cfg.active_layers, max_variables=cfg.max_variables,
            seed=seed, lr_schedule=cfg.lr_schedule, parametrisation=cfg.parametrisation, beta_units=cfg.beta_units,
            nudged_phase=cfg.nudged_phase, reverse_beta=cfg.reverse_beta, negative_phase=cfg.negative_phase,
            margin=cfg.margin, sampler_options=_sampler_options(cfg),
            lr_warmup_steps=round((cfg.lr_warmup_epochs or 0) * -(-len(ds.x_train) // cfg.batch_size)),
            weight_decay=cfg.weight_decay)
    return cfg, ds, net, trainer


# -- checkpoints: arrays in .npz (no pickle) and the history as JSON ---------------------------------------
CHECKPOINT_FORMAT = 2  # 2: the run's config in the metadata


def save_checkpoint(path: str, state: TrainState, history: list[dict], config: dict | None = None) -> None:
    """Write ``state`` (every leaf as an array; PRNG keys as their key data), ``history`` and the run's
    ``config`` (with the format version) atomically: a temporary file, fsync, rename."""
    leaves = jax.tree_util.tree_leaves(state)
    arrays = {f"leaf_{i:04d}": np.asarray(jax.random.key_data(leaf) if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key)
                                          else leaf) for i, leaf in enumerate(leaves)}
    meta = {"format": CHECKPOINT_FORMAT, "num_leaves": len(leaves), "epoch": int(state.epoch),
            "step": int(state.step), "config": config}
    tmp = path + ".tmp.npz"
    history_text = json.dumps(finite(history), default=json_default)
    with open(tmp, "wb") as f:
        np.savez(f, meta=np.asarray(json.dumps(meta, default=json_default)), history=np.asarray(history_text),
                 **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | os.PathLike, template: TrainState,
                    config: dict | None = None) -> tuple[TrainState, list[dict]]:
    """(state, history) from :func:`save_checkpoint`, with the structure (and key types) of ``template`` --
    the initial state of the same configuration. A checkpoint of another shape, format version or (given
    ``config``) of another configuration -- any key but ``epochs``, which a resume may raise -- is an error
    naming the difference."""
    try:
        with np.load(path, allow_pickle=False) as f:
            meta, history = json.loads(str(f["meta"])), json.loads(str(f["history"]))
            arrays = [f[f"leaf_{i:04d}"] for i in range(meta["num_leaves"])]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise ProblemError(f"cannot read the checkpoint {path} (damaged or not a dragonjax checkpoint): "
                           f"{str(err).splitlines()[0]}") from None
    if meta.get("format", 1) != CHECKPOINT_FORMAT:
        raise ProblemError(f"the checkpoint {path} has format {meta.get('format', 1)}, this dragonjax reads "
                           f"format {CHECKPOINT_FORMAT}; start a new run")
    stored = meta.get("config") or {}
    if config is not None:
        differ = {k: (stored.get(k), v) for k, v in config.items() if k != "epochs" and stored.get(k) != v}
        if differ:
            detail = "; ".join(f"{k}: checkpoint {a!r}, run {b!r}" for k, (a, b) in differ.items())
            raise ProblemError(f"the checkpoint {path} belongs to another configuration ({detail})")
    leaves, treedef = jax.tree_util.tree_flatten(template)
    if len(arrays) != len(leaves):
        raise ProblemError(f"the checkpoint {path} does not match this configuration ({len(arrays)} arrays, "
                           f"expected {len(leaves)})")
    restored = []
    for stored, like in zip(arrays, leaves):
        if jnp.issubdtype(like.dtype, jax.dtypes.prng_key):
            restored.append(jax.random.wrap_key_data(jnp.asarray(stored), impl=jax.random.key_impl(like)))
        elif stored.shape != like.shape:
            raise ProblemError(f"the checkpoint {path} does not match this configuration (an array of shape "
                               f"{stored.shape}, expected {like.shape})")
        else:
            restored.append(jnp.asarray(stored, like.dtype))
    return jax.tree_util.tree_unflatten(treedef, restored), history


# -- results ------------------------------------------------------------------------------------------------
MEMBER_FIELDS = ("loss", "train_accuracy_running", "mean_wrong_label_states", "fraction_with_wrong_label_states",
                 "mean_gap", "test_accuracy")
DESCRIPTIONS = {
    "test_accuracy": "fraction of the test set classified correctly after the epoch",
    "train_accuracy_running": "fraction of the epoch's training examples whose lowest free state (annealer) or "
                              "argmax (backprop) was correct before the step's update",
    "loss": "mean training loss of the epoch's steps",
    "mean_wrong_label_states": "mean number of wrong-label states among the M negatives per example (capped by M; "
                               "not the Hydra heads of dragonjax.analysis.heads)",
    "fraction_with_wrong_label_states": "fraction of examples with at least one wrong-label negative",
    "mean_gap": "mean E(lowest wrong-label negative) - E(correct state), over examples that have one",
    "spin_updates": "spin updates per network in the epoch's training phases",
    "sampler_calls": "sampler calls per network in the epoch (one per example and phase)",
    "largest_subproblem": "most spins handed to the sampler in one problem",
    "largest_subproblem_couplings": "couplings of that problem (between its consecutive layers)",
    "train_seconds": "wall time of the epoch's training steps, whole ensemble",
    "wall_seconds": "wall time of the epoch including evaluation, whole ensemble",
}


def history_dataset(history: list[dict], seeds: Sequence[int]) -> tuple[dict, dict]:
    """The per-epoch history as variables over (seed, epoch) -- per-network figures -- and (epoch,) -- those
    of the whole ensemble -- for :func:`~dragonjax.experiments.results.save_dataset`."""
    variables = {}
    for name in history[0] if history else ():
        if name in ("epoch", "qpu"):
            continue
        values = [h.get(name) for h in history]
        if name in MEMBER_FIELDS:
            rows = [np.full(len(seeds), np.nan) if v is None else np.broadcast_to(np.asarray(v, float), (len(seeds),))
                    for v in values]
            variables[name] = (("seed", "epoch"), np.stack(rows, axis=1))
        elif all(isinstance(v, (int, float, np.number)) for v in values):
            variables[name] = (("epoch",), np.asarray(values, float))
    coords = {"seed": np.asarray(seeds), "epoch": np.asarray([h["epoch"] for h in history])}
    return variables, coords


def summary(values: npt.ArrayLike) -> dict:
    """Mean, standard deviation, standard error, min and max over seeds."""
    v = np.asarray(values, float)
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return {"mean": float(v.mean()), "std": sd, "sem": sd / np.sqrt(v.size), "min": float(v.min()),
            "max": float(v.max()), "per_seed": v.tolist()}


def _check_given(given: dict):
    if given.get("seed") is not None and given.get("seeds") is not None:
        raise ProblemError("give seed (one network) or seeds (an ensemble), not both")
    sampler = given.get("sampler", TrainConfig.sampler)
    if given.get("beta_range") is not None and sampler not in ("sa", "pa"):
        raise ProblemError(f"beta_range sets the SA/PA anneal; the {sampler!r} sampler does not use it")


def _stored_run(out: str, given: dict):
    """The run in ``out`` to resume, after checking the options given against its config."""
    if not os.path.exists(os.path.join(out, "checkpoint.npz")):
        old = " (it holds checkpoint.pkl from an older dragonjax, which is not loaded: pickle)" if os.path.exists(
            os.path.join(out, "checkpoint.pkl")) else ""
        raise ProblemError(f"nothing to resume in {out!r} (no checkpoint.npz){old}")
    run = RunDirectory.reopen(out)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    stored = TrainConfig.from_dict({k: v for k, v in run.config.items() if k in known}).resolved()
    differ = stored.differences(given)
    extend = differ.pop("epochs", None)
    if differ:
        detail = "; ".join(f"{k}: stored {a!r}, given {b!r}" for k, (a, b) in differ.items())
        raise ProblemError(f"--resume: the command line differs from the run in {out} ({detail}); drop those "
                           f"options or start a new --out")
    if extend is not None:  # --resume --epochs N: extend the run
        old, new = extend
        if new < old:
            raise ProblemError(f"--resume --epochs {new}: the run in {out} has {old} epochs and cannot be shortened")
        if stored.lr_schedule != "constant":
            raise ProblemError(f"--resume --epochs {new}: the run in {out} uses the {stored.lr_schedule} learning-rate "
                               f"schedule planned for {old} epochs (its rate reaches 0 there); only runs with "
                               f"--lr-schedule constant can be extended")
        stored = dataclasses.replace(stored, epochs=new)
        run.config = {**run.config, "epochs": new, "extended_from_epochs": run.config.get("extended_from_epochs", old)}
        write_json(os.path.join(out, "config.json"), run.config)
    return run, stored


def holds_run(out: str) -> bool:
    """Whether ``out`` holds a training run that got somewhere (a checkpoint or final metrics)."""
    return any(os.path.exists(os.path.join(out, name)) for name in ("checkpoint.npz", "metrics.json",
                                                                    "checkpoint.pkl"))


def run_training(config: dict | TrainConfig, out: str | None = None, resume: bool = False, progress: bool = False,
                 on_epoch: Callable[[TrainState, dict], object] | None = None, return_state: bool = False,
                 overwrite: bool = False) -> dict | tuple[dict, TrainState]:
    """Train as configured (one seed, or ``seeds`` as one ensemble). With ``out`` write config.json, a
    checkpoint after every epoch, history.nc (xarray; dims seed x epoch) and metrics.json. ``resume``
    continues from the checkpoint in ``out`` (the config keys given must agree with the stored ones; with a
    :class:`TrainConfig` every field counts as given, except that ``epochs`` may be raised to extend a run with a
    constant learning rate), giving the same result as an uninterrupted run. A new run refuses an ``out`` that
    holds one, unless ``overwrite`` (which deletes it once the configuration has been checked).
    ``on_epoch(state, record)`` is called after every epoch (for a
    single seed with the single network's state); ``return_state`` also returns the final TrainState."""
    given = config.to_dict() if isinstance(config, TrainConfig) else {k: v for k, v in config.items() if v is not None}
    if not isinstance(config, TrainConfig):
        _check_given(given)
    run = None
    if resume:
        if out is None:
            raise ProblemError("resume needs an output directory")
        run, cfg = _stored_run(out, given)
    else:
        cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(given)
        if out and holds_run(out) and not overwrite:
            raise ProblemError(f"{out} already holds a run; continue it with --resume, replace it with --overwrite "
                               f"or choose a new --out")
    cfg, ds, net, trainer = build_run(cfg)  # every check of the configuration before the folder is written
    if out and not resume:
        run = RunDirectory(out, cfg.to_dict(), overwrite=overwrite)
    seeds = cfg.member_seeds
    ensemble = Ensemble(trainer, seeds)
    checkpoint = os.path.join(out, "checkpoint.npz") if out else None
    history = []
    state = None
    if resume:
        steps = -(-len(ds.x_train) // cfg.batch_size) * cfg.epochs
        state, history = load_checkpoint(checkpoint, ensemble.init(steps), cfg.to_dict())
        state = ensemble.place(state)
    single = not cfg.is_ensemble

    def after_epoch(state, record):
        history.append(record)
        if checkpoint:
            save_checkpoint(checkpoint, state, history, cfg.to_dict())
        if on_epoch is not None:
            on_epoch(member(state, 0), member_record(record)) if single else on_epoch(state, record)

    start = time.perf_counter()
    try:
        state, _ = ensemble.fit(ds, cfg.epochs, state=state, progress=progress, on_epoch=after_epoch,
                                description=f"{cfg.trainer} epochs" + ("" if single else f" ({len(seeds)} seeds)"))
    except BaseException:  # a new run that fails (or is interrupted) before its first checkpoint leaves nothing
        if out and not resume and not os.path.exists(checkpoint):
            clear_run(out)
        raise
    train_accuracy = ensemble.evaluate(state, ds.x_train, ds.y_train)
    test_accuracy = np.asarray([np.nan if v is None else v for v in np.atleast_1d(history[-1]["test_accuracy"])],
                               float)
    wall = float(sum(h["wall_seconds"] for h in history))
    base = {"trainer": cfg.trainer, "sampler": cfg.sampler if cfg.trainer == "annealer" else None,
            "epochs": cfg.epochs, "wall_seconds": wall, "session_seconds": time.perf_counter() - start}
    if single:
        metrics = {**base, "seed": seeds[0], "test_accuracy": float(test_accuracy[0]),
                   "train_accuracy": float(train_accuracy[0]), "history": [member_record(h) for h in history]}
    else:
        metrics = {**base, "seeds": seeds, "test_accuracy": summary(test_accuracy),
                   "train_accuracy": summary(train_accuracy), "history": history}
    if out:
        variables, coords = history_dataset(history, seeds)
        run.save_dataset("history.nc", variables, coords, {"descriptions": DESCRIPTIONS})
        metrics = run.finish(metrics)
    result_state = member(state, 0) if single else state
    return (metrics, result_state) if return_state else metrics
