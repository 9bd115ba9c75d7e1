"""Deep networks on a small annealer (claim 5, issue 17): how a 64-64-64-64-40 network trains when the annealer
sees the whole network, a sliding window of one layer, or one hidden layer at a time greedily.

Variants (each over the same seeds; test accuracy per epoch; the largest problem handed to the sampler, in spins
and couplings, and the number of sampler calls):

- ``whole``: :class:`~dragonjax.train.AnnealerTrainer` on the whole network (initial weight scale 2: with 1 the
  deep layers start too weak for the anneal's cold end);
- ``window 1``: the same trainer with ``active_layers=1`` (the window slides over the layers; the layers below at
  the deterministic pass, those above relaxed top-down in both phases), within ``max_variables``;
- ``greedy``: :func:`~dragonjax.train.train_layerwise`, each hidden layer trained with a temporary readout, then
  frozen (``epochs_per_layer`` each), within ``max_variables``.

    python -m dragonjax.experiments.deep --out papers/deep

Error bars: standard errors over the seeds (the independent unit).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

__all__ = ["QUICK", "run_deep", "describe"]

QUICK = {"hidden": [64, 64, 64], "spins_per_class": 4, "seeds": [0, 1, 2], "epochs": 8, "epochs_per_layer": 4,
         "max_variables": 104, "sampler": "pa", "num_reads": 16, "num_sweeps": 32}


def _variant(name: str, settings: dict, seed: int, ds) -> dict:
    from ..nn import IsingNetwork
    from ..train import AnnealerTrainer, train_layerwise

    options = {"sampler": settings["sampler"], "num_reads": settings["num_reads"],
               "sampler_options": {"num_sweeps": settings["num_sweeps"]}}
    sizes = [ds.num_inputs, *settings["hidden"]]
    if name == "greedy":
        net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 1.0)
        _, history = train_layerwise(net, ds, settings["epochs_per_layer"], seed=seed,
                                     max_variables=settings["max_variables"], **options)
    else:
        net = IsingNetwork(sizes, ds.num_classes, settings["spins_per_class"], 2.0)
        window = {"active_layers": 1, "max_variables": settings["max_variables"]} if name == "window 1" else {}
        _, history = AnnealerTrainer(net, seed=seed, **window, **options).fit(ds, settings["epochs"])
    return {"test_accuracy": [h["test_accuracy"] for h in history],
            "largest_subproblem": max(h["largest_subproblem"] for h in history),
            "largest_subproblem_couplings": max(h["largest_subproblem_couplings"] for h in history),
            "sampler_calls": int(sum(h["sampler_calls"] for h in history))}


def run_deep(out: str, settings: dict | None = None, overwrite: bool = False) -> dict:
    """Train every variant for every seed; write ``out``/results.json (per seed and a summary)."""
    from .. import data
    from .results import RunDirectory

    settings = {**QUICK, **(settings or {})}
    run = RunDirectory(out, {"study": "deep", **settings}, overwrite=overwrite)
    ds = data.digits().centered()
    start = time.perf_counter()
    results = {}
    for name in ("whole", "window 1", "greedy"):
        per_seed = [_variant(name, settings, seed, ds) for seed in settings["seeds"]]
        final = np.array([r["test_accuracy"][-1] for r in per_seed])
        results[name] = {"per_seed": per_seed, "final_mean": float(final.mean()),
                         "final_se": float(final.std(ddof=1) / np.sqrt(len(final))),
                         "largest_subproblem": max(r["largest_subproblem"] for r in per_seed),
                         "largest_subproblem_couplings": max(r["largest_subproblem_couplings"] for r in per_seed)}
    summary = {"settings": settings, "results": results, "study_seconds": time.perf_counter() - start}
    run.finish(summary, "results.json")
    return summary


def describe(summary: dict) -> list[str]:
    """One line per variant: final test accuracy mean ± s.e. over seeds, the largest subproblem."""
    lines = []
    for name, r in summary["results"].items():
        finals = ", ".join(f"{s['test_accuracy'][-1]:.3f}" for s in r["per_seed"])
        lines.append(f"{name}: {r['final_mean']:.3f} ± {r['final_se']:.3f} (seeds: {finals}); largest subproblem "
                     f"{r['largest_subproblem']} spins, {r['largest_subproblem_couplings']} couplings")
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    print("\n".join(describe(run_deep(args.out, overwrite=args.overwrite))))
