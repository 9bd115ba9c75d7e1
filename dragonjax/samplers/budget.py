"""How long to anneal: a sweep count of (near) least time to solution, measured on the problem itself.

The rule (:func:`sweep_budget`): anneal with sweep counts from a geometric grid, shortest first; at each count
estimate the probability ``p`` that one independent unit -- a read of simulated annealing or path-integral QMC,
a whole run of population annealing (its reads are one correlated population) -- reaches the target energy,
and its TTS99 in sweeps, ``sweeps_per_unit * max(1, ln 0.01 / ln(1 - p))`` (:mod:`dragonjax.analysis.tts`).
The target is the known ground-state energy when given, else the lowest energy found at any count (every
count's ``p`` is recomputed when a longer anneal finds a lower one). The search stops

- where every unit succeeds -- at once when the target is given (each longer anneal then costs more than this
  one's TTS99), else at ``patience`` counts in a row (a target every unit reaches may still be a local minimum that
  a longer anneal goes below),
- after ``patience`` counts in a row whose TTS99 is above the best so far and which found no lower energy,
- or at the end of the grid;

and returns, of the counts whose TTS99 lies within the least one's 68 % interval (its upper end; the Wilson score
interval of p, :func:`~dragonjax.analysis.tts.tts99_wilson`, finite once one unit succeeded), the longest. Cost is
counted in sweeps, not seconds: a sweep of one kernel on one problem costs the same at every count, so the choice
does not depend on the machine's speed, and is the same for the same seed on the same backend (for one population;
populations, below, are compared in seconds). Counts the
estimates cannot tell apart cost the same in sweeps, but each call also has a fixed cost (dispatch, transfers,
building the sample set) that a longer anneal spreads over more sweeps: so the longest of them. (This tie-break was
added after one planted Wishart instance, N = 64, on which the least point estimate chose 30 sweeps whose TTS99 in
sweeps equalled 100's and 300's but whose wall-clock TTS99 was twice theirs; benchmarks/RESULTS.md. Adding each
call's fixed cost to the TTS would be the principled form; it needs timings, which would make the choice depend
on the machine.)

Population annealing also has a population size R to choose (``populations=``): a run of R replicas costs
R x sweeps replica-sweeps, and a smaller population annealed longer can find the ground state as often with fewer
of them (planted Wishart, N = 128: 32 replicas at 100 sweeps, 3200 replica-sweeps, against 256 at 30, 7680). But a
replica-sweep does not cost the same at every R: on this project's 2-core CPU the dense sweep of 32 replicas is
latency-bound, and a run of 32 x 100 took 14.9-15.5 ms against 256 x 30's 22.1-25.3 ms, 0.6-0.7 of it rather than
0.42 (benchmarks/RESULTS.md); on a GPU a population up to the device's width costs about one replica's time. So
populations are compared in seconds, from the median wall time of each point's calls, which the search makes anyway
(``runs`` >= 3: the first call of a shape compiles). Each population is searched as above, shortest count first,
with one target shared by all; a population whose search ended before another found a lower energy is searched
further (its earlier counts now fail). Of the (population, count) points whose wall-clock TTS99 lies within the
least one's interval, the rule takes the largest population and, of its points there, the longest count. The
largest, because a few runs cannot tell p = 0.9 from 1 (8 of 8 runs succeed with probability 0.43 at p = 0.9): in
the N = 128 benchmark a search that took the least point estimate chose 32 replicas at 100 sweeps on every
instance, and on two of three its TTS99 was then 1.2-1.6x that of 256 replicas at 30 sweeps. (This tie-break was
chosen after those runs, on the same instances.) The choice then depends on the machine and on timing noise, not
only on the seed -- as the best population itself depends on the machine.

Limits, stated: with an unknown ground state, "success" is reaching the lowest energy this search saw, so a
problem whose ground state no count finds gets the count that best finds a wrong target; and ``p`` comes from the
units of each count (``num_reads`` reads, or ``runs`` runs; its Wilson interval is reported), so a count is told
from its neighbours only when their TTS99 differ by more than that.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Sequence

import dimod
import numpy as np

from ..analysis.tts import tts99, tts99_wilson
from ..ising import ProblemError

__all__ = ["DEFAULT_SWEEP_GRID", "SweepBudget", "sweep_budget"]

DEFAULT_SWEEP_GRID = (10, 30, 100, 300, 1000, 3000, 10000)
_clock = time.perf_counter  # the wall clock that times the calls when populations are compared (tests replace it)


@dataclass(frozen=True)
class SweepBudget:
    """The outcome of :func:`sweep_budget`: ``num_sweeps`` (and ``num_reads``), the chosen count (and population),
    and per (population, count) tried, in order, the success probability per unit, TTS99 in sweeps (replica-sweeps
    for population annealing), its 68 % interval (Wilson) and the median wall time of a call. ``stopped`` says why
    the search ended."""
    num_sweeps: int
    num_reads: int
    target_energy: float
    target_given: bool
    unit: str  # "read" or "run"
    units_per_count: int
    sweeps: tuple[int, ...]
    reads: tuple[int, ...]
    success: tuple[float, ...]
    tts99_sweeps: tuple[float, ...]
    tts99_interval: tuple[tuple[float, float], ...]
    seconds_per_call: tuple[float, ...]
    stopped: str

    def table(self) -> str:
        """A plain-text table of the counts tried, the chosen one marked."""
        target = "ground state (given)" if self.target_given else "lowest energy found"
        lines = [f"target energy {self.target_energy:.6g} ({target}); {self.units_per_count} {self.unit}s per count",
                 f"{'reads':>6}  {'sweeps':>8}  {'p per ' + self.unit:>12}  {'TTS99 (sweeps)':>15}  "
                 f"{'68 % interval':<22}  {'call (s)':>9}  {'TTS99 (s)':>9}"]
        for r, s, p, t, (lo, hi), c in zip(self.reads, self.sweeps, self.success, self.tts99_sweeps,
                                           self.tts99_interval, self.seconds_per_call):
            mark = "  <- chosen" if (r, s) == (self.num_reads, self.num_sweeps) else ""
            interval = f"[{lo:.4g}, {hi:.4g}]"
            lines.append(f"{r:>6}  {s:>8}  {p:>12.3f}  {t:>15.4g}  {interval:<22}  {c:>9.3g}  {tts99(c, p):>9.3g}"
                         f"{mark}")
        lines.append(f"stopped: {self.stopped}")
        return "\n".join(lines)


def _is_population(sampler) -> bool:
    from .classical import PopulationAnnealingSampler
    return isinstance(sampler, PopulationAnnealingSampler)


def _check_grid(grid, what: str = "the sweep grid") -> tuple[int, ...]:
    try:
        grid = tuple(int(s) for s in grid)
    except (TypeError, ValueError):
        raise ProblemError(f"{what} must be positive integers, got {grid!r}") from None
    if not grid or min(grid) < 1 or any(b <= a for a, b in zip(grid, grid[1:])):
        raise ProblemError(f"{what} must be increasing positive integers, got {grid!r}")
    return grid


def sweep_budget(sampler: dimod.Sampler, bqm: dimod.BinaryQuadraticModel, num_reads: int = 64,
                 grid: Sequence[int] = DEFAULT_SWEEP_GRID, target_energy: float | None = None,
                 runs: int | None = None, patience: int = 2, seed: int = 0, rtol: float = 1e-5,
                 populations: Sequence[int] | None = None, **sample_kwargs) -> SweepBudget:
    """A sweep count of ``grid`` for ``sampler`` on ``bqm``: the longest whose TTS99 is within the least one's
    interval (see the module docstring); with ``populations``, also a population size, chosen in seconds.

    Args:
        sampler: a dimod sampler with a ``num_sweeps`` parameter (dragonjax's, dwave-samplers', OpenJij's).
        num_reads: reads per call.
        grid: increasing sweep counts to try (default 10, 30, ..., 10000).
        target_energy: the ground-state energy when known (e.g. a planted instance); else the lowest found.
        runs: calls per count whose best read is one unit (population annealing: default 8); ``None`` for other
            samplers: every read is a unit.
        patience: counts in a row without improvement after which the search stops.
        seed: seed of the first call (call k gets ``seed + k``), passed only when ``sampler.parameters`` lists
            ``seed`` (``None``: unseeded calls, a choice that can differ from run to run). OpenJij's samplers do not
            list it and are called unseeded, as they must be: given a seed they return identical reads, and p would
            be 0 or 1. With ``populations`` the choice also depends on the calls' timings.
        rtol: a read succeeds when its energy is within ``rtol * max(1, |target|)`` of the target.
        populations: population annealing only: increasing population sizes to search, each over ``grid`` as
            above (``num_reads`` is then ignored; ``runs`` >= 3). Of the points within the interval of the least
            wall-clock TTS99, the largest population at its longest count there (see the module docstring).
        sample_kwargs: passed to every ``sampler.sample`` call (``beta_range``, ``trotter_slices``, ...).
    """
    grid = _check_grid(grid)
    if int(num_reads) != num_reads or num_reads < 1:
        raise ProblemError(f"num_reads must be a positive integer, got {num_reads!r}")
    if int(patience) != patience or patience < 1:
        raise ProblemError(f"patience must be a positive integer, got {patience!r}")
    if runs is None and _is_population(sampler):
        runs = 8
    if runs is not None and (int(runs) != runs or runs < 1):
        raise ProblemError(f"runs must be a positive integer, got {runs!r}")
    if populations is not None:
        if not _is_population(sampler):
            raise ProblemError("populations applies to population annealing only: other samplers' reads are "
                               "independent units, whose number does not change the time to solution")
        populations = _check_grid(populations, "population sizes")
        if runs < 3:
            raise ProblemError(f"populations are compared by the median time of each point's runs, and the first "
                               f"call of a shape compiles: runs must be 3 or more, got {runs}")
    clash = {"num_reads", "num_sweeps", "seed"} & set(sample_kwargs)
    if clash:
        raise ProblemError(f"sweep_budget sets {', '.join(sorted(clash))} itself; do not pass it")
    seeded = "seed" in getattr(sampler, "parameters", {})
    calls = 0

    def energies(reads: int, sweeps: int) -> tuple[np.ndarray, float]:
        """One energy per unit (every read's, or each run's best) and the median wall time of the calls."""
        nonlocal calls
        out, seconds = [], []
        for _ in range(runs or 1):
            kwargs = {"seed": seed + calls} if seeded and seed is not None else {}
            calls += 1
            start = _clock()
            ss = sampler.sample(bqm, num_reads=reads, num_sweeps=sweeps, **kwargs, **sample_kwargs)
            seconds.append(_clock() - start)
            e = np.asarray(ss.record.energy, float).repeat(np.asarray(ss.record.num_occurrences))
            out.append(e if runs is None else np.array([e.min()]))
        return np.concatenate(out), float(np.median(seconds))  # the median: the first call may compile

    # one row per (population, sweep count) tried; a unit costs reads x sweeps replica-sweeps for PA
    rows_reads: list[int] = []
    rows_sweeps: list[int] = []
    found: list[np.ndarray] = []
    seconds: list[float] = []  # median wall time of a call, per row (used only to choose among populations)
    cost = lambda r, s: s * (r if runs is not None else 1)  # noqa: E731
    best_energy = np.inf if target_energy is None else float(target_energy)
    rows_of: dict[int, list[int]] = {}

    def tts_all(target):
        hits = [e <= target + rtol * max(1.0, abs(target)) for e in found]
        return hits, [tts99(cost(r, s), float(h.mean())) for r, s, h in zip(rows_reads, rows_sweeps, hits)]

    def search(reads: int) -> str:
        """Anneal with ``reads`` over the grid's counts not yet tried, shortest first, until a stop; says why."""
        nonlocal best_energy
        mine, since_best = rows_of.setdefault(reads, []), 0
        for s in grid[len(mine):]:
            energy, call_seconds = energies(reads, s)
            rows_reads.append(reads)
            rows_sweeps.append(s)
            found.append(energy)
            seconds.append(call_seconds)
            mine.append(len(found) - 1)
            lowered = target_energy is None and energy.min() < best_energy - rtol * max(1.0, abs(best_energy))
            if target_energy is None:
                best_energy = min(best_energy, float(energy.min()))
            hits, tts = tts_all(best_energy)
            hits, tts = [hits[i] for i in mine], [tts[i] for i in mine]  # this population's counts
            confirm = 1 if target_energy is not None else patience  # counts in a row at which every unit succeeds
            if len(hits) >= confirm and all(h.all() for h in hits[-confirm:]):
                counts = ", ".join(str(rows_sweeps[i]) for i in mine[-confirm:])
                return f"every {'run' if runs else 'read'} reached the target at {counts} sweeps"
            since_best = 0 if lowered or tts[-1] <= min(tts) else since_best + 1
            if since_best >= patience:
                return f"{patience} counts in a row above the best TTS99 without a lower energy"
        return "end of the grid"

    sizes = populations or (int(num_reads),)
    stops, target_then = {}, {}
    for reads in sizes:
        stops[reads], target_then[reads] = search(reads), best_energy
    while True:  # a population whose search ended before a lower energy was found is searched further
        stale = [r for r in sizes if target_then[r] != best_energy and len(rows_of[r]) < len(grid)]
        if not stale:
            break
        for reads in stale:
            stops[reads], target_then[reads] = search(reads), best_energy
    stopped = "; ".join(stops[r] if populations is None else f"population {r}: {stops[r]}" for r in sizes)
    hits, tts = tts_all(best_energy)
    intervals = tuple(tts99_wilson(cost(r, s), int(h.sum()), h.size) for r, s, h in zip(rows_reads, rows_sweeps, hits))
    below = min(float(e.min()) for e in found)
    if target_energy is not None and below < target_energy - rtol * max(1.0, abs(target_energy)):
        warnings.warn(f"reads reached energy {below:.6g}, below the given target {target_energy:.6g}: the target "
                      f"is not the ground-state energy", stacklevel=2)
    if populations is not None and any(h.any() for h in hits):
        # in seconds: of the (population, count) points within the least wall-clock TTS99's interval, the largest
        # population, then its longest count
        wall = [tts99(c, float(h.mean())) for c, h in zip(seconds, hits)]
        fastest = int(np.argmin(wall))
        upper = tts99_wilson(seconds[fastest], int(hits[fastest].sum()), hits[fastest].size)[1]
        chosen = max((i for i, w in enumerate(wall) if w <= upper), key=lambda i: (rows_reads[i], rows_sweeps[i]))
    elif any(h.any() for h in hits):  # in sweeps: the longest count the estimates cannot tell from the best
        best = int(np.argmin(tts))
        chosen = max(i for i, t in enumerate(tts) if t <= intervals[best][1])
    else:  # nothing reached the target (it was given): the longest count tried (of the largest population)
        chosen = max(range(len(found)), key=lambda i: (rows_reads[i], rows_sweeps[i]))
    return SweepBudget(num_sweeps=rows_sweeps[chosen], num_reads=rows_reads[chosen],
                       target_energy=float(best_energy), target_given=target_energy is not None,
                       unit="run" if runs else "read", units_per_count=int(hits[0].size), sweeps=tuple(rows_sweeps),
                       reads=tuple(rows_reads), success=tuple(float(h.mean()) for h in hits), tts99_sweeps=tuple(tts),
                       tts99_interval=intervals, seconds_per_call=tuple(seconds), stopped=stopped)
