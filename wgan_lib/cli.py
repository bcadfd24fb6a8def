"""Command line: `python -m wgan_lib {list,run,reproduce,sweep,retrain,bench,report}`.

Bad input prints one line naming the bad value and exits with status 2; a run that diverges is
stored as diverged and the command exits with status 1.
"""
import argparse
import sys
from pathlib import Path

from .cases import CASES, get_case
from .config import ConfigError, apply_assignments

DEFAULT_RUN_DIR = Path("runs")
DEFAULT_RESULTS_DIR = Path("results")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # `--jobs` is rewritten for child processes by its full name
        super().__init__(*args, **kwargs)

    def error(self, message):  # one line and status 2, like every other bad input
        raise UsageError(message)


def resolve_device(name):
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"device must be one of auto, cpu, cuda; got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but torch sees no CUDA device; use cpu or auto")
    return name


def cmd_list(args):
    keys = ("loss", "lr", "decay", "n_critic", "clip", "seed")
    print(f"{'case':<14}" + "".join(f"{k:>10}" for k in keys) + "  outcome in the post")
    for name, case in CASES.items():
        config = case.config()
        values = "".join(f"{str(getattr(config, k)):>10}" for k in keys)
        print(f"{name:<14}{values}  {case.post_outcome}")
    return 0


def _case_config(args):
    case = get_case(args.case)
    changes = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.epochs is not None:
        changes["epochs"] = args.epochs
    config = case.config(**changes)
    return apply_assignments(config, args.set or [])


def cmd_run(args):
    from .runner import train_and_store

    config = _case_config(args)
    device = resolve_device(args.device)
    results = train_and_store([config], args.out, device=device, progress=not args.quiet,
                              checkpoint_every=args.checkpoint_every)
    return _report(results)


def in_processes(args, device):
    """Run this command again as `args.jobs` processes of one thread each, process k taking the
    k-th part of a cost-balanced split (`--shard k/jobs`); only the first shows progress. On the 2-core
    machine a single-threaded process trains 1.2-1.4x more per core than one with two threads at
    its fastest, about 2x more than with passive waiting (README, Speed).
    Returns the worst exit status, or None when one process (this one) should do the work."""
    if args.jobs == 1 or args.check:
        return None
    if args.shard:
        raise ConfigError("--jobs and --shard cannot be combined (--jobs N runs shards 0/N ... N-1/N itself)")
    if device != "cpu":
        raise ConfigError(f"--jobs {args.jobs} is for the CPU; on {device} one process trains every run (use --jobs 1)")
    import os
    import subprocess

    argv, skip = [], False
    for arg in args.argv:  # the command as typed, less its --jobs
        if skip:
            skip = False
        elif arg == "--jobs":
            skip = True
        elif not arg.startswith("--jobs="):
            argv.append(arg)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    children = [subprocess.Popen([sys.executable, "-m", "wgan_lib", *argv, "--jobs", "1", "--shard", f"{k}/{args.jobs}",
                                  *(["--quiet"] if k > 0 else [])], env=env)
                for k in range(args.jobs)]
    return max(child.wait() for child in children)


def cmd_reproduce(args):
    from .runner import reproduce
    from .sweeps import parse_shard

    device = resolve_device(args.device)
    shard = parse_shard(args.shard) if args.shard else None
    status = in_processes(args, device)
    if status is not None:
        return status
    return reproduce(args.out, device=device, epochs=args.epochs, check_only=args.check, progress=not args.quiet,
                     cases=args.cases or None, checkpoint_every=args.checkpoint_every, shard=shard)


def cmd_sweep(args):
    from .sweeps import ALL_SWEEPS, parse_shard, run_sweeps

    names = args.sweeps or list(ALL_SWEEPS)
    for name in names:
        if name not in ALL_SWEEPS:
            raise ConfigError(f"unknown sweep {name!r}; allowed: {', '.join(ALL_SWEEPS)}")
    shard = parse_shard(args.shard) if args.shard else None
    device = resolve_device(args.device)
    status = in_processes(args, device)
    if status is not None:
        return status
    return run_sweeps(names, args.results, device=device, check_only=args.check, progress=not args.quiet,
                      shard=shard, epochs=args.epochs)


def cmd_retrain(args):
    from .runner import retrain, stored_runs_by_folder
    from .store import RunFileError
    from .sweeps import parse_shard

    device = resolve_device(args.device)
    shard = parse_shard(args.shard) if args.shard else None
    try:
        stored = stored_runs_by_folder(args.folders)  # before --jobs forks: a bad folder is one error line
    except RunFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    status = in_processes(args, device)
    if status is not None:
        return status
    return retrain(stored, device=device, check_only=args.check, progress=not args.quiet, shard=shard,
                   checkpoint_every=args.checkpoint_every)


def cmd_bench(args):
    from .bench import run_benchmark

    device = resolve_device(args.device)
    run_benchmark(device=device, quick=args.quick, profile=args.profile)
    return 0


def cmd_report(args):
    from .report import write_report
    from .store import RunFileError

    try:
        figure = write_report(args.results, args.readme, args.figure)
    except (RunFileError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {figure} and the results block of {args.readme}")
    return 0


def _report(results):
    status = 0
    for path, log in results:
        if log.status == "completed":
            print(f"{path}: completed")
        else:
            print(f"{path}: {log.status} at epoch {log.failed_epoch}: {log.reason}", file=sys.stderr)
            status = 1
    return status


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0; got {value}")
    return value


def _add_training_options(parser, split):
    """The options every command that trains many stored runs shares (reproduce, sweep, retrain)."""
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default auto: CUDA when present)")
    parser.add_argument("--check", action="store_true", help="only list missing, stale and damaged runs")
    parser.add_argument("--shard", metavar="K/N", help=f"only the K-th (0-based) of N parts {split}, to share the "
                        "work between N processes")
    parser.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                        help="train in N single-threaded processes (CPU; 2 on a 2-core machine is fastest)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser():
    parser = _Parser(prog="python -m wgan_lib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="print every case with its parameters").set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="train one case and store it")
    run.add_argument("case", help=f"one of: {', '.join(CASES)}")
    run.add_argument("--seed", type=_non_negative_int)
    run.add_argument("--epochs", type=_positive_int)
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    run.add_argument("--out", type=Path, default=DEFAULT_RUN_DIR, help=f"results folder (default {DEFAULT_RUN_DIR})")
    run.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    run.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="EPOCHS")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("reproduce", help="train every case and study at the post's schedule into the results folder")
    rep.add_argument("--out", type=Path, default=DEFAULT_RESULTS_DIR)
    rep.add_argument("--epochs", type=_positive_int, default=None, help="override the schedule (testing only)")
    rep.add_argument("--cases", nargs="+", metavar="NAME",
                     help="only these cases or studies (clip-sweep, no-clip-search); default: all")
    rep.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="EPOCHS")
    _add_training_options(rep, "of a split balanced by estimated cost")
    rep.set_defaults(func=cmd_reproduce)

    sweep = sub.add_parser("sweep", help="train the studies beyond the post: ten seeds of every case and the clip x "
                           "learning-rate map (results/sweeps), the critic study (results/critic)")
    sweep.add_argument("sweeps", nargs="*", metavar="NAME", help="seeds, clip-lr, critic (default: all three)")
    sweep.add_argument("--results", type=Path, default=DEFAULT_RESULTS_DIR,
                       help=f"results folder; the sweeps go to its sweeps/ (default {DEFAULT_RESULTS_DIR})")
    sweep.add_argument("--epochs", type=_positive_int, default=None, help="override the schedule (testing only)")
    _add_training_options(sweep, "of each sweep, split by estimated cost")
    sweep.set_defaults(func=cmd_sweep)

    retrain = sub.add_parser("retrain", help="train again the stale or damaged runs under FOLDERs, each from the "
                             "config in its own run.json (the probes of experiments/: results/sanity, ...)")
    retrain.add_argument("folders", nargs="+", type=Path, metavar="FOLDER", help="a folder of run folders")
    retrain.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="EPOCHS")
    _add_training_options(retrain, "of each folder's runs, split by estimated cost")
    retrain.set_defaults(func=cmd_retrain)

    bench = sub.add_parser("bench", help="measure training speed of the plain loop and the stacked trainer")
    bench.add_argument("--device", default="cpu", help="cpu or cuda")
    bench.add_argument("--quick", action="store_true", help="a few iterations only (for tests)")
    bench.add_argument("--profile", action="store_true", help="also print torch.profiler's table for E = 11")
    bench.set_defaults(func=cmd_bench)
    report = sub.add_parser("report", help="write the README's results figure and table from stored runs")
    report.add_argument("--results", type=Path, default=DEFAULT_RESULTS_DIR)
    report.add_argument("--readme", type=Path, default=Path("README.md"))
    report.add_argument("--figure", type=Path, default=Path("docs/success.png"))
    report.set_defaults(func=cmd_report)
    return parser


def main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
        args.argv = argv
        return args.func(args)
    except (UsageError, ConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint (if any) is kept and `run`/`reproduce` resume from it",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
