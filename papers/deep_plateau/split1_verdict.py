"""The confirmatory run on digits' second train/test split (report section 7, "A second train/test split"): the
variant "whole, layer scales, warm-up" at 64 epochs, seeds 0-14, on split 1, judged by the rule fixed before the run
(committed in 6f35206 and clarified in 8cfc553 before any result was looked at): the >= 0.95 target is met if the
two-sided 95 % t interval of the mean final test accuracy over the 15 seeds lies above 0.95, not met if below it,
else inconclusive; median and fraction >= 0.95 descriptive; runs whose final running training accuracy is below 0.95
named. Descriptive beside it: straight-through backprop on the same split, and split 0's runs paired by seed (the
same initial weights and keys; 15 pairs, not 30 independent runs). Reads the archived runs only.

    python papers/deep_plateau/split1_verdict.py > papers/deep_plateau/split1_verdict.txt
    python papers/deep_plateau/split1_verdict.py --split 2 > papers/deep_plateau/split2_verdict.txt

(``--split 2``: the replication on a third split, fixed before it ran, compared with split 0 the same way.)
"""
import json
import pathlib
import sys

import numpy as np
from scipy import stats

papers = pathlib.Path(__file__).parent.parent
VARIANT = "whole, layer scales, warm-up"
SPLIT0 = ("deep_warmup64", "deep_warmup64_seeds5_9", "deep_warmup64_seeds10_14")


def finals(directory, variant):
    summary = json.loads((papers / directory / "results.json").read_text())
    seeds = summary["settings"]["seeds"]
    return {s: r["test_accuracy"][-1] for s, r in zip(seeds, summary["results"][variant]["per_seed"])}, summary


def train_accuracy(directory, seed):
    with np.load(papers / directory / f"state_whole_layer-scales_warm-up_seed{seed}.npz", allow_pickle=False) as f:
        return json.loads(str(f["history"]))[-1]["train_accuracy_running"]


def interval(x):
    x = np.asarray(x, np.float64)
    se = x.std(ddof=1) / np.sqrt(len(x))
    half = stats.t.ppf(0.975, len(x) - 1) * se
    return x.mean(), se, x.mean() - half, x.mean() + half


SPLIT = int(sys.argv[sys.argv.index("--split") + 1]) if "--split" in sys.argv else 1  # 2: the replication
RUN, BACKPROP = f"deep_warmup64_split{SPLIT}", f"deep_backprop64_split{SPLIT}"
split1, summary = finals(RUN, VARIANT)
assert summary["settings"]["split"] == SPLIT and summary["settings"]["epochs"] == 64
assert sorted(split1) == list(range(15)), sorted(split1)
split0 = {}
for d in SPLIT0:
    split0.update(finals(d, VARIANT)[0])
backprop1, _ = finals(BACKPROP, "straight-through backprop")
seeds = sorted(split1)
a1 = np.array([split1[s] for s in seeds])
a0 = np.array([split0[s] for s in seeds])
b1 = np.array([backprop1[s] for s in seeds])
t1 = np.array([train_accuracy(RUN, s) for s in seeds])

print(f"seed  split {SPLIT}  training (running)  split 0  backprop, split {SPLIT}")
for s, x, t, y, b in zip(seeds, a1, t1, a0, b1):
    print(f"{s:>4}  {x:.3f}    {t:.3f}               {y:.3f}    {b:.3f}")
mean, se, lo, hi = interval(a1)
verdict = "met" if lo > 0.95 else "not met" if hi < 0.95 else "inconclusive"
print(f"\nsplit {SPLIT}, 15 seeds: mean {mean:.4f} ± {se:.4f} (s.e.), 95 % t interval [{lo:.4f}, {hi:.4f}]; "
      f"median {np.median(a1):.3f}; {int((a1 >= 0.95).sum())} of 15 runs >= 0.95")
print(f"VERDICT (the rule fixed before the run): {verdict}")
low = [s for s, t in zip(seeds, t1) if t < 0.95]
print(f"runs with final running training accuracy < 0.95: {low or 'none'} (range {t1.min():.3f}-{t1.max():.3f})")
print("\ndescriptive:")
m, e, lo_b, hi_b = interval(b1)
g = a1 - b1
print(f"  straight-through backprop, split {SPLIT}: {m:.4f} ± {e:.4f}; annealer - backprop paired by seed "
      f"{g.mean():+.4f} ± {g.std(ddof=1) / np.sqrt(15):.4f} (t p = {stats.ttest_1samp(g, 0).pvalue:.3f}, "
      f"Wilcoxon p = {stats.wilcoxon(a1, b1).pvalue:.3f}; lower on {int((g < 0).sum())}, higher on "
      f"{int((g > 0).sum())}, sign test p = {stats.binomtest(int((g < 0).sum()), int((g != 0).sum())).pvalue:.2f})")
m0, e0, lo0, hi0 = interval(a0)
d = a1 - a0
print(f"  split 0, same seeds: {m0:.4f} ± {e0:.4f} [{lo0:.4f}, {hi0:.4f}]; split {SPLIT} - split 0 paired by seed "
      f"{d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(15):.4f}")
r = stats.pearsonr(a0, a1)
ci = r.confidence_interval(0.95)
rho = stats.spearmanr(a0, a1)
print(f"  per-seed correlation between the splits: Pearson {r.statistic:+.2f} (95 % CI {ci.low:+.2f} to "
      f"{ci.high:+.2f}), Spearman {rho.statistic:+.2f} (p = {rho.pvalue:.2f})")
keep = np.array(seeds) != 7
print(f"  s.d. over seeds: split {SPLIT} {a1.std(ddof=1):.4f}, split 0 {a0.std(ddof=1):.4f}, split 0 without seed 7 "
      f"{a0[keep].std(ddof=1):.4f}; Levene (median-centred) p = {stats.levene(a0, a1).pvalue:.2f}, without seed 7 "
      f"p = {stats.levene(a0[keep], a1).pvalue:.2f}")
stalled0, stalled1 = 1, len(low)  # split 0: seed 7 (training accuracy 0.895; the other 14 at 0.974-0.999)
print(f"  stalled runs: split 0 {stalled0} of 15, split {SPLIT} {stalled1} of 15; Fisher p = "
      f"{stats.fisher_exact([[stalled0, 15 - stalled0], [stalled1, 15 - stalled1]]).pvalue:.2f}; over both, "
      f"{stalled0 + stalled1} of 30 (exact 95 % CI {stats.binomtest(stalled0 + stalled1, 30).proportion_ci().low:.3f}"
      f"-{stats.binomtest(stalled0 + stalled1, 30).proportion_ci().high:.3f})")
stall = 0.857  # split 0's stalled run
print(f"  a stall at {stall} puts the mean below 0.95 once the stall rate exceeds "
      f"{(a1.mean() - 0.95) / (a1.mean() - stall):.3f}; no stall in 15 runs at a rate of 1 in 15 has probability "
      f"{(14 / 15) ** 15:.2f}")
both = (a0 + a1) / 2
mb, eb, lob, hib = interval(both)
print(f"  both splits, each seed's mean over the two (15 pairs): {mb:.4f} ± {eb:.4f} [{lob:.4f}, {hib:.4f}]; "
      f"{int((a0 >= 0.95).sum() + (a1 >= 0.95).sum())} of 30 runs >= 0.95")

if SPLIT != 1 and (papers / "deep_warmup64_split1" / "results.json").exists():
    other = finals("deep_warmup64_split1", VARIANT)[0]
    o = np.array([other[s] for s in seeds])
    d1 = a1 - o
    r1, rho1 = stats.pearsonr(o, a1), stats.spearmanr(o, a1)
    print(f"  split {SPLIT} - split 1 paired by seed {d1.mean():+.4f} ± {d1.std(ddof=1) / np.sqrt(15):.4f} "
          f"(t p = {stats.ttest_1samp(d1, 0).pvalue:.2f}); correlation Pearson {r1.statistic:+.2f} "
          f"(p = {r1.pvalue:.2f}), Spearman {rho1.statistic:+.2f} (p = {rho1.pvalue:.2f})")
    mp, ep, lop, hip = interval((a1 + o) / 2)
    print(f"  splits 1 and {SPLIT}, each seed's mean over the two (15 pairs): {mp:.4f} ± {ep:.4f} "
          f"[{lop:.4f}, {hip:.4f}]; {int((a1 >= 0.95).sum() + (o >= 0.95).sum())} of 30 runs >= 0.95")

print("\nthe same rule on every split run so far (annealer-assisted / straight-through backprop):")
for split, runs, reference in ((0, SPLIT0, ("deep_backprop64",)), (1, ("deep_warmup64_split1",),
                                                                   ("deep_backprop64_split1",)),
                               (2, ("deep_warmup64_split2",), ("deep_backprop64_split2",))):
    if not all((papers / d / "results.json").exists() for d in runs + reference):
        continue
    line = []
    for name, dirs in ((VARIANT, runs), ("straight-through backprop", reference)):
        values = {}
        for d in dirs:
            values.update(finals(d, name)[0])
        x = np.array(list(values.values()))
        m, e, lo, hi = interval(x)
        line.append(f"{m:.4f} [{lo:.4f}, {hi:.4f}] ({len(x)} seeds, "
                    f"{'met' if lo > 0.95 else 'not met' if hi < 0.95 else 'inconclusive'})")
    print(f"  split {split}: " + " / ".join(line))
