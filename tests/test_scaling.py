"""The exponent fits, the verdict rule and the Grover model on synthetic curves with known answers."""
import numpy as np
import pytest

from dragonjax.experiments.scaling import compare_models, fit_exponent, fit_window, grover_cost, verdict
from dragonjax.ising import ProblemError

T = np.geomspace(30, 4000, 12)


def curves(alpha, eps_inf, noise, seeds=10, seed=0):
    rng = np.random.default_rng(seed)
    return (eps_inf + 0.8 * T ** -alpha)[None] * np.exp(noise * rng.normal(size=(seeds, len(T))))


def test_power_fit_recovers_a_planted_exponent_within_its_interval():
    fit = fit_exponent(T, curves(0.8, 0.0, 0.05), "power", resamples=500)
    low, high = fit["alpha_interval"]
    assert low < 0.8 < high and low < fit["alpha"] < high
    assert high - low < 0.2  # 10 seeds at 5 % noise over 2.1 decades pin alpha well
    assert fit["epsilon_inf"] == 0.0 and fit["dof"] == len(T) - 2 and abs(fit["decades"] - np.log10(4000 / 30)) < 1e-9
    exact = fit_exponent(T, (2.0 * T ** -1.3)[None], "power")  # noiseless: exact, no interval from one curve
    assert abs(exact["alpha"] - 1.3) < 1e-4 and exact["alpha_interval"] is None


def test_offset_fit_recovers_exponent_and_plateau_and_aic_prefers_it():
    errors = curves(0.7, 0.02, 0.1)
    both = compare_models(T, errors, resamples=500)
    offset, power = both["offset"], both["power"]
    assert offset["alpha_interval"][0] < 0.7 < offset["alpha_interval"][1]
    assert offset["epsilon_inf_interval"][0] < 0.02 < offset["epsilon_inf_interval"][1]
    assert power["alpha"] < offset["alpha"]  # a plateau flattens the pure power law
    assert both["preferred"] == "offset" and both["delta_aic"] > 2
    # a pure power law: the offset model gains nothing and AIC keeps the simpler one
    pure = compare_models(T, curves(0.7, 0.0, 0.1, seed=1), resamples=0)
    assert pure["preferred"] == "power"


def test_window_starts_after_the_transient():
    mean = np.array([0.9, 0.88, 0.6, 0.44, 0.3, 0.2])
    assert fit_window(np.arange(6), mean).tolist() == [3, 4, 5]
    assert fit_window(np.arange(6), mean, untrained_error=1.0).tolist() == [3, 4, 5]


def test_verdict_rule():
    def fit(low, high):
        return {"alpha_interval": [low, high]}

    assert verdict(fit(0.9, 1.2), fit(0.6, 0.85))["verdict"] == "supported"
    assert verdict(fit(0.9, 1.2), fit(0.8, 1.0))["verdict"] == "inconclusive"  # overlapping intervals
    assert verdict(fit(0.3, 0.6), fit(0.4, 0.7))["verdict"] == "contradicted"  # 1.01 outside
    assert verdict(fit(0.5, 1.05), fit(1.1, 1.3))["verdict"] == "contradicted"  # backprop significantly faster
    assert verdict({"alpha_interval": None}, fit(0.6, 0.8))["verdict"] == "inconclusive"


def test_grover_model_gain_needs_growing_candidates():
    t = np.geomspace(10, 1000, 9)
    flat = grover_cost(t, np.full((20, 9), 4.0))
    assert abs(flat["delta"]) < 1e-9 and flat["exponent_gain"] == 1.0
    assert abs(flat["total_cost_ratio"] - 2.0) < 1e-12  # sum 4 / sum sqrt 4: a constant factor only
    growing = grover_cost(t, np.tile(t, (20, 1)))  # D = t: delta = 1 -> gain (1 + 1) / (1 + 1/2) = 4/3
    assert abs(growing["delta"] - 1.0) < 1e-9 and abs(growing["exponent_gain"] - 4 / 3) < 1e-9


def test_bad_input():
    with pytest.raises(ProblemError, match="model must be"):
        fit_exponent(T, curves(0.8, 0, 0.05), "exponential")
    with pytest.raises(ProblemError, match="shape"):
        fit_exponent(T, np.ones((3, 5)))
    with pytest.raises(ProblemError, match="at least"):
        fit_exponent(T[:4], np.ones((3, 4)), "offset")


def test_report_states_the_measured_exponents_beside_the_paper(tmp_path):
    from dragonjax.experiments.reproduce import write_report

    def fit(alpha):
        return {"alpha": alpha, "alpha_interval": [alpha - 0.2, alpha + 0.2], "epsilon_inf": 0.01,
                "epsilon_inf_interval": [0.0, 0.02], "aic": 10.0, "chi2": 6.0, "dof": 8, "decades": 1.5, "seeds": 10}

    trainer = {"learning_rate": 0.01, "preferred": "offset", "window_examples": [96, 7542], "power": fit(0.3),
               "offset": fit(0.5)}
    results = {
        "training": {"annealer": {"test_accuracy": 0.97, "train_accuracy": 0.99, "wall_seconds": 100.0},
                     "backprop": {"test_accuracy": 0.98, "train_accuracy": 1.0, "wall_seconds": 3.0}},
        "transition": {"32": {"t_star": 2.0, "sharpness": 0.3, "test_accuracy": 0.9},
                       "first_and_last": {"32": {"heads": [2.4, 0.0], "heads_beyond_lowest": [1.4, 0.0],
                                                 "null_heads_beyond_lowest": [1.0, 1.5], "m": [0.0, 1.0],
                                                 "chi_sg_per_spin": [0.1, 0.02], "null_chi_sg_per_spin": [0.01, 0.01],
                                                 "minima": [12.0, 3.0], "median_gap": [-5.0, 2.0]}},
                       "thermal_crossings": {"trained": [{"widths": [32, 64], "temperature": None, "interval": None,
                                                          "resolved": False, "transition": False}]}},
        "scaling": {"trainers": {"annealer": trainer, "backprop": {**trainer, "offset": fit(0.4)}},
                    "verdicts": {"claim_3": {"verdict": "contradicted",
                                             "reason": "the paper's alpha_annealer 1.01 lies outside our interval"}},
                    "grover_model": {"total_cost_ratio": 1.5, "delta": -0.2, "delta_interval": [-0.3, -0.1],
                                     "exponent_gain": 1.0, "anneals_per_probe": 32, "probes": 24}},
        "validation": {"pa_log_z_max_abs_z": 1.5, "pa_energy_max_abs_z": 1.9, "piqmc_energy_max_abs_z": 2.3,
                       "piqmc_sigma_x_max_abs_z": 1.2, "comparisons": 20},
        "study_seconds": 480.0,
        "fss": {"width-aware": {"t_star": 0.0, "t_star_interval": [0.0, 0.2], "inv_nu": 0.33,
                                "inv_nu_interval": [0.19, 0.5], "nu": 3.0, "quality": 2.9, "collapses": True}},
    }
    path = tmp_path / "REPORT.md"
    write_report(results, str(path))
    text = path.read_text()
    assert "offset α = 0.50 [0.30, 0.70], ε∞ = 0.010 [0.00, 0.02]; AIC prefers offset" in text
    assert "offset α = 0.40 [0.20, 0.60]" in text and "power α = 0.30 [0.10, 0.50]" in text
    assert "paper: annealer 1.01, backprop 0.78" in text and "claim 3 verdict: **contradicted**" in text
    assert "exponent gain 1.00" in text
    assert "- width-aware: t* = 0.00 [0.00, 0.20] epochs, 1/ν = 0.33 [0.19, 0.50], quality S = 2.90" in text
    assert "| 32 | 2.0 | 0.00 → 1.00 | 1.40 → 0.00 (1.00 → 1.50) | 12.0 → 3.0 |" in text
    assert "- trained: [32, 64]: none" in text
    assert "20 comparisons: largest |z| = 2.30" in text


def test_fss_study_writes_collapse_per_parametrisation(tmp_path):
    """A tiny run of the teacher-student size sequence: arrays over (size, seed, epoch), a collapse per
    parametrisation with the keys the report reads."""
    from dragonjax.experiments.fss import run_fss
    from dragonjax.experiments.results import load

    r = run_fss(str(tmp_path), {"sizes": [8, 16], "seeds": 3, "epochs": 2, "probes": 40, "resamples": 5,
                                "num_sweeps": 4, "num_reads": 4, "parametrisations": ["width-aware"],
                                "thermal_epochs": [2], "thermal_seeds": 2, "thermal_probes": 2, "thermal_sweeps": 16,
                                "thermal_temperatures": [0.3, 1.0, 3.0], "landscape_probes": 2, "anneals": 4},
                progress=False)
    th = r["thermal"]
    assert th["epochs"] == [2] and th["problems_per_size"] == 4
    assert [c["sizes"] for c in th["per_epoch"]["2"]["crossings"]] == [[8, 16]]
    assert len(th["null_control"]["curves"]["16"]["g"]) == 3 and (tmp_path / "thermal.png").exists()
    land = r["landscape"]["per_size"]["16"]["2"]
    assert {"mean_heads_beyond_lowest", "null_mean_heads_beyond_lowest", "mean_minima", "chi_sg"} <= set(land)
    fit = r["parametrisations"]["width-aware"]["collapse"]
    assert {"t_star", "nu", "inv_nu", "t_star_interval", "nu_interval", "quality"} <= set(fit)
    arrays = load(str(tmp_path / "arrays.nc"))
    m = arrays["m_width_aware"]
    assert m.dims == ("size", "seed", "epoch") and m.shape == (2, 3, 3)
    assert np.all((m.values >= 0) & (m.values <= 1))
    assert (tmp_path / "fss.png").stat().st_size > 10_000


def test_exponent_difference_tells_a_faster_trainer_from_an_equal_one():
    """Planted power laws with 5 % multiplicative noise per seed and point, 10 seeds each: alpha 1.0 vs 0.5 gives a
    difference interval containing the planted 0.5 and above 0 (supported); equal exponents give an interval
    containing 0 (inconclusive)."""
    from dragonjax.experiments.scaling import exponent_difference

    rng = np.random.default_rng(4)
    t = np.geomspace(100, 10_000, 8)
    curve = lambda alpha: 3 * t ** -alpha * (1 + 0.05 * rng.standard_normal((10, len(t))))  # noqa: E731
    faster = exponent_difference(t, curve(1.0), curve(0.5), "power", resamples=500)
    assert faster["interval"][0] <= 0.5 <= faster["interval"][1] and faster["direction"] == "supported"
    equal = exponent_difference(t, curve(0.7), curve(0.7), "power", resamples=500)
    assert equal["interval"][0] <= 0 <= equal["interval"][1] and equal["direction"] == "inconclusive"
    with pytest.raises(ProblemError, match="3 seeds"):
        exponent_difference(t, curve(1.0)[:2], curve(0.5), "power")


def test_paired_interval_matches_scipy_and_holm_controls_the_family():
    from scipy import stats

    from dragonjax.experiments.ablation import holm, paired_interval

    rng = np.random.default_rng(2)
    a = rng.normal(0.9, 0.02, 8)
    b = a - 0.01 + rng.normal(0, 0.005, 8)
    ours = paired_interval(a, b)
    theirs = stats.ttest_rel(a, b)
    ci = theirs.confidence_interval(0.95)
    assert ours["interval"] == pytest.approx([ci.low, ci.high]) and ours["p_value"] == pytest.approx(theirs.pvalue)
    assert holm([0.01, 0.04, 0.03]) == [True, False, False]  # 0.01 <= 0.05/3; 0.03 > 0.05/2 stops
    assert holm([0.001, 0.02, 0.04]) == [True, True, True]
    with pytest.raises(ProblemError, match="two pairs"):
        paired_interval(a[:1], b[:1])


def test_ablation_runs_variants_against_the_baseline(tmp_path):
    """A tiny ablation: the baseline comes first whatever the order given, every variant has its difference
    interval, and the local-field variant's beta range is the absolute one times the untrained sigma."""
    from dragonjax.experiments.ablation import run_ablation

    settings = {"hidden": [4], "epochs": 1, "seeds": 2, "num_reads": 4, "num_sweeps": 2, "spins_per_class": 1,
                "train_size": 96, "test_size": 48}
    r = run_ablation(str(tmp_path), settings, ("beta in local-field units",), progress=False)
    assert list(r["variants"]) == ["baseline", "beta in local-field units"]
    assert r["variants"]["baseline"]["vs_baseline"] is None
    local = r["variants"]["beta in local-field units"]
    assert len(local["vs_baseline"]["interval"]) == 2 and isinstance(local["vs_baseline"]["differs"], bool)
    sigma0 = r["variants"]["baseline"]["sigma_initial"]
    assert local["overrides"]["beta_range"] == pytest.approx([0.1 * sigma0, 10.0 * sigma0])
    assert (tmp_path / "ablation.png").exists()
    with pytest.raises(ProblemError, match="unknown ablation variant"):
        run_ablation(str(tmp_path / "x"), settings, ("M=2",), progress=False)
