"""Finite-size scaling: where curves of an observable for two system sizes cross, and whether the data can
tell (DESIGN sections 7 and 10).

Crossing rule (stated before looking): for two sizes N_small < N_large let d(T) = y_large - y_small on the
temperature grid (y a Binder cumulant g, or xi_L / L) and sigma_d(T) its bootstrap standard deviation over the
independent unit (disorder samples, probe inputs). A crossing is a change of sign of d from + (ordered side,
low T) to - (high T); when there are several, the one with the largest drop d_i - d_{i+1}. Its temperature
is linearly interpolated, its value y* is the interpolated y_small. It is *resolved* when the curves are told
apart on both sides: some grid temperature at or below it has d > 2 sigma_d and some at or above it has
d < -2 sigma_d. Curves that agree within their errors (two paramagnets near g = 0, or two systems not yet
separated) do not cross: the crossing temperature is then None, the naive sign change is kept as
``unresolved_crossing``. ``interval``: 2.5 / 97.5 % percentiles of the crossing temperature over the bootstrap
resamplings that change sign (``fraction``: their share). A crossing at y* ~ 0 is the Gaussian
(paramagnetic) fixed point, not a transition: ``transition`` is true only for a resolved crossing whose y*
interval lies above 0.
"""
from __future__ import annotations

import numpy as np

__all__ = ["crossing", "size_crossing"]


def crossing(temperatures, y_small, y_large):
    """(T*, y*) of the crossing of two curves by the rule of the module docstring (not its resolution test);
    (None, None) when d = y_large - y_small never changes sign from + to - on the grid."""
    t = np.asarray(temperatures, np.float64)
    d = np.asarray(y_large, np.float64) - np.asarray(y_small, np.float64)
    changes = np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0))
    if not changes.size:
        return None, None
    i = changes[np.argmax(d[changes] - d[changes + 1])]
    frac = d[i] / (d[i] - d[i + 1])
    y = np.asarray(y_small, np.float64)
    return float(t[i] + frac * (t[i + 1] - t[i])), float(y[i] + frac * (y[i + 1] - y[i]))


def size_crossing(temperatures, small, large, observable: str = "g") -> dict:
    """The crossing of ``observable`` (e.g. ``g`` or ``xi_over_l``) between two sizes by the module's rule.
    ``small`` and ``large`` are (statistics, bootstrap draws) of each size: dicts of arrays over temperature,
    the draws with a leading resampling axis (from :func:`~dragonjax.analysis.overlaps.bootstrap_problems`)."""
    temperatures = np.asarray(temperatures, np.float64)
    (stats_s, draws_s), (stats_l, draws_l) = small, large
    y_s, y_l = stats_s[observable], stats_l[observable]
    draws_s, draws_l = draws_s[observable], draws_l[observable]
    t_star, y_star = crossing(temperatures, y_s, y_l)
    d, sigma = y_l - y_s, np.nanstd(draws_l - draws_s, axis=0, ddof=1)
    resolved = False
    if t_star is not None:
        below, above = temperatures <= t_star, temperatures >= t_star
        resolved = bool(np.any((d > 2 * sigma)[below]) and np.any((d < -2 * sigma)[above]))
    found = [crossing(temperatures, a, b) for a, b in zip(draws_s, draws_l)]
    ts = np.array([f[0] for f in found if f[0] is not None])
    ys = np.array([f[1] for f in found if f[1] is not None])
    interval = [float(np.percentile(ts, 2.5)), float(np.percentile(ts, 97.5))] if len(ts) else None
    value_interval = [float(np.percentile(ys, 2.5)), float(np.percentile(ys, 97.5))] if len(ys) else None
    return {"observable": observable,
            "temperature": t_star if resolved else None, "interval": interval if resolved else None,
            "value": y_star if resolved else None, "value_interval": value_interval if resolved else None,
            "resolved": resolved, "unresolved_crossing": None if resolved else t_star,
            "fraction": len(ts) / len(found), "separation": (d / sigma).tolist(),
            "transition": bool(resolved and value_interval[0] > 0)}
