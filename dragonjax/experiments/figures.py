"""The look of every figure of the studies, in one place.

- **One colour per system size**, the same in every panel and every figure (:func:`size_colour`: a
  colour-blind-safe hue per power of two of the number of spins N; a lattice of side L is coloured by N = L^d);
  trainers have their own fixed colours (:data:`TRAINER_COLOURS`).
- **Line styles say the state**: trained solid, untrained dashed, null control dotted (:data:`TRAINED`,
  :data:`UNTRAINED`, :data:`NULL`).
- **Journal sizes and fonts**: one column 3.4 in, two columns 7.0 in, 8 pt text (:data:`STYLE`); panels
  lettered (a), (b), ... before a short name (a left-aligned axes title, when the plot sets one); no figure titles
  -- the captions are in the report (papers/reproduction.md).
- **No fake floors on log axes**: a zero is drawn as an open triangle on the lower edge of the axes
  (:func:`log_errorbar`); zero cells of a log colour map are left white.
- PNG (300 dpi) and vector PDF (fonts embedded as TrueType) side by side.

Plot functions use :func:`figure` as ``with figure(stem, PAGE, 4.0, 2, 2) as (fig, axes): ...``. Matplotlib's
object API only (no pyplot): the caller's backend, e.g. a notebook's, is left alone.
"""
from __future__ import annotations

import contextlib
import math
import string
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.legend import Legend

__all__ = ["COLUMN", "PAGE", "STYLE", "TRAINED", "UNTRAINED", "NULL", "TRAINER_COLOURS", "size_colour", "figure",
           "key_legend", "log_errorbar", "replot"]

COLUMN = 3.4  # inches: one column of a two-column journal page
PAGE = 7.0  # inches: both columns
STYLE = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 6.5, "xtick.labelsize": 7,
         "ytick.labelsize": 7, "lines.linewidth": 1.1, "lines.markersize": 3.5, "errorbar.capsize": 1.5,
         "axes.linewidth": 0.6, "grid.linewidth": 0.4, "grid.alpha": 0.35, "legend.frameon": False,
         "legend.handlelength": 2.2, "pdf.fonttype": 42, "ps.fonttype": 42, "savefig.dpi": 300,
         "figure.dpi": 100, "axes.titlepad": 3.0}
TRAINED, UNTRAINED, NULL = "-", "--", ":"
# Okabe & Ito's colour-blind-safe palette, one hue per power of two of N (8 ... 1024)
_SIZE_HUES = {3: "#E69F00", 4: "#56B4E9", 5: "#009E73", 6: "#0072B2", 7: "#D55E00", 8: "#CC79A7", 9: "#000000",
              10: "#999999"}
TRAINER_COLOURS = {"annealer": "#D55E00", "backprop": "#0072B2", "backprop-sign": "#009E73"}


def size_colour(num_spins: int) -> str:
    """The colour of a system of ``num_spins`` spins in every figure: one hue per power of two (the nearest on a
    log scale; 8 and below share the first, 1024 and above the last)."""
    if num_spins < 1:
        raise ValueError(f"a system size is a positive number of spins, got {num_spins}")
    return _SIZE_HUES[min(max(round(math.log2(num_spins)), 3), 10)]


@contextlib.contextmanager
def figure(stem: str | None, width: float = PAGE, height: float = 3.0, nrows: int = 1, ncols: int = 1,
           letters: bool = True, **subplot_kw) -> Iterator[tuple]:
    """A figure in the journal style: yields ``(fig, axes)`` (``axes`` as ``Figure.subplots`` returns it), then
    letters the panels (a), (b), ... and writes ``stem.png`` and ``stem.pdf`` (nothing when ``stem`` is None)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, **subplot_kw)
        yield fig, axes
        panels = [ax for ax in np.ravel(axes) if ax.get_visible()]
        if letters and len(panels) > 1:
            for letter, ax in zip(string.ascii_lowercase, (ax for ax in panels if ax.axison)):
                ax.set_title(f"({letter}) {ax.get_title(loc='left')}".rstrip(), loc="left")
        if stem is not None:
            for ext in ("png", "pdf"):
                fig.savefig(f"{stem}.{ext}")


def key_legend(ax: Axes, sizes: Sequence[int | str], size_name: str, styles: Sequence[tuple[str, dict]] = (),
               num_spins: Callable[[int], int] | None = None, title: str | None = None, **legend_kw) -> Legend:
    """One legend that keys colours to sizes and line styles to quantities, instead of one entry per curve:
    ``sizes`` labelled "``size_name`` = n" in :func:`size_colour` (``num_spins(n)`` gives a size's number of spins
    when it is not n itself, e.g. L -> L^d), then black proxies for ``styles`` = [(label, Line2D keywords)]."""
    from matplotlib.lines import Line2D

    spins = num_spins or (lambda n: n)
    handles = [Line2D([], [], color=size_colour(spins(int(n))), lw=1.5, label=f"{size_name} = {n}") for n in sizes]
    handles += [Line2D([], [], label=label, **{"color": "0.25", **style}) for label, style in styles]
    return ax.legend(handles=handles, title=title, **legend_kw)


def log_errorbar(ax: Axes, x: Sequence[float], y: Sequence[float], yerr: Sequence[float] | None = None, *,
                 colour: str, fmt: str = "o-", label: str | None = None, **kw) -> None:
    """Error bars of the positive values of ``y`` on a log y-axis; each zero (or negative) value is drawn as an
    open triangle on the lower edge of the axes at its x, so that it is seen as a zero and not as a small number.
    Lines join only the positive points that are neighbours."""
    from matplotlib.transforms import blended_transform_factory

    x, y = np.asarray(x, float), np.asarray(y, float)
    err = None if yerr is None else np.asarray(yerr, float)
    positive = y > 0
    if positive.any():
        shown = np.where(positive, y, np.nan)  # NaN breaks the line at a zero instead of bridging it
        lower = None if err is None else np.minimum(err, 0.999 * np.where(positive, y, 1.0))
        ax.errorbar(x, shown, yerr=None if err is None else [np.where(positive, lower, np.nan), err], fmt=fmt,
                    color=colour, label=label, **kw)
    if (~positive).any():
        edge = blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot(x[~positive], np.full((~positive).sum(), 0.015), "v", mfc="none", color=colour, transform=edge,
                clip_on=False, label=None if positive.any() else label, ms=kw.get("ms", 3.5))


def replot(directory: str) -> list[str]:
    """Redraw the figures of a study's run directory (or of every study under a ``reproduce`` directory) from its
    ``results.json``, in the current style; returns the files written. The study is read from ``config.json``."""
    import os

    from .ablation import plot_ablation
    from .deep import plot_deep
    from .fss import plot_fss, plot_thermal_fss
    from .glass import plot_glass
    from .noise import plot_noise
    from .scaling import plot_scaling
    from .transition import plot_thermal, plot_transition
    from .validation import plot_validation

    plots = {"validation": [(plot_validation, "validation")],
             "transition": [(plot_transition, "transition"), (plot_thermal, "binder")],
             "fss": [(plot_fss, "fss"), (plot_thermal_fss, "thermal")], "scaling": [(plot_scaling, "scaling")],
             "glass": [(plot_glass, "binder")], "ablation": [(plot_ablation, "ablation")],
             "noise": [(plot_noise, "noise")], "deep": [(plot_deep, "curves")]}
    if not os.path.isdir(directory):
        raise ValueError(f"{directory} is not a directory")
    failed: list[str] = []
    written = _replot(directory, plots, failed)
    if failed:
        raise ValueError(f"redrew {len(written) // 2} figures, but could not redraw {'; '.join(failed)}")
    if not written:
        raise ValueError(f"{directory} holds no study with figures (no config.json naming one of {sorted(plots)} "
                         "beside its results.json)")
    return written


def _replot(directory: str, plots: dict, failed: list) -> list[str]:
    import json
    import os

    config_path, results_path = os.path.join(directory, "config.json"), os.path.join(directory, "results.json")
    study = None
    try:
        if os.path.exists(config_path):
            with open(config_path) as f:
                study = json.load(f).get("study")
        if study in plots and os.path.exists(results_path):
            with open(results_path) as f:
                results = json.load(f)
            written = []
            for plot, name in plots[study]:
                if name == "thermal" and study == "fss" and not results.get("thermal"):
                    continue
                stem = os.path.join(directory, name)
                plot(results, stem)
                written += [f"{stem}.png", f"{stem}.pdf"]
            return written
        subdirectories = sorted(os.listdir(directory))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
        failed.append(f"{directory} ({type(err).__name__}: {err}; a results.json of another version?)")
        return []
    return [path for sub in subdirectories if os.path.isdir(os.path.join(directory, sub))
            for path in _replot(os.path.join(directory, sub), plots, failed)]
