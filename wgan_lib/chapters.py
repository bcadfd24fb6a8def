"""What the book's chapters call to get runs: stored ones when they are there, trained ones when not.

The chapters read the full-schedule runs stored in `results/` (made by `python -m wgan_lib
reproduce`). A run that is missing, damaged or stored for another config is trained on the spot,
with a progress bar, and stored, so a chapter never fails for want of a result. A stale run (made
by other training code) is used with a warning; the provenance chapter marks it and `reproduce`
retrains it.

Two environment variables serve tests and impatient readers:
- WGAN_RESULTS: the results folder (default: `results/` at the repository root);
- WGAN_BOOK_EPOCHS: train and read runs with this many epochs instead of the post's 1000.
"""
import os
import sys
from pathlib import Path

from .cases import get_case, stored_configs
from .store import load_run, load_status, run_name

RESULTS_ENV = "WGAN_RESULTS"
EPOCHS_ENV = "WGAN_BOOK_EPOCHS"
REPO_ROOT = Path(__file__).resolve().parents[1]


def results_dir():
    return Path(os.environ.get(RESULTS_ENV) or REPO_ROOT / "results")


def _schedule_changes():
    epochs = os.environ.get(EPOCHS_ENV)
    return {"epochs": int(epochs)} if epochs else {}


def _current(config, folder, with_snapshots=True):
    status, stored = load_status(folder / run_name(config))
    if status not in ("ok", "stale") or stored.config != config or (with_snapshots and stored.samples is None):
        return None
    return load_run(stored.path) if stored.stale else stored  # load_run warns about a stale run


def load_configs(configs, progress=True, folder=None, with_snapshots=True):
    """Stored runs for `configs` (in `folder`, default the results folder), training (in one
    stack) those not stored as they are now."""
    folder = results_dir() if folder is None else Path(folder)
    configs = [c.replace(**_schedule_changes()) for c in configs]
    runs = {run_name(c): _current(c, folder, with_snapshots) for c in configs}
    missing = [c for c in configs if runs[run_name(c)] is None]
    if missing:
        from .runner import train_and_store

        names = ", ".join(run_name(c) for c in missing[:5]) + (" ..." if len(missing) > 5 else "")
        print(f"not stored for the current code: {names}; training {len(missing)} run(s) "
              f"for {missing[0].epochs} epochs", file=sys.stderr)
        train_and_store(missing, folder, progress=progress, with_snapshots=with_snapshots)
        for c in missing:
            runs[run_name(c)] = load_run(folder / run_name(c))
    return [runs[run_name(c)] for c in configs]


def load_case(name):
    """The stored run of one case of the post (see `python -m wgan_lib list`)."""
    return load_configs([get_case(name).config()])[0]


def load_cases(names):
    return load_configs([get_case(n).config() for n in names])


def load_sweep(name):
    """The runs of a sweep beyond the post: 'seeds' or 'clip-lr' (see `sweeps`); metrics only."""
    from .sweeps import sweep_configs, sweeps_dir

    return load_configs(sweep_configs(name), folder=sweeps_dir(results_dir()) / name, with_snapshots=False)


def load_critic():
    """The critic study's runs with D's weights (see `critic`), trained when not stored."""
    from .critic import load_critic as load, train_critic_study
    from .store import RunFileError

    changes = _schedule_changes()
    try:
        return load(results_dir(), **changes)
    except RunFileError as err:
        print(f"{err}; training the critic study", file=sys.stderr)
        train_critic_study(results_dir(), epochs=changes.get("epochs"))
        return load(results_dir(), **changes)


def load_study(name):
    """The runs of a study: 'clip-sweep' or 'no-clip-search'."""
    return load_configs(stored_configs([name]))
