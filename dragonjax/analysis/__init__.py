"""Spin-glass analysis of states: overlaps and order parameters, local minima and Hydra heads. It takes
states and models; it never calls a trainer."""
from .minima import chao1, count_local_minima, heads, quench
from .overlaps import (binder_cumulant, edwards_anderson, link_overlap, overlap, overlap_distribution,
                       pair_overlaps)

__all__ = ["chao1", "count_local_minima", "heads", "quench", "binder_cumulant", "edwards_anderson",
           "link_overlap", "overlap", "overlap_distribution", "pair_overlaps"]
