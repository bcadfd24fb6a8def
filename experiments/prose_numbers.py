"""Print the numbers that the README and the book's prose quote from stored runs, so that after a
regeneration the prose can be checked against the runs (the tables and most chapter sentences are
computed when the book builds; these are the ones written by hand).

    python experiments/prose_numbers.py [results]

Sections: the clip x learning-rate map (README's bullet, clip_lr_map.md's closing paragraph), the
critic study (README's bullet), the network-size probe and the sanity probe (README's paragraph
after the results table, intro.md). Each run's wall time and stack size come from its provenance.
"""
import sys
import warnings
from pathlib import Path

import numpy as np

from wgan_lib.critic import load_critic
from wgan_lib.store import load_run
from wgan_lib.sweeps import cell_of, load_sweep, summarise

results = Path(sys.argv[1] if len(sys.argv) > 1 else "results")
warnings.simplefilter("ignore")  # stale runs are flagged below instead


def fmt(m):
    return f"{m['modes']:>2} modes {100 * m['hq_fraction']:5.1f} % HQ W1 {m['w1']:.2f}"


print("== clip x lr map: mean modes / mean HQ % over each cell's seeds")
summary = summarise(load_sweep("clip-lr", results), cell_of)
lrs = sorted({lr for _, lr in summary})
clips = list(dict.fromkeys(clip for clip, _ in summary))
print("clip     " + "".join(f"{f'lr {lr:g}':>20}" for lr in lrs))
for clip in clips:
    cells = [summary[(clip, lr)] for lr in lrs]
    print(f"{clip:<9}" + "".join(f"{row['modes']:>9.1f} / {100 * row['hq_fraction']:5.1f} %  " for row in cells))
print("successes:", sum(round(row["success_rate"] * row["n"]) for row in summary.values()), "of",
      sum(row["n"] for row in summary.values()))

print("\n== critic study, last snapshot")
for run in load_critic(results):
    norms = run.gradient_norm(-1)[1]
    at = run.fraction_at_clip(-1)
    clip = "" if np.isnan(at) else (f"at +-c {100 * at:.1f} %, within 10 % of c {100 * run.fraction_at_clip(-1, 0.1):.1f} % "
                                    f"(first snapshot {100 * run.fraction_at_clip(0):.0f} %); ")
    print(f"{run.name:<12} epoch {int(run.snapshot_epochs[-1])}: {clip}median |grad_x D| {np.median(norms):.3g}")


def probe(folder):
    print(f"\n== {folder}")
    for path in sorted(p for p in (results / folder).iterdir() if not p.name.startswith(".")):
        run = load_run(path, warn_stale=False)
        m = run.metrics
        hq = [100 * s["hq_fraction"] for s in m]
        later = [s for s in m if s["epoch"] > 0]
        print(f"{path.name}{' (STALE)' if run.stale else ''}: {run.status}; "
              f"{run.provenance.get('wall_time_s', float('nan')):.0f} s in a stack of {run.provenance.get('stack_size')}")
        print(f"    epoch 0: {fmt(m[0])};  epoch {m[-1]['epoch']}: {fmt(m[-1])}")
        if later:
            print(f"    after epoch 0: HQ {min(hq[1:]):.1f}-{max(hq[1:]):.1f} %, modes "
                  f"{min(s['modes'] for s in later)}-{max(s['modes'] for s in later)}; "
                  f"median HQ {np.median(hq[1:]):.1f} %; W1 at each snapshot "
                  + " ".join(f"{s['w1']:.1f}" for s in m[:8]) + (" ..." if len(m) > 8 else ""))
        if len(m) > 8:
            print("    last snapshots: " + ", ".join(f"epoch {s['epoch']} {s['modes']} modes {100 * s['hq_fraction']:.1f} %"
                                                  for s in m[-5:]))


probe("network-size")
probe("sanity")
