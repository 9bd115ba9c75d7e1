"""The accuracy curves of report section 7 (papers/deep_curves/curves.png, .pdf): every deep-net variant's test accuracy
per epoch, each seed thin, the mean over seeds bold with ± one s.e. Reads the committed results only:

    python papers/deep_curves/curves.py

(a) digits, the seven variants at 16 epochs (papers/deep, seeds 0-4); (b) the teacher-student task with a 2-unit
teacher and 2400 training examples (papers/deep_teacher_student_h2 and _h2_strong, seeds 0-2; not digits, so no
target lines); (c) the whole network with layer scales and the warm-up at 64 epochs on digits' split 0 (seeds 0-14,
run in three directories) with straight-through backprop (seeds 0-9); (d) the same on split 1, the confirmatory run
(seeds 0-14; backprop seeds 0-14); (e) on split 2, its replication (the same seeds). Panels (c)-(e) show accuracies
from 0.8 up (earlier epochs lie below). Bands are ± one s.e. over seeds, not the 95 % interval of the verdicts
(± 2.1 s.e. with 15 seeds, ± 4.3 with 3).
"""
import json
import os

from dragonjax.experiments.deep import plot_deep, pool_seeds

HERE = os.path.dirname(os.path.abspath(__file__))
PAPERS = os.path.dirname(HERE)


def load(name):
    with open(os.path.join(PAPERS, name, "results.json")) as f:
        return json.load(f)


panels = [load("deep"), [load("deep_teacher_student_h2"), load("deep_teacher_student_h2_strong")],
          [pool_seeds(*(load(d) for d in ("deep_warmup64", "deep_warmup64_seeds5_9", "deep_warmup64_seeds10_14"))),
           load("deep_backprop64")]]
titles = ["digits: seven variants", "teacher-student (2-unit teacher)", "digits, split 0: whole, 64 epochs"]
if all(os.path.exists(os.path.join(PAPERS, d, "results.json")) for d in ("deep_warmup64_split1",
                                                                          "deep_backprop64_split1")):
    panels.append([load("deep_warmup64_split1"), load("deep_backprop64_split1")])
    titles.append("digits, split 1 (confirmatory): whole, 64 epochs")
if all(os.path.exists(os.path.join(PAPERS, d, "results.json")) for d in ("deep_warmup64_split2",
                                                                          "deep_backprop64_split2")):
    panels.append([load("deep_warmup64_split2"), load("deep_backprop64_split2")])
    titles.append("digits, split 2 (replication): whole, 64 epochs")
# (c) and (d) from 0.8: the margin to 0.95 is a few test images
ylims = [(0, 1), (0, 1), (0.8, 1), (0.8, 1), (0.8, 1)][:len(panels)]
plot_deep(panels, os.path.join(HERE, "curves"), titles, ncols=2, ylims=ylims)
print(os.path.join(HERE, "curves.png"))
