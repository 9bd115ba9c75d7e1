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

__all__ = ["tts99", "tts99_interval", "tts99_wilson"]


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


def tts99_wilson(cost: float, successes: int, units: int, z: float = 1.0) -> tuple[float, float]:
    """TTS99 at the ends of the Wilson score interval for p (``z`` = 1: 68 %) from ``successes`` of ``units``:
    finite at the upper end as soon as one unit succeeded, and of non-zero width when all did (where resampling
    the units gives infinite or zero-width intervals: one success in n is lost in a resample with probability
    ~ 1/e)."""
    if units < 1:
        return float("inf"), float("inf")
    p, n = successes / units, units
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == units else min(1.0, centre + half)
    return tts99(cost, high), tts99(cost, low)
