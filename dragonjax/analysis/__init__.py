"""Spin-glass analysis of states: overlaps and order parameters, local minima and Hydra heads. It takes
states and models; it never calls a trainer."""
from .landscape import DEFAULT_WINDOW, chao1, count_local_minima, heads, minima_census, probe_landscape, quench
from .tts import tts99, tts99_interval, tts99_wilson
from .overlaps import (binder_cumulant, edwards_anderson, link_overlap, overlap, overlap_distribution,
                       pair_overlaps)

__all__ = ["DEFAULT_WINDOW", "chao1", "count_local_minima", "heads", "minima_census", "probe_landscape", "quench",
           "binder_cumulant", "edwards_anderson", "link_overlap", "overlap", "overlap_distribution", "pair_overlaps",
           "tts99", "tts99_interval", "tts99_wilson"]
