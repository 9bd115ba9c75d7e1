"""Weight decay (0.2 and 0.1) on the hierarchy with a warm-up, 32 epochs, seeds 0-9, against the same variant without
it (report section 7, "Weight decay"). Reads the archived runs; paired by seed (same net and sampler seeds).

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
backprop = np.array(finals("deep_warmup32", "straight-through backprop"))
se = lambda x: x.std(ddof=1) / np.sqrt(len(x))  # noqa: E731
print(f"warm-up:   {warm.mean():.4f} +- {se(warm):.4f} (sd {warm.std(ddof=1):.4f}), median {np.median(warm):.3f}, "
      f"min {warm.min():.3f}")
for w, path in ((0.2, "deep_warmup_wd32"), (0.1, "deep_warmup_wd01_32")):
    decay = np.array(finals(path, "whole, layer scales, warm-up, weight decay"))
    n = len(decay)
    print(f"\nweight decay {w} ({path})\nseed  warm-up  + decay  difference")
    for s, (a, b) in enumerate(zip(warm, decay)):
        print(f"{s:>4}  {a:.3f}    {b:.3f}   {b - a:+.3f}")
    d = decay - warm
    t = stats.ttest_rel(decay, warm)
    wil = stats.wilcoxon(decay, warm)
    low, high = d.mean() + np.array([-1, 1]) * stats.t.ppf(0.975, n - 1) * se(d)
    print(f"+ decay {w}: {decay.mean():.4f} +- {se(decay):.4f} (sd {decay.std(ddof=1):.4f}), median "
          f"{np.median(decay):.3f}, min {decay.min():.3f}, seeds >= 0.95: {int((decay >= 0.95).sum())} of {n}")
    print(f"paired difference: {d.mean():+.4f} +- {se(d):.4f}, 95 % interval [{low:+.4f}, {high:+.4f}], paired t p = "
          f"{t.pvalue:.2g}, Wilcoxon p = {wil.pvalue:.2g}, higher on {int((d > 0).sum())} of {n} seeds")
    print(f"seeds 0-4: {decay[:5].mean():.4f} +- {se(decay[:5]):.4f}, paired {d[:5].mean():+.4f} +- {se(d[:5]):.4f}; "
          f"seeds 5-9: {decay[5:].mean():.4f} +- {se(decay[5:]):.4f}; straight-through backprop, seeds 0-4: "
          f"{backprop.mean():.4f} +- {se(backprop):.4f} (Welch p = "
          f"{stats.ttest_ind(decay[:5], backprop, equal_var=False).pvalue:.2g})")
