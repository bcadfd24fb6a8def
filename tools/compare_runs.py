"""Compare the stored runs of two results folders bit for bit.

For every run folder of FIRST that SECOND also holds: are the configs, the per-epoch curves, the
metrics and the snapshot arrays (D's weights included) identical? When not, which parts differ and
the first epoch at which the discriminator's loss does. Provenance (commit, wall time, device) is
not compared. Exit status 0 when every common run is identical, 1 otherwise.

    python tools/compare_runs.py results/cases /tmp/rerun/cases
"""
import sys
from pathlib import Path

import numpy as np

from wgan_lib.store import RunFileError, load_run

CURVES = ("d_loss", "g_loss", "d_min", "d_max")


def differences(a, b):
    """Names of the parts in which stored runs a and b differ (empty when identical)."""
    parts = []
    if a.config != b.config:
        parts.append("config")
    if a.status != b.status or a.failed_epoch != b.failed_epoch:
        parts.append("status")
    parts += [f"curve {k}" for k in CURVES if not np.array_equal(a.epoch_logs[k], b.epoch_logs[k])]
    if a.metrics != b.metrics:
        parts.append("metrics")
    for key in ("snapshot_epochs", "samples", "d_grid", "d_weights"):
        x, y = getattr(a, key), getattr(b, key)
        if (x is None) != (y is None) or (x is not None and not np.array_equal(x, y)):
            parts.append(key)
    return parts


def first_differing_epoch(a, b):
    x, y = np.asarray(a.epoch_logs["d_loss"]), np.asarray(b.epoch_logs["d_loss"])
    n = min(len(x), len(y))
    unequal = np.flatnonzero(x[:n] != y[:n])
    return int(unequal[0]) if len(unequal) else None


def compare(first, second, out=print, load=load_run):
    """Compare the common run folders of two folders (each read by `load`); returns (identical,
    compared) counts."""
    first, second = Path(first), Path(second)
    names = sorted(p.name for p in first.iterdir() if (p / "run.json").exists() and (second / p.name).is_dir())
    identical = 0
    for name in names:
        try:
            a, b = load(first / name, warn_stale=False), load(second / name, warn_stale=False)
        except RunFileError as err:
            out(f"{name}: cannot compare: {err}")
            continue
        parts = differences(a, b)
        if not parts:
            identical += 1
            out(f"{name}: identical")
        else:
            epoch = first_differing_epoch(a, b)
            where = "" if epoch is None else f"; discriminator loss first differs at epoch {epoch}"
            out(f"{name}: differs in {', '.join(parts)}{where}")
    return identical, len(names)


def main(first, second):
    identical, compared = compare(first, second)
    if not compared:
        print(f"no run folder is in both {first} and {second}")
        return 1
    print(f"{identical} of {compared} runs identical")
    return 0 if identical == compared else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
