"""Statistical helpers for tests against exact distributions."""
import numpy as np
from scipy import stats


def chi_square_pvalue(observed_counts, expected_probabilities, min_expected=5.0):
    """Pearson chi-square p-value after merging the least likely outcomes until every bin expects at
    least ``min_expected`` counts."""
    observed = np.asarray(observed_counts, float)
    p = np.asarray(expected_probabilities, float)
    total = observed.sum()
    order = np.argsort(p)
    bins_obs, bins_exp, acc_o, acc_e = [], [], 0.0, 0.0
    for k in order:
        acc_o += observed[k]
        acc_e += p[k] * total
        if acc_e >= min_expected:
            bins_obs.append(acc_o)
            bins_exp.append(acc_e)
            acc_o = acc_e = 0.0
    if acc_e > 0:
        bins_obs[-1] += acc_o
        bins_exp[-1] += acc_e
    bins_obs, bins_exp = np.array(bins_obs), np.array(bins_exp)
    statistic = np.sum((bins_obs - bins_exp) ** 2 / bins_exp)
    return float(stats.chi2.sf(statistic, len(bins_obs) - 1))


def state_index(spins):
    """Index of +-1 states with bit i = spin i (the order of dragonjax.exact.index_to_spins)."""
    spins = np.asarray(spins)
    return ((spins > 0).astype(np.int64) << np.arange(spins.shape[-1])).sum(-1)
