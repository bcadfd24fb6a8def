"""Give stored runs the current code fingerprint where git proves they are current.

Runs stored before the fingerprint read the code as code (scheme 1 hashed the raw bytes of the
training modules; see wgan_lib.store) record a fingerprint the current code no longer produces. A
run is restamped only when the modules at the commit it records have the raw-bytes fingerprint it
records and the same current fingerprint as the current code. Nothing else in a run changes; the
raw-bytes fingerprint stays in its provenance (code_fingerprint_scheme1).

    python scripts/restamp_fingerprints.py [RESULTS_DIR ...]     (default: results)
"""
import ast
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from wgan_lib.store import PACKAGE_DIR, RUN_JSON, TRAINING_MODULES, code_fingerprint, restamp_fingerprint

REPO = PACKAGE_DIR.parent


def _unparse_fingerprint(sources):
    """The first form of the current scheme (commits bfb86e1 to 49d8110, never released): the same
    selection of code, written out by ast.unparse (which Python 3.12 may write differently)."""
    return code_fingerprint(sources, canonical=ast.unparse)


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
            result = restamp_fingerprint(folder, lambda commit: dict(_sources_at(commit)),
                                         (_unparse_fingerprint,))
            counts[result] = counts.get(result, 0) + 1
            if result.startswith("left alone"):
                print(f"{folder}: {result}")
    for result, n in sorted(counts.items()):
        print(f"{n:4d} {result}")
    return 1 if any(r.startswith("left alone") for r in counts) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
