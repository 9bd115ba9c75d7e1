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

Data collapse (:func:`collapse`): curves y(t) of several sizes N (t e.g. a temperature or training time) are
fitted to the scaling form y = f((t - t*) N^a), a = 1/nu, by minimising the quality S(t*, a) of Houdayer and
Hartmann (Phys. Rev. B 70, 014418 (2004); Kawashima and Ito): every point i of size j at x_i = (t_i - t*) N_j^a
is compared with each other size j' whose x range brackets x_i, linearly interpolated there to Y +- dY (dY^2
propagated from its two neighbouring points as independent errors), and S = (1/N_over) sum (y_i - Y)^2 / (dy_i^2
+ dY^2) over those N_over terms (S = inf when N_over < 3; a term with dy = dY = 0 counts 0 for equal values, inf
otherwise). With honest errors and a grid fine against the curves' width, S ~ 1 at a perfect collapse -- a little
above 1 when the errors are themselves estimated from R seeds (up to (R - 1) / (R - 3)), and above 1 where linear
interpolation cannot follow the curvature. The rule (stated before looking): the data *collapse* when S <= 3,
i.e. residuals within ~sqrt(3) error bars on average. Without error bars (Bhattacharjee and Seno's residual) the
denominator is the variance of all y, S is a normalised mean square deviation with no absolute scale, and
``collapses`` is None. a <= 0 means no sharpening with size (nu reported as inf); identical curves for all sizes
give a ~ 0 with t* undetermined. 95 % intervals are bootstrap percentiles: seeds resampled within each size, or
(curves with standard errors) a parametric bootstrap y + normal * dy.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

from ..ising import ProblemError

__all__ = ["collapse", "crossing", "size_crossing"]


def crossing(temperatures: npt.ArrayLike, y_small: npt.ArrayLike,
             y_large: npt.ArrayLike) -> tuple[float, float] | tuple[None, None]:
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


def size_crossing(temperatures: npt.ArrayLike, small: tuple[dict, dict], large: tuple[dict, dict],
                  observable: str = "g") -> dict:
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


_GRID = 41  # coarse grid points per parameter
_MIN_OVERLAP = 3  # fewer (point, other size) terms than this: S = inf
_COLLAPSE_LIMIT = 3.0  # Houdayer-Hartmann S at or below this: the data collapse
_XATOL = 1e-5  # Nelder-Mead resolution, in units of the width of the bounds


def collapse(sizes: npt.ArrayLike, t: npt.ArrayLike, y: npt.ArrayLike, y_err: npt.ArrayLike | None = None, *,
             t_star_bounds: Iterable[float] | None = None, inv_nu_bounds: Iterable[float] = (-0.5, 3.0),
             resamples: int = 200, seed: int = 0) -> dict:
    """Fit y = f((t - t*) N^a), a = 1 / nu, to curves of several sizes by the quality S of the module docstring.

    ``sizes``: (S,) positive. ``t``: (T,) shared by all sizes, or (S, T). ``y``: (S, T) curves, with ``y_err``
    (S, T) their standard errors (None: unknown), or (S, R, T) R independent repetitions (seeds) per size, NaN
    for missing: the curve is their mean, its error the standard error of the mean (ddof=1, needs two
    repetitions at a point). NaN points are left out. S is minimised over t* in ``t_star_bounds`` (default: the
    range of t) and a in ``inv_nu_bounds`` on a 41 x 41 grid, then by Nelder-Mead from the three best grid
    points. ``nu`` is 1 / a, inf for a <= 0: no sharpening with size (a within 1e-4 of the width of
    ``inv_nu_bounds`` of 0 is reported as 0); ``nu_interval`` maps the a interval the same way. S does not
    depend on t* at a = 0, so where the a interval holds 0, t* and its interval mean nothing.

    95 % intervals: 2.5 / 97.5 percentiles over ``resamples`` refits (``numpy.random.default_rng(seed)``) of the
    repetitions resampled within each size, or of y + normal * y_err; None without errors or with
    ``resamples=0``; ``resamples_used`` counts the refits with finite S. Each refit runs Nelder-Mead from the
    best fit and from the fit's three grid starts: S is only piecewise smooth (kinks where points cross the
    other sizes' grid points), and refits started at the best fit alone stayed near it and gave too narrow
    intervals. Even so, with R = 10 seeds planted t* fell inside its interval in ~90 % of data sets, not 95 %
    (resampling R seeds shrinks the spread by sqrt((R - 1) / R)), and a linear-interpolation bias in a adds to
    that when the t grid is coarse against the width of the curves.

    ``collapses``: S <= 3 (None without errors). ``scaled`` and ``curve`` (per size, in the order of t; None
    where the curve is missing) are for plotting. All values are plain Python (no NaN). Raises
    :class:`~dragonjax.ising.ProblemError` for malformed input.
    """
    sizes, t, y, y_err = _collapse_input(sizes, t, y, y_err)
    t_bounds = _bounds((float(t.min()), float(t.max())) if t_star_bounds is None else t_star_bounds, "t_star")
    a_bounds = _bounds(inv_nu_bounds, "inv_nu")
    if not isinstance(resamples, (int, np.integer)) or isinstance(resamples, bool) or resamples < 0:
        raise ProblemError(f"resamples must be a non-negative integer, got {resamples!r}")
    curve, err = _mean_and_error(y) if y.ndim == 3 else (y, y_err)
    if np.any(np.sum(np.isfinite(curve) & (True if err is None else np.isfinite(err)), axis=1) < 2):
        raise ProblemError("every size needs at least two points with a defined value (and error)")
    measure = _Quality(sizes, t, curve, err)
    fit = _Fit(t_bounds, a_bounds)
    starts = fit.grid_starts(measure, 3)
    u_best, quality = fit.minimise(measure, starts)
    if not np.isfinite(quality):
        raise ProblemError(f"S is infinite on the whole grid: the sizes overlap in fewer than {_MIN_OVERLAP} "
                           "points, or zero errors meet differing values")
    t_star, inv_nu = fit.reported(u_best)
    quality, terms = measure(t_star, inv_nu)
    if not np.isfinite(quality):  # a set to 0 lost the overlap: keep the minimum as found
        t_star, inv_nu = fit.parameters(u_best)
        quality, terms = measure(t_star, inv_nu)

    draws = []
    if resamples and err is not None:
        rng = np.random.default_rng(seed)
        rows = np.arange(len(sizes))[:, None]
        for _ in range(int(resamples)):
            if y.ndim == 3:
                c_b, e_b = _mean_and_error(y[rows, rng.integers(0, y.shape[1], size=y.shape[:2])])
            else:
                c_b, e_b = y + rng.normal(size=y.shape) * y_err, y_err
            m_b = _Quality(sizes, t, c_b, e_b)
            u_b, s_b = fit.minimise(m_b, starts + [u_best])
            if np.isfinite(s_b):
                draws.append(fit.reported(u_b))
    draws = np.array(draws).reshape(-1, 2)
    t_interval = _percentiles(draws[:, 0]) if len(draws) else None
    a_interval = _percentiles(draws[:, 1]) if len(draws) else None
    x_best = (t - t_star) * sizes[:, None] ** inv_nu
    return {"t_star": t_star, "inv_nu": inv_nu, "nu": _nu(inv_nu),
            "t_star_interval": t_interval, "inv_nu_interval": a_interval,
            "nu_interval": None if a_interval is None else sorted(_nu(a) for a in a_interval),
            "quality": float(quality), "quality_measure": measure.name, "overlap_terms": terms,
            "collapses": bool(quality <= _COLLAPSE_LIMIT) if err is not None else None,
            "resamples_used": len(draws), "sizes": sizes.tolist(), "scaled": x_best.tolist(),
            "curve": [[float(v) if np.isfinite(v) else None for v in row] for row in curve]}


def _collapse_input(sizes, t, y, y_err):
    """Checked float arrays: sizes (S,), t (S, T), y (S, T) or (S, R, T), y_err (S, T) or None."""
    sizes, t, y = (np.asarray(a, np.float64) for a in (sizes, t, y))
    if sizes.ndim != 1 or len(sizes) < 2:
        raise ProblemError(f"sizes must be a 1-d sequence of at least two sizes, got shape {sizes.shape}")
    if not np.all(np.isfinite(sizes) & (sizes > 0)):
        raise ProblemError(f"sizes must be positive and finite, got {sizes.tolist()}")
    if y.ndim not in (2, 3) or y.shape[0] != len(sizes) or y.shape[-1] < 2:
        raise ProblemError(f"y must be (sizes, times) or (sizes, repetitions, times) with {len(sizes)} sizes and"
                           f" at least two times, got shape {y.shape}")
    if np.any(np.isinf(y)):
        raise ProblemError("y must be finite or NaN (missing), it holds inf")
    if t.shape not in ((y.shape[-1],), (len(sizes), y.shape[-1])):
        raise ProblemError(f"t must be ({y.shape[-1]},) or ({len(sizes)}, {y.shape[-1]}), got {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ProblemError("t must be finite")
    t = np.broadcast_to(t, (len(sizes), y.shape[-1]))
    if np.any(np.diff(np.sort(t, axis=1), axis=1) == 0):
        raise ProblemError("t repeats a value within a size")
    if y_err is not None:
        y_err = np.asarray(y_err, np.float64)
        if y.ndim == 3:
            raise ProblemError("y_err goes with (sizes, times) curves; repetitions (sizes, reps, times) give their own")
        if y_err.shape != y.shape:
            raise ProblemError(f"y_err must have the shape of y {y.shape}, got {y_err.shape}")
        if np.any(np.isinf(y_err) | (y_err < 0)):
            raise ProblemError("y_err must be non-negative and finite (or NaN for missing)")
    return sizes, t, y, y_err


def _bounds(bounds, name):
    try:
        lo, hi = (float(b) for b in bounds)
    except (TypeError, ValueError) as e:
        raise ProblemError(f"{name}_bounds must be a pair (low, high), got {bounds!r}") from e
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ProblemError(f"{name}_bounds must be finite with low < high, got {bounds!r}")
    return lo, hi


def _mean_and_error(y):
    """Mean over the repetition axis 1 of (S, R, T) with NaN missing, and its standard error (ddof=1); NaN where
    fewer than two repetitions are present."""
    present = np.isfinite(y)
    count = present.sum(axis=1)
    filled = np.where(present, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=1) / count
        sq = np.where(present, (y - mean[:, None]) ** 2, 0.0).sum(axis=1)
        sem = np.sqrt(sq / (count - 1) / count)
    ok = count >= 2
    return np.where(ok, mean, np.nan), np.where(ok, sem, np.nan)


class _Quality:
    """S(t*, a) of the module docstring for fixed curves: ``self(t_star, a) -> (S, N_over)``.

    All points are held in one array, size by size and sorted by t within a size (so also by x = (t - t*) N^a).
    Shifting size j's x by j * C, C larger than the span of all x, makes that whole array sorted, so a single
    ``searchsorted`` finds for every (point, other size) pair the bracketing points of the other size."""

    def __init__(self, sizes, t, curve, err):
        self.name = "bhattacharjee-seno" if err is None else "houdayer-hartmann"
        keep = np.isfinite(curve) & (True if err is None else np.isfinite(err))
        order = [np.argsort(t[j][keep[j]]) for j in range(len(sizes))]
        self.t = np.concatenate([t[j][keep[j]][o] for j, o in enumerate(order)])
        self.y = np.concatenate([curve[j][keep[j]][o] for j, o in enumerate(order)])
        self.var = np.zeros(self.y.size) if err is None else np.concatenate(
            [err[j][keep[j]][o] ** 2 for j, o in enumerate(order)])
        # the scale of the unknown-error measure: the variance of all y
        self.norm = float(np.var(self.y)) if err is None else None
        counts = np.array([o.size for o in order])
        self.label = np.repeat(np.arange(len(sizes)), counts)
        self.log_size = np.log(sizes)[self.label]
        start = np.concatenate([[0], np.cumsum(counts)])
        # every (point i, other size j) pair with at least two points in j to interpolate between
        point, target = np.nonzero((self.label[:, None] != np.arange(len(sizes))) & (counts >= 2))
        self.point, self.target = point, target
        self.first, self.last = start[target], start[target + 1] - 1

    def __call__(self, t_star, a):
        x = (self.t - t_star) * np.exp(a * self.log_size)
        xq = x[self.point]
        inside = (xq >= x[self.first]) & (xq <= x[self.last])
        terms = int(inside.sum())
        if terms < _MIN_OVERLAP:
            return np.inf, terms
        xq, point, target = xq[inside], self.point[inside], self.target[inside]
        shift = 2.0 * (x.max() - x.min()) + 1.0
        k = np.searchsorted(x + self.label * shift, xq + target * shift, side="right") - 1
        k = np.clip(k, self.first[inside], self.last[inside] - 1)
        w = (xq - x[k]) / (x[k + 1] - x[k])
        diff2 = (self.y[point] - (1 - w) * self.y[k] - w * self.y[k + 1]) ** 2
        if self.norm is None:
            den = self.var[point] + (1 - w) ** 2 * self.var[k] + w ** 2 * self.var[k + 1]
        else:
            den = np.full(diff2.shape, self.norm)
        # a zero denominator (errors 0, or all y equal) counts as 0 for equal values and inf otherwise
        with np.errstate(divide="ignore", invalid="ignore"):
            total = float(np.sum(np.where(den > 0, diff2 / den, np.where(diff2 > 0, np.inf, 0.0))))
        return total / terms, terms


class _Fit:
    """Minimisation of S over (t*, a) in coordinates u scaled to the unit square of the bounds."""

    def __init__(self, t_bounds, a_bounds):
        self.low = np.array([t_bounds[0], a_bounds[0]])
        self.span = np.array([t_bounds[1] - t_bounds[0], a_bounds[1] - a_bounds[0]])
        self.step = 1.0 / (_GRID - 1)

    def parameters(self, u):
        p = self.low + np.clip(u, 0.0, 1.0) * self.span
        return float(p[0]), float(p[1])

    def reported(self, u):
        """``parameters``, with a within ten times the optimiser's resolution of 0 reported as 0 (nu = inf)."""
        t_star, a = self.parameters(u)
        return t_star, 0.0 if abs(a) < 10 * _XATOL * self.span[1] else a

    def _value(self, measure, u):
        return measure(*self.parameters(u))[0]

    def grid_starts(self, measure, count):
        """The ``count`` best points of the coarse grid (finite S only)."""
        grid = np.linspace(0.0, 1.0, _GRID)
        zero = -self.low[1] / self.span[1]  # a = 0 (no sharpening) is a grid line of its own
        points = np.array([(a, b) for a in grid for b in np.union1d(grid, [zero] if 0 < zero < 1 else [])])
        values = np.array([self._value(measure, p) for p in points])
        best = np.argsort(values, kind="stable")[:count]
        return [points[i] for i in best if np.isfinite(values[i])]

    def minimise(self, measure, starts):
        """(u, S) of the best Nelder-Mead minimum from ``starts``; (None, inf) when there is none."""
        best_u, best_s = None, np.inf
        for u0 in starts:
            # initial simplex: one coarse step along each axis, towards the inside of the square
            simplex = [u0] + [u0 + np.where(np.arange(2) == i, self.step if u0[i] + self.step <= 1 else -self.step, 0)
                              for i in range(2)]
            res = minimize(lambda u: self._value(measure, u), u0, method="Nelder-Mead", bounds=[(0, 1), (0, 1)],
                           options={"initial_simplex": np.array(simplex), "xatol": _XATOL, "fatol": 1e-7})
            if res.fun < best_s:
                best_u, best_s = np.clip(res.x, 0.0, 1.0), float(res.fun)
        return best_u, best_s


def _percentiles(values):
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]


def _nu(inv_nu):
    return 1.0 / inv_nu if inv_nu > 0 else float("inf")
