"""Prove that new training code computes what the old code did, then give the stored runs its fingerprint.

A change to the training modules changes the code fingerprint, and every stored run becomes
stale. When the change is a refactoring that should change no number, train the same stacks with
the old code and with the new one, on the same machine, into OLD and NEW (one sub-folder per run
set, as under results/: `python tools/proof_stack.py TREE OLD NAME:K`, with TREE a checkout of the
old commit, then the same with one of the new), and run

    python tools/restamp.py --old OLD --new NEW --old-commit C1 --new-commit C2 results

It compares every run of NEW with the run of the same name in OLD, bit for bit (configs, per-epoch
curves, metrics, snapshot arrays and D's weights; `compare_runs.compare`). Only when every one is
identical does it restamp every stored run under `results` that is stale by its code fingerprint
alone (`store.restamp`), appending the proof to results/restamps.json and naming its entry in each
run's provenance. Exit status 0 when it restamped (or nothing was stale), 1 when a run differed.

The old code must be trained on the same machine as the new: torch's CPU kernels and its BLAS
round differently on CPUs with other vector instructions, so runs stored on another machine are
not a reference for bits (the book's chapter "Reproducing" shows such a difference).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_runs import compare  # noqa: E402

from wgan_lib.store import RUN_JSON, load_run, load_status, restamp  # noqa: E402

RECORD = "restamps.json"


def load_with_weights(path, warn_stale=True):
    """`load_run`, and for a run stored by the code that kept D's weights beside snapshots.npz (in
    d_weights.npz, array `flat`) those weights, so that the comparison covers them too."""
    run = load_run(path, warn_stale)
    legacy = Path(path) / "d_weights.npz"
    if run.d_weights is None and legacy.is_file():
        with np.load(legacy, allow_pickle=False) as f:
            run.d_weights = f["flat"]
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True)
    parser.add_argument("--old-commit", required=True)
    parser.add_argument("--new-commit", required=True)
    parser.add_argument("--note", default="", help="how the compared runs were made (for example, cut to N epochs)")
    parser.add_argument("results", type=Path)
    args = parser.parse_args(argv)

    compared, identical, lines = [], 0, []
    for folder in sorted(p for p in args.new.iterdir() if p.is_dir()):
        same, _ = compare(args.old / folder.name, folder, out=lambda line, f=folder.name: lines.append(f"{f}/{line}"),
                          load=load_with_weights)
        identical += same
        compared += [f"{folder.name}/{p.name}" for p in sorted(folder.iterdir()) if (p / RUN_JSON).exists()
                     and (args.old / folder.name / p.name).is_dir()]
    print("\n".join(lines))
    print(f"{identical} of {len(compared)} runs identical")
    if not compared or identical != len(compared):
        print("not restamping: the new code does not compute what the old code did", file=sys.stderr)
        return 1

    record_path = args.results / RECORD
    record = json.loads(record_path.read_text()) if record_path.exists() else []
    entry = {"old_commit": args.old_commit, "new_commit": args.new_commit, "note": args.note,
             "compared": compared, "identical": identical}
    # The same proof, applied again to runs stored since (say, a run set that finished training
    # later), keeps its one entry.
    same = [i for i, e in enumerate(record) if {k: e.get(k) for k in entry} == entry]
    if not same:
        record.append({**entry, "date": time.strftime("%Y-%m-%d")})
    index = same[0] if same else len(record) - 1
    proof = (f"{RECORD}[{index}]: {identical} runs trained by the old code ({args.old_commit[:8]}) and "
             f"by the new ({args.new_commit[:8]}) on one machine were identical bit for bit"
             + (f" ({args.note})" if args.note else ""))
    counts = {}
    for run_json in sorted(args.results.rglob(RUN_JSON)):
        folder = run_json.parent
        if any(part.startswith(".") for part in folder.relative_to(args.results).parts):
            continue
        status, run = load_status(folder)
        if status == "stale" and run.config_fingerprint == run.config.fingerprint():
            result = restamp(folder, proof)
        else:
            result = f"left alone ({status})"
        counts[result] = counts.get(result, 0) + 1
    record_path.write_text(json.dumps(record, indent=1) + "\n")
    for result, n in sorted(counts.items()):
        print(f"{n:4d} {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
