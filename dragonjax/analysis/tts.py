"""Time to solution: the cost of reaching a target energy with probability 0.99 by independent repetitions.

A solver whose independent unit (one read of simulated annealing, one whole population-annealing run) costs
``cost`` and reaches the target with probability ``p`` needs R99 = ln(0.01) / ln(1 - p) units for a 99 %
chance that at least one does (Ronnow et al., Science 345, 420 (2014)):

    TTS99 = cost * max(1, ln(0.01) / ln(1 - p))

(``cost`` when p = 1, infinite when p = 0). ``cost`` is in whatever unit the caller measures: seconds, or
sweeps for a sweep-count comparison within one solver.
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["tts99", "tts99_interval"]


def tts99(cost: float, p: float) -> float:
    """TTS99 of a unit of cost ``cost`` succeeding with probability ``p`` (inf when p = 0)."""
    if p <= 0:
        return float("inf")
    if p >= 1:
        return float(cost)
    return float(cost * max(1.0, np.log(0.01) / np.log1p(-p)))


def tts99_interval(cost: float, hits: npt.ArrayLike, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """The 16 % and 84 % quantiles of TTS99 with the units resampled (bootstrap): ``hits`` one bool per
    independent unit (read or run), True when it reached the target."""
    hits = np.asarray(hits, bool).ravel()
    if hits.size == 0:
        return float("inf"), float("inf")
    p = np.random.default_rng(seed).choice(hits, size=(resamples, hits.size), replace=True).mean(axis=1)
    values = np.array([tts99(cost, q) for q in p])
    low, high = np.quantile(values, [0.16, 0.84], method="inverted_cdf")  # no interpolation: values may be inf
    return float(low), float(high)
