import numpy as np

from dragonjax.experiments.scaling import bootstrap_exponent, fit_exponent, grover_prediction, plateau_window


def test_fit_recovers_a_known_power_law_and_ci_covers_it():
    rng = np.random.default_rng(0)
    t = np.arange(1, 21)
    alpha = 0.8
    errors = 0.5 * t[None, :] ** -alpha * np.exp(0.05 * rng.normal(size=(8, 20)))
    fit = bootstrap_exponent(errors, resamples=500)
    assert abs(fit["alpha"] - alpha) < 0.05
    assert fit["ci95"][0] < alpha < fit["ci95"][1]
    assert abs(fit_exponent(t, 2.0 * t ** -1.3, (1, 20))[0] - 1.3) < 1e-9


def test_window_rule_stops_at_the_plateau():
    e = np.array([0.5, 0.3, 0.2, 0.12, 0.08, 0.06, 0.05, 0.05, 0.05, 0.05])
    start, stop = plateau_window(e)
    assert start == 2 and stop == 6  # 0.3 -> 0.05: 90% of the drop reached at 0.075 -> epoch 6
    assert plateau_window(np.array([0.5, 0.4, 0.3]), min_points=4) == (2, 3)


def test_grover_model_doubles_the_exponent_when_search_cost_grows_like_effort():
    t = np.arange(1, 31)
    wrong = np.tile(t - 1.0, (3, 1))  # D(t) = t: classical cumulative cost ~ t^2 /2, Grover ~ t^1.5
    errors = np.tile(t ** -1.0, (3, 1))
    g = grover_prediction(errors, wrong)
    assert 1.2 < g["predicted_gain"] < 1.45  # (t^-1 vs t^2 -> 1/2; vs t^1.5 -> 2/3): gain 4/3


def test_report_states_the_measured_exponents_beside_the_paper(tmp_path):
    from dragonjax.experiments.reproduce import write_report

    fit = {"alpha": 0.5, "ci95": [0.3, 0.7], "window_epochs": [2, 8]}
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
        "scaling": {"annealer": fit, "backprop": {**fit, "alpha": 0.4}, "verdict": "the intervals overlap",
                    "grover_model": {"alpha_classical_cost": 0.6, "alpha_grover_cost": 0.5, "predicted_gain": 0.83}},
        "validation": {"pa_log_z_max_abs_z": 1.5, "pa_energy_max_abs_z": 1.9, "piqmc_energy_max_abs_z": 2.3,
                       "piqmc_sigma_x_max_abs_z": 1.2, "comparisons": 20},
        "study_seconds": 480.0,
    }
    path = tmp_path / "REPORT.md"
    write_report(results, str(path))
    text = path.read_text()
    assert "α = 0.500, 95% CI [0.300, 0.700]" in text and "α = 0.400" in text
    assert "paper: annealer 1.01, backprop 0.78" in text and "the intervals overlap" in text
    assert "| 32 | 2.0 | 0.00 → 1.00 | 1.40 → 0.00 (1.00 → 1.50) | 12.0 → 3.0 |" in text
    assert "- trained: [32, 64]: none" in text
    assert "20 comparisons: largest |z| = 2.30" in text
