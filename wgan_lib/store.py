"""Stored runs: one folder per run with `run.json` (config, status, metrics, curves, provenance) and,
unless the run records metrics only, `snapshots.npz` (G's samples and D on the plotting grid at
each snapshot, and D's weights where they were recorded).

Writing is atomic (a temporary folder renamed into place) and run.json records the sha256 of the
arrays, so a reader never sees half a run and a damaged one is reported, not used. Loading never
unpickles. Each run records a fingerprint of its config and of the code that trains it
(`code_fingerprint`); a run whose fingerprint differs from the current code's is stale, and
loading it warns. After a change to the training code that is proven not to change any number
(runs retrained by the new code equal the stored ones bit for bit), `restamp` gives the stored
runs the new fingerprint and records the proof in their provenance.

The record's fields are documented for readers without this package in the book's chapter
"Reproducing".
"""
import ast
import functools
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .config import Config, ConfigError

FORMAT_VERSION = 1
RUN_JSON = "run.json"
SNAPSHOTS_NPZ = "snapshots.npz"
PACKAGE_DIR = Path(__file__).resolve().parent
# The modules whose code decides what a run computes ...
TRAINING_MODULES = ("config.py", "data.py", "kernels.py", "losses.py", "metrics.py", "models.py", "optim.py",
                    "train.py")
# ... less the top-level definitions in them that cannot change a number a run stores. Validation
# only accepts or rejects a frozen config and returns it unchanged, parsing only builds one, and
# every field of a config is in the run's config fingerprint; so fixing a message or a check
# there leaves every stored run current.
NOT_COMPUTING = {
    "config.py": frozenset({"ConfigError", "_is_number", "_is_int", "_finite", "_shown", "_require",
                            "_positive", "_int_at_least", "validate", "_FIELDS", "_OPTIONAL_FLOATS",
                            "_NONE_WORDS", "parse_value", "parse_assignment", "apply_assignments"}),
}
# In losses.py, a run's fingerprint covers its own loss class and none of the others'.
LOSS_MODULE = "losses.py"


class RunFileError(ValueError):
    """A stored run is missing, truncated, altered or not a run at all."""


class StaleRunWarning(UserWarning):
    """A stored run was made by other training code than the current one."""


def _defined_names(node):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {t.id for t in targets if isinstance(t, ast.Name)} or {None}
    return {None}


def _loss_name(node):
    """The `name` a top-level class of losses.py registers under, or None for anything else."""
    if not (isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "Loss" for b in node.bases)):
        return None
    for item in node.body:
        if (isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "name" for t in item.targets)
                and isinstance(item.value, ast.Constant)):
            return item.value.value
    return None


def _without_docstrings(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def computing_source(name, source, loss=None):
    """The part of module `name`'s source that the code fingerprint covers, in a canonical form: its
    syntax tree (no comments, no layout) without docstrings, without the definitions that
    NOT_COMPUTING lists and, for losses.py with `loss` given, without the other losses' classes."""
    tree = _without_docstrings(ast.parse(source))
    skipped = NOT_COMPUTING.get(name, frozenset())
    tree.body = [node for node in tree.body if not _defined_names(node) <= skipped]
    if name == LOSS_MODULE and loss is not None:
        tree.body = [node for node in tree.body if _loss_name(node) in (None, loss)]
    return _canonical(tree)


def _canonical(node):
    """Node type and fields, recursively, leaving out empty fields. Not `ast.unparse` or `ast.dump`:
    a later Python may quote f-strings differently in unparse, and its syntax tree has fields
    that 3.11's lacks (`type_params`, always empty here)."""
    if isinstance(node, ast.AST):
        fields = [f"{name}={_canonical(value)}" for name, value in ast.iter_fields(node)
                  if value is not None and value != []]
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return "[" + ",".join(_canonical(item) for item in node) + "]"
    return repr(node)


def code_fingerprint(loss=None, sources=None):
    """sha256 over the code that decides what a run with loss `loss` computes (see
    `computing_source`; `loss` None: every loss). An edit to a docstring, a comment, the layout, a
    config check or another loss leaves it unchanged; any other edit to a training module changes
    it. `sources` maps module names to source text (default: this package's files)."""
    if sources is None:
        sources = {name: (PACKAGE_DIR / name).read_text() for name in TRAINING_MODULES}
    return _fingerprint(tuple(sources[name] for name in TRAINING_MODULES), loss)


@functools.lru_cache(maxsize=32)
def _fingerprint(texts, loss):  # parsing costs ~30 ms, and every load_run asks
    digest = hashlib.sha256()
    for name, source in zip(TRAINING_MODULES, texts):
        digest.update(name.encode() + b"\0" + computing_source(name, source, loss).encode() + b"\0")
    return digest.hexdigest()


def run_name(config):
    """`case-seedS` for a case of the post as registered (or any other run); with a short config
    fingerprint appended when the config differs from the registered case (other epochs, a --set),
    so a variant never overwrites the canonical run."""
    from .cases import CASES

    case = config.case
    if case in (".", "..") or case.startswith(".") or any(ch in case for ch in '/\\\0') or not case.isprintable():
        # The name becomes a folder: a case like '../x' would write outside the results folder,
        # and a leading dot is reserved for `save_run`'s temporary folders.
        raise ConfigError(f"case {case!r} cannot name a run folder: no '/', '\\', leading '.' or "
                          "unprintable characters")
    name = f"{case}-seed{config.seed}"
    if config.case in CASES and config != CASES[config.case].config(seed=config.seed):
        name += f"-{config.fingerprint()[:8]}"
    return name


def _git_commit():
    """HEAD, with '-dirty' when a module that decides what a run computes differs from it. Where the
    package is not in a git checkout (a copy of the tree sent to another machine), the commit the
    sender names in WGAN_GIT_COMMIT, marked '-declared'; else None."""
    declared = os.environ.get("WGAN_GIT_COMMIT")
    try:
        out = subprocess.run(["git", "-C", str(PACKAGE_DIR), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(PACKAGE_DIR), "status", "--porcelain", "--",
                                *[str(PACKAGE_DIR / name) for name in TRAINING_MODULES]],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        out = None
    if out is None or out.returncode != 0:
        return f"{declared}-declared" if declared else None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def provenance(device, wall_time_s, stack):
    """Where, when and with what a stack of runs was made; `stack` is the names of its runs."""
    import sklearn
    import torch

    from . import kernels

    try:
        import ot
        pot_version = ot.__version__
    except ImportError:
        pot_version = None
    device_name = str(device)
    if str(device).startswith("cuda") and torch.cuda.is_available():
        device_name += f" ({torch.cuda.get_device_name(torch.device(device))})"
    else:
        device_name += f" ({_cpu_model()}, {torch.get_num_threads()} threads)"
    return {
        "git_commit": _git_commit(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scikit_learn": sklearn.__version__,
        "pot": pot_version,
        "platform": platform.platform(),
        "device": device_name,
        "wall_time_s": round(float(wall_time_s), 3),
        "stack_size": len(stack),
        "stack": list(stack),
        # the same numbers either way (kernels.py); the wall time depends on it
        "kernels": kernels.backend() if not str(device).startswith("cuda") else "torch",
        # The vector instructions torch's CPU kernels and its BLAS use: their sums round
        # differently with other instructions, so a run is reproducible bit for bit on a CPU with
        # the same capability (the book's chapter "Reproducing" shows a difference).
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _finite_or_none(values):
    return [float(v) if v is not None and math.isfinite(v) else None for v in values]


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_run(log, out_dir, provenance_info, with_snapshots=True):
    """Write one run (a `train.RunLog`) under `out_dir`; return its folder. Without snapshots
    (sets that need only metrics) the folder holds run.json alone; D's weights, where the log
    recorded them, go into snapshots.npz beside the samples."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / run_name(log.config)
    tmp = out_dir / f".{final.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        _write_run(log, tmp, final.name, provenance_info, with_snapshots)
    except BaseException:  # an error or Ctrl-C while writing: leave no half-written folder behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        old = out_dir / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
        tmp.rename(final)
        shutil.rmtree(old)
    else:
        tmp.rename(final)
    return final


def _write_run(log, tmp, name, provenance_info, with_snapshots=True):
    config = log.config
    if with_snapshots:
        side = config.plot_resolution
        arrays = dict(snapshot_epochs=np.asarray(log.snapshot_epochs, dtype=np.int64),
                      samples=np.asarray(log.samples, dtype=np.float32).reshape(-1, config.n_eval_samples, 2),
                      d_grid=np.asarray(log.d_grid, dtype=np.float32).reshape(-1, side, side))
        if log.d_weights:
            arrays["d_weights"] = np.asarray(log.d_weights, dtype=np.float32)
        np.savez_compressed(tmp / SNAPSHOTS_NPZ, **arrays)
    record = {
        "format": FORMAT_VERSION,
        "name": name,
        "config": config.to_dict(),
        "config_fingerprint": config.fingerprint(),
        "code_fingerprint": code_fingerprint(config.loss),
        "status": log.status,
        "failed_epoch": log.failed_epoch,
        "reason": log.reason,
        "epoch_logs": {k: _finite_or_none(v) for k, v in log.epoch_logs.items()},
        "snapshots": [{k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in m.items()}
                      for m in log.metrics],
        # null: no snapshots.npz (a run that records metrics only)
        "snapshots_sha256": _sha256(tmp / SNAPSHOTS_NPZ) if with_snapshots else None,
        "provenance": provenance_info,
    }
    (tmp / RUN_JSON).write_text(_json_text(record))


@dataclass
class StoredRun:
    """A run loaded back: everything `save_run` wrote, arrays as numpy."""

    path: Path
    config: Config
    status: str
    failed_epoch: int | None
    reason: str | None
    epoch_logs: dict
    metrics: list
    snapshot_epochs: np.ndarray
    samples: np.ndarray | None  # None for a metrics-only run (no snapshots.npz)
    d_grid: np.ndarray | None
    d_weights: np.ndarray | None  # (snapshots, parameters of D) where recorded, else None
    provenance: dict
    config_fingerprint: str
    code_fingerprint: str
    stale: bool = field(default=False)

    @property
    def name(self):
        return self.path.name

    def metric(self, key):
        """One metric over the snapshots, as an array (NaN where a snapshot had none)."""
        return np.array([m.get(key, np.nan) if m.get(key) is not None else np.nan for m in self.metrics])

    @property
    def final_metrics(self):
        return self.metrics[-1] if self.metrics else {}

    def snapshot(self, epoch):
        """(samples, d_grid, metrics) of the snapshot at `epoch`; KeyError if the run has none there."""
        epochs = [int(e) for e in self.snapshot_epochs]
        if epoch not in epochs:
            raise KeyError(f"{self.name}: no snapshot at epoch {epoch}; snapshots: {epochs}")
        k = epochs.index(epoch)
        metrics = next((m for m in self.metrics if m.get("epoch") == epoch), {})
        return self.samples[k], self.d_grid[k], metrics


EPOCH_LOG_KEYS = ("d_loss", "g_loss", "d_min", "d_max")
RUN_STATUSES = ("completed", "diverged")
REQUIRED = ("format", "config", "status", "epoch_logs", "snapshots", "snapshots_sha256", "provenance",
            "config_fingerprint", "code_fingerprint")


def _read_arrays(npz_path, record, config):
    """The arrays of snapshots.npz, checked against the shapes that run.json and the config imply."""
    try:
        with np.load(npz_path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as err:  # noqa: BLE001 - a damaged archive fails in many ways (zipfile, zlib, numpy)
        raise RunFileError(f"{npz_path}: unreadable ({type(err).__name__}: {err})") from None
    n = len(record["snapshots"])
    expected = {"snapshot_epochs": ((n,), "i"), "samples": ((n, config.n_eval_samples, 2), "f"),
                "d_grid": ((n, config.plot_resolution, config.plot_resolution), "f")}
    if "d_weights" in arrays:
        from .models import discriminator_sizes

        sizes = discriminator_sizes(config)
        expected["d_weights"] = ((n, sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))), "f")
    for key, (shape, kind) in expected.items():
        if key not in arrays or arrays[key].shape != shape or arrays[key].dtype.kind != kind:
            got = f"shape {arrays[key].shape} and dtype {arrays[key].dtype}" if key in arrays else "nothing"
            raise RunFileError(f"{npz_path}: {key} has {got}; run.json implies shape {shape} and "
                               f"{'integers' if kind == 'i' else 'floats'}")
    if arrays["snapshot_epochs"].tolist() != [m["epoch"] for m in record["snapshots"]]:
        raise RunFileError(f"{npz_path}: snapshot_epochs differ from the epochs of run.json's snapshots")
    return arrays


def load_run(path, warn_stale=True):
    """Load and verify a stored run; raise RunFileError naming the file and what is wrong."""
    path = Path(path)
    json_path, npz_path = path / RUN_JSON, path / SNAPSHOTS_NPZ
    if not json_path.is_file():
        raise RunFileError(f"{json_path}: missing (not a stored run)")
    try:
        record = json.loads(json_path.read_text())
    except (ValueError, UnicodeDecodeError, OSError, RecursionError) as err:
        raise RunFileError(f"{json_path}: unreadable or not JSON ({type(err).__name__}: {err})") from None
    missing = [k for k in REQUIRED if not isinstance(record, dict) or k not in record]
    if missing:
        raise RunFileError(f"{json_path}: not a stored run (missing {', '.join(missing)})")
    if record["format"] != FORMAT_VERSION:
        raise RunFileError(f"{json_path}: format {record['format']!r}, this code reads format {FORMAT_VERSION}")
    if record["status"] not in RUN_STATUSES:
        raise RunFileError(f"{json_path}: status must be one of {', '.join(RUN_STATUSES)}; got {record['status']!r}")
    snapshots = record["snapshots"]
    if not (isinstance(snapshots, list) and all(
            isinstance(m, dict) and type(m.get("epoch")) is int
            and all(v is None or type(v) in (int, float) for v in m.values()) for m in snapshots)):
        raise RunFileError(f"{json_path}: snapshots must be a list of {{epoch, metric: number or null}} records")
    try:
        config = Config.from_dict(record["config"])
    except (ConfigError, TypeError, AttributeError) as err:  # ConfigError is a ValueError
        raise RunFileError(f"{json_path}: invalid config ({err})") from None
    with_snapshots = record["snapshots_sha256"] is not None
    if with_snapshots:
        if not npz_path.is_file():
            raise RunFileError(f"{npz_path}: missing")
        if _sha256(npz_path) != record["snapshots_sha256"]:
            raise RunFileError(f"{npz_path}: checksum does not match run.json (file altered or truncated)")
        arrays = _read_arrays(npz_path, record, config)
    else:
        if npz_path.exists():
            raise RunFileError(f"{json_path}: records no snapshots, but {SNAPSHOTS_NPZ} is there (file altered)")
        arrays = {"snapshot_epochs": np.array([m["epoch"] for m in record["snapshots"]], dtype=np.int64)}
    stale = (record["code_fingerprint"] != code_fingerprint(config.loss)
             or record["config_fingerprint"] != config.fingerprint())
    try:
        logs = {k: np.array([np.nan if v is None else v for v in record["epoch_logs"][k]], dtype=np.float64)
                for k in EPOCH_LOG_KEYS}
    except (KeyError, TypeError, ValueError) as err:
        raise RunFileError(f"{json_path}: epoch_logs must map each of {', '.join(EPOCH_LOG_KEYS)} to numbers "
                           f"({type(err).__name__}: {err})") from None
    run = StoredRun(path=path, config=config, status=record["status"], failed_epoch=record.get("failed_epoch"),
                     reason=record.get("reason"), epoch_logs=logs, metrics=record["snapshots"],
                     snapshot_epochs=arrays["snapshot_epochs"], samples=arrays.get("samples"),
                     d_grid=arrays.get("d_grid"), d_weights=arrays.get("d_weights"),
                     provenance=record["provenance"], config_fingerprint=record["config_fingerprint"],
                     code_fingerprint=record["code_fingerprint"], stale=stale)
    if warn_stale:
        warn_if_stale(run, stacklevel=3)
    return run


def warn_if_stale(run, stacklevel=2):
    """Warn (`StaleRunWarning`) when `run` was stored by other training code or config than the
    current one; returns `run`."""
    if run.stale:
        warnings.warn(f"{run.path}: stored by other training code or config than the current one (stale); "
                      "`python -m wgan_lib reproduce` retrains it", StaleRunWarning, stacklevel=stacklevel)
    return run


def load_status(path):
    """(status, run) for the run folder `path`, without warnings: status is 'ok', 'stale',
    'damaged: <why>' or 'missing', and run the loaded StoredRun (None when missing or damaged)."""
    path = Path(path)
    if not (path / RUN_JSON).exists():
        return "missing", None
    try:
        run = load_run(path, warn_stale=False)
    except RunFileError as err:
        return f"damaged: {err}", None
    return ("stale" if run.stale else "ok"), run


def restamp(path, proof):
    """Give the stored run at `path` the current code fingerprint, keeping the old one and `proof`
    (what was compared, bit for bit, to show that the current code computes what the old one did)
    in `provenance.restamped`. Returns 'restamped' or 'already current'. Only for a change that
    such a comparison proved changes no number: `tools/restamp.py` makes the comparison first."""
    path = Path(path)
    record = json.loads((path / RUN_JSON).read_text())
    current = code_fingerprint(record["config"]["loss"])
    if record["code_fingerprint"] == current:
        return "already current"
    record["provenance"].setdefault("restamped", []).append(
        {"from": record["code_fingerprint"], "to": current, "proof": proof})
    record["code_fingerprint"] = current
    replace_json(path / RUN_JSON, record)
    return "restamped"


def _json_text(record):
    """How every JSON record of a run folder is written (a restamped record keeps its layout)."""
    return json.dumps(record, indent=1, allow_nan=False) + "\n"


def replace_json(path, record):
    """Write `record` to `path` atomically: a temporary file renamed over it."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(_json_text(record))
    os.replace(tmp, path)
