"""The sweep-budget rule (:func:`dragonjax.samplers.sweep_budget`) and time to solution
(:mod:`dragonjax.analysis.tts`)."""
import dimod
import numpy as np
import pytest

import dragonjax as dj
from dragonjax.analysis.tts import tts99, tts99_interval, tts99_wilson
from dragonjax.samplers import SimulatedAnnealingSampler, sweep_budget


class StubAnnealer(dimod.Sampler):
    """Each read lands at energy -2 with probability ``p[num_sweeps]`` (-1 with ``q[num_sweeps]``), else 0;
    ``exact``: the fractions exactly (reads evenly spaced in [0, 1) instead of uniform at random)."""
    properties = {}
    parameters = {"num_reads": [], "num_sweeps": [], "seed": []}

    def __init__(self, p, q=None, exact=False):
        self.p, self.q, self.exact, self.calls = p, q or {}, exact, []

    def sample(self, bqm, num_reads=1, num_sweeps=1000, seed=None):
        self.calls.append((num_sweeps, seed))
        u = (np.arange(num_reads) + 0.5) / num_reads if self.exact else np.random.default_rng(seed).random(num_reads)
        p, q = self.p[num_sweeps], self.q.get(num_sweeps, 0.0)
        energy = np.where(u < p, -2.0, np.where(u < p + q, -1.0, 0.0))
        return dimod.SampleSet.from_samples((np.ones((num_reads, 1), np.int8), ["a"]), "SPIN", energy)


BQM = dimod.BinaryQuadraticModel({"a": 0.0}, {}, 0.0, "SPIN")


def test_tts99_closed_form_and_its_intervals():
    assert tts99(10, 0.0) == np.inf and tts99(10, 1.0) == 10 and tts99(10, 0.999) == 10  # at least one unit
    assert tts99(10, 0.5) == pytest.approx(10 * np.log(0.01) / np.log(0.5))
    lo, hi = tts99_interval(10, np.r_[np.ones(50, bool), np.zeros(50, bool)])
    assert lo < tts99(10, 0.5) < hi
    assert tts99_interval(10, np.zeros(20, bool)) == (np.inf, np.inf)
    lo, hi = tts99_wilson(10, 50, 100)
    assert lo < tts99(10, 0.5) < hi and tts99_wilson(10, 0, 100)[1] == np.inf
    assert tts99_wilson(10, 100, 100)[0] == 10 and np.isfinite(tts99_wilson(10, 1, 100)[1])


def test_rule_picks_the_least_tts_count_and_stops_when_longer_anneals_cost_more():
    """True p per count 10..3000: 0.01, 0.1, 0.5, 0.95, 0.99, 0.99 -> TTS99 in sweeps 4582, 1311, 664, 461, 1000,
    3000: the least is 300, and 1000 and 3000 above it end the search before 10000. 4000 reads: each estimated p
    within 4 binomial standard errors of the truth, and the 44 % margin between 300 and 100 is > 10 of the TTS's."""
    p = {10: 0.01, 30: 0.1, 100: 0.5, 300: 0.95, 1000: 0.99, 3000: 0.99, 10000: 1.0}
    stub = StubAnnealer(p)
    budget = sweep_budget(stub, BQM, num_reads=4000, target_energy=-2.0, seed=5)
    assert budget.sweeps == (10, 30, 100, 300, 1000, 3000) and budget.num_sweeps == 300
    assert "in a row" in budget.stopped and budget.unit == "read" and budget.units_per_count == 4000
    truth = np.array([p[s] for s in budget.sweeps])
    assert np.all(np.abs(np.array(budget.success) - truth) <= 4 * np.sqrt(truth * (1 - truth) / 4000) + 1e-12)
    assert [seed for _, seed in stub.calls] == [5, 6, 7, 8, 9, 10]
    assert "<- chosen" in budget.table().splitlines()[5]


def test_rule_recounts_earlier_anneals_when_a_longer_one_finds_a_lower_energy():
    """Short anneals reach only -1; from 100 sweeps on some reach -2. Without a given target, success is the
    lowest energy found, so the short counts are recounted as never succeeding."""
    stub = StubAnnealer({10: 0.0, 30: 0.0, 100: 0.3, 300: 1.0, 1000: 1.0}, q={10: 0.5, 30: 0.9})
    budget = sweep_budget(stub, BQM, num_reads=200, grid=(10, 30, 100, 300, 1000, 3000))
    assert budget.target_energy == -2.0 and not budget.target_given
    assert budget.success[:2] == (0.0, 0.0) and budget.tts99_sweeps[:2] == (np.inf, np.inf)
    assert budget.sweeps == (10, 30, 100, 300, 1000) and budget.stopped.endswith("at 300, 1000 sweeps")
    assert budget.num_sweeps == 300  # p = 1: TTS99 300, against ~1300 at 100 sweeps


def test_rule_takes_the_longest_count_the_estimates_cannot_tell_from_the_best():
    """100 and 300 sweeps with the same TTS99 (p = 0.5 and 0.875: 664.4 and 664.6 sweeps; the stub's fractions
    exact), 1000 sweeps costing 1000: 300 lies within the interval of the least (100) and is taken (a longer anneal
    spreads each call's fixed cost over more sweeps); 1000 lies outside it."""
    p = {10: 0.0, 30: 0.05, 100: 0.5, 300: 0.875, 1000: 0.99, 3000: 0.99}
    budget = sweep_budget(StubAnnealer(p, exact=True), BQM, num_reads=400, target_energy=-2.0, seed=1)
    assert budget.success[2:5] == (0.5, 0.875, 0.99) and int(np.argmin(budget.tts99_sweeps)) == 2
    assert budget.num_sweeps == 300
    assert budget.tts99_sweeps[3] <= budget.tts99_interval[2][1] < budget.tts99_sweeps[4]


def test_an_unknown_target_every_read_reaches_once_is_not_taken_for_the_ground_state():
    """At 10 sweeps every read sits at -1, a local minimum; from 30 sweeps some reach -2. Told nothing, the rule does
    not stop at the first count on which every read reached its lowest energy so far: it checks the next."""
    stub = StubAnnealer({10: 0.0, 30: 0.5, 100: 1.0, 300: 1.0}, q={10: 1.0})
    budget = sweep_budget(stub, BQM, num_reads=64, grid=(10, 30, 100, 300, 1000))
    assert budget.target_energy == -2.0 and budget.success[0] == 0.0 and budget.num_sweeps == 100
    told = sweep_budget(StubAnnealer({10: 1.0}), BQM, num_reads=64, grid=(10, 30), target_energy=-2.0)
    assert told.sweeps == (10,) and told.stopped.endswith("at 10 sweeps")  # a given target: no second count


def test_a_single_success_does_not_make_every_longer_count_look_equal():
    """One read in 64 succeeds at 10 sweeps, 3, 4 and 5 at 30, 100, 300 (exact fractions): TTS99 2924, 2877, 7138,
    16987 sweeps. The interval of the least (30) is the Wilson score interval, finite, so 100 and 300 lie outside it
    and 30 is chosen (a resampling interval of one success in 64 has an infinite upper end)."""
    p = {10: 1 / 64, 30: 3 / 64, 100: 4 / 64, 300: 5 / 64, 1000: 5 / 64}
    budget = sweep_budget(StubAnnealer(p, exact=True), BQM, num_reads=64, target_energy=-2.0,
                          grid=(10, 30, 100, 300, 1000))
    assert budget.num_sweeps == 30 and np.all(np.isfinite(np.array(budget.tts99_interval)))
    lo, hi = tts99_wilson(30, 3, 64)
    assert lo < budget.tts99_sweeps[1] < hi < budget.tts99_sweeps[2]


def test_a_given_target_never_reached_or_beaten():
    """Never reached: every TTS99 infinite, the longest count tried. Beaten (a read below it): a warning."""
    budget = sweep_budget(StubAnnealer({10: 0.0, 30: 0.0}), BQM, num_reads=16, grid=(10, 30), target_energy=-2.0)
    assert budget.num_sweeps == 30 and budget.tts99_sweeps == (np.inf, np.inf)
    with pytest.warns(UserWarning, match="not the ground-state energy"):
        sweep_budget(StubAnnealer({10: 0.5, 30: 1.0}), BQM, num_reads=16, grid=(10, 30), target_energy=-1.5)


def test_population_annealing_counts_whole_runs_as_units():
    """PA's reads are one correlated population: the unit is a run (its best read), costing reads x sweeps."""
    inst = dj.problems.wishart_planted(12, alpha=1.2, seed=1)
    budget = sweep_budget(dj.samplers.PopulationAnnealingSampler(), inst.model.to_bqm(), num_reads=16,
                          grid=(4, 16), runs=3, beta_range="local-field", min_effective_population=0)
    assert budget.unit == "run" and budget.units_per_count == 3
    finite = [t for t, p in zip(budget.tts99_sweeps, budget.success) if p > 0]
    assert finite and all(t >= 16 * s for t, s in zip(budget.tts99_sweeps, budget.sweeps))


class StubPopulation(dj.samplers.PopulationAnnealingSampler):
    """A population annealer whose run (its best read) reaches -2 in exactly the fraction ``p[(reads, sweeps)]`` of
    the calls at that setting (the k-th call succeeds when (k + 0.5) / runs < p, k counted modulo runs), else -1 where
    ``q[(reads, sweeps)]`` (a fraction of the rest, the same way), else 0. A call advances ``clock`` (a fake wall
    clock the tests hand to the rule) by ``seconds_per_sweep[reads] * sweeps``: timings without noise."""

    def __init__(self, p, runs, seconds_per_sweep=None, q=None):
        super().__init__()
        self.p, self.q, self.runs, self.calls = p, q or {}, runs, []
        self.seconds_per_sweep, self.now = seconds_per_sweep or {}, 0.0

    def clock(self):
        return self.now

    def sample(self, bqm, num_reads=1, num_sweeps=1000, seed=None, **kwargs):
        k = sum(c == (num_reads, num_sweeps) for c in self.calls)
        self.calls.append((num_reads, num_sweeps))
        self.now += self.seconds_per_sweep.get(num_reads, 0.0) * num_sweeps
        u = (k % self.runs + 0.5) / self.runs
        p, q = self.p[num_reads, num_sweeps], self.q.get((num_reads, num_sweeps), 0.0)
        best = -2.0 if u < p else -1.0 if u < p + q * (1 - p) else 0.0
        energy = np.r_[best, np.zeros(num_reads - 1)]
        return dimod.SampleSet.from_samples((np.ones((num_reads, 1), np.int8), ["a"]), "SPIN", energy)


def timed_budget(monkeypatch, stub, **kwargs):
    """sweep_budget timed by the stub's fake clock."""
    monkeypatch.setattr(dj.samplers.budget, "_clock", stub.clock)
    return sweep_budget(stub, BQM, **kwargs)


POPULATION_P = {(32, 10): 0.0, (32, 30): 0.25, (32, 100): 1.0, (64, 10): 0.0, (64, 30): 0.5, (64, 100): 1.0,
                (256, 10): 0.125, (256, 30): 1.0}


def test_rule_chooses_the_population_of_least_wall_clock_tts(monkeypatch):
    """Per (population, sweeps), runs that succeed (exact fractions of 16): 32 replicas 0, 4/16, 16/16 at 10, 30,
    100 sweeps; 64: 0, 8/16, 16/16; 256: 2/16, 16/16 at 10, 30. TTS99 in replica-sweeps: 32 x 30 x ln 0.01 / ln 0.75
    = 15366 and 3200 at 100; 64: 12752, 6400; 256: 88287, 7680. Each population's search stops at its first count
    where every run succeeds (the target is given). With a call's time proportional to its replica-sweeps (2 us
    each), 32 replicas at 100 sweeps take 6.4 ms, and 64 x 100 (12.8 ms) and 256 x 30 (15.4 ms) lie above that
    TTS99's interval (upper end 10.4 ms: 16 of 16 runs): a smaller population annealed longer is chosen."""
    stub = StubPopulation(POPULATION_P, runs=16, seconds_per_sweep={32: 64e-6, 64: 128e-6, 256: 512e-6})
    budget = timed_budget(monkeypatch, stub, grid=(10, 30, 100, 300), target_energy=-2.0, runs=16,
                          populations=(32, 64, 256))
    assert budget.reads == (32, 32, 32, 64, 64, 64, 256, 256) and budget.sweeps == (10, 30, 100, 10, 30, 100, 10, 30)
    assert (budget.num_reads, budget.num_sweeps) == (32, 100) and budget.unit == "run"
    assert budget.tts99_sweeps[1] == pytest.approx(960 * np.log(0.01) / np.log(0.75))
    assert budget.tts99_sweeps[2] == 3200 and budget.tts99_sweeps[5] == 6400 and budget.tts99_sweeps[7] == 7680
    assert budget.stopped.count("every run reached the target") == 3
    assert sum(line.endswith("<- chosen") for line in budget.table().splitlines()) == 1
    assert budget.seconds_per_call[2] == pytest.approx(6.4e-3) and budget.seconds_per_call[7] == pytest.approx(15.36e-3)
    assert tts99_wilson(6.4e-3, 16, 16)[1] < 12.8e-3
    single = sweep_budget(StubPopulation(POPULATION_P, runs=8), BQM, num_reads=256, grid=(10, 30, 100),
                          target_energy=-2.0, runs=8)
    assert (single.num_reads, single.num_sweeps) == (256, 30) and set(single.reads) == {256}


@pytest.mark.parametrize("seconds_per_sweep", [{32: 100e-6, 64: 120e-6, 256: 150e-6},
                                               {32: 45e-6, 64: 100e-6, 256: 160e-6}])
def test_rule_takes_the_large_population_unless_a_small_one_is_clearly_faster(monkeypatch, seconds_per_sweep):
    """The same successes, with a sweep costing more per replica in small populations (latency-bound, as the dense
    sweep of a small population on a CPU). First: 32 x 100 takes 10 ms, 64 x 100 12 ms and 256 x 30 4.5 ms, so 256
    replicas are the fastest. Second: 32 x 100 takes 4.5 ms and 256 x 30 4.8 ms, inside the interval of the former
    (16 of 16 runs cannot tell p = 1 from 0.94): the larger population is taken."""
    stub = StubPopulation(POPULATION_P, runs=16, seconds_per_sweep=seconds_per_sweep)
    budget = timed_budget(monkeypatch, stub, grid=(10, 30, 100, 300), target_energy=-2.0, runs=16,
                          populations=(32, 64, 256))
    assert (budget.num_reads, budget.num_sweeps) == (256, 30)
    assert 4.8e-3 < tts99_wilson(4.5e-3, 16, 16)[1]


def test_the_chosen_point_lies_within_the_least_wall_clock_interval(monkeypatch):
    """32 x 100 (8 of 8 runs, 15.5 ms) is the fastest; 256 x 30 (7 of 8, 14.4 ms a call, TTS99 31.9 ms) lies inside its
    interval (upper end 32.5 ms) and 256 x 100 (8 of 8, 48 ms) outside it. The largest population is taken at its count
    inside the interval, 30, not at the count the rule in sweeps would take within 256 alone (100: 25600
    replica-sweeps lie within 256 x 30's wide interval, 7 of 8)."""
    p = {(32, 10): 0.0, (32, 30): 0.0, (32, 100): 1.0, (256, 10): 0.0, (256, 30): 0.875, (256, 100): 1.0}
    stub = StubPopulation(p, runs=8, seconds_per_sweep={32: 0.155e-3, 256: 0.48e-3})
    budget = timed_budget(monkeypatch, stub, grid=(10, 30, 100, 300), target_energy=-2.0, runs=8,
                          populations=(32, 256))
    upper = tts99_wilson(15.5e-3, 8, 8)[1]
    assert tts99(14.4e-3, 0.875) <= upper < 48e-3
    assert (budget.num_reads, budget.num_sweeps) == (256, 30)


def test_a_population_that_stopped_at_a_beaten_target_is_searched_further(monkeypatch):
    """Told nothing: 32 replicas reach only -1 at 10 and 30 sweeps (so their search stops, every run at its target),
    and -2 from 100 sweeps; 256 replicas reach -2 at once. Once -2 is known, the 32-replica search resumes at 100."""
    p = {(32, 10): 0.0, (32, 30): 0.0, (32, 100): 1.0, (32, 300): 1.0, (256, 10): 1.0, (256, 30): 1.0}
    stub = StubPopulation(p, runs=4, seconds_per_sweep={32: 1e-3, 256: 1e-3}, q={(32, 10): 1.0, (32, 30): 1.0})
    budget = timed_budget(monkeypatch, stub, grid=(10, 30, 100, 300, 1000), runs=4, populations=(32, 256))
    assert budget.target_energy == -2.0
    assert [s for r, s in zip(budget.reads, budget.sweeps) if r == 32] == [10, 30, 100, 300]
    assert "population 32: every run reached the target at 100, 300 sweeps" in budget.stopped
    assert budget.success[:2] == (0.0, 0.0)


def test_population_search_on_a_planted_instance():
    """Real population annealing, two populations: the rows cover both, and the choice is one of them."""
    inst = dj.problems.wishart_planted(12, alpha=1.2, seed=1)
    budget = sweep_budget(dj.samplers.PopulationAnnealingSampler(), inst.model.to_bqm(), grid=(4, 16), runs=3,
                          populations=(8, 16), beta_range="local-field", min_effective_population=0)
    assert set(budget.reads) == {8, 16} and (budget.num_reads, budget.num_sweeps) in zip(budget.reads, budget.sweeps)
    assert all(t >= r * s for t, r, s in zip(budget.tts99_sweeps, budget.reads, budget.sweeps))


def test_rule_on_a_planted_instance_finds_its_ground_state_blind():
    """Simulated annealing on a planted Wishart instance (N = 24): without being told the planted energy, the rule's
    target is it, and the chosen count reaches it."""
    inst = dj.problems.wishart_planted(24, alpha=1.2, seed=0)
    budget = sweep_budget(SimulatedAnnealingSampler(), inst.model.to_bqm(), num_reads=64, seed=0,
                          beta_range="local-field")
    assert budget.target_energy == pytest.approx(inst.ground_energy, rel=1e-5)
    chosen, best = budget.sweeps.index(budget.num_sweeps), int(np.argmin(budget.tts99_sweeps))
    assert budget.success[chosen] > 0 and budget.tts99_sweeps[chosen] <= budget.tts99_interval[best][1]


def test_a_sampler_that_takes_no_seed_is_called_without_one():
    """OpenJij-like samplers (no ``seed`` in ``parameters``; seeded, their reads would be identical) get no seed."""
    class Unseeded(StubAnnealer):
        parameters = {"num_reads": [], "num_sweeps": []}

    stub = Unseeded({10: 0.5, 30: 1.0, 100: 1.0})
    sweep_budget(stub, BQM, num_reads=64, grid=(10, 30, 100), seed=3)
    assert stub.calls and all(seed is None for _, seed in stub.calls)


@pytest.mark.parametrize("kwargs, message", [({"grid": (30, 10)}, "increasing"), ({"grid": ()}, "increasing"),
                                             ({"num_sweeps": 5}, "sets num_sweeps"), ({"num_reads": 0}, "num_reads"),
                                             ({"patience": 0}, "patience"), ({"runs": 0}, "runs"),
                                             ({"populations": (32, 64)}, "population annealing only")])
def test_rule_refuses_bad_settings(kwargs, message):
    with pytest.raises(dj.ProblemError, match=message):
        sweep_budget(StubAnnealer({}), BQM, **kwargs)


def test_population_sizes_must_increase_and_be_timed_over_three_runs():
    with pytest.raises(dj.ProblemError, match="population sizes must be increasing"):
        sweep_budget(StubPopulation({}, runs=4), BQM, runs=4, populations=(64, 32))
    with pytest.raises(dj.ProblemError, match="runs must be 3 or more"):
        sweep_budget(StubPopulation({}, runs=2), BQM, runs=2, populations=(32, 64))


def test_anneal_command_with_auto_sweeps(capsys):
    from dragonjax.cli import main

    assert main(["anneal", "--problem", "planted", "--size", "16", "--sampler", "sa", "--num-reads", "32",
                 "--num-sweeps", "auto", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "<- chosen" in out and "num_sweeps_tried" in out
    chosen = int(next(line for line in out.splitlines() if line.startswith("num_sweeps ")).split()[1])
    assert chosen in dj.samplers.DEFAULT_SWEEP_GRID


def test_anneal_command_chooses_a_population(capsys):
    from dragonjax.cli import main

    assert main(["anneal", "--problem", "planted", "--size", "16", "--sampler", "pa", "--num-sweeps", "auto",
                 "--populations", "8,16", "--quiet"]) == 0
    out = capsys.readouterr().out
    chosen = int(next(line for line in out.splitlines() if line.startswith("num_reads ")).split()[1])
    assert chosen in (8, 16) and "num_reads_tried" in out
    with pytest.raises(SystemExit) as exit_:
        main(["anneal", "--sampler", "sa", "--num-sweeps", "auto", "--populations", "8,16"])
    assert exit_.value.code == 2
    assert "--populations chooses population annealing's population" in capsys.readouterr().err
