"""Weight decay on the hierarchy with a warm-up, 32 epochs, seeds 0-9, against the same variant without it
(report section 7, "Weight decay"). Reads the archived runs; paired by seed (same net and sampler seeds).

    python papers/deep_plateau/weight_decay_compare.py > papers/deep_plateau/weight_decay_compare.txt
"""
import json
import pathlib

import numpy as np
from scipy import stats

here = pathlib.Path(__file__).parent
papers = here.parent


def finals(path, variant):
    runs = json.loads((papers / path / "results.json").read_text())["results"][variant]["per_seed"]
    return [r["test_accuracy"][-1] for r in runs]


warm = np.array(finals("deep_warmup32", "whole, layer scales, warm-up")
                + finals("deep_warmup32_seeds5_9", "whole, layer scales, warm-up"))
decay = np.array(finals("deep_warmup_wd32", "whole, layer scales, warm-up, weight decay"))
backprop = np.array(finals("deep_warmup32", "straight-through backprop"))
n = len(decay)
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
print("seed  warm-up  + weight decay  difference")
for s, (a, b) in enumerate(zip(warm, decay)):
    print(f"{s:>4}  {a:.3f}    {b:.3f}           {b - a:+.3f}")
d = decay - warm
t = stats.ttest_rel(decay, warm)
w = stats.wilcoxon(decay, warm)
low, high = d.mean() + np.array([-1, 1]) * stats.t.ppf(0.975, n - 1) * se(d)
print(f"warm-up:            {warm.mean():.4f} +- {se(warm):.4f} (sd {warm.std(ddof=1):.4f}), min {warm.min():.3f}")
print(f"+ weight decay 0.2: {decay.mean():.4f} +- {se(decay):.4f} (sd {decay.std(ddof=1):.4f}), min {decay.min():.3f}, "
      f"seeds >= 0.95: {int((decay >= 0.95).sum())} of {n}")
print(f"paired difference:  {d.mean():+.4f} +- {se(d):.4f}, 95 % interval [{low:+.4f}, {high:+.4f}], "
      f"paired t p = {t.pvalue:.2g}, Wilcoxon p = {w.pvalue:.2g}, improved on {int((d > 0).sum())} of {n} seeds")
lo95, hi95 = decay.mean() + np.array([-1, 1]) * stats.t.ppf(0.975, n - 1) * se(decay)
print(f"weight decay mean, 95 % interval: [{lo95:.4f}, {hi95:.4f}]")
print(f"straight-through backprop, seeds 0-4 (deep_warmup32): {backprop.mean():.4f} +- {se(backprop):.4f}; "
      f"weight decay seeds 0-4 {decay[:5].mean():.4f} +- {se(decay[:5]):.4f}, Welch p = "
      f"{stats.ttest_ind(decay[:5], backprop, equal_var=False).pvalue:.2g}")
