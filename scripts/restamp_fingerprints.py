"""Move stored runs from code-fingerprint scheme 1 (raw bytes of the training modules) to scheme 2
(their code without docstrings, comments, layout and config checks; see wgan_lib.store).

A run is restamped only with proof from git: the modules at the commit the run records have the
scheme-1 fingerprint it records, and the same scheme-2 fingerprint as the current code. Nothing
else in a run changes; the old fingerprint stays in its provenance.

    python scripts/restamp_fingerprints.py [RESULTS_DIR ...]     (default: results)
"""
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from wgan_lib.store import PACKAGE_DIR, RUN_JSON, TRAINING_MODULES, restamp_scheme1

REPO = PACKAGE_DIR.parent


@lru_cache(maxsize=None)
def _sources_at(commit):
    sources = {}
    for name in TRAINING_MODULES:
        out = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:wgan_lib/{name}"],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise ValueError(out.stderr.strip() or f"git show {commit}:wgan_lib/{name} failed")
        sources[name] = out.stdout
    return sources


def main(argv):
    roots = [Path(a) for a in argv] or [REPO / "results"]
    counts = {}
    for root in roots:
        for record in sorted(root.rglob(RUN_JSON)):
            folder = record.parent
            if any(part.startswith(".") for part in folder.relative_to(root).parts):
                continue  # checkpoints, locks, temporary folders
            result = restamp_scheme1(folder, lambda commit: dict(_sources_at(commit)))
            counts[result] = counts.get(result, 0) + 1
            if result.startswith("left alone"):
                print(f"{folder}: {result}")
    for result, n in sorted(counts.items()):
        print(f"{n:4d} {result}")
    return 1 if any(r.startswith("left alone") for r in counts) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
