"""Finite-size scaling: where curves of an observable for two system sizes cross, and whether the data can
tell (DESIGN sections 7 and 10).

Crossing rule (stated before looking): for two sizes N_small < N_large let d(T) = y_large - y_small on the
temperature grid (y a Binder cumulant g, or xi_L / L) and sigma_d(T) its bootstrap standard deviation over the
independent unit (disorder samples, probe inputs). A crossing is a change of sign of d from + (ordered side,
low T) to - (high T); when there are several, the one with the largest drop d_i - d_{i+1}. Its temperature
is linearly interpolated, its value y* is the interpolated y_small. It is *resolved* when the curves are told
apart on both sides: some grid temperature at or below it has d > 2 sigma_d and some at or above it has
d < -2 sigma_d; otherwise the crossing temperature is None and the naive sign change is kept as
``unresolved_crossing`` (its bootstrap interval as ``sign_change_interval``). ``interval``: 2.5 / 97.5 %
percentiles of the crossing temperature over the bootstrap resamplings that change sign, ``fraction`` their
share; when fraction < 0.975 the interval is conditional on a crossing (``interval_conditional``) and is not a
95 % interval.

A resolved crossing is not yet a transition. Two paramagnets cross too: for free spins in random fields the
Binder cumulant is g_N(T) = c(T) / N with c changing sign, so g_small - g_large changes sign at g* ~ 0 -- the
Gaussian fixed point -- and with enough samples that crossing is resolved. ``transition`` is therefore true
only for a resolved crossing found in >= 97.5 % of resamplings (so that its interval is a 95 % one) whose value
interval lies above 0. For xi_L / L (>= 0 by construction) that guard is void; there a paramagnet's xi_L / L
falls with L at every T, so it gives no + to - sign change in the first place. With many temperatures and pairs,
about 1-2 % of comparisons of coinciding curves are resolved by chance (2-sigma rule, correlated neighbouring
temperatures).
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
    return {"observable": observable, "sign_change_interval": interval,
            "temperature": t_star if resolved else None, "interval": interval if resolved else None,
            "value": y_star if resolved else None, "value_interval": value_interval if resolved else None,
            "resolved": resolved, "unresolved_crossing": None if resolved else t_star,
            "fraction": len(ts) / len(found), "interval_conditional": len(ts) / len(found) < 0.975,
            "separation": (d / sigma).tolist(),
            "transition": bool(resolved and len(ts) >= 0.975 * len(found) and value_interval[0] > 0)}
