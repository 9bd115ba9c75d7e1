"""The counts fixed before the run over all 15 seeds (``stall_trajectory.py``'s docstring), read from its output: a run
*merged a pair* if at some kept epoch its worst pair's hidden-layer-2 bound is below 0.75, and it *split* it if at
epoch 64 that pair's bound is at least 0.9 (read from the {7,9} and {1,8} columns, or bounded below by the worst pair's
bound at epoch 64). Also, added after a referee noted that at epochs 1-4 every layer's bound is low: the same count
from epoch 8 on.

    python papers/deep_plateau/stall_counts.py > papers/deep_plateau/stall_counts.txt
"""
import pathlib
import re

text = (pathlib.Path(__file__).parent / "stall_trajectory_all.txt").read_text()
runs = re.split(r"^seed (\d+):", text, flags=re.M)[1:]
COLUMN = {(7, 9): 4, (1, 8): 5}  # the fixed pairs' columns in a row
for first in (1, 8):
    merged = split = 0
    print(f"kept epochs from {first} on:")
    for seed, body in zip(runs[::2], runs[1::2]):
        rows = [r.split() for r in body.splitlines() if re.match(r"\s+\d+\s+0\.", r)]
        rows = [(int(r[0]), r, re.search(r"\| (\d)(\d) \(([\d.]+)\)$", " ".join(r))) for r in rows]
        worst = [(float(m[3]), (int(m[1]), int(m[2])), epoch) for epoch, r, m in rows if epoch >= first]
        low, pair, epoch = min(worst)
        last = rows[-1]
        worst_last = (int(last[2][1]), int(last[2][2])), float(last[2][3])
        if pair in COLUMN:
            final, known = float(last[1][COLUMN[pair]]), True
        else:  # at epoch 64 no pair's bound is below the worst pair's: a lower bound, exact if it is that pair
            final, known = worst_last[1], worst_last[0] == pair or worst_last[1] >= 0.9
        was_merged = low < 0.75
        verdict = "" if not was_merged else (" -> merged, split" if final >= 0.9 else
                                             " -> merged, NOT split" if known else " -> merged, undetermined")
        merged += was_merged
        split += was_merged and final >= 0.9
        print(f"  seed {int(seed):2d}: worst pair {pair[0]}/{pair[1]} at epoch {epoch:2d}, bound {low:.3f}; "
              f"at epoch 64 {'that pair' if pair in COLUMN else 'the worst pair (a lower bound)'} {final:.3f}{verdict}")
    print(f"  merged a pair: {merged} of {len(runs) // 2}; split it by epoch 64: {split} of {merged}")
