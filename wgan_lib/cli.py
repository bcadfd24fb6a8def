"""Command line: `python -m wgan_lib {list,run,reproduce,export,report,bench}`.

Bad input prints one line naming the bad value and exits with status 2; a run that diverges is
stored as diverged and the command exits with status 1.
"""
import argparse
import sys
from pathlib import Path

from .cases import CASES, get_case
from .config import ConfigError, apply_assignments

DEFAULT_RUN_DIR = Path("runs")


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
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
    from .runsets import RUN_SETS

    keys = ("loss", "lr", "decay", "n_critic", "clip", "seed")
    print(f"{'case':<14}" + "".join(f"{k:>10}" for k in keys) + "  outcome in the post")
    for name, case in CASES.items():
        config = case.config()
        values = "".join(f"{str(getattr(config, k)):>10}" for k in keys)
        print(f"{name:<14}{values}  {case.post_outcome}")
    print(f"\n{'run set':<14}{'runs':>6}{'stacks':>8}  what")
    for name, run_set in RUN_SETS.items():
        print(f"{name:<14}{len(run_set.configs):>6}{len(run_set.stack_indices()):>8}  {run_set.description}")
    return 0


def cmd_run(args):
    from .runner import train_and_store

    changes = {k: v for k, v in (("seed", args.seed), ("epochs", args.epochs)) if v is not None}
    config = apply_assignments(get_case(args.case).config(**changes), args.set or [])
    results = train_and_store([config], args.out, device=resolve_device(args.device), progress=not args.quiet,
                              checkpoint_every=args.checkpoint_every)
    status = 0
    for path, run_status, epoch, reason in results:
        if run_status == "completed":
            print(f"{path}: completed")
        else:
            print(f"{path}: {run_status} at epoch {epoch}: {reason}", file=sys.stderr)
            status = 1
    return status


def parse_shard(text):
    """'K/N' -> (K, N) with 0 <= K < N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ConfigError(f"shard must look like K/N (for example 0/2); got {text!r}") from None
    if not (n >= 1 and 0 <= k < n):
        raise ConfigError(f"shard K/N needs N >= 1 and 0 <= K < N; got {text!r}")
    return k, n


def cmd_reproduce(args):
    from .runner import reproduce
    from .runsets import RUN_SETS, get_run_set

    names = args.sets or list(RUN_SETS)
    for name in names:
        get_run_set(name)
    if args.scheduler and args.jobs != 1:
        raise ConfigError("--jobs is for local processes; with --scheduler the cluster's workers train the stacks")
    device = resolve_device(args.device)
    if device != "cpu" and (args.jobs != 1 or args.scheduler):
        raise ConfigError(f"--jobs and --scheduler are for the CPU; on {device} one process trains every stack")
    shard = parse_shard(args.shard) if args.shard else None
    return reproduce(names, args.results, check=args.check, jobs=args.jobs, shard=shard, scheduler=args.scheduler,
                     device=device, epochs=args.epochs, progress=not args.quiet,
                     checkpoint_every=args.checkpoint_every, only=args.only)


def cmd_export(args):
    from .export import write_csv

    path, n_rows, n_runs = write_csv(args.out, args.results)
    print(f"wrote {n_rows} rows ({n_runs} runs) to {path}")
    return 0


def cmd_bench(args):
    from .bench import run_benchmark

    run_benchmark(device=resolve_device(args.device), quick=args.quick, profile=args.profile)
    return 0


def cmd_report(args):
    from .report import write_report

    try:
        figure = write_report(args.results, args.readme, args.figure)
    except ValueError as err:  # no results block in the README (a missing run is a RunFileError)
        raise UsageError(str(err)) from None
    print(f"wrote {figure} and the results block of {args.readme}")
    return 0


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


def build_parser():
    parser = _Parser(prog="python -m wgan_lib", description=__doc__.splitlines()[0], allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="print every case and every run set").set_defaults(func=cmd_list)

    run = sub.add_parser("run", help="train one case (or a variant of it) and store it")
    run.add_argument("case", help=f"one of: {', '.join(CASES)}")
    run.add_argument("--seed", type=_non_negative_int)
    run.add_argument("--epochs", type=_positive_int)
    run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
    run.add_argument("--out", type=Path, default=DEFAULT_RUN_DIR, help=f"results folder (default {DEFAULT_RUN_DIR})")
    run.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    run.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="EPOCHS")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser("reproduce", help="train (or --check) the named run sets into the results folder",
                         allow_abbrev=False)  # not inherited from the main parser
    rep.add_argument("sets", nargs="*", metavar="NAME", help="run sets (see `list`; default: all)")
    rep.add_argument("--check", action="store_true", help="only list missing, stale and damaged runs")
    rep.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                     help="train N stacks at once in N single-threaded local processes")
    rep.add_argument("--scheduler", metavar="ADDRESS", help="train the stacks on the Dask cluster at ADDRESS "
                     "(for example tcp://127.0.0.1:8786); its workers (one thread each: dask worker --nthreads 1) "
                     "need this package and the results folder at the same path (docs/cluster.md)")
    rep.add_argument("--only", nargs="+", metavar="RUN", help="only these runs (run names such as success-seed0, "
                     "or case names such as success): each is checked, and trained with the other runs of its "
                     "stack (a run's bits depend on its stack)")
    rep.add_argument("--shard", metavar="K/N", help="only the K-th (0-based) of N shares of the stacks to train")
    rep.add_argument("--results", type=Path, default=None, help="results folder (default: results/ of the "
                     "repository, or $WGAN_RESULTS)")
    rep.add_argument("--epochs", type=_positive_int, default=None, help="cut every schedule (quick looks, tests)")
    rep.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    rep.add_argument("--checkpoint-every", type=_positive_int, default=None, metavar="EPOCHS")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.set_defaults(func=cmd_reproduce)

    export = sub.add_parser("export", help="write every stored run's metrics as one tidy CSV")
    export.add_argument("--results", type=Path, default=None)
    export.add_argument("--out", type=Path, default=Path("runs.csv"))
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", help="write the README's results figure and table from stored runs")
    report.add_argument("--results", type=Path, default=None)
    report.add_argument("--readme", type=Path, default=Path("README.md"))
    report.add_argument("--figure", type=Path, default=Path("docs/findings.png"))
    report.set_defaults(func=cmd_report)

    bench = sub.add_parser("bench", help="measure the stacked trainer's speed")
    bench.add_argument("--device", default="cpu", help="cpu or cuda")
    bench.add_argument("--quick", action="store_true", help="a few iterations only (for tests)")
    bench.add_argument("--profile", action="store_true", help="also print torch.profiler's table")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv=None):
    from .store import RunFileError

    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
        return args.func(args)
    except (UsageError, ConfigError, RunFileError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; each stack's last checkpoint is kept and the same command resumes from it",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
